// Pages opened by an LTI launch. Loaded by base.html when the session came from an LMS.
//
// 1. The frame token: browsers that refuse even partitioned cookies in the LMS iframe would
//    lose the session, so the page carries a signed copy of it. We add it to same-site
//    links and forms (lti_session) and to fetch/XHR calls (X-Proctor-Session header), and
//    take the fresh one every answer sends back.
// 2. lti.frameResize: tell the LMS how tall the page is, so its iframe fits the content
//    (frame-resize.js).

import { startFrameResize } from "./frame-resize.js";

const holder = document.getElementById("lti-frame");
const config = holder ? JSON.parse(holder.textContent) : {};
let token = config.token || "";
const origins = config.origins || [];
const PARAM = "lti_session";
const HEADER = "X-Proctor-Session";

function sameSite(url) {
  try {
    return new URL(url, window.location.href).origin === window.location.origin;
  } catch (error) {
    return false;
  }
}

function withToken(url) {
  const target = new URL(url, window.location.href);
  target.searchParams.set(PARAM, token);
  return target.toString();
}

function tagLinks(root) {
  for (const link of root.querySelectorAll("a[href]")) {
    const href = link.getAttribute("href");
    if (!href || href.startsWith("#") || href.startsWith("javascript:")) continue;
    if (sameSite(link.href)) link.href = withToken(link.href);
  }
}

function tagForms(root) {
  for (const form of root.querySelectorAll("form")) {
    if (!sameSite(form.action || window.location.href)) continue;
    let input = form.querySelector(`input[name="${PARAM}"]`);
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = PARAM;
      form.appendChild(input);
    }
    input.value = token;
  }
}

function refresh(value) {
  if (value && value !== token) {
    token = value;
    tagLinks(document);
    tagForms(document);
  }
}

// For scripts that navigate by themselves (exam-page.js reloads on a status change, and
// opens the LTI proctoring tool's system check in a new tab, where the cookie partitioned
// under the LMS's site does not exist). Never for another site's URL.
window.ltiFrame = { withToken: (url) => (token && sameSite(url) ? withToken(url) : url) };

if (token) {
  tagLinks(document);
  tagForms(document);
  // Forms filled after load (or links added by scripts) get the token at the last moment.
  document.addEventListener("submit", (event) => tagForms(event.target.parentNode || document), true);
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a[href]");
    if (link && sameSite(link.href) && !link.getAttribute("href").startsWith("#")) {
      link.href = withToken(link.href);
    }
  }, true);

  const originalFetch = window.fetch.bind(window);
  window.fetch = async (resource, init = {}) => {
    const url = resource instanceof Request ? resource.url : String(resource);
    if (!sameSite(url)) return originalFetch(resource, init);
    const headers = new Headers(init.headers || (resource instanceof Request ? resource.headers : undefined));
    headers.set(HEADER, token);
    const response = await originalFetch(resource, { ...init, headers });
    refresh(response.headers.get(HEADER));
    return response;
  };

  const open = XMLHttpRequest.prototype.open;
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function patchedOpen(method, url, ...rest) {
    this.proctorSameSite = sameSite(url);
    return open.call(this, method, url, ...rest);
  };
  XMLHttpRequest.prototype.send = function patchedSend(body) {
    if (this.proctorSameSite) {
      this.setRequestHeader(HEADER, token);
      this.addEventListener("load", () => refresh(this.getResponseHeader(HEADER)));
    }
    return send.call(this, body);
  };
}

startFrameResize(origins);

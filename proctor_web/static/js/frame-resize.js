// Inside an LMS iframe, tell the LMS how tall the page is, so it can size its frame to the
// page and the learner scrolls one thing, the LMS's page. The message is the one Canvas,
// Moodle and Open edX listen for: {subject: "lti.frameResize", height: <px>}, sent to the
// parent only (never when the page is the top window), to the allowed origins only (never
// "*"), on load and whenever the page's height changes.
//
// Loaded by lti-frame.js (every page of an LTI session) and by exam-page.js (exam pages framed
// by a FRAME_ANCESTORS origin): a module runs once, so the page reports once either way.

let started = false;
let lastHeight = 0;

// A little more than the page: an LMS whose frame has a border inside its height
// (box-sizing: border-box) must not leave the page a scroll of two pixels.
const SLACK = 8;

function pageHeight() {
  // The root element's own height (its content, margins included), not the document's
  // scrollHeight, which never falls below the frame the LMS just sized. Nothing on our pages
  // is as tall as the window (100vh): that would grow the frame without end.
  return Math.ceil(document.documentElement.getBoundingClientRect().height) + SLACK;
}

export function startFrameResize(origins) {
  if (started || window.parent === window || !origins || !origins.length) return false;
  started = true;
  const post = () => {
    const height = pageHeight();
    if (height <= SLACK || Math.abs(height - lastHeight) < 2) return;
    lastHeight = height;
    for (const origin of origins) {
      window.parent.postMessage({ subject: "lti.frameResize", height }, origin);
    }
  };
  post();
  if ("ResizeObserver" in window) new ResizeObserver(post).observe(document.body);
  window.addEventListener("load", post);
  return true;
}

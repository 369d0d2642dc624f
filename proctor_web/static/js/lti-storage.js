// 1EdTech LTI client-side postMessage storage: keep the OIDC state in the platform's
// storage frame (login), then read it back (launch), for browsers that block our cookies
// inside the LMS iframe. Falls back to going on without it after a short wait.

const data = JSON.parse(document.getElementById("lti-storage").textContent);
const WAIT_MS = 2000;

function storageWindow() {
  const parent = window.opener || window.parent;
  if (!parent || parent === window) return null;
  if (data.target === "_parent") return parent;
  try {
    return parent.frames[data.target] || null;
  } catch (error) {
    return null;
  }
}

function ask(subject, extra) {
  const target = storageWindow();
  if (!target) return Promise.resolve(null);
  const messageId = Math.random().toString(36).slice(2);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), WAIT_MS);
    window.addEventListener("message", function listen(event) {
      const reply = event.data || {};
      if (reply.message_id !== messageId || reply.subject !== `${subject}.response`) return;
      if (data.origin !== "*" && event.origin !== data.origin) return;
      clearTimeout(timer);
      window.removeEventListener("message", listen);
      resolve(reply.error ? null : reply);
    });
    target.postMessage({ subject, message_id: messageId, key: data.key, ...extra }, data.origin);
  });
}

if (data.action === "put") {
  ask("lti.put_data", { value: data.value }).finally(() => {
    window.location.replace(data.next);
  });
} else if (data.action === "get") {
  ask("lti.get_data", {}).then((reply) => {
    const form = document.getElementById(data.form);
    form.elements.lti_storage_state.value = reply && reply.value ? reply.value : "";
    form.submit();
  });
}

// The learner's time zone, from the browser, kept in the session so that pages show times in
// it (with UTC beside them). Posted once per zone change; a page that shows times is loaded
// again once so they are right at once. Without JavaScript, pages keep UTC.

const script = document.getElementById("timezone-script");
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const known = script ? script.dataset.timezone : undefined;
const RELOADED = "proctor_web.timezone_reloaded";

if (script && zone && known !== undefined && known !== zone) {
  fetch(script.dataset.url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": script.dataset.csrfToken },
    body: new URLSearchParams({ timezone: zone }),
  }).then((response) => {
    if (!response.ok) return;
    // Once per zone and page: if the session still says otherwise afterwards, no loop.
    const key = `${zone} ${window.location.pathname}`;
    let reloaded = null;
    try { reloaded = sessionStorage.getItem(RELOADED); sessionStorage.setItem(RELOADED, key); } catch (_) { reloaded = key; }
    if (reloaded !== key && document.querySelector("[data-local-time]")) window.location.reload();
  }).catch(() => { /* times stay in UTC: nothing is lost */ });
}

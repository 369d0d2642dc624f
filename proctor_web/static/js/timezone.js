// The learner's time zone, from the browser, kept in the session so that pages show times in
// it (with UTC beside them), and on the account so that emails do too. Posted once per zone
// change (or when the account holds another zone, reported from another device); a page that
// shows times is loaded again once so they are right at once. Without JavaScript, pages keep
// UTC.

const script = document.getElementById("timezone-script");
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const known = script ? script.dataset.timezone : undefined;
const stored = script ? script.dataset.storedTimezone : undefined;
const RELOADED = "proctor_web.timezone_reloaded";

if (script && zone && known !== undefined && (known !== zone || (stored !== undefined && stored !== zone))) {
  fetch(script.dataset.url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": script.dataset.csrfToken },
    body: new URLSearchParams({ timezone: zone }),
  }).then((response) => {
    if (!response.ok || known === zone) return; // the page's times were right already
    // Once per zone and page: if the session still says otherwise afterwards, no loop.
    const key = `${zone} ${window.location.pathname}`;
    let reloaded = null;
    try { reloaded = sessionStorage.getItem(RELOADED); sessionStorage.setItem(RELOADED, key); } catch (_) { reloaded = key; }
    if (reloaded !== key && document.querySelector("[data-local-time]")) window.location.reload();
  }).catch(() => { /* times stay in UTC: nothing is lost */ });
}

// After an action (a form posted, then redirected here) or when the page moved on by itself,
// focus goes to what is new: the page's message if it shows one, otherwise its heading. A
// screen reader then reads the new page from its start, not from wherever focus was.

const MOVED_ON = "proctor_web.moved_on";

export function markMovedOn() {
  try { sessionStorage.setItem(MOVED_ON, "1"); } catch (_) { /* storage refused: no focus move */ }
}

function arrivedByAction() {
  const navigation = performance.getEntriesByType("navigation")[0];
  let movedOn = false;
  try {
    movedOn = sessionStorage.getItem(MOVED_ON) === "1";
    sessionStorage.removeItem(MOVED_ON);
  } catch (_) { movedOn = false; }
  return movedOn || Boolean(navigation && navigation.redirectCount > 0);
}

function focusTarget() {
  return document.querySelector("[data-focus-on-load]")
    || document.querySelector("main .notice[role]:not([hidden]), main .check-waiting")
    || document.getElementById("page-title")
    || document.querySelector("main h1");
}

if (document.querySelector("[data-focus-on-load]") || arrivedByAction()) {
  const target = focusTarget();
  if (target) {
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: false });
  }
}

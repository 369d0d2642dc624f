// The learner's exam page, enhanced: timer, polling, provider worker and LMS notifications.
// Everything here is optional: every action is a plain form that works without JavaScript.

import { notifyParent } from "./embed.js";
import { markMovedOn } from "./focus-heading.js";
import { startFrameResize } from "./frame-resize.js";
import { startPolling } from "./poll.js";
import { ExamTimer } from "./timer.js";
import { ProviderWorker, startPinging } from "./worker-bridge.js";

const state = JSON.parse(document.getElementById("exam-state").textContent);
const strings = state.strings;
const alertBox = document.getElementById("page-alert");

function showAlert(text) {
  alertBox.textContent = text;
  alertBox.hidden = false;
}

function reloadPage() {
  markMovedOn();  // the new page's heading gets focus: it says what changed
  // In an LMS frame without cookies the session travels with the page (lti-frame.js).
  const url = window.location.pathname;
  window.location.replace(window.ltiFrame ? window.ltiFrame.withToken(url) : url);
}

notifyParent(state);
startFrameResize(state.frame_ancestors);

const worker = state.worker_url ? new ProviderWorker(state.worker_url, state.attempt_external_id) : null;
window.proctorWeb = { state, worker };

// Timer -------------------------------------------------------------------------------------
let timer = null;
let poller = null;
const bar = document.getElementById("timer");
if (state.timer_ends && bar) {
  timer = new ExamTimer({
    endsAt: state.timer_ends,
    serverTime: state.server_time,
    lowSec: state.low_threshold_sec,
    criticalSec: state.critically_low_threshold_sec,
    bar,
    value: document.getElementById("timer-value"),
    announcer: document.getElementById("timer-announcer"),
    toggle: document.getElementById("timer-toggle"),
    echo: document.getElementById("timer-echo"),
    strings,
    // At zero the server submits the attempt on the next read: ask now, then move on.
    onZero: () => { if (poller) poller.now(); },
  });
  timer.setPaused(state.timer_paused);
  timer.start();
}

// Polling: re-sync the clock; when the status changes, the page moves on by itself. -----------
if (state.poll_url) {
  poller = startPolling({
    url: state.poll_url,
    seconds: timer && timer.zeroFired ? 2 : state.poll_seconds,
    onResult: (result) => {
      if (!result.ok) {
        if (result.status === 401 || result.status === 403 || result.status === 404) reloadPage();
        return;
      }
      const data = result.data;
      if (data.attempt_status !== state.status) {
        notifyParent(state, data.attempt_status);
        reloadPage();
        return;
      }
      if (timer) {
        timer.setSkew(result.skewMs);
        timer.setPaused(false);
        timer.setEndsAt(data.timer_ends);
        timer.setPaused(data.timer_paused);
        // Once time is up, keep asking every 2 s until the server has submitted.
        if (timer.zeroFired) setTimeout(() => poller.now(), 2000);
      }
    },
  });
}

// System check: open the provider's software next to the page, and record the click. ----------
const systemCheck = document.getElementById("system-check-form");
if (systemCheck && state.software_download_url) {
  systemCheck.addEventListener("submit", () => {
    const url = window.ltiFrame ? window.ltiFrame.withToken(state.software_download_url)
      : state.software_download_url;
    window.open(url, "_blank", "noopener");
  });
  // Says the click now opens the software too (until this script runs, it only records it).
  systemCheck.dataset.opensSoftware = "true";
}

function busy(form) {
  const button = form.querySelector("button[type=submit]");
  if (button) { button.disabled = true; button.dataset.label = button.textContent; button.textContent = strings.working; }
  return () => { if (button) { button.disabled = false; button.textContent = button.dataset.label; } };
}

// Start: the provider's software must confirm before the clock starts. -----------------------
const startForm = document.getElementById("start-form");
if (startForm && worker) {
  startForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const release = busy(startForm);
    try {
      await worker.startExamAttempt();
      startForm.submit();
    } catch (error) {
      release();
      showAlert(`${strings.start_failed} (${error.message})`);
    }
  });
}

// Submit: tell the provider's software the session is over, then submit whatever it says. -----
const submitForm = document.getElementById("submit-form");
if (submitForm && worker) {
  submitForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    busy(submitForm);
    try {
      await worker.endExamAttempt();
    } catch (error) {
      sessionStorage.setItem("proctor_web.end_failed", `${strings.end_failed} (${error.message})`);
    }
    submitForm.submit();
  });
}
const endFailed = sessionStorage.getItem("proctor_web.end_failed");
if (endFailed && state.status !== "ready_to_submit") {
  sessionStorage.removeItem("proctor_web.end_failed");
  showAlert(endFailed);
}

// Ping while the exam runs (never at the submit page): a failure records an error. -----------
async function reportPingFailure(error) {
  showAlert(strings.ping_failed);
  const response = await fetch(`/api/edx_proctoring/v1/proctored_exam/attempt/${state.attempt_id}`, {
    method: "PUT",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": state.csrf_token },
    body: JSON.stringify({ action: "error", detail: error.message }),
  });
  let answer = {};
  try { answer = await response.json(); } catch (_) { answer = {}; }
  if (answer.exam_attempt_id) reloadPage();
}
if (worker && state.status === "started") {
  startPinging(worker, state.ping_interval, reportPingFailure);
}

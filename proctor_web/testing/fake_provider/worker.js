// The fake provider's browser worker: a classic Web Worker script (no modules, no build step)
// speaking the provider worker message interface. The page creates a fresh worker for each
// prompt, posts {type, timeout, attemptExternalId} and waits for one reply:
//   startExamAttempt -> examAttemptStarted | examAttemptStartFailed
//   endExamAttempt   -> examAttemptEnded   | examAttemptEndFailed
//   ping             -> echo               | pingFailed
// Failures carry {error: "<why>"}.
//
// A real provider's worker asks its desktop application, which listens on the learner's own
// machine. This one asks the fake provider's stand-in for it (POST <desktopUrl>/desktop/start,
// /ping, /stop), so a test can make the application refuse to start or stop answering. The
// server that serves this file sets `self.fakeProviderWorker = {desktopUrl: "..."}` in front
// of it; without a desktopUrl the worker plays an application that always answers.
(function () {
  "use strict";

  var config = self.fakeProviderWorker || {};
  var desktopUrl = String(config.desktopUrl || "").replace(/\/+$/, "");
  var DEFAULT_TIMEOUT_MS = 5000;

  var PROMPTS = {
    startExamAttempt: { path: "start", success: "examAttemptStarted", failure: "examAttemptStartFailed" },
    endExamAttempt: { path: "stop", success: "examAttemptEnded", failure: "examAttemptEndFailed" },
    ping: { path: "ping", success: "echo", failure: "pingFailed" },
  };

  function readDetail(response) {
    return response.text().then(function (text) {
      try {
        var body = JSON.parse(text);
        if (body && typeof body.detail === "string") return body.detail;
      } catch (ignored) {
        // not JSON: fall through to the status line
      }
      return "the proctoring application answered " + response.status;
    });
  }

  // text/plain keeps the request "simple", so the browser sends it without a CORS preflight.
  function askDesktopApp(path, attemptExternalId, timeoutMs) {
    if (!desktopUrl) return Promise.resolve();
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, timeoutMs);
    return fetch(desktopUrl + "/desktop/" + path, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "Content-Type": "text/plain" },
      body: JSON.stringify({ attempt: attemptExternalId || "" }),
      signal: controller.signal,
    }).then(function (response) {
      if (response.ok) return undefined;
      return readDetail(response).then(function (detail) { throw new Error(detail); });
    }, function (error) {
      if (error && error.name === "AbortError") {
        throw new Error("the proctoring application did not answer within " + timeoutMs + " ms");
      }
      throw new Error("the proctoring application cannot be reached");
    }).then(function (value) {
      clearTimeout(timer);
      return value;
    }, function (error) {
      clearTimeout(timer);
      throw error;
    });
  }

  self.addEventListener("message", function (event) {
    var data = event.data || {};
    var prompt = PROMPTS[data.type];
    if (!prompt) return;
    var timeoutMs = Number(data.timeout) > 0 ? Number(data.timeout) : DEFAULT_TIMEOUT_MS;
    askDesktopApp(prompt.path, data.attemptExternalId, timeoutMs).then(function () {
      self.postMessage({ type: prompt.success });
    }, function (error) {
      self.postMessage({ type: prompt.failure, error: String((error && error.message) || error) });
    });
  });
})();

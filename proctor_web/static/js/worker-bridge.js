// The provider's browser worker: its script runs in a dedicated Web Worker, created fresh for
// each message (as Open edX does), and answers one reply per prompt:
//   startExamAttempt -> examAttemptStarted | examAttemptStartFailed
//   endExamAttempt   -> examAttemptEnded   | examAttemptEndFailed
//   ping             -> echo               | pingFailed
// Every prompt carries {type, timeout, attemptExternalId}; no reply within the timeout fails.

export const START_TIMEOUT_MS = 5000;
export const END_TIMEOUT_MS = 10000;

export class ProviderWorker {
  constructor(scriptUrl, attemptExternalId) {
    this.scriptUrl = new URL(scriptUrl, window.location.href).href;
    this.attemptExternalId = attemptExternalId;
  }

  createWorker() {
    // A Blob wrapper lets a provider host its script on its own origin.
    const source = `importScripts(${JSON.stringify(this.scriptUrl)});`;
    const blobUrl = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
    const worker = new Worker(blobUrl);
    URL.revokeObjectURL(blobUrl);
    return worker;
  }

  send(type, timeoutMs, success, failure) {
    return new Promise((resolve, reject) => {
      let worker;
      try {
        worker = this.createWorker();
      } catch (error) {
        reject(new Error(`${type}: the proctoring worker could not be created (${error.message})`));
        return;
      }
      const finish = (fn, value) => { clearTimeout(timer); worker.terminate(); fn(value); };
      const timer = setTimeout(
        () => finish(reject, new Error(`${type}: no answer within ${timeoutMs} ms`)), timeoutMs);
      worker.onmessage = (event) => {
        const message = event.data || {};
        if (message.type === success) finish(resolve, message);
        else if (message.type === failure) {
          finish(reject, new Error(`${failure}: ${message.error || "no detail given"}`));
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        finish(reject, new Error(`${type}: ${event.message || "the proctoring worker failed"}`));
      };
      worker.postMessage({ type, timeout: timeoutMs, attemptExternalId: this.attemptExternalId });
    });
  }

  startExamAttempt(timeoutMs = START_TIMEOUT_MS) {
    return this.send("startExamAttempt", timeoutMs, "examAttemptStarted", "examAttemptStartFailed");
  }

  endExamAttempt(timeoutMs = END_TIMEOUT_MS) {
    return this.send("endExamAttempt", timeoutMs, "examAttemptEnded", "examAttemptEndFailed");
  }

  ping(timeoutMs) { return this.send("ping", timeoutMs, "echo", "pingFailed"); }
}

// Pings every `intervalSeconds`, the first after half an interval. The worker gets
// interval - 10 s (at least 1 s) and the page also gives up after a whole interval.
export function startPinging(worker, intervalSeconds, onFailure) {
  const intervalMs = Math.max(1, intervalSeconds) * 1000;
  const workerTimeoutMs = Math.max(1000, intervalMs - 10000);
  let timer = null;
  let stopped = false;
  const once = async () => {
    if (stopped) return;
    const deadline = new Promise((_, reject) => setTimeout(
      () => reject(new Error(`ping: no answer within ${intervalMs} ms`)), intervalMs));
    try {
      await Promise.race([worker.ping(workerTimeoutMs), deadline]);
      if (!stopped) timer = setTimeout(once, intervalMs);
    } catch (error) {
      if (!stopped) { stopped = true; onFailure(error); }
    }
  };
  timer = setTimeout(once, intervalMs / 2);
  return { stop() { stopped = true; clearTimeout(timer); } };
}

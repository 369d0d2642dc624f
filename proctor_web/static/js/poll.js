// Polls the attempt; each answer carries the server's clock, from which the skew is measured.

export function skewFrom(serverTime, sentAt, receivedAt) {
  return Date.parse(serverTime) - (sentAt + receivedAt) / 2;
}

export async function fetchAttempt(url) {
  const sentAt = Date.now();
  const response = await fetch(url, {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
    cache: "no-store",
  });
  const receivedAt = Date.now();
  if (!response.ok) return { ok: false, status: response.status };
  const data = await response.json();
  return { ok: true, data, skewMs: data.server_time ? skewFrom(data.server_time, sentAt, receivedAt) : 0 };
}

export function startPolling({ url, seconds, onResult }) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    clearTimeout(timer);
    if (stopped) return;
    try {
      onResult(await fetchAttempt(url));
    } catch (error) {
      onResult({ ok: false, status: 0, error });
    }
    if (!stopped) timer = setTimeout(run, seconds * 1000);
  };
  timer = setTimeout(run, seconds * 1000);
  return {
    now: run,
    stop() { stopped = true; clearTimeout(timer); },
  };
}

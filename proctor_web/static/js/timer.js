// The exam timer. The server's absolute end time is the truth: this module only counts down
// to it, using the server clock (corrected on every poll), never a duration of its own.

export function formatClock(totalSeconds) {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const secs = seconds % 60;
  return `${hours}:${String(minutes).padStart(2, "0")}:${String(secs).padStart(2, "0")}`;
}

export function spokenTime(seconds, strings) {
  if (seconds >= 60) {
    const minutes = Math.ceil(seconds / 60);
    return minutes === 1 ? strings.minute : strings.minutes.replace("{n}", String(minutes));
  }
  return strings.seconds.replace("{n}", String(Math.max(0, Math.ceil(seconds))));
}

export function stateFor(remaining, lowSec, criticalSec) {
  if (remaining <= criticalSec) return "critical";
  if (remaining <= lowSec) return "low";
  return "normal";
}

export class ExamTimer {
  constructor({ endsAt, serverTime, lowSec, criticalSec, bar, value, announcer, toggle, strings,
                onZero, echo }) {
    this.endsAt = Date.parse(endsAt);
    this.skewMs = serverTime ? Date.parse(serverTime) - Date.now() : 0;
    this.lowSec = lowSec;
    this.criticalSec = criticalSec;
    this.bar = bar;
    this.value = value;
    this.echo = echo;  // a copy of the clock elsewhere on the page (exam-layout.js)
    this.announcer = announcer;
    this.toggle = toggle;
    this.strings = strings;
    this.onZero = onZero;
    this.zeroFired = false;
    this.state = stateFor(this.remaining(), lowSec, criticalSec);
    this.interval = null;
  }

  // Server time = client time + skew. Each poll measures it again (half the round trip).
  setSkew(skewMs) { this.skewMs = skewMs; }

  setEndsAt(endsAt) { if (endsAt) this.endsAt = Date.parse(endsAt); }

  remaining() {
    if (this.frozenSec !== undefined) return this.frozenSec;
    return Math.max(0, (this.endsAt - (Date.now() + this.skewMs)) / 1000);
  }

  // A proctoring tool paused the attempt: the clock stands still until the server says so.
  setPaused(paused) {
    if (paused && this.frozenSec === undefined) this.frozenSec = this.remaining();
    if (!paused) this.frozenSec = undefined;
    if (this.bar) this.bar.dataset.paused = String(Boolean(paused));
    const note = document.getElementById("timer-paused");
    if (note) note.hidden = !paused;
  }

  start() {
    this.render(false);
    if (this.toggle) {
      this.toggle.hidden = false;
      this.toggle.addEventListener("click", () => this.setHidden(!this.bar.classList.contains("timer-hidden")));
    }
    this.interval = setInterval(() => this.render(true), 1000);
  }

  stop() { clearInterval(this.interval); }

  setHidden(hidden) {
    this.bar.classList.toggle("timer-hidden", hidden);
    // One fixed label ("Hide the timer"); aria-pressed says whether it is hidden.
    this.toggle.setAttribute("aria-pressed", String(hidden));
    if (this.echo) this.echo.classList.toggle("timer-hidden", hidden);
  }

  announce(text) {
    // Polite, and only when a threshold is crossed: never every second.
    this.announcer.textContent = "";
    setTimeout(() => { this.announcer.textContent = text; }, 50);
  }

  render(announce) {
    const remaining = this.remaining();
    this.value.textContent = formatClock(Math.ceil(remaining));
    if (this.echo) {
      this.echo.querySelector(".timer-value").textContent = this.value.textContent;
      this.echo.dataset.state = stateFor(remaining, this.lowSec, this.criticalSec);
    }
    const state = stateFor(remaining, this.lowSec, this.criticalSec);
    if (state !== this.state) {
      this.state = state;
      this.bar.dataset.state = state;
      if (announce && state !== "normal") {
        const template = state === "critical" ? this.strings.critical : this.strings.low;
        this.announce(template.replace("{time}", spokenTime(remaining, this.strings)));
      }
    } else {
      this.bar.dataset.state = state;
    }
    if (remaining <= 0 && !this.zeroFired) {
      this.zeroFired = true;
      this.announce(this.strings.ended);
      if (this.onZero) this.onZero();
    }
  }
}

// The running exam has one scroll: the page's own (in an LMS frame, the frame's document, or
// the LMS's page when the LMS sizes its frame to ours). So the exam's content frame takes the
// height of its content and never scrolls inside itself:
// - content on our own site is measured, and measured again whenever it changes size;
// - content on another site tells its height the way LTI tools tell an LMS, by posting
//   {subject: "lti.frameResize", height} to its parent (this page).
// Content that does neither keeps the fixed height of app.css and scrolls inside its frame:
// nothing on our side can see how tall it is.
//
// A classic script loaded in <head> (learner/_layout.html), not a module: it must listen
// before the content frame exists, or the content's first message could come too early.

(function () {
  "use strict";

  const MAX_HEIGHT = 50000;  // a page that grows with its frame stops here

  function fit(frame, height) {
    const px = Math.min(MAX_HEIGHT, Math.max(0, Math.ceil(Number.parseFloat(height))));
    if (!Number.isFinite(px) || px <= 0) return;
    if (frame.dataset.fitted === String(px)) return;
    frame.dataset.fitted = String(px);
    // The frame's height is its border box (box-sizing: border-box): its borders come on top.
    const borders = frame.offsetHeight - frame.clientHeight;
    frame.style.height = `${px + borders}px`;
  }

  function contentHeight(doc) {
    const root = doc.documentElement;
    // The root's own height follows its content both ways. A root made as tall as its window
    // (height: 100%) hides what overflows it, and that is in scrollHeight.
    if (root.scrollHeight > root.clientHeight + 1) return root.scrollHeight;
    return root.getBoundingClientRect().height;
  }

  function measure(frame) {
    let doc;
    try {
      doc = frame.contentDocument;
    } catch (error) {
      doc = null;  // another site's page: it may post its height instead
    }
    // Before its page loads, the frame holds an empty document of its own: not the content.
    if (!doc || !doc.documentElement || !frame.contentWindow || doc.URL === "about:blank") return;
    const update = () => fit(frame, contentHeight(doc));
    update();
    // The observer of the content's own window: it sees that document's layout.
    const Observer = frame.contentWindow.ResizeObserver;
    if (Observer) {
      const observer = new Observer(update);
      observer.observe(doc.documentElement);
      if (doc.body) observer.observe(doc.body);
    }
  }

  function heightFrom(data) {
    let message = data;
    if (typeof message === "string") {
      try { message = JSON.parse(message); } catch (error) { return null; }
    }
    if (!message || message.subject !== "lti.frameResize") return null;
    return message.height;
  }

  function contentFrames() {
    return [...document.querySelectorAll("iframe.exam-content")];
  }

  window.addEventListener("message", (event) => {
    // Only the content frame itself may size the content frame.
    const frame = contentFrames().find((candidate) => candidate.contentWindow === event.source);
    if (!frame) return;
    const height = heightFrom(event.data);
    if (height !== null && height !== undefined) fit(frame, height);
  });

  function fitContentFrames() {
    for (const frame of contentFrames()) {
      frame.addEventListener("load", () => measure(frame));
      measure(frame);  // already loaded (cached content), or about:blank until it loads
    }
  }

  // In an LMS frame as tall as the page (the LMS sizes it with lti.frameResize), the LMS's page
  // scrolls, not ours: a sticky timer bar cannot follow the learner down. There the page says
  // so (body.timer-unpinned): the bar stays at the top, and a copy of the clock stands beside
  // "End my exam", so the time left shows at both ends of the questions.
  function watchTimerPinning() {
    if (window.parent === window || !document.getElementById("timer")) return;
    const root = document.documentElement;
    const check = () => {
      document.body.classList.toggle("timer-unpinned", root.scrollHeight <= window.innerHeight + 1);
    };
    check();
    window.addEventListener("resize", check);
    if ("ResizeObserver" in window) new ResizeObserver(check).observe(document.body);
  }

  document.addEventListener("DOMContentLoaded", () => {
    fitContentFrames();
    watchTimerPinning();
  });
})();

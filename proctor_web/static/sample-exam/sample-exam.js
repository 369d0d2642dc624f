// Keeps the demo answers in this browser only, so a reload does not lose them.
(function () {
  var form = document.getElementById("sample-exam");
  var key = "sample-exam-answers";
  try {
    var saved = JSON.parse(sessionStorage.getItem(key) || "{}");
    Object.keys(saved).forEach(function (name) {
      var field = form.elements[name];
      if (field) field.value = saved[name];
    });
  } catch (e) { /* nothing saved */ }
  document.getElementById("save-answers").addEventListener("click", function () {
    var data = {};
    ["q1", "q2", "q3", "q4"].forEach(function (name) { data[name] = form.elements[name].value; });
    sessionStorage.setItem(key, JSON.stringify(data));
    document.getElementById("saved").textContent = "Answers saved in this browser.";
  });
})();

// Tells the exam page that frames this one how tall it is, with the message LTI tools send an
// LMS ({subject: "lti.frameResize", height}), so its frame can fit it and nothing scrolls
// inside. Only to the page that framed it (its origin, from the referrer), never to "*".
(function () {
  if (window.parent === window || !document.referrer) return;
  var origin;
  try { origin = new URL(document.referrer).origin; } catch (e) { return; }
  var last = 0;
  function post() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (Math.abs(height - last) < 2) return;
    last = height;
    window.parent.postMessage({ subject: "lti.frameResize", height: height }, origin);
  }
  post();
  if ("ResizeObserver" in window) new ResizeObserver(post).observe(document.body);
})();

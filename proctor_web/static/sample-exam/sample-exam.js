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

/* Polls a job's JSON every 2 s and shows its progress; links the result (a plan version, or the `link` a
   programme job gives) when it is done. */
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) { return; }
  var url = box.getAttribute("data-url"), plans = box.getAttribute("data-plan-url");
  function show(j) {
    document.getElementById("job-state").textContent = j.state;
    document.getElementById("job-progress").textContent = j.progress;
    document.getElementById("job-error").textContent = j.error;
    if (j.version || j.link) {
      var a = document.createElement("a");
      a.href = j.link ? j.link : plans + j.version + "/";
      a.id = "version-link";
      a.textContent = j.link ? j.link_text : "Open the plan";
      var r = document.getElementById("job-result");
      r.textContent = "";
      r.appendChild(a);
    }
    return j.state === "done" || j.state === "failed";
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (j) { if (!show(j)) { setTimeout(poll, 2000); } })
      .catch(function () { setTimeout(poll, 5000); });
  }
  poll();
}());

/* "My route" follows the night: polls the unit's changes every poll_s seconds (3; 1 while a re-plan is queued
   or running). A unit's status change is
   shown in words at once; a new version of the route (a live re-plan) reloads the page, which then shows the
   route with what changed for this unit. No inline script: the CSP allows scripts from this site only. */
(function () {
  "use strict";
  var box = document.getElementById("route-live");
  if (!box) { return; }
  var url = box.getAttribute("data-url"), version = box.getAttribute("data-version");
  var after = box.getAttribute("data-after") || "0", list = document.getElementById("route-status-changes");
  var wait = 3000;
  function show(j) {
    if (j.version !== null && String(j.version) !== version) {
      window.location.reload();
      return false;
    }
    (j.changes || []).forEach(function (c) {
      var li = document.createElement("li");
      li.textContent = c.what;
      list.insertBefore(li, list.firstChild);
    });
    after = String(j.last);
    if (j.poll_s) { wait = Math.min(5, Math.max(1, j.poll_s)) * 1000; }
    return true;
  }
  function poll() {
    fetch(url + "?after=" + encodeURIComponent(after), { credentials: "same-origin",
                                                         headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (j) { if (show(j)) { setTimeout(poll, wait); } })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, wait);
}());

/* Tonight live: draws the current plan's routes and spots (the page's JSON block), then every 3 s moves each
   unit's marker to its latest position (/api/live/positions) and refreshes the re-plans table (/api/live) and the control-spot alerts (/api/live/alerts).
   Text is set with textContent, never as HTML. No tiles, no external request, no inline script. */
(function () {
  "use strict";
  var box = document.getElementById("live-room");
  if (!box) { return; }
  var liveUrl = box.getAttribute("data-url"), posUrl = box.getAttribute("data-positions-url");
  var plansUrl = box.getAttribute("data-plans-url"), alertsUrl = box.getAttribute("data-alerts-url");
  var map = null, markers = {}, fitted = false;
  var el = document.getElementById("live-map"), src = document.getElementById("live-map-data");
  if (el && typeof L !== "undefined") {
    map = L.map(el, { attributionControl: false, zoomSnap: 0.25 });
    var data = src ? JSON.parse(src.textContent) : null;
    if (data && data.features && data.features.length) {
      var layer = L.geoJSON(data, {
        style: function () { return { color: "#5a7fa8", weight: 2, opacity: 0.6 }; },
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, { radius: 4, weight: 1, color: "#14325c", fillColor: "#f5a623",
                                          fillOpacity: 0.8 });
        }
      }).addTo(map);
      map.fitBounds(layer.getBounds(), { padding: [12, 12] });
      fitted = true;
    } else {
      // No plan drawn: Great Britain until the first positions arrive, then fitted to them (any force).
      map.setView([54.5, -3.0], 5);
    }
  }
  function td(text) { var c = document.createElement("td"); c.textContent = text; return c; }
  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
  }
  function showReplans(j) {
    var body = document.getElementById("live-replans");
    body.textContent = "";
    j.replans.filter(function (r) { return r.kind === "replan"; }).forEach(function (r) {
      var tr = document.createElement("tr");
      tr.appendChild(td(r.trigger_at.slice(11, 16)));
      tr.appendChild(td(r.trigger));
      tr.appendChild(td(r.state + (r.error ? ": " + r.error : "")));
      var v = document.createElement("td");
      if (r.version) {
        var a = document.createElement("a");
        a.href = plansUrl + r.version + "/";
        a.textContent = String(r.version);
        v.appendChild(a);
      }
      tr.appendChild(v);
      var c = td("");
      c.className = "changes";
      r.changes.concat(r.notes).forEach(function (line) {
        var d = document.createElement("div");
        d.textContent = line;
        c.appendChild(d);
      });
      tr.appendChild(c);
      tr.appendChild(td(r.latency_s === null ? "" : r.latency_s.toFixed(1) + " s"));
      body.appendChild(tr);
    });
    var q = Object.keys(j.quarantined).map(function (k) { return k + " " + j.quarantined[k]; });
    document.getElementById("live-quarantine").textContent = q.length ? q.join(", ") : "none";
  }
  function hm(iso) { return iso.slice(11, 16); }  // the server's local time, as the re-plans table shows it
  function ackCell(a, body) {
    var c = td("");
    var url = body.getAttribute("data-acknowledge"), csrf = body.getAttribute("data-csrf");
    if (a.acknowledged_at) {
      c.textContent = a.acknowledged_by + " " + hm(a.acknowledged_at);
    } else if (url && csrf) {  // the supervisor's form, as the server renders it
      var f = document.createElement("form"), t = document.createElement("input"), b = document.createElement("button");
      f.method = "post";
      f.action = url + a.id + "/acknowledge/";
      t.type = "hidden"; t.name = "csrfmiddlewaretoken"; t.value = csrf;
      b.type = "submit"; b.className = "alert-ack"; b.textContent = "Acknowledge";
      f.appendChild(t); f.appendChild(b); c.appendChild(f);
    } else {
      c.textContent = "not yet";
    }
    return c;
  }
  function showAlerts(list) {
    var body = document.getElementById("live-alerts");
    if (!body) { return; }
    body.textContent = "";
    if (!list.length) { var r = document.createElement("tr"), e = td("None."); e.colSpan = 7; r.appendChild(e); body.appendChild(r); }
    list.forEach(function (a) {
      var tr = document.createElement("tr");
      if (!a.acknowledged_at) { tr.className = "alert-open"; }
      [a.unit, a.spot, a.programme, hm(a.first_at), hm(a.last_at), a.minutes.toFixed(1)].forEach(function (x) {
        tr.appendChild(td(x));
      });
      tr.appendChild(ackCell(a, body));
      body.appendChild(tr);
    });
  }
  function showPositions(list) {
    if (!map) { return; }
    list.forEach(function (p) {
      var ll = [p.lat, p.lon], colour = p.status === "available" ? "#2ca02c" : "#d62728";
      if (!(p.unit in markers)) {
        var tip = document.createElement("span");
        tip.textContent = p.unit;
        markers[p.unit] = L.circleMarker(ll, { radius: 8, weight: 2, color: "#000", fillOpacity: 0.9 })
          .bindTooltip(tip, { permanent: true, direction: "right" }).addTo(map);
      }
      markers[p.unit].setLatLng(ll).setStyle({ fillColor: colour });
    });
    if (!fitted && list.length) {
      map.fitBounds(L.latLngBounds(list.map(function (p) { return [p.lat, p.lon]; })).pad(0.2));
      fitted = true;
    }
  }
  function poll() {
    Promise.all([get(liveUrl).then(showReplans), get(posUrl).then(showPositions), get(alertsUrl).then(showAlerts)])
      .then(function () { setTimeout(poll, 3000); })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 3000);
}());

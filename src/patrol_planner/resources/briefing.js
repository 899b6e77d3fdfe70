/* patrol_planner briefing map. Draws the plan held in #plan-data with the inlined Leaflet.
 * Every data string reaches the page through textContent only (never innerHTML), so a
 * hostile unit id or hotspot name stays text. No network: no tile layer, no images. */
(function () {
  "use strict";
  var box = document.getElementById("map");
  var data = JSON.parse(document.getElementById("plan-data").textContent);

  function ll(p) { return [p[1], p[0]]; }
  function textEl(cls, text, colour) {
    var s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    if (colour) { s.style.backgroundColor = colour; }
    return s;
  }
  function label(cls, text, colour, size) {
    return L.divIcon({className: "pp-icon", html: textEl(cls, text, colour), iconSize: size || null});
  }

  if (typeof L === "undefined") {
    box.textContent = "The map could not be drawn (map script missing).";
    return;
  }
  var map = L.map(box, {zoomSnap: 0.25, attributionControl: false, fadeAnimation: false});
  var bounds = L.latLngBounds([]);

  if (data.roads.length) {
    // One multi-line path keeps thousands of road segments cheap to draw.
    L.polyline(data.roads.map(function (line) { return line.map(ll); }),
      {color: "#a8a8a8", weight: 1.2, opacity: 1, interactive: false, className: "pp-road"}).addTo(map);
  }

  data.hotspots.forEach(function (h) {
    var cls = "pp-hotspot " + (h.visited ? "pp-visited" : "pp-left-out");
    var style = h.visited
      ? {color: "#7f0000", weight: 1.5, fillColor: "#e34a33", fillOpacity: 0.35, className: cls}
      : {color: "#555555", weight: 1.2, dashArray: "4 3", fillColor: "#bbbbbb", fillOpacity: 0.3, className: cls};
    var shape = h.poly.length >= 3 ? L.polygon(h.poly.map(ll), style)
      : L.circleMarker(ll([h.lon, h.lat]), L.extend({radius: 9}, style));
    shape.bindTooltip(textEl("", "#" + h.rank + " " + (h.label ? h.label + " \u00b7 " : "") + h.id + " (" + h.status_text + ")"));
    shape.addTo(map);
    bounds.extend(shape.getBounds ? shape.getBounds() : shape.getLatLng());
    L.marker(ll([h.lon, h.lat]), {icon: label("pp-rank" + (h.visited ? "" : " pp-rank-out"), String(h.rank)),
      interactive: false, keyboard: false}).addTo(map);
  });

  var unitLayers = {}, unitBounds = {};
  data.units.forEach(function (u) {
    var g = L.layerGroup();
    if (u.route.length >= 2) {
      L.polyline(u.route.map(ll), {color: "#ffffff", weight: 7, opacity: 0.8, interactive: false,
        className: "pp-route-halo"}).addTo(g);
      var line = L.polyline(u.route.map(ll), {color: u.colour, weight: 4, opacity: 0.9,
        className: "pp-route"});
      line.bindTooltip(textEl("", u.id));
      line.addTo(g);
      bounds.extend(line.getBounds());
    }
    // Revisits of one place share a marker ("1·3"), or the later number would hide the earlier.
    var places = [], byPlace = {};
    u.stops.forEach(function (s) {
      var key = s.lon + "," + s.lat;
      if (!byPlace[key]) { byPlace[key] = []; places.push(key); }
      byPlace[key].push(s);
    });
    places.forEach(function (key) {
      var ss = byPlace[key], s0 = ss[0];
      var text = ss.map(function (s) { return s.seq; }).join("\u00B7");
      var tip = ss.map(function (s) {
        return u.id + " stop " + s.seq + ": " + s.hotspot_id + ", " + s.arrive + "\u2013" + s.depart;
      }).join("\n");
      var m = L.marker(ll([s0.lon, s0.lat]), {icon: label("pp-stop", text, u.colour), keyboard: false,
        zIndexOffset: 500});
      m.bindTooltip(textEl("pp-tip", tip));
      m.addTo(g);
      bounds.extend(ll([s0.lon, s0.lat]));
    });
    g.addTo(map);
    unitLayers[u.index] = g;
    var b = L.latLngBounds(u.route.map(ll));
    u.stops.forEach(function (s) { b.extend(ll([s.lon, s.lat])); });
    unitBounds[u.index] = b;
  });

  data.stations.forEach(function (st) {
    var m = L.marker(ll([st.lon, st.lat]), {icon: label("pp-station", "\u25A0", null, [16, 16]),
      keyboard: false, zIndexOffset: 1000});
    m.bindTooltip(textEl("", st.name), {permanent: true, direction: "right", offset: [8, 0],
      className: "pp-station-label"});
    m.addTo(map);
    bounds.extend(ll([st.lon, st.lat]));
  });

  Array.prototype.forEach.call(document.querySelectorAll("input[data-unit-index]"), function (cb) {
    cb.addEventListener("change", function () {
      var g = unitLayers[cb.getAttribute("data-unit-index")];
      if (!g) { return; }
      if (cb.checked) { map.addLayer(g); } else { map.removeLayer(g); }
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("button[data-zoom-unit], button[data-zoom-all]"),
    function (btn) {
      btn.addEventListener("click", function () {
        var b = btn.hasAttribute("data-zoom-all") ? bounds : unitBounds[btn.getAttribute("data-zoom-unit")];
        if (b && b.isValid()) { map.fitBounds(b.pad(0.15)); }
      });
    });

  function fit() {
    map.invalidateSize({animate: false, pan: false});
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.04), {animate: false}); }
    else { map.setView([data.centre[1], data.centre[0]], 12); }
  }
  fit();
  // The printed page is narrower than the screen: refit so the whole plan is on paper.
  window.addEventListener("beforeprint", fit);
  window.addEventListener("afterprint", fit);
  box.setAttribute("data-ready", "1");
  window.ppMap = map;  // for analysts poking at the page, and for the tests
  window.ppMapReady = true;
})();

/* Draws the page's GeoJSON (a <script type="application/json" id="map-data"> block) with Leaflet.
   No tiles and no request: the map is the plan's own routes and places on a plain background. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  var src = document.getElementById("map-data");
  if (!el || !src || typeof L === "undefined") { return; }
  var data = JSON.parse(src.textContent);
  if (!data || !data.features || !data.features.length) { return; }
  var palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
  var units = {};
  function colour(unit) {
    if (!(unit in units)) { units[unit] = palette[Object.keys(units).length % palette.length]; }
    return units[unit];
  }
  // A programme day's spot: a square, filled green to patrol (treated), grey and dashed to keep away (control).
  function programmeSpot(p, latlng) {
    var treated = p.status === "treated";
    var m = L.marker(latlng, { icon: L.divIcon({ className: "prog-spot prog-" + (treated ? "treated" : "control"),
                                                  iconSize: [14, 14] }), keyboard: false });
    var tip = document.createElement("span");
    tip.textContent = (treated ? "Patrol: " : "Keep away (control): ") + p.spot + " " + (p.place || "") +
      " (" + p.programme + ")";  // text, never markup
    m.bindTooltip(tip);
    return m;
  }
  var map = L.map(el, { attributionControl: false, zoomSnap: 0.25 });
  var layer = L.geoJSON(data, {
    style: function (f) {
      return f.properties.kind === "route" ? { color: colour(f.properties.unit), weight: 3, opacity: 0.8 } : {};
    },
    pointToLayer: function (f, latlng) {
      if (f.properties.kind === "programme") { return programmeSpot(f.properties, latlng); }
      var p = f.properties, visited = p.status === "visited" || p.kind === "stop";
      var m = L.circleMarker(latlng, {
        radius: p.next ? 10 : 6, weight: p.next ? 3 : 1, color: "#14325c",
        fillColor: p.state === "left" || p.state === "not_attended" ? "#999" : (visited ? "#f5a623" : "#ffffff"),
        fillOpacity: 0.9
      });
      var label = (p.seq ? "Stop " + p.seq + ": " : (p.rank ? "#" + p.rank + " " : "")) + (p.place || "");
      var tip = document.createElement("span");
      tip.textContent = label;  // an element, never an HTML string: place names are data, not markup
      m.bindTooltip(tip);
      return m;
    }
  }).addTo(map);
  map.fitBounds(layer.getBounds(), { padding: [12, 12] });
}());

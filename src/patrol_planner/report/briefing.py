"""``briefing.html``: the one-file, offline briefing pack an officer opens (or prints) before the shift.

The page carries everything inline: Leaflet 1.9.4 (BSD-2, from ``patrol_planner/resources``), its CSS,
our CSS and map script, and the plan data as a JSON block. There is no tile server: the base layer is
the road lines in ``plan.base_map["lines"]``. A Content-Security-Policy forbids every network fetch and
lets only our two known scripts run (by hash), so that even a string that slipped past escaping could not
execute. Every string that came from data is HTML-escaped in markup and ``<``/``>``/``&``/U+2028/U+2029
escaped inside the JSON block; the map script only ever uses ``textContent``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from patrol_planner.errors import PatrolPlannerError
from patrol_planner.plan import LEFT_OUT_REASONS, HotspotStatus, Plan, UnitPlan
from patrol_planner.report.exports import (
    _check_plan,
    _line,
    _pt,
    _visiting_units,
    _write_text,
    unit_colour,
    unit_route_lonlat,
)

#: Plain-English meaning of each left-out status, for the officer reading the pack.
REASON_TEXT = {
    "visited": "In the plan.",
    "not_reachable": "Cannot be reached by road from the units' stations within the shift.",
    "not_worth_it": "Its score is too low for the travel time it would cost.",
    "no_time": "Worth a visit, but no unit had time left in this shift.",
}
assert set(LEFT_OUT_REASONS) <= set(REASON_TEXT)

#: Decimal places for map coordinates [deg]: 5 places is about 1 m, enough to draw and half the size.
MAP_DECIMALS = 5


@cache
def _resource(name: str) -> str:
    return resources.files("patrol_planner").joinpath("resources", name).read_text(encoding="utf-8")


def _esc(value: Any) -> str:
    """HTML-escape any value shown in the page (quotes too: some land in attributes)."""
    return html.escape(str(value), quote=True)


def json_for_script(obj: Any) -> str:
    """JSON safe to place inside a ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\\u003c``-style escapes so that ``</script>`` or ``<!--`` in a data
    string cannot end or confuse the element; U+2028/U+2029 are escaped because older JavaScript
    parsers treat them as line breaks. NaN/infinity are refused (not JSON).
    """
    try:
        text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str)
    except ValueError:
        raise PatrolPlannerError("the plan holds a NaN or infinite number; cannot write the briefing") from None
    for ch, rep in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return text


def _csp_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def _hm(t: datetime | None) -> str:
    return "" if t is None else t.strftime("%H:%M")


def _num(x: Any, nd: int = 1) -> str:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return _esc(x)
    if isinstance(x, float) and not math.isfinite(x):
        return "–"
    return f"{x:,.{nd}f}" if isinstance(x, float) else f"{x:,d}"


def _fmt_scalar(v: Any) -> str:
    if isinstance(v, float):
        return _esc(f"{v:.4g}")
    if v is None:
        return "–"
    return _esc(v)


def _is_shares(d: Mapping[str, Any]) -> bool:
    vals = list(d.values())
    return bool(vals) and all(isinstance(v, int | float) and not isinstance(v, bool)
                              and math.isfinite(v) and 0 <= v <= 1 for v in vals) and sum(vals) <= 1.001


def _key(k: Any) -> str:
    # Breakdown keys are code-like ("age_band"); spaces read better and change nothing else.
    return _esc(str(k).replace("_", " "))


def _shares_html(d: Mapping[str, Any]) -> str:
    items = []
    for k, x in d.items():
        pct = 100 * float(x)
        items.append(f'<li><span class="k">{_key(k)}</span><span class="bar" style="width:{pct * 0.6:.1f}px">'
                     f"</span>{pct:.0f}%</li>")
    return f'<ul class="why">{"".join(items)}</ul>'


def _render_value(v: Any, depth: int = 0) -> str:
    """Any JSON-like value as escaped HTML.

    A dict whose values are shares (numbers in [0, 1] summing to at most 1) gets bars; at the top
    level, nested dicts (e.g. ``category``, ``age_band``) sit side by side with their key as heading.
    """
    if isinstance(v, Mapping):
        if not v:
            return "–"
        if _is_shares(v):
            return _shares_html(v)
        groups, items = [], []
        for k, x in v.items():
            if depth == 0 and isinstance(x, Mapping) and x:
                groups.append(f'<div class="why-group"><b>{_key(k)}</b>{_render_value(x, depth + 1)}</div>')
            else:
                items.append(f'<li><span class="k">{_key(k)}</span> {_render_value(x, depth + 1)}</li>')
        out = f'<div class="why-groups">{"".join(groups)}</div>' if groups else ""
        return out + (f'<ul class="why">{"".join(items)}</ul>' if items else "")
    if isinstance(v, list | tuple):
        if not v:
            return "–"
        if all(not isinstance(x, Mapping | list | tuple) for x in v):
            return ", ".join(_fmt_scalar(x) for x in v)
        return "<ol>" + "".join(f"<li>{_render_value(x, depth + 1)}</li>" for x in v) + "</ol>"
    return _fmt_scalar(v)


def _map_data(plan: Plan) -> dict[str, Any]:
    """The plain data the map script draws, rounded to :data:`MAP_DECIMALS`."""
    def r(p: tuple[float, float]) -> list[float]:
        return [round(p[0], MAP_DECIMALS), round(p[1], MAP_DECIMALS)]

    raw_lines = plan.base_map.get("lines", []) if isinstance(plan.base_map, Mapping) else []
    if not isinstance(raw_lines, list | tuple):
        raise PatrolPlannerError("plan.base_map['lines'] must be a list of [[lon, lat], ...] polylines")
    roads = []
    for line in raw_lines:
        if not isinstance(line, list | tuple):
            raise PatrolPlannerError("plan.base_map['lines'] must be a list of [[lon, lat], ...] polylines")
        pts = _line(line, "base map road line")
        pts = [r(p) for p in pts]
        # Rounding can merge neighbours; a line needs two distinct points to draw.
        pts = [p for i, p in enumerate(pts) if i == 0 or p != pts[i - 1]]
        if len(pts) >= 2:
            roads.append(pts)
    units = []
    for i, u in enumerate(plan.units):
        units.append({
            "index": i, "id": u.unit_id, "colour": unit_colour(i),
            "route": [r(p) for p in unit_route_lonlat(u)],
            "stops": [{"seq": s.seq, "hotspot_id": s.hotspot_id, "arrive": _hm(s.arrive), "depart": _hm(s.depart),
                       **dict(zip(("lon", "lat"), r(_pt(s.lon, s.lat, f"unit {u.unit_id!r} stop")), strict=True))}
                      for s in u.stops],
        })
    stations: dict[tuple[str, float, float], dict[str, Any]] = {}
    for u in plan.units:
        for st in (u.start, u.end):
            lon, lat = r(_pt(st.lon, st.lat, f"station {st.name!r}"))
            stations.setdefault((st.name, lon, lat), {"name": st.name, "lon": lon, "lat": lat})
    hotspots = []
    for h in plan.hotspots:
        ring = [r(p) for p in _line(h.polygon_lonlat, f"hotspot {h.hotspot_id!r}")]
        lon, lat = r(_pt(h.lon, h.lat, f"hotspot {h.hotspot_id!r}"))
        hotspots.append({"id": h.hotspot_id, "label": h.label, "rank": h.rank, "lon": lon, "lat": lat, "poly": ring,
                         "visited": h.status == "visited",
                         "status_text": "visited" if h.status == "visited" else h.status.replace("_", " ")})
    pts = [p for line in roads for p in line] + [[h["lon"], h["lat"]] for h in hotspots]
    centre = ([sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)] if pts
              else [-0.727, 52.670])
    return {"roads": roads, "units": units, "stations": list(stations.values()), "hotspots": hotspots,
            "centre": centre}


def _kpis(plan: Plan) -> str:
    n_visits = sum(len(u.stops) for u in plan.units)
    visited = sum(1 for h in plan.hotspots if h.status == "visited")
    harm = sum(u.harm_covered for u in plan.units)
    # What the list could yield with every repeat visit, when the plan says so; else first visits only.
    harm_all = float(plan.metrics.get("harm_offered") or sum(h.score for h in plan.hotspots))
    km = sum(u.road_m for u in plan.units) / 1000
    idle = sum(u.idle_s for u in plan.units) / 60
    items = [
        (len(plan.units), "units"),
        (n_visits, "visits"),
        (f"{visited}/{len(plan.hotspots)}", "hotspots covered"),
        (f"{harm:,.1f}", f"harm covered (of {harm_all:,.1f} offered)" if harm_all else "harm covered"),
        (f"{km:,.1f}", "km by road"),
        (f"{idle:,.0f}", "min idle"),
    ]
    return '<ul class="kpis">' + "".join(f"<li><b>{_esc(a)}</b>{_esc(b)}</li>" for a, b in items) + "</ul>"


def _legend(plan: Plan) -> str:
    rows = []
    for i, u in enumerate(plan.units):
        rows.append(
            f'<li><label><input type="checkbox" checked data-unit-index="{i}">'
            f'<span class="swatch" style="background:{unit_colour(i)}"></span>{_esc(u.unit_id)}'
            f' <span class="note">({_esc(u.mode)}, {len(u.stops)} stops)</span></label>'
            f' <button type="button" class="no-print zoom" data-zoom-unit="{i}">zoom</button></li>')
    return (
        '<div class="legend"><div><h3>Units</h3><ul>' + "".join(rows) + "</ul></div>"
        '<div><h3>Hotspots</h3><ul>'
        '<li><span class="sw-box sw-visited"></span>in the plan (label = rank)</li>'
        '<li><span class="sw-box sw-left"></span>left out (see list)</li>'
        '<li><span style="font-size:15px">&#9632;</span> station</li>'
        '<li><span class="swatch" style="background:#a8a8a8;height:2px"></span>road</li></ul>'
        '<button type="button" class="no-print zoom" data-zoom-all="1">whole plan</button>'
        '<p class="note">Numbered circles: stop order of that unit.<span class="no-print"> Drag to pan, '
        "scroll to zoom; hover for details.</span></p></div></div>")


def _unit_section(plan: Plan, i: int, u: UnitPlan, ranks: Mapping[str, int],
                  labels: Mapping[str, str] | None = None) -> str:
    labels = labels or {}
    head = (f'<h2 class="unit-head" id="unit-{i}"><span class="swatch" style="background:{unit_colour(i)}">'
            f"</span>Unit {_esc(u.unit_id)} <span class=\"note\">({_esc(u.mode)})</span></h2>")
    sub = (f'<p class="sub">Shift {_hm(u.shift_start)}–{_hm(u.shift_end)} '
           f"({u.shift_start:%a %d %b %Y}). From <b>{_esc(u.start.name)}</b>"
           f"{' at ' + _hm(u.leave) if u.leave else ''}, back to <b>{_esc(u.end.name)}</b>"
           f"{' by ' + _hm(u.return_arrive) if u.return_arrive else ''}. "
           f"{len(u.stops)} stops, {u.road_m / 1000:.1f} km, travel {u.travel_s / 60:.0f} min, "
           f"on scene {u.dwell_s / 60:.0f} min, idle {u.idle_s / 60:.0f} min, "
           f"harm covered {u.harm_covered:.1f}.</p>")
    leave_row = (f'<tr class="station-row"><td></td><td></td><td>{_hm(u.leave)}</td><td></td>'
                 f"<td>leave {_esc(u.start.name)}</td><td></td><td></td><td></td><td></td><td></td></tr>")
    road_m = 0.0
    events: list[tuple[datetime, str]] = []
    for s in u.stops:
        road_m += s.road_m
        rank = ranks.get(s.hotspot_id)
        events.append((s.arrive, (
            f"<tr><td class=\"num\">{s.seq}</td><td>{_hm(s.arrive)}</td><td>{_hm(s.depart)}</td>"
            f"<td class=\"num\">{(s.depart - s.arrive).total_seconds() / 60:.0f}</td>"
            f"<td>{_place(labels.get(s.hotspot_id, ''))}{_esc(s.hotspot_id)}"
            f"{f' <span class=note>(#{rank})</span>' if rank is not None else ''}</td>"
            f"<td class=\"num\">{s.visit_no}</td><td class=\"num\">{s.travel_s / 60:.0f}</td>"
            f"<td class=\"num\">{s.road_m / 1000:.1f}</td><td class=\"num\">{road_m / 1000:.1f}</td>"
            f"<td class=\"mono nowrap\">{s.lat:.5f}, {s.lon:.5f}</td></tr>")))
    for b in u.breaks:
        events.append((b.start, (
            f'<tr class="station-row"><td></td><td>{_hm(b.start)}</td><td>{_hm(b.end)}</td>'
            f'<td class="num">{(b.end - b.start).total_seconds() / 60:.0f}</td><td>meal break</td>'
            "<td></td><td></td><td></td><td></td><td></td></tr>")))
    back_row = (f'<tr class="station-row"><td></td><td>{_hm(u.return_arrive)}</td><td></td><td></td>'
                f"<td>back at {_esc(u.end.name)}</td><td></td>"
                f'<td class="num">{u.return_travel_s / 60:.0f}</td><td class="num">{u.return_road_m / 1000:.1f}</td>'
                f'<td class="num">{u.road_m / 1000:.1f}</td><td></td></tr>')
    # A break may fall after the return (a unit back at the station eats there): order by time.
    if u.return_arrive is not None:
        events.append((u.return_arrive, back_row))
    rows = [leave_row] + [row for _, row in sorted(events, key=lambda e: e[0])]
    if u.return_arrive is None:
        rows.append(back_row)
    table = ('<table class="schedule"><thead><tr><th class="num">#</th><th>Arrive</th><th>Leave</th>'
             '<th class="num">On scene min</th><th>Hotspot (rank)</th><th class="num">Visit</th>'
             '<th class="num">Travel min</th><th class="num">Leg km</th><th class="num">Total km</th>'
             "<th>Lat, lon</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    return f'<section class="unit" data-unit-index="{i}">{head}{sub}{table}</section>'


def _place(label: str) -> str:
    """A hotspot's public place name above its id (escaped: it comes from the data)."""
    return f"<b>{_esc(label)}</b><br>" if label else ""


def _hotspot_row(h: HotspotStatus, units: list[str], with_reason: bool) -> str:
    status = REASON_TEXT.get(h.status, h.status)
    extra = f"<br><span class=\"note\">{_esc(h.reason)}</span>" if h.reason else ""
    cells = [f'<td class="num">{h.rank}</td>', f"<td>{_place(h.label)}{_esc(h.hotspot_id)}</td>",
             f'<td class="num">{_num(h.score, 2)}</td>']
    if with_reason:
        cells.append(f"<td>{_esc(status)}{extra}</td>")
    else:
        cells.append(f'<td class="num">{h.visits}</td><td>{", ".join(_esc(x) for x in units) or "–"}</td>')
    cells.append(f"<td>{_render_value(h.breakdown)}</td>")
    return f'<tr data-hotspot="{_esc(h.hotspot_id)}">{"".join(cells)}</tr>'


def _hotspot_sections(plan: Plan) -> str:
    visiting = _visiting_units(plan)
    inside = sorted((h for h in plan.hotspots if h.status == "visited"), key=lambda h: h.rank)
    out = sorted((h for h in plan.hotspots if h.status != "visited"), key=lambda h: h.rank)
    parts = ['<section class="section-break" id="why"><h2>Why these hotspots</h2>'
             '<p class="sub">Each hotspot\'s score comes from recorded crime and intelligence in its cell, '
             "weighted by harm and recency. The breakdown shows which categories and age bands make up the "
             "score; no record text is shown.</p>"]
    parts.append('<table class="hotspots"><thead><tr><th class="num">Rank</th><th>Hotspot</th>'
                 '<th class="num">Score</th><th class="num">Visits</th><th>Units</th><th>Why (score breakdown)</th>'
                 "</tr></thead><tbody>")
    parts += [_hotspot_row(h, visiting.get(h.hotspot_id, []), False) for h in inside]
    if not inside:
        parts.append('<tr><td colspan="6">No hotspot is visited in this plan.</td></tr>')
    parts.append("</tbody></table></section>")
    parts.append('<section id="left-out"><h2>Hotspots left out</h2>')
    if out:
        parts.append('<table class="left-out"><thead><tr><th class="num">Rank</th><th>Hotspot</th>'
                     '<th class="num">Score</th><th>Why left out</th><th>Score breakdown</th></tr></thead><tbody>')
        parts += [_hotspot_row(h, [], True) for h in out]
        parts.append("</tbody></table>")
    else:
        parts.append("<p>None: every hotspot offered to the planner is visited.</p>")
    parts.append("</section>")
    return "".join(parts)


def _provenance_section(plan: Plan) -> str:
    prov = dict(plan.provenance)
    parts = ['<section class="section-break" id="provenance"><h2>How this plan was made</h2>']
    inputs = prov.pop("inputs", None)
    if isinstance(inputs, list) and all(isinstance(x, Mapping) for x in inputs):
        parts.append("<h3>Input files</h3><table><thead><tr><th>File</th><th>SHA-256</th></tr></thead><tbody>")
        parts += [f"<tr><td>{_esc(x.get('file', ''))}</td><td class=\"mono\">{_esc(x.get('sha256', ''))}</td></tr>"
                  for x in inputs]
        parts.append("</tbody></table>")
    elif inputs is not None:
        prov["inputs"] = inputs
    for key, title in (("parameters", "Parameters"), ("versions", "Software versions")):
        if key in prov:
            parts.append(f"<h3>{title}</h3>{_render_value(prov.pop(key))}")
    if prov:
        parts.append(f"<h3>Other</h3>{_render_value(prov)}")
    if plan.metrics:
        parts.append(f"<h3>Plan metrics</h3>{_render_value(plan.metrics)}")
    parts.append('<p class="note">Made by patrol_planner. Map drawn with Leaflet 1.9.4 '
                 "(© Volodymyr Agafonkin, CloudMade; BSD-2-Clause, licence text in this file's source).</p>"
                 "</section>")
    return "".join(parts)


def render_briefing(plan: Plan) -> str:
    """The complete ``briefing.html`` text for a plan.

    Parameters
    ----------
    plan : Plan
        The plan to brief; ``plan.base_map["lines"]`` (``[[lon, lat], ...]`` polylines [deg]) is drawn
        as the base layer when present.

    Returns
    -------
    str
        One self-contained HTML document (no external resources).

    Raises
    ------
    PatrolPlannerError
        The plan holds coordinates that are not finite lon/lat positions, or a malformed base map.
    """
    plan = _check_plan(plan)
    leaflet_js = _resource("leaflet.js")
    # The CSS's only url()s are Leaflet's marker/layer images, which this page never uses; dropping
    # them guarantees the browser never tries to load a file beside the HTML.
    leaflet_css = _resource("leaflet.css").replace("url(images/", "none /*").replace(".png)", "*/")
    app_js = _resource("briefing.js")
    licence = _resource("LEAFLET-LICENSE.txt").replace("*/", "* /")
    csp = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
           f"script-src {_csp_hash(leaflet_js)} {_csp_hash(app_js)}; base-uri 'none'; form-action 'none'")
    ranks = {h.hotspot_id: h.rank for h in plan.hotspots}
    labels = {h.hotspot_id: h.label for h in plan.hotspots if h.label}
    starts = [u.shift_start for u in plan.units]
    offset = min(starts).isoformat()[19:] if starts else ""
    when = (f"{min(starts):%A %d %B %Y}, shifts from {min(starts):%H:%M} "
            f"(times shown are local, UTC{offset.replace('+00:00', '')})" if starts else "no units")
    created = plan.provenance.get("created") if isinstance(plan.provenance, Mapping) else None
    units_html = "".join(_unit_section(plan, i, u, ranks, labels) for i, u in enumerate(plan.units))
    map_json = json_for_script(_map_data(plan))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="patrol_planner">
<title>{_esc(plan.title)}</title>
<style>
/* Leaflet 1.9.4 CSS. {licence} */
{leaflet_css}
</style>
<style>
{_resource("briefing.css")}
</style>
</head>
<body>
<header>
<p class="marking">Official – Sensitive: police use only</p>
<h1>{_esc(plan.title)}</h1>
<p class="sub">{_esc(when)}{f" · plan made {_esc(created)}" if created else ""}</p>
{_kpis(plan)}
<nav class="no-print note">Jump to: {" · ".join(f'<a href="#unit-{i}">{_esc(u.unit_id)}</a>'
                                                  for i, u in enumerate(plan.units))}
 · <a href="#why">why these hotspots</a> · <a href="#left-out">left out</a>
 · <a href="#provenance">how this plan was made</a></nav>
</header>
<section id="overview">
<h2>Map</h2>
<div class="mapwrap"><div id="map" role="img" aria-label="Map of the unit routes and hotspots"></div>
{_legend(plan)}</div>
</section>
{units_html}
{_hotspot_sections(plan)}
{_provenance_section(plan)}
<script type="application/json" id="plan-data">{map_json}</script>
<script>{leaflet_js}</script>
<script>{app_js}</script>
</body>
</html>
"""


def write_briefing(plan: Plan, path: str | Path) -> Path:
    """Write :func:`render_briefing` to ``path`` (UTF-8) and return the path."""
    return _write_text(Path(path), render_briefing(plan))

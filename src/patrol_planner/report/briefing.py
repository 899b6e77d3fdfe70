"""``briefing.html``: the one-file, offline briefing pack an officer opens (or prints) before the shift.

Rendered from ``templates/briefing.html.j2`` (extending the reusable ``base.html.j2``, see
:mod:`patrol_planner.report.page`): Leaflet, its CSS, our CSS and map script are inlined, and the plan
data sits in a JSON block. There is no tile server: the base layer is the road lines in
``plan.base_map["lines"]``. Autoescaping covers every string that came from data in markup;
:func:`~patrol_planner.report.page.json_for_script` escapes ``<``/``>``/``&``/U+2028/U+2029 in the JSON
block; the map script only ever uses ``textContent``; and the Content-Security-Policy lets only the two
known scripts run (by hash).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from patrol_planner import localtime as lt
from patrol_planner.errors import PatrolPlannerError
from patrol_planner.plan import Plan, UnitPlan
from patrol_planner.report.exports import (
    _check_plan,
    _line,
    _pt,
    _visiting_units,
    _write_text,
    unit_colour,
    unit_route_lonlat,
)
from patrol_planner.report.page import OfflinePage, hm_local, json_for_script, render_page, resource_text
from patrol_planner.vocabulary import VISITED

__all__ = ["MAP_DECIMALS", "json_for_script", "render_briefing", "write_briefing"]

#: Decimal places for map coordinates [deg]: 5 places is about 1 m, enough to draw and half the size.
MAP_DECIMALS = 5
#: Where the map centres when a plan has no road or hotspot to draw: Oakham, Rutland (lon, lat) [deg].
FALLBACK_MAP_CENTRE_LONLAT = (-0.727, 52.670)


def _zone(plan: Plan) -> ZoneInfo | None:
    try:
        return ZoneInfo(plan.timezone) if plan.timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h"


def clock_change_notes(plan: Plan) -> list[str]:
    """One sentence per clock change during the plan's shifts, with the real length of the shifts it affects.

    E.g. "Clocks go forward at 01:00 GMT tonight (to 02:00 BST): the 22:00–06:00 shift is 7 h long, not 8 h."
    """
    zone = _zone(plan)
    if zone is None or not plan.units:
        return []
    start = min((u.shift_start for u in plan.units), key=lt.instant_key)
    end = max((u.shift_end for u in plan.units), key=lt.instant_key)
    notes = []
    for c in lt.clock_changes(start, end, zone):
        shifts = {}
        for u in plan.units:
            if lt.real_s(u.shift_start, c.at) > 0 and lt.real_s(c.at, u.shift_end) >= 0:
                wall_s = (u.shift_end.replace(tzinfo=None) - u.shift_start.replace(tzinfo=None)).total_seconds()
                text = f"{u.shift_start:%H:%M}–{u.shift_end:%H:%M}"
                shifts[text] = f"the {text} shift is {_hours(lt.real_s(u.shift_start, u.shift_end))} long, " \
                               f"not {_hours(wall_s)}"
        after = c.wall_before + (c.after - c.before)
        note = (f"Clocks go {'forward' if c.forward else 'back'} at {c.wall_before:%H:%M} {c.name_before} "
                f"tonight (to {after:%H:%M} {c.name_after})")
        if not c.forward:
            note += (f"; {after:%H:%M}–{c.wall_before:%H:%M} happens twice, and times in it are shown with "
                     f"{c.name_before} or {c.name_after}")
        notes.append(note + (": " + "; ".join(shifts.values()) if shifts else "") + ".")
    return notes


def _hm(t: datetime | None, zone: ZoneInfo | None = None) -> str:
    return hm_local(t, zone)


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
    units, zone = [], _zone(plan)
    for i, u in enumerate(plan.units):
        units.append({
            "index": i, "id": u.unit_id, "colour": unit_colour(i),
            "route": [r(p) for p in unit_route_lonlat(u)],
            "stops": [{"seq": s.seq, "hotspot_id": s.hotspot_id, "arrive": _hm(s.arrive, zone),
                       "depart": _hm(s.depart, zone),
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
                         "visited": h.status == VISITED,
                         "status_text": "visited" if h.status == VISITED else h.status.replace("_", " ")})
    pts = [p for line in roads for p in line] + [[h["lon"], h["lat"]] for h in hotspots]
    centre = ([sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)] if pts
              else list(FALLBACK_MAP_CENTRE_LONLAT))
    return {"roads": roads, "units": units, "stations": list(stations.values()), "hotspots": hotspots,
            "centre": centre}


def _kpis(plan: Plan) -> list[tuple[str, str]]:
    n_visits = sum(len(s.covers) for u in plan.units for s in u.stops)  # a stop may cover several hotspots
    visited = sum(1 for h in plan.hotspots if h.status == VISITED)
    # Like by like: the visits' harm (repeats discounted, before any time-of-day weighting: the same
    # quantity as metrics["harm_covered"]) of the harm every planned visit could cover (metrics["harm_offered"]).
    # Without that figure there is no like total (hotspot scores count first visits only): no "of".
    harm = sum(u.harm_covered for u in plan.units)
    harm_all = float(plan.metrics.get("harm_offered") or 0.0)
    km = sum(u.road_m for u in plan.units) / 1000
    idle = sum(u.idle_s for u in plan.units) / 60
    return [
        (str(len(plan.units)), "units"),
        (str(n_visits), "visits"),
        (f"{visited}/{len(plan.hotspots)}", "hotspots covered"),
        (f"{harm:,.1f}", f"harm covered (of {harm_all:,.1f} offered)" if harm_all else "harm covered"),
        (f"{km:,.1f}", "km by road"),
        (f"{idle:,.0f}", "min idle"),
    ]


def _unit_view(i: int, u: UnitPlan, ranks: Mapping[str, int], labels: Mapping[str, str]) -> dict[str, Any]:
    """A unit with its schedule rows in time order: ("stop", ...), ("break", Break), ("back", None)."""
    road_m = 0.0
    events: list[tuple[datetime, str, Any]] = []
    for s in u.stops:
        road_m += s.road_m
        also = [(h, ranks.get(h), labels.get(h, "")) for h in s.covers[1:]]  # cells sharing the road point
        events.append((s.arrive, "stop", {"stop": s, "rank": ranks.get(s.hotspot_id), "road_m_so_far": road_m,
                                          "label": labels.get(s.hotspot_id, ""), "also": also,
                                          "dwell_min": (s.depart - s.arrive).total_seconds() / 60}))
    events += [(b.start, "break", b) for b in u.breaks]
    # A break may fall after the return (a unit back at the station eats there): order by time.
    if u.return_arrive is not None:
        events.append((u.return_arrive, "back", None))
    rows = [(kind, e) for _, kind, e in sorted(events, key=lambda e: e[0])]
    if u.return_arrive is None:
        rows.append(("back", None))
    view = {f: getattr(u, f) for f in ("unit_id", "mode", "shift_start", "shift_end", "start", "end", "stops",
                                       "leave", "return_arrive", "return_travel_s", "return_road_m", "road_m",
                                       "travel_s", "dwell_s", "idle_s", "harm_covered")}
    return {**view, "colour": unit_colour(i), "events": rows}


def briefing_context(plan: Plan) -> dict[str, Any]:
    """The values ``briefing.html.j2`` shows (plain data; the template escapes it)."""
    ranks = {h.hotspot_id: h.rank for h in plan.hotspots}
    labels = {h.hotspot_id: h.label for h in plan.hotspots if h.label}
    starts = [u.shift_start for u in plan.units]
    first = min(starts, key=lt.instant_key) if starts else None
    offset = first.isoformat()[19:] if first else ""
    when = (f"{first:%A %d %B %Y}, shifts from {first:%H:%M} "
            f"(times shown are local, UTC{offset.replace('+00:00', '')})" if starts else "no units")
    notes = clock_change_notes(plan)
    if notes:  # one offset in the header would be wrong for part of the night
        when = when.split(" (times shown")[0] + " (times shown are local; the clocks change tonight, see below)"
    prov = plan.provenance if isinstance(plan.provenance, Mapping) else {}
    return {
        "when": when, "created": prov.get("created"), "kpis": _kpis(plan),
        "units": [_unit_view(i, u, ranks, labels) for i, u in enumerate(plan.units)],
        "visited": sorted((h for h in plan.hotspots if h.status == VISITED), key=lambda h: h.rank),
        "left_out": sorted((h for h in plan.hotspots if h.status != VISITED), key=lambda h: h.rank),
        "visiting": _visiting_units(plan), "provenance": dict(prov), "metrics": plan.metrics,
        "map_json": json_for_script(_map_data(plan)), "tasking": plan.tasking,
        "clock_zone": _zone(plan), "clock_notes": notes, "rules": _rules_view(plan),
    }


#: Width of the cover timeline drawing [SVG user units]; the height is one band per sector.
COVER_SVG_WIDTH = 720
COVER_BAND_H = 22


def _iso_hm(text: Any) -> str:
    """``HH:MM`` of an ISO time (as written in plan.json) or a datetime."""
    return str(text)[11:16] if isinstance(text, str) else f"{text:%H:%M}"


def _rules_view(plan: Plan) -> dict[str, Any]:
    """Tasks, intelligence-led visits, no-go areas, sectors and the cover timeline (as SVG bars), or {}."""
    rules = plan.rules or {}
    if not rules:
        return {}
    out: dict[str, Any] = {
        "tasks": [{**t, "from": _iso_hm(t["window"][0]), "to": _iso_hm(t["window"][1]),
                   "at": _iso_hm(t["arrive"]) if t.get("arrive") else ""} for t in rules.get("tasks", [])],
        "intel": [{**t, "from": _iso_hm(t["window"][0]), "to": _iso_hm(t["window"][1]),
                   "at": _iso_hm(t["arrive"]) if t.get("arrive") else ""} for t in rules.get("intel_visits", [])],
        "exclusions": [{**e, "from": _iso_hm(e["active"][0]), "to": _iso_hm(e["active"][1])}
                       for e in rules.get("exclusions", [])],
        "sectors": rules.get("sectors", []), "replan": rules.get("replan"),
    }
    bands = []
    for k, c in enumerate(rules.get("cover", [])):
        counts = list(c["units_within"])
        n = max(1, len(counts) - 1)
        bars, j = [], 0
        while j < len(counts):  # runs of equal count, one rectangle each
            e = j
            while e + 1 < len(counts) and counts[e + 1] == counts[j]:
                e += 1
            x0, x1 = j / n * COVER_SVG_WIDTH, min(e + 1, n) / n * COVER_SVG_WIDTH
            bars.append({"x": round(x0, 1), "w": round(max(x1 - x0, 1.0), 1), "n": counts[j],
                         "ok": counts[j] >= c["min_units"]})
            j = e + 1
        start = datetime.fromisoformat(c["start"]) if isinstance(c["start"], str) else c["start"]
        ticks = []
        for m in range(0, len(counts), 60):
            t = lt.plus_s(start, m * c["step_s"])
            ticks.append({"x": round(m / n * COVER_SVG_WIDTH, 1), "label": f"{t:%H:%M}"})
        bands.append({**c, "y": k * (COVER_BAND_H + 16), "bars": bars, "ticks": ticks})
    out["cover"] = bands
    out["cover_h"] = len(bands) * (COVER_BAND_H + 16) + 4
    out["cover_w"] = COVER_SVG_WIDTH
    return out


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
    page = OfflinePage(title=plan.title, css=resource_text("briefing.css"), scripts=(resource_text("briefing.js"),),
                       leaflet=True)
    return render_page("briefing.html.j2", page=page, **briefing_context(plan))


def write_briefing(plan: Plan, path: str | Path) -> Path:
    """Write :func:`render_briefing` to ``path`` (UTF-8) and return the path."""
    return _write_text(Path(path), render_briefing(plan))

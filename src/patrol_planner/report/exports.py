"""Machine-readable exports of a :class:`~patrol_planner.plan.Plan`: GeoJSON, CSV schedule, GPX.

Everything here only reads the Plan. Coordinates are EPSG:4326 ``(lon, lat)`` [deg] as in the Plan;
times keep the offset they carry in the Plan (ISO 8601 with offset); distances in file columns are
[km] and durations [min] because that is what a person reads, and the column names say so.
The file formats are documented in ``docs/outputs.md``.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from patrol_planner.errors import PatrolPlannerError
from patrol_planner.plan import Plan, UnitPlan
from patrol_planner.sanitise import spreadsheet_safe

#: Decimal places kept for coordinates [deg]: 6 places is about 0.1 m, finer than any road position.
COORD_DECIMALS = 6

#: Colour-blind-safe route colours (Okabe & Ito), cycled when there are more units.
UNIT_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999933")

GPX_NS = "http://www.topografix.com/GPX/1/1"

# XML 1.0 forbids most control characters; a stray one in a unit id would make the GPX unreadable.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def unit_colour(index: int) -> str:
    """The route colour of the ``index``-th unit (same in the briefing, GeoJSON and GPX)."""
    return UNIT_COLOURS[index % len(UNIT_COLOURS)]


def _check_plan(plan: Any) -> Plan:
    if not isinstance(plan, Plan):
        raise PatrolPlannerError(f"expected a patrol_planner.plan.Plan, got {type(plan).__name__}")
    return plan


def _pt(lon: Any, lat: Any, what: str) -> tuple[float, float]:
    """A checked, rounded ``(lon, lat)`` pair [deg]."""
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise PatrolPlannerError(f"{what}: coordinate {lon!r}, {lat!r} is not a number") from None
    if not (math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
        raise PatrolPlannerError(f"{what}: coordinate ({x}, {y}) is not a lon/lat position in EPSG:4326")
    return round(x, COORD_DECIMALS), round(y, COORD_DECIMALS)


def _line(points: Iterable[Sequence[Any]], what: str) -> list[tuple[float, float]]:
    """Checked polyline with consecutive duplicate points removed (they make zero-length segments)."""
    out: list[tuple[float, float]] = []
    for p in points:
        if len(p) < 2:
            raise PatrolPlannerError(f"{what}: point {p!r} is not a (lon, lat) pair")
        q = _pt(p[0], p[1], what)
        if not out or out[-1] != q:
            out.append(q)
    return out


def unit_route_lonlat(unit: UnitPlan) -> list[tuple[float, float]]:
    """The whole road route of a unit, start station to end station, as ``(lon, lat)`` [deg].

    Concatenates each stop's ``path_lonlat`` and the return path. Where the Plan carries no road path
    for a leg (e.g. a hand-made plan), the leg is drawn as a straight line between its ends.
    """
    return _line(unit.route_lonlat(), f"unit {unit.unit_id!r} route")


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _gpx_time(t: datetime) -> str:
    """GPX 1.1 says times are UTC; devices differ on offsets, so write ``...Z``."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ring_ccw(ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Close a ring and orient it counter-clockwise, as RFC 7946 asks of exterior rings."""
    if ring[0] != ring[-1]:
        ring = [*ring, ring[0]]
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring[:-1], ring[1:], strict=True))
    return ring if area2 >= 0 else ring[::-1]


def _breakdown_json(breakdown: dict[str, Any], hotspot_id: str = "") -> str:
    try:
        return json.dumps(breakdown, sort_keys=True, ensure_ascii=False, allow_nan=False, default=str)
    except ValueError:
        raise PatrolPlannerError(f"hotspot {hotspot_id}'s score breakdown holds a NaN or infinite number") from None


def _visiting_units(plan: Plan) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for u in plan.units:
        for s in u.stops:
            ids = out.setdefault(s.hotspot_id, [])
            if u.unit_id not in ids:
                ids.append(u.unit_id)
    return out


def plan_to_geojson(plan: Plan) -> dict[str, Any]:
    """The plan as an RFC 7946 GeoJSON FeatureCollection in EPSG:4326 (``lon, lat`` order).

    One feature per unit route (LineString along the roads, start station to end station), per stop
    (Point), per station (Point) and per hotspot offered to the planner (Polygon of its cell, or a Point
    when the Plan has no outline). Each feature has a ``kind`` property (``route``, ``stop``,
    ``station``, ``hotspot``) and only flat scalar properties, so that QGIS and geopandas read it as is;
    the hotspot score breakdown is a JSON string in ``breakdown_json``.

    Parameters
    ----------
    plan : Plan
        The plan to export.

    Returns
    -------
    dict
        A JSON-ready FeatureCollection.

    Raises
    ------
    PatrolPlannerError
        The plan holds a coordinate that is not a finite lon/lat position.
    """
    plan = _check_plan(plan)
    feats: list[dict[str, Any]] = []
    for i, u in enumerate(plan.units):
        line = unit_route_lonlat(u)
        if len(line) >= 2:
            feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": line},
                          "properties": {
                              "kind": "route", "unit_id": u.unit_id, "mode": u.mode, "colour": unit_colour(i),
                              "stops": len(u.stops), "road_km": round(u.road_m / 1000, 3),
                              "travel_min": round(u.travel_s / 60, 1), "dwell_min": round(u.dwell_s / 60, 1),
                              "idle_min": round(u.idle_s / 60, 1), "harm_covered": u.harm_covered,
                              "shift_start": _iso(u.shift_start), "shift_end": _iso(u.shift_end),
                              "leave": _iso(u.leave), "return_arrive": _iso(u.return_arrive),
                              "start_station": u.start.name, "end_station": u.end.name}})
        road_m = 0.0
        for s in u.stops:
            road_m += s.road_m
            feats.append({"type": "Feature",
                          "geometry": {"type": "Point",
                                       "coordinates": _pt(s.lon, s.lat, f"unit {u.unit_id!r} stop {s.seq}")},
                          "properties": {
                              "kind": "stop", "unit_id": u.unit_id, "seq": s.seq, "hotspot_id": s.hotspot_id,
                              "visit_no": s.visit_no, "arrive": _iso(s.arrive), "depart": _iso(s.depart),
                              "dwell_min": round((s.depart - s.arrive).total_seconds() / 60, 1),
                              "prize": s.prize, "travel_min": round(s.travel_s / 60, 1),
                              "road_km_so_far": round(road_m / 1000, 3), "colour": unit_colour(i)}})
    seen: set[tuple[str, float, float]] = set()
    for u in plan.units:
        for role, st in (("start", u.start), ("end", u.end)):
            pt = _pt(st.lon, st.lat, f"station {st.name!r}")
            if (st.name, *pt) in seen:
                continue
            seen.add((st.name, *pt))
            feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": pt},
                          "properties": {"kind": "station", "name": st.name, "role": role}})
    visiting = _visiting_units(plan)
    for h in plan.hotspots:
        what = f"hotspot {h.hotspot_id!r}"
        ring = _line(h.polygon_lonlat, what)
        if len(set(ring)) >= 3:
            geom: dict[str, Any] = {"type": "Polygon", "coordinates": [_ring_ccw(ring)]}
        else:
            geom = {"type": "Point", "coordinates": _pt(h.lon, h.lat, what)}
        feats.append({"type": "Feature", "geometry": geom, "properties": {
            "kind": "hotspot", "hotspot_id": h.hotspot_id, "label": h.label, "rank": h.rank, "score": h.score,
            "status": h.status, "reason": h.reason, "visits": h.visits,
            "units": ",".join(visiting.get(h.hotspot_id, [])),
            "centre_lon": _pt(h.lon, h.lat, what)[0], "centre_lat": _pt(h.lon, h.lat, what)[1],
            "breakdown_json": _breakdown_json(h.breakdown, h.hotspot_id)}})
    return {"type": "FeatureCollection", "features": feats}


def schedule_frame(plan: Plan) -> pd.DataFrame:
    """One row per stop, in unit then visit order: the ``schedule.csv`` table.

    Columns: ``unit_id, mode, seq, hotspot_id, rank, visit_no, arrive, depart, dwell_min, travel_min,
    leg_road_km, road_km_so_far, lon, lat, prize, covers`` (``covers``: the hotspots the stop covers,
    ``;``-separated; more than one where cells share a road point). ``arrive``/``depart`` are ISO 8601 strings with
    offset (a night shift may span a clock change, so one offset per column cannot be assumed);
    ``road_km_so_far`` [km] counts from the unit leaving its station.

    Parameters
    ----------
    plan : Plan
        The plan to tabulate.

    Returns
    -------
    pandas.DataFrame
        The schedule; empty (with the columns) when no unit has a stop.
    """
    plan = _check_plan(plan)
    ranks = {h.hotspot_id: h.rank for h in plan.hotspots}
    labels = {h.hotspot_id: h.label for h in plan.hotspots}
    rows = []
    for u in plan.units:
        road_m = 0.0
        for s in u.stops:
            road_m += s.road_m
            lon, lat = _pt(s.lon, s.lat, f"unit {u.unit_id!r} stop {s.seq}")
            rows.append({
                "unit_id": u.unit_id, "mode": u.mode, "seq": s.seq, "hotspot_id": s.hotspot_id,
                "rank": ranks.get(s.hotspot_id), "place": labels.get(s.hotspot_id, ""), "visit_no": s.visit_no,
                "arrive": s.arrive.isoformat(), "depart": s.depart.isoformat(),
                "dwell_min": round((s.depart - s.arrive).total_seconds() / 60, 1),
                "travel_min": round(s.travel_s / 60, 1), "leg_road_km": round(s.road_m / 1000, 3),
                "road_km_so_far": round(road_m / 1000, 3), "lon": lon, "lat": lat, "prize": s.prize,
                "covers": ";".join(s.covers),
            })
    cols = ["unit_id", "mode", "seq", "hotspot_id", "rank", "place", "visit_no", "arrive", "depart", "dwell_min",
            "travel_min", "leg_road_km", "road_km_so_far", "lon", "lat", "prize", "covers"]
    df = pd.DataFrame(rows, columns=cols)
    df["rank"] = df["rank"].astype("Int64")
    return df


def _xml_text(s: Any) -> str:
    return _XML_BAD.sub("\ufffd", str(s))


def safe_filename(name: str) -> str:
    """A file-name stem made from a unit id: letters, digits, ``-``, ``_`` and ``.`` only."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")
    return stem[:80] or "unit"


def unit_gpx(plan: Plan, unit: UnitPlan) -> str:
    """GPX 1.1 text for one unit.

    Holds a waypoint per stop (``<wpt>``, name ``"<seq> <hotspot_id>"``, time = arrival), a route
    (``<rte>``: station, the stops in order, station) for devices that navigate point to point, and a
    track (``<trk>``) along the roads for devices that show the line. All text is XML-escaped.
    """
    ET.register_namespace("", GPX_NS)
    q = f"{{{GPX_NS}}}"
    gpx = ET.Element(q + "gpx", {"version": "1.1", "creator": "patrol_planner"})
    meta = ET.SubElement(gpx, q + "metadata")
    ET.SubElement(meta, q + "name").text = _xml_text(f"{plan.title}: {unit.unit_id}")
    ET.SubElement(meta, q + "desc").text = _xml_text(
        f"{unit.mode} patrol {unit.shift_start:%Y-%m-%d %H:%M} to {unit.shift_end:%H:%M}, "
        f"{len(unit.stops)} stops")
    ET.SubElement(meta, q + "time").text = _gpx_time(unit.shift_start)

    def point(tag: str, parent: ET.Element, lon: float, lat: float, what: str) -> ET.Element:
        x, y = _pt(lon, lat, what)
        return ET.SubElement(parent, q + tag, {"lat": f"{y:.{COORD_DECIMALS}f}", "lon": f"{x:.{COORD_DECIMALS}f}"})

    for s in unit.stops:
        w = point("wpt", gpx, s.lon, s.lat, f"unit {unit.unit_id!r} stop {s.seq}")
        ET.SubElement(w, q + "time").text = _gpx_time(s.arrive)
        ET.SubElement(w, q + "name").text = _xml_text(f"{s.seq:02d} {s.hotspot_id}")
        ET.SubElement(w, q + "desc").text = _xml_text(
            f"arrive {s.arrive:%H:%M}, leave {s.depart:%H:%M}, visit {s.visit_no}")
        ET.SubElement(w, q + "sym").text = "Flag"
    rte = ET.SubElement(gpx, q + "rte")
    ET.SubElement(rte, q + "name").text = _xml_text(unit.unit_id)
    p = point("rtept", rte, unit.start.lon, unit.start.lat, f"station {unit.start.name!r}")
    ET.SubElement(p, q + "name").text = _xml_text(unit.start.name)
    for s in unit.stops:
        p = point("rtept", rte, s.lon, s.lat, f"unit {unit.unit_id!r} stop {s.seq}")
        ET.SubElement(p, q + "name").text = _xml_text(f"{s.seq:02d} {s.hotspot_id}")
    p = point("rtept", rte, unit.end.lon, unit.end.lat, f"station {unit.end.name!r}")
    ET.SubElement(p, q + "name").text = _xml_text(unit.end.name)
    trk = ET.SubElement(gpx, q + "trk")
    ET.SubElement(trk, q + "name").text = _xml_text(unit.unit_id)
    seg = ET.SubElement(trk, q + "trkseg")
    for lon, lat in unit_route_lonlat(unit):
        point("trkpt", seg, lon, lat, f"unit {unit.unit_id!r} route")
    ET.indent(gpx, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(gpx, encoding="unicode") + "\n"


def write_gpx(plan: Plan, out_dir: str | Path) -> dict[str, Path]:
    """Write one GPX 1.1 file per unit into ``out_dir`` (created if needed).

    File names come from the unit id with unsafe characters replaced (see :func:`safe_filename`);
    clashes get a ``-2``, ``-3``... suffix.

    Returns
    -------
    dict[str, Path]
        unit id -> written file.
    """
    plan = _check_plan(plan)
    d = Path(out_dir)
    _mkdir(d)
    out: dict[str, Path] = {}
    used: set[str] = set()
    for u in plan.units:
        stem, n = safe_filename(u.unit_id), 1
        while (stem if n == 1 else f"{stem}-{n}").lower() in used:
            n += 1
        stem = stem if n == 1 else f"{stem}-{n}"
        used.add(stem.lower())
        out[u.unit_id] = _write_text(d / f"{stem}.gpx", unit_gpx(plan, u))
    return out


def _mkdir(d: Path) -> None:
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PatrolPlannerError(f"cannot create output folder {d}: {exc.strerror or exc}") from None


def _write_text(path: Path, text: str) -> Path:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise PatrolPlannerError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def write_geojson(plan: Plan, path: str | Path) -> Path:
    """Write :func:`plan_to_geojson` to ``path`` (UTF-8, stable key order)."""
    try:
        text = json.dumps(plan_to_geojson(plan), ensure_ascii=False, allow_nan=False, indent=None,
                          separators=(",", ":"))
    except ValueError:
        raise PatrolPlannerError("the plan holds a NaN or infinite number; cannot write GeoJSON") from None
    return _write_text(Path(path), text + "\n")


def write_schedule_csv(plan: Plan, path: str | Path) -> Path:
    """Write :func:`schedule_frame` to ``path`` as UTF-8 CSV."""
    text = spreadsheet_safe(schedule_frame(plan)).to_csv(index=False, lineterminator="\n")
    return _write_text(Path(path), text)

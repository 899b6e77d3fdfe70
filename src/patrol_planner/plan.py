"""The :class:`Plan` value: who goes where and when, why, and what produced it.

A Plan is built by :mod:`patrol_planner.scenario` from the routing result, the hotspots and the road
network; the report stage only reads it. ``plan.json`` is :meth:`Plan.to_json`, documented in
``docs/plan-json.md``. Times are timezone-aware datetimes (ISO 8601 with offset in JSON); coordinates
are EPSG:4326 [deg]; distances [m]; durations [s].
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from patrol_planner.vocabulary import LEFT_OUT_REASONS, LeftOutReason, Station


def _plain(o: Any) -> Any:
    """JSON-ready copy: dataclasses to dicts, tuples to lists, datetimes to ISO 8601 strings. One pass, instead
    of ``dataclasses.asdict`` (which deep-copies every leaf) and a second conversion: a 150 x 12 night's
    routes and paths are about 100 000 values, written again at each live re-plan."""
    if isinstance(o, float | int | str | bool) or o is None:
        return o
    if isinstance(o, datetime):
        return o.isoformat()
    if isinstance(o, dict):
        return {k: _plain(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_plain(v) for v in o]
    if is_dataclass(o) and not isinstance(o, type):
        return {f.name: _plain(getattr(o, f.name)) for f in fields(o)}
    return o

__all__ = ["LEFT_OUT_REASONS", "PLAN_CRS", "Break", "HotspotStatus", "LeftOutReason", "Plan", "Station", "Stop",
           "UnitPlan", "to_geo_frame"]

PLAN_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Stop:
    """One visit of a unit to a hotspot.

    ``path_lonlat`` is the road path from the previous stop (or the start station) to this stop,
    as ``(lon, lat)`` pairs [deg], for drawing. ``covers`` lists every hotspot the stop covers,
    ``hotspot_id`` first: neighbouring cells that snap to one road point and are visited back to back are
    one stop (on scene for all their dwells, ``prize`` their sum), not two stops with no road between them.
    ``visit_no`` counts visits to ``hotspot_id``.
    """

    seq: int
    hotspot_id: str
    visit_no: int
    arrive: datetime
    depart: datetime
    lon: float
    lat: float
    prize: float
    travel_s: float
    road_m: float
    path_lonlat: tuple[tuple[float, float], ...] = ()
    covers: tuple[str, ...] = ()
    #: ``hotspot``, ``task`` (a must-do visit) or ``intel`` (an intelligence-led visit)
    kind: str = "hotspot"
    #: for a task or an intelligence-led visit, what officers are told (never intelligence text)
    label: str = ""

    def __post_init__(self) -> None:
        if not self.covers:  # an ordinary stop covers its own hotspot
            object.__setattr__(self, "covers", (self.hotspot_id,))


@dataclass(frozen=True)
class Break:
    """A meal break taken by a unit [start, end)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class UnitPlan:
    """The route of one unit through its shift."""

    unit_id: str
    mode: str  # "drive" | "walk"
    shift_start: datetime
    shift_end: datetime
    start: Station
    end: Station
    stops: tuple[Stop, ...]
    breaks: tuple[Break, ...] = ()
    leave: datetime | None = None  # when it leaves the start station
    return_arrive: datetime | None = None  # when it is back at the end station
    return_path_lonlat: tuple[tuple[float, float], ...] = ()
    return_travel_s: float = 0.0
    return_road_m: float = 0.0

    @property
    def travel_s(self) -> float:
        """Total driving/walking time [s]."""
        return sum(s.travel_s for s in self.stops) + self.return_travel_s

    @property
    def road_m(self) -> float:
        """Total road distance [m]."""
        return sum(s.road_m for s in self.stops) + self.return_road_m

    @property
    def dwell_s(self) -> float:
        """Total time on scene at hotspots [s]."""
        return sum((s.depart - s.arrive).total_seconds() for s in self.stops)

    @property
    def break_s(self) -> float:
        return sum((b.end - b.start).total_seconds() for b in self.breaks)

    @property
    def idle_s(self) -> float:
        """Shift time neither travelling, on scene nor on break [s]."""
        shift = (self.shift_end - self.shift_start).total_seconds()
        return max(0.0, shift - self.travel_s - self.dwell_s - self.break_s)

    @property
    def harm_covered(self) -> float:
        """Sum of the stops' prizes [harm]: repeat visits discounted, before any time-of-day weighting (the
        plan's ``metrics["harm_covered"]`` is the same quantity over every unit; the time-weighted one, the
        solver's view, is ``metrics["harm_covered_time_weighted"]``)."""
        return sum(s.prize for s in self.stops)

    def route_lonlat(self) -> list[tuple[float, float]]:
        """The whole road route, start station to end station, as ``(lon, lat)`` [deg, EPSG:4326].

        Each stop's ``path_lonlat`` then the return path; where a leg has no road path (a hand-made plan)
        it is a straight line. Consecutive repeated points are dropped (they make zero-length segments).
        """
        pts: list[tuple[float, float]] = [(self.start.lon, self.start.lat)]
        for s in self.stops:
            pts.extend(tuple(p) for p in s.path_lonlat)
            pts.append((s.lon, s.lat))
        pts.extend(tuple(p) for p in self.return_path_lonlat)
        if self.stops or self.return_path_lonlat:
            pts.append((self.end.lon, self.end.lat))
        return [p for i, p in enumerate(pts) if i == 0 or p != pts[i - 1]]


@dataclass(frozen=True)
class HotspotStatus:
    """A hotspot offered to the planner and what became of it.

    ``breakdown`` is the score explanation (category -> share, age band -> share), never intelligence text.
    ``polygon_lonlat`` is the cell outline [deg]. ``status`` is ``visited`` or one of :data:`LEFT_OUT_REASONS`.
    """

    hotspot_id: str
    rank: int
    score: float
    lon: float
    lat: float
    visits: int
    status: str
    reason: str = ""
    breakdown: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # public place name for officers (e.g. the commonest police.uk "On or near ..."), never intel
    polygon_lonlat: tuple[tuple[float, float], ...] = ()
    # How to find it (patrol_planner.places): the police.uk place text, its district (ONS LAD name and code),
    # the nearest named OSM street and the OS grid reference; ``label`` joins them, unique within the plan.
    place: str = ""
    district: str = ""
    district_code: str = ""
    street: str = ""
    grid_ref: str = ""


@dataclass(frozen=True)
class Plan:
    """A nightly patrol plan."""

    units: tuple[UnitPlan, ...]
    hotspots: tuple[HotspotStatus, ...]
    metrics: dict[str, Any]
    provenance: dict[str, Any]
    title: str = "Patrol plan"
    timezone: str = "Europe/London"
    base_map: dict[str, Any] = field(default_factory=dict)  # optional road lines for offline maps
    #: A programme day's tasking when the plan follows a programme (``plan --programme``): ``programme``,
    #: ``date``, ``window_start``/``window_end`` (ISO local), ``dose`` and ``control``/``cancelled`` spots
    #: (``spot_id``, ``place``, ``lon``, ``lat``); empty for a plan made from hotspots alone.
    tasking: dict[str, Any] = field(default_factory=dict)
    #: What the tasking meeting added (``docs/scenarios.md``): ``tasks``, ``intel_visits``, ``exclusions``,
    #: ``sectors``, ``cover`` (per sector: points, limits and the per-minute timeline) and ``replan``;
    #: empty when the scenario has none of them.
    rules: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """A few human-readable lines."""
        lines = [f"{self.title}: {len(self.units)} units, "
                 f"{sum(len(u.stops) for u in self.units)} visits, "
                 f"harm covered {sum(u.harm_covered for u in self.units):.1f}"]
        for u in self.units:
            lines.append(f"  {u.unit_id} ({u.mode}) {len(u.stops)} stops, {u.road_m / 1000:.1f} km, "
                         f"idle {u.idle_s / 60:.0f} min")
        return "\n".join(lines)

    # --- frames for analysts ---------------------------------------------------------------------
    def stops_frame(self) -> Any:
        """One row per stop: ``unit_id``, ``mode``, ``seq``, ``hotspot_id``, ``visit_no``, ``arrive``/``depart``
        (aware datetimes), ``dwell_s``, ``travel_s`` [s], ``road_m`` [m], ``prize`` [harm], ``lon``/``lat``
        [deg] and a Point ``geometry``, EPSG:4326 (see :func:`to_geo_frame`)."""
        rows = [{"unit_id": u.unit_id, "mode": u.mode, "seq": s.seq, "hotspot_id": s.hotspot_id,
                 "visit_no": s.visit_no, "arrive": s.arrive, "depart": s.depart,
                 "dwell_s": (s.depart - s.arrive).total_seconds(), "travel_s": s.travel_s, "road_m": s.road_m,
                 "prize": s.prize, "lon": s.lon, "lat": s.lat} for u in self.units for s in u.stops]
        cols = ["unit_id", "mode", "seq", "hotspot_id", "visit_no", "arrive", "depart", "dwell_s", "travel_s",
                "road_m", "prize", "lon", "lat"]
        return to_geo_frame(rows, cols, "point")

    def routes_frame(self) -> Any:
        """One row per unit: ``unit_id``, ``mode``, ``start``/``end`` (station names), shift and return times,
        ``stops``, ``road_m`` [m], ``travel_s``/``dwell_s``/``idle_s`` [s], ``harm_covered`` [harm] and the
        whole route as a LineString ``geometry``, EPSG:4326."""
        rows = [{"unit_id": u.unit_id, "mode": u.mode, "start": u.start.name, "end": u.end.name,
                 "shift_start": u.shift_start, "shift_end": u.shift_end, "leave": u.leave,
                 "return_arrive": u.return_arrive, "stops": len(u.stops), "road_m": u.road_m,
                 "travel_s": u.travel_s, "dwell_s": u.dwell_s, "idle_s": u.idle_s, "harm_covered": u.harm_covered,
                 "coords": u.route_lonlat()} for u in self.units]
        cols = ["unit_id", "mode", "start", "end", "shift_start", "shift_end", "leave", "return_arrive", "stops",
                "road_m", "travel_s", "dwell_s", "idle_s", "harm_covered"]
        return to_geo_frame(rows, cols, "line")

    def hotspots_frame(self) -> Any:
        """One row per hotspot offered: ``hotspot_id``, ``rank``, ``score`` [harm], ``visits``, ``status``
        (``visited`` or a :class:`LeftOutReason` code), ``reason``, ``label``, ``lon``/``lat`` [deg] and the
        cell outline as a Polygon ``geometry`` (a Point when the plan has no outline), EPSG:4326."""
        rows = [{"hotspot_id": h.hotspot_id, "rank": h.rank, "score": h.score, "visits": h.visits,
                 "status": h.status, "reason": h.reason, "label": h.label, "lon": h.lon, "lat": h.lat,
                 "coords": h.polygon_lonlat} for h in self.hotspots]
        cols = ["hotspot_id", "rank", "score", "visits", "status", "reason", "label", "lon", "lat"]
        return to_geo_frame(rows, cols, "polygon")

    # --- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The documented ``plan.json`` structure (see ``docs/plan-json.md``)."""
        conv = _plain
        units = []
        for u in self.units:
            d = conv(u)
            d["id"] = d.pop("unit_id")
            d["travel_s"] = u.travel_s
            d["road_m"] = u.road_m
            d["dwell_s"] = u.dwell_s
            d["idle_s"] = u.idle_s
            d["harm_covered"] = u.harm_covered
            units.append(d)
        return {
            "schema_version": PLAN_SCHEMA_VERSION,
            "title": self.title,
            "timezone": self.timezone,
            "units": units,
            "hotspots": [conv(h) for h in self.hotspots],
            "metrics": conv(self.metrics),
            "provenance": conv(self.provenance),
            "base_map": conv(self.base_map),
            "tasking": conv(self.tasking),
            "rules": conv(self.rules),
        }

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 2) -> str:
        """Serialise to JSON (sorted keys, stable output); write it to ``path`` when given. ``indent=None`` is
        compact: the stdlib's C encoder only runs without indentation (about 3x faster, half the size), which
        a live re-plan stored by the tasking room uses; files people open stay indented."""
        from patrol_planner.jsonsafe import strict_dumps

        text = strict_dumps(self.to_dict(), what="plan.json", indent=indent, sort_keys=True, ensure_ascii=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        def dt(s: str | None) -> datetime | None:
            return None if s is None else datetime.fromisoformat(s)

        def pts(v: Any) -> tuple[tuple[float, float], ...]:
            return tuple((float(a), float(b)) for a, b in (v or ()))

        units = []
        for u in d["units"]:
            stops = tuple(
                Stop(seq=s["seq"], hotspot_id=s["hotspot_id"], visit_no=s["visit_no"], arrive=dt(s["arrive"]),
                     depart=dt(s["depart"]), lon=s["lon"], lat=s["lat"], prize=s["prize"],
                     travel_s=s["travel_s"], road_m=s["road_m"], path_lonlat=pts(s.get("path_lonlat")),
                     covers=tuple(s.get("covers") or ()), kind=s.get("kind", "hotspot"), label=s.get("label", ""))
                for s in u["stops"]
            )
            units.append(UnitPlan(
                unit_id=u["id"], mode=u["mode"], shift_start=dt(u["shift_start"]), shift_end=dt(u["shift_end"]),
                start=Station(**u["start"]), end=Station(**u["end"]), stops=stops,
                breaks=tuple(Break(dt(b["start"]), dt(b["end"])) for b in u.get("breaks", [])),
                leave=dt(u.get("leave")), return_arrive=dt(u.get("return_arrive")),
                return_path_lonlat=pts(u.get("return_path_lonlat")),
                return_travel_s=u.get("return_travel_s", 0.0), return_road_m=u.get("return_road_m", 0.0),
            ))
        hotspots = tuple(
            HotspotStatus(**{**h, "polygon_lonlat": pts(h.get("polygon_lonlat"))}) for h in d["hotspots"]
        )
        return cls(units=tuple(units), hotspots=hotspots, metrics=d.get("metrics", {}),
                   provenance=d.get("provenance", {}), title=d.get("title", "Patrol plan"),
                   timezone=d.get("timezone", "Europe/London"), base_map=d.get("base_map") or {},
                   tasking=d.get("tasking") or {}, rules=d.get("rules") or {})

    @classmethod
    def from_json(cls, path: str | Path) -> Plan:
        """Read a ``plan.json`` written by :meth:`to_json`.

        Raises
        ------
        InputFileError
            The file is missing, not JSON, or lacks a field the Plan needs.
        """
        # Imported here so that plan.py stays importable on its own in notebooks.
        from patrol_planner.errors import InputFileError

        p = Path(path)
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputFileError(f"cannot read plan file {p}: {exc.strerror}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputFileError(f"{p} is not a plan.json (not valid UTF-8 JSON: {exc})") from None
        try:
            return cls.from_dict(d)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputFileError(f"{p} is not a usable plan.json: missing or bad field {exc}") from None


#: The CRS of every coordinate in a Plan and of its frames.
PLAN_CRS = "EPSG:4326"


def to_geo_frame(rows: list[dict[str, Any]], columns: list[str], kind: str) -> Any:
    """Rows as a frame with a shapely ``geometry`` column in EPSG:4326.

    A ``geopandas.GeoDataFrame`` when geopandas is installed (a dev extra, not a dependency); else a pandas
    DataFrame whose ``attrs["crs"]`` is ``"EPSG:4326"`` (``geopandas.GeoDataFrame(df, crs=df.attrs["crs"])``
    converts it). ``kind`` is ``"point"`` (from ``lon``/``lat``), ``"line"`` or ``"polygon"`` (from each
    row's ``coords``; a polygon without outline falls back to its point).
    """
    import pandas as pd
    from shapely.geometry import LineString, Point, Polygon

    def geom(r: dict[str, Any]) -> Any:
        pts = r.get("coords") or ()
        if kind == "line" and len(pts) >= 2:
            return LineString(pts)
        if kind == "polygon" and len(pts) >= 4:
            return Polygon(pts)
        if kind == "line":
            return LineString() if not pts else Point(pts[0])
        return Point(r["lon"], r["lat"])

    df = pd.DataFrame([{c: r[c] for c in columns} for r in rows], columns=columns)
    df["geometry"] = [geom(r) for r in rows]
    try:
        import geopandas as gpd
    except ImportError:
        df.attrs["crs"] = PLAN_CRS
        return df
    return gpd.GeoDataFrame(df, geometry="geometry", crs=PLAN_CRS)

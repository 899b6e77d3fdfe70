"""The pipeline: a validated :class:`~patrol_planner.scenario_config.Scenario` in, a :class:`Plan` out.

This is the only module that knows every stage. It runs them in order::

    ingest -> HotspotModel.fit/score -> select_hotspots -> build_network -> snap + travel_matrix
           -> PatrolProblem -> solve -> validate -> Plan

and turns each stage's plain output into the next stage's plain input: hotspot cells become routing
*sites* (prize = harm score, optional prize windows from the hour-of-week profile), police stations
become routing *stations*, clock times become seconds from the earliest shift start, and the routing
result becomes a :class:`Plan` with datetimes, lon/lat and road geometry for the report stage.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from patrol_planner.errors import RoutingError, ScenarioError
from patrol_planner.plan import Break, HotspotStatus, Plan, Station, Stop, UnitPlan
from patrol_planner.scenario_config import Scenario, UnitConfig, load_scenario, parse_hhmm, parse_window

#: Stations and hotspot centres farther than this from a usable road are reported, not moved [m].
MAX_SNAP_M = 400.0
#: A prize window is only worth modelling when the hour-of-week profile departs this much from flat [-].
PROFILE_MIN_CONTRAST = 0.10
#: Bounds on an hour's prize multiplier [-]: a sparse profile must not make one hour worth ten others.
PROFILE_CLIP = (0.5, 2.0)

Progress = Callable[[str], None]

#: The messages :func:`run_plan` reports, in order (a progress bar can count them).
PIPELINE_STEPS = ("ingesting incidents", "scoring hotspots", "building road networks", "travel times",
                  "solving routes", "assembling the plan")


def repo_root() -> Path:
    """The source checkout this package runs from (where ``scenarios/`` and ``data/`` live)."""
    return Path(__file__).resolve().parents[2]


def default_scenario_path() -> Path:
    """The bundled default scenario: Rutland night-time economy."""
    for base in (Path.cwd(), repo_root()):
        p = base / "scenarios" / "rutland-night.toml"
        if p.is_file():
            return p
    raise ScenarioError("the bundled default scenario scenarios/rutland-night.toml was not found; "
                        "run from the repository root or name a scenario file")


def _tz(s: Scenario) -> ZoneInfo:
    try:
        return ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScenarioError(f"scenario {s.name!r}: timezone {s.timezone!r} is unknown (e.g. Europe/London)") from None


# ----------------------------------------------------------------------------------------------------
# Stage 1: ingest
# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ingested:
    """Incidents of a scenario: the table, the quarantine, a merged report and the files read."""

    incidents: pd.DataFrame
    quarantine: pd.DataFrame
    report: dict[str, Any]
    files: tuple[Path, ...]


def ingest_scenario(s: Scenario) -> Ingested:
    """Read every source of ``s`` into one incident table in one working CRS."""
    from patrol_planner.incidents import ingest

    groups: dict[tuple[str, str | None], list[Path]] = {}
    for src in s.data.incidents:
        fmt = None if src.format == "auto" else src.format
        mapping = src.mapping
        if mapping and Path(mapping).suffix != "":
            mapping = str(s.resolve(mapping)[0])
        groups.setdefault((fmt or "auto", mapping), []).extend(s.resolve(src.path))
    crs = s.data.crs
    results = []
    for (fmt, mapping), paths in groups.items():
        res = ingest(paths, fmt=None if fmt == "auto" else fmt, crs=crs, mapping=mapping,
                     aoi_lonlat=s.area.bbox)
        crs = res.report.crs  # every later group in the same working CRS
        results.append(res)
    incidents = pd.concat([r.incidents for r in results], ignore_index=True)
    incidents.attrs["crs"] = crs
    quarantine = pd.concat([r.quarantine for r in results], ignore_index=True)
    report: dict[str, Any] = {"rows_read": 0, "rows_loaded": 0, "rows_quarantined": 0,
                              "quarantine_reasons": {}, "categories": {}, "crs": crs, "files": []}
    for r in results:
        d = r.report.to_dict()
        for k in ("rows_read", "rows_loaded", "rows_quarantined"):
            report[k] += d[k]
        for k in ("quarantine_reasons", "categories"):
            for kk, v in d[k].items():
                report[k][kk] = report[k].get(kk, 0) + v
        report["files"].extend(d["files"])
    dup = incidents["incident_id"].duplicated()
    if dup.any():  # ids are unique within one ingest call; across groups keep the first
        incidents = incidents[~dup].reset_index(drop=True)
        incidents.attrs["crs"] = crs
    files = tuple(p for ps in groups.values() for p in ps)
    return Ingested(incidents=incidents, quarantine=quarantine, report=report, files=files)


# ----------------------------------------------------------------------------------------------------
# Stage 2: hotspots
# ----------------------------------------------------------------------------------------------------
def hotspot_model(s: Scenario) -> Any:
    """The scenario's :class:`~patrol_planner.hotspots.HotspotModel` (unfitted); unset fields keep defaults."""
    from patrol_planner.hotspots import HotspotModel, resolve_harm

    h = s.hotspots
    kw: dict[str, Any] = {}
    for name in ("cell_size_m", "half_life_days", "asb_weight", "enforcement_weight", "volume_weight",
                 "smoothing", "grid"):
        v = getattr(h, name)
        if v is not None:
            kw[name] = v
    harm: Any = h.harm
    if h.weights:
        from patrol_planner.incidents import POLICE_UK_CATEGORIES

        bad = sorted(set(h.weights) - set(POLICE_UK_CATEGORIES))
        if bad:
            raise ScenarioError(f"scenario {s.name!r}: hotspots.weights names unknown categories {bad}; "
                                f"use the police.uk types, e.g. {POLICE_UK_CATEGORIES[2]!r}")
        harm = {**dict(resolve_harm(h.harm).weights), **h.weights}
    kw["harm"] = harm
    return HotspotModel(**kw)


def patrol_relevant(incidents: pd.DataFrame, s: Scenario) -> tuple[pd.DataFrame, dict[str, int]]:
    """The records that can make a patrol hotspot, and how many of each kind were set aside.

    Records at the scenario's excluded locations (by default police.uk's "On or near Police Station" and
    "On or near Prison") and, when ``hotspots.use_intelligence`` is false, intelligence are left out.
    """
    keep = np.ones(len(incidents), dtype=bool)
    dropped: dict[str, int] = {}
    if s.hotspots.exclude_locations:
        names = {n.strip().casefold() for n in s.hotspots.exclude_locations}
        loc = incidents["location"].astype("string").str.strip().str.casefold()
        hit = loc.isin(names).fillna(False).to_numpy(bool)
        for name, n in incidents.loc[hit, "location"].value_counts().sort_index().items():
            dropped[str(name)] = int(n)
        keep &= ~hit
    if not s.hotspots.use_intelligence:
        intel = (incidents["source_kind"] == "intelligence").to_numpy(bool)
        if intel.any():
            dropped["intelligence"] = int((intel & keep).sum())
        keep &= ~intel
    out = incidents[keep].reset_index(drop=True)
    out.attrs = dict(incidents.attrs)
    return out, dropped


def default_as_of(incidents: pd.DataFrame) -> pd.Timestamp:
    """Latest end of any record's interval: plan for the night after the data ends."""
    if incidents.empty:
        raise ScenarioError("no incidents were loaded, so there is nothing to plan for (see the quarantine)")
    return pd.Timestamp(incidents["occurred_to"].max())


# ----------------------------------------------------------------------------------------------------
# Time axis
# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Clock:
    """Seconds on the routing axis <-> aware datetimes. ``t0`` is the earliest shift start."""

    t0: datetime

    def at(self, seconds: float) -> datetime:
        return self.t0 + timedelta(seconds=round(float(seconds)))

    def seconds(self, when: datetime) -> float:
        return (when - self.t0).total_seconds()


def _shift_datetimes(u: UnitConfig, night: Any, tz: ZoneInfo) -> tuple[datetime, datetime]:
    a, b = parse_window(u.shift)
    start = datetime.combine(night, a, tzinfo=tz)
    end = datetime.combine(night, b, tzinfo=tz)
    if end <= start:
        end += timedelta(days=1)
    return start, end


def _time_in_shift(hhmm: str, start: datetime, end: datetime) -> datetime:
    """The first moment at clock time ``hhmm`` at or after the shift start."""
    t = parse_hhmm(hhmm)
    cand = datetime.combine(start.date(), t, tzinfo=start.tzinfo)
    if cand < start:
        cand += timedelta(days=1)
    return cand


# ----------------------------------------------------------------------------------------------------
# The nightly plan
# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanRun:
    """Everything a plan run produced, for notebooks and tests (the CLI writes ``plan`` only)."""

    scenario: Scenario
    plan: Plan
    ingested: Ingested
    cells: pd.DataFrame
    selected: pd.DataFrame
    problem: Any
    result: Any
    timings_s: dict[str, float] = field(default_factory=dict)


def _resolve_station(ref: Any, stations: pd.DataFrame, unit_id: str, what: str) -> Station:
    if not isinstance(ref, str):
        return Station(name=ref.name, lon=float(ref.lon), lat=float(ref.lat))
    key = ref.strip().lower()
    names = stations["name"].astype(str).str.lower() if len(stations) else pd.Series([], dtype=str)
    hit = stations[names == key] if len(stations) else stations
    if len(hit) == 0 and len(stations):
        hit = stations[names.str.contains(key, regex=False)]
    if len(hit) == 0 and len(stations) and "osm_id" in stations:
        ref_ids = stations["osm_type"].astype(str) + "/" + stations["osm_id"].astype(str)
        hit = stations[ref_ids.str.lower() == key]
    if len(hit) == 0:
        known = ", ".join(repr(n) for n in stations["name"]) if len(stations) else "none in the extract"
        raise ScenarioError(f"unit {unit_id!r}: {what} {ref!r} is not a police station of the OSM extract "
                            f"(known: {known}); give a name from that list or {{name, lon, lat}}")
    row = hit.iloc[0]
    return Station(name=str(row["name"]), lon=float(row["lon"]), lat=float(row["lat"]))


def _prize_windows(profile: np.ndarray, shift_start: datetime, shift_end: datetime,
                   clock: Clock) -> list[tuple[float, float, float]]:
    """Hour blocks of the shift with their relative risk, as routing prize windows."""
    if profile.size == 0 or np.abs(profile - 1.0).max() < PROFILE_MIN_CONTRAST:
        return []
    blocks = []
    t = shift_start.replace(minute=0, second=0, microsecond=0)
    while t < shift_end:
        nxt = t + timedelta(hours=1)
        how = t.weekday() * 24 + t.hour  # Monday 00:00 = 0, local wall-clock time
        a, b = max(t, shift_start), min(nxt, shift_end)
        blocks.append((clock.seconds(a), clock.seconds(b), float(profile[how])))
        t = nxt
    # The profile only moves a cell's harm between the hours of the shift: its mean over the shift is 1,
    # so the prize of a visit stays in harm units and plans stay comparable with flat-profile ones.
    mean = float(np.mean([m for _, _, m in blocks])) if blocks else 1.0
    if not mean > 0:
        return []
    lo, hi = PROFILE_CLIP
    return [(a, b, float(np.clip(m / mean, lo, hi))) for a, b, m in blocks]


#: Readable names of the hotspot model's age bands (record age at as-of).
_AGE_LABELS = {"lt7d": "under 7 days", "7_30d": "7-30 days", "30_90d": "30-90 days", "gt90d": "over 90 days"}


def _breakdown(row: pd.Series) -> dict[str, Any]:
    """A cell's score explanation for the briefing: shares by category and by age band, public ids only."""
    own = float(row.get("score_own", row["score"])) or 1.0
    cats = {c[len("score_"):]: round(float(row[c]) / own, 3) for c in row.index
            if c.startswith("score_") and not c.startswith(("score_age_", "score_own", "score_neighbours"))
            and float(row[c]) > 0}
    ages = {_AGE_LABELS.get(c[len("score_age_"):], c[len("score_age_"):]): round(float(row[c]) / own, 3)
            for c in row.index if c.startswith("score_age_") and float(row[c]) > 0}
    ids = row.get("top_incident_ids", [])
    if isinstance(ids, str):
        ids = [i for i in ids.split(";") if i]
    return {
        "score_own": round(float(row.get("score_own", row["score"])), 3),
        "score_neighbours": round(float(row.get("score_neighbours", 0.0)), 3),
        "n_incidents": int(row.get("n_incidents", 0)),
        "n_intelligence": int(row.get("n_intelligence", 0)),
        "n_restricted_intelligence": int(row.get("n_restricted_intelligence", 0)),
        "by_category": dict(sorted(cats.items(), key=lambda kv: -kv[1])),
        "by_age": ages,
        "top_incident_ids": list(ids)[:5],
    }


def cell_labels(model: Any, incidents: pd.DataFrame, cell_ids: list[str], as_of: pd.Timestamp) -> dict[str, str]:
    """The commonest public location text of each cell's records before ``as_of`` (intelligence excluded)."""
    inc = incidents[(incidents["source_kind"] != "intelligence") & incidents["location"].notna()
                    & (incidents["occurred_from"] < as_of)]
    if inc.empty:
        return {}
    ix, iy = model.grid_.index(inc["x_m"].to_numpy(float), inc["y_m"].to_numpy(float))
    ids = pd.Series(model.grid_.cell_ids(ix, iy), index=inc.index)
    want = ids.isin(set(cell_ids))
    sub = pd.DataFrame({"cell": ids[want], "loc": inc.loc[want, "location"].astype(str).str.strip()})
    sub = sub[sub["loc"] != ""]
    if sub.empty:
        return {}
    # Most frequent text per cell; ties broken alphabetically so the label is deterministic.
    counts = sub.groupby(["cell", "loc"]).size().reset_index(name="n").sort_values(
        ["cell", "n", "loc"], ascending=[True, False, True])
    return dict(counts.drop_duplicates("cell").set_index("cell")["loc"])


def run_plan(s: Scenario, *, progress: Progress | None = None, cache_dir: str | Path | None = None) -> PlanRun:
    """Run the whole pipeline for scenario ``s`` and return the plan with its intermediate values.

    Raises
    ------
    ScenarioError, RoutingError, InputFileError, NetworkError, HotspotError
        With a message naming the culprit; the CLI turns these into one line and a non-zero exit.
    """
    from patrol_planner import network as nw
    from patrol_planner import routing as rt
    from patrol_planner.geo import to_lonlat, to_xy
    from patrol_planner.hotspots import cell_polygons_lonlat, select_hotspots
    from patrol_planner.provenance import provenance

    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    tz = _tz(s)
    if not s.units:
        raise RoutingError(f"scenario {s.name!r} has no units on duty: add at least one [[units]] table")
    if not s.data.osm:
        raise ScenarioError(f"scenario {s.name!r}: data.osm (the road network .osm.pbf) is required to plan")

    t = _time.perf_counter()
    say("ingesting incidents")
    ing = ingest_scenario(s)
    timings["ingest_s"] = _time.perf_counter() - t

    t = _time.perf_counter()
    say("scoring hotspots")
    as_of = pd.Timestamp(s.as_of) if s.as_of else default_as_of(ing.incidents)
    usable, set_aside = patrol_relevant(ing.incidents, s)
    if usable.empty:
        raise ScenarioError(f"scenario {s.name!r}: every record was set aside ({set_aside}); "
                            "check hotspots.exclude_locations and hotspots.use_intelligence")
    model = hotspot_model(s).fit(usable)
    cells = model.score(as_of)
    selected = select_hotspots(cells, top=s.hotspots.top)
    if selected.empty:
        raise ScenarioError(f"scenario {s.name!r}: no hotspot scored above zero before {as_of} "
                            "(check as_of and the area of interest)")
    night = s.night or as_of.date()
    profile = (model.hour_of_week_profile(list(selected["cell_id"]), as_of=as_of)
               if s.visits.use_time_profile else np.ones((len(selected), 168)))
    timings["hotspots_s"] = _time.perf_counter() - t

    # Clock: every time is seconds from the earliest shift start.
    shifts = {u.id: _shift_datetimes(u, night, tz) for u in s.units}
    clock = Clock(t0=min(a for a, _ in shifts.values()))

    t = _time.perf_counter()
    say("building road networks")
    osm = s.resolve(s.data.osm)[0]
    crs = ing.incidents.attrs["crs"]
    modes = sorted({u.mode for u in s.units})
    nets = {m: nw.build_network(osm, mode=m, crs=crs, cache_dir=cache_dir) for m in modes}
    stations_df = nw.police_stations(osm)
    timings["network_s"] = _time.perf_counter() - t

    t = _time.perf_counter()
    say("travel times")
    # Locations: the distinct stations first, then the hotspot centres.
    st_objs: dict[str, Station] = {}
    unit_st: dict[str, tuple[str, str]] = {}
    for u in s.units:
        a = _resolve_station(u.station, stations_df, u.id, "station")
        b = _resolve_station(u.end_station, stations_df, u.id, "end_station") if u.end_station else a
        st_objs.setdefault(a.name, a)
        st_objs.setdefault(b.name, b)
        unit_st[u.id] = (a.name, b.name)
    st_names = list(st_objs)
    st_lon = np.array([st_objs[n].lon for n in st_names])
    st_lat = np.array([st_objs[n].lat for n in st_names])
    st_x, st_y = to_xy(st_lon, st_lat, crs)
    hx, hy = selected["x_m"].to_numpy(float), selected["y_m"].to_numpy(float)
    n_st = len(st_names)
    xs = np.concatenate([st_x, hx])
    ys = np.concatenate([st_y, hy])
    nodes: dict[str, np.ndarray] = {}
    site_ok = np.ones(len(selected), dtype=bool)
    T: dict[str, np.ndarray] = {}
    D: dict[str, np.ndarray] = {}
    for m, net in nets.items():
        snap = nw.snap_points(net, xs, ys, max_snap_m=MAX_SNAP_M)
        far_st = [st_names[i] for i in range(n_st) if not snap.ok[i]]
        if far_st:
            raise RoutingError(f"station(s) {far_st} are more than {MAX_SNAP_M:g} m from any {m} road of the "
                               "extract: check the station position or the OSM file")
        site_ok &= np.asarray(snap.ok[n_st:], dtype=bool)
        node_ids = np.asarray(snap.node_ids)
        nodes[m] = node_ids
        tm, dm = nw.travel_matrix(net, node_ids)
        bad = ~np.asarray(snap.ok, dtype=bool)
        tm[bad, :] = np.inf
        tm[:, bad] = np.inf
        np.fill_diagonal(tm, 0.0)
        T[m], D[m] = tm, dm
    timings["matrix_s"] = _time.perf_counter() - t

    t = _time.perf_counter()
    say("solving routes")
    prob = rt.PatrolProblem(travel_time_s=T, distance_m=D)
    st_handle = {n: prob.add_station(i, name=n) for i, n in enumerate(st_names)}
    dwell_s = s.visits.dwell_min * 60.0
    site_ids = []
    # Prize windows span every shift of the night: the earliest start to the latest end.
    night_end = max(b for _, b in shifts.values())
    for j, row in enumerate(selected.itertuples(index=False)):
        sid = str(row.cell_id)
        site_ids.append(sid)
        if not site_ok[j]:
            continue
        wins = _prize_windows(profile[j], clock.t0, night_end, clock)
        prob.add_site(n_st + j, site_id=sid, prize=float(row.score), dwell_s=dwell_s,
                      max_visits=s.visits.max_visits, min_gap_s=s.visits.min_gap_min * 60.0,
                      repeat_factor=s.visits.repeat_factor, prize_windows=wins)
    for u in s.units:
        a, b = shifts[u.id]
        leave = clock.seconds(_time_in_shift(u.earliest_leave, a, b)) if u.earliest_leave else None
        bw = None
        if u.break_min > 0 and u.break_window:
            w0, w1 = parse_window(u.break_window)
            bs = _time_in_shift(f"{w0.hour:02d}:{w0.minute:02d}", a, b)
            be = _time_in_shift(f"{w1.hour:02d}:{w1.minute:02d}", bs, bs + timedelta(days=1))
            if be > b or bs < a:
                raise RoutingError(f"unit {u.id!r}: break_window {u.break_window} is not inside the shift {u.shift}")
            bw = (clock.seconds(bs), clock.seconds(be))
        sa, sb = unit_st[u.id]
        prob.add_unit(unit_id=u.id, mode=u.mode, start=st_handle[sa], end=st_handle[sb],
                      shift_start_s=clock.seconds(a), shift_end_s=clock.seconds(b), earliest_leave_s=leave,
                      break_s=u.break_min * 60.0, break_window_s=bw, max_radius_m=u.radius_m)
    params = rt.SolveParams(time_limit_s=s.solver.time_limit_s, seed=s.solver.seed,
                            deterministic=s.solver.deterministic, restarts=s.solver.restarts,
                            workers=s.solver.workers)
    result = rt.solve(prob, params)
    rt.validate(prob, result)
    timings["solve_s"] = _time.perf_counter() - t

    t = _time.perf_counter()
    say("assembling the plan")
    loc_of_site = {sid: n_st + j for j, sid in enumerate(site_ids)}
    sel_by_id = {sid: j for j, sid in enumerate(site_ids)}
    units_cfg = {u.id: u for u in s.units}

    def path_lonlat(m: str, la: int, lb: int) -> tuple[tuple[float, float], ...]:
        net = nets[m]
        pts = nw.route_geometry(net, int(nodes[m][la]), int(nodes[m][lb]))
        arr = np.asarray(pts, dtype=float).reshape(-1, 2)
        lo, la_ = to_lonlat(arr[:, 0], arr[:, 1], crs)
        return tuple((round(float(x), 6), round(float(y), 6)) for x, y in zip(lo, la_, strict=True))

    unit_plans = []
    for r in result.routes:
        u = units_cfg[r.unit_id]
        a, b = shifts[u.id]
        sa, sb = unit_st[u.id]
        prev = st_names.index(sa)
        stops = []
        for k, v in enumerate(r.visits, start=1):
            loc = loc_of_site[v.site_id]
            j = sel_by_id[v.site_id]
            row = selected.iloc[j]
            stops.append(Stop(seq=k, hotspot_id=v.site_id, visit_no=v.visit_no, arrive=clock.at(v.arrive_s),
                              depart=clock.at(v.depart_s), lon=round(float(row["lon"]), 6),
                              lat=round(float(row["lat"]), 6),
                              prize=round(float(row["score"]) * s.visits.repeat_factor ** (v.visit_no - 1), 4),
                              travel_s=float(v.travel_s), road_m=float(v.dist_m),
                              path_lonlat=path_lonlat(u.mode, prev, loc)))
            prev = loc
        end_loc = st_names.index(sb)
        brk = ()
        if r.break_interval_s is not None:
            brk = (Break(clock.at(r.break_interval_s[0]), clock.at(r.break_interval_s[1])),)
        unit_plans.append(UnitPlan(
            unit_id=u.id, mode=u.mode, shift_start=a, shift_end=b, start=st_objs[sa], end=st_objs[sb],
            stops=tuple(stops), breaks=brk, leave=clock.at(r.leave_s), return_arrive=clock.at(r.return_s),
            return_path_lonlat=path_lonlat(u.mode, prev, end_loc), return_travel_s=float(r.return_travel_s),
            return_road_m=float(r.return_dist_m)))

    visits_by_site: dict[str, int] = {}
    for r in result.routes:
        for v in r.visits:
            visits_by_site[v.site_id] = visits_by_site.get(v.site_id, 0) + 1
    polys = cell_polygons_lonlat(selected, crs)
    labels = cell_labels(model, usable, site_ids, as_of)
    statuses = []
    for j, row in selected.reset_index(drop=True).iterrows():
        sid = str(row["cell_id"])
        n_vis = visits_by_site.get(sid, 0)
        if not site_ok[j]:
            status, reason = "not_reachable", f"more than {MAX_SNAP_M:g} m from a usable road"
        elif n_vis:
            status, reason = "visited", ""
        else:
            status = result.unvisited.get(sid, "not_worth_it")
            reason = {"not_reachable": "no unit can reach it and get back within its shift or radius",
                      "no_time": "one visit does not fit in any unit's shift",
                      "not_worth_it": "other visits covered more harm in the time available"}.get(status, "")
        statuses.append(HotspotStatus(
            hotspot_id=sid, rank=int(row["rank"]), score=round(float(row["score"]), 4),
            lon=round(float(row["lon"]), 6), lat=round(float(row["lat"]), 6), visits=n_vis, status=status,
            reason=reason, breakdown=_breakdown(row), polygon_lonlat=tuple(tuple(p) for p in polys[j]),
            label=labels.get(sid, "")))

    # What the list could yield at most: every hotspot visited max_visits times, repeats discounted.
    series = sum(s.visits.repeat_factor ** k for k in range(s.visits.max_visits))
    harm_avail = float(selected["score"].sum()) * series
    # In harm units: each visit's base prize (score x repeat factor), before the time-of-day multiplier.
    harm_cov = sum(float(selected.iloc[sel_by_id[v.site_id]]["score"]) * s.visits.repeat_factor ** (v.visit_no - 1)
                   for r in result.routes for v in r.visits)
    harm_first = float(selected["score"].sum())
    harm_cov_first = sum(float(selected.iloc[sel_by_id[sid]]["score"]) for sid in visits_by_site)
    lines = nw.base_map_lines(nets["drive"] if "drive" in nets else next(iter(nets.values())))
    base_lines = [[(round(float(x), 5), round(float(y), 5)) for x, y in line] for line in lines]
    metrics = {
        "hotspots_offered": len(selected),
        "hotspots_visited": len(visits_by_site),
        "visits": sum(visits_by_site.values()),
        "harm_offered": round(harm_avail, 3),
        "harm_covered": round(harm_cov, 3),
        "harm_covered_time_weighted": round(float(result.prize), 3),
        "harm_first_visits_share": round(harm_cov_first / harm_first, 4) if harm_first else 0.0,
        "road_km": round(sum(up.road_m for up in unit_plans) / 1000, 2),
        "travel_min": round(sum(up.travel_s for up in unit_plans) / 60, 1),
        "idle_min": round(sum(up.idle_s for up in unit_plans) / 60, 1),
        "as_of": as_of.isoformat(),
        "crs": crs,
        "solver": {k: v for k, v in result.stats.items() if k not in ("wall_s",)},
        "reproducible": bool(s.solver.deterministic and not result.stats.get("hit_time_limit", False)),
        "ingest": {k: ing.report[k] for k in ("rows_read", "rows_loaded", "rows_quarantined",
                                              "quarantine_reasons")},
        "records_set_aside": set_aside,
    }
    params = s.model_dump(mode="json", exclude={"base_dir"})
    params["hotspot_model"] = {k: (v if isinstance(v, str | int | float | type(None)) else str(v))
                               for k, v in model.get_params().items()}
    prov = provenance([*ing.files, osm], params)
    plan = Plan(units=tuple(unit_plans), hotspots=tuple(statuses), metrics=metrics, provenance=prov,
                title=s.name, timezone=s.timezone, base_map={"lines": base_lines})
    timings["plan_s"] = _time.perf_counter() - t
    return PlanRun(scenario=s, plan=plan, ingested=ing, cells=cells, selected=selected, problem=prob,
                   result=result, timings_s=timings)


def run_scenario_file(path: str | Path | None, **kw: Any) -> PlanRun:
    """Load a scenario file (default: the bundled Rutland night) and run the plan."""
    s = load_scenario(path or default_scenario_path())
    return run_plan(s, **kw)


def run_backtest(s: Scenario) -> pd.DataFrame:
    """Backtest the scenario's hotspot settings against baselines on its incident data."""
    from patrol_planner.hotspots.backtest import backtest

    ing = ingest_scenario(s)
    model = hotspot_model(s)
    budgets = tuple(s.backtest.budgets) if s.backtest else (0.001, 0.01, 0.05)
    return backtest(ing.incidents, budgets=budgets, model_params=model.get_params())

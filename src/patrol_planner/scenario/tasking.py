"""What the tasking meeting adds to a night's plan: tasks, timed intelligence, no-go areas, sectors,
response cover and stable re-plans (``docs/scenarios.md``).

Each function turns the scenario's tables into plain routing inputs: rows of the sites table (with the
optional columns ``time_window``, ``required``, ``allowed_units``, ``blocked``, ``kind``, ``label``,
read by :func:`~patrol_planner.scenario.adapters.problem_from_sites`), road networks without the roads
of no-go areas, cover rules and re-plan bonuses on the routing problem, and the plan's ``rules`` record.
Coordinates are lon/lat [deg, EPSG:4326]; times aware datetimes, routing seconds only through the clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from patrol_planner import localtime as lt
from patrol_planner.errors import ScenarioError
from patrol_planner.scenario.config import (
    CoverConfig,
    ExclusionConfig,
    IntelVisitConfig,
    SectorConfig,
    TaskConfig,
    UnitConfig,
)

#: Shown for an intelligence-led visit whose handling code restricts it: nothing about the record.
NEUTRAL_INTEL_LABEL = "intelligence-led visit"
#: A task's window is read on the night whose earliest shift starts at ``t0``: the first time at or after
#: ``t0`` minus this, so "21:00-23:00" before a 22:00 shift is the same evening and "01:00" the next morning.
WINDOW_LOOKBACK = timedelta(hours=12)
#: Task kinds in words, for the briefing.
TASK_KINDS = {"bail_check": "bail check", "reassurance": "reassurance visit", "premises": "licensed premises",
              "other": "task"}


def _first_at_or_after(t: time, ref: datetime, tz: ZoneInfo, what: str) -> datetime:
    day = ref.astimezone(tz).date()
    for d in (day, day + timedelta(days=1)):
        cand = lt.local_moment(d, t, tz, gap="forward", what=what)
        if lt.real_s(ref, cand) >= 0:
            return cand
    raise ScenarioError(f"{what}: no time {t:%H:%M} after {ref.isoformat()}")  # cannot happen


def local_window(window: tuple[time, time], t0: datetime, tz: ZoneInfo, what: str) -> tuple[datetime, datetime]:
    """A ``HH:MM-HH:MM`` window on the night whose earliest shift starts at ``t0`` (aware, real instants)."""
    a = _first_at_or_after(window[0], t0 - WINDOW_LOOKBACK, tz, what)
    b = _first_at_or_after(window[1], a + timedelta(seconds=1), tz, what)
    return a, b


def _row(site_id: str, lon: float, lat: float, prize: float, dwell_s: float, *, window: tuple[datetime, datetime],
         required: bool, allowed: tuple[str, ...] | None, kind: str, label: str) -> dict[str, Any]:
    return {"site_id": site_id, "lon": float(lon), "lat": float(lat), "prize": float(prize), "dwell_s": dwell_s,
            "max_visits": 1, "min_gap_s": 0.0, "repeat_factor": 1.0, "prize_windows": (),
            "time_window": window, "required": required, "allowed_units": allowed, "kind": kind, "label": label}


def task_sites(tasks: Sequence[TaskConfig], units: Sequence[UnitConfig], t0: datetime, tz: ZoneInfo) -> pd.DataFrame:
    """``[[tasks]]`` as required sites: prize 0, one visit on scene wholly inside the window.

    ``time_window`` holds the window itself (aware); :func:`patrol_planner.scenario.adapters.problem_from_sites`
    makes the latest *start* the window end minus the dwell.
    """
    rows = []
    for t in tasks:
        win = local_window(t.window, t0, tz, f"task {t.id!r}: window")
        if t.unit:
            allowed: tuple[str, ...] | None = (t.unit,)
        elif t.mode:
            allowed = tuple(u.id for u in units if u.mode == t.mode)
        else:
            allowed = None
        label = f"{TASK_KINDS[t.kind]}: {t.address}" if t.address else f"{TASK_KINDS[t.kind]} {t.id}"
        rows.append(_row(t.id, t.lon, t.lat, 0.0, t.dwell_min * 60.0, window=win, required=True, allowed=allowed,
                         kind="task", label=label))
    return pd.DataFrame(rows)


def intel_sites(visits: Sequence[IntelVisitConfig], incidents: pd.DataFrame, harm: Any, dwell_min: float,
                t0: datetime, tz: ZoneInfo) -> pd.DataFrame:
    """``[[intel_visits]]`` as optional time-windowed sites, from the graded records of the incident table.

    Prize = the record's ``confidence`` (its grading, (0, 1]) times the harm weight of its category
    [harm days per record]. Ids are neutral (``intel-1``, ...); a record that may not be disseminated is
    labelled :data:`NEUTRAL_INTEL_LABEL` only, one that may shows its category.
    """
    from patrol_planner.hotspots import resolve_harm

    weights = resolve_harm(harm).weights
    intel = incidents[incidents["source_kind"] == "intelligence"].set_index("incident_id")
    rows = []
    for k, v in enumerate(visits, start=1):
        key = f"intel:{v.ref}"
        if key not in intel.index:
            raise ScenarioError(f"intel_visits: {v.ref!r} is not an intelligence record of the scenario's data "
                                "(give its intel_id; a record quarantined or outside the area cannot be used)")
        rec = intel.loc[key]
        prize = float(rec["confidence"]) * float(weights.get(str(rec["category"]), 0.0))
        label = f"intelligence: {rec['category']}" if bool(rec["disseminate"]) else NEUTRAL_INTEL_LABEL
        win = local_window(v.window, t0, tz, f"intel visit {v.ref!r}: window")
        rows.append(_row(f"intel-{k}", rec["lon"], rec["lat"], prize, (v.dwell_min or dwell_min) * 60.0, window=win,
                         required=False, allowed=None, kind="intel", label=label))
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------------
# Geography: no-go areas and sectors
# ------------------------------------------------------------------------------------------------------
def _inside(ring: Sequence[tuple[float, float]], lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    import shapely
    from shapely.geometry import Polygon

    return np.asarray(shapely.contains_xy(Polygon(ring), np.asarray(lon, float), np.asarray(lat, float)), bool)


def exclusion_periods(exclusions: Sequence[ExclusionConfig], window: tuple[datetime, datetime],
                      tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """When each no-go area is active (aware): its window on the night, or the whole patrol window."""
    out = []
    for e in exclusions:
        out.append(local_window(e.window, window[0], tz, f"exclusion {e.name!r}: window") if e.window else window)
    return out


def add_blocked(sites: pd.DataFrame, exclusions: Sequence[ExclusionConfig],
                periods: Sequence[tuple[datetime, datetime]]) -> pd.DataFrame:
    """Column ``blocked``: per site, the periods (aware) of the no-go areas it lies in."""
    blocked: list[tuple[tuple[datetime, datetime], ...]] = [() for _ in range(len(sites))]
    lon, lat = sites["lon"].to_numpy(float), sites["lat"].to_numpy(float)
    for e, per in zip(exclusions, periods, strict=True):
        for j in np.flatnonzero(_inside(e.polygon, lon, lat)):
            blocked[j] = (*blocked[j], per)
    return sites.assign(blocked=blocked)


def add_sectors(sites: pd.DataFrame, sectors: Sequence[SectorConfig], units: Sequence[UnitConfig]) -> pd.DataFrame:
    """Columns ``sector`` (the first sector holding the site, "" for none) and ``allowed_units``: a unit
    with a sector only visits sites inside it; force-wide units (no sector) visit any. A task limited to
    one unit or mode keeps that limit too."""
    if not any(u.sector for u in units):
        return sites.assign(sector=_sector_names(sites, sectors))
    lon, lat = sites["lon"].to_numpy(float), sites["lat"].to_numpy(float)
    inside = {s.name: _inside(s.polygon, lon, lat) for s in sectors}
    prior = sites["allowed_units"] if "allowed_units" in sites else pd.Series([None] * len(sites), index=sites.index)
    allowed = []
    for j, before in enumerate(prior):
        ok = tuple(u.id for u in units if u.sector is None or inside[u.sector][j])
        if before is not None and not (isinstance(before, float) and np.isnan(before)):
            ok = tuple(u for u in ok if u in before)
        allowed.append(ok)
    return sites.assign(allowed_units=allowed, sector=_sector_names(sites, sectors))


def _sector_names(sites: pd.DataFrame, sectors: Sequence[SectorConfig]) -> list[str]:
    lon, lat = sites["lon"].to_numpy(float), sites["lat"].to_numpy(float)
    names = [""] * len(sites)
    for s in reversed(sectors):  # the first listed wins where sectors overlap
        for j in np.flatnonzero(_inside(s.polygon, lon, lat)):
            names[j] = s.name
    return names


def check_tasks_in_sectors(sites: pd.DataFrame) -> None:
    """A task no unit may serve because of sectors: one line per task, naming it."""
    if "allowed_units" not in sites or "required" not in sites:
        return
    bad = [f"task {r.site_id!r} cannot be served: it lies in sector {r.sector or '(none)'!r} and no unit allowed "
           "to do it works there (a sectored unit keeps to its sector)"
           for r in sites.itertuples(index=False) if bool(r.required) and r.allowed_units == ()]
    if bad:
        from patrol_planner.errors import TaskInfeasibleError

        raise TaskInfeasibleError("\n".join(bad))


def avoid_networks(networks: Mapping[str, Any], exclusions: Sequence[ExclusionConfig]) -> dict[str, Any]:
    """Each network without the road nodes inside a no-go area with ``avoid_roads = true``.

    The roads are removed for the whole night even when the area is active for part of it (a travel
    matrix per period would be needed otherwise): routes may go round it when they need not.
    """
    rings = [e.polygon for e in exclusions if e.avoid_roads]
    if not rings:
        return dict(networks)
    from patrol_planner.network.graph import RoadNetwork

    out = {}
    for mode, net in networks.items():
        lon = np.array([net.graph.nodes[n]["lon"] for n in net.node_ids], float)
        lat = np.array([net.graph.nodes[n]["lat"] for n in net.node_ids], float)
        drop = np.zeros(len(lon), bool)
        for ring in rings:
            drop |= _inside(ring, lon, lat)
        if not drop.any():
            out[mode] = net
            continue
        g = net.graph.copy()
        g.remove_nodes_from(net.node_ids[drop].tolist())
        keep = ~drop
        out[mode] = RoadNetwork(graph=g, crs=net.crs, mode=net.mode,
                                stats={**net.stats, "avoided_nodes": int(drop.sum())},
                                node_ids=net.node_ids[keep], x_m=net.x_m[keep], y_m=net.y_m[keep])
    return out


# ------------------------------------------------------------------------------------------------------
# Cover
# ------------------------------------------------------------------------------------------------------
def cover_points(cover: CoverConfig, sectors: Sequence[SectorConfig]) -> dict[str, list[tuple[float, float]]]:
    """Sector -> cover points [deg]: the listed ones, else the sector's centre (a point inside it)."""
    from shapely.geometry import Polygon

    names = cover.sectors if cover.sectors is not None else [s.name for s in sectors]
    by_name = {s.name: s for s in sectors}
    out = {}
    for n in names:
        if n in cover.points:
            out[n] = [(float(a), float(b)) for a, b in cover.points[n]]
        else:
            poly = Polygon(by_name[n].polygon)
            c = poly.centroid if poly.contains(poly.centroid) else poly.representative_point()
            out[n] = [(float(c.x), float(c.y))]
    return out


def designate_cover_units(problem: Any, cover: CoverConfig, points: Mapping[str, list[int]],
                          units: Sequence[UnitConfig]) -> None:
    """Add one cover rule per sector to ``problem``: the sector's own units first, then force-wide ones,
    nearest to the cover point first; a unit covers at most one sector."""
    used: set[str] = set()
    within_s = cover.within_min * 60.0
    for name, locs in points.items():
        def reach(uid: str, locs: list[int] = locs) -> float:
            u = problem.unit_by_id(uid)
            T = problem.travel_time_s[u.mode]
            return float(max(max(T[u.start.location, p], T[u.end.location, p]) for p in locs))

        own = [u.id for u in units if u.sector == name and u.id not in used]
        wide = [u.id for u in units if u.sector is None and u.id not in used]
        pick = sorted(own, key=reach) + sorted((u for u in wide if reach(u) <= within_s), key=reach)
        pick = [u for u in pick if reach(u) <= within_s][:cover.min_units]
        used.update(pick)
        problem.add_cover(name=name, locations=locs, within_s=within_s, min_units=cover.min_units, unit_ids=pick)


# ------------------------------------------------------------------------------------------------------
# Stable re-plans
# ------------------------------------------------------------------------------------------------------
def add_keep_bonuses(problem: Any, previous: Any, travel_weight_per_s: float) -> int:
    """Reward keeping each (site, unit) pair of the previous plan (a :class:`~patrol_planner.plan.Plan`)
    whose unit and site are in ``problem``; the pairs go in the previous plan's order (the search starts
    from them). The bonus is the travel cost of a whole shift, so no change is made only to save travel,
    while any change that raises harm covered by more than that is. Returns how many pairs were added."""
    horizon = max(u.shift_end_s for u in problem.units) - min(u.shift_start_s for u in problem.units)
    bonus = travel_weight_per_s * horizon
    sites = {s.site_id for s in problem.sites}
    units = {u.unit_id for u in problem.units}
    n = 0
    for u in previous.units:
        if u.unit_id not in units:
            continue
        for st in u.stops:
            for sid in st.covers:
                if sid in sites and (sid, u.unit_id) not in problem.keep_bonus:
                    problem.add_keep(sid, u.unit_id, bonus)
                    n += 1
    return n


def replan_changes(previous: Any, plan_units: Sequence[Any]) -> dict[str, Any]:
    """How the new plan's stops differ from the previous plan's: per unit present in both, the (site)
    visits kept, dropped and added; units removed and new."""
    prev = {u.unit_id: [sid for st in u.stops for sid in st.covers] for u in previous.units}
    new = {u.unit_id: [sid for st in u.stops for sid in st.covers] for u in plan_units}
    kept = dropped = added = 0
    per_unit = {}
    for uid in sorted(set(prev) & set(new)):
        a, b = set(prev[uid]), set(new[uid])
        k, d, ad = len(a & b), len(a - b), len(b - a)
        kept, dropped, added = kept + k, dropped + d, added + ad
        per_unit[uid] = {"kept": k, "dropped": d, "added": ad}
    return {"stops_changed": dropped + added, "stops_kept": kept, "stops_dropped": dropped, "stops_added": added,
            "units_removed": sorted(set(prev) - set(new)), "units_new": sorted(set(new) - set(prev)),
            "per_unit": per_unit}

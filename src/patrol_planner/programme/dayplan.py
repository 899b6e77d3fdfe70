"""One programme day routed: that day's treated spots with their dose, inside the patrol window.

The hotspot step is skipped: the spots are the programme's (fixed for its whole length), and the schedule
says which are patrolled today. The rest is the nightly pipeline's own adapters
(:mod:`patrol_planner.scenario.adapters`): units on duty, the clock, snapping, the routing problem, the
solve, the independent validator, and a :class:`~patrol_planner.plan.Plan` whose ``tasking`` lists the
control spots officers must keep away from.

Two choices, and why:

- **Each unit's shift is clipped to the patrol window** (it leaves its station no earlier than the window
  opens and is back by the time it closes). Every visit then falls inside the window whatever the routing
  model does with time, which is what the design promises the evaluation.
- **A spot's routing point is a node of the road (or path) network inside the spot**, the one nearest the
  spot's centre, so an officer who goes to the stop is in the spot. A spot with no node of that network
  inside it falls back to the nearest road point and the plan says so (``spots_reached_from_outside``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from patrol_planner import localtime as lt
from patrol_planner.errors import ProgrammeError
from patrol_planner.jsonsafe import finite_or_none
from patrol_planner.plan import HotspotStatus, Plan
from patrol_planner.programme.record import Programme, read_programme
from patrol_planner.programme.tasking import day_tasking
from patrol_planner.scenario import adapters as ad
from patrol_planner.scenario import steps as st
from patrol_planner.scenario.config import Scenario

#: Repeat visits inside one day's dose are worth as much as the first: the dose is visits x minutes.
DOSE_REPEAT_FACTOR = 1.0


@dataclass(frozen=True)
class DayPlanRun:
    """A routed programme day: the plan, the sites offered and the routing values (for notebooks/tests)."""

    plan: Plan
    sites: pd.DataFrame
    routed: ad.RoutedProblem
    result: Any
    tasking: dict[str, Any]


def clip_to_window(units: tuple[ad.UnitShift, ...], window: tuple[datetime, datetime]) -> tuple[ad.UnitShift, ...]:
    """Units whose shifts are cut to the patrol window; a unit not on duty in it is an error.

    A break window is cut to the new shift; a break that no longer fits is dropped (the unit's patrol part of
    the shift is then shorter than its break rules assume), and that is left to the briefing's shift times.
    """
    w0, w1 = window
    out = []
    for u in units:
        # Compared and subtracted as instants: one tzinfo would compare wall clocks across a clock change.
        s0, s1 = max(u.shift_start, w0, key=lt.instant_key), min(u.shift_end, w1, key=lt.instant_key)
        if lt.real_s(s0, s1) <= 0:
            raise ProgrammeError(f"unit {u.unit_id}'s shift {u.shift_start:%H:%M}-{u.shift_end:%H:%M} does not "
                                 f"overlap the patrol window {w0:%H:%M}-{w1:%H:%M} of {w0:%Y-%m-%d}")
        leave = max(u.earliest_leave, s0, key=lt.instant_key) if u.earliest_leave else None
        brk, brk_s = u.break_window, u.break_s
        if brk is not None:
            b0, b1 = max(brk[0], s0, key=lt.instant_key), min(brk[1], s1, key=lt.instant_key)
            brk = (b0, b1) if lt.real_s(b0, b1) >= u.break_s else None
            brk_s = u.break_s if brk is not None else 0.0
        elif u.break_s and lt.real_s(s0, s1) < u.break_s:
            brk_s = 0.0
        out.append(replace(u, shift_start=s0, shift_end=s1, earliest_leave=leave, break_window=brk, break_s=brk_s))
    return tuple(out)


def _units_covering(s: Scenario, r: Any, window: tuple[datetime, datetime],
                    stations: pd.DataFrame) -> tuple[ad.UnitShift, ...]:
    """Each unit's shift that overlaps the window: the one starting on the window's date, or, for a window in
    the small hours (02:00-05:00), the one that started the evening before."""
    from datetime import timedelta

    today = ad.units_on_duty(s.units, window[0].date(), r.tz, stations)
    before = ad.units_on_duty(s.units, window[0].date() - timedelta(days=1), r.tz, stations)

    def overlap(u: ad.UnitShift) -> float:
        return lt.real_s(max(u.shift_start, window[0], key=lt.instant_key),
                         min(u.shift_end, window[1], key=lt.instant_key))

    return tuple(a if overlap(a) >= overlap(b) else b for a, b in zip(today, before, strict=True))


def point_inside(spot_lonlat: BaseGeometry, net: Any, crs: str) -> tuple[float, float, bool]:
    """A network node inside the spot nearest its centre ``(x_m, y_m, inside)`` [m, ``crs``].

    ``inside`` is False when no node of ``net`` lies in the spot; the spot's centre is returned then (the
    router snaps it to the nearest road).
    """
    from patrol_planner.geo import to_xy

    ring = np.asarray(spot_lonlat.exterior.coords)
    x, y = to_xy(ring[:, 0], ring[:, 1], crs)
    poly = shapely.Polygon(np.column_stack([x, y]))
    c = poly.centroid
    x0, y0, x1, y1 = poly.bounds
    near = (net.x_m >= x0) & (net.x_m <= x1) & (net.y_m >= y0) & (net.y_m <= y1)
    idx = np.flatnonzero(near)
    if len(idx):
        idx = idx[shapely.contains_xy(poly, net.x_m[idx], net.y_m[idx])]
    if not len(idx):
        return float(c.x), float(c.y), False
    j = idx[np.argmin(np.hypot(net.x_m[idx] - c.x, net.y_m[idx] - c.y))]
    return float(net.x_m[j]), float(net.y_m[j]), True


def sites_from_spots(prog: Programme, spot_ids: list[str], net: Any, crs: str, *, min_gap_s: float) -> pd.DataFrame:
    """Today's treated spots as routing sites (:data:`~patrol_planner.scenario.SITE_COLUMNS` + ``inside``).

    ``prize`` is the spot's hotspot score when the programme recorded it (so a short night keeps the most
    harmful spots), else 1; ``dwell_s`` and ``max_visits`` are the programme's dose.
    """
    from patrol_planner.geo import to_lonlat

    dose = prog.design["dose"]
    rows = []
    for sid in spot_ids:
        x, y, inside = point_inside(prog.spots[sid], net, crs)
        lon, lat = to_lonlat(np.array([x]), np.array([y]), crs)
        score = finite_or_none((prog.spot_properties[sid].get("breakdown") or {}).get("score"))
        rows.append({"site_id": sid, "lon": float(lon[0]), "lat": float(lat[0]), "x_m": x, "y_m": y,
                     "prize": float(score) if score else 1.0, "dwell_s": float(dose["minutes"]) * 60.0,
                     "max_visits": int(dose["visits"]), "min_gap_s": min_gap_s,
                     "repeat_factor": DOSE_REPEAT_FACTOR, "prize_windows": (), "inside": inside})
    return pd.DataFrame(rows, columns=[*ad.SITE_COLUMNS, "x_m", "y_m", "inside"])


def check_on_map(sites: pd.DataFrame, nets: dict[str, Any], day: date, *, osm_name: str,
                 max_snap_m: float = ad.MAX_SNAP_M) -> None:
    """Refuse a day whose treated spots cannot be snapped to every mode's network (``sites``: ``x_m``/``y_m``).

    The nightly plan leaves a far site out as ``not_reachable``; a programme's spot is a promise of a dose,
    and spots off the map nearly always mean the programme was designed for another area, so routing on
    would report "0 of N covered" as if it were a plan.

    Raises
    ------
    ProgrammeError
        Naming how many spots and which, with their distance to the network (or that they lie outside it).
    """
    from patrol_planner import network as nw

    x, y = sites["x_m"].to_numpy(float), sites["y_m"].to_numpy(float)
    far: dict[str, str] = {}
    for mode, net in nets.items():
        snap = nw.snap_points(net, x, y, max_snap_m=max_snap_m)
        outside = (x < net.x_m.min()) | (x > net.x_m.max()) | (y < net.y_m.min()) | (y > net.y_m.max())
        for j in np.flatnonzero(~np.asarray(snap.ok, dtype=bool)):
            d_m = float(snap.dist_m[j])
            where = f"{d_m / 1000:.1f} km away, outside the map" if outside[j] else f"{d_m:.0f} m from a road"
            far.setdefault(str(sites["site_id"].iloc[j]), f"{where}" + (f" ({mode})" if len(nets) > 1 else ""))
    if far:
        shown = ", ".join(f"{sid} ({why})" for sid, why in list(far.items())[:8])
        more = f"; and {len(far) - 8} more" if len(far) > 8 else ""
        raise ProgrammeError(
            f"{len(far)} of {len(sites)} spot(s) to patrol on {day.isoformat()} are more than {max_snap_m:g} m from "
            f"the road network of {osm_name}: {shown}{more}; route the programme with the scenario (data.osm) it "
            "was designed for, or record the spot-day as cancelled (programme-amend)")


def _statuses(prog: Programme, sites: pd.DataFrame, outcomes: pd.DataFrame) -> tuple[HotspotStatus, ...]:
    ranks = {sid: j + 1 for j, sid in enumerate(prog.spots)}
    frame = pd.DataFrame({"cell_id": sites["site_id"], "rank": [ranks[s] for s in sites["site_id"]],
                          "score": sites["prize"], "lon": sites["lon"], "lat": sites["lat"]})
    polys = [list(prog.spots[s].exterior.coords) for s in sites["site_id"]]
    labels = {s: str(prog.spot_properties[s].get("place", "")) for s in sites["site_id"]}
    # programmes written before spots.geojson was strict JSON hold NaN for a listed spot with no record
    breakdowns = [finite_or_none(dict(prog.spot_properties[s].get("breakdown") or {})) for s in sites["site_id"]]
    return ad.hotspot_statuses(frame, outcomes, polys, labels, breakdowns)


def plan_programme_day(s: Scenario, programme: Programme | str | Path, day: date, *,
                       cache_dir: str | Path | None = None) -> DayPlanRun:
    """Route programme day ``day`` with scenario ``s``'s units, stations, road network and solver.

    Raises
    ------
    ProgrammeError
        ``day`` outside the programme, a unit not on duty in the patrol window, no treated spot today.
    RoutingError, ScenarioError, NetworkError
        As for a nightly plan.
    """
    from patrol_planner import network as nw
    from patrol_planner import routing as rt

    prog = programme if isinstance(programme, Programme) else read_programme(programme)
    tasking = day_tasking(prog, day)
    if not tasking["treated"]:
        raise ProgrammeError(f"no spot is to be patrolled on {day.isoformat()} (all cancelled or controls): "
                             "there is nothing to route")
    r = s.resolved()
    if not s.units or r.osm is None:
        raise ProgrammeError(f"scenario {s.name!r} needs [[units]] and data.osm to route a programme day")
    crs = str(prog.design.get("crs") or "")
    if not crs:
        raise ProgrammeError(f"{prog.folder}: programme.json does not record its working CRS (design.crs)")
    window = prog.window(day)
    nets = st.build_networks(r.osm, [u.mode for u in s.units], crs=crs, cache_dir=cache_dir)
    units = clip_to_window(_units_covering(s, r, window, nw.police_stations(r.osm)), window)
    clock = ad.Clock.for_units(units)
    main_mode = max(nets, key=lambda m: sum(u.mode == m for u in units))
    sites = sites_from_spots(prog, [t["spot_id"] for t in tasking["treated"]], nets[main_mode], crs,
                             min_gap_s=r.min_gap_s)
    check_on_map(sites, nets, day, osm_name=Path(r.osm).name)
    routed = ad.problem_from_sites(sites, units, clock, nets, crs=crs)
    result = rt.solve(routed.problem, r.solve_params)
    rt.validate(routed.problem, result)
    plan = _plan(s, r, prog, day, tasking, sites, routed, result, units, clock, nets, crs)
    return DayPlanRun(plan=plan, sites=sites, routed=routed, result=result, tasking=tasking)


def _plan(s: Scenario, r: Any, prog: Programme, day: date, tasking: dict[str, Any], sites: pd.DataFrame,
          routed: ad.RoutedProblem, result: Any, units: tuple[ad.UnitShift, ...], clock: ad.Clock,
          nets: dict[str, Any], crs: str) -> Plan:
    from patrol_planner.provenance import provenance

    unit_plans = ad.unit_plans_from_result(result, routed, units, clock, nets, crs=crs)
    outcomes = ad.site_outcomes(result, routed)
    visits = outcomes.set_index("site_id")["visits"]
    dose_visits = int(prog.design["dose"]["visits"])
    metrics = {
        "programme_day": day.isoformat(), "treated_spots": len(sites),
        "treated_spots_visited": int((visits > 0).sum()),
        "treated_spots_full_dose": int((visits >= dose_visits).sum()),
        "dose_visits_planned": len(sites) * dose_visits, "visits": int(visits.sum()),
        "control_spots": len(tasking["control"]), "spots_reached_from_outside": int((~sites["inside"]).sum()),
        **ad.harm_metrics(routed.sites, result),
        "road_km": round(sum(u.road_m for u in unit_plans) / 1000, 2),
        "travel_min": round(sum(u.travel_s for u in unit_plans) / 60, 1),
        "crs": crs, "solver": {k: v for k, v in result.stats.items() if k != "wall_s"},
        **ad.reproducibility(result), "search_cut": bool(getattr(result, "search_cut", False)),
    }
    params = s.model_dump(mode="json", exclude={"base_dir"})
    params["programme"] = {"folder": str(prog.folder), "date": day.isoformat(),
                           "programme_json_sha256": _sha(prog.folder / "programme.json")}
    files = [prog.folder / n for n in ("programme.json", "schedule.csv", "spots.geojson")]
    amend = prog.folder / "amendments.csv"
    files += [amend] if amend.exists() else []
    info = {**{k: tasking[k] for k in ("date", "window_start", "window_end", "control", "cancelled")},
            "programme": prog.design.get("name") or prog.folder.name, "folder": str(prog.folder),
            "dose": {"visits": dose_visits, "minutes": float(prog.design["dose"]["minutes"])}}
    prov = provenance([*files, r.osm], params)
    # the spots were ranked when the programme was designed: that ranking is in programme.json's provenance
    prov["ran"] = ad.ran_record(result, (prog.raw.get("provenance") or {}).get("ran", {}).get("ranking"))
    return Plan(units=unit_plans, hotspots=_statuses(prog, sites, outcomes), metrics=metrics,
                provenance=prov, title=f"{s.name}: {day:%a %d %b %Y}",
                timezone=s.timezone, base_map=st.base_map(nets), tasking=info)


def _sha(path: Path) -> str:
    from patrol_planner.provenance import sha256_file

    return sha256_file(path)

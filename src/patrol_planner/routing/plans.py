"""Solver-neutral plan values: which units may serve a site, and turning per-unit schedules into a
:class:`RoutingResult` priced in floats. Every back end (and the construction) ends here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from patrol_planner.routing.params import SolveParams
from patrol_planner.routing.problem import PatrolProblem, Site, Unit
from patrol_planner.routing.result import RoutingResult, UnitRoute, Visit

#: One unit's schedule as a back end returns it (plain values, so it can cross a process boundary):
#: ``(leave_s, [(site_index, start_s), ...], return_s, break (start_s, end_s) or None)``.
UnitPlan = tuple[float, Sequence[tuple[int, float]], float, tuple[float, float] | None]


def segments(site: Site, t0: float, t1: float) -> list[tuple[float, float, float]]:
    """Cut ``[t0, t1]`` into ``(start_s, end_s, multiplier)`` pieces by the site's prize windows; the
    last piece ends one second after ``t1`` so that a visit starting at ``t1`` belongs to it."""
    if not site.prize_windows:
        return [(t0, t1 + 1.0, 1.0)]
    out: list[tuple[float, float, float]] = []
    cur = t0
    for w0, w1, m in site.prize_windows:
        if w1 <= cur or w0 > t1:
            continue
        if w0 > cur:
            out.append((cur, w0, 1.0))
        out.append((max(w0, cur), w1, m))
        cur = w1
    if cur <= t1:
        out.append((cur, t1 + 1.0, 1.0))
    return out


def eligible_units(problem: PatrolProblem, site: Site) -> list[Unit]:
    """Units that may serve ``site``: reachable, inside the radius, and one visit fits their shift."""
    return [u for u in problem.units if problem.can_reach(u, site) and problem.fits_alone(u, site)]


def left_out_reason(problem: PatrolProblem, site: Site) -> str:
    """Why a site with no visit was left out (see :class:`RoutingResult`)."""
    reach = [u for u in problem.units if problem.can_reach(u, site)]
    if not reach:
        return "not_reachable"
    if not any(problem.fits_alone(u, site) for u in reach):
        return "no_time"
    return "not_worth_it"


def build_result(problem: PatrolProblem, params: SolveParams, plans: Sequence[UnitPlan],
                 stats: dict[str, Any]) -> RoutingResult:
    """Assemble a :class:`RoutingResult` from one :data:`UnitPlan` per unit, in unit order; numbers
    visits per site by start time and prices them in floats."""
    starts: dict[int, list[float]] = {}
    for _, stops, _, _ in plans:
        for si, t in stops:
            starts.setdefault(si, []).append(t)
    order = {si: sorted(ts) for si, ts in starts.items()}
    routes = []
    for u, (leave, stops, ret, brk) in zip(problem.units, plans, strict=True):
        T, D = problem.travel_time_s[u.mode], problem.distance_m[u.mode]  # type: ignore[index]
        prev = u.start.location
        visits = []
        for si, t in stops:
            s = problem.sites[si]
            k = order[si].index(t) + 1
            visits.append(Visit(site_id=s.site_id, visit_no=k, arrive_s=t, depart_s=t + s.dwell_s,
                                prize=s.visit_prize(k, t), travel_s=float(T[prev, s.location]),
                                road_m=float(D[prev, s.location])))
            prev = s.location
        routes.append(UnitRoute(unit_id=u.unit_id, visits=tuple(visits), leave_s=leave, return_s=ret,
                                break_interval_s=brk, return_travel_s=float(T[prev, u.end.location]),
                                return_road_m=float(D[prev, u.end.location])))
    unvisited = {s.site_id: left_out_reason(problem, s) for s in problem.sites if s.index not in starts}
    prize = sum(r.prize for r in routes)
    travel = sum(r.travel_s for r in routes)
    return RoutingResult(routes=tuple(routes), unvisited=unvisited,
                         objective=prize - params.travel_weight_per_s * travel, stats=stats)


def stay_home_plan(unit: Unit, problem: PatrolProblem) -> UnitPlan:
    """The unit leaves at its earliest time and goes straight to its end station, break included."""
    leave = unit.leave_min_s
    t = float(problem.travel_time_s[unit.mode][unit.start.location, unit.end.location])
    brk = None
    ret = leave + t
    if unit.break_s > 0:
        b0 = unit.break_bounds_s[0]
        brk = (b0, b0 + unit.break_s)
        if leave <= b0 < leave + t:
            ret = leave + t + unit.break_s  # the break interrupts the trip home
        elif b0 < leave < brk[1]:
            leave, ret = brk[1], brk[1] + t  # eat before leaving
    return (leave, [], ret, brk)


def empty_result(problem: PatrolProblem, params: SolveParams, stats: dict[str, Any]) -> RoutingResult:
    """Every unit stays at its station: leaves at its earliest time and goes straight to its end."""
    return build_result(problem, params, [stay_home_plan(u, problem) for u in problem.units], stats)

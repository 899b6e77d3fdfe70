"""Solver-neutral plan values: which units may serve a site, and turning per-unit schedules into a
:class:`RoutingResult` priced in floats. Every back end (and the construction) ends here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from patrol_planner.routing.params import SolveParams
from patrol_planner.routing.problem import PatrolProblem, Site, Unit
from patrol_planner.routing.result import RoutingResult, UnitRoute, Visit

#: One unit's schedule as a back end returns it (plain values, so it can cross a process boundary):
#: ``(leave_s, [(site_index, start_s), ...], return_s, break (start_s, end_s) or None)``.
UnitPlan = tuple[float, Sequence[tuple[int, float]], float, tuple[float, float] | None]


def segments(site: Site, t0: float, t1: float) -> list[tuple[float, float, float]]:
    """Cut ``[t0, t1]`` into ``(start_s, end_s, multiplier)`` pieces by the site's prize windows; the
    last piece ends one second after ``t1`` so that a visit starting at ``t1`` belongs to it. Starts that
    would put the unit on scene while the site is blocked (``Site.blocked_s``) are cut out."""
    out = _prize_segments(site, t0, t1)
    for b0, b1 in site.blocked_s:
        # a visit starting in (b0 - dwell, b1) overlaps the blocked period; b1 itself is allowed (the
        # segments are half-open, so a start just before b0 - dwell is the latest one before it)
        lo, hi = b0 - site.dwell_s, b1
        cut: list[tuple[float, float, float]] = []
        for a, b, m in out:
            if a < lo:
                cut.append((a, min(b, lo), m))
            if b > hi:
                cut.append((max(a, hi), b, m))
        out = [(a, b, m) for a, b, m in cut if b > a]
    return out


def _prize_segments(site: Site, t0: float, t1: float) -> list[tuple[float, float, float]]:
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
    """Units that may serve ``site``: reachable, inside the radius, allowed, one visit fits their shift,
    and a designated cover unit keeps its cover going there and back."""
    return [u for u in problem.units
            if problem.can_reach(u, site) and problem.fits_alone(u, site) and problem.cover_allows(u, site)]


def _clock(t: float) -> str:
    return f"{t:g} s"


def required_problems(problem: PatrolProblem, at: Callable[[float], str] = _clock) -> list[str]:
    """One line per required site (task) that no unit can serve even with nothing else to do, saying why:
    no unit allowed (unit, mode or sector), no road, the window against the travel time from the
    nearest unit, the shift end, a cover rule or a no-go period. ``at`` formats a time [s] for the line."""
    out = []
    for s in problem.sites:
        if not s.required or eligible_units(problem, s):
            continue
        out.append(f"task {s.site_id!r} cannot be served: {_why_task(problem, s, at)}")
    return out


def _why_task(problem: PatrolProblem, s: Site, at: Callable[[float], str]) -> str:
    allowed = [u for u in problem.units if s.allowed_units is None or u.unit_id in s.allowed_units]
    if not allowed:
        return f"no unit on duty may serve it (allowed: {', '.join(sorted(s.allowed_units or ())) or 'none'})"
    reach = [u for u in allowed if problem.can_reach(u, s)]
    if not reach:
        modes = sorted({u.mode for u in allowed})
        return f"no road to it by {'/'.join(modes)} from the stations of {', '.join(u.unit_id for u in allowed)}"
    u = min(reach, key=lambda u: problem.travel_time_s[u.mode][u.start.location, s.location])
    T = problem.travel_time_s[u.mode]
    arrive = u.leave_min_s + T[u.start.location, s.location]
    if arrive > s.close_s:
        return (f"it must start by {at(s.close_s)} ({s.dwell_s / 60:.0f} min on scene inside its window) but the "
                f"nearest unit ({u.unit_id}, "
                f"{T[u.start.location, s.location] / 60:.0f} min by {u.mode}) can arrive at {at(arrive)} "
                "at the earliest")
    if not problem.fits_alone(u, s):
        start = max(arrive, s.open_s)
        if any(start < b1 and start + s.dwell_s > b0 for b0, b1 in s.blocked_s):
            return "it lies in a no-go area for the whole of its window"
        return (f"a visit from {at(start)} plus {s.dwell_s / 60:.0f} min on scene and the trip back to "
                f"{u.end.name} ends after {u.unit_id}'s shift ({at(u.shift_end_s)})")
    return f"it is too far from the cover point(s) its unit{'s' if len(reach) > 1 else ''} must stay near"


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
                         objective=prize - params.travel_weight_per_s * travel + bonuses(problem, routes),
                         stats=stats)


def bonuses(problem: PatrolProblem, routes: Sequence[UnitRoute]) -> float:
    """The objective's bonuses [prize units]: each required site served, and each (site, unit) pair of
    a previous plan kept (:attr:`PatrolProblem.keep_bonus`, counted once per pair)."""
    if not problem.keep_bonus and not any(s.required for s in problem.sites):
        return 0.0
    req = {s.site_id for s in problem.sites if s.required}
    served = {v.site_id for r in routes for v in r.visits} & req
    pairs = {(v.site_id, r.unit_id) for r in routes for v in r.visits}
    return problem.required_bonus() * len(served) + sum(problem.keep_bonus.get(p, 0.0) for p in pairs)


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

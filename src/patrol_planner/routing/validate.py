"""Check a :class:`RoutingResult` against the rules of its :class:`PatrolProblem`, in floats.

Independent of every solver: it reads only the problem's plain values and the result, recomputes each
leg from the real-valued matrices and never looks at the solver's integers, so a rounding or modelling
slip in a solver shows up here.
"""

from __future__ import annotations

import math

import numpy as np

from patrol_planner.errors import PlanValidationError
from patrol_planner.routing.problem import UNVISITED_REASONS, CoverRule, PatrolProblem, Unit
from patrol_planner.routing.result import RoutingResult, UnitRoute

#: Relative tolerance on times [-], relative to the unit's shift length.
REL_TOL = 1e-6
#: A reported leg (travel_s, road_m) must equal the matrix entry up to float noise [-], [s or m].
MATRIX_REL_TOL = 1e-9
MATRIX_ABS_TOL = 1e-6
#: Prizes are recomputed the same way, so only float noise may differ [prize units].
PRIZE_ABS_TOL = 1e-9
#: Cover is checked at every minute of its window [s].
COVER_STEP_S = 60.0


def problems_with(problem: PatrolProblem, result: RoutingResult) -> list[str]:
    """Every broken rule as one line (empty when the result is valid)."""
    errs: list[str] = []
    seen_units = [r.unit_id for r in result.routes]
    want = [u.unit_id for u in problem.units]
    if sorted(seen_units) != sorted(want):
        errs.append(f"routes are for units {seen_units}, expected each of {want} once")
    starts: dict[str, list[tuple[float, int, str]]] = {}  # site -> (start_s, visit_no, label) of its visits
    for route in result.routes:
        try:
            u = problem.unit_by_id(route.unit_id)
        except KeyError:
            continue
        errs += _route_problems(problem, u, route, starts)
    errs += _repeat_problems(problem, starts)
    errs += _unvisited_problems(problem, result, starts)
    errs += required_problems_in(problem, starts)
    errs += cover_problems(problem, result)
    return errs


def required_problems_in(problem: PatrolProblem, starts: dict[str, list[tuple[float, int, str]]]) -> list[str]:
    """Every required site (task) visited: the window and the unit are checked with every visit."""
    return [f"site {s.site_id!r}: required (a task) but not visited" for s in problem.sites
            if s.required and s.site_id not in starts]


def response_s(problem: PatrolProblem, u: Unit, route: UnitRoute, point: int, times: np.ndarray) -> np.ndarray:
    """Time [s] the unit needs to reach location ``point`` at each of ``times`` [s] (``inf`` off duty).

    Where the unit is: at its start station until it drives to its first stop; at a stop from its
    arrival until it has to leave for the next one (it waits there and leaves just in time, so a break
    or a wait on a leg is spent at the stop it left); on the road for the last ``T[A, B]`` seconds
    before each arrival, when it is at most ``arrive - t`` from ``B`` along its path (an upper bound on
    the time to ``point`` is that plus ``T[B, point]``); at its end station after returning. A unit on
    its meal break counts where it takes it (a refreshment break can be interrupted).
    """
    T = problem.travel_time_s[u.mode]
    out = np.full(times.shape, np.inf)
    on = (times >= u.shift_start_s) & (times <= u.shift_end_s)
    # waypoints: (location, arrival, leave-by) in order; the unit is at each from arrival to leave-by
    sites = {s.site_id: s for s in problem.sites}
    locs = [u.start.location] + [sites[v.site_id].location for v in route.visits] + [u.end.location]
    arrive = [u.shift_start_s] + [v.arrive_s for v in route.visits] + [route.return_s]
    resp = np.full(times.shape, np.inf)
    for k in range(len(locs)):
        loc = locs[k]
        here = T[loc, point]
        t_in = arrive[k]
        t_out = u.shift_end_s if k == len(locs) - 1 else arrive[k + 1] - T[loc, locs[k + 1]]
        at = (times >= t_in) & (times <= t_out)
        resp[at] = np.minimum(resp[at], here)
        if k + 1 < len(locs):  # driving to the next waypoint
            nxt, t_arr = locs[k + 1], arrive[k + 1]
            drv = (times >= t_out) & (times <= t_arr)
            resp[drv] = np.minimum(resp[drv], (t_arr - times[drv]) + T[nxt, point])
    out[on] = resp[on]
    return out


def cover_timeline(problem: PatrolProblem, result: RoutingResult, rule: CoverRule,
                   step_s: float = COVER_STEP_S) -> tuple[np.ndarray, np.ndarray]:
    """Minutes of the rule's window [s] and, at each, how many units reach every cover point in time."""
    w0, w1 = rule.window_s
    times = np.arange(w0, w1 + 1e-9, step_s)
    count = np.zeros(len(times), dtype=int)
    for route in result.routes:
        try:
            u = problem.unit_by_id(route.unit_id)
        except KeyError:
            continue
        worst = np.zeros(len(times))
        for p in rule.locations:
            worst = np.maximum(worst, response_s(problem, u, route, p, times))
        count += worst <= rule.within_s + REL_TOL * rule.within_s
    return times, count


def cover_problems(problem: PatrolProblem, result: RoutingResult) -> list[str]:
    """Each cover rule held at every minute of its window."""
    errs = []
    for rule in problem.covers:
        times, count = cover_timeline(problem, result, rule)
        low = np.flatnonzero(count < rule.min_units)
        if len(low):
            errs.append(f"cover {rule.name!r}: {int(count[low[0]])} unit(s) within {rule.within_s / 60:g} min at "
                        f"{times[low[0]]:g} s ({len(low)} minute(s) below {rule.min_units})")
    return errs


def _route_problems(problem: PatrolProblem, u: Unit, route: UnitRoute,
                    starts: dict[str, list[tuple[float, int, str]]]) -> list[str]:
    """One unit's shift: leave/return, each visit (reach, travel, dwell, prize), then break and legs.

    Adds each visit's start to ``starts`` for the cross-unit repeat checks.
    """
    errs: list[str] = []
    sites = {s.site_id: s for s in problem.sites}
    who = f"unit {u.unit_id!r}"
    T, D = problem.travel_time_s[u.mode], problem.distance_m[u.mode]  # type: ignore[index]
    tol = REL_TOL * max(1.0, u.shift_end_s - u.shift_start_s)
    if route.leave_s < u.leave_min_s - tol:
        errs.append(f"{who}: leaves at {route.leave_s:g} s, before its earliest {u.leave_min_s:g} s")
    if route.return_s > u.shift_end_s + tol:
        errs.append(f"{who}: returns at {route.return_s:g} s, after shift end {u.shift_end_s:g} s "
                    f"(by {route.return_s - u.shift_end_s:g} s)")
    # Gaps the unit spends between two fixed points: (from_s, to_s, travel_s, label).
    legs: list[tuple[float, float, float, str]] = []
    prev_loc, prev_t, prev_name = u.start.location, route.leave_s, f"station {u.start.name!r}"
    for n, v in enumerate(route.visits):
        s = sites.get(v.site_id)
        if s is None:
            errs.append(f"{who}: visit {n + 1} is to unknown site {v.site_id!r}")
            continue
        vw = f"{who} visit {n + 1} ({v.site_id!r})"
        if not problem.can_reach(u, s):
            errs.append(f"{vw}: site is not reachable for this unit (travel, radius, or not one of its "
                        "allowed units: sector, task unit or mode)")
        t = float(T[prev_loc, s.location])
        legs.append((prev_t, v.arrive_s, t, f"{prev_name} -> {v.site_id!r}"))
        if not math.isclose(v.travel_s, t, rel_tol=MATRIX_REL_TOL, abs_tol=MATRIX_ABS_TOL):
            errs.append(f"{vw}: travel_s {v.travel_s:g} differs from the matrix {t:g}")
        if not math.isclose(v.road_m, float(D[prev_loc, s.location]), rel_tol=MATRIX_REL_TOL, abs_tol=MATRIX_ABS_TOL):
            errs.append(f"{vw}: road_m {v.road_m:g} differs from the matrix")
        if v.depart_s - v.arrive_s < s.dwell_s - tol:
            errs.append(f"{vw}: on scene {v.depart_s - v.arrive_s:g} s, dwell_s is {s.dwell_s:g} s")
        if v.arrive_s < u.shift_start_s - tol or v.depart_s > u.shift_end_s + tol:
            errs.append(f"{vw}: [{v.arrive_s:g}, {v.depart_s:g}] s is outside the shift")
        if not s.open_s - tol <= v.arrive_s <= s.close_s + tol:
            errs.append(f"{vw}: starts at {v.arrive_s:g} s, outside the site's time window "
                        f"[{s.open_s:g}, {s.close_s:g}] s")
        for b0, b1 in s.blocked_s:
            if v.arrive_s < b1 - tol and v.arrive_s + s.dwell_s > b0 + tol:
                errs.append(f"{vw}: on scene [{v.arrive_s:g}, {v.arrive_s + s.dwell_s:g}] s while the site is "
                            f"blocked [{b0:g}, {b1:g}] s (a no-go area)")
        exp = s.visit_prize(v.visit_no, v.arrive_s)
        if not math.isclose(v.prize, exp, rel_tol=MATRIX_REL_TOL, abs_tol=PRIZE_ABS_TOL):
            errs.append(f"{vw}: prize {v.prize:g}, expected {exp:g} for visit {v.visit_no} at {v.arrive_s:g} s")
        starts.setdefault(s.site_id, []).append((v.arrive_s, v.visit_no, vw))
        prev_loc, prev_t, prev_name = s.location, v.depart_s, repr(v.site_id)
    t = float(T[prev_loc, u.end.location])
    legs.append((prev_t, route.return_s, t, f"{prev_name} -> station {u.end.name!r}"))
    if not math.isclose(route.return_travel_s, t, rel_tol=MATRIX_REL_TOL, abs_tol=MATRIX_ABS_TOL):
        errs.append(f"{who}: return_travel_s {route.return_travel_s:g} differs from the matrix {t:g}")
    leg_of_break = _break_problems(u, route, legs, tol, errs)
    for k, (f0, f1, t, label) in enumerate(legs):
        need = t + (u.break_s if k == leg_of_break else 0.0)
        if not math.isfinite(t):
            errs.append(f"{who}: leg {label} is not reachable by {u.mode}")
        elif f1 - f0 < need - tol:
            errs.append(f"{who}: leg {label} has {f1 - f0:g} s, needs {need:g} s"
                        + (" (travel + break)" if k == leg_of_break else ""))
    return errs


def _break_problems(u: Unit, route: UnitRoute, legs: list[tuple[float, float, float, str]], tol: float,
                    errs: list[str]) -> int | None:
    """Check the break (length, window, place); append to ``errs``; return the leg it is taken on, if any."""
    who = f"unit {u.unit_id!r}"
    brk = route.break_interval_s
    if u.break_s <= 0:
        if brk is not None:
            errs.append(f"{who}: has a break but break_s is 0")
        return None
    if brk is None:
        errs.append(f"{who}: has no break, needs {u.break_s:g} s")
        return None
    b0, b1 = brk
    w0, w1 = u.break_bounds_s
    if b1 - b0 < u.break_s - tol:
        errs.append(f"{who}: break lasts {b1 - b0:g} s, needs {u.break_s:g} s")
    if b0 < w0 - tol or b1 > w1 + tol:
        errs.append(f"{who}: break [{b0:g}, {b1:g}] s is outside its window [{w0:g}, {w1:g}] s")
    if b1 <= route.leave_s + tol or b0 >= route.return_s - tol:
        return None  # before leaving or after returning
    for k, (f0, f1, _, _) in enumerate(legs):
        if b0 >= f0 - tol and b1 <= f1 + tol:
            return k
    errs.append(f"{who}: break [{b0:g}, {b1:g}] s overlaps a visit or a leave/return")
    return None


def _repeat_problems(problem: PatrolProblem, starts: dict[str, list[tuple[float, int, str]]]) -> list[str]:
    """Across units: at most max_visits per site, numbered by time, starts at least min_gap_s apart."""
    errs: list[str] = []
    sites = {s.site_id: s for s in problem.sites}
    for sid, lst in starts.items():
        s = sites[sid]
        lst.sort()
        if len(lst) > s.max_visits:
            errs.append(f"site {sid!r}: {len(lst)} visits, max_visits is {s.max_visits}")
        for k, (_t, no, vw) in enumerate(lst, start=1):
            if no != k:
                errs.append(f"{vw}: numbered visit {no}, but it is visit {k} of the site by time")
        for (ta, _, va), (tb, _, vb) in zip(lst, lst[1:], strict=False):
            if tb - ta < s.min_gap_s - REL_TOL * max(1.0, s.min_gap_s):
                errs.append(f"site {sid!r}: visits start {tb - ta:g} s apart ({va}; {vb}), "
                            f"min_gap_s is {s.min_gap_s:g}")
    return errs


def _unvisited_problems(problem: PatrolProblem, result: RoutingResult,
                        starts: dict[str, list[tuple[float, int, str]]]) -> list[str]:
    """Every site is visited or listed as unvisited, with a known and true reason."""
    errs: list[str] = []
    sites = {s.site_id: s for s in problem.sites}
    for s in problem.sites:
        if s.site_id not in starts and s.site_id not in result.unvisited:
            errs.append(f"site {s.site_id!r}: neither visited nor listed as unvisited")
    for sid, why in result.unvisited.items():
        if sid not in sites:
            errs.append(f"unvisited lists unknown site {sid!r}")
            continue
        if sid in starts:
            errs.append(f"site {sid!r}: listed as unvisited ({why}) but visited")
        if why not in UNVISITED_REASONS:
            errs.append(f"site {sid!r}: unknown reason {why!r}, expected one of {UNVISITED_REASONS}")
        elif why == "not_reachable" and any(problem.can_reach(u, sites[sid]) for u in problem.units):
            errs.append(f"site {sid!r}: said not_reachable, but some unit can reach it")
    return errs


def validate(problem: PatrolProblem, result: RoutingResult) -> None:
    """Raise :class:`PlanValidationError` listing every broken rule; return ``None`` when fine.

    Checks, with a tolerance of ``REL_TOL`` times the shift length: every unit once; leave no earlier
    than allowed, return by shift end; each leg at least its real-valued travel time (plus the break if
    taken on it); dwell; the break's length, window and place (before leaving, on a leg, or after
    returning; never during a visit); reachability, foot radius and allowed units (sectors, task units);
    time windows; blocked periods (no-go areas); visit numbering, ``max_visits`` and ``min_gap_s`` across
    units; prizes (repeat factor, prize windows); the unvisited list and reasons; every required site
    (task) visited; every cover rule at every minute (:func:`cover_timeline`).
    """
    errs = problems_with(problem, result)
    if errs:
        raise PlanValidationError(f"{len(errs)} broken rule(s):\n  " + "\n  ".join(errs))

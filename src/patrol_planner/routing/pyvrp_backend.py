"""The PyVRP back end, for the problems it expresses exactly.

PyVRP (prize-collecting VRP with optional clients, several depots, time windows, service durations and
routing profiles) expresses a :class:`PatrolProblem` exactly when no site can be visited twice for a
prize, no site has prize windows and no unit has a meal break. It uses the same integer scaling as the
OR-Tools model; its plan is re-timed in floats and goes through the same validator.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from patrol_planner.routing.params import DEADLINE_SLACK_S, SolveParams
from patrol_planner.routing.plans import UnitPlan, build_result, eligible_units
from patrol_planner.routing.problem import PatrolProblem, Site
from patrol_planner.routing.result import RoutingResult
from patrol_planner.routing.scaling import Scaling

#: Arc cost standing for "this vehicle type may not use this arc": above any prize a client can carry.
FORBIDDEN_ARC_COST = 10**12
#: In deterministic mode the clock only caps a runaway PyVRP search, at this many times the budget.
RUNAWAY_CAP_FACTOR = 10


def can_express(problem: PatrolProblem) -> bool:
    """Whether PyVRP can model ``problem`` exactly (no repeat prizes, prize windows, breaks, blocked
    periods, cover rules or re-plan bonuses). Required sites (tasks) are PyVRP's ``required`` clients and
    allowed units its per-vehicle-type arcs."""
    return (all(s.max_visits == 1 or s.repeat_factor == 0 for s in problem.sites)
            and not any(s.prize_windows or s.blocked_s for s in problem.sites)
            and all(u.break_s == 0 for u in problem.units)
            and not problem.covers and not problem.keep_bonus)


def why_not(problem: PatrolProblem) -> list[str]:
    """What PyVRP cannot express in ``problem`` (empty when :func:`can_express`), for provenance."""
    why = []
    if not all(s.max_visits == 1 or s.repeat_factor == 0 for s in problem.sites):
        why.append("repeat visits")
    if any(s.prize_windows for s in problem.sites):
        why.append("prize windows")
    if any(s.blocked_s for s in problem.sites):
        why.append("no-go periods")
    if any(u.break_s > 0 for u in problem.units):
        why.append("meal breaks")
    if problem.covers:
        why.append("response cover")
    if problem.keep_bonus:
        why.append("re-plan stability bonus")
    return why


def _groups(problem: PatrolProblem) -> list[list[int]]:
    """Units that are interchangeable for PyVRP (one vehicle type each group)."""
    keys: dict[tuple[Any, ...], list[int]] = {}
    for u in problem.units:
        # units that may serve different sites (sectors, task units) are never interchangeable
        allowed = tuple(s.index for s in problem.sites if s.allowed_units is not None and u.unit_id in s.allowed_units)
        k = (u.mode, u.start.index, u.end.index, u.leave_min_s, u.shift_end_s, u.max_radius_m, allowed)
        keys.setdefault(k, []).append(u.index)
    return list(keys.values())


def _profile(problem: PatrolProblem, params: SolveParams, sc: Scaling, unit_index: int, locs: list[int],
             first_client: int, client_sites: list[int], allowed: dict[int, set[int]]) -> tuple[np.ndarray, np.ndarray]:
    """One vehicle type's (cost, duration) matrices; sites it may not serve get prohibitive arcs."""
    u = problem.units[unit_index]
    # Durations longer than several horizons can never fit a shift, whatever PyVRP adds up.
    huge = 4 * sc.horizon + 10
    T = problem.travel_time_s[u.mode][np.ix_(locs, locs)]
    dur = sc.dur_matrix(T, huge)
    cost = sc.cost_matrix(T, params.travel_weight_per_s, FORBIDDEN_ARC_COST)
    for c, si in enumerate(client_sites):
        if u.index not in allowed[si]:
            j = first_client + c
            dur[j, :] = dur[:, j] = huge
            cost[j, :] = cost[:, j] = FORBIDDEN_ARC_COST
    np.fill_diagonal(dur, 0)
    np.fill_diagonal(cost, 0)
    return cost, dur


def _client_window(site: Site, sc: Scaling) -> dict[str, int]:
    """A site's time window as PyVRP client time-window keywords (none without a window)."""
    if site.time_window_s is None:
        return {}
    return {"tw_early": sc.early(site.open_s), "tw_late": sc.late(site.close_s)}


def search(problem: PatrolProblem, params: SolveParams, sc: Scaling, budget_s: float, seed: int) -> dict[str, Any]:
    """Build and solve the PyVRP model for ``budget_s`` [s] (or, in deterministic mode,
    ``params.det_pyvrp_iterations`` iterations) with ``seed``. Returns plain values only (it may run in
    a child process): ``routes`` (site indices per unit), ``feasible``, ``iterations``, ``wall_s``."""
    import pyvrp
    from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

    t0 = time.monotonic()
    groups = _groups(problem)
    sites = [s for s in problem.sites if (s.prize > 0 or s.required) and eligible_units(problem, s)]
    allowed = {s.index: {u.index for u in eligible_units(problem, s)} for s in sites}
    st_ids = sorted({problem.units[g[0]].start.index for g in groups}
                    | {problem.units[g[0]].end.index for g in groups})
    locs = [problem.stations[i].location for i in st_ids] + [s.location for s in sites]
    depot_of = {sid: k for k, sid in enumerate(st_ids)}
    dist_m, dur_m, vtypes = [], [], []
    for g in groups:
        u = problem.units[g[0]]
        cost, dur = _profile(problem, params, sc, u.index, locs, len(st_ids), [s.index for s in sites], allowed)
        dist_m.append(cost)
        dur_m.append(dur)
        vtypes.append(pyvrp.VehicleType(num_available=len(g), start_depot=depot_of[u.start.index],
                                        end_depot=depot_of[u.end.index], tw_early=sc.early(u.leave_min_s),
                                        tw_late=sc.late(u.shift_end_s), profile=len(vtypes),
                                        unit_distance_cost=1, name=u.unit_id))
    clients = [pyvrp.Client(location=len(st_ids) + c, service_duration=sc.dur(s.dwell_s),
                            prize=sc.cost(s.prize), required=s.required, name=s.site_id,
                            **_client_window(s, sc))
               for c, s in enumerate(sites)]
    depots = [pyvrp.Depot(location=k) for k in range(len(st_ids))]
    data = pyvrp.ProblemData([pyvrp.Location(0.0, 0.0) for _ in locs], clients, depots, vtypes, dist_m, dur_m)
    stop: Any
    if params.deterministic:
        stop = MultipleCriteria([MaxIterations(params.det_pyvrp_iterations),
                                 MaxRuntime(max(budget_s, RUNAWAY_CAP_FACTOR * params.time_limit_s))])
    else:
        stop = MaxRuntime(max(DEADLINE_SLACK_S, budget_s - (time.monotonic() - t0)))
    res = pyvrp.solve(data, stop, seed=seed, collect_stats=False, display=False)
    best = res.best
    routes: list[list[int]] = [[] for _ in problem.units]
    used = {gi: 0 for gi in range(len(groups))}
    for r in best.routes():
        gi = r.vehicle_type()
        unit = groups[gi][used[gi]]
        used[gi] += 1
        routes[unit] = [sites[a.idx].index for a in r if a.is_client()]
    return {"routes": routes, "feasible": bool(best.is_feasible()), "iterations": int(res.num_iterations),
            "cost_int": int(res.cost()) if best.is_feasible() else None, "wall_s": time.monotonic() - t0,
            "seed": seed}


def to_result(out: dict[str, Any], problem: PatrolProblem,
              params: SolveParams) -> tuple[RoutingResult | None, dict[str, Any]]:
    """PyVRP's plan (from :func:`search`) re-timed in floats (earliest schedule); ``None`` when it has none."""
    info = {k: v for k, v in out.items() if k != "routes"}
    if not out["feasible"]:
        return None, info
    plans: list[UnitPlan] = []
    for u, seq in zip(problem.units, out["routes"], strict=True):
        T = problem.travel_time_s[u.mode]
        t, prev, stops = u.leave_min_s, u.start.location, []
        for si in seq:
            s = problem.sites[si]
            t = max(t + float(T[prev, s.location]), s.open_s)  # wait for the site's window to open
            stops.append((si, t))
            t += s.dwell_s
            prev = s.location
        ret = t + float(T[prev, u.end.location])
        if not math.isfinite(ret):
            return None, {**info, "error": f"unit {u.unit_id!r}: PyVRP route uses an unreachable leg"}
        plans.append((u.leave_min_s, stops, ret, None))
    return build_result(problem, params, plans, {}), info

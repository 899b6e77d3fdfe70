"""Solve a :class:`PatrolProblem` with the OR-Tools routing library (and, where it fits, PyVRP).

OR-Tools types never leave this module. See ``docs/routing.md`` for the model, the integer scaling and
the search. In short:

* one node per station used by a unit, and per site ``max_visits`` *copies*; a copy whose site has prize
  windows is split into one *variant* per time segment, each with its own time window and prize;
* each copy is an optional disjunction over its variants whose penalty is the best variant's prize; a
  variant worth less than the best carries the difference as a cost on the arcs leaving it;
* a Time dimension (travel + dwell as the transit, dwell as the node's visit time for breaks), the shift
  and the earliest leave on the start/end cumuls, the meal break as an OR-Tools break interval;
* copy ``k+1`` is active only if copy ``k`` is, and starts at least ``min_gap_s`` after it, on any unit;
* a unit only gets sites it can reach (finite travel, inside its radius) and could serve alone.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from patrol_planner.errors import NoFeasiblePlanError, RoutingError, ScalingWarning
from patrol_planner.routing.problem import PatrolProblem, Site, Unit
from patrol_planner.routing.result import RoutingResult, UnitRoute, Visit

#: Objective values beyond this risk int64 overflow inside OR-Tools (sums of arc costs and penalties).
INT_SAFE_LIMIT = 2**62
_FIRST_SOLUTIONS = ("PARALLEL_CHEAPEST_INSERTION", "LOCAL_CHEAPEST_INSERTION", "SEQUENTIAL_CHEAPEST_INSERTION",
                    "PATH_CHEAPEST_ARC", "SAVINGS", "ALL_UNPERFORMED", "BEST_INSERTION", "AUTOMATIC",
                    "GLOBAL_CHEAPEST_ARC", "LOCAL_CHEAPEST_COST_INSERTION")
_METAHEURISTICS = ("GUIDED_LOCAL_SEARCH", "SIMULATED_ANNEALING", "TABU_SEARCH", "GENERIC_TABU_SEARCH",
                   "GREEDY_DESCENT", "AUTOMATIC")


@dataclass(frozen=True)
class SolveParams:
    """How to search.

    Parameters
    ----------
    time_limit_s : float
        Wall-clock budget of the whole solve [s].
    seed : int
        Seed for every random choice (PyVRP, restarts).
    deterministic : bool
        Stop on work counters instead of the clock, so the same input and seed give the same result
        (``time_limit_s`` then only caps a runaway search; the result records whether the cap was hit).
    travel_weight_per_s : float
        Cost of one second of travel in prize units [prize/s]; keep it small so that it only breaks ties
        and shortens routes, never outweighs a visit.
    prize_resolution : float or None
        Smallest prize difference the solver distinguishes [prize units]; ``None`` = the largest prize
        times 1e-6.
    time_resolution_s : float
        One OR-Tools time tick [s]. Travel and dwell are rounded *up* to whole ticks, so any integer
        plan is feasible with the real values.
    first_solution : str
        OR-Tools first solution strategy name.
    metaheuristic : str
        OR-Tools local search metaheuristic name.
    portfolio : bool
        Also run PyVRP in a second process when it can express the problem exactly (no repeat visits,
        breaks or prize windows); the best *validated* result wins.
    restarts : bool
        After OR-Tools' local search stalls, perturb the best plan (remove a random share of visits) and
        search again from it until the budget is spent.
    det_solution_limit : int
        In deterministic mode, OR-Tools' first search stops after this many solutions.
    det_restarts : int
        In deterministic mode, the number of ruin-and-recreate restarts after the first search (a fixed
        count rather than "until the clock runs out", so the result does not depend on machine speed).
    det_restart_solutions : int
        In deterministic mode, each restart's search stops after this many solutions.
    det_pyvrp_iterations : int
        In deterministic mode, PyVRP stops after this many iterations.
    workers : int
        Processes to search with: 2 (default) forks a child for a second search on the other core
        (PyVRP when it expresses the problem, else OR-Tools with seed + 1 and another first solution);
        1 searches in this process only. Without ``fork`` (Windows, macOS spawn) the solve falls back to
        one process; in deterministic mode it then runs the second search after the first, so the plan
        is the same on every platform.
    extra : dict
        Expert knobs for experiments: ``ls_<operator>`` (bool, an OR-Tools local search operator on or
        off), ``first_share`` (share of the budget for the first GLS run, default 0.5),
        ``restart_slice_s`` (GLS time per restart [s]), ``ruin_share`` ((lo, hi) share of visits removed
        per restart), ``ortools_share`` (share of the budget for OR-Tools in the parent before PyVRP's
        second seed, when PyVRP expresses the problem; default 0.3), ``second_first_solution`` (first
        solution strategy of the second OR-Tools worker; default ``PARALLEL_CHEAPEST_INSERTION``),
        ``second_det_restarts`` (its restarts in deterministic mode; default 0).
    """

    time_limit_s: float = 10.0
    seed: int = 0
    deterministic: bool = False
    travel_weight_per_s: float = 1e-4
    prize_resolution: float | None = None
    time_resolution_s: float = 1.0
    first_solution: str = "ALL_UNPERFORMED"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    portfolio: bool = True
    restarts: bool = True
    det_solution_limit: int = 50
    det_restarts: int = 10
    det_restart_solutions: int = 30
    det_pyvrp_iterations: int = 3000
    workers: int = 2
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (self.time_limit_s > 0 and math.isfinite(self.time_limit_s)):
            raise RoutingError(f"SolveParams.time_limit_s must be a positive number, got {self.time_limit_s}")
        if not self.travel_weight_per_s >= 0:
            raise RoutingError(f"SolveParams.travel_weight_per_s must be >= 0, got {self.travel_weight_per_s}")
        if not self.time_resolution_s > 0:
            raise RoutingError(f"SolveParams.time_resolution_s must be > 0, got {self.time_resolution_s}")
        if self.prize_resolution is not None and not self.prize_resolution > 0:
            raise RoutingError(f"SolveParams.prize_resolution must be > 0, got {self.prize_resolution}")
        if not (isinstance(self.workers, int) and self.workers >= 1):
            raise RoutingError(f"SolveParams.workers must be an int >= 1, got {self.workers!r}")
        if self.first_solution not in _FIRST_SOLUTIONS:
            raise RoutingError(f"SolveParams.first_solution {self.first_solution!r} unknown; "
                               f"choose from {list(_FIRST_SOLUTIONS)}")
        if self.metaheuristic not in _METAHEURISTICS:
            raise RoutingError(f"SolveParams.metaheuristic {self.metaheuristic!r} unknown; "
                               f"choose from {list(_METAHEURISTICS)}")


# --------------------------------------------------------------------------------------------------
# Scaling: shared by every solver back end
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scaling:
    """The conversion of seconds and prizes to solver integers (see ``docs/routing.md``).

    ``ticks(t) = ceil((t - offset_s) / tick_s)`` for durations and earliest times (conservative),
    ``floor`` for latest times; ``cost = round(prize / prize_unit)``.
    """

    offset_s: float
    tick_s: float
    prize_unit: float
    horizon: int

    def dur(self, seconds: float) -> int:
        """A duration rounded up to ticks (never shorter than the real one)."""
        return int(math.ceil(seconds / self.tick_s - 1e-9))

    def early(self, t_s: float) -> int:
        """An earliest time to ticks (rounded up)."""
        return max(0, int(math.ceil((t_s - self.offset_s) / self.tick_s - 1e-9)))

    def late(self, t_s: float) -> int:
        """A latest time to ticks (rounded down)."""
        return int(math.floor((t_s - self.offset_s) / self.tick_s + 1e-9))

    def time(self, ticks: int) -> float:
        """Ticks back to an absolute time [s]."""
        return self.offset_s + ticks * self.tick_s

    def cost(self, prize: float) -> int:
        """Prize units to integer cost."""
        return int(round(prize / self.prize_unit))


def make_scaling(problem: PatrolProblem, params: SolveParams) -> Scaling:
    """Choose offsets and units; warn with :class:`ScalingWarning` when values near int64 limits."""
    offset = min(u.shift_start_s for u in problem.units)
    end = max(u.shift_end_s for u in problem.units)
    horizon = int(math.ceil((end - offset) / params.time_resolution_s))
    top = max([s.prize for s in problem.sites] + [0.0])
    unit = params.prize_resolution or (top * 1e-6 if top > 0 else 1.0)
    sc = Scaling(offset_s=offset, tick_s=params.time_resolution_s, prize_unit=unit, horizon=horizon)
    total_prize = sum(s.prize * s.max_visits * max([1.0] + [w[2] for w in s.prize_windows])
                      for s in problem.sites)
    finite = [a[np.isfinite(a)] for a in problem.travel_time_s.values()]
    max_t = max([float(f.max()) for f in finite if f.size] + [0.0])
    n_arcs = sum(s.max_visits for s in problem.sites) + 2 * len(problem.units)
    worst = total_prize / unit + n_arcs * (max_t + 1) * params.travel_weight_per_s / unit
    if worst > INT_SAFE_LIMIT or horizon > INT_SAFE_LIMIT // 4:
        warnings.warn(f"objective up to {worst:.3g} or horizon {horizon} ticks approaches the int64 limit; "
                      f"raise prize_resolution or time_resolution_s", ScalingWarning, stacklevel=3)
    if horizon + max_t / params.time_resolution_s > INT_SAFE_LIMIT // 4:
        raise RoutingError(f"time horizon {horizon} ticks overflows; raise time_resolution_s")
    return sc


# --------------------------------------------------------------------------------------------------
# Results: shared construction and classification
# --------------------------------------------------------------------------------------------------
def left_out_reason(problem: PatrolProblem, site: Site) -> str:
    """Why a site with no visit was left out (see :class:`RoutingResult`)."""
    if not any(problem.can_reach(u, site) for u in problem.units):
        return "not_reachable"
    if not any(problem.can_reach(u, site) and problem.fits_alone(u, site) for u in problem.units):
        return "no_time"
    return "not_worth_it"


def eligible_units(problem: PatrolProblem, site: Site) -> list[Unit]:
    """Units that may serve ``site``: reachable, inside the radius, and one visit fits their shift."""
    return [u for u in problem.units if problem.can_reach(u, site) and problem.fits_alone(u, site)]


def build_result(problem: PatrolProblem, params: SolveParams,
                 plans: Sequence[tuple[float, Sequence[tuple[int, float]], float, tuple[float, float] | None]],
                 stats: dict[str, Any]) -> RoutingResult:
    """Assemble a :class:`RoutingResult` from per-unit ``(leave_s, [(site_index, start_s)], return_s,
    break)`` in unit order; numbers visits per site by start time and prices them in floats."""
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


def empty_result(problem: PatrolProblem, params: SolveParams, stats: dict[str, Any]) -> RoutingResult:
    """Every unit stays at its station: leaves at its earliest time and goes straight to its end."""
    plans = []
    for u in problem.units:
        leave = u.leave_min_s
        t = float(problem.travel_time_s[u.mode][u.start.location, u.end.location])
        brk = None
        ret = leave + t
        if u.break_s > 0:
            b0 = u.break_bounds_s[0]
            brk = (b0, b0 + u.break_s)
            if leave <= b0 < leave + t:
                ret = leave + t + u.break_s  # the break interrupts the trip home
            elif b0 < leave < brk[1]:
                leave, ret = brk[1], brk[1] + t  # eat before leaving
        plans.append((leave, [], ret, brk))
    return build_result(problem, params, plans, stats)


# --------------------------------------------------------------------------------------------------
# OR-Tools
# --------------------------------------------------------------------------------------------------
def _segments(site: Site, t0: float, t1: float) -> list[tuple[float, float, float]]:
    """Cut ``[t0, t1]`` into ``(start_s, end_s, multiplier)`` pieces by the site's prize windows."""
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


@dataclass
class _Node:
    site: int  # -1 for a station
    copy: int  # 1-based visit copy
    location: int
    dwell_s: float
    prize: float
    win: tuple[int, int]  # allowed start ticks


class _OrtoolsModel:
    """The OR-Tools model of one problem; built once, searched possibly several times."""

    def __init__(self, problem: PatrolProblem, params: SolveParams, sc: Scaling) -> None:
        from ortools.constraint_solver import pywrapcp

        self.problem, self.params, self.sc = problem, params, sc
        units = problem.units
        station_ids = sorted({u.start.index for u in units} | {u.end.index for u in units})
        nodes: list[_Node] = [_Node(-1, 0, problem.stations[i].location, 0.0, 0.0, (0, sc.horizon))
                              for i in station_ids]
        st_node = {sid: n for n, sid in enumerate(station_ids)}
        self.copies: dict[tuple[int, int], list[int]] = {}  # (site, copy) -> variant nodes
        self.allowed: dict[int, list[int]] = {}
        t_end = sc.time(sc.horizon)
        for s in problem.sites:
            ok = eligible_units(problem, s)
            if not ok or s.prize <= 0:
                continue
            for k in range(1, s.max_visits + 1):
                base = s.prize * s.repeat_factor ** (k - 1)
                if base <= 0 and not s.prize_windows:
                    break
                variants = []
                for a, b, m in _segments(s, sc.offset_s, t_end):
                    lo, hi = sc.early(a), min(sc.early(b) - 1, sc.horizon)
                    if hi < lo or base * m <= 0:
                        continue
                    variants.append(len(nodes))
                    nodes.append(_Node(s.index, k, s.location, s.dwell_s, base * m, (lo, hi)))
                if not variants:
                    break
                self.copies[(s.index, k)] = variants
                self.allowed[s.index] = [u.index for u in ok]
        self.nodes = nodes
        n = len(nodes)
        starts = [st_node[u.start.index] for u in units]
        ends = [st_node[u.end.index] for u in units]
        self.manager = pywrapcp.RoutingIndexManager(n, len(units), starts, ends)
        self.routing = pywrapcp.RoutingModel(self.manager)
        m, r = self.manager, self.routing

        locs = np.array([nd.location for nd in nodes])
        dwell_t = np.array([sc.dur(nd.dwell_s) for nd in nodes], dtype=np.int64)
        # A variant worth less than its copy's best pays the difference when used, so a disjunction
        # (one penalty) can still price time-dependent prizes.
        extra = np.zeros(n, dtype=np.int64)
        for vs in self.copies.values():
            best = max(nodes[v].prize for v in vs)
            for v in vs:
                extra[v] = sc.cost(best - nodes[v].prize)
        big = sc.horizon + 1
        time_cb: dict[str, int] = {}
        cost_cb: dict[str, int] = {}
        for mode in {u.mode for u in units}:
            T = problem.travel_time_s[mode][np.ix_(locs, locs)]
            fin = np.isfinite(T)
            tt = np.full((n, n), big, dtype=np.int64)
            tt[fin] = np.ceil(T[fin] / sc.tick_s - 1e-9).astype(np.int64)
            tt = np.minimum(tt, big) + dwell_t[:, None]
            cc = np.full((n, n), 0, dtype=np.int64)
            cc[fin] = np.round(T[fin] * params.travel_weight_per_s / sc.prize_unit).astype(np.int64)
            cc[~fin] = sc.cost(big * sc.tick_s * params.travel_weight_per_s) + 1
            cc = cc + extra[:, None]
            time_cb[mode] = r.RegisterTransitMatrix(tt.tolist())
            cost_cb[mode] = r.RegisterTransitMatrix(cc.tolist())
        for u in units:
            r.SetArcCostEvaluatorOfVehicle(cost_cb[u.mode], u.index)
        r.AddDimensionWithVehicleTransits([time_cb[u.mode] for u in units], sc.horizon, sc.horizon,
                                          False, "Time")
        self.time = tdim = r.GetDimensionOrDie("Time")
        solver = r.solver()
        for u in units:
            tdim.CumulVar(r.Start(u.index)).SetRange(sc.early(u.leave_min_s), sc.late(u.shift_end_s))
            tdim.CumulVar(r.End(u.index)).SetRange(sc.early(u.leave_min_s), sc.late(u.shift_end_s))
            r.AddVariableMinimizedByFinalizer(tdim.CumulVar(r.End(u.index)))
            r.AddVariableMaximizedByFinalizer(tdim.CumulVar(r.Start(u.index)))
        self.breaks: dict[int, Any] = {}
        visit_t = [int(dwell_t[m.IndexToNode(i)]) for i in range(r.Size() + len(units))]
        for u in units:
            if u.break_s <= 0:
                continue
            b0, b1 = u.break_bounds_s
            lo, hi = sc.early(b0), sc.late(b1) - sc.dur(u.break_s)
            if hi < lo:
                raise RoutingError(f"unit {u.unit_id!r}: break_s {u.break_s:g} does not fit its window after "
                                   f"rounding to {sc.tick_s:g} s ticks")
            iv = solver.FixedDurationIntervalVar(lo, hi, sc.dur(u.break_s), False, f"break-{u.unit_id}")
            tdim.SetBreakIntervalsOfVehicle([iv], u.index, visit_t)
            self.breaks[u.index] = iv
        self.total_penalty = 0
        for (si, _k), vs in self.copies.items():
            best = max(nodes[v].prize for v in vs)
            idx = [m.NodeToIndex(v) for v in vs]
            r.AddDisjunction(idx, sc.cost(best), 1)
            self.total_penalty += sc.cost(best)
            for v, i in zip(vs, idx, strict=True):
                tdim.CumulVar(i).SetRange(*nodes[v].win)
                banned = sorted(set(range(len(units))) - set(self.allowed[si]))
                if banned:
                    r.VehicleVar(i).RemoveValues(banned)
        # Repeat visits: copy k+1 only after copy k, at least min_gap_s later, on whatever units.
        for s in problem.sites:
            gap = sc.dur(s.min_gap_s)
            for k in range(1, s.max_visits):
                a, b = self.copies.get((s.index, k)), self.copies.get((s.index, k + 1))
                if not a or not b:
                    continue
                ia = [m.NodeToIndex(v) for v in a]
                ib = [m.NodeToIndex(v) for v in b]
                solver.Add(solver.Sum([r.ActiveVar(i) for i in ib]) <= solver.Sum([r.ActiveVar(i) for i in ia]))
                big_m = sc.horizon + gap
                for i in ia:
                    for j in ib:
                        solver.Add(tdim.CumulVar(j) + big_m * (2 - r.ActiveVar(i) - r.ActiveVar(j))
                                   >= tdim.CumulVar(i) + gap)

    def search_params(self, time_limit_s: float, first: str | None = None, solution_limit: int | None = None):
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2

        p = pywrapcp.DefaultRoutingSearchParameters()
        fs = first or self.params.first_solution
        p.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, fs)
        p.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic,
                                               self.params.metaheuristic)
        p.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
        if solution_limit is not None:
            p.solution_limit = solution_limit
        from ortools.util import optional_boolean_pb2

        on, off = optional_boolean_pb2.BOOL_TRUE, optional_boolean_pb2.BOOL_FALSE
        ops = {"use_extended_swap_active": True, "use_relocate_and_make_active": True}
        ops.update({k[3:]: v for k, v in self.params.extra.items() if k.startswith("ls_")})
        for k, v in ops.items():
            setattr(p.local_search_operators, k, on if v else off)
        return p

    def decode(self, assignment: Any) -> list[tuple[float, list[tuple[int, float]], float, tuple | None]]:
        r, m, sc, tdim = self.routing, self.manager, self.sc, self.time
        plans = []
        for u in self.problem.units:
            i = r.Start(u.index)
            leave = sc.time(assignment.Value(tdim.CumulVar(i)))
            stops = []
            i = assignment.Value(r.NextVar(i))
            while not r.IsEnd(i):
                nd = self.nodes[m.IndexToNode(i)]
                stops.append((nd.site, sc.time(assignment.Value(tdim.CumulVar(i)))))
                i = assignment.Value(r.NextVar(i))
            ret = sc.time(assignment.Value(tdim.CumulVar(i)))
            brk = None
            if u.index in self.breaks:
                iv = self.breaks[u.index]
                b = sc.time(assignment.StartValue(iv))
                brk = (b, b + sc.dur(u.break_s) * sc.tick_s)
            plans.append((leave, stops, ret, brk))
        return plans

    def routes_of(self, assignment: Any) -> list[list[int]]:
        """Per unit, the routing indices of its visits."""
        r = self.routing
        out = []
        for u in self.problem.units:
            i = assignment.Value(r.NextVar(r.Start(u.index)))
            seq = []
            while not r.IsEnd(i):
                seq.append(i)
                i = assignment.Value(r.NextVar(i))
            out.append(seq)
        return out


def _search_ortools(problem: PatrolProblem, params: SolveParams, sc: Scaling,
                    deadline: float) -> tuple[list[Any] | None, dict[str, Any]]:
    """Build and search the OR-Tools model until ``deadline`` (monotonic clock) [s] or, in deterministic
    mode, the work counters. Returns plain values only (it may run in a child process): per-unit
    ``(leave_s, [(site_index, start_s)], return_s, break)`` or ``None``, and statistics."""
    t0 = time.monotonic()
    model = _OrtoolsModel(problem, params, sc)
    r = model.routing
    info: dict[str, Any] = {"nodes": len(model.nodes), "build_s": time.monotonic() - t0,
                            "total_penalty_int": model.total_penalty}
    costs: list[int] = []
    r.AddAtSolutionCallback(lambda: costs.append(r.CostVar().Value()))
    det_limit = params.det_solution_limit if params.deterministic else None
    budget = max(0.05, deadline - time.monotonic())
    # Plain GLS stalls quickly on prize-collecting problems; keep half the budget for perturbed restarts.
    first_budget = (budget * float(params.extra.get("first_share", 0.5))
                    if params.restarts and not params.deterministic else budget)
    sol = r.SolveWithParameters(model.search_params(first_budget, solution_limit=det_limit))
    info["status"] = int(r.status())
    info["seed"] = params.seed
    info["first_solution"] = params.first_solution
    if params.deterministic and time.monotonic() >= deadline - 0.05:
        info["cut_by_time_limit"] = True
    if sol is None:
        return None, info
    best = sol
    best_cost = sol.ObjectiveValue()
    info["first_objective_int"] = costs[0] if costs else best_cost
    info["restarts"] = 0
    info["restart_improvements"] = 0
    det = params.deterministic
    if (params.restarts and not det) or (det and params.det_restarts > 0):
        rng = np.random.default_rng(params.seed)
        n_restart = 0
        while (n_restart < params.det_restarts) if det else (time.monotonic() < deadline - 0.05):
            if det and time.monotonic() >= deadline - 0.05:
                info["det_restarts_cut_by_time_limit"] = info["cut_by_time_limit"] = True
                break
            seqs = model.routes_of(best)
            flat = [(ui, j) for ui, s in enumerate(seqs) for j in range(len(s))]
            if not flat:
                break
            frac = rng.uniform(*params.extra.get("ruin_share", (0.1, 0.35)))
            drop = set(rng.choice(len(flat), size=max(1, int(len(flat) * frac)), replace=False).tolist())
            dropped_copy: dict[int, int] = {}  # site -> lowest copy removed
            for c in drop:
                nd = model.nodes[model.manager.IndexToNode(seqs[flat[c][0]][flat[c][1]])]
                dropped_copy[nd.site] = min(nd.copy, dropped_copy.get(nd.site, nd.copy))
            # Removing copy k of a site must remove its later copies too (copy k+1 needs copy k).
            keep = [[i for i in s if model.nodes[model.manager.IndexToNode(i)].copy
                     < dropped_copy.get(model.nodes[model.manager.IndexToNode(i)].site, 1 << 30)]
                    for s in seqs]
            hint = r.solver().Assignment()
            if not r.RoutesToAssignment(keep, True, True, hint):
                info["restart_hint_failures"] = info.get("restart_hint_failures", 0) + 1
                if info["restart_hint_failures"] > 20:
                    break
                continue
            left = deadline - time.monotonic()
            slice_s = min(left, float(params.extra.get("restart_slice_s", max(0.3, budget * 0.1))))
            p = (model.search_params(max(0.05, left), solution_limit=params.det_restart_solutions) if det
                 else model.search_params(slice_s))
            cand = r.SolveFromAssignmentWithParameters(hint, p)
            n_restart += 1
            if cand is not None and cand.ObjectiveValue() < best_cost:
                best, best_cost = cand, cand.ObjectiveValue()
                info["restart_improvements"] += 1
        info["restarts"] = n_restart
    info["best_objective_int"] = best_cost
    info["wall_s"] = time.monotonic() - t0
    return model.decode(best), info


# --------------------------------------------------------------------------------------------------
# Portfolio: what runs where
# --------------------------------------------------------------------------------------------------
def _second_ortools_params(params: SolveParams) -> SolveParams:
    """The second OR-Tools worker: another seed and another first solution, so it explores elsewhere.

    In deterministic mode it spends its work on one long search from its own first solution
    (``extra["second_det_restarts"]`` restarts, default 0): on the bundled patrol plan the restarts of a
    search started from ``PARALLEL_CHEAPEST_INSERTION`` found nothing in 20 s, while 50 solutions of its
    first search gain 12 % of prize over the ``ALL_UNPERFORMED`` worker.
    """
    alt = str(params.extra.get("second_first_solution", "PARALLEL_CHEAPEST_INSERTION"))
    if alt == params.first_solution:
        alt = "ALL_UNPERFORMED" if params.first_solution != "ALL_UNPERFORMED" else "PARALLEL_CHEAPEST_INSERTION"
    return replace(params, seed=params.seed + 1, first_solution=alt,
                   det_restarts=int(params.extra.get("second_det_restarts", 0)))


def _pyvrp_worker(problem: PatrolProblem, params: SolveParams, sc: Scaling, deadline: float,
                  seed: int) -> dict[str, Any]:
    from patrol_planner.routing import pyvrp_solve

    out = pyvrp_solve.search(problem, params, sc, max(0.05, deadline - time.monotonic() - 0.1), seed)
    if params.deterministic and out["iterations"] < params.det_pyvrp_iterations:
        out["cut_by_time_limit"] = True
    return out


def _run_portfolio(problem: PatrolProblem, params: SolveParams, sc: Scaling, t_start: float, deadline: float,
                   report: dict[str, Any]) -> tuple[list[tuple[str, RoutingResult]], int]:
    """Run the searches and return ``[(name, result)]`` in a fixed order, and the process count.

    With ``workers >= 2`` a forked child takes the second core: PyVRP (seed ``s``) when it expresses
    the problem exactly, otherwise a second OR-Tools search (seed ``s + 1``, another first solution).
    The parent runs OR-Tools and, when PyVRP expresses the problem, then PyVRP with seed ``s + 1``
    (the OR-Tools search gets ``extra["ortools_share"]`` of the budget, default 0.3). Without fork the
    parent runs the child's search itself: after its own in deterministic mode (so the plan is the same
    on every platform), not at all otherwise (except PyVRP, which then replaces the parent's second seed).
    """
    from patrol_planner.routing import parallel, pyvrp_solve

    expr = params.portfolio and pyvrp_solve.can_express(problem)
    det = params.deterministic
    child_name = child_fn = None
    child_args: tuple[Any, ...] = ()
    if params.workers >= 2:
        if expr:
            child_name, child_fn, child_args = "pyvrp", _pyvrp_worker, (problem, params, sc, deadline, params.seed)
        else:
            child_name, child_fn = "ortools-2", _search_ortools
            child_args = (problem, _second_ortools_params(params), sc, deadline)
    pending = parallel.start(child_name, child_fn, *child_args) if child_fn is not None else None
    n_proc = 2 if pending is not None else 1

    out: dict[str, Any] = {}  # name -> (kind, raw)
    share = float(params.extra.get("ortools_share", 0.3))
    ot_deadline = deadline if (det or not expr) else t_start + share * params.time_limit_s
    out["ortools"] = ("ortools", _search_ortools(problem, params, sc, ot_deadline))
    if expr:
        if pending is not None or (det and child_fn is not None):
            out["pyvrp-2"] = ("pyvrp", _pyvrp_worker(problem, params, sc, deadline, params.seed + 1))
        else:
            out["pyvrp"] = ("pyvrp", _pyvrp_worker(problem, params, sc, deadline, params.seed))
    if child_fn is not None:
        if pending is not None:
            wait = 10 * params.time_limit_s + 30 if det else max(0.0, deadline - time.monotonic()) + 30
            raw, err = parallel.collect(pending, wait)
            if err is not None:
                report[child_name] = {"error": err}
            else:
                out[child_name] = ("pyvrp" if expr else "ortools", raw)
        elif det:  # no fork here: do the child's work in this process, for the same plan everywhere
            out[child_name] = ("pyvrp" if expr else "ortools", child_fn(*child_args))
    cands: list[tuple[str, RoutingResult]] = []
    for name in ("ortools", "ortools-2", "pyvrp", "pyvrp-2"):
        if name not in out:
            continue
        kind, raw = out[name]
        if kind == "pyvrp":
            res_pv, info = pyvrp_solve.to_result(raw, problem, params)
            report[name] = info
            if res_pv is not None:
                cands.append((name, res_pv))
        else:
            plans, info = raw
            report[name] = info
            if plans is not None:
                cands.append((name, build_result(problem, params, plans, {})))
    return cands, n_proc


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------
def solve(problem: PatrolProblem, params: SolveParams | None = None) -> RoutingResult:
    """Plan the units' shifts to collect the most prize.

    Parameters
    ----------
    problem : PatrolProblem
        The problem; checked first (:meth:`PatrolProblem.check`).
    params : SolveParams, optional
        Search settings; defaults to ``SolveParams()``.

    Returns
    -------
    RoutingResult
        The best plan found that passes :func:`patrol_planner.routing.validate.validate`.

    Raises
    ------
    RoutingError
        When the problem is malformed (the message names the unit, site or field).
    NoFeasiblePlanError
        When no solver returned a valid plan.
    """
    from patrol_planner.routing.validate import validate

    params = params or SolveParams()
    t_start = time.monotonic()
    problem.check()
    sc = make_scaling(problem, params)
    deadline = t_start + params.time_limit_s
    stats: dict[str, Any] = {"params": {k: v for k, v in asdict(params).items() if k != "extra"},
                             "portfolio": {}}
    candidates: list[tuple[str, RoutingResult]] = []
    if not problem.sites:
        res = empty_result(problem, params, {})
        candidates.append(("empty", res))
    else:
        candidates, processes = _run_portfolio(problem, params, sc, t_start, deadline, stats["portfolio"])
        stats["processes"] = processes
    valid: list[tuple[str, RoutingResult]] = []
    for name, res in candidates:
        try:
            validate(problem, res)
        except RoutingError as exc:
            stats["portfolio"].setdefault(name, {})["invalid"] = str(exc)
            continue
        stats["portfolio"].setdefault(name, {})["objective"] = res.objective
        valid.append((name, res))
    if not valid:
        raise NoFeasiblePlanError("no solver found a plan that satisfies every constraint; "
                                  f"details: {stats['portfolio']}")
    # Higher objective wins; ties go to the earlier entry (OR-Tools), so the choice is deterministic.
    name, best = max(valid, key=lambda nr: nr[1].objective)
    if params.deterministic:  # did the cap cut any work-bounded search? (then not reproducible)
        hit = any(v.get("cut_by_time_limit", False) for v in stats["portfolio"].values())
    else:
        hit = time.monotonic() >= deadline - 0.01
    stats.update(solver=name, wall_s=time.monotonic() - t_start, best_objective=best.objective,
                 status="ok", hit_time_limit=hit)
    ot = stats["portfolio"].get("ortools", {})
    if "first_objective_int" in ot:
        # prize collected minus travel cost, as OR-Tools saw it (integers, so approximate)
        stats["first_objective"] = (ot["total_penalty_int"] - ot["first_objective_int"]) * sc.prize_unit
    return RoutingResult(routes=best.routes, unvisited=best.unvisited, objective=best.objective, stats=stats)

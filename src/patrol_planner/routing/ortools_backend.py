"""The OR-Tools back end: the routing model of a :class:`PatrolProblem` and its search.

OR-Tools types never leave this module. See ``docs/routing.md`` for the model. In short:

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

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from patrol_planner.errors import RoutingError
from patrol_planner.routing.params import DEADLINE_SLACK_S, SolveParams
from patrol_planner.routing.plans import UnitPlan, eligible_units, segments
from patrol_planner.routing.problem import COVER_TOL_S, PatrolProblem
from patrol_planner.routing.scaling import Scaling

#: A time-bounded restart searches for this share of the whole budget, but at least MIN_RESTART_SLICE_S.
RESTART_SLICE_SHARE = 0.1
MIN_RESTART_SLICE_S = 0.3
#: Give up restarting after this many perturbed plans OR-Tools could not read back (should not happen).
MAX_HINT_FAILURES = 20
#: Local search operators on top of OR-Tools' defaults: the ones that grow prize-collecting routes.
EXTRA_OPERATORS = {"use_extended_swap_active": True, "use_relocate_and_make_active": True}


@dataclass
class Node:
    """One routing node: a station (``site == -1``) or one time variant of a site's visit copy."""

    site: int  # -1 for a station
    copy: int  # 1-based visit copy
    location: int
    dwell_s: float
    prize: float
    win: tuple[int, int]  # allowed start ticks


class OrtoolsModel:
    """The OR-Tools model of one problem; built once, searched possibly several times."""

    def __init__(self, problem: PatrolProblem, params: SolveParams, sc: Scaling) -> None:
        from ortools.constraint_solver import pywrapcp

        self.problem, self.params, self.sc = problem, params, sc
        units = problem.units
        self._build_nodes()
        starts = [self.station_node[u.start.index] for u in units]
        ends = [self.station_node[u.end.index] for u in units]
        self.manager = pywrapcp.RoutingIndexManager(len(self.nodes), len(units), starts, ends)
        self.routing = pywrapcp.RoutingModel(self.manager)
        dwell_t = np.array([sc.dur(nd.dwell_s) for nd in self.nodes], dtype=np.int64)
        self._add_arcs_and_time(dwell_t)
        self._add_breaks(dwell_t)
        self._add_disjunctions()
        self._add_repeat_rules()

    def _build_nodes(self) -> None:
        """Stations first, then every (site, copy) as its variants; sites no unit may serve are left out."""
        problem, sc = self.problem, self.sc
        units = problem.units
        station_ids = sorted({u.start.index for u in units} | {u.end.index for u in units})
        nodes = [Node(-1, 0, problem.stations[i].location, 0.0, 0.0, (0, sc.horizon)) for i in station_ids]
        self.station_node = {sid: n for n, sid in enumerate(station_ids)}
        self.copies: dict[tuple[int, int], list[int]] = {}  # (site, copy) -> variant nodes
        self.allowed: dict[int, list[int]] = {}
        t_end = sc.time(sc.horizon)
        req_bonus = problem.required_bonus() if any(s.required for s in problem.sites) else 0.0
        for s in problem.sites:
            ok = eligible_units(problem, s)
            if not ok or (s.prize <= 0 and not s.required):
                continue
            for k in range(1, s.max_visits + 1):
                # a task's visit is worth the required bonus: its disjunction penalty dwarfs every prize,
                # so OR-Tools drops one only when it cannot fit (the result is then checked)
                base = s.prize * s.repeat_factor ** (k - 1) + (req_bonus if s.required else 0.0)
                if base <= 0 and not s.prize_windows:
                    break
                variants = []
                for a, b, m in segments(s, sc.offset_s, t_end):
                    lo, hi = sc.early(a), min(sc.early(b) - 1, sc.horizon)
                    if s.time_window_s is not None:  # the visit must start inside the site's window
                        lo, hi = max(lo, sc.early(s.open_s)), min(hi, sc.late(s.close_s))
                    if hi < lo or base * m <= 0:
                        continue
                    variants.append(len(nodes))
                    nodes.append(Node(s.index, k, s.location, s.dwell_s, base * m, (lo, hi)))
                if not variants:
                    break
                self.copies[(s.index, k)] = variants
                self.allowed[s.index] = [u.index for u in ok]
        self.nodes = nodes

    def _add_arcs_and_time(self, dwell_t: np.ndarray) -> None:
        """Arc costs and the Time dimension, one precomputed matrix per mode (no Python callbacks)."""
        problem, params, sc, r = self.problem, self.params, self.sc, self.routing
        units, nodes = problem.units, self.nodes
        n = len(nodes)
        locs = np.array([nd.location for nd in nodes])
        # A variant worth less than its copy's best pays the difference when used, so a disjunction
        # (one penalty) can still price time-dependent prizes.
        extra = np.zeros(n, dtype=np.int64)
        for vs in self.copies.values():
            best = max(nodes[v].prize for v in vs)
            for v in vs:
                extra[v] = sc.cost(best - nodes[v].prize)
        big = sc.unreachable_ticks
        # An arc with no road costs more than the travel weight of a horizon's worth of driving.
        no_road_cost = sc.cost(big * sc.tick_s * params.travel_weight_per_s) + 1
        time_cb: dict[str | int, int] = {}
        cost_cb: dict[str | int, int] = {}
        keep_nodes = self._keep_nodes()
        for mode in {u.mode for u in units}:
            T = problem.travel_time_s[mode][np.ix_(locs, locs)]
            tt = np.minimum(sc.dur_matrix(T, big), big) + dwell_t[:, None]
            cc = sc.cost_matrix(T, params.travel_weight_per_s, no_road_cost) + extra[:, None]
            for u in units:
                # a designated cover unit may not use a leg that takes it out of reach of its cover
                # points; a re-plan's kept stop costs its bonus when another unit serves it
                need = problem.cover_need(u)
                own = [(i, b) for i, (uid, b) in keep_nodes.items() if uid != u.unit_id]
                if u.mode != mode or (need is None and not own):
                    continue
                ttu, ccu = tt.copy(), cc.copy()
                if need is not None:
                    ttu[T + need[locs][None, :] > COVER_TOL_S] = big
                for i, b in own:
                    ccu[i, :] += sc.cost(b)
                time_cb[u.index] = r.RegisterTransitMatrix(ttu.tolist())
                cost_cb[u.index] = r.RegisterTransitMatrix(ccu.tolist())
            time_cb[mode] = r.RegisterTransitMatrix(tt.tolist())
            cost_cb[mode] = r.RegisterTransitMatrix(cc.tolist())
        for u in units:
            r.SetArcCostEvaluatorOfVehicle(cost_cb.get(u.index, cost_cb[u.mode]), u.index)
        r.AddDimensionWithVehicleTransits([time_cb.get(u.index, time_cb[u.mode]) for u in units], sc.horizon,
                                          sc.horizon, False, "Time")
        self.time = tdim = r.GetDimensionOrDie("Time")
        for u in units:
            tdim.CumulVar(r.Start(u.index)).SetRange(sc.early(u.leave_min_s), sc.late(u.shift_end_s))
            tdim.CumulVar(r.End(u.index)).SetRange(sc.early(u.leave_min_s), sc.late(u.shift_end_s))
            r.AddVariableMinimizedByFinalizer(tdim.CumulVar(r.End(u.index)))
            r.AddVariableMaximizedByFinalizer(tdim.CumulVar(r.Start(u.index)))

    def _keep_nodes(self) -> dict[int, tuple[str, float]]:
        """Node -> (unit id, bonus) for the first-visit nodes of a re-plan's kept (site, unit) pairs."""
        out: dict[int, tuple[str, float]] = {}
        for (sid, uid), b in self.problem.keep_bonus.items():
            si = self.problem.site_by_id(sid).index
            for v in self.copies.get((si, 1), []):
                out[v] = (uid, b)
        return out

    def _add_breaks(self, dwell_t: np.ndarray) -> None:
        """The meal break as a fixed-duration interval; dwell is the node's visit time, so never split."""
        sc, r, m = self.sc, self.routing, self.manager
        units = self.problem.units
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
            iv = r.solver().FixedDurationIntervalVar(lo, hi, sc.dur(u.break_s), False, f"break-{u.unit_id}")
            self.time.SetBreakIntervalsOfVehicle([iv], u.index, visit_t)
            self.breaks[u.index] = iv

    def _add_disjunctions(self) -> None:
        """Each copy: at most one variant, penalty = its best prize; variant time windows; eligibility."""
        sc, r, m, nodes = self.sc, self.routing, self.manager, self.nodes
        n_units = len(self.problem.units)
        self.total_penalty = 0
        for (si, k), vs in self.copies.items():
            best = max(nodes[v].prize for v in vs)
            idx = [m.NodeToIndex(v) for v in vs]
            kept = self.problem.sites[si].site_id
            bonus = max([b for (sid, _u), b in self.problem.keep_bonus.items() if sid == kept and k == 1] + [0.0])
            r.AddDisjunction(idx, sc.cost(best + bonus), 1)
            self.total_penalty += sc.cost(best + bonus)
            banned = sorted(set(range(n_units)) - set(self.allowed[si]))
            for v, i in zip(vs, idx, strict=True):
                self.time.CumulVar(i).SetRange(*nodes[v].win)
                if banned:
                    r.VehicleVar(i).RemoveValues(banned)

    def _add_repeat_rules(self) -> None:
        """Copy k+1 only after copy k, at least min_gap_s later, on whatever units (one time axis)."""
        sc, r, m = self.sc, self.routing, self.manager
        solver, tdim = r.solver(), self.time
        for s in self.problem.sites:
            gap = sc.dur(s.min_gap_s)
            # Big-M: large enough that the row is void when either copy is inactive (cumuls <= horizon).
            big_m = sc.horizon + gap
            for k in range(1, s.max_visits):
                a, b = self.copies.get((s.index, k)), self.copies.get((s.index, k + 1))
                if not a or not b:
                    continue
                ia = [m.NodeToIndex(v) for v in a]
                ib = [m.NodeToIndex(v) for v in b]
                solver.Add(solver.Sum([r.ActiveVar(i) for i in ib]) <= solver.Sum([r.ActiveVar(i) for i in ia]))
                for i in ia:
                    for j in ib:
                        solver.Add(tdim.CumulVar(j) + big_m * (2 - r.ActiveVar(i) - r.ActiveVar(j))
                                   >= tdim.CumulVar(i) + gap)

    def search_params(self, time_limit_s: float, first: str | None = None,
                      solution_limit: int | None = None) -> Any:
        """OR-Tools search parameters: first solution, metaheuristic, limits and extra operators."""
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2
        from ortools.util import optional_boolean_pb2

        p = pywrapcp.DefaultRoutingSearchParameters()
        fs = first or self.params.first_solution
        p.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, fs)
        p.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic,
                                               self.params.metaheuristic)
        p.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
        if solution_limit is not None:
            p.solution_limit = solution_limit
        on, off = optional_boolean_pb2.BOOL_TRUE, optional_boolean_pb2.BOOL_FALSE
        ops = dict(EXTRA_OPERATORS)
        ops.update(self.params.expert.ls_operators)
        for k, v in ops.items():
            setattr(p.local_search_operators, k, on if v else off)
        return p

    def decode(self, assignment: Any) -> list[UnitPlan]:
        """An OR-Tools assignment as one :data:`UnitPlan` per unit (times from the integer cumuls)."""
        r, m, sc, tdim = self.routing, self.manager, self.sc, self.time
        plans: list[UnitPlan] = []
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
                b = sc.time(assignment.StartValue(self.breaks[u.index]))
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


def _ruined_routes(model: OrtoolsModel, seqs: list[list[int]], rng: np.random.Generator) -> list[list[int]]:
    """The routes with a random share of visits removed (and every later copy of a removed site)."""
    params = model.params
    flat = [(ui, j) for ui, s in enumerate(seqs) for j in range(len(s))]
    frac = rng.uniform(*params.expert.ruin_share)
    drop = set(rng.choice(len(flat), size=max(1, int(len(flat) * frac)), replace=False).tolist())
    node_of = model.manager.IndexToNode
    dropped_copy: dict[int, int] = {}  # site -> lowest copy removed
    for c in drop:
        nd = model.nodes[node_of(seqs[flat[c][0]][flat[c][1]])]
        dropped_copy[nd.site] = min(nd.copy, dropped_copy.get(nd.site, nd.copy))
    # Removing copy k of a site must remove its later copies too (copy k+1 needs copy k).
    return [[i for i in s if model.nodes[node_of(i)].copy < dropped_copy.get(model.nodes[node_of(i)].site, 1 << 30)]
            for s in seqs]


def _restart(model: OrtoolsModel, best: Any, best_cost: int, deadline: float, budget: float,
             info: dict[str, Any]) -> tuple[Any, int]:
    """Ruin-and-recreate restarts around the best assignment; returns the best assignment and its cost."""
    params, r = model.params, model.routing
    det = params.deterministic
    rng = np.random.default_rng(params.seed)
    n_restart = 0
    while (n_restart < params.restarts) if det else (time.monotonic() < deadline - DEADLINE_SLACK_S):
        if det and time.monotonic() >= deadline - DEADLINE_SLACK_S:
            info["det_restarts_cut_by_time_limit"] = info["cut_by_time_limit"] = True
            break
        seqs = model.routes_of(best)
        if not any(seqs):
            break
        keep = _ruined_routes(model, seqs, rng)
        hint = r.solver().Assignment()
        if not r.RoutesToAssignment(keep, True, True, hint):
            info["restart_hint_failures"] = info.get("restart_hint_failures", 0) + 1
            if info["restart_hint_failures"] > MAX_HINT_FAILURES:
                break
            continue
        left = deadline - time.monotonic()
        slice_s = min(left, params.expert.restart_slice_s or max(MIN_RESTART_SLICE_S, budget * RESTART_SLICE_SHARE))
        p = (model.search_params(max(DEADLINE_SLACK_S, left), solution_limit=params.det_restart_solutions)
             if det else model.search_params(slice_s))
        cand = r.SolveFromAssignmentWithParameters(hint, p)
        n_restart += 1
        if cand is not None and cand.ObjectiveValue() < best_cost:
            best, best_cost = cand, cand.ObjectiveValue()
            info["restart_improvements"] += 1
    info["restarts"] = n_restart
    return best, best_cost


def search(problem: PatrolProblem, params: SolveParams, sc: Scaling,
           deadline: float) -> tuple[list[UnitPlan] | None, dict[str, Any]]:
    """Build and search the OR-Tools model until ``deadline`` (monotonic clock) [s] or, in deterministic
    mode, the work counters. Returns plain values only (it may run in a child process): one
    :data:`UnitPlan` per unit or ``None``, and statistics."""
    t0 = time.monotonic()
    model = OrtoolsModel(problem, params, sc)
    r = model.routing
    info: dict[str, Any] = {"nodes": len(model.nodes), "build_s": time.monotonic() - t0,
                            "total_penalty_int": model.total_penalty}
    costs: list[int] = []
    r.AddAtSolutionCallback(lambda: costs.append(r.CostVar().Value()))
    det = params.deterministic
    det_limit = params.det_solution_limit if det else None
    budget = max(DEADLINE_SLACK_S, deadline - time.monotonic())
    first_budget = (budget * params.expert.first_share
                    if params.restarts > 0 and not det else budget)
    sol = r.SolveWithParameters(model.search_params(first_budget, solution_limit=det_limit))
    info["status"] = int(r.status())
    info["seed"] = params.seed
    info["first_solution"] = params.first_solution
    if det and time.monotonic() >= deadline - DEADLINE_SLACK_S:
        info["cut_by_time_limit"] = True
    if sol is None:
        return None, info
    best, best_cost = sol, sol.ObjectiveValue()
    info["first_objective_int"] = costs[0] if costs else best_cost
    info["restarts"] = 0
    info["restart_improvements"] = 0
    if params.restarts > 0:
        best, best_cost = _restart(model, best, best_cost, deadline, budget, info)
    info["best_objective_int"] = best_cost
    info["wall_s"] = time.monotonic() - t0
    return model.decode(best), info

"""The routing entry point: :func:`solve` checks the problem, runs the portfolio and returns the best
plan that passes the independent validator. See ``docs/routing.md``."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from patrol_planner.errors import NoFeasiblePlanError, RoutingError, TaskInfeasibleError
from patrol_planner.routing import portfolio
from patrol_planner.routing.params import ExpertOptions, SolveParams
from patrol_planner.routing.plans import (
    build_result,
    eligible_units,
    empty_result,
    left_out_reason,
    required_problems,
)
from patrol_planner.routing.problem import PatrolProblem
from patrol_planner.routing.result import RoutingResult
from patrol_planner.routing.scaling import INT_SAFE_LIMIT, Scaling, make_scaling
from patrol_planner.routing.validate import validate

__all__ = ["INT_SAFE_LIMIT", "Scaling", "SolveParams", "build_result", "eligible_units", "empty_result",
           "failed_searches", "left_out_reason", "make_scaling", "required_problems", "search_record", "solve"]

#: A time-bounded search that ends this close to its deadline [s] counts as cut by it.
HIT_LIMIT_SLACK_S = 0.01


def _valid_candidates(problem: PatrolProblem, candidates: list[tuple[str, RoutingResult]],
                      portfolio_stats: dict[str, Any]) -> list[tuple[str, RoutingResult]]:
    """The solvers' plans that serve every task and pass the independent validator (why each other one is out
    goes into ``portfolio_stats``); raises when none is left, naming the tasks that could not all be served."""
    valid: list[tuple[str, RoutingResult]] = []
    required = {s.site_id for s in problem.sites if s.required}
    missing_best: set[str] | None = None
    for name, res in candidates:
        missing = required - {v.site_id for r in res.routes for v in r.visits}
        if missing:  # a task dropped: this plan is out, whatever else it does well
            portfolio_stats.setdefault(name, {})["tasks_missing"] = sorted(missing)
            if missing_best is None or len(missing) < len(missing_best):
                missing_best = missing
            continue
        try:
            validate(problem, res)
        except RoutingError as exc:
            portfolio_stats.setdefault(name, {})["invalid"] = str(exc)
            continue
        portfolio_stats.setdefault(name, {})["objective"] = res.objective
        valid.append((name, res))
    if not valid and missing_best:
        raise TaskInfeasibleError("\n".join(
            f"task {sid!r} cannot be served: each task fits alone, but not together with the other tasks "
            "(their windows, travel and the units' shifts clash)" for sid in sorted(missing_best)))
    if not valid:
        raise NoFeasiblePlanError("no solver found a plan that satisfies every constraint; "
                                  f"details: {portfolio_stats}")
    return valid


def solve(problem: PatrolProblem, params: SolveParams | None = None) -> RoutingResult:
    """Plan the units' shifts to collect the most prize.

    Parameters
    ----------
    problem : PatrolProblem
        The problem; checked first (:meth:`PatrolProblem.check`).
    params : SolveParams, optional
        Search settings; defaults to ``SolveParams()`` (deterministic, 30 s cap, as a scenario).

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
    params = params or SolveParams()
    t_start = time.monotonic()
    problem.check()
    bad = required_problems(problem)
    if bad:
        raise TaskInfeasibleError("\n".join(bad))
    sc = make_scaling(problem, params)
    deadline = t_start + params.time_limit_s
    # the expert options only when set: the record of an ordinary run stays as short as it was
    stats: dict[str, Any] = {"params": {k: v for k, v in asdict(params).items()
                                        if k != "expert" or params.expert != ExpertOptions()},
                             "portfolio": {}}
    if not problem.sites:
        candidates = [("empty", empty_result(problem, params, {}))]
    else:
        candidates, processes = portfolio.run(problem, params, sc, t_start, deadline, stats["portfolio"])
        stats["processes"] = processes
    valid = _valid_candidates(problem, candidates, stats["portfolio"])
    # Higher objective wins; ties go to the earlier entry (OR-Tools), so the choice is deterministic.
    name, best = max(valid, key=lambda nr: nr[1].objective)
    if params.deterministic:  # did the cap cut any work-bounded search? (then not reproducible)
        hit = any(v.get("cut_by_time_limit", False) for v in stats["portfolio"].values())
    else:
        hit = time.monotonic() >= deadline - HIT_LIMIT_SLACK_S
    cut = params.deterministic and hit
    failed = failed_searches(stats["portfolio"])
    stats.update(solver=name, wall_s=time.monotonic() - t_start, best_objective=best.objective,
                 status="search_cut" if cut else "ok", hit_time_limit=hit, search_cut=cut, failed=failed,
                 not_reproducible_because=_not_reproducible(params, hit, failed))
    stats["reproducible"] = not stats["not_reproducible_because"]
    ot = stats["portfolio"].get("ortools", {})
    if "first_objective_int" in ot:
        # prize collected minus travel cost, as OR-Tools saw it (integers, so approximate)
        stats["first_objective"] = (ot["total_penalty_int"] - ot["first_objective_int"]) * sc.prize_unit
    return RoutingResult(routes=best.routes, unvisited=best.unvisited, objective=best.objective, stats=stats,
                         search_cut=cut)


def failed_searches(portfolio_stats: dict[str, Any]) -> dict[str, str]:
    """Search name -> the first line of its error, for every search of the portfolio that failed (a
    crashed, killed or timed-out worker: :func:`.parallel.collect`)."""
    out = {}
    for name, v in portfolio_stats.items():
        if isinstance(v, dict) and "error" in v:
            line = (str(v["error"]).strip().splitlines() or ["failed"])[0]
            out[name] = line.removeprefix(f"{name}: ")  # the record's key names the search already
    return out


def _not_reproducible(params: SolveParams, hit: bool, failed: dict[str, str]) -> list[str]:
    """Why a rerun with the same input and seed may give another plan (empty: it gives the same)."""
    why = []
    if not params.deterministic:
        why.append("the search runs on the clock (solver.deterministic = false)")
    elif hit:
        why.append("the time cap cut the search before its fixed amount of work")
    why += [f"search {n} failed ({e}); the plan comes from the other searches, and a rerun with it alive may "
            "give another plan" for n, e in failed.items()]
    return why


def search_record(result: RoutingResult) -> dict[str, Any]:
    """What searched, for provenance: ``requested`` (``SolveParams.search``), ``used`` (the search whose plan
    won), ``ran`` (every search that returned a plan or statistics) and ``failed`` (name -> error)."""
    st = result.stats
    port = st.get("portfolio", {})
    failed = st.get("failed", failed_searches(port))
    return {"requested": st.get("params", {}).get("search"), "used": st.get("solver"),
            "ran": [n for n in port if n not in failed], "failed": dict(failed)}

"""What runs where: the two-core portfolio of searches (forking through :mod:`.parallel`).

Patrol nights (``search="auto"`` when PyVRP cannot express the problem, or ``search="lns"``): the
construction and ruin-and-recreate search of :mod:`.construct`, seed ``s`` in this process and seed
``s + 1`` in a forked child; the construction runs first, so the plan is never empty.

Otherwise (``search="ortools"``, or ``"auto"`` on problems PyVRP expresses: orienteering benchmarks)
the construction runs first as a fallback candidate, then, with ``workers >= 2``, a forked child takes
the second core: PyVRP (seed ``s``) when it expresses the problem exactly, otherwise a second OR-Tools
search (seed ``s + 1``, another first solution). The parent runs OR-Tools and, when PyVRP expresses the
problem, then PyVRP with seed ``s + 1``. Without fork the parent runs the child's search itself: after
its own in deterministic mode (so the plan is the same on every platform), not at all otherwise (except
PyVRP, which then replaces the parent's second seed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from patrol_planner.routing import construct, ortools_backend, parallel, pyvrp_backend
from patrol_planner.routing.params import SolveParams, default_lns_iterations
from patrol_planner.routing.plans import build_result
from patrol_planner.routing.problem import PatrolProblem
from patrol_planner.routing.result import RoutingResult
from patrol_planner.routing.scaling import Scaling

#: Candidates are compared in this order; ties go to the earlier one, so the pick is deterministic (a
#: search that only matched the construction still gets the credit).
ORDER = ("lns", "lns-2", "ortools", "ortools-2", "pyvrp", "pyvrp-2", "construct")
#: PyVRP stops this long before the deadline [s], to leave time to send its plan back and validate it.
PYVRP_RETURN_S = 0.1
#: Extra wait for the child after the deadline [s]: it may still be handing its answer over.
CHILD_GRACE_S = 30.0
#: In deterministic mode the child stops on work counters; wait up to this many budgets for it.
DET_CHILD_WAIT_FACTOR = 10


def second_ortools_params(params: SolveParams) -> SolveParams:
    """The second OR-Tools worker: another seed and another first solution, so it explores elsewhere.

    In deterministic mode it spends its work on one long search from its own first solution
    (``expert.second_det_restarts`` restarts, default 0): on the bundled patrol plan the restarts of a
    search started from ``PARALLEL_CHEAPEST_INSERTION`` found nothing in 20 s, while 50 solutions of its
    first search gain 12 % of prize over the ``ALL_UNPERFORMED`` worker.
    """
    alt = params.expert.second_first_solution
    if alt == params.first_solution:
        alt = "ALL_UNPERFORMED" if params.first_solution != "ALL_UNPERFORMED" else "PARALLEL_CHEAPEST_INSERTION"
    restarts = params.expert.second_det_restarts if params.deterministic else params.restarts
    return replace(params, seed=params.seed + 1, first_solution=alt, restarts=restarts)


def pyvrp_worker(problem: PatrolProblem, params: SolveParams, sc: Scaling, deadline: float,
                 seed: int) -> dict[str, Any]:
    """PyVRP until ``deadline`` (monotonic) [s]; records whether the cap cut a deterministic search."""
    out = pyvrp_backend.search(problem, params, sc, max(0.05, deadline - time.monotonic() - PYVRP_RETURN_S), seed)
    if params.deterministic and out["iterations"] < params.det_pyvrp_iterations:
        out["cut_by_time_limit"] = True
    return out


def uses_lns(problem: PatrolProblem, params: SolveParams) -> bool:
    """Whether the ruin-and-recreate search (rather than OR-Tools and PyVRP) plans this problem."""
    return params.search == "lns" or (params.search == "auto" and not pyvrp_backend.can_express(problem))


def lns_worker(problem: PatrolProblem, params: SolveParams, deadline: float, seed: int) -> tuple[Any, dict[str, Any]]:
    """Construction then ruin and recreate with ``seed``, in plain values (it may run in a child)."""
    iterations = None
    if params.deterministic:
        iterations = params.lns_iterations
        if iterations is None:
            visits = sum(s.max_visits for s in problem.sites if s.prize > 0)
            iterations = default_lns_iterations(visits)
    return construct.improve(problem, params, deadline, iterations, seed)


def run(problem: PatrolProblem, params: SolveParams, sc: Scaling, t_start: float, deadline: float,
        report: dict[str, Any]) -> tuple[list[tuple[str, RoutingResult]], int]:
    """Run the searches; return ``[(name, result)]`` in :data:`ORDER` and the number of processes used.

    ``report`` receives each search's statistics under its name.
    """
    if uses_lns(problem, params):
        return _run_lns(problem, params, deadline, report)
    out: dict[str, tuple[str, Any]] = {"construct": ("plans", construct.construct(problem, params))}
    cands, n_proc = _run_ortools_pyvrp(problem, params, sc, t_start, deadline, report, out)
    return cands, n_proc


def _run_lns(problem: PatrolProblem, params: SolveParams, deadline: float,
             report: dict[str, Any]) -> tuple[list[tuple[str, RoutingResult]], int]:
    """Two ruin-and-recreate searches (seeds s and s + 1), on two cores when a child can be forked."""
    args = (problem, params, deadline, params.seed + 1)
    pending = parallel.start("lns-2", lns_worker, *args) if params.workers >= 2 else None
    out: dict[str, tuple[str, Any]] = {"lns": ("plans", lns_worker(problem, params, deadline, params.seed))}
    if pending is not None:
        wait = (DET_CHILD_WAIT_FACTOR * params.time_limit_s if params.deterministic
                else max(0.0, deadline - time.monotonic())) + CHILD_GRACE_S
        raw, err = parallel.collect(pending, wait)
        if err is not None:
            report["lns-2"] = {"error": err}
        else:
            out["lns-2"] = ("plans", raw)
    elif params.workers >= 2 and params.deterministic:  # no fork: the same work here, the same plan
        out["lns-2"] = ("plans", lns_worker(*args))
    return _candidates(problem, params, out, report), 2 if pending is not None else 1


def _run_ortools_pyvrp(problem: PatrolProblem, params: SolveParams, sc: Scaling, t_start: float,
                       deadline: float, report: dict[str, Any],
                       out: dict[str, tuple[str, Any]]) -> tuple[list[tuple[str, RoutingResult]], int]:
    """Today's portfolio: OR-Tools here, and PyVRP or a second OR-Tools search in a child."""
    expr = params.portfolio and pyvrp_backend.can_express(problem)
    det = params.deterministic
    child_name: str | None = None
    child_fn: Callable[..., Any] | None = None
    child_args: tuple[Any, ...] = ()
    if params.workers >= 2:
        if expr:
            child_name, child_fn, child_args = "pyvrp", pyvrp_worker, (problem, params, sc, deadline, params.seed)
        else:
            child_name, child_fn = "ortools-2", ortools_backend.search
            child_args = (problem, second_ortools_params(params), sc, deadline)
    pending = parallel.start(child_name, child_fn, *child_args) if child_fn and child_name else None
    n_proc = 2 if pending is not None else 1

    share = params.expert.ortools_share
    ot_deadline = deadline if (det or not expr) else t_start + share * params.time_limit_s
    out["ortools"] = ("ortools", ortools_backend.search(problem, params, sc, ot_deadline))
    if expr:
        if pending is not None or (det and child_fn is not None):
            out["pyvrp-2"] = ("pyvrp", pyvrp_worker(problem, params, sc, deadline, params.seed + 1))
        else:
            out["pyvrp"] = ("pyvrp", pyvrp_worker(problem, params, sc, deadline, params.seed))
    if child_fn is not None and child_name is not None:
        if pending is not None:
            wait = (DET_CHILD_WAIT_FACTOR * params.time_limit_s if det
                    else max(0.0, deadline - time.monotonic())) + CHILD_GRACE_S
            raw, err = parallel.collect(pending, wait)
            if err is not None:
                report[child_name] = {"error": err}
            else:
                out[child_name] = ("pyvrp" if expr else "ortools", raw)
        elif det:  # no fork here: do the child's work in this process, for the same plan everywhere
            out[child_name] = ("pyvrp" if expr else "ortools", child_fn(*child_args))
    return _candidates(problem, params, out, report), n_proc


def _candidates(problem: PatrolProblem, params: SolveParams, out: dict[str, tuple[str, Any]],
                report: dict[str, Any]) -> list[tuple[str, RoutingResult]]:
    """Each search's raw answer as a result (not yet validated), in :data:`ORDER`."""
    cands: list[tuple[str, RoutingResult]] = []
    for name in ORDER:
        if name not in out:
            continue
        kind, raw = out[name]
        if kind == "pyvrp":
            res_pv, info = pyvrp_backend.to_result(raw, problem, params)
            report[name] = info
            if res_pv is not None:
                cands.append((name, res_pv))
        else:  # "ortools" or "plans": (per-unit plans or None, statistics)
            plans, info = raw
            report[name] = info
            if plans is not None:
                cands.append((name, build_result(problem, params, plans, {})))
    return cands

"""Routing on two cores: the forked second search, its fallback without fork, and determinism.

Tiny synthetic towns (clearly labelled: random points, fixed speeds), real OR-Tools and PyVRP searches
of 1-3 s. Patrol problems with a meal break or repeat visits are beyond PyVRP, so their second core runs
a second OR-Tools search; TOP-like problems get PyVRP in the child and a second PyVRP seed in the parent.
"""

from __future__ import annotations

import numpy as np
import pytest

from patrol_planner.routing import PatrolProblem, SolveParams, parallel, solve, validate

H = 3600.0
NIGHT = 22 * H


def patrol(n: int = 14, seed: int = 3) -> PatrolProblem:
    """Synthetic town with repeat visits and meal breaks (so PyVRP cannot express it)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 8000.0, (n, 2))
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2))
    p = PatrolProblem(travel_time_s={"drive": d / 9.0}, distance_m={"drive": d})
    a, b = p.add_station(0, name="A"), p.add_station(1, name="B")
    for i in range(2, n):
        p.add_site(i, site_id=f"s{i}", prize=float(rng.integers(1, 20)), dwell_s=900, max_visits=2,
                   min_gap_s=2 * H, repeat_factor=0.6)
    p.add_unit(unit_id="U1", start=a, shift_start_s=NIGHT, shift_end_s=NIGHT + 5 * H, break_s=1800,
               break_window_s=(NIGHT + 2 * H, NIGHT + 4 * H))
    p.add_unit(unit_id="U2", start=b, end=a, shift_start_s=NIGHT, shift_end_s=NIGHT + 5 * H, break_s=1800)
    return p


def prize_only(n: int = 30, seed: int = 5) -> PatrolProblem:
    """Synthetic orienteering-like problem PyVRP can express (one visit each, no break, no windows)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 8000.0, (n, 2))
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2))
    p = PatrolProblem(travel_time_s={"drive": d / 9.0}, distance_m={"drive": d})
    st = p.add_station(0, name="HQ")
    for i in range(1, n):
        p.add_site(i, site_id=f"s{i}", prize=float(rng.integers(1, 20)), dwell_s=600)
    for k in range(2):
        p.add_unit(unit_id=f"U{k}", start=st, shift_start_s=NIGHT, shift_end_s=NIGHT + 2 * H)
    return p


def test_second_ortools_worker_runs_in_a_child_and_is_valid():
    """A problem PyVRP cannot express: both OR-Tools searches report, on two processes, and the winner
    (the higher objective) passes the validator."""
    if not parallel.fork_available():
        pytest.skip("no fork on this platform")
    p = patrol()
    res = solve(p, SolveParams(time_limit_s=2.0, deterministic=False, search="ortools"))
    validate(p, res)
    pf = res.stats["portfolio"]
    assert res.stats["processes"] == 2
    assert {"ortools", "ortools-2"} <= set(pf) and "pyvrp" not in pf
    assert pf["ortools-2"]["seed"] == 1 and pf["ortools-2"]["first_solution"] != pf["ortools"]["first_solution"]
    assert res.objective == max(v["objective"] for v in pf.values() if "objective" in v)
    assert res.prize > 0


def test_single_worker_runs_one_search():
    """workers=1 with today's OR-Tools search: no child process, the construction and OR-Tools only."""
    p = patrol()
    res = solve(p, SolveParams(time_limit_s=1.0, deterministic=False, workers=1, search="ortools"))
    validate(p, res)
    assert res.stats["processes"] == 1 and set(res.stats["portfolio"]) == {"construct", "ortools"}


def test_deterministic_two_workers_same_plan_with_and_without_fork(monkeypatch):
    """Deterministic mode: the same plan twice with two processes, and the same again where fork is
    unavailable (the second search then runs in this process after the first)."""
    params = SolveParams(time_limit_s=30, deterministic=True, det_solution_limit=40, restarts=3,
                         det_restart_solutions=15, search="ortools")
    a, b = solve(patrol(), params), solve(patrol(), params)
    assert a.routes == b.routes and a.objective == b.objective and a.stats["solver"] == b.stats["solver"]
    assert not a.stats["hit_time_limit"]
    assert "ortools-2" in a.stats["portfolio"]
    monkeypatch.setattr(parallel, "fork_available", lambda: False)
    c = solve(patrol(), params)
    assert c.stats["processes"] == 1 and "ortools-2" in c.stats["portfolio"]
    assert c.routes == a.routes and c.objective == a.objective


def test_no_fork_falls_back_to_one_process(monkeypatch):
    """Without fork (Windows, macOS spawn) the solve still succeeds in one process, PyVRP included."""
    monkeypatch.setattr(parallel, "fork_available", lambda: False)
    p = prize_only()
    res = solve(p, SolveParams(time_limit_s=2.0, deterministic=False))
    validate(p, res)
    assert res.stats["processes"] == 1
    assert {"ortools", "pyvrp"} <= set(res.stats["portfolio"]) and "pyvrp-2" not in res.stats["portfolio"]


def test_pyvrp_two_seeds_when_it_expresses_the_problem():
    """TOP-like problem: PyVRP with seed s in the child and seed s+1 in the parent after OR-Tools."""
    if not parallel.fork_available():
        pytest.skip("no fork on this platform")
    p = prize_only()
    res = solve(p, SolveParams(time_limit_s=2.0, deterministic=False))
    validate(p, res)
    pf = res.stats["portfolio"]
    assert {"ortools", "pyvrp", "pyvrp-2"} <= set(pf)
    assert (pf["pyvrp"]["seed"], pf["pyvrp-2"]["seed"]) == (0, 1)
    assert res.objective == max(v["objective"] for v in pf.values() if "objective" in v)


def test_child_failure_is_reported_not_raised():
    """A child that raises, or dies, comes back as an error message."""
    if not parallel.fork_available():
        pytest.skip("no fork on this platform")

    def boom() -> None:
        raise ValueError("kaput")

    val, err = parallel.collect(parallel.start("boom", boom), 10)
    assert val is None and "kaput" in err
    val, err = parallel.collect(parallel.start("ok", lambda x: x * 2, 21), 10)
    assert val == 42 and err is None


def test_a_killed_worker_makes_the_plan_not_reproducible(kill_second_search):
    """A deterministic two-worker search whose child is killed still returns the parent's valid plan, but
    says it is not reproducible, names the dead search and why; with the child alive it is reproducible."""
    if not parallel.fork_available():
        pytest.skip("no fork on this platform")
    from patrol_planner.routing import search_record

    params = SolveParams(time_limit_s=30, deterministic=True, search="lns", lns_iterations=30)
    alive = solve(patrol(), params)
    assert alive.stats["reproducible"] is True and alive.stats["not_reproducible_because"] == []
    assert alive.stats["failed"] == {} and search_record(alive)["ran"] == ["lns", "lns-2"]

    kill_second_search()
    p = patrol()
    res = solve(p, params)
    validate(p, res)
    assert res.stats["processes"] == 2 and res.stats["solver"] == "lns"
    assert "died" in res.stats["failed"]["lns-2"]
    assert res.stats["reproducible"] is False
    (why,) = res.stats["not_reproducible_because"]
    assert "lns-2" in why and "died" in why
    rec = search_record(res)
    assert rec["used"] == "lns" and rec["ran"] == ["lns"] and set(rec["failed"]) == {"lns-2"}


def test_expert_options_are_typed_and_a_misspelt_one_is_an_error():
    """Solver knobs are typed fields: a misspelt option, an unknown OR-Tools operator or a bad value fails
    at once (a free dict ignored them), and a valid one reaches the search and its record."""
    from patrol_planner.errors import RoutingError
    from patrol_planner.routing import ExpertOptions

    with pytest.raises(TypeError, match="ortool_share"):
        ExpertOptions(ortool_share=0.5)
    with pytest.raises(TypeError, match="extra"):
        SolveParams(extra={"ortools_share": 0.5})
    with pytest.raises(RoutingError, match="use_too_opt"):
        ExpertOptions(ls_operators={"use_too_opt": True})
    with pytest.raises(RoutingError, match="second_first_solution"):
        ExpertOptions(second_first_solution="CHEAPEST")
    with pytest.raises(RoutingError, match="expert"):
        SolveParams(expert={"ortools_share": 0.5})
    opts = ExpertOptions(second_first_solution="SAVINGS", ls_operators={"use_two_opt": False})
    res = solve(patrol(), SolveParams(time_limit_s=1.0, deterministic=False, search="ortools", expert=opts))
    assert res.stats["params"]["expert"]["second_first_solution"] == "SAVINGS"
    if parallel.fork_available():
        assert res.stats["portfolio"]["ortools-2"]["first_solution"] == "SAVINGS"
    assert "expert" not in solve(patrol(), SolveParams(time_limit_s=1.0, deterministic=False, workers=1,
                                                       search="ortools")).stats["params"]

"""The insertion construction and ruin-and-recreate search (routing/construct.py), the never-empty rule,
site time windows, and the TOPTW reader and checker (benchmarks/benchlib/toptw.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from benchlib.toptw import check_toptw, read_toptw, toptw_params, toptw_problem, toptw_routes
from patrol_planner.errors import FormatError, RoutingError
from patrol_planner.routing import PatrolProblem, SolveParams, parallel, problems_with, solve, validate
from patrol_planner.routing.construct import construct, improve
from patrol_planner.routing.params import default_lns_iterations, lns_patience
from patrol_planner.routing.plans import build_result

H = 3600.0
NIGHT = 22 * H
REPO = Path(__file__).resolve().parents[1]
TOPTW_DIR = REPO / ".." / "shared" / "benchmarks" / "toptw"


def night(n_sites: int = 40, n_units: int = 4, seed: int = 0) -> PatrolProblem:
    """A patrol night with every rule at once: two stations, repeat visits with a gap across units,
    breaks in windows, hourly prize windows, a foot unit with a radius and one site with opening hours."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 12000, (n_sites + 2, 2))
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2))
    p = PatrolProblem(travel_time_s={"drive": d / 12.0, "walk": d / 1.4}, distance_m={"drive": d, "walk": d})
    a, b = p.add_station(0, name="A"), p.add_station(1, name="B")
    for i in range(2, n_sites + 2):
        wins = [(NIGHT + h * H, NIGHT + (h + 1) * H, float(rng.uniform(0.5, 2.0))) for h in range(8)]
        tw = (NIGHT + 3 * H, NIGHT + 4 * H) if i == 2 else None
        p.add_site(i, site_id=f"s{i}", prize=float(rng.uniform(1, 100)), dwell_s=900, max_visits=2,
                   min_gap_s=2 * H, repeat_factor=0.6, prize_windows=wins, time_window_s=tw)
    for k in range(n_units):
        p.add_unit(unit_id=f"U{k}", start=a if k % 2 == 0 else b, end=a, shift_start_s=NIGHT,
                   shift_end_s=NIGHT + 8 * H, earliest_leave_s=NIGHT + 1200, break_s=1800,
                   break_window_s=(NIGHT + 3 * H, NIGHT + 6 * H))
    p.add_unit(unit_id="F1", mode="walk", start=a, shift_start_s=NIGHT, shift_end_s=NIGHT + 8 * H,
               max_radius_m=3000)
    return p


def test_construction_is_valid_and_busy():
    """The construction alone keeps every rule (the independent validator finds nothing) and does not
    leave units idle: on a night with room to spare it visits most sites."""
    for seed in range(3):
        p = night(seed=seed)
        plans, info = construct(p, SolveParams())
        res = build_result(p, SolveParams(), plans, {})
        assert problems_with(p, res) == []
        visited = {v.site_id for r in res.routes for v in r.visits}
        assert len(visited) >= 0.6 * len(p.sites)
        assert info["objective"] == pytest.approx(res.objective)


def test_construction_keeps_site_time_windows_and_breaks():
    """The site with opening hours 01:00-02:00 is visited on each of these nights, and only ever then; every
    unit with a break (the four cars; the foot unit has none) takes all of it inside its window."""
    for seed in (2, 3, 4):  # nights on which the construction visits s2
        p = night(seed=seed)
        res = build_result(p, SolveParams(), construct(p, SolveParams())[0], {})
        starts = [v.arrive_s for r in res.routes for v in r.visits if v.site_id == "s2"]
        assert starts, f"seed {seed}: s2 not visited, so its window is not tested"
        assert all(NIGHT + 3 * H <= t <= NIGHT + 4 * H for t in starts), starts
        with_break = [r for r in res.routes if p.unit_by_id(r.unit_id).break_s]
        assert sorted(r.unit_id for r in with_break) == ["U0", "U1", "U2", "U3"]
        for r in with_break:
            u = p.unit_by_id(r.unit_id)
            b0, b1 = r.break_interval_s
            assert u.break_window_s[0] <= b0 and b1 <= u.break_window_s[1] and b1 - b0 >= u.break_s


def test_search_only_improves_on_the_construction():
    """Ruin and recreate starts from the construction and returns a plan at least as good, valid."""
    p = night(n_sites=25, n_units=2)
    first = build_result(p, SolveParams(), construct(p, SolveParams())[0], {})
    plans, info = improve(p, SolveParams(), deadline=float("inf"), iterations=40, seed=0)
    res = build_result(p, SolveParams(), plans, {})
    assert problems_with(p, res) == []
    assert res.objective >= first.objective - 1e-9
    assert info["first_objective"] == pytest.approx(first.objective)
    assert info["iterations"] == 40


def test_search_cut_at_once_returns_the_construction_and_says_so():
    """Never empty, never silent: a deterministic search whose cap is already spent still returns the
    constructed plan, marked as cut, and the summary says so."""
    p = night(n_sites=30, n_units=3)
    res = solve(p, SolveParams(time_limit_s=1e-3, workers=1))
    built = build_result(p, SolveParams(), construct(p, SolveParams())[0], {})
    assert res.search_cut and res.stats["hit_time_limit"] and res.stats["status"] == "search_cut"
    assert sum(len(r.visits) for r in res.routes) == sum(len(r.visits) for r in built.routes) > 0
    assert res.objective == pytest.approx(built.objective)
    assert "search cut by the time limit" in res.summary()


def test_finished_search_is_not_marked_cut():
    """A deterministic search that finishes its iterations inside the cap is not marked as cut."""
    p = night(n_sites=12, n_units=2)
    res = solve(p, SolveParams(time_limit_s=120, lns_iterations=5, workers=1))
    assert not res.search_cut and res.stats["status"] == "ok"
    assert "search cut" not in res.summary()


@pytest.mark.slow
def test_lns_deterministic_same_plan_with_and_without_fork(monkeypatch):
    """The default search on a patrol night is reproducible: the same plan twice on two processes and
    again where fork is unavailable (the second seed then runs here after the first)."""
    p = night(n_sites=20, n_units=3)
    params = SolveParams(time_limit_s=300, lns_iterations=30)
    a, b = solve(p, params), solve(p, params)
    assert a.stats["solver"] in ("lns", "lns-2") and not a.search_cut
    assert a.routes == b.routes and a.objective == b.objective
    monkeypatch.setattr(parallel, "fork_available", lambda: False)
    c = solve(p, params)
    assert c.stats["processes"] == 1 and c.routes == a.routes


def test_ortools_search_also_starts_from_the_construction():
    """With today's OR-Tools search chosen explicitly, the construction is still a candidate, so the
    plan is never worse than it."""
    p = night(n_sites=10, n_units=2)
    res = solve(p, SolveParams(search="ortools", deterministic=False, time_limit_s=2, workers=1))
    assert "construct" in res.stats["portfolio"]
    assert res.objective >= res.stats["portfolio"]["construct"]["objective"] - 1e-9


def test_site_time_window_is_checked_and_validated():
    """add_site rejects a window that closes before it opens; the validator flags a visit to s2 moved 90 min
    later (after its window closes, inside the shift) as outside the site's time window, and a visit moved
    10 h later as outside the shift."""
    p = night(n_sites=5, n_units=1)
    with pytest.raises(RoutingError, match="time_window_s"):
        p.add_site(3, site_id="bad", prize=1.0, time_window_s=(NIGHT + H, NIGHT))
    res = solve(p, SolveParams(time_limit_s=30, lns_iterations=5, workers=1))
    validate(p, res)

    def moved(site_id: str, by_s: float) -> list[str]:
        k, r = next((k, r) for k, r in enumerate(res.routes) if any(v.site_id == site_id for v in r.visits))
        i = next(i for i, v in enumerate(r.visits) if v.site_id == site_id)
        v = r.visits[i]
        late = dataclasses.replace(v, arrive_s=v.arrive_s + by_s, depart_s=v.depart_s + by_s)
        route = dataclasses.replace(r, visits=(*r.visits[:i], late, *r.visits[i + 1:]))
        return problems_with(p, dataclasses.replace(res, routes=(*res.routes[:k], route, *res.routes[k + 1:])))

    assert any(v.site_id == "s2" for r in res.routes for v in r.visits), "s2 must be visited to move it"
    errs = moved("s2", 1.5 * H)
    assert any("'s2'" in e and "outside the site's time window" in e for e in errs), errs
    assert not any("outside the shift" in e for e in errs)
    other = next(v.site_id for r in res.routes for v in r.visits if v.site_id != "s2")
    assert any("outside the shift" in e for e in moved(other, 10 * H))


# --- TOPTW -------------------------------------------------------------------------------------------
SMALL = """4 2 4 1
0 200
 0 0.0 0.0 0 0 0 0 0 100
 1 3.0 4.0 1 10 1 1 1 0 20
 2 6.0 8.0 1 20 1 1 1 30 40
 3 0.0 9.0 2 5 1 2 1 2 0 50
 4 50.0 50.0 0 99 1 1 1 0 100
"""


def test_toptw_reader(tmp_path):
    """The reader takes the format's variable-length list column and truncates distances to one decimal
    (Solomon) or two (``pr*`` files)."""
    f = tmp_path / "c999.txt"
    f.write_text(SMALL)
    inst = read_toptw(f)
    assert inst.decimals == 1 and inst.tmax == 100
    assert list(inst.profit) == [0, 10, 20, 5, 99] and list(inst.open) == [0, 0, 30, 0, 0]
    assert list(inst.close) == [100, 20, 40, 50, 100] and list(inst.service) == [0, 1, 1, 2, 0]
    assert inst.distance[0, 1] == 5.0 and inst.distance[1, 3] == 5.8  # sqrt(34) = 5.83 -> 5.8
    g = tmp_path / "pr99.txt"
    g.write_text(SMALL)
    assert read_toptw(g).distance[1, 3] == 5.83


def test_toptw_reader_errors(tmp_path):
    """A short point line or a wrong point count is a FormatError naming the file."""
    f = tmp_path / "bad.txt"
    f.write_text(SMALL.replace(" 2 6.0 8.0 1 20 1 1 1 30 40", " 2 6.0 8.0 1 20 1 1 1 30"))
    with pytest.raises(FormatError, match="bad.txt:5"):
        read_toptw(f)
    f.write_text(SMALL.replace("4 2 4 1", "4 2 7 1"))
    with pytest.raises(FormatError, match="N=7"):
        read_toptw(f)
    with pytest.raises(FormatError, match="cannot read"):
        read_toptw(tmp_path / "missing.txt")


def test_toptw_checker(tmp_path):
    """The checker scores valid tours and rejects a late start, a repeat, a late return, extra tours."""
    f = tmp_path / "c999.txt"
    f.write_text(SMALL)
    inst = read_toptw(f)
    assert check_toptw(inst, [[1, 2], [3]], 2) == 35  # 1 at 5, 2 waits to 30; 3 at 9
    with pytest.raises(ValueError, match="after its window closes"):
        check_toptw(inst, [[2, 1]], 1)  # 2 starts at 30, then 1 at 36 > 20
    with pytest.raises(ValueError, match="visited twice"):
        check_toptw(inst, [[1], [1]], 2)
    with pytest.raises(ValueError, match="after the depot closes"):
        check_toptw(inst, [[4]], 1)  # 70.7 to 4 and 70.7 back: over 100
    with pytest.raises(ValueError, match="tours for"):
        check_toptw(inst, [[1], [2]], 1)


@pytest.mark.parametrize("search", ["lns", "auto", "ortools"])
def test_toptw_solved_through_the_patrol_model(tmp_path, search):
    """The small instance through solve() with each search (ruin and recreate; OR-Tools + PyVRP, which
    carry the windows as cumul ranges and client time windows): the checker accepts the tours; with two
    vehicles points 1, 2 and 3 (35) fit, point 4 (99) is out of reach in time."""
    f = tmp_path / "c999.txt"
    f.write_text(SMALL)
    inst = read_toptw(f)
    res = solve(toptw_problem(inst, 2), toptw_params(inst, 2.0, search=search))
    routes = toptw_routes(res)
    assert len(routes) == 2
    assert check_toptw(inst, routes, 2) == 35


@pytest.mark.shared
@pytest.mark.skipif(not TOPTW_DIR.is_dir(), reason="../shared/benchmarks/toptw (TOPTW instances) is not present")
def test_toptw_shared_instance_reaches_reference():
    """c101 with two vehicles: the reference score 590 is reached in five seconds (in two on an idle machine),
    tours checked."""
    inst = read_toptw(TOPTW_DIR / "c101.txt")
    res = solve(toptw_problem(inst, 2), toptw_params(inst, 5.0))
    assert check_toptw(inst, toptw_routes(res), 2) == 590


def test_lns_budget_is_linear_then_sublinear() -> None:
    # small nights keep their budget (so their plans do not change); big ones grow with the fourth root
    assert [default_lns_iterations(v) for v in (0, 60, 118, 120)] == [400, 400, 472, 480]
    assert default_lns_iterations(288) == 597  # 150 hot spots x 2 visits: was 1 152, then 744
    assert default_lns_iterations(980) == 811  # 500 x 2 (490 sites): 1 372 with square-root growth
    big = [default_lns_iterations(v) for v in (240, 480, 960)]
    assert big[1] / big[0] == pytest.approx(2 ** 0.25, rel=0.01)
    assert big[2] / big[1] == pytest.approx(2 ** 0.25, rel=0.01)
    assert lns_patience(400) == 400 and lns_patience(1386) == 693


def test_deterministic_search_stops_when_stalled() -> None:
    # one site, one unit: the construction is optimal, so no iteration improves and the search stops early
    p = PatrolProblem(travel_time_s={"drive": np.array([[0.0, 60.0], [60.0, 0.0]])})
    st = p.add_station(0)
    p.add_unit(unit_id="U", start=st, shift_start_s=0, shift_end_s=3600)
    p.add_site(1, site_id="A", prize=5.0, dwell_s=60)
    _plans, info = improve(p, SolveParams(), deadline=1e18, iterations=5000, seed=0)
    assert info["stopped_early"] and info["iterations"] == lns_patience(5000)

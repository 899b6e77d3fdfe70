"""Routing stage: every model feature through the real OR-Tools solver, checked by the validator.

The instances are tiny synthetic towns (clearly labelled: points on a grid, travel at fixed speeds) so
each test controls the shape it needs. Solver time limits are 1-2 s.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from patrol_planner.errors import PlanValidationError, RoutingError, ScalingWarning
from patrol_planner.routing import PatrolProblem, RoutingResult, SolveParams, problems_with, solve, validate
from patrol_planner.routing.result import UnitRoute, Visit

H = 3600.0
NIGHT = 22 * H  # 22:00 on the reference day [s]
# Time-bounded (not deterministic): these tests pin rules every plan keeps, whatever the search found.
FAST = SolveParams(time_limit_s=1.0, deterministic=False, portfolio=False)


def town(n: int = 10, seed: int = 0, size_m: float = 6000.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synthetic town: n random points; drive at 10 m/s, walk at 1.4 m/s; returns (D, T_drive, T_walk)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, size_m, (n, 2))
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2))
    return d, d / 10.0, d / 1.4


def basic(n: int = 10, **unit_kw) -> PatrolProblem:
    d, td, tw = town(n)
    p = PatrolProblem(travel_time_s={"drive": td, "walk": tw}, distance_m={"drive": d, "walk": d})
    st = p.add_station(0, name="HQ")
    for i in range(1, n):
        p.add_site(i, site_id=f"s{i}", prize=float(i), dwell_s=600)
    kw = {"unit_id": "A1", "start": st, "shift_start_s": NIGHT, "shift_end_s": NIGHT + 3 * H} | unit_kw
    p.add_unit(**kw)
    return p


# --- features ----------------------------------------------------------------------------------------
def test_small_plan_is_valid_and_uses_dwell():
    """Visits last exactly their dwell, legs fit their travel times, and the validator agrees."""
    p = basic()
    res = solve(p, FAST)
    validate(p, res)
    r = res.route("A1")
    assert r.visits, "a 3 h shift in a 6 km town should visit something"
    for v in r.visits:
        assert v.depart_s - v.arrive_s == pytest.approx(600)
    assert res.prize == pytest.approx(sum(v.prize for v in r.visits))
    assert res.stats["solver"] in ("ortools", "construct") and res.stats["wall_s"] > 0


def test_repeat_visits_respect_gap_and_diminish():
    """One rich site visited up to 3 times by two units, starts >= min_gap apart, prize halves each time."""
    d, td, _ = town(4)
    p = PatrolProblem(travel_time_s={"drive": td}, distance_m={"drive": d})
    st = p.add_station(0, name="HQ")
    p.add_site(1, site_id="rich", prize=100.0, dwell_s=900, max_visits=3, min_gap_s=1.5 * H, repeat_factor=0.5)
    p.add_site(2, site_id="poor", prize=1.0, dwell_s=900)
    for uid in ("A1", "A2"):
        p.add_unit(unit_id=uid, start=st, shift_start_s=NIGHT, shift_end_s=NIGHT + 4 * H)
    res = solve(p, FAST)
    validate(p, res)
    visits = sorted((v for r in res.routes for v in r.visits if v.site_id == "rich"), key=lambda v: v.arrive_s)
    assert [v.visit_no for v in visits] == [1, 2, 3]
    assert [v.prize for v in visits] == pytest.approx([100, 50, 25])
    for a, b in zip(visits, visits[1:], strict=False):
        assert b.arrive_s - a.arrive_s >= 1.5 * H - 1e-6


def test_min_gap_holds_across_units():
    """Two units and a gap that cannot be met twice in the shift: the second visit is left out."""
    d, td, _ = town(3)
    p = PatrolProblem(travel_time_s={"drive": td}, distance_m={"drive": d})
    st = p.add_station(0)
    p.add_site(1, site_id="x", prize=10.0, dwell_s=300, max_visits=2, min_gap_s=3 * H)
    for uid in ("A1", "A2"):
        p.add_unit(unit_id=uid, start=st, shift_start_s=0, shift_end_s=2 * H)
    res = solve(p, FAST)
    validate(p, res)
    assert sum(len(r.visits) for r in res.routes) == 1


def test_break_taken_inside_window():
    """The break lasts break_s, sits inside its window and overlaps no visit."""
    p = basic(break_s=1800, break_window_s=(NIGHT + H, NIGHT + 2 * H))
    res = solve(p, FAST)
    validate(p, res)
    r = res.route("A1")
    b0, b1 = r.break_interval_s
    assert b1 - b0 == pytest.approx(1800)
    assert b0 >= NIGHT + H - 1e-6 and b1 <= NIGHT + 2 * H + 1e-6
    for v in r.visits:
        assert v.depart_s <= b0 + 1e-6 or v.arrive_s >= b1 - 1e-6


def test_shift_crossing_midnight():
    """A 22:00-06:00 shift is just seconds past 24 h: a unit that may only leave at 00:30 visits every
    site after midnight and every time stays inside the shift."""
    p = basic(shift_end_s=NIGHT + 8 * H, earliest_leave_s=NIGHT + 2.5 * H, break_s=2700,
              break_window_s=(NIGHT + 3 * H, NIGHT + 5 * H))
    res = solve(p, FAST)
    validate(p, res)
    r = res.route("A1")
    assert r.leave_s >= NIGHT + 2.5 * H and r.return_s <= 30 * H
    # 9 visits of 10 min, 45 min of break and at most 10 legs of < 850 s (6 km town at 10 m/s) fit the
    # 5.5 h between 00:30 and 06:00, so every site is visited.
    assert len(r.visits) == 9
    assert all(v.arrive_s > 24 * H and v.depart_s <= 30 * H for v in r.visits)


def test_foot_unit_stays_within_radius():
    """A foot unit only visits sites within max_radius_m of its station; others are not_reachable."""
    d, td, tw = town(10)
    p = PatrolProblem(travel_time_s={"drive": td, "walk": tw}, distance_m={"drive": d, "walk": d})
    st = p.add_station(0)
    for i in range(1, 10):
        p.add_site(i, site_id=f"s{i}", prize=5.0, dwell_s=300)
    radius = float(np.sort(d[0, 1:])[3]) + 1.0  # four sites inside
    p.add_unit(unit_id="F1", mode="walk", start=st, shift_start_s=0, shift_end_s=6 * H, max_radius_m=radius)
    res = solve(p, FAST)
    validate(p, res)
    near = {f"s{i}" for i in range(1, 10) if d[0, i] <= radius}
    assert {v.site_id for v in res.route("F1").visits} == near
    assert set(res.unvisited) == {f"s{i}" for i in range(1, 10)} - near
    assert set(res.unvisited.values()) == {"not_reachable"}


def test_different_start_and_end_stations():
    """A unit leaving HQ and ending at East has its last leg into East."""
    d, td, _ = town(6)
    p = PatrolProblem(travel_time_s={"drive": td}, distance_m={"drive": d})
    hq, east = p.add_station(0, name="HQ"), p.add_station(5, name="East")
    for i in range(1, 5):
        p.add_site(i, site_id=f"s{i}", prize=3.0, dwell_s=300)
    p.add_unit(unit_id="A1", start=hq, end=east, shift_start_s=0, shift_end_s=2 * H)
    res = solve(p, FAST)
    validate(p, res)
    r = res.route("A1")
    last = p.site_by_id(r.visits[-1].site_id).location
    assert r.return_travel_s == pytest.approx(td[last, 5])
    assert r.return_s >= r.visits[-1].depart_s + td[last, 5] - 1e-6


def test_earliest_leave():
    """Nobody leaves the station before the briefing ends."""
    p = basic(earliest_leave_s=NIGHT + 1800)
    res = solve(p, FAST)
    validate(p, res)
    r = res.route("A1")
    assert r.leave_s >= NIGHT + 1800
    assert r.visits[0].arrive_s >= NIGHT + 1800 + r.visits[0].travel_s - 1e-6


def test_prize_window_moves_the_visit():
    """A site worth 10x between 01:00 and 02:00 is visited then, and priced by its start time."""
    d, td, _ = town(4)
    p = PatrolProblem(travel_time_s={"drive": td}, distance_m={"drive": d})
    st = p.add_station(0)
    p.add_site(1, site_id="pub", prize=2.0, dwell_s=600, prize_windows=[(NIGHT + 3 * H, NIGHT + 4 * H, 10.0)])
    p.add_site(2, site_id="park", prize=1.0, dwell_s=600)
    p.add_unit(unit_id="A1", start=st, shift_start_s=NIGHT, shift_end_s=NIGHT + 6 * H)
    res = solve(p, FAST)
    validate(p, res)
    (pub,) = [v for v in res.route("A1").visits if v.site_id == "pub"]
    assert NIGHT + 3 * H <= pub.arrive_s < NIGHT + 4 * H
    assert pub.prize == pytest.approx(20.0)


def test_left_out_reasons():
    """not_reachable (inf travel), no_time (cannot fit even alone), not_worth_it (no room left)."""
    d, td, _ = town(12, seed=3)
    tw = td.copy()
    tw[0, 11] = tw[11, 0] = np.inf  # site 11 is on the drive network only; the unit walks (fast walkers)
    p = PatrolProblem(travel_time_s={"drive": td, "walk": tw}, distance_m={"drive": d, "walk": d})
    st = p.add_station(0)
    for i in range(1, 11):
        p.add_site(i, site_id=f"s{i}", prize=float(i), dwell_s=1200)
    p.add_site(11, site_id="island", prize=100.0, dwell_s=60)
    far = p.add_site(10, site_id="long", prize=100.0, dwell_s=1.9 * H)  # dwell + travel > shift
    assert far.location == 10
    p.add_unit(unit_id="A1", mode="walk", start=st, shift_start_s=0, shift_end_s=2 * H)
    res = solve(p, FAST)
    validate(p, res)
    assert res.unvisited["island"] == "not_reachable"
    assert res.unvisited["long"] == "no_time"
    assert "not_worth_it" in res.unvisited.values()


def test_deterministic_mode_repeats():
    """Same input and seed with deterministic=True: identical routes and times (portfolio included)."""
    params = SolveParams(time_limit_s=20, deterministic=True, det_solution_limit=300, det_pyvrp_iterations=200)
    p1, p2 = basic(12), basic(12)
    a, b = solve(p1, params), solve(p2, params)
    assert a.routes == b.routes and a.unvisited == b.unvisited and a.objective == b.objective
    assert "pyvrp" in a.stats["portfolio"]


def test_portfolio_result_is_validated():
    """With the portfolio, both solvers report, and the winner passes the validator."""
    p = basic(15)
    res = solve(p, SolveParams(time_limit_s=1.5))
    validate(p, res)
    assert {"ortools", "pyvrp"} <= set(res.stats["portfolio"])
    assert res.stats["solver"] in ("ortools", "pyvrp")
    assert res.objective == max(v["objective"] for v in res.stats["portfolio"].values() if "objective" in v)


def test_no_sites_gives_empty_valid_plan():
    """No sites is not an error: every unit stays at the station, the plan validates."""
    d, td, _ = town(3)
    p = PatrolProblem(travel_time_s={"drive": td}, distance_m={"drive": d})
    st = p.add_station(0)
    p.add_unit(unit_id="A1", start=st, shift_start_s=0, shift_end_s=H, break_s=600)
    res = solve(p, FAST)
    validate(p, res)
    assert res.routes[0].visits == () and res.unvisited == {}


# --- bad input -----------------------------------------------------------------------------------------
def _p() -> tuple[PatrolProblem, object]:
    d, td, _ = town(4)
    p = PatrolProblem(travel_time_s={"drive": td}, distance_m={"drive": d})
    return p, p.add_station(0, name="HQ")


def test_zero_units():
    p, _ = _p()
    p.add_site(1, site_id="s1", prize=1.0)
    with pytest.raises(RoutingError, match="no units"):
        solve(p, FAST)


def test_shift_shorter_than_break():
    p, st = _p()
    with pytest.raises(RoutingError, match=r"unit 'A1'.*break_s .* longer than the shift"):
        p.add_unit(unit_id="A1", start=st, shift_start_s=0, shift_end_s=1000, break_s=1800)


def test_break_window_outside_shift():
    p, st = _p()
    with pytest.raises(RoutingError, match=r"unit 'A1'.*break_window_s .* outside the shift"):
        p.add_unit(unit_id="A1", start=st, shift_start_s=0, shift_end_s=H, break_s=600,
                   break_window_s=(1800, 2 * H))


def test_dwell_longer_than_any_shift():
    p, st = _p()
    p.add_site(1, site_id="s1", prize=1.0, dwell_s=5 * H)
    p.add_unit(unit_id="A1", start=st, shift_start_s=0, shift_end_s=H)
    with pytest.raises(RoutingError, match=r"site 's1'.*dwell_s"):
        solve(p, FAST)


def test_station_off_the_network():
    d, td, _ = town(4)
    td = td.copy()
    td[3, :3] = td[:3, 3] = np.inf
    p = PatrolProblem(travel_time_s={"drive": td}, distance_m={"drive": d})
    st = p.add_station(3, name="Oakham")
    p.add_site(1, site_id="s1", prize=1.0)
    p.add_unit(unit_id="A1", start=st, shift_start_s=0, shift_end_s=H)
    with pytest.raises(RoutingError, match=r"unit 'A1'.*Oakham.*off the network"):
        solve(p, FAST)


def test_site_off_the_network():
    d, td, _ = town(4)
    td = td.copy()
    td[2, [0, 1, 3]] = td[[0, 1, 3], 2] = np.inf
    p = PatrolProblem(travel_time_s={"drive": td}, distance_m={"drive": d})
    st = p.add_station(0)
    p.add_site(1, site_id="ok", prize=1.0)
    p.add_site(2, site_id="lost", prize=1.0)
    p.add_unit(unit_id="A1", start=st, shift_start_s=0, shift_end_s=H)
    with pytest.raises(RoutingError, match=r"site 'lost'.*off the network"):
        solve(p, FAST)


@pytest.mark.parametrize(("call", "pattern"), [
    (lambda p, st: p.add_site(9, site_id="x", prize=1.0), r"site 'x'.*location 9 outside"),
    (lambda p, st: p.add_site(1, site_id="x", prize=-1.0), r"site 'x'.*prize"),
    (lambda p, st: p.add_site(1, site_id="x", prize=1.0, max_visits=0), r"site 'x'.*max_visits"),
    (lambda p, st: p.add_site(1, site_id="x", prize=1.0, repeat_factor=2.0), r"site 'x'.*repeat_factor"),
    (lambda p, st: p.add_site(1, site_id="x", prize=1.0, prize_windows=[(0, 10, 2), (5, 20, 3)]),
     r"site 'x'.*overlap"),
    (lambda p, st: p.add_unit(unit_id="A1", start=st, shift_start_s=H, shift_end_s=0), r"unit 'A1'.*shift_end_s"),
    (lambda p, st: p.add_unit(unit_id="A1", start=st, mode="bike", shift_start_s=0, shift_end_s=H),
     r"unit 'A1'.*mode 'bike'"),
    (lambda p, st: p.add_unit(unit_id="A1", start=dataclasses.replace(st, index=7), shift_start_s=0,
                              shift_end_s=H), r"unit 'A1'.*not a station of this problem"),
    (lambda p, st: p.add_unit(unit_id="A1", start=st, shift_start_s=0, shift_end_s=H, earliest_leave_s=2 * H),
     r"unit 'A1'.*earliest_leave_s"),
])
def test_bad_builder_calls_name_the_culprit(call, pattern):
    p, st = _p()
    with pytest.raises(RoutingError, match=pattern):
        call(p, st)


@pytest.mark.parametrize(("matrix", "pattern"), [
    (np.zeros((2, 3)), "square"),
    (np.array([[0, np.nan], [1, 0]]), "NaN"),
    (np.array([[0, -1.0], [1, 0]]), "negative"),
])
def test_bad_matrices(matrix, pattern):
    with pytest.raises(RoutingError, match=pattern):
        PatrolProblem(travel_time_s={"drive": matrix})


def test_bad_solve_params():
    with pytest.raises(RoutingError, match="first_solution"):
        SolveParams(first_solution="MAGIC")
    with pytest.raises(RoutingError, match="time_limit_s"):
        SolveParams(time_limit_s=0)


def test_scaling_warning_on_huge_prizes():
    """Prizes so large that integer costs near int64 warn instead of overflowing silently."""
    d, td, _ = town(3)
    p = PatrolProblem(travel_time_s={"drive": td}, distance_m={"drive": d})
    st = p.add_station(0)
    p.add_site(1, site_id="s1", prize=1e18)
    p.add_site(2, site_id="s2", prize=1.0)
    p.add_unit(unit_id="A1", start=st, shift_start_s=0, shift_end_s=H)
    from patrol_planner.routing.solve import make_scaling

    with pytest.warns(ScalingWarning):
        make_scaling(p, SolveParams(prize_resolution=1e-6))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScalingWarning)
        make_scaling(p, SolveParams())  # the default resolution follows the largest prize


# --- validator -----------------------------------------------------------------------------------------
def _broken(res: RoutingResult, **changes) -> RoutingResult:
    r = res.routes[0]
    return dataclasses.replace(res, routes=(dataclasses.replace(r, **changes), *res.routes[1:]))


def test_validator_catches_hand_broken_results():
    """Each kind of tampering is reported, naming the unit or site."""
    p = basic(break_s=1800, break_window_s=(NIGHT + H, NIGHT + 2 * H))
    res = solve(p, FAST)
    validate(p, res)
    r = res.routes[0]
    v0 = r.visits[0]
    cases = {
        "after shift end": _broken(res, return_s=NIGHT + 4 * H),
        "before its earliest": _broken(res, leave_s=NIGHT - 60),
        "needs": _broken(res, visits=(dataclasses.replace(v0, arrive_s=r.leave_s, depart_s=r.leave_s + 600),
                                      *r.visits[1:])),
        "on scene": _broken(res, visits=(dataclasses.replace(v0, depart_s=v0.arrive_s + 60), *r.visits[1:])),
        "has no break": _broken(res, break_interval_s=None),
        "outside its window": _broken(res, break_interval_s=(NIGHT + 2.5 * H, NIGHT + 2.5 * H + 1800)),
        "prize": _broken(res, visits=(dataclasses.replace(v0, prize=v0.prize + 1), *r.visits[1:])),
        "max_visits": _broken(res, visits=(*r.visits, dataclasses.replace(v0, visit_no=2))),
    }
    for pattern, bad in cases.items():
        errs = problems_with(p, bad)
        assert any(pattern in e for e in errs), (pattern, errs)
        with pytest.raises(PlanValidationError):
            validate(p, bad)
    dropped = dataclasses.replace(res, routes=(dataclasses.replace(r, visits=r.visits[1:]), *res.routes[1:]))
    assert any("neither visited nor listed" in e for e in problems_with(p, dropped))


def test_validator_catches_gap_and_radius():
    """A hand-made plan visiting a site twice too soon, by a foot unit outside its radius."""
    d, _, tw = town(3)
    p = PatrolProblem(travel_time_s={"walk": tw}, distance_m={"walk": d})
    st = p.add_station(0)
    p.add_site(1, site_id="s1", prize=4.0, dwell_s=60, max_visits=2, min_gap_s=H, repeat_factor=0.5)
    p.add_unit(unit_id="F1", mode="walk", start=st, shift_start_s=0, shift_end_s=10 * H,
               max_radius_m=d[0, 1] / 2)
    t = tw[0, 1]
    visits = (Visit("s1", 1, t, t + 60, 4.0, t, d[0, 1]), Visit("s1", 2, t + 600, t + 660, 2.0, 0.0, 0.0))
    bad = RoutingResult(routes=(UnitRoute("F1", visits, 0.0, t + 660 + t, None, t, d[1, 0]),),
                        unvisited={}, objective=6.0)
    errs = problems_with(p, bad)
    assert any("min_gap_s" in e for e in errs)
    assert any("not reachable for this unit" in e for e in errs)


# --- TOP ---------------------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[1]
TOP_DIR = REPO / ".." / "shared" / "benchmarks" / "top"
needs_top = [pytest.mark.shared,
             pytest.mark.skipif(not TOP_DIR.is_dir(), reason="../shared/benchmarks/top (TOP instances) is not present")]


@needs_top[0]
@needs_top[1]
def test_top_tours_never_exceed_tmax():
    """A Chao instance solved through the same solve(): every tour <= tmax in real arithmetic."""
    from benchlib.top import read_top, top_params, top_problem, top_routes

    inst = read_top(TOP_DIR / "p3.4.p.txt")
    res = solve(top_problem(inst), top_params(inst, 2.0))
    routes = top_routes(res)
    assert len(routes) <= inst.n_vehicles
    flat = [i for r in routes for i in r]
    assert len(flat) == len(set(flat)) and 0 not in flat and len(inst.score) - 1 not in flat
    for r in routes:
        assert inst.route_length(r) <= inst.tmax * (1 + 1e-9)
    score = sum(inst.score[i] for i in flat)
    assert score == pytest.approx(res.prize)
    assert score >= 0.9 * 560  # best known 560; a broken model lands far below


def test_top_reader_errors(tmp_path):
    """A malformed header or point count is a FormatError naming the problem; a good file reads."""
    from benchlib.top import read_top
    from patrol_planner.errors import FormatError

    f = tmp_path / "bad.txt"
    f.write_text("n 3\nm 1\ntmax x\n0 0 0\n1 1 1\n2 2 0\n")
    with pytest.raises(FormatError, match="tmax is not a number"):
        read_top(f)
    f.write_text("n 4\nm 1\ntmax 5\n0 0 0\n1 1 1\n2 2 0\n")
    with pytest.raises(FormatError, match="n=4"):
        read_top(f)
    f.write_text("n 4\nm 2\ntmax 5.5\n0 0 0\n1 1 3\n2 1 4\n2 2 0\n")
    inst = read_top(f)
    assert (inst.n_vehicles, inst.tmax, len(inst.score)) == (2, 5.5, 4)
    assert math.isclose(inst.route_length([1, 2]), math.sqrt(2) + 1 + 1)


def test_solve_params_default_to_a_scenario_solver_table():
    """SolveParams() is what a scenario's [solver] table defaults to (deterministic, same cap and
    restarts), and every [solver] field is a SolveParams field of the same name, so tables map one-to-one."""
    from patrol_planner.scenario.config import SolverConfig

    cfg, params = SolverConfig(), SolveParams()
    for name, value in cfg.model_dump().items():
        assert getattr(params, name) == value, name
    assert params.deterministic and params.time_limit_s == cfg.time_limit_s
    assert SolveParams(**cfg.model_dump()) == params

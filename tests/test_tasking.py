"""Tasks, timed intelligence, no-go areas, sectors, response cover and stable re-plans.

Routing rules on small real-valued matrices with the real solvers, then the bundled tasking scenario end to
end on the real OSM graph of Rutland: every check here reads the plan, never the solver's internals.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Point, Polygon
from typer.testing import CliRunner

from patrol_planner.cli import app
from patrol_planner.errors import TaskInfeasibleError
from patrol_planner.routing import PatrolProblem, SolveParams, cover_timeline, problems_with, solve
from patrol_planner.scenario import load_scenario, run_plan

ROOT = Path(__file__).resolve().parents[1]
TASKING = ROOT / "scenarios" / "rutland-tasking.toml"
FAST = {"lns_iterations": 60}


def _grid_problem(seed: int = 0) -> PatrolProblem:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 12_000, (40, 2))
    D = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    p = PatrolProblem(travel_time_s={"drive": D / 10}, distance_m={"drive": D})
    a, b = p.add_station(0, name="A"), p.add_station(1, name="B")
    for i in range(2, 34):
        p.add_site(i, site_id=f"s{i}", prize=float(rng.uniform(1, 10)), dwell_s=600, max_visits=2, min_gap_s=3600,
                   allowed_units=["U1"] if i % 5 == 0 else None, blocked_s=[(3000, 9000)] if i % 7 == 0 else ())
    for uid, st in (("U1", a), ("U2", b), ("U3", a)):
        p.add_unit(unit_id=uid, start=st, shift_start_s=0, shift_end_s=28_800, break_s=1800,
                   break_window_s=(10_000, 18_000))
    p.add_site(34, site_id="task-1", prize=0, dwell_s=600, required=True, time_window_s=(7200, 7800))
    p.add_site(35, site_id="task-2", prize=0, dwell_s=900, required=True, time_window_s=(20_000, 21_000),
               allowed_units=["U2"])
    p.add_cover(name="A", locations=[0], within_s=900, min_units=1, unit_ids=["U1"])
    return p


@pytest.mark.parametrize("search", ["lns", "ortools"])
def test_routing_keeps_tasks_windows_sectors_blocks_and_cover(search: str) -> None:
    p = _grid_problem()
    res = solve(p, SolveParams(search=search, time_limit_s=60, lns_iterations=80, det_solution_limit=20,
                               restarts=2))
    assert problems_with(p, res) == []
    visits = {v.site_id: (r.unit_id, v) for r in res.routes for v in r.visits}
    assert visits["task-2"][0] == "U2"
    for sid in ("task-1", "task-2"):
        s = p.site_by_id(sid)
        assert s.open_s <= visits[sid][1].arrive_s <= s.close_s
    for sid, (uid, v) in visits.items():
        s = p.site_by_id(sid)
        assert s.allowed_units is None or uid in s.allowed_units
        assert not s.blocked_at(v.arrive_s)
    _, count = cover_timeline(p, res, p.covers[0])
    assert count.min() >= 1


def test_validator_finds_each_broken_rule() -> None:
    p = _grid_problem()
    res = solve(p, SolveParams(time_limit_s=60, lns_iterations=40))
    # a task dropped, a visit moved into a blocked period, a sector broken, the cover unit sent far away
    routes = list(res.routes)
    r1 = routes[1]
    routes[1] = dataclasses.replace(r1, visits=tuple(v for v in r1.visits if v.site_id != "task-2"))
    errs = problems_with(p, dataclasses.replace(res, routes=tuple(routes)))
    assert any("task-2" in e and "required" in e for e in errs)
    blocked = next(s for s in p.sites if s.blocked_s)
    lone = dataclasses.replace(res, routes=tuple(
        dataclasses.replace(r, visits=(dataclasses.replace(r.visits[0], site_id=blocked.site_id, arrive_s=4000.0,
                                                           depart_s=4000.0 + blocked.dwell_s),))
        if r.unit_id == "U3" else r for r in res.routes))
    assert any("no-go" in e for e in problems_with(p, lone))
    far = max(range(2, 34), key=lambda i: p.travel_time_s["drive"][0, i])
    u1 = next(r for r in res.routes if r.unit_id == "U1")
    away = dataclasses.replace(u1, visits=(dataclasses.replace(u1.visits[0], site_id=f"s{far}"),))
    errs = problems_with(p, dataclasses.replace(res, routes=tuple(away if r.unit_id == "U1" else r
                                                                   for r in res.routes)))
    assert any("cover 'A'" in e for e in errs)
    if far % 5 != 0:
        sector_site = next(s for s in p.sites if s.allowed_units == frozenset({"U1"}))
        u2 = next(r for r in res.routes if r.unit_id == "U2")
        wrong = dataclasses.replace(u2, visits=(dataclasses.replace(u2.visits[0], site_id=sector_site.site_id),))
        errs = problems_with(p, dataclasses.replace(res, routes=tuple(wrong if r.unit_id == "U2" else r
                                                                       for r in res.routes)))
        assert any("allowed units" in e for e in errs)


def test_a_task_that_cannot_be_served_is_named_with_its_reason() -> None:
    p = _grid_problem()
    p.add_site(36, site_id="too-early", prize=0, dwell_s=600, required=True, time_window_s=(0, 5))
    with pytest.raises(TaskInfeasibleError, match=r"task 'too-early' cannot be served: it must start by"):
        solve(p)


# ------------------------------------------------------------------------------------------------------
# The bundled tasking scenario on the real Rutland graph
# ------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tasking_run():  # noqa: ANN201
    s = load_scenario(TASKING)
    return s, run_plan(s.replace(solver=FAST))


def _t(x: str | datetime) -> datetime:
    return datetime.fromisoformat(x) if isinstance(x, str) else x


def test_tasking_scenario_serves_every_task_in_its_window(tasking_run) -> None:  # noqa: ANN001
    s, run = tasking_run
    assert problems_with(run.problem, run.result) == []
    tasks = {t.id: t for t in s.tasks}
    served = {st.hotspot_id: (u.unit_id, st) for u in run.plan.units for st in u.stops if st.kind == "task"}
    assert set(served) == set(tasks)
    for row in run.plan.rules["tasks"]:
        w0, w1 = (_t(x) for x in row["window"])
        uid, st = served[row["id"]]
        assert w0 <= st.arrive and st.depart <= w1, row["id"]
        t = tasks[row["id"]]
        if t.unit:
            assert uid == t.unit
    assert run.plan.metrics["tasks_served"] == len(tasks)


def test_no_stop_inside_an_active_no_go_area_and_sectors_kept(tasking_run) -> None:  # noqa: ANN001
    s, run = tasking_run
    areas = [(Polygon(e["polygon_lonlat"]), _t(e["active"][0]), _t(e["active"][1]))
             for e in run.plan.rules["exclusions"]]
    sectors = {x.name: Polygon(x.polygon) for x in s.sectors}
    sector_of = {u.id: u.sector for u in s.units}
    for u in run.plan.units:
        for st in u.stops:
            pt = Point(st.lon, st.lat)
            for poly, a, b in areas:
                assert not (poly.contains(pt) and st.arrive < b and st.depart > a), (u.unit_id, st.hotspot_id)
            if sector_of[u.unit_id]:
                assert sectors[sector_of[u.unit_id]].contains(pt), (u.unit_id, st.hotspot_id)


def test_cover_holds_at_every_minute(tasking_run) -> None:  # noqa: ANN001
    s, run = tasking_run
    cover = run.plan.rules["cover"]
    assert {c["sector"] for c in cover} == {x.name for x in s.sectors}
    for c in cover:
        shift_min = 8 * 60
        assert len(c["units_within"]) == shift_min + 1
        assert min(c["units_within"]) >= s.cover.min_units, c["sector"]


def test_restricted_intelligence_is_described_neutrally(tasking_run) -> None:  # noqa: ANN001
    _, run = tasking_run
    labels = {t["id"]: t["label"] for t in run.plan.rules["intel_visits"]}
    assert labels["intel-1"] == "intelligence-led visit"  # RUT-SYN-0008: handling code C
    text = run.plan.to_json()
    assert "RUT-SYN-0008" not in text.split('"provenance"')[0]


def test_replan_with_one_unit_removed_keeps_the_other_units_stops() -> None:
    s = load_scenario(ROOT / "scenarios" / "rutland-night.toml").replace(solver=FAST)
    prev = run_plan(s).plan
    fewer = s.replace(units=[u.model_dump() for u in s.units if u.id != "RU-A2"])
    new = run_plan(fewer, previous=prev).plan
    rp = new.metrics["replan"]
    assert rp["units_removed"] == ["RU-A2"]
    assert rp["stops_changed"] == rp["stops_dropped"] + rp["stops_added"]
    kept_before = sum(u.harm_covered for u in prev.units if u.unit_id != "RU-A2")
    for uid, ch in new.rules["replan"]["per_unit"].items():
        # every stop kept, unless dropping some raised the harm covered by the units kept
        if ch["dropped"]:
            assert sum(u.harm_covered for u in new.units) > kept_before, uid
    assert new.metrics["harm_covered"] >= kept_before


def test_cli_infeasible_task_one_line_each_and_nonzero_exit(tmp_path: Path) -> None:
    text = TASKING.read_text(encoding="utf-8").replace('window = "01:00-03:00"\ndwell_min = 10',
                                                       'window = "22:00-22:15"\ndwell_min = 10')
    text = text.replace('"../data/', f'"{ROOT}/data/')
    p = tmp_path / "bad.toml"
    p.write_text(text, encoding="utf-8")
    r = CliRunner().invoke(app, ["plan", str(p), "--out", str(tmp_path / "o")])
    assert r.exit_code == TaskInfeasibleError.exit_code
    lines = [ln for ln in r.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "T4-bail" in lines[0] and "must start by 22:05" in lines[0]
    assert "Traceback" not in r.output

"""The scenario's configuration and its public adapters, one at a time, on the bundled Rutland data.

Pins what a caller of the steps relies on: the configuration is resolved once (absolute paths, aware
times, seconds), tables map onto the stages' parameters, overrides are validated, and a *given* list of
places can be routed without the hotspot step.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from patrol_planner.errors import RoutingError, ScenarioError
from patrol_planner.scenario import (
    Clock,
    build_networks,
    load_scenario,
    problem_from_sites,
    site_outcomes,
    unit_plans_from_result,
    units_on_duty,
)
from patrol_planner.scenario.config import HotspotConfig, SolverConfig

REPO = Path(__file__).resolve().parents[1]
NIGHT = REPO / "scenarios" / "rutland-night.toml"
OSM = REPO / "data" / "osm-rutland-2022" / "rutland-latest.osm.pbf"
LONDON = ZoneInfo("Europe/London")


def test_resolved_scenario_is_absolute_aware_and_in_seconds() -> None:
    """resolved(): absolute existing paths, a ZoneInfo, dwell and gap in seconds, parsed shift times."""
    s = load_scenario(NIGHT)
    r = s.resolved()
    paths = [p for g in r.incident_groups for p in g.paths]
    assert len(paths) == 3 and all(p.is_absolute() and p.is_file() for p in paths)
    assert r.osm == OSM.resolve() and r.tz == LONDON
    assert (r.dwell_s, r.min_gap_s) == (15 * 60.0, 120 * 60.0)
    assert s.units[0].shift == (time(22, 0), time(6, 0)) and s.units[0].earliest_leave == time(22, 20)
    assert s.model_dump(mode="json")["units"][0]["shift"] == "22:00-06:00"  # provenance keeps the file's text
    assert [g.fmt for g in r.incident_groups] == [None, "intelligence"]


def test_tables_map_one_to_one_onto_parameters() -> None:
    """Every HotspotModel parameter but the grid origin is a [hotspots] field; [solver] fills SolveParams."""
    from patrol_planner.hotspots import HotspotModel

    assert set(HotspotModel().get_params()) - {"origin"} <= set(HotspotConfig.model_fields)
    assert HotspotConfig(cell_size_m=123, grid="hex").model_params() == {"cell_size_m": 123, "grid": "hex",
                                                                        "harm": "cchi"}
    p = SolverConfig(time_limit_s=7, seed=3, restarts=4, workers=1).solve_params()
    counts = {f.name: getattr(p, f.name) for f in dataclasses.fields(p) if f.name in ("restarts", "det_restarts")}
    assert (p.time_limit_s, p.seed, p.deterministic, p.workers) == (7, 3, True, 1) and 4 in counts.values()


def test_overrides_and_copies_are_validated() -> None:
    """replace() rejects what a file would; the unused stations_from_osm key is now an unknown key."""
    s = load_scenario(NIGHT)
    assert s.replace(solver={"seed": 5}).solver.seed == 5 and s.replace(solver={"seed": 5}).solver.restarts == 10
    with pytest.raises(ScenarioError, match="solver.time_limit_s"):
        s.replace(solver={"time_limit_s": 0})
    with pytest.raises(ScenarioError, match="units.0.shift"):
        s.replace(units=[{"id": "X", "station": "Oakham", "shift": "25:00-06:00"}])
    with pytest.raises(ScenarioError, match="stations_from_osm"):
        s.replace(data={"stations_from_osm": True})


def _stations() -> pd.DataFrame:
    # Two stations by hand (labelled synthetic positions near the real Oakham and Uppingham stations).
    return pd.DataFrame({"name": ["Oakham police station", "Uppingham police station"],
                         "lon": [-0.7270, -0.7215], "lat": [52.6700, 52.5880]})


def test_units_on_duty_makes_aware_shift_times_across_midnight() -> None:
    """A 22:00-06:00 shift on 2 Sep ends 06:00 on 3 Sep (BST); the break lands inside; the clock starts at 22:00."""
    s = load_scenario(NIGHT)
    units = units_on_duty(s.units[:2], date(2022, 9, 2), LONDON, _stations())
    u = units[0]
    assert u.start.name == "Oakham police station" and u.shift_start == datetime(2022, 9, 2, 22, 0, tzinfo=LONDON)
    assert u.shift_end == datetime(2022, 9, 3, 6, 0, tzinfo=LONDON) and u.shift_end.utcoffset().seconds == 3600
    assert u.break_window == (datetime(2022, 9, 3, 1, 0, tzinfo=LONDON), datetime(2022, 9, 3, 3, 0, tzinfo=LONDON))
    clock = Clock.for_units(units)
    assert clock.seconds(u.earliest_leave) == 20 * 60 and clock.at(8 * 3600) == u.shift_end
    bad = s.units[0].model_copy(update={"break_window": (time(7, 0), time(8, 0))})
    with pytest.raises(RoutingError, match="break_window 07:00-08:00 is not inside the shift 22:00-06:00"):
        units_on_duty([bad], date(2022, 9, 2), LONDON, _stations())
    with pytest.raises(ScenarioError, match="'Atlantis' is not a police station"):
        units_on_duty([s.units[0].model_copy(update={"station": "Atlantis"})], date(2022, 9, 2), LONDON, _stations())


@pytest.mark.slow
def test_a_given_list_of_places_is_routed_without_hotspots(tmp_path: Path) -> None:
    """Three named places (lon/lat only, own dwell and visits) routed for one unit on a given evening window."""
    from patrol_planner import network as nw
    from patrol_planner import routing as rt
    from patrol_planner.geo import BNG

    s = load_scenario(NIGHT)
    unit = s.units[0].model_copy(update={"shift": (time(18, 0), time(21, 0)), "break_min": 0,
                                         "break_window": None, "earliest_leave": None})
    units = units_on_duty([unit], date(2022, 9, 2), LONDON, nw.police_stations(OSM))
    clock = Clock.for_units(units)
    places = pd.DataFrame({  # Oakham Market Place, Oakham station road, Uppingham Market Place
        "site_id": ["oakham-market", "oakham-station-rd", "uppingham-market"],
        "lon": [-0.7266, -0.7345, -0.7235], "lat": [52.6697, 52.6712, 52.5893],
        "prize": [3.0, 2.0, 1.0], "dwell_s": [600.0, 900.0, 600.0], "max_visits": [1, 2, 1],
        "min_gap_s": [3600.0, 3600.0, 0.0], "repeat_factor": [1.0, 0.5, 1.0], "prize_windows": [(), (), ()]})
    nets = build_networks(OSM, ["drive"], crs=BNG, cache_dir=tmp_path)
    routed = problem_from_sites(places, units, clock, nets, crs=BNG)
    result = rt.solve(routed.problem, SolverConfig(restarts=0, workers=1, time_limit_s=30).solve_params())
    rt.validate(routed.problem, result)
    plans = unit_plans_from_result(result, routed, units, clock, nets, crs=BNG)
    stops = plans[0].stops
    assert {x.hotspot_id for x in stops} == {"oakham-market", "oakham-station-rd", "uppingham-market"}
    assert all(units[0].shift_start <= x.arrive < x.depart <= units[0].shift_end for x in stops)
    assert {(x.hotspot_id, (x.depart - x.arrive).total_seconds()) for x in stops} >= {("oakham-market", 600.0)}
    assert (site_outcomes(result, routed)["status"] == "visited").all()
    assert all(len(x.path_lonlat) >= 1 for x in stops)


def test_neighbouring_cells_on_one_road_point_are_one_stop_that_covers_both(tmp_path: Path) -> None:
    """Two neighbouring 100 m cells of the 60-spot night snap to the same road node; routed back to back
    they are one stop covering both (both dwells, the prizes' sum), not two stops 100 m apart with 0 s and
    0 m between them; plan.json, schedule.csv and the briefing say which cells the stop covers."""
    from patrol_planner import network as nw
    from patrol_planner import routing as rt
    from patrol_planner.geo import BNG, to_xy
    from patrol_planner.plan import Plan
    from patrol_planner.report.briefing import render_briefing
    from patrol_planner.report.exports import schedule_frame
    from patrol_planner.scenario import hotspot_statuses

    s = load_scenario(NIGHT)
    unit = s.units[0].model_copy(update={"shift": (time(18, 0), time(21, 0)), "break_min": 0,
                                         "break_window": None, "earliest_leave": None})
    units = units_on_duty([unit], date(2022, 9, 2), LONDON, nw.police_stations(OSM))
    clock = Clock.for_units(units)
    places = pd.DataFrame({  # cell centres of E27700-S100-4856-3084 and -4857-3084, and Uppingham Market Place
        "site_id": ["A", "B", "uppingham-market"], "lon": [-0.734913, -0.733435, -0.7235],
        "lat": [52.667007, 52.666991, 52.5893], "prize": [3.0, 2.0, 1.0], "dwell_s": [900.0, 600.0, 600.0],
        "max_visits": [1, 1, 1], "min_gap_s": [0.0, 0.0, 0.0], "repeat_factor": [1.0, 1.0, 1.0],
        "prize_windows": [(), (), ()]})
    nets = build_networks(OSM, ["drive"], crs=BNG, cache_dir=tmp_path)
    x, y = to_xy(places["lon"].to_numpy(), places["lat"].to_numpy(), BNG)
    node = nw.snap_points(nets["drive"], x, y, max_snap_m=250).node_ids
    assert node[0] == node[1] != node[2]  # the case itself: two cells, one road point
    routed = problem_from_sites(places, units, clock, nets, crs=BNG)
    result = rt.solve(routed.problem, SolverConfig(restarts=0, workers=1, time_limit_s=30).solve_params())
    rt.validate(routed.problem, result)
    (u,) = unit_plans_from_result(result, routed, units, clock, nets, crs=BNG)
    assert sum(len(r.visits) for r in result.routes) == 3 and len(u.stops) == 2
    (both,) = [x for x in u.stops if x.hotspot_id in ("A", "B")]
    assert set(both.covers) == {"A", "B"} and both.covers[0] == both.hotspot_id
    assert (both.depart - both.arrive).total_seconds() == 1500.0 and both.prize == 5.0
    assert [x.seq for x in u.stops] == [1, 2] and u.harm_covered == 6.0
    other = next(x for x in u.stops if x is not both)
    assert other.covers == ("uppingham-market",)
    plan = Plan(units=(u,), hotspots=hotspot_statuses(
        places.assign(cell_id=places["site_id"], rank=[1, 2, 3], score=places["prize"]),
        site_outcomes(result, routed), [()] * 3, {}, [{}] * 3), metrics={}, provenance={})
    assert Plan.from_dict(plan.to_dict()).units[0].stops == u.stops
    sched = schedule_frame(plan)
    assert sorted(sched["covers"]) == sorted([";".join(both.covers), "uppingham-market"])
    html = render_briefing(plan)
    assert html.count("also covers (same road point)") == 1


def test_harm_covered_means_one_thing_in_metrics_units_and_briefing(tmp_path: Path) -> None:
    """With a time-of-day weighting that doubles a site's prize, the solver's time-weighted harm differs
    from the harm covered; metrics["harm_covered"], the units' harm_covered and the briefing's "X harm
    covered (of Y offered)" are all the unweighted figure, Y is metrics["harm_offered"] (same kind), and a
    plan without harm_offered shows no "of" (hotspot scores count first visits only: not like by like)."""
    from patrol_planner import network as nw
    from patrol_planner import routing as rt
    from patrol_planner.geo import BNG
    from patrol_planner.plan import HotspotStatus, Plan
    from patrol_planner.report.briefing import briefing_context
    from patrol_planner.scenario.adapters import harm_metrics

    s = load_scenario(NIGHT)
    unit = s.units[0].model_copy(update={"shift": (time(18, 0), time(21, 0)), "break_min": 0,
                                         "break_window": None, "earliest_leave": None})
    units = units_on_duty([unit], date(2022, 9, 2), LONDON, nw.police_stations(OSM))
    clock = Clock.for_units(units)
    a, b = clock.window(units)
    places = pd.DataFrame({  # Oakham Market Place (weighted x2 all evening) and Oakham station road
        "site_id": ["oakham-market", "oakham-station-rd"], "lon": [-0.7266, -0.7345], "lat": [52.6697, 52.6712],
        "prize": [3.0, 2.0], "dwell_s": [600.0, 600.0], "max_visits": [2, 1], "min_gap_s": [3600.0, 0.0],
        "repeat_factor": [0.5, 1.0], "prize_windows": [((a, b, 2.0),), ()]})
    nets = build_networks(OSM, ["drive"], crs=BNG, cache_dir=tmp_path)
    routed = problem_from_sites(places, units, clock, nets, crs=BNG)
    result = rt.solve(routed.problem, SolverConfig(restarts=0, workers=1, time_limit_s=30).solve_params())
    plans = unit_plans_from_result(result, routed, units, clock, nets, crs=BNG)
    m = harm_metrics(routed.sites, result)
    assert sum(len(u.stops) for u in plans) == 3  # both visits to the market, one to station road
    assert m["harm_covered"] == pytest.approx(3.0 + 1.5 + 2.0) == sum(u.harm_covered for u in plans)
    assert m["harm_covered_time_weighted"] == pytest.approx(2 * 4.5 + 2.0)
    assert m["harm_offered"] == pytest.approx(6.5)
    kpis = dict((label, value) for value, label in briefing_context(
        Plan(units=plans, hotspots=(), metrics=m, provenance={})).get("kpis"))
    assert kpis["harm covered (of 6.5 offered)"] == "6.5"
    scored = tuple(HotspotStatus(hotspot_id=str(r.site_id), rank=i + 1, score=float(r.prize), lon=r.lon, lat=r.lat,
                                 visits=1, status="visited") for i, r in enumerate(places.itertuples()))
    kpis = [label for _, label in briefing_context(Plan(units=plans, hotspots=scored, metrics={},
                                                        provenance={}))["kpis"]]
    assert "harm covered" in kpis and not any("offered" in k for k in kpis)  # not 6.5 "of" 5.0

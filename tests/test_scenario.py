"""End-to-end tests of the pipeline on the bundled Rutland data: the real ingest, hotspot model, OSM
graph and OR-Tools solver, with short solver time limits."""

from __future__ import annotations

import json
import tomllib
from datetime import datetime
from pathlib import Path

import pytest

from patrol_planner.errors import PatrolPlannerError, RoutingError, ScenarioError
from patrol_planner.routing import validate
from patrol_planner.scenario import load_scenario, run_plan, scenario_from_dict

REPO = Path(__file__).resolve().parents[1]
NIGHT = REPO / "scenarios" / "rutland-night.toml"
DAY = REPO / "scenarios" / "rutland-day-foot.toml"


def _raw(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _small(path: Path = NIGHT, **changes: object) -> dict:
    """The scenario with a short solver budget and a smaller hotspot list, so a test takes seconds."""
    raw = _raw(path)
    raw["solver"] = {"time_limit_s": 30, "seed": 0, "restarts": 2}
    raw["hotspots"] = {**raw.get("hotspots", {}), "top": 12}
    raw.update(changes)
    return raw


def _scenario(raw: dict, base: Path = NIGHT.parent):
    return scenario_from_dict(raw, base_dir=base)


@pytest.fixture(scope="module")
def night_run(tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("cache")
    return run_plan(_scenario(_small()), cache_dir=cache)


@pytest.mark.slow
def test_default_night_plan_is_valid_and_covers_harm(night_run) -> None:
    """The bundled default plan: every unit has visits, the independent validator passes, harm is covered."""
    validate(night_run.problem, night_run.result)
    plan = night_run.plan
    assert [u.unit_id for u in plan.units] == ["RU-A1", "RU-A2", "RU-B1"]
    assert all(len(u.stops) > 0 for u in plan.units)
    assert plan.metrics["harm_covered"] > 0
    assert plan.metrics["harm_covered"] <= plan.metrics["harm_offered"] + 1e-6
    for u in plan.units:
        assert u.shift_start <= u.leave <= u.stops[0].arrive
        assert u.return_arrive <= u.shift_end
        for a, b in zip(u.stops, u.stops[1:], strict=False):
            assert a.depart <= b.arrive
        for s in u.stops:
            assert (s.depart - s.arrive).total_seconds() == pytest.approx(15 * 60, abs=1)
            assert len(s.path_lonlat) >= 1
        assert len(u.breaks) == 1 and (u.breaks[0].end - u.breaks[0].start).total_seconds() >= 30 * 60 - 1


@pytest.mark.slow
def test_repeat_visits_are_spaced(night_run) -> None:
    """Successive visits to one hotspot start at least min_gap_min (120) apart, across all units."""
    starts: dict[str, list[datetime]] = {}
    for u in night_run.plan.units:
        for s in u.stops:
            starts.setdefault(s.hotspot_id, []).append(s.arrive)
    for times in starts.values():
        times.sort()
        for a, b in zip(times, times[1:], strict=False):
            assert (b - a).total_seconds() >= 120 * 60 - 1


@pytest.mark.slow
def test_plan_json_has_documented_fields(night_run, tmp_path: Path) -> None:
    """plan.json has the documented fields, ISO 8601 times with offset (BST), and provenance with input hashes."""
    d = json.loads(night_run.plan.to_json())
    assert {"units", "hotspots", "metrics", "provenance"} <= set(d)
    u = d["units"][0]
    assert {"id", "shift_start", "shift_end", "stops"} <= set(u)
    stop = u["stops"][0]
    assert {"hotspot_id", "arrive", "depart", "lon", "lat"} <= set(stop)
    assert datetime.fromisoformat(stop["arrive"]).utcoffset() is not None  # ISO 8601 with offset
    assert datetime.fromisoformat(u["shift_start"]).isoformat().endswith("+01:00")  # BST in September
    prov = d["provenance"]
    assert len(prov["inputs"]) == 4 and all(len(i["sha256"]) == 64 for i in prov["inputs"])
    assert prov["versions"]["patrol-planner"]
    assert prov["parameters"]["visits"]["dwell_min"] == 15


@pytest.mark.slow
def test_intelligence_text_never_reaches_the_plan(night_run) -> None:
    """The synthetic intelligence file's free text must not appear anywhere in plan.json."""
    import csv

    text = night_run.plan.to_json()
    with open(REPO / "data" / "intel-rutland-synthetic" / "intel.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    fragments = [r["text"].strip()[:25] for r in rows]
    assert len(fragments) >= 10 and min(len(f) for f in fragments) >= 12  # long enough to be telling
    assert [f for f in fragments if f in text] == []


@pytest.mark.slow
def test_same_seed_same_plan(tmp_path: Path) -> None:
    """Deterministic mode: two runs of the same scenario and seed give the same stops."""
    raw = _small()
    raw["solver"] = {"time_limit_s": 120, "seed": 3, "restarts": 3}  # the cap must not cut the search
    s = _scenario(raw)
    a = run_plan(s, cache_dir=tmp_path).plan
    assert a.metrics["reproducible"]
    b = run_plan(s, cache_dir=tmp_path).plan

    def key(p):
        return [(u.unit_id, [(x.hotspot_id, x.arrive) for x in u.stops]) for u in p.units]

    assert key(a) == key(b)


@pytest.mark.slow
def test_foot_patrols_stay_near_their_station(tmp_path: Path) -> None:
    """Day scenario: walking units only visit hotspots within their radius of Oakham station."""
    from patrol_planner.geo import BNG, to_xy

    run = run_plan(_scenario(_small(DAY), DAY.parent), cache_dir=tmp_path)
    validate(run.problem, run.result)
    foot = [u for u in run.plan.units if u.mode == "walk"]
    assert foot and any(u.stops for u in foot)
    for u in foot:
        sx, sy = to_xy([u.start.lon], [u.start.lat], BNG)
        for s in u.stops:
            x, y = to_xy([s.lon], [s.lat], BNG)
            assert ((x - sx) ** 2 + (y - sy) ** 2) ** 0.5 <= 1500 + 150  # straight line <= road radius (+cell)


def test_unknown_station_is_named(tmp_path: Path) -> None:
    """A station name not in the OSM extract is a ScenarioError naming the unit and the name."""
    raw = _small()
    raw["units"][0]["station"] = "Atlantis"
    with pytest.raises(ScenarioError, match="RU-A1.*Atlantis"):
        run_plan(_scenario(raw), cache_dir=tmp_path)


def test_station_off_the_network_is_named(tmp_path: Path) -> None:
    """A station placed in open country far from any road is reported with its name, not moved."""
    raw = _small()
    raw["units"][0]["station"] = {"name": "Middle of Rutland Water", "lon": -0.6300, "lat": 52.6520}
    with pytest.raises(RoutingError, match="Middle of Rutland Water"):
        run_plan(_scenario(raw), cache_dir=tmp_path)


def test_no_units_is_a_clear_error() -> None:
    """run_plan on a scenario without units raises RoutingError saying so."""
    raw = _small()
    raw["units"] = []
    with pytest.raises(RoutingError, match="no units"):
        run_plan(_scenario(raw))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"units": [{"id": "X", "station": "Oakham", "shift": "22:00-23:00", "break_min": 90,
                     "break_window": "22:00-23:00"}]}, "units.0.*break_min"),
        ({"visits": {"dwell_min": 0}}, "visits.dwell_min"),
        ({"solver": {"time_limit": 5}}, "solver.time_limit"),
        ({"units": [{"id": "X", "station": "Oakham", "shift": "25:00-06:00"}]}, "units.0.shift"),
        ({"area": {"bbox": [1, 2, 0, 3]}}, "area.bbox"),
    ],
)
def test_scenario_errors_name_the_field(change: dict, match: str) -> None:
    """Each invalid value is a ScenarioError naming its field's dotted path."""
    raw = _small()
    raw.update(change)
    with pytest.raises(ScenarioError, match=match):
        _scenario(raw)


def test_dwell_longer_than_shift_is_infeasible_and_named(tmp_path: Path) -> None:
    """A visit that cannot fit in any shift is refused with a message naming dwell and the shift."""
    raw = _small()
    raw["visits"] = {"dwell_min": 200}
    raw["units"] = [{"id": "SHORT", "station": "Oakham", "shift": "22:00-23:00"}]
    with pytest.raises(RoutingError, match="dwell_s 12000 s is longer than any unit's available shift"):
        run_plan(_scenario(raw), cache_dir=tmp_path)


def test_bundled_scenarios_load() -> None:
    """Every bundled scenario file validates."""
    for p in sorted((REPO / "scenarios").glob("*.toml")):
        s = load_scenario(p)
        assert s.name


def test_all_errors_are_patrol_planner_errors() -> None:
    """Scenario and routing errors are PatrolPlannerErrors, so the CLI maps them to one line and an exit code."""
    assert issubclass(ScenarioError, PatrolPlannerError) and issubclass(RoutingError, PatrolPlannerError)


def test_police_stations_and_prisons_do_not_make_patrol_hotspots(tmp_path: Path) -> None:
    """Crimes police.uk places "On or near Police Station"/"Prison" are set aside by default, counted, and can be
    kept by name."""
    import csv

    from patrol_planner.incidents import ingest
    from patrol_planner.scenario import patrol_relevant

    src = REPO / "data" / "policeuk-leicestershire-2022" / "2022-07-leicestershire-street.csv"
    with open(src, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))[:2000]
    for i, r in enumerate(rows):  # as Essex's files have them (858 and 262 rows in 2018)
        if i % 50 == 0:
            r["Location"] = "On or near Police Station"
        elif i % 50 == 1:
            r["Location"] = "On or near Prison"
    crafted = tmp_path / "2022-07-crafted-street.csv"
    with open(crafted, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    inc = ingest([crafted]).incidents
    s = _scenario(_small())
    kept, aside = patrol_relevant(inc, s.hotspots)
    n_station = int((inc["location"] == "On or near Police Station").sum())
    assert n_station > 0 and aside["On or near Police Station"] == n_station
    assert len(kept) == len(inc) - sum(aside.values())
    assert not kept["location"].isin(["On or near Police Station", "On or near Prison"]).any()
    assert kept.attrs["crs"] == inc.attrs["crs"]
    raw = _small()
    raw["hotspots"] = {**raw["hotspots"], "set_aside_institutions": False, "use_intelligence": False}
    kept2, aside2 = patrol_relevant(inc, _scenario(raw).hotspots)
    assert len(kept2) == len(inc) and aside2 == {}
    raw["hotspots"] = {**raw["hotspots"], "set_aside_institutions": True, "keep_institutions": ["Prison"]}
    kept3, aside3 = patrol_relevant(inc, _scenario(raw).hotspots)  # kept by name: "On or near " is optional
    assert "On or near Prison" not in aside3 and aside3["On or near Police Station"] == n_station
    assert int((kept3["location"] == "On or near Prison").sum()) == int((inc["location"] == "On or near Prison").sum())

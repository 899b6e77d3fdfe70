"""A programme day's plan follows the programme: its treated spots, inside the window, in the spot."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Point
from typer.testing import CliRunner

from patrol_planner.cli import app
from patrol_planner.errors import ProgrammeError
from patrol_planner.programme import read_programme, redraw_design

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "rutland-programme.toml"
DAY = "2022-09-03"


@pytest.fixture(scope="module")
def day_plan(rutland_programme, tmp_path_factory):
    folder, _ = rutland_programme
    out = tmp_path_factory.mktemp("day")
    res = CliRunner().invoke(app, ["plan", str(SCENARIO), "--programme", str(folder), "--date", DAY,
                                   "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    return folder, out, json.loads(res.stdout.strip().splitlines()[-1])


def test_day_plan_visits_exactly_the_treated_spots(day_plan):
    """Every treated spot of the day gets its dose and no other spot (no control) is visited."""
    folder, out, summary = day_plan
    prog = read_programme(folder)
    sched = prog.schedule[prog.schedule["date"] == date.fromisoformat(DAY)]
    treated = set(sched.loc[sched["treated"] == 1, "spot_id"])
    plan = json.loads((out / "plan.json").read_text())
    visited = [s["hotspot_id"] for u in plan["units"] for s in u["stops"]]
    assert set(visited) == treated
    assert len(visited) == len(treated) * int(prog.design["dose"]["visits"])
    assert set(summary["control_spots"]) == set(sched.loc[sched["treated"] == 0, "spot_id"])


def test_stops_are_in_the_window_and_in_the_spot(day_plan):
    """Each stop starts and ends inside the patrol window, for the dose, at a point inside its spot."""
    folder, out, _ = day_plan
    prog = read_programme(folder)
    w0, w1 = prog.window(date.fromisoformat(DAY))
    dose_s = float(prog.design["dose"]["minutes"]) * 60
    plan = json.loads((out / "plan.json").read_text())
    for u in plan["units"]:
        for s in u["stops"]:
            a, d = datetime.fromisoformat(s["arrive"]), datetime.fromisoformat(s["depart"])
            assert w0 <= a and d <= w1
            assert (d - a).total_seconds() >= dose_s - 1
            assert prog.spots[s["hotspot_id"]].contains(Point(s["lon"], s["lat"]))


def test_briefing_lists_controls_and_provenance_names_the_programme(day_plan):
    """The briefing says which spots not to patrol today; plan.json records programme and date."""
    folder, out, summary = day_plan
    html = (out / "briefing.html").read_text()
    assert "Do not patrol today" in html
    for sid in summary["control_spots"]:
        assert f'data-control="{sid}"' in html
    plan = json.loads((out / "plan.json").read_text())
    assert plan["provenance"]["parameters"]["programme"]["date"] == DAY
    assert plan["tasking"]["date"] == DAY
    assert {f["file"] for f in plan["provenance"]["inputs"]} >= {"programme.json", "schedule.csv"}


def test_date_outside_the_programme_is_one_line(rutland_programme, tmp_path):
    """A date outside the programme is a clear one-line error with the programme's exit code."""
    folder, _ = rutland_programme
    res = CliRunner().invoke(app, ["plan", str(SCENARIO), "--programme", str(folder), "--date", "2023-01-01",
                                   "--out", str(tmp_path)])
    assert res.exit_code == 9
    assert "outside the programme" in res.output and "Traceback" not in res.output


def test_redraw_with_the_issued_seed_gives_the_issued_schedule(rutland_programme):
    """The design rebuilt from the record alone reproduces the issued draw, and other seeds differ."""
    folder, _ = rutland_programme
    prog = read_programme(folder)
    redraw = redraw_design(prog)
    same = redraw(int(prog.design["seed"]))
    assert same["treated"].tolist() == prog.schedule["treated"].tolist()
    other = redraw(int(prog.design["seed"]) + 1)
    assert other["treated"].tolist() != prog.schedule["treated"].tolist()
    per_day = other.groupby("date")["treated"].sum()
    assert set(per_day) == {int(prog.design["randomisation"]["treated_per_day"])}


def test_dosage_recovers_the_planned_minutes_from_tracks_walked_along_the_plan(day_plan, tmp_path):
    """Officers who follow the day's plan (GPS noise, one dropout between stops) get each treated spot's planned
    minutes back within 1 minute; an officer who lingers 10 minutes in a control spot is found there."""
    import pandas as pd

    from benchlib.dosage_sim import tracks_from_plan, write_gpx
    from patrol_planner.plan import Plan

    folder, out, summary = day_plan
    plan = Plan.from_json(out / "plan.json")
    unit = next(u for u in plan.units if len(u.stops) >= 2)
    gap = (unit.stops[0].depart.timestamp() + 60, unit.stops[1].arrive.timestamp() - 60)  # between spots
    pings = tracks_from_plan(plan, seed=3, noise_m=8.0, dropouts=[(unit.unit_id, *gap)])
    files = []
    for uid, g in pings.groupby("unit"):
        files += ["--tracks", str(write_gpx(tmp_path / f"{uid}.gpx", g, name=str(uid)))]
    prog = read_programme(folder)
    control = summary["control_spots"][0]
    c = prog.spots[control].centroid
    t0 = prog.window(date.fromisoformat(DAY))[0].timestamp() + 3600
    linger = pd.DataFrame({"t_s": t0 + np.arange(0, 600, 5.0), "lon": c.x, "lat": c.y})
    files += ["--tracks", str(write_gpx(tmp_path / "LINGER.gpx", linger, name="LINGER"))]
    res = CliRunner().invoke(app, ["dosage", str(folder), *files, "--out", str(tmp_path / "D"), "--json"])
    assert res.exit_code == 0, res.output
    dose = pd.read_csv(tmp_path / "D" / "dosage.csv", dtype={"spot_id": str})
    today = dose[dose["date"] == DAY].set_index("spot_id")
    planned = {s.hotspot_id: (s.depart - s.arrive).total_seconds() / 60 for u in plan.units for s in u.stops}
    for sid, minutes in planned.items():
        assert abs(today.at[sid, "minutes_present"] - minutes) <= 1.0, sid
        assert today.at[sid, "visits"] == 1
    assert today.at[control, "minutes_present"] == pytest.approx(10, abs=1)
    others = today.drop(index=[*planned, control])
    assert (others["minutes_present"] == 0).all()
    js = json.loads(res.stdout.strip().splitlines()[-1])
    assert js["control_days_with_presence"] == 1


def test_small_hours_window_uses_the_shift_that_began_the_evening_before(rutland_programme, tmp_path):
    """A 02:00-05:00 window of programme day D lies on D+1's calendar date; the night shift that began on D
    at 22:00 covers it, and every stop falls inside it."""
    import shutil

    folder, _ = rutland_programme
    copy = tmp_path / "small-hours"
    shutil.copytree(folder, copy)
    rec = json.loads((copy / "programme.json").read_text())
    rec["design"]["patrol_window"] = {"start": "02:00", "end": "05:00"}
    (copy / "programme.json").write_text(json.dumps(rec))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["plan", str(SCENARIO), "--programme", str(copy), "--date", DAY,
                                   "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    w0, w1 = read_programme(copy).window(date.fromisoformat(DAY))
    assert (w0.day, w0.hour, w1.hour) == (4, 2, 5)
    plan = json.loads((out / "plan.json").read_text())
    stops = [s for u in plan["units"] for s in u["stops"]]
    assert stops
    assert all(w0 <= datetime.fromisoformat(s["arrive"]) and datetime.fromisoformat(s["depart"]) <= w1 for s in stops)


def test_programme_and_day_plan_record_the_ranking_that_chose_the_spots(day_plan):
    """programme.json's provenance says which hotspot ranking chose the spots (asked for, used, why: the
    bundled two months are too short to learn from, so blend falls back to shrunk), and the day's plan
    carries that record with the search that routed it."""
    folder, out, _ = day_plan
    ranking = read_programme(folder).raw["provenance"]["ran"]["ranking"]
    assert (ranking["requested"], ranking["used"]) == ("blend", "shrunk") and "more months" in ranking["why"]
    ran = json.loads((out / "plan.json").read_text())["provenance"]["ran"]
    assert ran["ranking"] == ranking
    assert ran["search"]["used"] in ran["search"]["ran"] and ran["search"]["failed"] == {}


def _square(lon: float, lat: float, d: float = 0.002) -> dict:
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def _synthetic_programme(folder: Path, corners: list[tuple[float, float]], breakdown: dict | None = None) -> Path:
    """A two-day programme whose spots are squares at ``corners`` [deg]; every spot is treated both days."""
    import pandas as pd

    from patrol_planner.programme import write_programme

    design = {"name": "synthetic", "start_date": "2022-09-02", "days": 2, "timezone": "Europe/London",
              "day_starts_at": "06:00", "patrol_window": {"start": "22:00", "end": "04:00"}, "spot_size_m": 150,
              "crs": "EPSG:27700", "dose": {"visits": 1, "minutes": 15}, "seed": 7}
    ids = [f"S{i + 1:02d}" for i in range(len(corners))]
    feats = [{"type": "Feature", "geometry": _square(*c),
              "properties": {"spot_id": s, "place": f"place {s}", "breakdown": dict(breakdown or {"score": 1.0})}}
             for s, c in zip(ids, corners, strict=True)]
    rows = [{"date": date(2022, 9, 2 + i), "spot_id": s, "treated": 1, "p_treated": 1.0, "visits": 1, "minutes": 15}
            for i in range(2) for s in ids]
    return write_programme(folder, design=design, schedule=pd.DataFrame(rows),
                           spots_geojson={"type": "FeatureCollection", "features": feats})


NIGHT = REPO / "scenarios" / "rutland-night.toml"


def _strict_json(path: Path) -> dict:
    """``path`` read as JSON proper: NaN and Infinity (which Python's reader accepts) fail the test."""
    def refuse(token: str) -> None:
        raise AssertionError(f"{token} in {path.name}")

    return json.loads(path.read_text(), parse_constant=refuse)


def test_spots_off_the_scenarios_map_are_refused(tmp_path):
    """A programme drawn elsewhere (spots in Essex) routed on the Rutland map is one line naming how many spots
    and which, with the programme's exit code, and no output folder; it used to plan "0 of 2 covered"."""
    folder = _synthetic_programme(tmp_path / "essex", [(0.47, 51.73), (0.48, 51.74)])
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["plan", str(NIGHT), "--programme", str(folder), "--date", "2022-09-02",
                                   "--out", str(out)])
    assert res.exit_code == 9, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output
    assert "2 of 2 spot(s)" in lines[0] and "S01 (" in lines[0] and "S02 (" in lines[0]
    assert "outside the map" in lines[0]
    assert not out.exists()


def test_one_spot_far_from_any_road_is_named(tmp_path):
    """On the right map, a spot more than the snapping distance from a road is refused by name, with its
    distance, not silently left out of the day."""
    from patrol_planner.programme.dayplan import check_on_map
    from patrol_planner.scenario import load_scenario
    from patrol_planner.scenario import steps as st

    r = load_scenario(NIGHT).resolved()
    nets = st.build_networks(r.osm, ["drive"], crs="EPSG:27700")
    net = nets["drive"]
    x0, y0 = float(net.x_m[0]), float(net.y_m[0])
    import pandas as pd

    sites = pd.DataFrame({"site_id": ["S01", "S02"], "x_m": [x0, x0], "y_m": [y0, y0]})
    check_on_map(sites, nets, date(2022, 9, 2), osm_name="x.pbf")  # on a road node: accepted
    far = sites.assign(y_m=[y0, y0 + 50_000])  # 50 km north: beyond the extract
    with pytest.raises(ProgrammeError, match=r"1 of 2 spot\(s\) .* S02 \(") as exc:
        check_on_map(far, nets, date(2022, 9, 2), osm_name="x.pbf")
    assert "S01" not in str(exc.value)


def test_listed_spot_without_history_is_valid_json_and_is_routed(tmp_path):
    """A listed spot with no crime history gets score parts 0 in spots.geojson (strict JSON, no NaN), and
    the day it is treated is planned (it once wrote "score_own": NaN and the day's plan failed)."""
    text = SCENARIO.read_text().replace('"../data/', f'"{REPO}/data/')
    text = text.replace("spots = 10\n", 'spot_points = [{lon = -0.7275, lat = 52.6710, name = "Oakham centre"}, '
                        '{lon = -0.605655, lat = 52.685241, name = "Quiet lane"}]\n')
    text = text.replace("treated_per_day = 4", "treated_per_day = 1").replace("max_consecutive_control = 7", "")
    scenario = tmp_path / "listed.toml"
    scenario.write_text(text)
    folder = tmp_path / "prog"
    res = CliRunner().invoke(app, ["programme", str(scenario), "--out", str(folder), "--json"])
    assert res.exit_code == 0, res.output
    fc = _strict_json(folder / "spots.geojson")
    quiet = next(f["properties"] for f in fc["features"] if f["properties"]["place"] == "Quiet lane")
    assert quiet["breakdown"]["score_own"] == 0 and quiet["breakdown"]["score_neighbours"] == 0
    prog = read_programme(folder)
    sid = quiet["spot_id"]
    day = prog.schedule[(prog.schedule["spot_id"] == sid) & (prog.schedule["treated"] == 1)]["date"].iloc[0]
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["plan", str(NIGHT), "--programme", str(folder), "--date", day.isoformat(),
                                   "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    plan = _strict_json(out / "plan.json")
    assert sid in {s["hotspot_id"] for u in plan["units"] for s in u["stops"]}


def test_programme_written_with_nan_before_the_fix_still_plans(tmp_path):
    """A programme folder written by older versions (NaN in a spot's breakdown) is planned: the NaN parts are
    null in plan.json and plan.geojson, and the spot is visited."""
    import hashlib

    folder = _synthetic_programme(tmp_path / "old", [(-0.7285, 52.6700)], breakdown={"score": 2.0})
    spots = folder / "spots.geojson"
    text = spots.read_text().replace('"score": 2.0', '"score": NaN,\n     "score_own": NaN')
    spots.write_text(text)
    rec = json.loads((folder / "programme.json").read_text())
    rec["files"]["spots.geojson"] = hashlib.sha256(text.encode()).hexdigest()
    (folder / "programme.json").write_text(json.dumps(rec))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["plan", str(NIGHT), "--programme", str(folder), "--date", "2022-09-02",
                                   "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    (h,) = _strict_json(out / "plan.json")["hotspots"]
    assert h["breakdown"]["score_own"] is None and h["visits"] == 1
    _strict_json(out / "plan.geojson")

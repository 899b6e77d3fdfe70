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

"""A programme day's plan follows the programme: its treated spots, inside the window, in the spot."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

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

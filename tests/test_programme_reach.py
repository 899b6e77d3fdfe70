"""Reachability at design time: `patrol-planner programme` refuses or warns about spots its units cannot reach."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrol_planner.cli import app

REPO = Path(__file__).resolve().parents[1]
FOOT = REPO / "scenarios" / "rutland-programme-foot.toml"


def _variant(tmp_path: Path, *, car: bool, unreachable: str = "refuse", extra_unit: str = "") -> Path:
    """The bundled foot programme written elsewhere (data paths made absolute), with or without its car."""
    text = FOOT.read_text(encoding="utf-8").replace('"../data/', f'"{REPO / "data"}/')
    text = text.replace('unreachable = "refuse"', f'unreachable = "{unreachable}"')
    if not car:
        text = re.sub(r'\[\[units\]\]\nid = "RU-D1".*?(?=\[solver\])', "", text, flags=re.S)
    text = text.replace("[solver]", extra_unit + "[solver]")
    out = tmp_path / "scenario.toml"
    out.write_text(text, encoding="utf-8")
    return out


def _run(scenario: Path, out: Path):
    return CliRunner().invoke(app, ["programme", str(scenario), "--out", str(out), "--json"])


def test_foot_only_programme_is_refused_naming_the_spots(tmp_path):
    """Foot officers within 1.5 km of Oakham cannot reach half the spots: one line, exit 9, nothing written; the
    line names each spot with its road distance and the units considered with their radius."""
    out = tmp_path / "prog"
    res = _run(_variant(tmp_path, car=False), out)
    assert res.exit_code == 9, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("error: 3 of 6 spot(s) cannot be reached by any unit")
    named = re.findall(r"\b(S0\d) '", line)
    assert named == ["S01", "S03", "S06"]
    assert len(re.findall(r"km by road \(\d+ min there\), beyond its 1500 m radius", line)) == 3
    assert "units considered: OK-F1 (walk, Oakham police station, 08:00-16:00, radius 1500 m), OK-F2" in line
    assert 'unreachable = "warn"' in line
    assert not (out / "programme.json").exists()


def test_warn_designs_it_anyway_and_records_why(tmp_path):
    """With `unreachable = "warn"` the same design is written; the warning names the spots, and the record says
    for each unit why it cannot reach them (the road distance beyond its radius)."""
    out = tmp_path / "prog"
    res = _run(_variant(tmp_path, car=False, unreachable="warn"), out)
    assert res.exit_code == 0, res.output
    warn = [ln for ln in res.stderr.splitlines() if "no unit can reach" in ln]
    assert len(warn) == 1 and warn[0].startswith("warning: 3 spot(s) no unit can reach in the window 08:00-16:00")
    rec = json.loads((out / "programme.json").read_text())["design"]["reachability"]
    assert rec["action"] == "warn" and rec["unreachable"] == ["S01", "S03", "S06"] and rec["partly_reachable"] == []
    spots = {s["spot_id"]: s for s in rec["spots"]}
    for sid in rec["unreachable"]:
        for n in spots[sid]["not_reached_by"]:
            assert n["road_km"] > 1.5 and "beyond its 1500 m radius" in n["why"]
    for sid in set(spots) - set(rec["unreachable"]):
        assert spots[sid]["reached_by"] == ["OK-F1", "OK-F2"]


def test_mixed_units_pass_with_a_warning_and_the_record(tmp_path):
    """Foot officers and a car: every spot is reached by some unit, so the design is written; the spots only the car
    reaches are listed in the warning and in design.reachability. A car whose shift leaves it 30 minutes in the
    window reaches only spots it can drive to, patrol 15 min and return from in that time."""
    short = ('[[units]]\nid = "RU-D2"\nmode = "drive"\nstation = "Oakham"\nshift = "15:30-16:00"\n\n')
    out = tmp_path / "prog"
    res = _run(_variant(tmp_path, car=True, extra_unit=short), out)
    assert res.exit_code == 0, res.output
    warn = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:") and "only some units" in ln]
    assert len(warn) == 1 and "S01" in warn[0] and "only RU-D1" in warn[0]
    summary = json.loads(res.stdout.strip().splitlines()[-1])["reachability"]
    assert summary["checked"] and summary["unreachable"] == [] and summary["modes"] == ["drive", "walk"]
    assert summary["units"] == ["OK-F1", "OK-F2", "RU-D1", "RU-D2"]
    rec = json.loads((out / "programme.json").read_text())["design"]["reachability"]
    assert rec["partly_reachable"] == ["S01", "S03", "S06"]
    units = {u["unit_id"]: u for u in rec["units"]}
    assert units["RU-D1"]["spots_reached"] == 6 and units["OK-F1"]["spots_reached"] == 3
    assert units["RU-D2"]["in_window"] == "15:30-16:00" and units["OK-F1"]["radius_m"] == 1500
    spots = {s["spot_id"]: s for s in rec["spots"]}
    assert spots["S01"]["reached_by"] == ["RU-D1"]  # 10.8 km out of Oakham: too far for the 30-minute car
    late = {n["unit_id"]: n for n in spots["S01"]["not_reached_by"]}["RU-D2"]
    assert "over the 30 min it has" in late["why"] and late["have_min"] == 30
    assert late["need_min"] == pytest.approx(late["out_min"] + 15 + late["back_min"], abs=0.1) and late["need_min"] > 30
    assert spots["S03"]["reached_by"] == spots["S06"]["reached_by"] == ["RU-D1", "RU-D2"]


def test_drive_units_reach_every_spot_of_the_bundled_programme(rutland_programme):
    """The bundled Rutland programme's three cars reach every spot, dose and way back inside 22:00-04:00."""
    out, summary = rutland_programme
    rec = json.loads((out / "programme.json").read_text())["design"]["reachability"]
    assert rec["checked"] and rec["modes"] == ["drive"] and rec["dwell_min"] == 15
    assert rec["unreachable"] == [] and rec["partly_reachable"] == []
    assert all(s["reached_by"] == ["RU-A1", "RU-A2", "RU-B1"] for s in rec["spots"]) and len(rec["spots"]) == 10
    assert {u["unit_id"]: u["in_window"] for u in rec["units"]} == {
        "RU-A1": "22:20-04:00", "RU-A2": "22:20-04:00", "RU-B1": "22:20-04:00"}
    assert summary["reachability"]["unreachable"] == []


@pytest.mark.parametrize("table", ['unreachable = "maybe"'])
def test_unreachable_accepts_refuse_or_warn(tmp_path, table):
    """Any other value is one line naming the field."""
    bad = tmp_path / "bad.toml"
    bad.write_text(FOOT.read_text().replace('unreachable = "refuse"', table), encoding="utf-8")
    res = CliRunner().invoke(app, ["programme", str(bad), "--out", str(tmp_path / "x")])
    assert res.exit_code == 9
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "programme.unreachable" in lines[0]

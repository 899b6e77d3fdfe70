"""`patrol-planner programme`, `programme-amend` and `programme-day` end to end on the Rutland programme."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrol_planner.cli import app
from patrol_planner.programme import read_programme

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "rutland-programme.toml"
FILES = ("schedule.csv", "spots.geojson", "programme.json", "calendar.html")


@pytest.fixture(scope="module")
def built(rutland_programme):
    return rutland_programme


def test_programme_writes_the_record_and_summary(built):
    """The folder holds the four files; --json gives spots, days, treated/control spot-days and the MDE."""
    out, summary = built
    for name in FILES:
        assert (out / name).is_file()
    assert summary["spots"] == 10 and summary["days"] == 90
    assert summary["treated_spot_days"] == 360 and summary["control_spot_days"] == 540
    assert 0 < summary["mde_at_80_power"] < 1
    prog = read_programme(out)
    assert prog.raw["provenance"]["parameters"]["seed"] == 2022
    assert any(i["file"].endswith("leicestershire-street.csv") for i in prog.raw["provenance"]["inputs"])
    geo = json.loads((out / "spots.geojson").read_text())
    f0 = geo["features"][0]
    assert f0["geometry"]["type"] == "Polygon" and -1 < f0["geometry"]["coordinates"][0][0][0] < 0
    assert {"spot_id", "place", "breakdown"} <= set(f0["properties"])


def test_calendar_is_offline_and_its_style_is_allowed(built):
    """calendar.html loads nothing: CSP default-src 'none', no src/href to any URL, the one style by hash."""
    page = (built[0] / "calendar.html").read_text()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src &#39;none&#39;" in csp
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert digest in csp
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<script" not in page
    assert page.count('<td class="c P">P</td>') == 360


@pytest.mark.slow
def test_same_inputs_same_files_and_a_different_programme_is_refused(built, tmp_path):
    """A rerun gives byte-identical files; writing another design into the folder fails with one line."""
    out, _ = built
    again = tmp_path / "again"
    res = CliRunner().invoke(app, ["programme", str(SCENARIO), "--out", str(again)])
    assert res.exit_code == 0, res.output
    for name in FILES:
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    other = tmp_path / "other.toml"
    other.write_text(SCENARIO.read_text().replace("seed = 2022", "seed = 7").replace(
        '"../data/', f'"{REPO}/data/'), encoding="utf-8")
    res = CliRunner().invoke(app, ["programme", str(other), "--out", str(again)])
    assert res.exit_code == 9
    assert "already holds a different programme" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_bad_programme_field_is_one_line(tmp_path):
    """A typo in [programme] exits non-zero with one line naming the field, before any data is read."""
    bad = tmp_path / "bad.toml"
    bad.write_text(SCENARIO.read_text().replace("treated_per_day = 4", "treated_per_dya = 4"), encoding="utf-8")
    res = CliRunner().invoke(app, ["programme", str(bad), "--out", str(tmp_path / "x")])
    assert res.exit_code == 9
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "programme.treated_per_dya" in lines[0]


def test_amend_and_day_tasking(built, tmp_path):
    """Amendments go beside the schedule (which keeps its hash); the day's tasking reflects them."""
    import shutil

    out = tmp_path / "amend"
    shutil.copytree(built[0], out)
    before = (out / "schedule.csv").read_bytes()
    day = json.loads(CliRunner().invoke(app, ["programme-day", str(out), "--date", "2022-09-10", "--json"]).stdout)
    assert len(day["treated"]) == 4 and len(day["control"]) == 6
    assert day["window_start"] == "2022-09-10T22:00:00+01:00" and day["window_end"] == "2022-09-11T04:00:00+01:00"
    spot = day["treated"][0]["spot_id"]
    res = CliRunner().invoke(app, ["programme-amend", str(out), "--action", "cancel_spot_day", "--date", "2022-09-10",
                                   "--spot", spot, "--reason", "unit diverted to an emergency", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["treated_spot_days_after_amendments"] == 359
    assert (out / "schedule.csv").read_bytes() == before
    day = json.loads(CliRunner().invoke(app, ["programme-day", str(out), "--date", "2022-09-10", "--json"]).stdout)
    assert [s["spot_id"] for s in day["cancelled"]] == [spot] and len(day["treated"]) == 3
    assert "unit diverted" in (out / "amendments.csv").read_text()
    assert '<td class="c x">x</td>' in (out / "calendar.html").read_text()
    res = CliRunner().invoke(app, ["programme-amend", str(out), "--action", "cancel_day", "--date", "2023-01-01",
                                   "--reason", "x"])
    assert res.exit_code == 9 and "outside the programme" in res.stderr


def test_calendar_shows_who_bears_the_patrols(built):
    """The programme writes an equity table by deprivation decile and the calendar shows it."""
    import pandas as pd

    out, summary = built
    assert summary["equity"] == "equity.csv"
    table = pd.read_csv(out / "equity.csv")
    assert table["planned_minutes"].sum() == pytest.approx(summary["treated_spot_days"] * 15)
    html = (out / "calendar.html").read_text()
    assert "Who bears the patrols" in html and "IoD 2025" in html


def test_day_text_shows_cancellations_and_controls_and_refuses_repeats(built, tmp_path):
    """programme-day's text names a cancelled spot with its amendment, and lists the control spots to keep
    away from on every day, a cancelled day included; the same amendment twice, or cancelling a control
    spot-day, is one line and the programme's exit code."""
    import shutil

    out = tmp_path / "amend"
    shutil.copytree(built[0], out)
    runner = CliRunner()
    day = json.loads(runner.invoke(app, ["programme-day", str(out), "--date", "2022-09-10", "--json"]).stdout)
    spot, control = day["treated"][0]["spot_id"], day["control"][0]["spot_id"]
    controls = [c["spot_id"] for c in day["control"]]
    amend = ["programme-amend", str(out), "--action", "cancel_spot_day", "--date", "2022-09-10", "--spot", spot,
             "--reason", "unit diverted to an emergency"]
    assert runner.invoke(app, amend).exit_code == 0
    text = runner.invoke(app, ["programme-day", str(out), "--date", "2022-09-10"]).stdout
    (line,) = [ln for ln in text.splitlines() if ln.startswith("cancelled")]
    assert spot in line and "cancel_spot_day" in line and "unit diverted to an emergency" in line
    for args, msg in ((amend, "already recorded"),
                      ([*amend[:-3], control, "--reason", "x"], "is a control spot on 2022-09-10")):
        res = runner.invoke(app, args)
        assert res.exit_code == 9 and msg in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = runner.invoke(app, ["programme-amend", str(out), "--action", "cancel_day", "--date", "2022-09-10",
                              "--reason", "storm"])
    assert res.exit_code == 0, res.output
    text = runner.invoke(app, ["programme-day", str(out), "--date", "2022-09-10"]).stdout
    keep = text[text.index("keep away (controls):"):]  # then one line per district
    assert all(c in keep for c in controls)
    assert "patrol: none" in text and "cancel_day" in text and "storm" in text

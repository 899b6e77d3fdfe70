"""The `plan` and `compare` commands as a tasking officer runs them: exit codes, messages, files."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrol_planner.cli import app

REPO = Path(__file__).resolve().parents[1]
NIGHT = REPO / "scenarios" / "rutland-night.toml"
SHARED = REPO.parent / "shared"

runner = CliRunner()


def _write_scenario(tmp_path: Path, text: str) -> Path:
    """A scenario file next to the bundled ones' data: paths are rewritten to absolute."""
    text = text.replace('"../data/', f'"{REPO / "data"}/')
    p = tmp_path / "s.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_plan_default_writes_the_briefing_pack(tmp_path: Path) -> None:
    """`patrol-planner plan --out DIR` with no scenario plans the bundled Rutland night."""
    out = tmp_path / "out"
    r = runner.invoke(app, ["plan", "--out", str(out), "--seconds", "2", "--json",
                            "--cache-dir", str(tmp_path / "cache")])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["metrics"]["visits"] > 0
    for name in ("plan.json", "plan.geojson", "schedule.csv", "briefing.html"):
        assert (out / name).stat().st_size > 0
    assert len(list((out / "gpx").glob("*.gpx"))) == 3
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert plan["provenance"]["inputs"] and plan["units"][0]["stops"]


@pytest.mark.parametrize(
    ("edit", "needle", "code"),
    [
        (lambda t: t.replace("dwell_min = 15 ", "dwell_min = -3 "), "visits.dwell_min", 8),
        (lambda t: t.replace('shift = "22:00-06:00"', 'shift = "22:00"', 1), "units.0.shift", 8),
        (lambda t: t.replace('station = "Oakham"', 'station = "Nowhere"', 1), "Nowhere", 8),
        (lambda t: t.replace("rutland-latest.osm.pbf", "missing.osm.pbf"), "missing.osm.pbf", 8),
        (lambda t: t + "\n[typo_table]\nx = 1\n", "typo_table", 8),
        (lambda t: t.replace("[[units]]", "[[unitz]]"), "unitz", 8),
    ],
)
def test_plan_user_mistakes_give_one_line_and_nonzero_exit(tmp_path: Path, edit, needle: str, code: int) -> None:
    p = _write_scenario(tmp_path, edit(NIGHT.read_text(encoding="utf-8")))
    r = runner.invoke(app, ["plan", str(p), "--out", str(tmp_path / "o"), "--seconds", "1"])
    assert r.exit_code == code, r.output
    assert needle in r.output
    assert "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)


def test_plan_missing_scenario_file(tmp_path: Path) -> None:
    r = runner.invoke(app, ["plan", str(tmp_path / "nope.toml")])
    assert r.exit_code == 8 and "not found" in r.output


def test_plan_zero_units(tmp_path: Path) -> None:
    raw = NIGHT.read_text(encoding="utf-8")
    head = raw.split("[[units]]")[0]
    p = _write_scenario(tmp_path, head)
    r = runner.invoke(app, ["plan", str(p), "--out", str(tmp_path / "o")])
    assert r.exit_code == 7 and "no units" in r.output


def test_compare_sweeps_units_and_draws_a_chart(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    # A small variant (10 hotspots, one restart) with a generous cap: deterministic work, not the clock.
    text = NIGHT.read_text(encoding="utf-8").replace("top = 30", "top = 10").replace(
        "time_limit_s = 90", "time_limit_s = 60\nrestarts = 1")
    small = _write_scenario(tmp_path, text)
    r = runner.invoke(app, ["compare", str(small), "--units", "1..2", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout.strip().splitlines()[-1])["rows"]
    assert [row["units"] for row in rows] == [1, 2]
    assert rows[1]["harm_covered"] >= rows[0]["harm_covered"] * 0.95  # a second car never costs much harm
    png = out / "harm_vs_units.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_bad_range() -> None:
    r = runner.invoke(app, ["compare", str(NIGHT), "--units", "two..8"])
    assert r.exit_code == 8 and "--units" in r.output


@pytest.mark.skipif(not (SHARED / "data" / "raw" / "policeuk-essex-2018").is_dir(),
                    reason="../shared/data/raw/policeuk-essex-2018 is not present")
def test_essex_backtest_scenario_runs_without_routing(tmp_path: Path) -> None:
    """The Essex scenario has no units: `plan` runs its backtest and writes the table."""
    s = tomllib.loads((REPO / "scenarios" / "essex-backtest.toml").read_text(encoding="utf-8"))
    assert "units" not in s
    r = runner.invoke(app, ["plan", str(REPO / "scenarios" / "essex-backtest.toml"), "--out", str(tmp_path),
                            "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout.strip().splitlines()[-1])["rows"]
    assert {row["method"] for row in rows} >= {"model"} and len({row["method"] for row in rows}) > 3
    assert (tmp_path / "backtest.csv").is_file()

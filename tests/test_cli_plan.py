"""The `plan` and `compare` commands as a tasking officer runs them: exit codes, messages, files."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
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


@pytest.mark.slow
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
    """Each scenario mistake exits with the scenario error code, names the culprit, and shows no traceback."""
    p = _write_scenario(tmp_path, edit(NIGHT.read_text(encoding="utf-8")))
    r = runner.invoke(app, ["plan", str(p), "--out", str(tmp_path / "o"), "--seconds", "1"])
    assert r.exit_code == code, r.output
    assert needle in r.output
    assert "Traceback" not in r.output
    assert isinstance(r.exception, SystemExit), repr(r.exception)  # a clean exit, not an uncaught error


def test_plan_missing_scenario_file(tmp_path: Path) -> None:
    """A scenario path that does not exist: exit 8 and "not found", no traceback."""
    r = runner.invoke(app, ["plan", str(tmp_path / "nope.toml")])
    assert r.exit_code == 8 and "not found" in r.output


def test_plan_zero_units(tmp_path: Path) -> None:
    """A scenario with no units and no [backtest] table: exit 7 saying there are no units."""
    raw = NIGHT.read_text(encoding="utf-8")
    head = raw.split("[[units]]")[0]
    p = _write_scenario(tmp_path, head)
    r = runner.invoke(app, ["plan", str(p), "--out", str(tmp_path / "o")])
    assert r.exit_code == 7 and "no units" in r.output


@pytest.mark.slow
def test_compare_sweeps_units_and_draws_a_chart(tmp_path: Path) -> None:
    """compare --units 1..2 plans both variants, a second car never costs much harm, and a PNG is written."""
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
    """An unreadable --units range is a scenario error (exit 8) naming --units."""
    r = runner.invoke(app, ["compare", str(NIGHT), "--units", "two..8"])
    assert r.exit_code == 8 and "--units" in r.output


def test_backtest_scenario_prints_its_tables_without_json(tmp_path: Path) -> None:
    """A scenario without units but with [backtest] run as a user runs it (no --json): tables, a CSV, exit 0."""
    leics = REPO / "data" / "policeuk-leicestershire-2022"
    p = tmp_path / "bt.toml"
    p.write_text(f'name = "Leicestershire backtest"\n[data]\n'
                 f'incidents = ["{leics}/2022-0*-leicestershire-street.csv"]\n[backtest]\nfolds = 1\n',
                 encoding="utf-8")
    r = runner.invoke(app, ["plan", str(p), "--out", str(tmp_path / "o")])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 0, r.output
    assert "model vs best baseline" in r.stdout and "mean over folds 2022-08" in r.stdout
    assert "backtest table written" in r.output
    assert (tmp_path / "o" / "backtest.csv").stat().st_size > 0


def test_solver_overrides_are_validated(tmp_path: Path) -> None:
    """`--seconds -1` is refused as a scenario error naming solver.time_limit_s, before any work is done."""
    r = runner.invoke(app, ["plan", str(NIGHT), "--out", str(tmp_path / "o"), "--seconds", "-1"])
    assert r.exit_code == 8, r.output
    assert "solver.time_limit_s" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()


def test_unit_sweep_copies_are_validated() -> None:
    """compare's extra units are validated like a file: a suffixed id longer than 40 characters is refused."""
    from patrol_planner.errors import ScenarioError
    from patrol_planner.scenario import load_scenario

    s = load_scenario(NIGHT)
    long_id = s.replace(units=[{**s.units[0].model_dump(), "id": "X" * 40}])
    assert len(long_id.with_units(1).units) == 1
    with pytest.raises(ScenarioError, match="units.1.id"):
        long_id.with_units(2)


@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.skipif(not (SHARED / "data" / "raw" / "policeuk-essex-2018").is_dir(),
                    reason="../shared/data/raw/policeuk-essex-2018 is not present")
def test_essex_backtest_scenario_prints_tables(tmp_path: Path) -> None:
    """`patrol-planner plan scenarios/essex-backtest.toml --out DIR` (no --json): the scenario has no units, so
    `plan` runs its backtest, prints the tables and writes every method's rows, exit 0."""
    s = tomllib.loads((REPO / "scenarios" / "essex-backtest.toml").read_text(encoding="utf-8"))
    assert "units" not in s
    r = runner.invoke(app, ["plan", str(REPO / "scenarios" / "essex-backtest.toml"), "--out", str(tmp_path)])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 0, r.output
    assert "model vs best baseline" in r.stdout
    methods = set(pd.read_csv(tmp_path / "backtest.csv")["method"])
    assert "model" in methods and len(methods) > 3


def test_plan_says_what_ran_and_that_a_killed_search_spoils_reproducibility(tmp_path: Path,
                                                                              kill_second_search) -> None:
    """The bundled night (two months of data: too short to learn from) records the ranking asked for and the
    one used, with why, in plan.json and the briefing; with the second search killed the plan is marked not
    reproducible with the reason, the record names the dead search, and the command says so in one line."""
    kill_second_search()
    out = tmp_path / "out"
    r = runner.invoke(app, ["plan", "--out", str(out), "--cache-dir", str(tmp_path / "cache")])
    assert r.exit_code == 0, r.output
    notice = [ln for ln in r.output.splitlines() if "search failed" in ln]
    assert len(notice) == 1 and "lns-2" in notice[0] and "not reproducible" in notice[0], r.output
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    m, ran = plan["metrics"], plan["provenance"]["ran"]
    assert m["reproducible"] is False and "lns-2" in m["not_reproducible_because"][0]
    assert ran["ranking"]["requested"] == "blend" and ran["ranking"]["used"] == "shrunk"
    assert "more months" in ran["ranking"]["why"]
    assert ran["search"]["used"] == "lns" and list(ran["search"]["failed"]) == ["lns-2"]
    html = (out / "briefing.html").read_text(encoding="utf-8")
    ranking_row = html.split('data-ran="ranking"')[1].split("</tr>")[0]
    assert "<b>shrunk</b>" in ranking_row and "blend" in ranking_row
    assert "lns-2" in html.split('data-ran="search"')[1].split("</tr>")[0]

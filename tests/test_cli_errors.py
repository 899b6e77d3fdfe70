"""Whatever a user feeds the commands, the answer is a one-line error and a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from patrol_planner.cli import app

runner = CliRunner()


def _clean_failure(args: list[str]) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code != 0
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    assert "error:" in r.output


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=4000))
def test_ingest_random_bytes(tmp_path_factory, data: bytes) -> None:
    """Random bytes named .csv: unknown format, undecodable or truncated — never a crash."""
    p = Path(tmp_path_factory.mktemp("junk")) / "junk.csv"
    p.write_bytes(data)
    r = runner.invoke(app, ["ingest", str(p), "--json"])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output


def test_ingest_binary_garbage_with_newlines(tmp_path: Path) -> None:
    p = tmp_path / "garbage.csv"
    p.write_bytes(bytes(range(256)) * 12)
    _clean_failure(["ingest", str(p)])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=0, max_size=400))
def test_scenario_random_text(tmp_path_factory, text: str) -> None:
    """Random text as a scenario file: a ScenarioError naming the problem."""
    p = Path(tmp_path_factory.mktemp("scn")) / "s.toml"
    p.write_text(text, encoding="utf-8")
    _clean_failure(["plan", str(p), "--out", str(p.parent / "o")])


def test_network_on_truncated_pbf(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[1] / "data" / "osm-rutland-2022" / "rutland-latest.osm.pbf"
    p = tmp_path / "cut.osm.pbf"
    p.write_bytes(src.read_bytes()[:200_000])
    _clean_failure(["network", str(p), "--no-cache"])


def test_help_keeps_units_in_brackets() -> None:
    """Units written as "[m]" / "[s]" in option help reach the user (Rich markup would swallow them)."""
    r = runner.invoke(app, ["dosage", "--help"], terminal_width=200)
    assert r.exit_code == 0
    assert "buffered by this [m]" in r.output and "dropouts [s]" in r.output
    r = runner.invoke(app, ["programme", "--help"], terminal_width=200)
    assert "with a [programme] table" in r.output


def test_spreadsheet_workbook_is_named_as_such(tmp_path: Path) -> None:
    """An .xlsx (a ZIP container) or legacy .xls given as crimes: one line saying to save it as CSV."""
    for name, head in (("crimes.xlsx", b"PK\x03\x04\x14\x00"), ("crimes.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
        p = tmp_path / name
        p.write_bytes(head + b"\x00" * 64)
        _clean_failure(["ingest", str(p)])
        assert "spreadsheet workbook" in runner.invoke(app, ["ingest", str(p)]).output

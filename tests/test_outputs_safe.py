"""Output folders appear whole or not at all, never through a planted link; CSV cells cannot run as spreadsheet
formulas; data printed by the CLI cannot drive the terminal; numeric options give one line, not a traceback."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from patrol_planner.atomic import PARTIAL, atomic_output_dir, atomic_write_text
from patrol_planner.cli import app
from patrol_planner.errors import PatrolPlannerError, ProgrammeError
from patrol_planner.programme import add_amendment, read_programme, write_programme
from patrol_planner.sanitise import spreadsheet_restore, spreadsheet_safe, terminal_safe

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
ESC_CLEAR = "\x1b[2J\x1b[H"

DESIGN = {"start_date": "2025-03-01", "days": 2, "timezone": "Europe/London", "day_starts_at": "06:00",
          "patrol_window": {"start": "15:00", "end": "00:00"}, "spot_size_m": 150,
          "dose": {"visits": 1, "minutes": 15}, "seed": 7}


def _spots(place: str = "A") -> dict:
    def square(x0: float, y0: float) -> dict:
        d = 0.001
        return {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d],
                                                    [x0, y0]]]}
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square(-0.7, 51.5), "properties": {"spot_id": "S01", "place": place}},
        {"type": "Feature", "geometry": square(-0.71, 51.5), "properties": {"spot_id": "S02", "place": "B"}},
    ]}


def _schedule() -> pd.DataFrame:
    rows = [{"date": date(2025, 3, 1 + i), "spot_id": s, "treated": t, "p_treated": 0.5, "visits": t,
             "minutes": 15 * t} for i in range(2) for s, t in (("S01", i % 2), ("S02", 1 - i % 2))]
    return pd.DataFrame(rows)


def _partials(parent: Path) -> list[Path]:
    return [p for p in parent.iterdir() if PARTIAL in p.name]


def _old_pack(out: Path, target: Path) -> dict[str, bytes]:
    """An earlier briefing pack in ``out`` with ``briefing.html`` planted as a link to ``target``."""
    (out / "gpx").mkdir(parents=True)
    (out / "plan.json").write_text('{"old": true}\n')
    (out / "schedule.csv").write_text("old schedule\n")
    (out / "gpx" / "Yesterday 9.gpx").write_text("<gpx/>\n")
    target.write_text("not to be touched\n")
    (out / "briefing.html").symlink_to(target)
    return {n: (out / n).read_bytes() for n in ("plan.json", "schedule.csv", "gpx/Yesterday 9.gpx")}


# --- atomic folders -----------------------------------------------------------------------------------------


def test_failed_run_leaves_previous_folder_and_no_staging(tmp_path: Path) -> None:
    """An error after the first file: the old folder is byte for byte as it was and no staging folder remains."""
    out = tmp_path / "plan"
    old = _old_pack(out, tmp_path / "target.txt")
    with pytest.raises(RuntimeError, match="disk full"), atomic_output_dir(out, marker="plan.json") as stage:
        (stage / "plan.json").write_text('{"new": true}\n')
        raise RuntimeError("disk full")
    assert {n: (out / n).read_bytes() for n in old} == old
    assert (out / "briefing.html").is_symlink()
    assert _partials(tmp_path) == []


def test_success_replaces_folder_whole_and_never_writes_through_a_link(tmp_path: Path) -> None:
    """The new folder replaces the old as a whole: yesterday's GPX is gone, the planted link's target is
    unchanged and briefing.html is a plain file; the folder keeps its mode."""
    out, target = tmp_path / "plan", tmp_path / "target.txt"
    _old_pack(out, target)
    out.chmod(0o750)
    with atomic_output_dir(out, marker="plan.json") as stage:
        assert stage.name == out.name and stage.parent != out.parent
        (stage / "plan.json").write_text('{"new": true}\n')
        (stage / "briefing.html").write_text("<html>new</html>\n")
    assert target.read_text() == "not to be touched\n"
    assert not (out / "briefing.html").is_symlink() and (out / "briefing.html").read_text() == "<html>new</html>\n"
    assert sorted(p.name for p in out.iterdir()) == ["briefing.html", "plan.json"]
    assert out.stat().st_mode & 0o777 == 0o750
    assert _partials(tmp_path) == []


def test_link_or_foreign_folder_as_output_is_refused(tmp_path: Path) -> None:
    """--out that is a link, or a folder with other files and no marker (e.g. a home folder), is not replaced."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "notes.txt").write_text("mine\n")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    for out, why in ((link, "symbolic link"), (real, "no plan.json")):
        with pytest.raises(PatrolPlannerError, match=why), atomic_output_dir(out, marker="plan.json"):
            pytest.fail("must not be reached")
    assert (real / "notes.txt").read_text() == "mine\n" and link.is_symlink()
    assert _partials(tmp_path) == []


def test_cli_plan_failing_midway_keeps_previous_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`plan` whose GPX writer fails after its first file: one error line, the previous pack intact (its planted
    link still a link to an untouched file), no staging folder left."""
    import patrol_planner.report as report

    out = tmp_path / "plan"
    old = _old_pack(out, tmp_path / "target.txt")
    real_write_gpx = report.write_gpx

    def write_one_then_fail(plan, out_dir):  # noqa: ANN001, ANN202
        real_write_gpx(plan, out_dir)
        raise PatrolPlannerError("no space left on device")

    monkeypatch.setattr(report, "write_gpx", write_one_then_fail)
    res = runner.invoke(app, ["plan", "--out", str(out), "--quiet"])
    assert res.exit_code == 2 and "no space left on device" in res.stderr, res.output
    assert "Traceback" not in res.output
    assert {n: (out / n).read_bytes() for n in old} == old
    assert (out / "briefing.html").is_symlink() and (tmp_path / "target.txt").read_text() == "not to be touched\n"
    assert _partials(tmp_path) == []


def test_plan_folder_written_whole_over_planted_link(tmp_path: Path, plan) -> None:  # noqa: ANN001
    """The CLI's plan writer over an old pack with a planted link: the link's target is unchanged, the stale
    GPX is gone, the returned paths are under --out."""
    from patrol_planner.cli.plan import write_plan_folder

    out, target = tmp_path / "plan", tmp_path / "target.txt"
    _old_pack(out, target)
    paths = write_plan_folder(plan, out)
    assert target.read_text() == "not to be touched\n"
    assert not (out / "briefing.html").is_symlink() and "<html" in (out / "briefing.html").read_text()
    assert not (out / "gpx" / "Yesterday 9.gpx").exists()
    assert all(p.is_file() and p.parent in (out, out / "gpx") for p in paths.values())


def test_programme_rewrite_keeps_amendments(tmp_path: Path) -> None:
    """Rewriting the same programme through a staging folder carries amendments.csv over; a different
    programme in the target is still refused."""
    folder = write_programme(tmp_path / "prog", design=DESIGN, schedule=_schedule(), spots_geojson=_spots())
    add_amendment(folder, action="cancel_day", reason="storm", day=date(2025, 3, 2))
    with atomic_output_dir(folder, marker="programme.json", keep=("amendments.csv",)) as stage:
        write_programme(stage, design=DESIGN, schedule=_schedule(), spots_geojson=_spots(), replaces=folder)
    assert read_programme(folder).amendments["reason"].tolist() == ["storm"]
    with pytest.raises(ProgrammeError, match="already holds a different programme"), \
            atomic_output_dir(folder, marker="programme.json") as stage:
        write_programme(stage, design=DESIGN, schedule=_schedule().assign(treated=1), spots_geojson=_spots(),
                        replaces=folder)
    assert read_programme(folder).amendments["reason"].tolist() == ["storm"]


def test_amendment_is_atomic_and_never_through_a_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed amendment write leaves amendments.csv as it was (no temporary file); a planted link at
    amendments.csv is refused and its target unchanged."""
    import patrol_planner.atomic as atomic

    folder = write_programme(tmp_path / "prog", design=DESIGN, schedule=_schedule(), spots_geojson=_spots())
    add_amendment(folder, action="cancel_day", reason="storm", day=date(2025, 3, 2))
    before = (folder / "amendments.csv").read_bytes()

    def fail(*_a: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", fail)
    with pytest.raises(PatrolPlannerError, match="No space left"):
        add_amendment(folder, action="cancel_spot_day", reason="event", day=date(2025, 3, 1), spot_id="S02")
    monkeypatch.undo()
    assert (folder / "amendments.csv").read_bytes() == before
    assert _partials(folder) == []
    target = tmp_path / "elsewhere.csv"
    target.write_bytes(before)
    (folder / "amendments.csv").unlink()
    (folder / "amendments.csv").symlink_to(target)
    with pytest.raises(ProgrammeError, match="symbolic link"):
        add_amendment(folder, action="cancel_day", reason="flood", day=date(2025, 3, 1))
    assert target.read_bytes() == before


def test_atomic_write_text_replaces_a_link_not_its_target(tmp_path: Path) -> None:
    target, link = tmp_path / "target.txt", tmp_path / "calendar.html"
    target.write_text("keep\n")
    link.symlink_to(target)
    atomic_write_text(link, "new\n")
    assert target.read_text() == "keep\n" and not link.is_symlink() and link.read_text() == "new\n"


# --- spreadsheet formulas -----------------------------------------------------------------------------------

# (a CR inside a cell is not quoted by pandas' writer with "\n" line ends, so it is checked apart)
FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "+44 7700", "-2+3", "@SUM(A1)", "\tx", "'=already", "''-1+1"]


def test_spreadsheet_safe_quotes_text_not_numbers_and_round_trips() -> None:
    """Text starting = + - @ tab CR gets a leading quote; numbers (also negative longitudes written as text)
    do not; reading back with spreadsheet_restore gives the original cells exactly."""
    assert spreadsheet_safe(pd.DataFrame({"c": ["\rx"]}))["c"].tolist() == ["'\rx"]
    df = pd.DataFrame({"name": [*FORMULAS, "-0.7", "plain", "'quoted", None],
                       "lon": [-0.7] * (len(FORMULAS) + 4)})
    safe = spreadsheet_safe(df)
    assert all(v.startswith("'") for v in safe["name"][:len(FORMULAS)])
    assert safe["name"].tolist()[len(FORMULAS):-1] == ["-0.7", "plain", "'quoted"]
    text = safe.to_csv(index=False)
    assert "-0.7" in text.splitlines()[1]  # the numeric column is untouched
    back = spreadsheet_restore(pd.read_csv(io.StringIO(text), dtype={"name": str}, keep_default_na=False))
    assert back["name"].tolist()[:-1] == df["name"].tolist()[:-1]
    assert back["lon"].tolist() == df["lon"].tolist()


def test_plan_schedule_csv_neutralises_unit_ids(tmp_path: Path, make_plan) -> None:  # noqa: ANN001
    """A unit id like ``=cmd|...`` reaches schedule.csv as text, not a formula; negative longitudes stay numbers."""
    from patrol_planner.report import write_schedule_csv

    p = make_plan(unit_ids=("=cmd|' /C calc'!A0", "@Uppingham"))
    text = write_schedule_csv(p, tmp_path / "schedule.csv").read_text()
    cells = [c for line in text.splitlines()[1:] for c in line.split(",")]
    assert not any(c.startswith(("=", "@", "+")) for c in cells), text
    assert "'=cmd|' /C calc'!A0" in text and "'@Uppingham" in text
    assert any(c.startswith("-0.") for c in cells)  # Rutland's longitudes are negative numbers, not quoted


def test_amendment_reason_is_neutralised_and_read_back_exactly(tmp_path: Path) -> None:
    folder = write_programme(tmp_path / "prog", design=DESIGN, schedule=_schedule(), spots_geojson=_spots())
    reason = "=HYPERLINK(\"http://evil\",\"click\")"
    am = add_amendment(folder, action="cancel_day", reason=reason, day=date(2025, 3, 2))
    raw = (folder / "amendments.csv").read_text()
    assert ",\"'=HYPERLINK(" in raw and ",\"=HYPERLINK(" not in raw
    assert am["reason"].tolist() == [reason]
    assert read_programme(folder).amendments["reason"].tolist() == [reason]


def test_ingest_out_and_quarantine_are_neutralised(tmp_path: Path) -> None:
    """A place name from a received police.uk file and the file's name reach ingest's --out and --quarantine
    CSVs as text (the quarantined row's own cells are kept inside its ``raw`` JSON, which starts with ``{``)."""
    src = REPO / "data" / "policeuk-leicestershire-2022" / "2022-07-leicestershire-street.csv"
    lines = src.read_text(encoding="utf-8").splitlines()
    head, first, second = lines[0], lines[1].split(","), lines[2].split(",")
    cols = head.split(",")
    first[cols.index("Location")] = "=HYPERLINK(\"http://evil\")"
    second[cols.index("Longitude")] = "not a number"
    crimes = tmp_path / "@SUM(1+1) 2022-07-leicestershire-street.csv"
    crimes.write_text("\n".join([head, ",".join(first), ",".join(second), *lines[3:200]]) + "\n", encoding="utf-8")
    out, quar = tmp_path / "incidents.csv", tmp_path / "quarantine.csv"
    res = runner.invoke(app, ["ingest", str(crimes), "--out", str(out), "--quarantine", str(quar)])
    assert res.exit_code == 0, res.output
    for path, planted in ((out, "'=HYPERLINK("), (quar, "'@SUM(1+1)")):
        text = path.read_text(encoding="utf-8")
        assert planted in text, path.name
        cells = [c.strip('"') for line in text.splitlines() for c in line.split(",")]
        assert not any(c.startswith(("=", "@")) for c in cells), path.name
    assert _partials(tmp_path) == []


# --- terminal -----------------------------------------------------------------------------------------------


def test_terminal_safe_shows_controls_as_escapes() -> None:
    s = terminal_safe(f"On or near {ESC_CLEAR}High St\r\u202eevil\nnext\tcol")
    assert "\x1b" not in s and "\r" not in s and "\u202e" not in s
    assert "\\x1b[2J" in s and "\\u202e" in s and "\nnext\tcol" in s


def test_programme_day_does_not_print_escape_sequences(tmp_path: Path) -> None:
    """A place name carrying ESC sequences (from a received file) is printed with the ESC shown, not sent."""
    folder = write_programme(tmp_path / "prog", design=DESIGN, schedule=_schedule(),
                             spots_geojson=_spots(place=f"On or near {ESC_CLEAR}Mill Lane"))
    res = runner.invoke(app, ["programme-day", str(folder), "--date", "2025-03-01"])
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output and "Mill Lane" in res.output and "\\x1b[2J" in res.output


def test_error_line_and_plan_table_do_not_print_escape_sequences(tmp_path: Path, make_plan) -> None:  # noqa: ANN001
    """An error naming a file and the plan's summary table show control characters as escapes."""
    from rich.console import Console

    from patrol_planner.report import plan_summary_table

    res = runner.invoke(app, ["ingest", str(tmp_path / f"{ESC_CLEAR}crimes.csv")])
    assert res.exit_code != 0 and "error:" in res.stderr
    assert "\x1b" not in res.output and "\\x1b[2J" in res.stderr
    con = Console(file=io.StringIO(), force_terminal=False, width=200)
    con.print(plan_summary_table(make_plan(unit_ids=(f"Oakham{ESC_CLEAR}", "Uppingham 2"))))
    shown = con.file.getvalue()
    assert "\x1b" not in shown and "Oakham\\x1b[2J" in shown


# --- numeric options ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", ["-1", "4294967295", "99999999999999999999"])
def test_plan_seed_out_of_range_is_one_error(tmp_path: Path, seed: str) -> None:
    """`plan --seed -1` (and seeds PyVRP cannot take) stop before any work with an error, not a traceback."""
    res = runner.invoke(app, ["plan", "--seed", seed, "--out", str(tmp_path / "o")])
    assert res.exit_code == 8, res.output
    assert "Traceback" not in res.output and "solver.seed" in res.stderr
    assert not (tmp_path / "o").exists()


def test_solve_params_and_evaluation_params_check_their_numbers() -> None:
    from patrol_planner.errors import EvaluationError, RoutingError
    from patrol_planner.evaluation.run import EvaluationParams
    from patrol_planner.routing import SolveParams

    for bad in (-1, 2**32, True):
        with pytest.raises(RoutingError, match="seed"):
            SolveParams(seed=bad)
    with pytest.raises(EvaluationError, match="seed"):
        EvaluationParams(seed=-1)
    with pytest.raises(EvaluationError, match="at most"):
        EvaluationParams(n_draws=10**9)


def test_backtest_workers_out_of_range_is_one_error(tmp_path: Path) -> None:
    """`backtest --by-force --workers 100000` is refused before any process starts."""
    crimes = REPO / "data" / "policeuk-leicestershire-2022"
    for workers in ("-1", "100000"):
        res = runner.invoke(app, ["backtest", str(crimes), "--by-force", "--workers", workers])
        assert res.exit_code == 5 and "--workers must be between 0 and" in res.stderr, res.output


def test_commands_refuse_a_foreign_or_linked_out_before_working(tmp_path: Path) -> None:
    """`plan --out` a folder of other files, and `programme --out` a link, stop at once with one line; nothing
    in them changes."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine\n")
    res = runner.invoke(app, ["plan", "--out", str(home)])
    assert res.exit_code == 2 and "no plan.json" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    link = tmp_path / "prog"
    link.symlink_to(home, target_is_directory=True)
    res = runner.invoke(app, ["programme", str(REPO / "scenarios" / "rutland-programme.toml"), "--out", str(link)])
    assert res.exit_code == 2 and "symbolic link" in res.stderr, res.output
    assert [p.name for p in home.iterdir()] == ["notes.txt"] and _partials(tmp_path) == []

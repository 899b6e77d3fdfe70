"""Backtests across forces: one Dask task per force gives exactly what a plain loop gives.

Two small "forces" are cut from the bundled Leicestershire months (west and east of -1.15 deg), one laid
out as a police.uk ZIP archive, the other as a folder of street files.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from patrol_planner.errors import InputFileError
from patrol_planner.hotspots.backtest import backtest, model_margin
from patrol_planner.hotspots.national import NATIONAL_COLUMNS, backtest_forces, find_forces
from patrol_planner.incidents import ingest

REPO = Path(__file__).resolve().parents[1]
LEIC = REPO / "data" / "policeuk-leicestershire-2022"


@pytest.fixture(scope="module")
def two_forces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``west`` as a ZIP archive (YYYY-MM/YYYY-MM-west-street.csv members), ``east`` as a folder."""
    root = tmp_path_factory.mktemp("forces")
    (root / "east").mkdir()
    with zipfile.ZipFile(root / "west-2022.zip", "w") as z:
        for f in sorted(LEIC.glob("*-street.csv")):
            month = f.name[:7]
            df = pd.read_csv(f, dtype=str, keep_default_na=False)
            lon = pd.to_numeric(df["Longitude"], errors="coerce")
            z.writestr(f"{month}/{month}-west-street.csv", df[lon < -1.15].to_csv(index=False))
            df[~(lon < -1.15)].to_csv(root / "east" / f"{month}-east-street.csv", index=False)
    return {"west": root / "west-2022.zip", "east": root / "east"}


def test_find_forces_reads_archives_and_folders(two_forces: dict[str, Path], tmp_path: Path) -> None:
    """Each force slug comes from its file names, whether inside an archive or a folder; nothing found or a
    corrupt archive is a clear input error."""
    found = find_forces([two_forces["west"], two_forces["east"]])
    assert sorted(found) == ["east", "west"]
    with pytest.raises(InputFileError, match="no police.uk street files"):
        find_forces([REPO / "data" / "intel-rutland-synthetic"])
    bad = tmp_path / "broken.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InputFileError):
        find_forces([bad])


@pytest.mark.slow
def test_dask_by_force_equals_plain_loop(two_forces: dict[str, Path]) -> None:
    """A 2-worker LocalCluster gives the same national table and per-force results as the in-process loop,
    and each force's row equals a backtest of that force's files alone (ceiling included)."""
    paths = [two_forces["west"], two_forces["east"]]
    loop = backtest_forces(paths, folds=1, workers=0)
    dask = backtest_forces(paths, folds=1, workers=2)
    cols = [c for c in NATIONAL_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(loop.table[cols], dask.table[cols])
    for f in ("east", "west"):
        pd.testing.assert_frame_equal(loop.results[f], dask.results[f])
    alone = backtest(ingest(sorted((two_forces["east"]).glob("*.csv"))).incidents, folds=1)
    m = model_margin(alone)
    east = loop.table[loop.table.force == "east"].reset_index(drop=True)
    pd.testing.assert_series_equal(east["ratio"], m["ratio"], check_names=False)
    assert (east["ceiling"] >= east["model"]).all() and (east["ceiling"] >= east["best_baseline_harm"]).all()
    assert list(loop.table.columns) == list(NATIONAL_COLUMNS)
    assert len(loop.table) == 2 * 3


@pytest.mark.slow
def test_cli_backtest_by_force_writes_table_chart(two_forces: dict[str, Path], tmp_path: Path) -> None:
    """``backtest --by-force --workers 0 --out`` writes the national CSV, JSON (with provenance) and PNG and
    prints one JSON object with the table."""
    from patrol_planner.cli import app

    out = tmp_path / "nat"
    res = CliRunner().invoke(app, ["backtest", str(two_forces["west"]), str(two_forces["east"]), "--by-force",
                                   "--folds", "1", "--workers", "0", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout.strip().splitlines()[-1])
    assert {r["force"] for r in obj["table"]} == {"east", "west"}
    table = pd.read_csv(out / "national.csv")
    assert set(table.columns) == set(NATIONAL_COLUMNS) and len(table) == 6
    saved = json.loads((out / "national.json").read_text())
    assert saved["provenance"]["inputs"][0]["file"] == "west-2022.zip"
    assert (out / "national.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_bad_scheduler_address_is_one_line_error(two_forces: dict[str, Path]) -> None:
    """A scheduler address Dask cannot parse is refused in one line, with a non-zero exit, before any work."""
    from patrol_planner.cli import app

    res = CliRunner().invoke(app, ["backtest", str(two_forces["west"]), "--by-force", "--scheduler", "none"])
    assert res.exit_code != 0
    assert "is not a Dask scheduler address" in res.output and "Traceback" not in res.output


def test_cli_says_when_fewer_folds_than_asked(two_forces: dict[str, Path]) -> None:
    """Two months of data hold one fold: asking for three prints the table and says so in plain words."""
    from patrol_planner.cli import app

    res = CliRunner().invoke(app, ["backtest", str(two_forces["west"]), "--by-force", "--folds", "3",
                                   "--workers", "0"])
    assert res.exit_code == 0, res.output
    assert "note: west: 1 fold of the 3 asked" in res.output
    res = CliRunner().invoke(app, ["backtest", str(two_forces["west"]), "--folds", "1", "--workers", "0"])
    assert res.exit_code == 0, res.output
    assert "fold of the" not in res.output


def test_national_run_accounts_for_every_row_and_member(two_forces: dict[str, Path], tmp_path: Path) -> None:
    """Each force's task reports its rows read and quarantined (with reasons); members no task reads
    (outcomes, a README) are counted once for the run, and the CLI prints both."""
    from patrol_planner.cli import app

    arch = tmp_path / "west-extra.zip"
    with zipfile.ZipFile(two_forces["west"]) as src, zipfile.ZipFile(arch, "w") as z:
        for n in src.namelist():
            z.writestr(n, src.read(n))
            z.writestr(n.replace("street", "outcomes"), "Crime ID,Month,Outcome type\n")
        z.writestr("README.txt", "not data")
    nat = backtest_forces([arch], folds=1, workers=0)
    task = nat.tasks[0]
    alone = ingest([arch], force="west").report
    assert task["ingest"]["rows_read"] == alone.rows_read
    assert task["ingest"]["rows_quarantined"] == alone.rows_quarantined
    assert task["n_records"] + task["ingest"]["rows_quarantined"] == task["ingest"]["rows_read"]
    assert nat.meta["skipped"] == {"other": 1, "outcomes": 2}
    res = CliRunner().invoke(app, ["backtest", str(arch), "--by-force", "--folds", "1", "--workers", "0"])
    assert res.exit_code == 0, res.output
    assert "skipped (not crime records): other 1, outcomes 2" in res.output
    assert f"west: {task['n_records']} records" in res.output


def test_one_force_that_cannot_run_does_not_stop_the_others(two_forces: dict[str, Path], tmp_path: Path) -> None:
    """A force with one month of data is reported as not backtested (with why); the other forces' table is
    printed and written, and the run exits non-zero; when no force can run it is one clear error."""
    from patrol_planner.cli import app
    from patrol_planner.errors import HotspotError

    short = tmp_path / "short"
    short.mkdir()
    first = sorted(two_forces["east"].glob("*-street.csv"))[0]
    (short / first.name.replace("-east-", "-north-")).write_bytes(first.read_bytes())
    nat = backtest_forces([two_forces["west"], short], folds=1, workers=0)
    assert set(nat.table.force) == {"west"} and list(nat.failed) == ["north"]
    assert "too little data" in nat.failed["north"]
    out = tmp_path / "nat"
    res = CliRunner().invoke(app, ["backtest", str(two_forces["west"]), str(short), "--by-force", "--folds", "1",
                                   "--workers", "0", "--out", str(out)])
    assert res.exit_code == HotspotError.exit_code
    assert "north: NOT BACKTESTED" in res.output and "1 of 2 forces could not be backtested" in res.output
    assert "Traceback" not in res.output
    assert set(pd.read_csv(out / "national.csv").force) == {"west"}
    assert json.loads((out / "national.json").read_text())["failed"]["north"].startswith("too little data")
    with pytest.raises(HotspotError, match="no force could be backtested"):
        backtest_forces([short], folds=1, workers=0)


def test_plain_backtest_of_several_forces_says_it_pooled_them(two_forces: dict[str, Path]) -> None:
    """Without --by-force, two forces are one study area: the CLI says so and points to --by-force."""
    from patrol_planner.cli import app

    res = CliRunner().invoke(app, ["backtest", str(two_forces["west"]), str(two_forces["east"]), "--folds", "1"])
    assert res.exit_code == 0, res.output
    assert "the inputs hold 2 forces (east, west), backtested as one area" in res.output

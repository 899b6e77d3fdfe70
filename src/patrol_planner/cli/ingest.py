"""``patrol-planner ingest``: read crime, stop-and-search and intelligence CSVs (files, folders, police.uk ZIPs)
into the incident table and report what was kept."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from patrol_planner.cli._common import echo, print_json, user_errors

if TYPE_CHECKING:
    import pandas as pd


def ingest_cmd(
    files: list[Path] = typer.Argument(
        ..., help="Crime, stop-and-search or intelligence CSVs (.csv, .csv.gz), police.uk ZIP downloads, or folders "
        "(their files and YYYY-MM subfolders)."),
    force: str | None = typer.Option(
        None, "--force", help="Read only this police.uk force's files (slug as in the file names, e.g. kent)."),
    stop_and_search: bool = typer.Option(
        False, "--stop-and-search", help="Also read the -stop-and-search.csv files found in folders and archives."),
    list_forces: bool = typer.Option(
        False, "--list-forces", help="Only list the forces whose street files are in FILE... (no rows are read)."),
    fmt: str | None = typer.Option(
        None, "--format", help="Force a format: police_uk_street, police_uk_api, generic, intelligence, "
        "police_uk_stop_search, police_uk_api_stop_search."
    ),
    mapping: str | None = typer.Option(
        None, "--mapping",
        help="Column mapping for generic CSVs: nyc-vehicle-thefts, us-homicides-2015, cambs-rtc, or a .toml/.json "
        "file.",
    ),
    crs: str | None = typer.Option(None, "--crs", help="Working CRS (projected, metres), e.g. EPSG:27700."),
    quarantine: Path | None = typer.Option(None, "--quarantine", help="Write quarantined rows to this CSV."),
    out: Path | None = typer.Option(None, "--out", help="Write the incident table (CSV, or .parquet with pyarrow)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a summary."),
) -> None:
    """Read FILE... into the canonical incident table; every row is loaded or quarantined with a reason."""
    import warnings

    from patrol_planner.errors import DataQualityWarning, InputFileError
    from patrol_planner.incidents import forces_in, ingest

    if list_forces:
        found = forces_in(files)
        if not found:
            raise InputFileError("no police.uk street files (YYYY-MM-<force>-street.csv) in the inputs")
        if as_json:
            print_json(found)
        else:
            for slug, sources in found.items():
                echo(f"{slug}\t{len(sources)} street file(s)")
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataQualityWarning)
        res = ingest(files, force=force, stop_and_search=stop_and_search, fmt=fmt, crs=crs, mapping=mapping)
    rep = res.report
    if quarantine is not None:
        _write(res.quarantine, quarantine, what="quarantine")
    if out is not None:
        if out.suffix.lower() == ".parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise InputFileError(f"{out}: writing Parquet needs pyarrow; use a .csv path") from None
            from patrol_planner.atomic import atomic_file

            with atomic_file(out) as tmp:
                res.incidents.to_parquet(tmp, index=False)
        else:
            _write(res.incidents, out, what="incident table")
    for w in caught:
        echo(f"warning: {w.message}", err=True)
    if as_json:
        print_json(rep.to_dict())
        return
    echo(rep.summary())


def _write(df: pd.DataFrame, path: Path, *, what: str) -> None:
    """Write ``df`` as a CSV meant for a spreadsheet (text cells cannot run as formulas), whole or not at all."""
    from patrol_planner.atomic import atomic_file
    from patrol_planner.errors import InputFileError, PatrolPlannerError
    from patrol_planner.sanitise import spreadsheet_safe

    try:
        with atomic_file(path) as tmp:
            spreadsheet_safe(df).to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S")
    except PatrolPlannerError as exc:
        raise InputFileError(f"cannot write the {what}: {exc}") from None


def register(app: typer.Typer) -> None:
    """Add the ``ingest`` command to ``app``."""
    app.command("ingest")(user_errors(ingest_cmd))

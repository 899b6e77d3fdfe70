"""``patrol-planner ingest``: read crime, stop-and-search and intelligence CSVs (files, folders, police.uk ZIPs)
into the incident table and report what was kept."""

from __future__ import annotations

from pathlib import Path

import typer

from patrol_planner.cli._common import print_json, user_errors


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
                typer.echo(f"{slug}\t{len(sources)} street file(s)")
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
            res.incidents.to_parquet(out, index=False)
        else:
            _write(res.incidents, out, what="incident table")
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    if as_json:
        print_json(rep.to_dict())
        return
    typer.echo(rep.summary())


def _write(df: object, path: Path, *, what: str) -> None:
    from patrol_planner.errors import InputFileError

    try:
        df.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S")  # type: ignore[attr-defined]
    except OSError as exc:
        raise InputFileError(f"cannot write the {what} to {path}: {exc.strerror}") from None


def register(app: typer.Typer) -> None:
    """Add the ``ingest`` command to ``app``."""
    app.command("ingest")(user_errors(ingest_cmd))

"""Ingestion, end to end: sources -> per-file readers -> ids -> one incident table, one quarantine, a report.

Each CSV (a file, a gzip'd file or an archive member, see :mod:`.sources`) goes through

1. :func:`~.csvbytes.read_raw_bytes`: decode, split into records and fields, physical line of each record;
2. a format reader (:mod:`.readers`, :mod:`.stopsearch`) that parses the cells vectorised and marks each bad
   row with the first reason it fails (see :mod:`.quarantine`);
3. file-level plausibility (area of interest, strays),

then ids are made unique across files (:mod:`.ids`), the working CRS is chosen and the table is assembled
and projected (:mod:`.table`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner import geo
from patrol_planner.errors import (
    ArchiveError,
    DataQualityWarning,
    DecompressionLimitError,
    FormatError,
    InputFileError,
    MappingError,
)
from patrol_planner.incidents import quarantine as _q
from patrol_planner.incidents import readers as _readers
from patrol_planner.incidents import stopsearch as _stopsearch
from patrol_planner.incidents.csvbytes import RawTable, peek_header, read_raw_bytes
from patrol_planner.incidents.formats import COORD_COLUMNS, STREET_HASH_COLUMNS, needed_columns, resolve_format
from patrol_planner.incidents.ids import flag_duplicate_ids, hash_ids
from patrol_planner.incidents.mappings import GenericMapping, detect_builtin, load_mapping
from patrol_planner.incidents.result import IngestReport, IngestResult, gap_advice
from patrol_planner.incidents.rows import Rows, filled, shape_checks
from patrol_planner.incidents.schema import QUARANTINE_COLUMNS
from patrol_planner.incidents.sources import Source, SourceReader, find_sources
from patrol_planner.incidents.table import assemble, file_columns

_READERS = {
    "police_uk_street": _readers.read_street,
    "police_uk_api": _readers.read_api,
    "intelligence": _readers.read_intel,
    "police_uk_stop_search": _stopsearch.read_stop_search,
    "police_uk_api_stop_search": _stopsearch.read_api_stop_search,
}


@dataclass
class _Part:
    """One file read: its cells, its rows' values and flags, and what the report says of it."""

    source: Source
    raw: RawTable
    rows: Rows
    kind: str
    shown: list[str] | None
    mapping: GenericMapping | None


def ingest(paths: str | Path | Iterable[str | Path], *, force: str | None = None, stop_and_search: bool = False,
           fmt: str | None = None, crs: str | None = None, mapping: str | Path | GenericMapping | None = None,
           aoi_lonlat: Sequence[float] | Any | None = None) -> IngestResult:
    """Read crime, stop-and-search and intelligence CSVs (files, folders, archives) into the incident table.

    Parameters
    ----------
    paths : path or iterable of paths
        CSV files (also ``.csv.gz``), ZIP archives as downloaded from data.police.uk (read in place, member
        by member), ``archive.zip:member`` strings (as :func:`~.sources.forces_in` returns), or folders (their
        files and ``YYYY-MM`` subfolders). Each CSV's format is detected from its header unless ``fmt`` is
        given. Outcomes files, READMEs and folder entries found in folders/archives are skipped and counted.
    force : str, optional
        Police.uk force slug (``"kent"``): read only the files whose police.uk name gives that force.
    stop_and_search : bool
        Also read the ``-stop-and-search.csv`` files found in folders and archives (a file given by name is
        always read).
    fmt : {"police_uk_street", "police_uk_api", "generic", "intelligence", "police_uk_stop_search", \
"police_uk_api_stop_search"}, optional
        Force one format for every file.
    crs : str, optional
        Working CRS (projected, metres); default :func:`patrol_planner.geo.choose_working_crs`.
    mapping : str, path or GenericMapping, optional
        Column mapping for generic files: a built-in name, a TOML/JSON file, or an object.
    aoi_lonlat : (west, south, east, north) [deg] or shapely geometry in EPSG:4326, optional
        Area of interest; points outside it are quarantined as ``outside_area``.

    Returns
    -------
    IngestResult
        ``incidents`` (schema :data:`~patrol_planner.incidents.schema.COLUMNS`, ``attrs["crs"]``),
        ``quarantine`` (:data:`~patrol_planner.incidents.schema.QUARANTINE_COLUMNS`) and ``report``.

    Raises
    ------
    InputFileError
        A whole file is unusable (missing, empty, unknown format, undecodable, truncated); nothing is loaded.
        ArchiveError (a kind of InputFileError) for a corrupt, truncated or empty archive, or one without
        street files. An archive member that cannot be read is not raised: it is in ``report.unreadable``.

    Warns
    -----
    DataQualityWarning
        When rows were read but every one was quarantined, an archive member could not be read, or a
        month between the first and the last record holds no record at all (``report.missing_months``).
    """
    found = find_sources(paths, force=force, stop_and_search=stop_and_search)
    m_obj = load_mapping(mapping) if mapping is not None else None
    if crs is not None:
        crs = geo.check_projected(crs)
    parts: list[_Part] = []
    unreadable: list[dict[str, Any]] = []
    with SourceReader() as reader:  # each archive opened once for all its members
        for src in found.sources:
            try:
                parts.append(_read_source(src, reader.read(src), fmt, m_obj, aoi_lonlat))
            except InputFileError as exc:
                if src.member is None or isinstance(exc, MappingError | DecompressionLimitError):
                    raise  # a file the user named, or a bomb: its problem is the run's problem
                unreadable.append({"file": src.name, "force": src.force, "error": str(exc)})
    if not parts:
        raise ArchiveError("no file could be read: " + "; ".join(u["error"] for u in unreadable))
    _give_hash_ids(parts)
    flag_duplicate_ids([pt.rows for pt in parts])
    loaded_lon = np.concatenate([pt.rows.lon[pt.rows.ok] for pt in parts])
    loaded_lat = np.concatenate([pt.rows.lat[pt.rows.ok] for pt in parts])
    work_crs = geo.choose_working_crs(loaded_lon, loaded_lat, override=crs)
    quarantine = _quarantine(parts)
    frames = [file_columns(pt.kind, pt.raw, pt.rows, pt.rows.ok) for pt in parts if pt.rows.ok.any()]
    incidents, category_counts = assemble(frames, work_crs)
    report = _report(parts, quarantine, len(incidents), category_counts, work_crs, found.skipped, unreadable)
    report = dataclasses.replace(report, missing_months=missing_months(incidents))
    _warn_about(report)
    return IngestResult(incidents, quarantine, report)


def _warn_about(report: IngestReport) -> None:
    """The data-quality warnings of a read that went through (stacklevel: the caller of ``ingest``)."""
    if report.rows_read and not report.rows_loaded:
        warnings.warn(f"all {report.rows_read} rows were quarantined: check the format, mapping and area",
                      DataQualityWarning, stacklevel=3)
    for u in report.unreadable:
        warnings.warn(f"{u['file']} was not read: {u['error']}", DataQualityWarning, stacklevel=3)
    if report.missing_months:
        warnings.warn(f"no records at all in {', '.join(report.missing_months)}: {gap_advice()}",
                      DataQualityWarning, stacklevel=3)


def _read_raw(src: Source, data: bytes, fmt: str | None,
              m_obj: GenericMapping | None) -> tuple[RawTable, str, GenericMapping | None]:
    """(cells, format, mapping) of ``src`` (its bytes ``data``): the cells its reader needs (all, when the
    header cannot tell)."""
    _refuse_workbook(data, src.name)
    # A first look at the header picks the columns to parse and whether cp1252 is expected;
    # the real header (read below) has the final word.
    head = [h.strip() for h in peek_header(data)]
    m_guess = m_obj or detect_builtin(head)
    allow_cp1252 = m_guess is not None and m_guess.encoding.lower() == "cp1252"
    columns = needed_columns(head, fmt, m_obj)
    floats = COORD_COLUMNS
    if m_guess is not None:
        floats = floats | {c for c in (m_guess.lon_col, m_guess.lat_col, m_guess.x_col, m_guess.y_col) if c}
    raw = read_raw_bytes(data, src.name, allow_cp1252=allow_cp1252, columns=columns, float_columns=floats)
    kind, m = resolve_format(raw, fmt, m_obj)
    if columns is not None and not set(needed_columns(raw.header, kind, m) or ()) <= set(raw.cells.columns):
        raw = read_raw_bytes(data, src.name, allow_cp1252=allow_cp1252)
    return raw, kind, m


#: Leading bytes of spreadsheet workbooks: OOXML (.xlsx, .ods: ZIP containers) and legacy OLE2 (.xls).
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def _refuse_workbook(data: bytes, name: str) -> None:
    """A spreadsheet saved as a workbook is the commonest wrong file from a force export: say so."""
    if data.startswith(_WORKBOOK_MAGIC) and not name.lower().endswith(".zip"):
        raise FormatError(f"{name}: a spreadsheet workbook or other binary file, not a CSV: save it from the "
                          "spreadsheet as CSV (UTF-8), or pass the police.uk ZIP archive itself")


def _read_source(src: Source, data: bytes, fmt: str | None, m_obj: GenericMapping | None,
                 aoi_lonlat: Any) -> _Part:
    """Read one CSV (its bytes ``data``): cells, its format's reader, then area-of-interest and stray checks."""
    raw, kind, m = _read_raw(src, data, fmt, m_obj)
    rows = Rows(len(raw.cells))
    shape_checks(raw, rows)
    if kind == "generic":
        assert m is not None
        shown = _readers.read_generic(raw, rows, m)
    else:
        shown = _READERS[kind](raw, rows)
    ok = rows.ok.copy()
    if aoi_lonlat is not None:
        inside = _q.in_aoi(np.nan_to_num(rows.lon), np.nan_to_num(rows.lat), aoi_lonlat)
        rows.flag(ok & ~inside, "outside_area", "outside the area of interest")
        ok = rows.ok.copy()
    if m is None or m.stray_check:
        okpos = np.flatnonzero(ok)
        stray = np.zeros(rows.n, dtype=bool)
        stray[okpos] = _q.stray_mask(rows.lon[okpos], rows.lat[okpos])
        rows.flag(stray, "outside_area", "stray point far from the rest of the file")
    if not (isinstance(rows.ids, np.ndarray) and rows.ids.dtype == object and rows.ids.flags.writeable
            and rows.ids.flags.owndata):
        rows.ids = np.array(rows.ids, dtype=object)  # writable copy (pandas may hand out read-only views)
    return _Part(src, raw, rows, kind, shown, m)


def _give_hash_ids(parts: list[_Part]) -> None:
    """Content-hash ids for the loaded rows without one, all files at once."""
    jobs, targets = [], []
    for pt in parts:
        rows = pt.rows
        no_id = rows.no_id if rows.no_id is not None else pd.isna(rows.ids)
        need_hash = np.flatnonzero(rows.ok & no_id)
        if not need_hash.size:
            continue
        if pt.kind == "police_uk_street":
            hash_cols = [c for c in STREET_HASH_COLUMNS if c in pt.raw.cells]
        else:
            hash_cols = [c for c in (pt.shown or pt.raw.cells.columns) if c != "intel_id"]
        jobs.append((pt.raw, hash_cols, need_hash, rows.lon, rows.lat))
        targets.append(rows)
    for rows, job, ids in zip(targets, jobs, hash_ids(jobs), strict=True):
        rows.ids[job[2]] = ids


def _quarantine(parts: list[_Part]) -> Any:
    """One quarantine table for all files (not one per file, then a concat)."""
    q_raws: list[dict[str, Any]] = []
    q_cols: dict[str, list[np.ndarray]] = {"file": [], "line": [], "reason": [], "detail": []}
    for pt in parts:
        r, raw = pt.rows, pt.raw
        qpos = np.flatnonzero(~r.ok)
        for i in qpos.tolist():
            if r.shown_raw is not None:
                q_raws.append(r.shown_raw(i))
                continue
            rec = raw.raw_row(i)
            q_raws.append(rec if pt.shown is None else {k: rec[k] for k in pt.shown if k in rec})
        q_cols["file"].append(filled(qpos.size, raw.name))
        q_cols["line"].append(raw.line[qpos])
        q_cols["reason"].append(r.reason[qpos])
        q_cols["detail"].append(r.detail[qpos])
    quarantine = _q.quarantine_frame(q_raws, np.arange(len(q_raws)), np.concatenate(q_cols["reason"]),
                                     np.concatenate(q_cols["detail"]), np.concatenate(q_cols["file"]),
                                     np.concatenate(q_cols["line"]))
    return quarantine[list(QUARANTINE_COLUMNS)]


#: A month with no crime record is called missing only when, at the data's mean monthly volume, a month
#: without any crime would be less likely than this (Poisson): a quiet village can have empty months.
GAP_P_VALUE = 1e-3


def missing_months(incidents: pd.DataFrame) -> tuple[str, ...]:
    """Months (``YYYY-MM``) between the first and last crime record's month holding no crime record at all,
    when the other months' volume makes an empty month implausible (:data:`GAP_P_VALUE`). Intelligence and
    stop-and-search records are not counted: they are sparse by nature and come from other files."""
    crimes = incidents[incidents["source_kind"].isin(("police_uk_street", "police_uk_api", "generic")).to_numpy()]
    if len(crimes) == 0:
        return ()
    per = pd.DatetimeIndex(crimes["occurred_from"]).to_period("M")
    seen = per.unique()
    full = pd.period_range(seen.min(), seen.max(), freq="M")
    if np.exp(-len(crimes) / len(seen)) >= GAP_P_VALUE:  # P(0 | Poisson(mean per month)) is not small
        return ()
    return tuple(str(p) for p in full.difference(seen))


def _report(parts: list[_Part], quarantine: Any, n_loaded: int, category_counts: dict[str, int], crs: str,
            skipped: dict[str, int], unreadable: list[dict[str, Any]]) -> IngestReport:
    """The report: totals, reasons, categories, per file and per force, skipped and unreadable inputs."""
    files = []
    forces: dict[str, dict[str, int]] = {}
    for pt in parts:
        n_ok = int(pt.rows.ok.sum())
        stats = {"file": pt.raw.name, "force": pt.source.force, "format": pt.kind,
                 "mapping": pt.mapping.name if pt.mapping else None, "encoding": pt.raw.encoding,
                 "rows_read": pt.rows.n, "rows_loaded": n_ok, "rows_quarantined": pt.rows.n - n_ok}
        files.append(stats)
        if pt.source.force is not None:
            f = forces.setdefault(pt.source.force, dict.fromkeys(("files", "rows_read", "rows_loaded",
                                                                  "rows_quarantined"), 0))
            f["files"] += 1
            for k in ("rows_read", "rows_loaded", "rows_quarantined"):
                f[k] += stats[k]
    reasons = quarantine["reason"].value_counts()
    report = IngestReport(
        rows_read=sum(st["rows_read"] for st in files),
        rows_loaded=n_loaded,
        rows_quarantined=len(quarantine),
        quarantine_reasons={k: int(reasons.get(k, 0)) for k in _q.REASONS if reasons.get(k, 0)},
        categories=dict(sorted(category_counts.items())),
        crs=crs,
        files=tuple(files),
        skipped=dict(sorted(skipped.items())),
        unreadable=tuple(unreadable),
        forces=dict(sorted(forces.items())),
    )
    assert report.rows_read == report.rows_loaded + report.rows_quarantined
    return report

"""Read CSV ping exports (vehicle AVL, radio location logs) through a column mapping.

A :class:`PingMapping` names the unit, time and position columns (lon/lat, or easting/northing in a named
CRS such as British National Grid). Built-in mappings (:data:`BUILTIN_PING_MAPPINGS`) cover the plain
layouts and are detected from the header; others come from a small TOML or JSON file, like the incident
mappings of :mod:`patrol_planner.incidents.mappings`. Rows must be in time order per unit (the order of the
file is the track's order, so a clock that jumps back is found); set ``sort_by_time`` for an export that is
grouped some other way.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from patrol_planner.dosage.pings import FileRead, empty_pings, split_bad
from patrol_planner.errors import MappingError
from patrol_planner.geo import to_lonlat
from patrol_planner.incidents.csvbytes import bom_encoding
from patrol_planner.incidents.mappings import read_mapping_file


@dataclass(frozen=True)
class PingMapping:
    """Which columns of a ping CSV hold what.

    Parameters
    ----------
    name : str
    unit_col, time_col : str
        Unit (device) id and time columns.
    time_format : str or None
        None: ISO 8601 (a zone per value is optional; values without one are read in the programme's
        timezone); ``"epoch_s"``: seconds since 1970-01-01 UTC; otherwise strftime codes.
    lon_col, lat_col : str or None
        Longitude / latitude [deg, EPSG:4326].
    x_col, y_col, coord_crs : str or None
        Easting / northing [m] in ``coord_crs`` (e.g. ``EPSG:27700``), instead of lon/lat.
    encoding : str
    sort_by_time : bool
        Sort each unit's rows by time before the order check (the file is grouped some other way).
    """

    name: str
    unit_col: str = "unit"
    time_col: str = "time"
    time_format: str | None = None
    lon_col: str | None = None
    lat_col: str | None = None
    x_col: str | None = None
    y_col: str | None = None
    coord_crs: str | None = None
    encoding: str = "utf-8"
    sort_by_time: bool = False

    def __post_init__(self) -> None:
        lonlat = self.lon_col is not None or self.lat_col is not None
        xy = self.x_col is not None or self.y_col is not None
        if lonlat == xy:
            raise MappingError(f"ping mapping {self.name!r}: give either lon_col+lat_col or x_col+y_col+coord_crs")
        if lonlat and not (self.lon_col and self.lat_col):
            raise MappingError(f"ping mapping {self.name!r}: lon_col and lat_col go together")
        if xy and not (self.x_col and self.y_col and self.coord_crs):
            raise MappingError(f"ping mapping {self.name!r}: x_col, y_col and coord_crs go together")

    def columns(self) -> tuple[str, ...]:
        names = (self.unit_col, self.time_col, self.lon_col, self.lat_col, self.x_col, self.y_col)
        return tuple(n for n in names if n is not None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str | None = None) -> PingMapping:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise MappingError(f"ping mapping {name or '?'!r}: unknown keys {unknown}; allowed: {sorted(known)}")
        kw = dict(data)
        kw.setdefault("name", name or "custom")
        try:
            return cls(**kw)
        except TypeError as exc:
            raise MappingError(f"ping mapping {kw['name']!r}: {exc}") from None


BUILTIN_PING_MAPPINGS: dict[str, PingMapping] = {m.name: m for m in (
    PingMapping(name="lonlat", unit_col="unit", time_col="time", lon_col="lon", lat_col="lat"),
    PingMapping(name="bng", unit_col="unit", time_col="time", x_col="easting", y_col="northing",
                coord_crs="EPSG:27700"),
)}


def load_ping_mapping(spec: str | Path | PingMapping) -> PingMapping:
    """A mapping from a built-in name, a ``.toml``/``.json`` file, or a mapping itself."""
    if isinstance(spec, PingMapping):
        return spec
    s = str(spec)
    if s in BUILTIN_PING_MAPPINGS:
        return BUILTIN_PING_MAPPINGS[s]
    p = Path(s)
    if p.suffix.lower() not in (".toml", ".json"):
        raise MappingError(f"unknown ping mapping {s!r}: use one of {sorted(BUILTIN_PING_MAPPINGS)} or a "
                           ".toml/.json file")
    data = read_mapping_file(p, what="ping mapping file")
    return PingMapping.from_dict(data, name=str(data.get("name", p.stem)))


def detect_ping_mapping(header: list[str]) -> PingMapping | None:
    """The built-in mapping whose columns are all in ``header`` (lon/lat first), or None."""
    have = set(header)
    for m in BUILTIN_PING_MAPPINGS.values():
        if set(m.columns()) <= have:
            return m
    return None


def file_encoding(path: Path, declared: str) -> str:
    """``declared``, unless the file starts with a byte-order mark (UTF-16 or UTF-8), which has the last word."""
    with open(path, "rb") as fh:
        return bom_encoding(fh.read(4)) or declared


def _header(path: Path, encoding: str) -> list[str]:
    with open(path, encoding=encoding, newline="") as fh:
        first = fh.readline()
    if not first.strip():
        raise MappingError(f"{path.name}: empty file or blank header line")
    return [c.strip() for c in next(csv.reader([first]))]


#: Rows per chunk of a CSV read: a 16M-row export read whole needs ~8 GB of Python strings; in chunks the
#: strings of one chunk at a time, and the table keeps only numbers and unit codes.
CHUNK_ROWS = 1_000_000


def _read_chunks(path: Path, m: PingMapping, tz: ZoneInfo | str, chunk_rows: int, encoding: str) -> list[FileRead]:
    """Read the mapped columns chunk by chunk; coordinates as floats directly (fast), or, when some are not
    numbers, the whole file again as text (those rows are quarantined)."""
    kw = dict(usecols=list(m.columns()), encoding=encoding, keep_default_na=False, na_values=[""],
              chunksize=chunk_rows)
    nums = [c for c in (m.lon_col, m.lat_col, m.x_col, m.y_col) if c] + ([m.time_col] if m.time_format == "epoch_s"
                                                                         else [])
    text = {c: object for c in m.columns() if c not in nums}  # object, not str: the fastest the C parser offers
    for dtype in ({**text, **{c: "float64" for c in nums}}, object):
        try:
            with pd.read_csv(path, dtype=dtype, **kw) as reader:
                parts, offset = [], 0
                for chunk in reader:
                    parts.append(_from_frame(path.name, chunk, m, tz, first_line=offset + 2))
                    offset += len(chunk)
                return parts
        except ValueError:
            if dtype is object:
                raise
    return []


def _number(col: pd.Series) -> np.ndarray:
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)


def read_ping_csv(path: str | Path, tz: ZoneInfo | str, *, mapping: str | Path | PingMapping | None = None,
                  chunk_rows: int = CHUNK_ROWS) -> FileRead:
    """Read one ping CSV; a file that cannot be used comes back with ``error`` set, never an exception.

    ``mapping`` None detects a built-in layout from the header. Each unit's rows form one segment; the
    ``point`` of a row is its 1-based data line number.
    """
    path = Path(path)
    try:
        m = load_ping_mapping(mapping) if mapping is not None else None
        encoding = file_encoding(path, m.encoding if m else "utf-8")
        header = _header(path, encoding)
        if m is None:
            m = detect_ping_mapping(header)
            if m is None:
                layouts = "; ".join(f"{k}: {list(v.columns())}" for k, v in BUILTIN_PING_MAPPINGS.items())
                # The header's text is not echoed: the file may be anything (a path typed by mistake).
                raise MappingError(f"{path.name}: its {len(header)} column name(s) match no built-in ping layout "
                                   f"({layouts}); give --mapping")
        missing = [c for c in m.columns() if c not in header]
        if missing:
            raise MappingError(f"{path.name}: mapping {m.name!r} needs columns {missing} that the file lacks")
        parts = _read_chunks(path, m, tz, chunk_rows, encoding)
    except MappingError as exc:
        return FileRead(path.name, "csv", empty_pings(), error=str(exc))
    except (UnicodeError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as exc:
        return FileRead(path.name, "csv", empty_pings(), error=f"{path.name}: not a readable CSV "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")
    if not parts or sum(len(p.pings) + len(p.quarantine) for p in parts) == 0:
        return FileRead(path.name, "csv", empty_pings(), error=f"{path.name}: CSV with a header and no rows")
    read = _combine(path.name, parts)
    if m.sort_by_time and not read.pings.empty:
        read.pings = read.pings.sort_values(["seg", "t_s"], kind="stable").reset_index(drop=True)
    return read


def _combine(name: str, parts: list[FileRead]) -> FileRead:
    """One file's chunks as one read; each unit is one segment."""
    pings = [p.pings for p in parts]
    units = union_categoricals([p["unit"] for p in pings])
    table = pd.concat([p.drop(columns="unit") for p in pings], ignore_index=True)
    table.insert(0, "unit", units)
    table["seg"] = units.codes.astype(np.int64)
    qs = [p.quarantine for p in parts if not p.quarantine.empty]
    return FileRead(name, "csv", table, pd.concat(qs, ignore_index=True) if qs else parts[0].quarantine,
                    naive_points=sum(p.naive_points for p in parts))


def _from_frame(name: str, df: pd.DataFrame, m: PingMapping, tz: ZoneInfo | str, *, first_line: int) -> FileRead:
    if m.lon_col is not None:
        lon, lat = _number(df[m.lon_col]), _number(df[m.lat_col])
    else:
        x, y = _number(df[m.x_col]), _number(df[m.y_col])
        lon, lat = np.full(len(df), np.nan), np.full(len(df), np.nan)
        ok = np.isfinite(x) & np.isfinite(y)
        lon[ok], lat[ok] = to_lonlat(x[ok], y[ok], m.coord_crs)
    codes, uniques = pd.factorize(df[m.unit_col].to_numpy(dtype=object))
    unit = pd.Categorical.from_codes(codes, categories=pd.Index(uniques.astype(str), dtype=object))
    point = np.arange(first_line, first_line + len(df))  # header is line 1
    return split_bad(name, unit, unit.codes.astype(np.int64), point, df[m.time_col].reset_index(drop=True), lon,
                     lat, tz, kind="csv", time_format=m.time_format)

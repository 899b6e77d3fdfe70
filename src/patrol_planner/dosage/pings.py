"""The ping table every reader produces, and the time and coordinate checks the readers share.

A ping table (:data:`PING_COLUMNS`) has one row per usable point:

=================  =====================================================================================
column             meaning
=================  =====================================================================================
``unit``           unit (device) id, string
``seg``            track segment number, unique within the file: intervals never join two segments
``point``          the point's position in its file (GPX: 0-based ``<trkpt>`` number; CSV: 1-based line)
``t_s``            time [s since 1970-01-01 UTC], float
``lon``, ``lat``   position [deg, EPSG:4326]
``source_file``    the file name (no folder)
=================  =====================================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from patrol_planner.dosage.quarantine import empty_quarantine, quarantine_rows

PING_COLUMNS: tuple[str, ...] = ("unit", "seg", "point", "t_s", "lon", "lat", "source_file")
# An ISO 8601 time that names its zone: ends in Z or a +hh[:mm] / -hh[:mm] offset after the time of day.
#: Codes of the status array of :func:`parse_times` / the readers' checks (0 = usable).
STATUS: tuple[str, ...] = ("", "no_unit", "no_time", "bad_time", "ambiguous_time", "bad_coordinate")
_AWARE = re.compile(r"(?:[zZ]|[T ]\d\d(?::?\d\d(?::?\d\d(?:[.,]\d+)?)?)?[+-]\d\d(?::?\d\d)?)\s*$")


@dataclass
class FileRead:
    """What one reader made of one file: usable pings, quarantined points, and how times were read.

    ``naive_points`` counts points whose time had no zone and was read in the programme's timezone.
    ``error`` is set (and ``pings`` empty) when the whole file could not be used.
    """

    source_file: str
    kind: str
    pings: pd.DataFrame
    quarantine: pd.DataFrame = field(default_factory=empty_quarantine)
    naive_points: int = 0
    error: str | None = None


def empty_pings() -> pd.DataFrame:
    """A ping table with no rows."""
    return pd.DataFrame({"unit": pd.Series(dtype="string"), "seg": pd.Series(dtype="int64"),
                         "point": pd.Series(dtype="int64"), "t_s": pd.Series(dtype="float64"),
                         "lon": pd.Series(dtype="float64"), "lat": pd.Series(dtype="float64"),
                         "source_file": pd.Series(dtype="string")})


def _to_seconds(dt: pd.Series) -> np.ndarray:
    """Seconds since the epoch (UTC) of a tz-aware datetime series; NaN for NaT."""
    ns = dt.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    out = ns.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float) / 1e9
    out[ns.isna().to_numpy()] = np.nan
    return out


def parse_times(text: pd.Series, tz: ZoneInfo | str, *, time_format: str | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse times to [s since epoch, UTC]; times without a zone are read in ``tz``.

    ``time_format``: None for ISO 8601 (zone optional per value), ``"epoch_s"`` for seconds since 1970 UTC,
    or strftime codes (``%z`` for a zone). Returns ``t_s`` (NaN where unusable), an int8 status array
    (indices into :data:`STATUS`: 0 ok, ``no_time``, ``bad_time``, ``ambiguous_time``) and a boolean
    ``naive`` array.
    """
    s = text if text.dtype == object else text.astype(object)
    missing = s.isna().to_numpy()  # readers give None/NaN for an empty time
    n = len(s)
    t_s = np.full(n, np.nan)
    naive = np.zeros(n, dtype=bool)
    status = np.where(missing, STATUS.index("no_time"), 0).astype(np.int8)
    idx = np.flatnonzero(~missing)
    if idx.size == 0:
        return t_s, status, naive
    vals = s.iloc[idx].reset_index(drop=True)
    if time_format == "epoch_s":
        num = pd.to_numeric(vals, errors="coerce").to_numpy(dtype=float, copy=True)
        num[~np.isfinite(num)] = np.nan
        t_s[idx] = num
        status[idx[np.isnan(num)]] = STATUS.index("bad_time")
        return t_s, status, naive
    fmt = time_format or "ISO8601"
    try:
        dt = pd.to_datetime(vals, format=fmt, errors="coerce")
        aware = np.full(idx.size, getattr(dt.dt, "tz", None) is not None)
    except ValueError:  # a mix of zoned and zoneless values: sort them out one by one (slow path)
        aware = vals.map(lambda v: bool(_AWARE.search(v))).to_numpy(dtype=bool)
        dt = None
    secs = np.full(idx.size, np.nan)
    bad = np.zeros(idx.size, dtype=bool)
    amb = np.zeros(idx.size, dtype=bool)
    for is_aware in (True, False):
        m = aware == is_aware
        if not m.any():
            continue
        part = dt[m] if dt is not None else pd.to_datetime(vals[m], format=fmt, errors="coerce", utc=is_aware)
        if not is_aware:
            unparsed = part.isna().to_numpy()
            part = part.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
            amb[np.flatnonzero(m)[part.isna().to_numpy() & ~unparsed]] = True
        elif getattr(part.dt, "tz", None) is None:
            part = part.dt.tz_localize("UTC")
        secs[m] = _to_seconds(part)
    bad = np.isnan(secs) & ~amb
    t_s[idx] = secs
    naive[idx] = ~aware & ~np.isnan(secs)
    status[idx[bad]] = STATUS.index("bad_time")
    status[idx[amb]] = STATUS.index("ambiguous_time")
    return t_s, status, naive


def coordinate_ok(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True where ``lon, lat`` [deg] are finite numbers in range (null island (0, 0) is not a place)."""
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
        ok &= ~((np.abs(lon) < 1e-9) & (np.abs(lat) < 1e-9))
    return ok


def split_bad(source_file: str, unit: np.ndarray | pd.Categorical, seg: np.ndarray, point: np.ndarray,
              time_text: pd.Series, lon: np.ndarray, lat: np.ndarray, tz: ZoneInfo | str, *, kind: str,
              time_format: str | None = None) -> FileRead:
    """Parse times and check coordinates of one file's points; quarantine the bad ones, keep the rest.

    ``unit`` may hold None/"" (``no_unit``); ``lon, lat`` NaN where a coordinate was unparsable.
    """
    t_s, status, naive = parse_times(time_text, tz, time_format=time_format)
    if not isinstance(unit, pd.Categorical):
        unit = pd.Categorical(np.asarray(unit, dtype=object))
    no_unit = (unit.codes == -1) | np.isin(unit.codes, np.flatnonzero(unit.categories.astype(str).str.strip() == ""))
    status[no_unit] = STATUS.index("no_unit")
    bad_xy = ~coordinate_ok(lon, lat)
    status[(status == 0) & bad_xy] = STATUS.index("bad_coordinate")
    parts = []
    for reason, detail in (("no_unit", "empty unit id"), ("no_time", "no time"),
                           ("bad_time", "unparsable time"),
                           ("ambiguous_time", "local time repeated or skipped at a clock change"),
                           ("bad_coordinate", "coordinate missing, not a number or out of range")):
        m = status == STATUS.index(reason)
        if m.any():
            units = np.where(no_unit[m], "", np.asarray(unit[m], dtype=str))
            shown = time_text[m].fillna("").astype(str).to_numpy(dtype=object)
            parts.append(quarantine_rows(source_file, point[m], units, reason, detail, shown, lon[m], lat[m]))
    ok = status == 0
    pings = pd.DataFrame({
        "unit": unit[ok],
        "seg": pd.Series(np.asarray(seg)[ok], dtype="int64"),
        "point": pd.Series(np.asarray(point)[ok], dtype="int64"),
        "t_s": t_s[ok], "lon": np.asarray(lon, float)[ok], "lat": np.asarray(lat, float)[ok],
        "source_file": pd.Categorical.from_codes(np.zeros(int(ok.sum()), dtype=np.int8), [source_file]),
    })
    quarantine = pd.concat(parts, ignore_index=True) if parts else empty_quarantine()
    return FileRead(source_file, kind, pings, quarantine, naive_points=int(naive[ok].sum()))


def as_ping_table(df: pd.DataFrame, *, source_file: str = "<memory>") -> pd.DataFrame:
    """Complete a frame of ``unit``, ``t_s`` [s, UTC], ``lon``, ``lat`` [deg] (already in time order per unit)
    into a ping table: one segment per unit, points numbered in frame order."""
    missing = [c for c in ("unit", "t_s", "lon", "lat") if c not in df.columns]
    if missing:
        raise ValueError(f"a ping frame needs columns unit, t_s, lon, lat; missing {missing}")
    out = df.reset_index(drop=True)
    if "seg" not in out:
        out = out.assign(seg=pd.factorize(out["unit"])[0].astype(np.int64))
    if "point" not in out:
        out = out.assign(point=np.arange(len(out), dtype=np.int64))
    if "source_file" not in out:
        out = out.assign(source_file=pd.Series(np.full(len(out), source_file, dtype=object), dtype="string"))
    return out[list(PING_COLUMNS)]

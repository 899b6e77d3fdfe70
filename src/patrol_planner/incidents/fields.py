"""Field parsers shared by the readers: coordinates, months, date-times and category mapping.

Each one parses whole columns at once, stores the values on a :class:`~.rows.Rows` and flags the rows that
fail with their quarantine reason (first failure wins).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner import geo
from patrol_planner.incidents import quarantine as _q
from patrol_planner.incidents.csvbytes import RawTable
from patrol_planner.incidents.rows import Rows, numbers
from patrol_planner.incidents.schema import POLICE_UK_CATEGORIES, POLICE_UK_LEGACY_NAMES

#: Dates accepted: from DATE_MIN up to (not including) DATE_END. Nothing police.uk or a force holds is older
#: than 1900, and far-future dates are typos; the range also keeps every date, its month's end and a day
#: after it inside datetime64[ns] (1677-09..2262-04), where an out-of-range value would wrap round silently
#: (9999-12 became 1816). Rows outside are quarantined as ``bad_date``.
DATE_MIN = np.datetime64("1900-01-01", "s")
DATE_END = np.datetime64("2200-01-01", "s")
_RANGE_TEXT = "outside the accepted range 1900-01-01..2199-12-31"


def check_date_range(d: date, what: str) -> date:
    """``d`` (a date or datetime) if it lies in the accepted range, else ValueError naming ``what``.

    For dates a user types (a scenario's night, a programme's start): one line instead of an overflow later.
    """
    if not (DATE_MIN.astype(datetime) <= datetime(d.year, d.month, d.day) < DATE_END.astype(datetime)):
        raise ValueError(f"{what} {d.isoformat()} is {_RANGE_TEXT}")
    return d

#: Case-folded police.uk crime type (today's and pre-2013 names) -> reference category.
CATEGORY_BY_FOLD = {c.casefold(): c for c in POLICE_UK_CATEGORIES} | {
    k.casefold(): v for k, v in POLICE_UK_LEGACY_NAMES.items()}


def lonlat(rows: Rows, lon_s: pd.Series, lat_s: pd.Series) -> None:
    """Longitude/latitude [deg, EPSG:4326] onto ``rows``; flags no_location, bad_coordinate, outside_area."""
    lon, empty_lon = numbers(lon_s)
    lat, empty_lat = numbers(lat_s)
    rows.flag(empty_lon & empty_lat, "no_location", "no coordinates")
    rows.flag(~(np.isfinite(lon) & np.isfinite(lat)), "bad_coordinate", "longitude/latitude not both numbers")
    rows.flag(_q.implausible_lonlat(lon, lat), "outside_area", "implausible lon/lat (range, 0,0 or whole degrees)")
    rows.lon, rows.lat = lon, lat


def xy(rows: Rows, x_s: pd.Series, y_s: pd.Series, crs: str) -> None:
    """Easting/northing [m] in ``crs`` -> lon/lat [deg]; flags no_location, bad_coordinate, placeholders."""
    x, empty_x = numbers(x_s)
    y, empty_y = numbers(y_s)
    rows.flag(empty_x & empty_y, "no_location", "no coordinates")
    fin = np.isfinite(x) & np.isfinite(y)
    rows.flag(~fin, "bad_coordinate", "easting/northing not both numbers")
    rows.flag(_q.placeholder_xy(x, y), "outside_area", "placeholder easting/northing (round 100 km value)")
    lon, lat = geo.transform(np.where(fin, x, 0.0), np.where(fin, y, 0.0), crs, geo.WGS84)
    lon = np.where(fin, lon, np.nan)
    lat = np.where(fin, lat, np.nan)
    bad = fin & ~(np.isfinite(lon) & np.isfinite(lat))
    rows.flag(bad, "outside_area", f"easting/northing outside the area of {crs}")
    rows.flag(fin & _q.implausible_lonlat(np.nan_to_num(lon), np.nan_to_num(lat)), "outside_area",
              "implausible position")
    rows.lon, rows.lat = lon, lat


def month(rows: Rows, raw: RawTable, name: str) -> None:
    """A ``YYYY-MM`` column -> the interval [first of the month, first of the next); bad_date otherwise."""
    # Monthly files hold one or two distinct months: parse the distinct values only.
    codes, uniq = raw.factorized(name)
    texts = [str(u).strip() for u in uniq]
    if all(_is_plain_month(t) for t in texts):
        # Plain YYYY-MM with a real month: numpy month arithmetic, same result as to_datetime + MonthBegin.
        mon = np.array(texts, dtype="datetime64[M]")
        t0u, t1u = mon.astype("datetime64[ns]"), (mon + 1).astype("datetime64[ns]")
        out_u = np.zeros(len(texts), dtype=bool)
    else:
        parsed = pd.to_datetime(pd.Series(texts, dtype=object), format="%Y-%m", errors="coerce")
        t0u, out_u = to_ns(parsed)
        t1u = (pd.Series(t0u) + pd.offsets.MonthBegin(1)).to_numpy("datetime64[ns]")
    nat = np.array(["NaT"], dtype="datetime64[ns]")  # code -1 (a missing cell) picks this
    t0 = np.concatenate((t0u, nat))[codes]
    t1 = np.concatenate((t1u, nat))[codes]
    rows.flag(np.append(out_u, False)[codes], "bad_date", f"month {_RANGE_TEXT}")
    rows.flag(np.isnat(t0), "bad_date", "month is not YYYY-MM")
    rows.t0, rows.t1 = t0, t1


def to_ns(t: pd.Series | pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """(naive datetime64[ns] with NaT outside [DATE_MIN, DATE_END), out-of-range mask) of parsed times.

    pandas gives far dates in seconds or microseconds; casting those to nanoseconds straight would wrap
    round, so the range is checked in the parsed unit first.
    """
    values = t.to_numpy()
    with np.errstate(invalid="ignore"):
        out = ~np.isnat(values) & ((values < DATE_MIN) | (values >= DATE_END))
    values = np.where(out, np.datetime64("NaT"), values)
    return values.astype("datetime64[ns]"), out


def _is_plain_month(t: str) -> bool:
    """``YYYY-MM`` with month 01-12 and year in the accepted range (:data:`DATE_MIN`..:data:`DATE_END`)."""
    return (len(t) == 7 and t[4] == "-" and t[:4].isdigit() and t[5:].isdigit() and t.isascii()
            and 1 <= int(t[5:]) <= 12 and 1900 <= int(t[:4]) <= 2199)


def map_category(rows: Rows, raw: RawTable, name: str, table: dict[str, str], what: str) -> None:
    """Column ``name`` -> reference category through ``table`` (case-folded keys); unknown_category."""
    codes, uniq = raw.factorized(name)  # surrounding spaces are stripped per distinct value below
    mapped = np.array([table.get(str(u).strip().casefold()) for u in uniq] + [None], dtype=object)
    cat = mapped[codes]  # code -1 (missing) picks the trailing None
    unknown = np.array([v is None for v in mapped], dtype=bool)[codes]
    rows.flag(unknown, "unknown_category", f"{what} does not map to a police.uk crime type")
    rows.category = cat
    rows.category_coded = (np.where(codes < 0, mapped.size - 1, codes), mapped)


def timestamps(rows: Rows, s: pd.Series, fmt: str | None) -> None:
    """A date-time column (``fmt``, or ISO 8601) -> timestamps; a date alone is the whole day."""
    empty = (s == "").to_numpy()
    t0, out = parse_datetimes(s, fmt, with_range=True)
    rows.flag(out, "bad_date", f"date {_RANGE_TEXT}")
    rows.flag(empty | np.isnat(t0), "bad_date", "date/time empty or not in the expected format")
    if fmt is None:
        has_time = (s.str.len() > 10).to_numpy()
    else:
        has_time = np.full(s.size, any(code in fmt for code in ("%H", "%I", "%M")))
    day = np.timedelta64(1, "D")
    rows.t0 = t0
    rows.t1 = np.where(has_time, t0, t0 + day)
    rows.time_known = has_time & ~np.isnat(t0)


def parse_datetimes(s: pd.Series, fmt: str | None, *, with_range: bool = False) -> Any:
    """Parse to naive datetime64[ns]; with ISO 8601 input, times with an offset become UK local time.

    Dates outside [:data:`DATE_MIN`, :data:`DATE_END`) are NaT; ``with_range`` also returns where they were.
    """
    nat = np.full(s.size, np.datetime64("NaT"), dtype="datetime64[ns]")
    out_of_range = np.zeros(s.size, dtype=bool)
    if fmt is not None:
        try:
            t = pd.to_datetime(s, format=fmt, errors="coerce", utc="%z" in fmt)
        except (ValueError, OverflowError):
            return (nat, out_of_range) if with_range else nat
        if isinstance(t.dtype, pd.DatetimeTZDtype):
            t = t.dt.tz_convert("Europe/London").dt.tz_localize(None)
        values, out_of_range = to_ns(t)
        return (values, out_of_range) if with_range else values
    out = nat
    # Naive and offset-carrying times cannot be parsed in one call (pandas refuses mixed zones).
    tz = s.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).to_numpy(bool)
    for mask, utc in ((~tz, False), (tz, True)):
        if not mask.any():
            continue
        try:
            t = pd.to_datetime(s[mask], format="ISO8601", errors="coerce", utc=utc)
        except (ValueError, OverflowError):
            continue
        if isinstance(t.dtype, pd.DatetimeTZDtype):
            t = t.dt.tz_convert("Europe/London").dt.tz_localize(None)
        out[mask], out_of_range[mask] = to_ns(t)
    return (out, out_of_range) if with_range else out


def date_time(rows: Rows, d: pd.Series, dfmt: str | None, tcol: pd.Series | None, tfmt: str | None) -> None:
    """Separate date and time-of-day columns -> timestamps; an empty time cell is the whole day."""
    dt, out = parse_datetimes(d, dfmt, with_range=True)
    rows.flag(out, "bad_date", f"date {_RANGE_TEXT}")
    rows.flag(np.isnat(dt), "bad_date", "date empty or not in the expected format")
    day = np.timedelta64(1, "D")
    if tcol is None:
        rows.t0, rows.t1 = dt, dt + day
        return
    t_empty = (tcol == "").to_numpy()
    if tfmt == "hhmm":
        v = pd.to_numeric(tcol, errors="coerce").to_numpy(float)
        hh, mm = np.floor_divide(v, 100), np.mod(v, 100)
        good = np.isfinite(v) & (v == np.floor(v)) & (hh >= 0) & (hh < 24) & (mm < 60)
        minutes = np.where(good, hh * 60 + mm, 0)
    else:
        txt = tcol + (":00" if tfmt == "hh:mm" else "")
        td = pd.to_timedelta(txt.where(~t_empty, None), errors="coerce").to_numpy("timedelta64[ns]")
        good = ~np.isnat(td) & (td < np.timedelta64(1, "D")) & (td >= np.timedelta64(0, "s"))
        minutes = np.where(good, td.astype("timedelta64[s]").astype(np.int64) / 60.0, 0)
    rows.flag(~t_empty & ~good, "bad_date", "time of day not in the expected format")
    offset = (np.asarray(minutes, float) * 60e9).astype(np.int64).astype("timedelta64[ns]")
    rows.t0 = np.where(t_empty, dt, dt + offset)
    rows.t1 = np.where(t_empty, dt + day, dt + offset)
    rows.time_known = ~t_empty & good

"""Quarantine: the reasons a row is not loaded, the plausibility checks behind them, and the table.

Every input row is either loaded or quarantined with exactly one reason (the first check it fails, in the
order of :data:`REASONS`). The quarantine table has :data:`~patrol_planner.incidents.schema.QUARANTINE_COLUMNS`;
``raw`` is a JSON object of the row's raw cells (intelligence free text is never among them).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from patrol_planner.incidents.schema import QUARANTINE_COLUMNS
from patrol_planner.jsonsafe import finite_or_none

#: Reason code -> meaning, in the order the checks run.
REASONS: dict[str, str] = {
    "bad_quoting": "the row's quoting is broken (a quote never closed, or text after a closing quote): "
                   "read as its one line, so it cannot swallow the rows after it",
    "truncated_row": "the row has fewer fields than the header (cut short)",
    "extra_fields": "the row has more fields than the header (unquoted comma or shifted columns)",
    "no_location": "both coordinates are empty (police.uk 'No Location')",
    "bad_coordinate": "a coordinate is present but not a finite number, or only one of the pair is present",
    "bad_date": "the date/time is empty, unparseable or impossible",
    "unknown_category": "the category is empty or does not map onto a police.uk crime type",
    "bad_grading": "intelligence grading is missing, mixes systems, or is not a valid 3x5x2 / 5x5x5 code",
    "outside_area": (
        "implausible (outside -180..180/-90..90, null island (0,0), round-number placeholder such as "
        "BNG 500000.0009), outside the area of interest, or a stray far from the file's other points"
    ),
    "duplicate_id": "the id was already loaded from an earlier row or file (first one kept)",
}

#: Stray-point rule: a point is a stray when its distance from the file's median point exceeds
#: max(STRAY_FLOOR_KM, median distance + STRAY_K * 1.4826 * MAD of the distances).
STRAY_FLOOR_KM = 100.0
STRAY_K = 6.0
_EARTH_RADIUS_KM = 6371.0088


def flag(reason: np.ndarray, mask: np.ndarray, code: str, detail: np.ndarray, text: str) -> None:
    """Set ``reason``/``detail`` to ``code``/``text`` where ``mask`` holds and no reason is set yet."""
    if code not in REASONS:
        raise ValueError(f"unknown quarantine reason {code!r}")
    m = np.asarray(mask, dtype=bool) & (reason == "")
    reason[m] = code
    detail[m] = text


def implausible_lonlat(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True where ``lon, lat`` [deg] cannot be a real incident location.

    Out of range, (0, 0) ("null island", a common default), or both values exact whole degrees
    (a typed-in placeholder: a real geocode with six decimals lands on a whole degree ~1e-12 of the time).
    """
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    with np.errstate(invalid="ignore"):
        out = (np.abs(lon) > 180) | (np.abs(lat) > 90)
        null_island = (np.abs(lon) < 1e-6) & (np.abs(lat) < 1e-6)
        whole = (np.abs(lon - np.round(lon)) < 1e-9) & (np.abs(lat - np.round(lat)) < 1e-9)
    return out | null_island | whole


def placeholder_xy(x_m: np.ndarray, y_m: np.ndarray, *, grid_m: float = 100_000.0, tol_m: float = 0.01) -> np.ndarray:
    """True where either projected coordinate [m] sits within ``tol_m`` of a multiple of ``grid_m``.

    Catches sentinel values such as Easting 500000.0009 or Northing 199999.9999 (Cambridgeshire RTC):
    a real survey point lands within 1 cm of a 100 km grid line about once in five million.
    """
    x = np.asarray(x_m, float)
    y = np.asarray(y_m, float)
    with np.errstate(invalid="ignore"):
        dx = np.abs(x - np.round(x / grid_m) * grid_m)
        dy = np.abs(y - np.round(y / grid_m) * grid_m)
        zero = (np.abs(x) < tol_m) & (np.abs(y) < tol_m)
    return (dx < tol_m) | (dy < tol_m) | zero


def haversine_km(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    """Great-circle distance [km] from (``lon0``, ``lat0``) to each point [deg]."""
    la1, la2 = np.radians(lat), np.radians(lat0)
    dlat = la1 - la2
    dlon = np.radians(np.asarray(lon, float) - lon0)
    a = np.sin(dlat / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin(dlon / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def stray_mask(lon: np.ndarray, lat: np.ndarray, *, floor_km: float = STRAY_FLOOR_KM,
               k: float = STRAY_K) -> np.ndarray:
    """True for points far from the rest of ``lon, lat`` [deg] (see :data:`STRAY_FLOOR_KM`).

    Median and MAD ignore the strays themselves, so a handful of points hundreds of km away cannot
    move the centre; the floor keeps every point of a county-sized force (<= ~100 km from its centre).
    """
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    if lon.size < 3:
        return np.zeros(lon.size, dtype=bool)
    d = haversine_km(lon, lat, float(np.median(lon)), float(np.median(lat)))
    med = float(np.median(d))
    mad = float(np.median(np.abs(d - med)))
    limit = max(floor_km, med + k * 1.4826 * mad)
    return d > limit


def in_aoi(lon: np.ndarray, lat: np.ndarray, aoi_lonlat: object) -> np.ndarray:
    """True where the point [deg] lies in ``aoi_lonlat``: a ``(west, south, east, north)`` box or a shapely geometry."""
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    if isinstance(aoi_lonlat, tuple | list) and len(aoi_lonlat) == 4:
        w, s, e, n = (float(v) for v in aoi_lonlat)
        if not (w < e and s < n):
            raise ValueError(f"aoi_lonlat box must be (west, south, east, north), west<east, south<north: {aoi_lonlat}")
        return (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
    import shapely

    if not isinstance(aoi_lonlat, shapely.Geometry):
        raise ValueError("aoi_lonlat must be a (west, south, east, north) tuple or a shapely geometry in EPSG:4326")
    return shapely.contains_xy(aoi_lonlat, lon, lat) | shapely.intersects_xy(aoi_lonlat.boundary, lon, lat)


def quarantine_frame(raws: list[dict], rows: np.ndarray, reason: np.ndarray, detail: np.ndarray,
                     source_file: str | np.ndarray, line: np.ndarray) -> pd.DataFrame:
    """Quarantine rows for positions ``rows``; ``raws`` holds each row's showable raw cells.

    ``source_file`` is one file name, or an array with each position's file name (several files at once).
    """
    if rows.size == 0:
        return empty_quarantine()
    files = [source_file] * rows.size if isinstance(source_file, str) else np.asarray(source_file, object)[rows]
    return pd.DataFrame({
        "source_file": pd.Series(files, dtype="string"),
        "source_line": pd.Series(line[rows], dtype="int64"),
        "reason": pd.Series(reason[rows], dtype="string"),
        "detail": pd.Series(detail[rows], dtype="string"),
        "raw": pd.Series([json.dumps(finite_or_none(r), ensure_ascii=False, allow_nan=False) for r in raws],
                         dtype="string"),
    })


def empty_quarantine() -> pd.DataFrame:
    """An empty quarantine table."""
    dt = {"source_file": "string", "source_line": "int64", "reason": "string", "detail": "string", "raw": "string"}
    return pd.DataFrame({c: pd.Series(dtype=dt[c]) for c in QUARANTINE_COLUMNS})

"""Coordinate reference systems: choosing the working CRS and transforming to and from it.

The working CRS is always projected, in metres:

* EPSG:27700 (British National Grid) when the data lie in Great Britain;
* EPSG:2157 (Irish Transverse Mercator) when they lie on the island of Ireland (PSNI publishes on
  police.uk too, and BNG is not defined there);
* otherwise the WGS 84 / UTM zone (EPSG:326xx north, 327xx south) of the data's median point;
* or whatever the user names, provided it is projected with metre units.

Transformers are cached; all functions take and return numpy arrays ``lon, lat`` [deg, EPSG:4326] or
``x_m, y_m`` [m, working CRS].
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as _PyprojCRSError

from patrol_planner.errors import CRSError

WGS84 = "EPSG:4326"
BNG = "EPSG:27700"
ITM = "EPSG:2157"

# Great Britain (mainland + islands) in lon/lat; BNG is defined and accurate here.
_GB_BOUNDS = (-8.82, 49.79, 1.92, 60.94)
# The island of Ireland, tested before GB because GB's box covers it.
_IRELAND_BOUNDS = (-10.7, 51.35, -5.35, 55.45)


def _in_ireland(lon: float, lat: float) -> bool:
    w, s, e, n = _IRELAND_BOUNDS
    # The Mull of Kintyre (Scotland) reaches into the box's north-east corner.
    return w <= lon <= e and s <= lat <= n and not (lon > -6.1 and lat > 55.25)


def parse_crs(crs: str | int | CRS) -> CRS:
    """Return a :class:`pyproj.CRS`, raising :class:`CRSError` with a readable message."""
    try:
        return CRS.from_user_input(crs)
    except _PyprojCRSError as exc:
        raise CRSError(f"unknown CRS {crs!r}: give an EPSG code such as EPSG:27700") from exc


def check_projected(crs: str | int | CRS) -> str:
    """Return ``crs`` as an authority string if it is projected in metres, else raise :class:`CRSError`."""
    c = parse_crs(crs)
    if not c.is_projected:
        raise CRSError(f"CRS {c.to_string()} is geographic (degrees); the working CRS must be projected in metres")
    unit = c.axis_info[0].unit_name if c.axis_info else ""
    if unit not in ("metre", "meter"):
        raise CRSError(f"CRS {c.to_string()} uses {unit!r}; the working CRS must be in metres")
    return c.to_string()


def utm_crs_for(lon: float, lat: float) -> str:
    """The WGS 84 UTM zone containing (``lon``, ``lat``) [deg], as ``EPSG:326xx``/``EPSG:327xx``."""
    zone = int(np.clip(np.floor((lon + 180.0) / 6.0) + 1, 1, 60))
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def choose_working_crs(lon: np.ndarray, lat: np.ndarray, override: str | None = None) -> str:
    """Pick the working CRS for points ``lon, lat`` [deg].

    ``override`` wins (and must be projected in metres). Otherwise Irish Transverse Mercator when the
    median point is on the island of Ireland, British National Grid when it is in Great Britain, else the
    UTM zone of the median point. Empty input gives BNG.
    """
    if override:
        return check_projected(override)
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return BNG
    mlon, mlat = float(np.median(lon[ok])), float(np.median(lat[ok]))
    if _in_ireland(mlon, mlat):
        return ITM
    w, s, e, n = _GB_BOUNDS
    if w <= mlon <= e and s <= mlat <= n:
        return BNG
    return utm_crs_for(mlon, mlat)


@lru_cache(maxsize=32)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def to_xy(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Project ``lon, lat`` [deg, EPSG:4326] to ``x_m, y_m`` [m] in ``crs``."""
    x, y = _transformer(WGS84, crs).transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x, float), np.asarray(y, float)


def to_lonlat(x_m: np.ndarray, y_m: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Unproject ``x_m, y_m`` [m] in ``crs`` to ``lon, lat`` [deg, EPSG:4326]."""
    lon, lat = _transformer(crs, WGS84).transform(np.asarray(x_m, float), np.asarray(y_m, float))
    return np.asarray(lon, float), np.asarray(lat, float)


def transform(x: np.ndarray, y: np.ndarray, src: str, dst: str) -> tuple[np.ndarray, np.ndarray]:
    """Transform coordinates between any two CRSs (axis order x/east first)."""
    a, b = _transformer(parse_crs(src).to_string(), parse_crs(dst).to_string()).transform(
        np.asarray(x, float), np.asarray(y, float)
    )
    return np.asarray(a, float), np.asarray(b, float)

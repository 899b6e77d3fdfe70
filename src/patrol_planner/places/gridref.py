"""Ordnance Survey National Grid references ("TL 7063 0688") from British National Grid (EPSG:27700) metres.

A grid reference is what an officer's map, a 999 call handler and OS Maps all read. The two letters name the
100 km square: the grid's false origin is square SV, and the 25 letters A-Z without I are laid out 5 x 5
twice, first for 500 km squares, then for 100 km squares inside them (Ordnance Survey, "A guide to
coordinate systems in Great Britain", section "The National Grid reference system").
"""

from __future__ import annotations

import math

import numpy as np

#: Extent of the National Grid [m]: references outside it do not exist.
GRID_MAX_E, GRID_MAX_N = 700_000.0, 1_300_000.0


def _letter(i: int) -> str:
    # 25 letters: A..Z without I (index 8 and up shift by one)
    return chr(ord("A") + i + (1 if i >= 8 else 0))


def grid_ref(easting_m: float, northing_m: float, *, digits: int = 8) -> str:
    """The grid reference of a BNG point, e.g. ``grid_ref(570630, 206880) == "TL 7063 0688"``.

    ``digits`` is the number of figures after the letters (4: 1 km, 6: 100 m, 8: 10 m, 10: 1 m), each half
    truncated as OS does (a reference names the square the point lies in). "" outside the grid.
    """
    if digits not in (4, 6, 8, 10):
        raise ValueError(f"digits must be 4, 6, 8 or 10, got {digits}")
    e, n = float(easting_m), float(northing_m)
    if not (0 <= e < GRID_MAX_E and 0 <= n < GRID_MAX_N) or math.isnan(e + n):
        return ""
    e100, n100 = int(e // 100_000), int(n // 100_000)
    # First letter: the 500 km square, counted from the false origin 2 squares west and 1 north of "S".
    first = (19 - n100) - (19 - n100) % 5 + (e100 + 10) // 5
    # Second letter: the 100 km square within it, rows counted from the top.
    second = (19 - n100) * 5 % 25 + e100 % 5
    half = digits // 2
    unit = 10 ** (5 - half)
    ee = int(e % 100_000) // unit
    nn = int(n % 100_000) // unit
    return f"{_letter(first)}{_letter(second)} {ee:0{half}d} {nn:0{half}d}"


def grid_refs_lonlat(lon: np.ndarray, lat: np.ndarray, *, digits: int = 8) -> list[str]:
    """Grid references of points given in lon/lat [deg, EPSG:4326] ("" for points off the grid)."""
    from patrol_planner.geo import BNG, to_xy

    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    if not len(lon):
        return []
    x, y = to_xy(lon, lat, BNG)
    return [grid_ref(a, b, digits=digits) for a, b in zip(x, y, strict=True)]

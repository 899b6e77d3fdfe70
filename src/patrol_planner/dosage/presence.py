"""Spot presence: from clean GPS tracks to time intervals inside each spot, visits, and minutes per day.

Definitions (docs/dosage.md has the long form):

* A spot's *zone* is its polygon buffered by ``tolerance_m`` in the working CRS (projected, metres).
* An *interval* joins two consecutive pings of one unit; it counts only when it is at most ``max_gap_s``
  long and not broken (a new file or GPX segment, a ``speed_jump``). Both ends inside the zone: the whole
  interval counts. One end inside: the share of the straight segment that lies inside the zone counts
  (linear interpolation = constant speed between the pings), at the inside end; half when the two pings
  are at the same place. Both ends outside: nothing (a straight line may clip a corner, but that is a
  pass shorter than the ping gap).
* Intervals are split at programme-day boundaries. The *spot-time* of a spot-day is the union of all
  units' intervals (minutes the spot had at least one patrol present); *unit-time* is their sum
  (person-minutes: two units together for 10 minutes give 10 spot-minutes and 20 unit-minutes).
* Stretches of spot-time separated by at most ``merge_gap_s``, or by a dropout of at most ``bridge_gap_s``
  with the pings before and after it inside the zone, form one *visit*; a visit with less than
  ``min_visit_s`` of presence is a *pass-through*: not a visit, and its minutes are ``passing_minutes``,
  not ``minutes_present``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from patrol_planner.dosage.clean import CleanTracks
from patrol_planner.dosage.params import DosageParams
from patrol_planner.geo import to_lonlat, to_xy

#: Columns of the interval table: spot index, unit code, start and end [s since epoch, UTC], and ``bridge``:
#: True for a dropout inside the spot (not presence; it only keeps a visit whole).
INTERVAL_COLUMNS: tuple[str, ...] = ("spot", "unit", "a_s", "b_s", "bridge")


@dataclass(frozen=True)
class SpotZones:
    """The spots' zones in the working CRS, and a coarse lon/lat grid that finds points near any zone."""

    spot_ids: list[str]
    zones_xy: list[BaseGeometry]
    bounds_lonlat: np.ndarray  # (n_spots, 4) west, south, east, north [deg], slightly grown
    crs: str

    @classmethod
    def build(cls, spots_lonlat: Mapping[str, BaseGeometry], tolerance_m: float, crs: str) -> SpotZones:
        """Project spot polygons [EPSG:4326] to ``crs`` and buffer them by ``tolerance_m`` [m]."""
        ids, zones, bounds = [], [], []
        for sid, geom in spots_lonlat.items():
            proj = shapely.transform(geom, lambda c: np.column_stack(to_xy(c[:, 0], c[:, 1], crs)))
            zone = proj.buffer(tolerance_m) if tolerance_m > 0 else proj
            shapely.prepare(zone)
            ring = np.asarray(zone.exterior.coords) if zone.geom_type == "Polygon" else \
                shapely.get_coordinates(zone)
            lo, la = to_lonlat(ring[:, 0], ring[:, 1], crs)
            pad = 1e-5  # ~1 m: the zone's edges curve slightly in lon/lat
            bounds.append((lo.min() - pad, la.min() - pad, lo.max() + pad, la.max() + pad))
            ids.append(sid)
            zones.append(zone)
        return cls(ids, zones, np.asarray(bounds, dtype=float).reshape(-1, 4), crs)

    def near_mask(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """True for points [deg] inside the lon/lat box of at least one zone (a cheap pre-filter)."""
        b = self.bounds_lonlat
        w, s, e, n = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
        cell = max(float(np.median(b[:, 3] - b[:, 1])), 1e-4)
        nx, ny = int((e - w) / cell) + 1, int((n - s) / cell) + 1
        while nx * ny > 20_000_000:  # keep the grid small for programmes spread over a whole country
            cell *= 2
            nx, ny = int((e - w) / cell) + 1, int((n - s) / cell) + 1
        grid = np.zeros((nx, ny), dtype=bool)
        for bw, bs, be, bn in b:
            grid[int((bw - w) / cell):int((be - w) / cell) + 1, int((bs - s) / cell):int((bn - s) / cell) + 1] = True
        inside = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
        out = np.zeros(lon.size, dtype=bool)
        idx = np.flatnonzero(inside)
        ix = ((lon[idx] - w) / cell).astype(np.int64)
        iy = ((lat[idx] - s) / cell).astype(np.int64)
        out[idx] = grid[ix, iy]
        return out


def _fraction_inside(zone: BaseGeometry, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray,
                     y1: np.ndarray) -> np.ndarray:
    """Share of each straight segment (x0, y0)-(x1, y1) [m] that lies inside ``zone``; 0.5 for a zero-length one."""
    coords = np.stack([np.column_stack([x0, y0]), np.column_stack([x1, y1])], axis=1)
    lines = shapely.linestrings(coords)
    length = shapely.length(lines)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = shapely.length(shapely.intersection(lines, zone)) / length
    return np.where(length > 1e-9, np.clip(frac, 0.0, 1.0), 0.5)


def spot_intervals(tracks: CleanTracks, zones: SpotZones, params: DosageParams) -> pd.DataFrame:
    """Every stretch of time a unit spent inside a spot's zone (:data:`INTERVAL_COLUMNS`).

    Vectorised: a lon/lat grid keeps only points near a zone, those (and their neighbours) are projected,
    and each zone tests its own points with shapely's ``contains_xy``.
    """
    n = len(tracks)
    empty = pd.DataFrame({c: pd.Series(dtype="int64" if c in ("spot", "unit") else "bool" if c == "bridge"
                                       else "float64") for c in INTERVAL_COLUMNS})
    if n < 2 or not zones.spot_ids:
        return empty
    t = tracks.t_s
    same = (tracks.unit_code[1:] == tracks.unit_code[:-1]) & ~tracks.brk[1:]
    dt = np.diff(t)
    ok = same & (dt <= params.max_gap_s)
    gap = same & (dt > params.max_gap_s) & (dt <= params.bridge_gap_s)
    near = zones.near_mask(tracks.lon, tracks.lat)
    # An interval matters when one of its ends is near a zone; project just those ends.
    start = np.flatnonzero((ok | gap) & (near[:-1] | near[1:]))
    if start.size == 0:
        return empty
    need = np.zeros(n, dtype=bool)
    need[start] = True
    need[start + 1] = True
    pts = np.flatnonzero(need)
    x, y = to_xy(tracks.lon[pts], tracks.lat[pts], zones.crs)
    i0 = (np.cumsum(need) - 1)[start]  # position of each interval's first ping among the projected points
    i1 = i0 + 1  # its second ping comes right after it there
    pieces = []
    for k, zone in enumerate(zones.zones_xy):
        bw, bs, be, bn = zone.bounds
        cand = np.flatnonzero((x >= bw) & (x <= be) & (y >= bs) & (y <= bn))
        if cand.size == 0:
            continue
        inside = np.zeros(pts.size, dtype=bool)
        inside[cand] = shapely.contains_xy(zone, x[cand], y[cand])
        a_in, b_in = inside[i0], inside[i1]
        bridge = gap[start] & a_in & b_in
        if bridge.any():
            pieces.append(pd.DataFrame({"spot": k, "unit": tracks.unit_code[start[bridge]], "a_s": t[start[bridge]],
                                        "b_s": t[start[bridge] + 1], "bridge": True}))
        sel = (a_in | b_in) & ok[start]
        if not sel.any():
            continue
        j0, j1, ia, ib = i0[sel], i1[sel], a_in[sel], b_in[sel]
        ta, tb = t[start[sel]], t[start[sel] + 1]
        frac = np.ones(j0.size)
        part = ia != ib
        frac[part] = _fraction_inside(zone, x[j0[part]], y[j0[part]], x[j1[part]], y[j1[part]])
        dur = (tb - ta) * frac
        a = np.where(ia, ta, tb - dur)
        pieces.append(pd.DataFrame({"spot": k, "unit": tracks.unit_code[start[sel]], "a_s": a, "b_s": a + dur,
                                    "bridge": False}))
    if not pieces:
        return empty
    out = pd.concat(pieces, ignore_index=True)
    return out[out["b_s"] > out["a_s"]].reset_index(drop=True)


def split_at(intervals: pd.DataFrame, boundaries_s: np.ndarray) -> pd.DataFrame:
    """Split intervals at sorted ``boundaries_s`` [s] and number each piece's period (``day``: index of the
    boundary at or before its start; -1 before the first boundary, len-1 after the last)."""
    last = boundaries_s.size - 1
    rest = intervals.assign(day=np.searchsorted(boundaries_s, intervals["a_s"].to_numpy(), side="right") - 1)
    cuts: list[pd.DataFrame] = []
    while True:  # each pass cuts every interval at its next boundary; intervals are short, so few passes
        d = rest["day"].to_numpy()
        nxt = np.where(d < last, boundaries_s[np.clip(d + 1, 0, last)], np.inf)
        over = rest["b_s"].to_numpy() > nxt
        cuts.append(rest[~over])
        if not over.any():
            break
        cuts.append(rest[over].assign(b_s=nxt[over]))
        rest = rest[over].assign(a_s=nxt[over], day=d[over] + 1)
    return pd.concat(cuts, ignore_index=True)

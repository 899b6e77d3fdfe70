"""Track cleaning: points far outside the programme, clocks that run backwards, repeats and impossible speeds.

Input is the readers' ping table (:mod:`patrol_planner.dosage.pings`) for all files; output is the usable
pings of every unit in time order, with ``brk`` marking points whose preceding interval must not count
(a new file or GPX segment, or a ``speed_jump``), and the quarantine rows for the points set aside.
Checks run in the order of :data:`~patrol_planner.dosage.quarantine.REASONS`.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np
import pandas as pd

from patrol_planner.dosage.params import DosageParams
from patrol_planner.dosage.quarantine import empty_quarantine, quarantine_rows

_EARTH_M = 6_371_008.8


@dataclass(frozen=True)
class CleanTracks:
    """Usable pings, one row per point, sorted by unit then time.

    ``unit_code`` indexes ``units``; ``t_s`` [s since epoch, UTC]; ``lon, lat`` [deg, EPSG:4326]; ``brk`` is
    True where the interval from the unit's previous point to this one counts as nothing.
    """

    units: list[str]
    unit_code: np.ndarray
    t_s: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    brk: np.ndarray
    quarantine: pd.DataFrame

    def __len__(self) -> int:
        return int(self.t_s.size)


def _iso(t_s: np.ndarray) -> np.ndarray:
    return pd.to_datetime(t_s, unit="s", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy(dtype=object)


def _rows(df: pd.DataFrame, mask: np.ndarray, reason: str, detail: np.ndarray | str) -> pd.DataFrame:
    sub = df[mask]
    det = detail if isinstance(detail, str) else np.asarray(detail, dtype=object)
    return quarantine_rows(sub["source_file"].to_numpy(dtype=object), sub["point"].to_numpy(),
                           sub["unit"].to_numpy(dtype=object), reason, det, _iso(sub["t_s"].to_numpy()),
                           sub["lon"].to_numpy(), sub["lat"].to_numpy())


def longest_ordered_run(t: np.ndarray) -> np.ndarray:
    """Boolean mask of one longest non-decreasing subsequence of ``t`` (the points kept in time order).

    Hand-written patience sorting, O(n log n): numpy/scipy offer no longest-increasing-subsequence routine.
    Keeping the longest ordered run (rather than every point after the running maximum) means one point
    stamped far in the future costs that point only, not the rest of the track.
    """
    tails: list[float] = []
    tail_idx: list[int] = []
    prev = np.full(t.size, -1, dtype=np.int64)
    for i, v in enumerate(t.tolist()):
        k = bisect_right(tails, v)
        if k == len(tails):
            tails.append(v)
            tail_idx.append(i)
        else:
            tails[k] = v
            tail_idx[k] = i
        prev[i] = tail_idx[k - 1] if k > 0 else -1
    keep = np.zeros(t.size, dtype=bool)
    i = tail_idx[-1] if tail_idx else -1
    while i >= 0:
        keep[i] = True
        i = prev[i]
    return keep


def area_box(spots_bounds_lonlat: tuple[float, float, float, float], margin_km: float) -> tuple[float, ...]:
    """The spots' (west, south, east, north) box [deg] grown by ``margin_km`` [km] on every side."""
    w, s, e, n = spots_bounds_lonlat
    dlat = margin_km / 111.2
    dlon = margin_km / (111.2 * max(np.cos(np.radians(max(abs(s), abs(n)))), 0.05))
    return w - dlon, s - dlat, e + dlon, n + dlat


def _is_sorted(code: np.ndarray, t: np.ndarray, track: np.ndarray) -> bool:
    """True when rows are already ordered by unit, time, track (the usual export; saves a 3-key sort)."""
    dc, dt, dk = np.diff(code), np.diff(t), np.diff(track)
    return bool(np.all((dc > 0) | ((dc == 0) & ((dt > 0) | ((dt == 0) & (dk >= 0))))))


def _group_tracks(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of each track together, each track in file order (a CSV interleaves its units' rows)."""
    key = df["_track"].to_numpy()
    if key.size == 0:
        return df
    distinct = np.count_nonzero(np.bincount(key)) if key.max() < 50_000_000 else pd.unique(key).size
    if np.count_nonzero(key[1:] != key[:-1]) + 1 == distinct:
        return df  # already contiguous: as many runs as tracks
    return df.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)


def _out_of_order(df: pd.DataFrame) -> np.ndarray:
    """Mask of points not in their track's longest time-ordered run (track = file + segment, file order)."""
    t = df["t_s"].to_numpy()
    key = df["_track"].to_numpy()
    same = key[1:] == key[:-1]
    back = np.flatnonzero(same & (t[1:] < t[:-1]))
    bad = np.zeros(t.size, dtype=bool)
    if back.size == 0:
        return bad
    starts = np.flatnonzero(np.r_[True, ~same])
    ends = np.r_[starts[1:], t.size]
    for tr in np.unique(np.searchsorted(starts, back + 1, side="right") - 1):
        a, b = starts[tr], ends[tr]
        bad[a:b] = ~longest_ordered_run(t[a:b])
    return bad


def _step_m(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Distance [m] from each point to the next (equirectangular: exact enough over a few km)."""
    la = np.radians(lat)
    dx = np.radians(np.diff(lon)) * np.cos((la[1:] + la[:-1]) / 2)
    dy = np.diff(la)
    return _EARTH_M * np.hypot(dx, dy)


def _speeds(code: np.ndarray, t: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Speed [km/h] from each point's predecessor of the same unit; NaN for a unit's first point."""
    v = np.full(t.size, np.nan)
    if t.size > 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            sp = _step_m(lon, lat) / np.diff(t) * 3.6
        v[1:] = np.where(code[1:] == code[:-1], sp, np.nan)
    return v


def clean_tracks(pings: pd.DataFrame, params: DosageParams,
                 spots_bounds_lonlat: tuple[float, float, float, float]) -> CleanTracks:
    """Drop and explain unusable points of all files' pings; return each unit's usable track in time order.

    ``pings``: the readers' ping table, in file order. ``spots_bounds_lonlat``: (west, south, east, north)
    [deg] of the programme's spots.
    """
    parts = []
    df = pings.reset_index(drop=True)
    file_code = pd.factorize(df["source_file"])[0].astype(np.int64)
    seg = df["seg"].to_numpy(dtype=np.int64)
    df["_track"] = file_code * (int(seg.max(initial=0)) + 1) + seg
    w, s, e, n = area_box(spots_bounds_lonlat, params.area_margin_km)
    lon, lat = df["lon"].to_numpy(), df["lat"].to_numpy()
    out = ~((lon >= w) & (lon <= e) & (lat >= s) & (lat <= n))
    parts.append(_rows(df, out, "outside_area", f"more than {params.area_margin_km:g} km from the programme's spots"))
    df = _drop(df, out)
    df = _group_tracks(df)
    ooo = _out_of_order(df)
    parts.append(_rows(df, ooo, "out_of_order", "earlier than the points around it in its track"))
    df = _drop(df, ooo)
    if df.empty:  # nothing left to order or check
        parts = [p for p in parts if not p.empty]
        nothing = np.zeros(0)
        return CleanTracks([], nothing.astype(np.int64), nothing, nothing, nothing, nothing.astype(bool),
                           pd.concat(parts, ignore_index=True) if parts else empty_quarantine())
    code, units = pd.factorize(df["unit"], sort=True)
    t = df["t_s"].to_numpy()
    # A unit's tracks (one file per day, say) merge into one time line; a new track still breaks the
    # interval where it starts (brk below), so two files are never bridged.
    if not _is_sorted(code, t, df["_track"].to_numpy()):
        order = np.lexsort((df["_track"].to_numpy(), t, code))
        df, code, t = df.iloc[order].reset_index(drop=True), code[order], t[order]
    dup = np.r_[False, (code[1:] == code[:-1]) & (t[1:] == t[:-1])]
    parts.append(_rows(df, dup, "duplicate_time", "the unit already has a point at this time"))
    df, code = _drop(df, dup), code[~dup]
    df, code, spike_rows, v = _drop_spikes(df, code, params.max_speed_kph)
    parts.extend(spike_rows)
    t, lon, lat = df["t_s"].to_numpy(), df["lon"].to_numpy(), df["lat"].to_numpy()
    jump = v > params.max_speed_kph
    parts.append(_rows(df, jump, "speed_jump", [f"{x:.0f} km/h from the previous point" for x in v[jump]]))
    track = df["_track"].to_numpy()
    brk = np.r_[True, (code[1:] != code[:-1]) | (track[1:] != track[:-1])] | jump
    q = pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(not p.empty for p in parts) \
        else empty_quarantine()
    return CleanTracks(units=[str(u) for u in units], unit_code=code.astype(np.int64), t_s=t, lon=lon, lat=lat,
                       brk=brk, quarantine=q)


def _drop(df: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """``df`` without the rows in ``mask`` (no copy when there are none: tracks are large)."""
    return df[~mask].reset_index(drop=True) if mask.any() else df


def _drop_spikes(df: pd.DataFrame, code: np.ndarray, max_kph: float
                 ) -> tuple[pd.DataFrame, np.ndarray, list, np.ndarray]:
    """Drop points reached and left faster than ``max_kph`` (up to three passes: a spike can hide another).

    Returns the kept rows, their unit codes, the quarantine rows and the speeds [km/h] of the kept rows.
    """
    rows = []
    v = _speeds(code, df["t_s"].to_numpy(), df["lon"].to_numpy(), df["lat"].to_numpy())
    for _ in range(3):
        v_out = np.r_[v[1:], np.nan]
        spike = (v > max_kph) & (v_out > max_kph)
        if not spike.any():
            break
        rows.append(_rows(df, spike, "too_fast", [f"{a:.0f} km/h in, {b:.0f} km/h out"
                                                  for a, b in zip(v[spike], v_out[spike], strict=True)]))
        df, code = df[~spike].reset_index(drop=True), code[~spike]
        v = _speeds(code, df["t_s"].to_numpy(), df["lon"].to_numpy(), df["lat"].to_numpy())
    return df, code, rows, v

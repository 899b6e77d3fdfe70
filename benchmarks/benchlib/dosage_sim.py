"""Simulated GPS tracks with known answers, for tests, benchmarks and demonstrations (synthetic data).

A unit's day is a list of :class:`Stop` s: it drives from a base to each spot's centre, walks a loop round
the centre for the dwell time, drives on, and returns to base. The noise-free path is piecewise linear
(keyframes), so the position at any time is one :func:`numpy.interp`. Pings are taken every ``ping_s``
seconds with Gaussian GPS noise, minus dropouts. The ground truth is the noise-free path sampled every
second, minus the dropouts longer than the dosage ``max_gap_s`` (the measurement says those are not
presence; those with both ends inside a spot keep its visit whole, as in the measurement), put through the
same visit rules (:func:`patrol_planner.dosage.visits.daily_figures`).
Everything random comes from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
import shapely

from patrol_planner.dosage.params import DosageParams
from patrol_planner.dosage.presence import SpotZones, split_at
from patrol_planner.dosage.visits import daily_figures
from patrol_planner.geo import choose_working_crs, to_lonlat
from patrol_planner.programme import Programme

WALK_MPS = 1.3
DRIVE_MPS = 8.0  # ~29 km/h, urban patrol driving


@dataclass(frozen=True)
class Stop:
    """Go to ``spot_id``'s centre and walk a loop there for ``dwell_s`` [s]."""

    spot_id: str
    dwell_s: float


@dataclass(frozen=True)
class UnitDay:
    """One unit's route on one programme day.

    ``start``: tz-aware departure from base; ``dropouts``: (seconds after start, length [s]) with no pings;
    ``tail_s``: pinging time at base after the last stop [s].
    """

    unit: str
    start: datetime
    stops: tuple[Stop, ...]
    dropouts: tuple[tuple[float, float], ...] = ()
    drive_mps: float = DRIVE_MPS
    tail_s: float = 600.0


@dataclass(frozen=True)
class Simulation:
    """Pings (``unit``, ``t_s`` [s, UTC], ``lon``, ``lat`` [deg]) and per-unit true presence intervals."""

    pings: pd.DataFrame
    truth_intervals: pd.DataFrame = field(repr=False)
    crs: str = ""

    def to_csv(self, path: str | Path, *, naive_tz: str | None = None) -> Path:
        """Write the pings as a ``unit,time,lon,lat`` CSV (ISO times in UTC with ``Z``, or naive local in
        ``naive_tz``)."""
        t = pd.to_datetime(self.pings["t_s"], unit="s", utc=True)
        text = (t.dt.tz_convert(naive_tz).dt.strftime("%Y-%m-%dT%H:%M:%S") if naive_tz
                else t.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        out = pd.DataFrame({"unit": self.pings["unit"], "time": text, "lon": self.pings["lon"].round(7),
                            "lat": self.pings["lat"].round(7)})
        out.to_csv(path, index=False, lineterminator="\n")
        return Path(path)


def _loop(cx: float, cy: float, radius_m: float, t0: float, dwell_s: float, theta0: float) -> np.ndarray:
    """Keyframes (t, x, y) of a walk round a circle at walking pace for ``dwell_s``, from angle ``theta0``."""
    r = radius_m
    n = max(int(math.ceil(dwell_s / 10.0)), 2)
    tt = np.linspace(0.0, dwell_s, n + 1)
    ang = theta0 + WALK_MPS / max(r, 1.0) * tt
    xs, ys = cx + r * np.cos(ang), cy + r * np.sin(ang)
    return np.column_stack([t0 + tt, xs, ys])


def keyframes(ud: UnitDay, centres: dict[str, tuple[float, float]], base: tuple[float, float],
              rng: np.random.Generator, loop_radius_m: float = 40.0) -> np.ndarray:
    """The noise-free path of a unit-day as keyframes (t [s, UTC], x [m], y [m]) in the working CRS."""
    t = ud.start.timestamp()
    frames = [(t, *base)]
    x, y = base
    for stop in ud.stops:
        cx, cy = centres[stop.spot_id]
        theta = float(rng.uniform(0, 2 * math.pi))
        ex, ey = cx + loop_radius_m * math.cos(theta), cy + loop_radius_m * math.sin(theta)
        t += math.hypot(ex - x, ey - y) / ud.drive_mps
        lp = _loop(cx, cy, loop_radius_m, t, stop.dwell_s, theta)
        frames.extend(map(tuple, lp))
        t, x, y = lp[-1]
    t += math.hypot(base[0] - x, base[1] - y) / ud.drive_mps
    frames.append((t, *base))
    frames.append((t + ud.tail_s, *base))
    return np.asarray(frames, dtype=float)


def _sample(kf: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.interp(times, kf[:, 0], kf[:, 1]), np.interp(times, kf[:, 0], kf[:, 2])


def _in_dropout(times: np.ndarray, start_s: float, dropouts: Iterable[tuple[float, float]],
                min_len_s: float = 0.0) -> np.ndarray:
    out = np.zeros(times.size, dtype=bool)
    for off, length in dropouts:
        if length >= min_len_s:
            out |= (times >= start_s + off) & (times < start_s + off + length)
    return out


def simulate_tracks(prog: Programme, unit_days: Sequence[UnitDay], *, seed: int = 0, ping_s: float = 5.0,
                    noise_m: float = 7.0, params: DosageParams | None = None, truth: bool = True,
                    base_offset_m: float = 3000.0) -> Simulation:
    """Pings for ``unit_days`` through ``prog``'s spots, and (``truth=True``) the true presence intervals.

    ``noise_m``: standard deviation of the GPS error on each axis [m]. The base sits ``base_offset_m`` [m]
    south of the spots' centre. True intervals leave out dropouts longer than ``params.max_gap_s`` (the
    measurement does not count them either) and use the same zones (``params.tolerance_m``).
    """
    params = params or DosageParams()
    rng = np.random.default_rng(seed)
    spots = list(prog.spots.values())
    cent = shapely.centroid(spots)
    crs = choose_working_crs(shapely.get_x(cent), shapely.get_y(cent))
    zones = SpotZones.build(prog.spots, params.tolerance_m, crs)
    centres = {sid: (z.centroid.x, z.centroid.y) for sid, z in zip(zones.spot_ids, zones.zones_xy, strict=True)}
    mx = float(np.mean([c[0] for c in centres.values()]))
    my = float(np.mean([c[1] for c in centres.values()]))
    base = (mx, my - base_offset_m)
    pings, truths = [], []
    codes = {u: i for i, u in enumerate(sorted({ud.unit for ud in unit_days}))}
    for ud in unit_days:
        kf = keyframes(ud, centres, base, rng)
        t0, t1 = kf[0, 0], kf[-1, 0]
        times = np.arange(t0 + rng.uniform(0, ping_s), t1, ping_s)
        times = times[~_in_dropout(times, t0, ud.dropouts)]
        x, y = _sample(kf, times)
        x, y = x + rng.normal(0, noise_m, x.size), y + rng.normal(0, noise_m, y.size)
        lon, lat = to_lonlat(x, y, crs)
        pings.append(pd.DataFrame({"unit": ud.unit, "t_s": times, "lon": lon, "lat": lat}))
        if truth:
            truths.append(_true_intervals(kf, ud, zones, codes[ud.unit], params))
    pf = pd.concat(pings, ignore_index=True).sort_values(["unit", "t_s"], kind="stable").reset_index(drop=True)
    tf = pd.concat(truths, ignore_index=True) if truths else pd.DataFrame(columns=list(_TRUTH_COLUMNS))
    return Simulation(pf, tf, crs)


_TRUTH_COLUMNS = ("spot", "unit", "a_s", "b_s", "bridge")


def _true_intervals(kf: np.ndarray, ud: UnitDay, zones: SpotZones, code: int, params: DosageParams) -> pd.DataFrame:
    """Runs of whole seconds the noise-free path spends inside each zone (outside dropouts longer than
    ``max_gap_s``), and those dropouts as bridges where the path is inside the zone at both of their ends
    (and they are at most ``bridge_gap_s`` long), as the measurement treats them."""
    t = np.arange(kf[0, 0], kf[-1, 0], 1.0)
    x, y = _sample(kf, t + 0.5)
    merged: list[list[float]] = []  # overlapping dropouts are one gap in the pings
    for off, length in sorted(ud.dropouts):
        if merged and off <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], off + length)
        else:
            merged.append([off, off + length])
    gaps = [(a, b - a) for a, b in merged]
    live = ~_in_dropout(t + 0.5, kf[0, 0], gaps, min_len_s=params.max_gap_s)
    drops = [(kf[0, 0] + off, kf[0, 0] + off + length) for off, length in gaps
             if params.max_gap_s <= length <= params.bridge_gap_s]
    rows = []
    for k, zone in enumerate(zones.zones_xy):
        inside = shapely.contains_xy(zone, x, y) & live
        if inside.any():
            edges = np.diff(np.r_[0, inside.astype(np.int8), 0])
            starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
            rows.append(pd.DataFrame({"spot": k, "unit": code, "a_s": t[starts], "b_s": t[ends - 1] + 1.0,
                                      "bridge": False}))
        for d0, d1 in drops:
            bx, by = _sample(kf, np.array([d0, d1]))
            if shapely.contains_xy(zone, bx, by).all():
                rows.append(pd.DataFrame({"spot": [k], "unit": [code], "a_s": [d0], "b_s": [d1], "bridge": [True]}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=list(_TRUTH_COLUMNS))


def true_dosage(prog: Programme, sim: Simulation, params: DosageParams | None = None) -> pd.DataFrame:
    """The ground truth as daily figures: ``date``, ``spot_id``, ``minutes_present``, ``visits``,
    ``unit_minutes`` (spot-days without presence have no row)."""
    params = params or DosageParams()
    dates = prog.dates
    bounds = np.asarray([prog.day_bounds(d)[0].timestamp() for d in dates]
                        + [prog.day_bounds(dates[-1])[1].timestamp()])
    iv = sim.truth_intervals.astype({"spot": "int64", "unit": "int64", "a_s": float, "b_s": float, "bridge": bool})
    iv = split_at(iv, bounds)
    iv = iv[(iv["day"] >= 0) & (iv["day"] < len(dates))]
    daily, _ = daily_figures(iv, merge_gap_s=params.merge_gap_s, min_visit_s=params.min_visit_s)
    ids = list(prog.spots)
    return daily.assign(spot_id=[ids[int(s)] for s in daily["spot"]],
                        date=[dates[int(d)].isoformat() for d in daily["day"]])[
        ["date", "spot_id", "minutes_present", "visits", "unit_minutes"]]


def plan_unit_days(prog: Programme, *, units: int = 3, seed: int = 0, skip: Iterable[tuple[date, str]] = (),
                   linger: Iterable[tuple[date, str, float]] = (), dropouts_per_day: int = 0,
                   dropout_s: tuple[float, float] = (150.0, 400.0)) -> list[UnitDay]:
    """Routes that deliver the delivered schedule: each treated spot-day gets one stop of its planned minutes.

    Treated spots of a day are dealt round-robin to ``units`` units (``U1``...), each leaving base at the
    patrol window's start plus up to 10 minutes. ``skip``: (date, spot_id) stops left out (a unit that does
    not go); ``linger``: (date, spot_id, minutes) extra stops, e.g. in a control spot. ``dropouts_per_day``
    random dropouts per unit-day, lengths uniform in ``dropout_s`` [s].
    """
    rng = np.random.default_rng(seed)
    sched = prog.delivered_schedule()
    skip_set = {(d, s) for d, s in skip}
    extra: dict[date, list[tuple[str, float]]] = {}
    for d, s, m in linger:
        extra.setdefault(d, []).append((s, m))
    out = []
    for day in prog.dates:
        rows = sched[(sched["date"] == day) & (sched["treated"] == 1)]
        stops = [Stop(r.spot_id, float(r.minutes) * 60) for r in rows.itertuples() if (day, r.spot_id) not in skip_set]
        stops += [Stop(s, m * 60) for s, m in extra.get(day, [])]
        w0, _ = prog.window(day)
        for u in range(units):
            mine = tuple(stops[u::units])
            if not mine:
                continue
            span = sum(s.dwell_s for s in mine) + 1200
            drops = tuple((float(rng.uniform(0, span)), float(rng.uniform(*dropout_s)))
                          for _ in range(dropouts_per_day))
            out.append(UnitDay(f"U{u + 1}", w0 + timedelta(minutes=float(rng.uniform(0, 10))), mine, drops))
    return out


def write_gpx(path: str | Path, pings: pd.DataFrame, *, version: str = "1.1", name: str | None = None,
              naive_tz: str | None = None, segments: int = 1) -> Path:
    """Write pings (``t_s``, ``lon``, ``lat``) as a GPX track (``version`` "1.0" or "1.1").

    ``naive_tz``: write local times without a zone (as some handhelds do); ``segments``: split into that
    many ``<trkseg>`` s.
    """
    ns = {"1.0": "http://www.topografix.com/GPX/1/0", "1.1": "http://www.topografix.com/GPX/1/1"}[version]
    t = pd.to_datetime(pings["t_s"], unit="s", utc=True)
    times = (t.dt.tz_convert(naive_tz).dt.strftime("%Y-%m-%dT%H:%M:%S") if naive_tz
             else t.dt.strftime("%Y-%m-%dT%H:%M:%SZ")).tolist()
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<gpx version="{version}" creator="benchlib.dosage_sim" xmlns="{ns}">', "<trk>"]
    if name:
        lines.append(f"<name>{name}</name>")
    chunks = np.array_split(np.arange(len(pings)), max(segments, 1))
    lon, lat = pings["lon"].to_numpy(), pings["lat"].to_numpy()
    for chunk in chunks:
        lines.append("<trkseg>")
        lines.extend(f"<trkpt lat={quoteattr(f'{lat[i]:.7f}')} lon={quoteattr(f'{lon[i]:.7f}')}>"
                     f"<time>{times[i]}</time></trkpt>" for i in chunk)
        lines.append("</trkseg>")
    lines += ["</trk>", "</gpx>"]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)


def hot_cell_programme(folder: str | Path, lon: np.ndarray, lat: np.ndarray, *, days: int = 4, n_spots: int = 6,
                       seed: int = 0, start: str = "2025-03-28", minutes: int = 15, cell_m: float = 150.0,
                       min_apart_m: float = 400.0, crs: str = "EPSG:27700") -> Path:
    """A programme folder for tests and benchmarks (not a designed programme: use the programme designer).

    Spots are the ``n_spots`` ``cell_m`` [m] grid cells (in ``crs``) holding most of the points ``lon, lat``
    [deg] (e.g. real crimes), at least ``min_apart_m`` [m] apart; each day a random half is treated with one
    visit of ``minutes``. Times are Europe/London, days start 06:00, patrol window 15:00-00:00.
    """
    from shapely.geometry import box

    from patrol_planner.geo import to_xy
    from patrol_planner.programme import write_programme

    rng = np.random.default_rng(seed)
    x, y = to_xy(np.asarray(lon, float), np.asarray(lat, float), crs)
    cells = pd.Series(list(zip(np.floor(x / cell_m), np.floor(y / cell_m), strict=True))).value_counts()
    corners: list[tuple[float, float]] = []
    for cx, cy in cells.index:
        x0, y0 = cx * cell_m, cy * cell_m
        if all(math.hypot(x0 - a, y0 - b) >= min_apart_m for a, b in corners):
            corners.append((x0, y0))
        if len(corners) == n_spots:
            break
    feats = []
    for i, (x0, y0) in enumerate(corners):
        ring = np.asarray(box(x0, y0, x0 + cell_m, y0 + cell_m).exterior.coords)
        rlon, rlat = to_lonlat(ring[:, 0], ring[:, 1], crs)
        geom = {"type": "Polygon", "coordinates": [[[float(a), float(b)] for a, b in zip(rlon, rlat, strict=True)]]}
        feats.append({"type": "Feature", "geometry": geom,
                      "properties": {"spot_id": f"S{i + 1:02d}", "place": f"cell {i + 1}"}})
    design = {"start_date": start, "days": days, "timezone": "Europe/London", "day_starts_at": "06:00",
              "patrol_window": {"start": "15:00", "end": "00:00"}, "spot_size_m": cell_m,
              "dose": {"visits": 1, "minutes": minutes}, "seed": seed}
    rows = []
    d0 = date.fromisoformat(start)
    n = len(corners)
    for i in range(days):
        treated = set(rng.choice(n, size=n // 2, replace=False).tolist())
        for k in range(n):
            t = int(k in treated)
            rows.append({"date": d0 + timedelta(days=i), "spot_id": f"S{k + 1:02d}", "treated": t,
                         "p_treated": 0.5, "visits": t, "minutes": minutes * t})
    return write_programme(folder, design=design, schedule=pd.DataFrame(rows),
                           spots_geojson={"type": "FeatureCollection", "features": feats})


def _plan_keyframes(unit: Any, crs: str) -> np.ndarray:
    """``(t_s, x_m, y_m)`` keyframes of one planned unit: it waits where it is, drives each planned road path in
    the leg's planned travel time so as to arrive on time, stays still at the stop until its departure, and
    drives home right after the last stop (then waits at the station)."""
    from patrol_planner.geo import to_xy

    rows: list[tuple[float, float, float]] = []

    def leg(path: Sequence[tuple[float, float]], t0: float, t1: float) -> None:
        if len(path) < 2:
            return
        pts = np.asarray(path, dtype=float)
        x, y = to_xy(pts[:, 0], pts[:, 1], crs)
        d = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
        frac = d / d[-1] if d[-1] > 0 else np.linspace(0, 1, len(d))
        rows.extend(zip(t0 + frac * (t1 - t0), x, y, strict=True))

    for s in unit.stops:
        arrive = s.arrive.timestamp()
        leg(s.path_lonlat, arrive - max(float(s.travel_s), 1.0), arrive)
        sx, sy = to_xy(np.array([s.lon]), np.array([s.lat]), crs)
        rows += [(arrive, float(sx[0]), float(sy[0])), (s.depart.timestamp(), float(sx[0]), float(sy[0]))]
    if unit.stops and unit.return_path_lonlat:
        t = unit.stops[-1].depart.timestamp()
        leg(unit.return_path_lonlat, t, t + max(float(unit.return_travel_s), 1.0))
    if not rows:
        return np.zeros((0, 3))
    kf = np.array(sorted(rows), dtype=float)
    start = unit.leave.timestamp() if unit.leave else kf[0, 0]
    end = unit.return_arrive.timestamp() if unit.return_arrive else kf[-1, 0]
    first, last = kf[0], kf[-1]
    kf = np.vstack([[min(start, first[0]) - 1.0, first[1], first[2]], kf, [max(end, last[0]) + 1.0, last[1], last[2]]])
    return kf[np.concatenate([[True], np.diff(kf[:, 0]) > 0])]


def tracks_from_plan(plan: Any, *, seed: int = 0, ping_s: float = 5.0, noise_m: float = 7.0,
                     dropouts: Sequence[tuple[str, float, float]] = ()) -> pd.DataFrame:
    """Pings (``unit, t_s, lon, lat``) of officers who follow ``plan`` (a :class:`~patrol_planner.plan.Plan`)
    exactly: along each planned road path at an even pace, still at each stop from arrival to departure.

    ``dropouts``: ``(unit_id, start_s, end_s)`` [s since epoch] windows with no pings. Synthetic, seeded.
    The planned stop times are the known answer: a unit in a spot for a planned stop of 15 min gives 15 min
    of presence (plus the seconds its road path spends inside the spot on the way in and out).
    """
    rng = np.random.default_rng(seed)
    lon0 = np.array([s.lon for u in plan.units for s in u.stops] or [u.start.lon for u in plan.units])
    lat0 = np.array([s.lat for u in plan.units for s in u.stops] or [u.start.lat for u in plan.units])
    crs = choose_working_crs(lon0, lat0)
    out = []
    for u in plan.units:
        kf = _plan_keyframes(u, crs)
        if len(kf) < 2:
            continue
        times = np.arange(kf[0, 0] + rng.uniform(0, ping_s), kf[-1, 0], ping_s)
        for unit_id, a, b in dropouts:
            if unit_id == u.unit_id:
                times = times[(times < a) | (times >= b)]
        x, y = _sample(kf, times)
        lon, lat = to_lonlat(x + rng.normal(0, noise_m, x.size), y + rng.normal(0, noise_m, y.size), crs)
        out.append(pd.DataFrame({"unit": u.unit_id, "t_s": times, "lon": lon, "lat": lat}))
    if not out:
        return pd.DataFrame({"unit": pd.Series(dtype=str), "t_s": [], "lon": [], "lat": []})
    return pd.concat(out, ignore_index=True)

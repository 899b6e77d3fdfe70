"""Benchmark: dosage of 20 units x 90 days of 5-second GPS pings (~12 million points), against the simple
alternative (shapely point-in-polygon for each point) on a subsample.

Run: ``python benchmarks/dosage.py [--units 20] [--days 90] [--spots 40] [--sample 100000] [--gpx-sample 200000]``.
Prints the figures and, last, one JSON line. Target: read + compute under 60 s and under 4 GB peak RSS.

* The programme: ``--spots`` real 150 m hot cells of the bundled Leicestershire police.uk data (synthetic
  schedule: half treated each day). The tracks: each unit-day a 9.26 h shift (6,667 pings at 5 s) that
  patrols spots for about half of the shift (5-20 minute walks round a spot, driving between), then waits
  at base; 7 m GPS noise, two dropouts per unit-day (:mod:`benchlib.dosage_sim`, seeded).
* Generation and the CSV write are not timed as part of the target (they stand in for the force's export).
* read + compute run in a child process, so its peak RSS is theirs alone: ``read`` is
  :func:`~patrol_planner.dosage.pingcsv.read_ping_csv` of the 12M-row CSV (ISO times with ``Z``); ``compute``
  is :func:`~patrol_planner.dosage.measure.measure_pings` (cleaning, presence, visits, schedule join).
* Simple alternative: project the first ``--sample`` points and test each against each spot zone with
  ``zone.contains(Point(x, y))`` in a Python loop (prepared geometries); its time is scaled to all points.
  The same points go through the vectorised test (``contains_xy`` after a lon/lat grid pre-filter) and the
  two must agree point for point.
* GPX: :func:`~patrol_planner.dosage.gpx.read_gpx` throughput on ``--gpx-sample`` points.

``--accuracy`` runs the recovery sweep instead (deterministic, seconds): 10 days x 10 real spots x 3 units,
2 dropouts per unit-day, seeds 0-5 x GPS error 5 and 10 m; per run the largest and mean error of a spot-day's
minutes against the simulator's truth, and the spot-days whose visit count differs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
CRIMES = REPO / "data" / "policeuk-leicestershire-2022"
SHIFT_S = 6667 * 5.0


def _programme(folder: Path, days: int, spots: int) -> Path:
    from benchlib.dosage_sim import hot_cell_programme

    frames = [pd.read_csv(p, usecols=["Longitude", "Latitude"]).dropna() for p in sorted(CRIMES.glob("*.csv"))]
    pts = pd.concat(frames)
    return hot_cell_programme(folder, pts["Longitude"].to_numpy(), pts["Latitude"].to_numpy(), days=days,
                              n_spots=spots, seed=1, start="2025-01-06", min_apart_m=300.0)


def _unit_days(prog, units: int, seed: int):
    """Shifts of SHIFT_S: stops at random spots (5-20 min loops, driving between them at the simulator's
    speed) for about half the shift, then the rest at base; two dropouts of 2.5-7 min each."""
    from benchlib.dosage_sim import DRIVE_MPS, Stop, UnitDay
    from patrol_planner.geo import to_xy

    rng = np.random.default_rng(seed)
    ids = list(prog.spots)
    cx, cy = to_xy(np.array([g.centroid.x for g in prog.spots.values()]),
                   np.array([g.centroid.y for g in prog.spots.values()]), "EPSG:27700")
    base = (float(cx.mean()), float(cy.mean()) - 3000.0)  # where simulate_tracks puts it
    out = []
    for day in prog.dates:
        w0, _ = prog.window(day)
        for u in range(units):
            stops, used, here = [], 0.0, base
            while used < SHIFT_S / 2:
                k = int(rng.integers(len(ids)))
                dwell = float(rng.uniform(300, 1200))
                used += dwell + np.hypot(cx[k] - here[0], cy[k] - here[1]) / DRIVE_MPS
                stops.append(Stop(ids[k], dwell))
                here = (cx[k], cy[k])
            used += np.hypot(base[0] - here[0], base[1] - here[1]) / DRIVE_MPS
            drops = tuple((float(rng.uniform(0, SHIFT_S)), float(rng.uniform(150, 400))) for _ in range(2))
            out.append(UnitDay(f"U{u + 1:02d}", w0, tuple(stops), drops, tail_s=max(SHIFT_S - used, 0.0)))
    return out


def _write_csv(sim_pings: pd.DataFrame, path: Path, chunk: int = 1_000_000) -> None:
    """unit,time,lon,lat with ISO times, in chunks (numpy time formatting: pandas' strftime is slow for 12M rows,
    and one 12M-row frame of strings would take gigabytes)."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for k, a in enumerate(range(0, len(sim_pings), chunk)):
            part = sim_pings.iloc[a:a + chunk]
            t = np.datetime_as_string(part["t_s"].to_numpy().astype("int64").astype("datetime64[s]"), unit="s")
            frame = pd.DataFrame({"unit": part["unit"].to_numpy(), "time": np.char.add(t, "Z"),
                                  "lon": part["lon"].round(7), "lat": part["lat"].round(7)})
            frame.to_csv(fh, index=False, header=k == 0, lineterminator="\n")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(csv_path: Path, prog_dir: Path) -> None:
    """Time read and compute in a fresh process; print one JSON line."""
    from patrol_planner.dosage import measure_pings
    from patrol_planner.dosage.pingcsv import read_ping_csv
    from patrol_planner.programme import read_programme

    prog = read_programme(prog_dir)
    t0, c0 = time.perf_counter(), time.process_time()
    read = read_ping_csv(csv_path, prog.tz)
    t1, c1 = time.perf_counter(), time.process_time()
    rss_read = _rss_mb()
    res = measure_pings(prog, read.pings, reads=[read])
    t2, c2 = time.perf_counter(), time.process_time()
    print(json.dumps({"read_s": t1 - t0, "compute_s": t2 - t1, "read_cpu_s": c1 - c0, "compute_cpu_s": c2 - c1,
                      "points": len(read.pings),
                      "peak_rss_read_mb": rss_read, "peak_rss_mb": _rss_mb(),
                      "treated_minutes_present": res.summary["treated_minutes_present"],
                      "points_quarantined": res.summary["points_quarantined"]}))


def _simple_alternative(prog, pings: pd.DataFrame, n: int) -> dict:
    """Point-in-polygon per point (Python loop) vs the vectorised test, on the first ``n`` points."""
    import shapely
    from shapely.geometry import Point

    from patrol_planner.dosage.params import DosageParams
    from patrol_planner.dosage.presence import SpotZones
    from patrol_planner.geo import to_xy

    zones = SpotZones.build(prog.spots, DosageParams().tolerance_m, "EPSG:27700")
    sub = pings.iloc[:n]
    lon, lat = sub["lon"].to_numpy(), sub["lat"].to_numpy()
    t0 = time.perf_counter()
    x, y = to_xy(lon, lat, zones.crs)
    loop = np.zeros((len(zones.zones_xy), n), dtype=bool)
    for i in range(n):
        p = Point(x[i], y[i])
        for k, z in enumerate(zones.zones_xy):
            loop[k, i] = z.contains(p)
    t_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    near = zones.near_mask(lon, lat)
    idx = np.flatnonzero(near)
    vx, vy = to_xy(lon[idx], lat[idx], zones.crs)
    vec = np.zeros_like(loop)
    for k, z in enumerate(zones.zones_xy):
        vec[k, idx] = shapely.contains_xy(z, vx, vy)
    t_vec = time.perf_counter() - t0
    return {"sample_points": n, "loop_s": t_loop, "vectorised_s": t_vec, "agree": bool((loop == vec).all()),
            "inside_points": int(loop.any(axis=0).sum()), "loop_s_per_million": t_loop / n * 1e6}


def _gpx_rate(prog, pings: pd.DataFrame, n: int, folder: Path) -> dict:
    from benchlib.dosage_sim import write_gpx
    from patrol_planner.dosage.gpx import read_gpx

    sub = pings[pings["unit"] == pings["unit"].iloc[0]].iloc[:n]
    path = write_gpx(folder / "unit.gpx", sub)
    t0 = time.perf_counter()
    read = read_gpx(path, prog.tz)
    dt = time.perf_counter() - t0
    return {"gpx_points": len(read.pings), "gpx_read_s": dt, "gpx_points_per_s": len(read.pings) / dt,
            "gpx_mb": path.stat().st_size / 1e6}


def _accuracy() -> dict:
    """Recovery sweep: measured against true minutes and visits per spot-day, 12 seeded runs."""
    from benchlib.dosage_sim import plan_unit_days, simulate_tracks, true_dosage
    from patrol_planner.dosage import measure_pings
    from patrol_planner.programme import read_programme

    runs = []
    with tempfile.TemporaryDirectory(prefix="dosage-acc-") as tmp:
        prog = read_programme(_programme(Path(tmp) / "prog", 10, 10))
        for noise_m in (5.0, 10.0):
            for seed in range(6):
                uds = plan_unit_days(prog, units=3, seed=seed, dropouts_per_day=2)
                sim = simulate_tracks(prog, uds, seed=100 + seed, noise_m=noise_m)
                res = measure_pings(prog, sim.pings)
                m = res.table.merge(true_dosage(prog, sim), on=["date", "spot_id"], how="left",
                                    suffixes=("", "_true")).fillna({"minutes_present_true": 0.0, "visits_true": 0})
                err = (m["minutes_present"] - m["minutes_present_true"]).abs()
                runs.append({"noise_m": noise_m, "seed": seed, "max_err_min": round(float(err.max()), 3),
                             "mean_err_min": round(float(err.mean()), 3),
                             "visit_mismatches": int((m["visits"] != m["visits_true"]).sum())})
                print(f"noise {noise_m:4.0f} m seed {seed}: largest error {err.max():.3f} min, mean {err.mean():.3f} "
                      f"min, visit counts off on {runs[-1]['visit_mismatches']} spot-days", flush=True)
    return {"benchmark": "dosage_accuracy", "runs": runs,
            "max_err_min": max(r["max_err_min"] for r in runs),
            "visit_mismatches": sum(r["visit_mismatches"] for r in runs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=20)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--spots", type=int, default=40)
    ap.add_argument("--sample", type=int, default=100_000)
    ap.add_argument("--gpx-sample", type=int, default=200_000)
    ap.add_argument("--child", nargs=2, metavar=("CSV", "PROGRAMME"), help=argparse.SUPPRESS)
    ap.add_argument("--accuracy", action="store_true", help="run the recovery sweep (no timing) instead")
    args = ap.parse_args()
    if args.accuracy:
        print(json.dumps(_accuracy(), sort_keys=True))
        return
    if args.child:
        _child(Path(args.child[0]), Path(args.child[1]))
        return
    from benchlib.dosage_sim import simulate_tracks
    from patrol_planner.programme import read_programme

    with tempfile.TemporaryDirectory(prefix="dosage-bench-") as tmp:
        folder = Path(tmp)
        prog = read_programme(_programme(folder / "prog", args.days, args.spots))
        t0 = time.perf_counter()
        sim = simulate_tracks(prog, _unit_days(prog, args.units, seed=3), seed=4, truth=False)
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        csv_path = folder / "pings.csv"
        _write_csv(sim.pings, csv_path)
        t_write = time.perf_counter() - t0
        print(f"generated {len(sim.pings):,} pings ({args.units} units x {args.days} days, {len(prog.spots)} spots) "
              f"in {t_gen:.1f} s; CSV {csv_path.stat().st_size / 1e6:.0f} MB written in {t_write:.1f} s")
        simple = _simple_alternative(prog, sim.pings, args.sample)
        gpx = _gpx_rate(prog, sim.pings, args.gpx_sample, folder)
        pings_n = len(sim.pings)
        del sim
        out = subprocess.run([sys.executable, __file__, "--child", str(csv_path), str(prog.folder)],
                             capture_output=True, text=True, check=True)
        child = json.loads(out.stdout.strip().splitlines()[-1])
    total = child["read_s"] + child["compute_s"]
    simple_full_s = simple["loop_s_per_million"] * pings_n / 1e6
    print(f"read    {child['read_s']:6.1f} s wall, {child['read_cpu_s']:6.1f} s CPU  ({child['points']:,} points; "
          f"peak RSS so far {child['peak_rss_read_mb']:.0f} MB)")
    print(f"compute {child['compute_s']:6.1f} s wall, {child['compute_cpu_s']:6.1f} s CPU  (clean, presence, visits, "
          "schedule join)")
    print(f"total   {total:6.1f} s  target < 60 s: {'met' if total < 60 else 'NOT met'};  peak RSS "
          f"{child['peak_rss_mb']:.0f} MB, target < 4096 MB: {'met' if child['peak_rss_mb'] < 4096 else 'NOT met'}")
    print(f"simple alternative (point-in-polygon loop) on {simple['sample_points']:,} points: "
          f"{simple['loop_s']:.1f} s vs vectorised {simple['vectorised_s']:.2f} s; agree: {simple['agree']}; "
          f"scaled to all points: {simple_full_s:.0f} s for the inside test alone")
    print(f"GPX read: {gpx['gpx_points']:,} points ({gpx['gpx_mb']:.0f} MB) in {gpx['gpx_read_s']:.1f} s "
          f"= {gpx['gpx_points_per_s']:,.0f} points/s")
    print(json.dumps({"benchmark": "dosage", "points": pings_n, "units": args.units, "days": args.days,
                      "spots": args.spots, "generate_s": round(t_gen, 2), "csv_write_s": round(t_write, 2),
                      "read_s": round(child["read_s"], 2), "compute_s": round(child["compute_s"], 2),
                      "read_cpu_s": round(child["read_cpu_s"], 2), "compute_cpu_s": round(child["compute_cpu_s"], 2),
                      "total_s": round(total, 2), "peak_rss_mb": round(child["peak_rss_mb"]),
                      "simple_loop_s_per_million": round(simple["loop_s_per_million"], 2),
                      "simple_scaled_s": round(simple_full_s, 1), "simple_agree": simple["agree"],
                      "gpx_points_per_s": round(gpx["gpx_points_per_s"]), "provisional": True}))


if __name__ == "__main__":
    main()

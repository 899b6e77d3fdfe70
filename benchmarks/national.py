"""Backtests of the seven 2025 forces: a 2-worker Dask LocalCluster against the plain loop.

Usage: python benchmarks/national.py [--folds N] [--workers N] [--forces kent,essex,...]

Inputs: the six eastern archives in ../shared/data/raw/policeuk-2025-eastern/*.zip (read as received)
and the Essex 2025 folder. Runs :func:`patrol_planner.hotspots.national.backtest_forces` twice, once as a
plain loop in this process (``workers=0``) and once on a LocalCluster, and prints side by side: wall time
[s], each worker's peak resident memory [MiB] against the loop's, and whether the national tables and
every force's results are equal. Then the national table (model / best baseline per force and budget, with
the perfect-foresight ceiling) and one JSON line. Figures depend on the machine and its load: rerun.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
RAW = HERE.parent.parent / "shared" / "data" / "raw"
INPUTS = [*sorted((RAW / "policeuk-2025-eastern").glob("*.zip")), RAW / "policeuk-essex-2025"]


def main() -> dict:
    from patrol_planner.hotspots.national import NATIONAL_COLUMNS, backtest_forces, find_forces

    ap = argparse.ArgumentParser()
    ap.add_argument("--folds", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--forces", default="", help="comma-separated subset of force slugs")
    a = ap.parse_args()
    inputs = [p for p in INPUTS if p.exists()]
    if not inputs:
        raise SystemExit(f"no inputs under {RAW}")
    if a.forces:
        want = set(a.forces.split(","))
        found = find_forces(inputs)
        inputs = sorted({s for f, src in found.items() if f in want for s in src})
    t = time.perf_counter()
    loop = backtest_forces(inputs, folds=a.folds, workers=0)
    loop_s = time.perf_counter() - t
    loop_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    t = time.perf_counter()
    dask = backtest_forces(inputs, folds=a.folds, workers=a.workers)
    dask_s = time.perf_counter() - t
    for f, why in {**loop.failed, **dask.failed}.items():
        print(f"{f}: not backtested: {why}")
    cols = [c for c in NATIONAL_COLUMNS if c != "seconds"]
    tables_equal = loop.table[cols].equals(dask.table[cols])
    results_equal = all(loop.results[f].equals(dask.results[f]) for f in loop.results)
    per_worker = pd.DataFrame(dask.tasks).groupby("pid").agg(forces=("force", ",".join),
                                                             peak_rss_mb=("peak_rss_mb", "max"),
                                                             busy_s=("seconds", "sum"))
    print(f"{'':28s}{'plain loop':>14s}{'LocalCluster':>16s}")
    print(f"{'wall time [s]':28s}{loop_s:14.1f}{dask_s:16.1f}")
    print(f"{'peak memory [MiB]':28s}{loop_peak:14.0f}{per_worker['peak_rss_mb'].max():16.0f}  (max over workers)")
    for pid, r in per_worker.iterrows():
        print(f"  worker pid {pid}: {r['forces']}: peak {r['peak_rss_mb']:.0f} MiB, busy {r['busy_s']:.1f} s")
    print(f"national tables equal: {tables_equal}; every force's results equal: {results_equal}")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(loop.table[["force", "budget", "model", "best_baseline", "best_baseline_harm", "ratio", "folds_won",
                          "n_folds", "ceiling"]].round(4).to_string(index=False))
    out = {
        "benchmark": "national", "folds": a.folds, "workers": a.workers, "forces": list(loop.results),
        "loop_wall_s": round(loop_s, 2), "dask_wall_s": round(dask_s, 2), "loop_peak_rss_mb": round(loop_peak),
        "worker_peak_rss_mb": {str(k): round(v) for k, v in per_worker["peak_rss_mb"].items()},
        "tables_equal": bool(tables_equal), "results_equal": bool(results_equal),
        "ratios": {f"{r.force}@{r.budget:g}": round(r.ratio, 4) for r in loop.table.itertuples()},
    }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()

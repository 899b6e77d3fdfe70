"""Placebo calibration of the month-level evaluation on police.uk force-years where no programme ran.

Usage: python benchmarks/placebo.py [--quick] [--procs 2] [--rows FILE.json]

For every force-year in ``../shared/data/raw`` (Essex 2018-19 with its missing August-September, Essex
January-April 2024, Essex 2025 and the six eastern forces' 2025 archives) and several start dates (the 1st
and the 15th of months), a placebo programme is set up the way a user's is: spots are the 20 best cells
(150 m) of the hotspot model fitted on the records that end before the start, kept one cell apart (the
programme's ``choose_separated``); a second programme takes the next 20 cells. The model uses the
``shrunk`` ranking (the short-history ranking of the default ``blend``; ``blend`` trains a learner and
takes 30 s per start). Each programme runs 90 days (61 and 30 for the four 2024 months) with 8 of 20
spots patrolled a day. Controls, window and panel come from
:func:`patrol_planner.evaluation.monthpanel.build_panel`, the function ``patrol-planner evaluate`` uses.

No programme ran, so the true rate ratio is 1: a calibrated 5% test rejects in 2-8% of placebo programmes
and a 95% interval covers 1 in 92-98%. Then a planted effect: 30% of the crimes at the spots in the months
during the programme are removed (binomial thinning), and the estimate should show a 30% fall (within 5
points) and its interval cover 0.70. Three estimators side by side (see ``monthpanel``): ``pair`` (the
headline), ``poisson_fe`` and ``pooled`` (the earlier headline).

Prints the figures and a final JSON line. Runs in 2 processes at most.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from multiprocessing import Pool
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RAW = HERE.parent.parent / "shared" / "data" / "raw"
if not RAW.exists():  # a git worktree sits one level deeper than the clone
    RAW = Path("/work/shared/data/raw")
N_SPOTS, K, CELL_M, RING_M, REDUCTION = 20, 8, 150.0, 100.0, 0.30
STARTS_2025 = [date(2025, 4, 1), date(2025, 5, 15), date(2025, 7, 1), date(2025, 8, 15), date(2025, 10, 1)]


def force_years() -> list[tuple[str, list[str], list[tuple[date, int]]]]:
    """(label, files, [(start, days)]) for every force-year."""
    d = lambda s: date.fromisoformat(s)  # noqa: E731
    essex18 = sorted(str(p) for p in (RAW / "policeuk-essex-2018").glob("*.csv")) + \
        sorted(str(p) for p in (RAW / "policeuk-essex-2018-19").glob("*.csv"))
    out = [("essex-2018-19", essex18, [(d("2018-04-01"), 90), (d("2018-05-15"), 90), (d("2018-11-01"), 90),
                                       (d("2018-12-01"), 90)]),
           ("essex-2024", sorted(str(p) for p in (RAW / "policeuk-essex-2024").glob("*.csv")),
            [(d("2024-03-01"), 61), (d("2024-04-01"), 30)]),
           ("essex-2025", sorted(str(p) for p in (RAW / "policeuk-essex-2025").glob("*.csv")),
            [(s, 90) for s in STARTS_2025])]
    for z in sorted((RAW / "policeuk-2025-eastern").glob("*.zip")):
        out.append((z.stem, [str(z)], [(s, 90) for s in STARTS_2025]))
    return out


def placebo_spots(incidents, start: date, skip: int):
    """The hotspot model's best separated cells before ``start`` (ranks ``skip+1..skip+N``) as boxes [m]."""
    import pandas as pd
    from shapely.geometry import box

    from patrol_planner.hotspots import HotspotModel
    from patrol_planner.programme.spots import choose_separated

    as_of = pd.Timestamp(start) + pd.Timedelta(hours=6)
    hist = incidents[(incidents["occurred_to"] <= as_of).to_numpy()]
    model = HotspotModel(cell_size_m=CELL_M, ranker="shrunk").fit(hist)
    cells = choose_separated(model.score(as_of), N_SPOTS + skip).iloc[skip:]
    h = CELL_M / 2
    return {f"S{i + 1:02d}": box(x - h, y - h, x + h, y + h)
            for i, (x, y) in enumerate(zip(cells["x_m"], cells["y_m"], strict=True))}


def run_force(job: tuple[str, list[str], list[tuple[date, int]], int]) -> list[dict]:
    """All placebo programmes of one force-year: estimates without and with a planted effect."""
    import warnings

    from patrol_planner.evaluation.monthpanel import build_panel, month_estimates
    from patrol_planner.incidents import ingest

    label, files, starts, seed = job
    warnings.simplefilter("ignore")
    inc = ingest(files).incidents
    inc = inc[inc["source_kind"].to_numpy() == "police_uk_street"]
    rng = np.random.default_rng(seed)
    rows = []
    for start, days in starts:
        for skip in (0, N_SPOTS):
            t = time.perf_counter()
            spots = placebo_spots(inc, start, skip)
            panel = build_panel(inc, spots, start=start, days=days, cell_m=CELL_M, ring_m=RING_M)
            row = {"force": label, "start": start.isoformat(), "spots": "top" if skip == 0 else "next",
                   "pre": len(panel.window.pre), "post": len(panel.window.post),
                   "missing": [str(m) for m in panel.window.missing],
                   "scale": panel.control_to_spot_scale(), "spot_crimes": float(panel.frame.query("spot == 1")
                                                                                  ["crimes"].sum())}
            for e in month_estimates(panel.frame):
                if e.outcome == "crimes":
                    row[e.method] = (e.rate_ratio, e.ci_low, e.ci_high, e.p_value)
            planted = panel.frame.copy()
            at = ((planted["spot"] == 1) & (planted["post"] == 1)).to_numpy()
            planted.loc[at, "crimes"] = rng.binomial(planted.loc[at, "crimes"].to_numpy(np.int64), 1 - REDUCTION)
            for e in month_estimates(planted):
                if e.outcome == "crimes":
                    row[e.method + "_planted"] = (e.rate_ratio, e.ci_low, e.ci_high, e.p_value)
            row["seconds"] = time.perf_counter() - t
            rows.append(row)
            print(f"  {label} {start} {row['spots']}: pair RR {row['pair'][0]:.2f} p {row['pair'][3]:.3f}; "
                  f"pooled RR {row['pooled'][0]:.2f} p {row['pooled'][3]:.3f} ({row['seconds']:.0f} s)", flush=True)
    return rows


def summarise(rows: list[dict], method: str) -> dict:
    """False alarms, coverage of 1, planted recovery and coverage of 0.70 for one estimator."""
    null = np.array([r[method] for r in rows], float)
    pl = np.array([r[method + "_planted"] for r in rows], float)
    ok, okp = np.isfinite(null[:, 0]), np.isfinite(pl[:, 0])
    both = ok & okp
    # the planted panel is the null panel thinned, so planted / null isolates what the planting did from the
    # placebo programme's own noise (which the null rows measure)
    recovered = pl[both, 0] / null[both, 0]
    return {
        "programmes": int(ok.sum()),
        "false_alarm_rate": float(np.mean(null[ok, 3] < 0.05)),
        "coverage_of_1": float(np.mean((null[ok, 1] <= 1) & (null[ok, 2] >= 1))),
        "median_rate_ratio_null": float(np.median(null[ok, 0])),
        "planted_mean_reduction": float(1 - np.mean(recovered)),
        "planted_reduction_geometric": float(1 - np.exp(np.mean(np.log(pl[okp, 0])))),
        "planted_detected": float(np.mean((pl[okp, 3] < 0.05) & (pl[okp, 0] < 1))),
        "planted_coverage_of_070": float(np.mean((pl[okp, 1] <= 1 - REDUCTION) & (pl[okp, 2] >= 1 - REDUCTION))),
    }


def main(argv: list[str]) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="Essex 2025 and one eastern force only")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--rows", help="also write every programme's estimates to this JSON file")
    a = ap.parse_args(argv)
    jobs = [(lab, files, starts, 1000 + i) for i, (lab, files, starts) in enumerate(force_years())]
    if a.quick:
        jobs = [j for j in jobs if j[0] in ("essex-2025", "suffolk-2025")]
    t = time.perf_counter()
    with Pool(min(max(a.procs, 1), 2)) as pool:
        rows = [r for part in pool.map(run_force, jobs, chunksize=1) for r in part]
    seconds = time.perf_counter() - t
    out = {"programmes": len(rows), "seconds": round(seconds), "forces": sorted({r["force"] for r in rows})}
    print(f"\n{len(rows)} placebo programmes on {len(out['forces'])} force-years, {seconds:.0f} s wall-clock")
    print(f"controls' crimes before the start / spots': median {np.median([r['scale'] for r in rows]):.2f}")
    for m in ("pair", "poisson_fe", "pooled"):
        s = summarise(rows, m)
        out[m] = {k: round(v, 4) for k, v in s.items()}
        print(f"{m:>10}: false alarms {s['false_alarm_rate']:.1%} (target 2-8%), coverage of 1 "
              f"{s['coverage_of_1']:.1%} (92-98%), median null RR {s['median_rate_ratio_null']:.3f}; planted 30%: "
              f"mean reduction {s['planted_mean_reduction']:.1%} (planted / null estimate; "
              f"1 - geometric mean of the planted estimates {s['planted_reduction_geometric']:.1%}), "
              f"detected {s['planted_detected']:.1%}, "
              f"coverage of 0.70 {s['planted_coverage_of_070']:.1%}")
    h = out["pair"]
    out["headline_passes"] = bool(0.02 <= h["false_alarm_rate"] <= 0.08 and 0.92 <= h["coverage_of_1"] <= 0.98
                                  and abs(h["planted_mean_reduction"] - REDUCTION) <= 0.05 and len(rows) >= 60)
    if a.rows:
        Path(a.rows).write_text(json.dumps(rows, default=str, indent=0) + "\n", encoding="utf-8")
    print(json.dumps(out, sort_keys=True))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])

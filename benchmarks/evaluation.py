"""Calibration of the programme evaluation on real timestamped crimes with no patrols (NYC vehicle thefts).

Usage: python benchmarks/evaluation.py [N_SCHEDULES] [DATA_FILE]

Programme: the 20 busiest 150 m cells of 2014-2015 as spots, 366 days from 2016-01-01, 10 of 20 spots
treated each day (the Southend K-of-N design). No patrols happened, so:

1. A/A: over N schedules (default 200) from that design, the 95% interval should contain 1 in 92-98% and
   the randomisation p-value be below 0.05 in 2-8%. Side by side: the same intervals with standard errors
   clustered by spot and model-based (the simple alternatives).
2. Planted effect: 30% of the crimes on treated spot-days removed at random. The mean estimated reduction
   should be within 5 points of 30%, and the detection rate (randomisation p < 0.05) within 10 points of the
   design's analytic power.

Prints the figures, then one JSON line. Timings are wall-clock and depend on the machine's load.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "raw" / "crimedata-code-us" / "nycvehiclethefts.csv"
START, DAYS, N_SPOTS, K, CELL_M, REDUCTION = date(2016, 1, 1), 366, 20, 10, 150.0, 0.30


def build(data: Path, folder: Path):
    """Ingest, pick spots, write the programme folder; returns (programme, incidents, design, spot-day table)."""
    from benchlib.calibration import k_of_n, programme_design, top_cell_spots
    from patrol_planner.evaluation.placeday import spot_day_table
    from patrol_planner.incidents import ingest
    from patrol_planner.programme import read_programme, write_programme

    inc = ingest(data, mapping="nyc-vehicle-thefts").incidents
    spots = top_cell_spots(inc, cell_m=CELL_M, n_spots=N_SPOTS, until=START.isoformat())
    ids = [f["properties"]["spot_id"] for f in spots["features"]]
    design = k_of_n(ids, START, DAYS, K)
    write_programme(folder, design=programme_design(START, DAYS, timezone="America/New_York", spot_size_m=CELL_M,
                                                    seed=1), schedule=design(1), spots_geojson=spots)
    prog = read_programme(folder)
    return prog, inc, design, spot_day_table(prog, inc)


def main(argv: list[str]) -> dict:
    import tempfile

    from benchlib.calibration import analytic_power, simulate
    from patrol_planner.evaluation.countmodel import fit_rate_ratio

    n = int(argv[0]) if argv else 200
    data = Path(argv[1]) if len(argv) > 1 else DEFAULT_DATA
    with tempfile.TemporaryDirectory() as tmp:
        prog, inc, design, table = build(data, Path(tmp) / "nyc-programme")
    total = float(table["crimes"].sum())
    disp = fit_rate_ratio(table, se="model")[0].dispersion
    power = analytic_power(total, K / N_SPOTS, REDUCTION, dispersion=disp)
    print(f"programme: {N_SPOTS} spots x {DAYS} days, K={K}; {total:.0f} crimes in the spots, "
          f"Pearson dispersion {disp:.2f}")

    t = time.perf_counter()
    aa = simulate(table, design, n_schedules=n, reduction=0.0, compare_se=("spot", "model"))
    aa_s = time.perf_counter() - t
    s = aa.summary
    print(f"A/A ({n} schedules, {aa_s:.0f} s): 95% CI contains 1 in {s['ci_covers_truth']:.1%} "
          f"(target 92-98%); randomisation p < 0.05 in {s['randomisation_p_below_05']:.1%} (target 2-8%); "
          f"Wald CI excludes 1 in {s['ci_excludes_1']:.1%}")
    print(f"  side by side, CI coverage with SEs clustered by spot {s['ci_covers_truth_se_spot']:.1%}, "
          f"model-based {s['ci_covers_truth_se_model']:.1%}; negative binomial chosen in "
          f"{s['negative_binomial_share']:.0%} of fits")

    t = time.perf_counter()
    pl = simulate(table, design, n_schedules=n, reduction=REDUCTION, seed=7)
    pl_s = time.perf_counter() - t
    p = pl.summary
    print(f"planted {REDUCTION:.0%} reduction ({n} schedules, {pl_s:.0f} s): mean estimated reduction "
          f"{p['mean_reduction_estimated']:.1%} (target 25-35%), geometric mean rate ratio "
          f"{p['geometric_mean_rate_ratio']:.3f}; detected (randomisation p < 0.05) in "
          f"{p['randomisation_p_below_05']:.1%}, Wald CI excludes 1 in {p['ci_excludes_1']:.1%}; analytic power "
          f"{power:.1%} (target within 10 points); CI contains 0.70 in {p['ci_covers_truth']:.1%}")
    ok = {
        "aa_coverage_ok": 0.92 <= s["ci_covers_truth"] <= 0.98,
        "aa_rejection_ok": 0.02 <= s["randomisation_p_below_05"] <= 0.08,
        "planted_mean_ok": abs(p["mean_reduction_estimated"] - REDUCTION) <= 0.05,
        "power_ok": abs(p["randomisation_p_below_05"] - power) <= 0.10,
    }
    return {"benchmark": "evaluation", "schedules": n, "crimes_in_spots": total, "dispersion": disp,
            "aa": s, "planted": p, "analytic_power": power, "checks": ok,
            "seconds": {"aa": round(aa_s, 1), "planted": round(pl_s, 1)}}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), sort_keys=True))

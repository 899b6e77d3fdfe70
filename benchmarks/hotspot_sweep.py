"""Choose the HotspotModel defaults by a sweep over ALL backtest folds (not the last one).

Usage: python benchmarks/hotspot_sweep.py [DATA_DIR] [--quick]

For every parameter combination the model is fitted once on the whole table and scored at each fold's
as-of (``score`` only counts records with ``occurred_from < as_of``, so this equals fitting per fold);
each fold is evaluated exactly as :func:`patrol_planner.hotspots.backtest.backtest` does. The objective
is the mean, over the three area budgets, of the model's mean harm captured divided by the best
baseline's (the baselines come from one full backtest run). Prints the top settings and a final JSON
line with the winner.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from patrol_planner.hotspots.backtest import (
    DEFAULT_BUDGETS,
    StudyArea,
    backtest,
    evaluate_ranking,
    make_folds,
)
from patrol_planner.hotspots.model import HotspotModel

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "raw" / "policeuk-essex-2018"

GRID = {
    "cell_size_m": [100.0, 150.0],
    "half_life_days": [90.0, 365.0, float("inf")],
    "asb_weight": [0.0, 40.0, 100.0, 200.0],
    "enforcement_weight": [0.0, 0.05, 0.25],
    "volume_weight": [0.0, 30.0, 60.0, 100.0],
    "smoothing": [0.0, 0.1, 0.5],
}
QUICK = {
    "cell_size_m": [100.0],
    "half_life_days": [90.0, 365.0],
    "asb_weight": [0.0, 100.0],
    "enforcement_weight": [0.0, 0.05],
    "volume_weight": [0.0, 60.0],
    "smoothing": [0.0, 0.1],
}
#: Other police.uk sets to check that the winner and the shipped defaults generalise (skipped if absent).
CHECK_SETS = {
    "leicestershire-2022": (HERE.parent / "data" / "policeuk-leicestershire-2022", "*.csv"),
    "colchester-2023-api": (DEFAULT_DATA.parent / "policeuk-api-colchester-2023", "crime23.csv"),
}


def load(path: Path, pattern: str = "*.csv") -> pd.DataFrame:
    """The canonical table from the ingestion stage."""
    from patrol_planner.incidents import ingest

    files = sorted(p for p in path.glob(pattern))
    return ingest(files).incidents


def ratios(inc: pd.DataFrame, params: dict) -> dict[str, float]:
    """Model mean harm captured / best baseline's, per budget, on up to 4 folds of ``inc``."""
    res = backtest(inc, folds=4, model_params=params, top_ns=())
    area = res[res.selection == "area"]
    per = area.groupby(["budget", "method"]).harm_captured.mean().unstack()
    return {f"{b:g}": round(float(per.loc[b, "model"] / per.loc[b].drop("model").max()), 4) for b in per.index}


def main(argv: list[str]) -> dict:
    args = [a for a in argv if not a.startswith("--")]
    path = Path(args[0]) if args else DEFAULT_DATA
    grid = QUICK if "--quick" in argv else GRID
    inc = load(path)
    folds = make_folds(inc, 4)
    study = StudyArea.from_points(inc["x_m"].to_numpy(float), inc["y_m"].to_numpy(float))
    base = backtest(inc, folds=[f.month for f in folds], top_ns=())
    base = base[(base.method != "model") & (base.selection == "area")]
    best_base = base.groupby(["budget", "method"]).harm_captured.mean().groupby("budget").max()
    print("best baseline mean harm captured per budget:", best_base.round(4).to_dict())

    keys = list(grid)
    rows = []
    t0 = time.perf_counter()
    for combo in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, combo, strict=True))
        m = HotspotModel(**params).fit(inc)
        res = []
        for f in folds:
            c = m.score(f.as_of)
            res += evaluate_ranking(c.ix.to_numpy(), c.iy.to_numpy(), c.score.to_numpy(), params["cell_size_m"],
                                    f, study, DEFAULT_BUDGETS, ())
        r = pd.DataFrame(res)
        per_b = r.groupby("budget").harm_captured.mean()
        wins = r.pivot_table(index="fold", columns="budget", values="harm_captured")
        fold_best = base.pivot_table(index=["fold"], columns=["budget"], values="harm_captured", aggfunc="max")
        rows.append({**params, **{f"harm@{b:g}": per_b[b] for b in per_b.index},
                     "objective": float(np.mean([per_b[b] / best_base[b] for b in per_b.index])),
                     "min_ratio": float(min(per_b[b] / best_base[b] for b in per_b.index)),
                     "fold_wins": int((wins > fold_best).to_numpy().sum())})
    dt = time.perf_counter() - t0
    out = pd.DataFrame(rows).sort_values(["objective"], ascending=False)
    pd.set_option("display.width", 200)
    print(f"{len(out)} settings x {len(folds)} folds in {dt:.1f} s")
    print(out.head(25).to_string(index=False))
    for k in keys:
        print(f"\nbest objective by {k}:")
        print(out.groupby(k).objective.max().round(4).to_string())
    best = out.iloc[0].to_dict()
    shipped = {k: v for k, v in HotspotModel().get_params().items() if k in keys}
    print("\nshipped defaults:", shipped)
    print(out[np.logical_and.reduce([out[k] == v for k, v in shipped.items()])].to_string(index=False))
    checks = {}
    for name, (folder, pattern) in CHECK_SETS.items():
        if folder.is_dir():
            other = load(folder, pattern)
            checks[name] = {"sweep_winner": ratios(other, {k: best[k] for k in keys}),
                            "shipped_defaults": ratios(other, shipped)}
            print(f"generalisation check {name}: model / best baseline harm captured per budget: {checks[name]}")
    summary = {"data": str(path), "n_settings": len(out), "best": best, "shipped": shipped, "checks": checks,
               "best_baseline": {str(k): float(v) for k, v in best_base.items()}}
    print(json.dumps(summary, default=float))
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])

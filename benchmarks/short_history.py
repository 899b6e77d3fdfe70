"""The rankings on windows of each force's data that took no part in choosing the default.

Usage: python benchmarks/short_history.py [--short] [--h1] [--json]

``--short`` (default on): for every 2025 force in ../shared, two three-month windows (Jan-Mar and Jun-Aug),
each a 2-fold backtest trained on 1 and 2 months, plus Leicestershire 2022 (1 fold): the regime where
nothing can be learned and the default falls back to a simple ranking. ``--h1``: January to June 2025 of
each force, 3 folds (April-June, trained on 3-5 months); the default was chosen on July-December.

Every ranking is scored by the product's own backtest (``model_params`` / ``variants``) against the best of
its 11 baselines at 0.1%, 1% and 5% of the area; prints model / best baseline per window and ranking,
the mean and the count of windows below 1.00, then a JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from patrol_planner.hotspots.backtest import backtest, model_margin
from patrol_planner.incidents import ingest

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
RANKINGS = ("blend", "shrunk", "weighted", "harm")


def _forces() -> dict[str, list[Path]]:
    out = {z.name.removesuffix("-2025.zip"): [z] for z in sorted((RAW / "policeuk-2025-eastern").glob("*.zip"))}
    if (RAW / "policeuk-essex-2025").is_dir():
        out["essex"] = [RAW / "policeuk-essex-2025"]
    return out


def _window(inc: pd.DataFrame, start: str, months: int) -> pd.DataFrame:
    p = pd.DatetimeIndex(inc["occurred_from"]).to_period("M")
    s = pd.Period(start, "M")
    out = inc[np.asarray((p >= s) & (p <= s + (months - 1)))]
    out.attrs = dict(inc.attrs)
    return out


def windows(h1: bool) -> dict[str, tuple[pd.DataFrame, int]]:
    """label -> (incidents, folds)."""
    out: dict[str, tuple[pd.DataFrame, int]] = {}
    for force, src in _forces().items():
        inc = ingest([str(p) for p in src], force=force).incidents
        if h1:
            out[f"{force} 2025-01..06"] = (_window(inc, "2025-01", 6), 3)
        else:
            out[f"{force} 2025-01..03"] = (_window(inc, "2025-01", 3), 2)
            out[f"{force} 2025-06..08"] = (_window(inc, "2025-06", 3), 2)
    leic = RAW / "policeuk-leicestershire-2022"
    if not h1 and leic.is_dir():
        out["leicestershire 2022-07..08"] = (ingest([str(leic)], force="leicestershire").incidents, 1)
    return out


def ratios(inc: pd.DataFrame, folds: int) -> dict[str, list[float]]:
    """ranking -> model / best baseline at each budget."""
    res = backtest(inc, folds=folds, top_ns=(), model_params={"ranker": RANKINGS[0]},
                   variants={r: {"ranker": r} for r in RANKINGS[1:]})
    out = {}
    for name in RANKINGS:
        m = "model" if name == RANKINGS[0] else f"model_{name}"
        sub = res[(res.method == m) | ~res.method.str.startswith("model")].copy()
        sub.loc[sub.method == m, "method"] = "model"
        out[name] = [round(float(r), 4) for r in model_margin(sub)["ratio"]]
    return out


def main(argv: list[str]) -> dict:
    if not RAW.is_dir():
        sys.exit(f"short_history: {RAW} not found (the shared data are needed)")
    h1 = "--h1" in argv
    t0 = time.perf_counter()
    per: dict[str, dict[str, list[float]]] = {}
    for label, (inc, folds) in windows(h1).items():
        per[label] = ratios(inc, folds)
        print(label, "  ".join(f"{k} {v}" for k, v in per[label].items()), flush=True)
    print(f"\n{'ranking':<10} mean ratio at 0.1 / 1 / 5%   windows < 1.00 (of {len(per)})")
    summary = {}
    for name in RANKINGS:
        a = np.array([v[name] for v in per.values()])
        summary[name] = {"mean": a.mean(axis=0).round(4).tolist(), "below_1": (a < 1).sum(axis=0).tolist(),
                         "min": a.min(axis=0).round(4).tolist()}
        print(f"{name:<10} {summary[name]['mean']}   {summary[name]['below_1']}   min {summary[name]['min']}")
    out = {"benchmark": "short_history", "mode": "h1" if h1 else "short", "windows": len(per),
           "wall_s": round(time.perf_counter() - t0, 1), "summary": summary, "per_window": per}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])

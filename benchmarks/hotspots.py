"""Speed of the hotspot stage on Essex 2018 (115k rows).

Usage: python benchmarks/hotspots.py [DATA_DIR] [--weighted-table]

Prints (1) ingested table -> fitted, scored, selected and explained cells, best of 3 [s]
(target < 1 s) for the weighted ranking, and once for the default (blend), and (2) the full
backtest, 4 folds with all baselines [s] (target < 60 s),
then one JSON line.

``--weighted-table`` prints, instead, the Essex 2018 results table of docs/hotspots.md (deterministic): the
4-fold backtest with ``ranker="weighted"``, mean over folds of harm captured at 0.1 / 1 / 5% of the area, hit
rate and PAI at 1% per method, the model against the best baseline per budget, and the top 20 / 50 cells'
share of next month's harm per method.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "raw" / "policeuk-essex-2018"


def weighted_table(inc) -> dict:
    """The backtest with the weighted score: per-method means (harm at each budget, hit rate and PAI at 1%)."""
    from patrol_planner.hotspots.backtest import backtest, model_margin

    res = backtest(inc, folds=4, model_params={"ranker": "weighted"})
    area = res[res["selection"] == "area"]
    harm = area.pivot_table(index="method", columns="budget", values="harm_captured", aggfunc="mean")
    at1 = area[area["budget"] == 0.01].groupby("method")[["hit_rate", "pai"]].mean()
    table = harm.join(at1).sort_values(0.01, ascending=False)
    print(f"folds {sorted(res['fold'].unique())}; weighted ranking; mean over folds")
    print(table.round(4).to_string())
    print(model_margin(res).to_string(index=False))
    for b, g in area.groupby("budget"):  # per fold: the model against that fold's best baseline
        piv = g.pivot_table(index="fold", columns="method", values="harm_captured")
        base = piv.drop(columns=["model", "perfect_foresight"]).max(axis=1)
        print(f"{b:g}: model {' / '.join(f'{v:.1%}' for v in piv['model'])} vs fold's best baseline "
              f"{' / '.join(f'{v:.1%}' for v in base)}")
    top = res[res["selection"] == "top"].pivot_table(index="method", columns="budget", values="harm_captured",
                                                      aggfunc="mean")
    print("top-N cells (columns: N), share of next month's harm")
    print(top.round(4).to_string())
    return {"harm": {str(k): v for k, v in harm.round(5).to_dict().items()},
            "at_1pct": at1.round(5).to_dict(), "top_n": {str(k): v for k, v in top.round(5).to_dict().items()}}


def main(argv: list[str]) -> dict:
    from patrol_planner.hotspots import HotspotModel, cells_to_geojson, select_hotspots
    from patrol_planner.hotspots.backtest import backtest, model_margin
    from patrol_planner.incidents import ingest

    args = [a for a in argv if not a.startswith("--")]
    path = Path(args[0]) if args else DEFAULT_DATA
    t = time.perf_counter()
    inc = ingest(sorted(path.glob("*.csv"))).incidents
    ingest_s = time.perf_counter() - t
    if "--weighted-table" in argv:
        out = weighted_table(inc)
        print(json.dumps(out, default=str))
        return out
    as_of = inc["occurred_to"].max()

    t = time.perf_counter()
    m = HotspotModel().fit(inc)
    cells = m.score(as_of)
    sel = select_hotspots(cells, top=50, group_adjacent=True)
    explained = [m.explain(c) for c in sel["cell_id"]]
    cells_to_geojson(sel)
    default_blend_s = time.perf_counter() - t
    print(f"default ranking ({m.ranking_['method']}: fits the learned ranker once); fit + score + select 50 + "
          f"explain 50 + GeoJSON: {default_blend_s:.1f} s (one run)")
    times = []
    for _ in range(3):
        t = time.perf_counter()
        m = HotspotModel(ranker="weighted").fit(inc)
        cells = m.score(as_of)
        sel = select_hotspots(cells, top=50, group_adjacent=True)
        explained = [m.explain(c) for c in sel["cell_id"]]
        cells_to_geojson(sel)
        times.append(time.perf_counter() - t)
    score_s = min(times)
    print(f"ingest {len(inc)} rows: {ingest_s:.2f} s (ingestion stage, not counted)")
    print(f"weighted ranking: fit + score {len(cells)} cells + select 50 + explain {len(explained)} + GeoJSON: "
          f"{score_s:.3f} s (best of 3; target < 1 s)")

    t = time.perf_counter()
    res = backtest(inc, folds=4)
    bt_s = time.perf_counter() - t
    print(f"backtest, {res.fold.nunique()} folds x {res.method.nunique()} methods: {bt_s:.1f} s (target < 60 s)")
    print(model_margin(res).to_string(index=False))
    out = {"rows": len(inc), "cells": len(cells), "score_explain_s": round(score_s, 3),
           "default_blend_s": round(default_blend_s, 2), "backtest_s": round(bt_s, 2), "ingest_s": round(ingest_s, 2)}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])

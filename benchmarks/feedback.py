"""The patrol feedback loop: simulated runaway with and without a guard, and police-generated shares on real data.

Usage: python benchmarks/feedback.py [--seeds 200] [--days 730] [--no-real]

Prints (1) the two-area simulation (equal true rates) for each patrol policy and guard, at several
horizons: the share of seeds whose patrol spent > 90% of days in one area, the share whose patrol share
stayed within 35-65%, and the mean error of the ranking's estimate of area A's share (truth 0.5);
(2) the same loop ranked by the model's own record weights (Violence vs Drugs or weapons) at
``enforcement_weight`` 0.05 / 0.25 / 1; (3) for Leicestershire 2022 (bundled) and Essex 2025 (../shared,
skipped when absent), the share of records, of CCHI harm and of model score in the top 20 / top 50 cells
that comes from police-generated records, with the default model, with ``enforcement_weight`` 1 (table
value) and 0 (excluded), and with a plain record count (the simple alternative); then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LEIC = HERE.parent / "data" / "policeuk-leicestershire-2022"
ESSEX = HERE.parent.parent / "shared" / "data" / "raw" / "policeuk-essex-2025"
HORIZONS = (30, 90, 365, 730)
SETTINGS = (
    # policy, half-life [days], reporting probability: what each setting shows
    ("top", 7.0, 0.5),
    ("top", float("inf"), 0.5),
    ("proportional", float("inf"), 0.1),
)


def simulation(n_seeds: int, n_days: int) -> list[dict]:
    from benchlib.feedback_sim import GUARDS, simulate_patrol_feedback

    rows = []
    print(f"Two areas, equal true rates; {n_seeds} seeds; victim crime 2/day/area; police-findable 4/day/area, "
          "found with p=0.5 only where patrolled")
    print(f"{'policy':<13}{'half-life':>10}{'report p':>9}  {'guard':<9}{'days':>5}  {'>90% in one':>11}  "
          f"{'share 35-65%':>12}  {'|est-0.5|':>9}")
    for policy, hl, rep in SETTINGS:
        for guard in GUARDS:
            sim = simulate_patrol_feedback(policy=policy, guard=guard, half_life_days=hl, reporting_prob=rep,
                                           n_days=n_days, n_seeds=n_seeds, seed=0)
            tot = sim.score_a + sim.score_b
            for d in (h for h in HORIZONS if h <= n_days):
                share = sim.patrolled_a[:, :d].mean(axis=1)
                conc = np.maximum(share, 1 - share)
                est = sim.score_a[:, d - 1] / tot[:, d - 1]
                row = {"policy": policy, "half_life_days": hl if np.isfinite(hl) else None,
                       "reporting_prob": rep, "guard": guard, "days": d,
                       "concentrated_gt90": float(np.mean(conc > 0.9)),
                       "share_35_65": float(np.mean((share > 0.35) & (share < 0.65))),
                       "est_abs_err": float(np.mean(np.abs(est - 0.5)))}
                rows.append(row)
                print(f"{policy:<13}{hl:>10}{rep:>9}  {guard:<9}{d:>5}  {row['concentrated_gt90']:>11.0%}  "
                      f"{row['share_35_65']:>12.0%}  {row['est_abs_err']:>9.3f}")
    return rows


def model_weight_loop(n_seeds: int, n_days: int) -> list[dict]:
    """The top-ranked loop when the ranking uses the model's own record weights (stress case: finds at
    twice the victim report rate)."""
    from benchlib.feedback_sim import simulate_patrol_feedback
    from patrol_planner.hotspots import HotspotModel
    from patrol_planner.hotspots.harm import record_weights, resolve_harm
    from patrol_planner.incidents.schema import POLICE_UK_CATEGORIES

    rows = []
    print("\nTop-ranked patrol, ranking = HotspotModel record weights (Violence vs a police-generated type), "
          f"{n_seeds} seeds, {n_days} days")
    print(f"{'police-generated type':<23}{'enforcement_w':>14}{'days/record':>12}{'half-life':>10}  "
          f"{'>90% in one':>11}  {'excluded':>8}")
    codes = np.array([POLICE_UK_CATEGORIES.index(c) for c in
                      ("Violence and sexual offences", "Drugs", "Possession of weapons")])
    for ew in (0.05, 0.25, 1.0):
        m = HotspotModel(enforcement_weight=ew)
        w = record_weights(codes, resolve_harm(m.harm), asb_weight=m.asb_weight, enforcement_weight=ew,
                           volume_weight=m.volume_weight)
        for j, cat in ((1, "Drugs"), (2, "Possession of weapons")):
            for hl in (30.0, 365.0):
                pair = (float(w[0]), float(w[j]))
                conc = {}
                for guard in ("none", "exclude"):
                    sim = simulate_patrol_feedback(policy="top", guard=guard, half_life_days=hl, record_weights=pair,
                                                   prior_records=pair[0], n_days=n_days, n_seeds=n_seeds, seed=0)
                    conc[guard] = float(np.mean(sim.concentration > 0.9))
                rows.append({"category": cat, "enforcement_weight": ew, "weight_days": pair[1], "half_life_days": hl,
                             "concentrated_gt90": conc["none"], "concentrated_gt90_excluded": conc["exclude"]})
                print(f"{cat:<23}{ew:>14}{pair[1]:>12.2f}{hl:>10}  {conc['none']:>11.0%}  {conc['exclude']:>8.0%}")
    return rows


def real_shares(name: str, folder: Path) -> dict:
    from patrol_planner.hotspots import HotspotModel, select_hotspots
    from patrol_planner.hotspots.feedback import is_police_generated, police_generated_share
    from patrol_planner.hotspots.harm import CCHI
    from patrol_planner.incidents import ingest

    inc = ingest(sorted(folder.glob("*street.csv"))).incidents
    as_of = inc["occurred_to"].max()
    pg = is_police_generated(inc["category"])
    harm = inc["category"].map(dict(CCHI.weights)).to_numpy(float)
    out: dict = {"records": len(inc), "police_generated_records": int(pg.sum()),
                 "police_generated_harm_share_all": float(harm[pg].sum() / harm.sum())}
    print(f"\n{name}: {len(inc)} records, {pg.mean():.1%} police-generated; police-generated share of all CCHI "
          f"harm {out['police_generated_harm_share_all']:.1%} (as-of {as_of:%Y-%m-%d})")
    print(f"{'model':<24}{'top':>4}  {'records':>8}  {'CCHI harm':>9}  {'score':>6}  {'cells >50%':>10}  "
          f"{'max cell':>8}  {'same top cells as default':>25}")
    base_top: dict[int, set] = {}
    # the simple alternative: a plain count of every record, each weighing 1, no decay, no smoothing
    ones = {c: 1.0 for c in CCHI.weights}
    # the weighted score: the ranking whose parts can be split by record (police_generated_share needs it)
    w = "weighted"
    models = (("default (0.05)", HotspotModel(ranker=w)),
              ("enforcement_weight=1", HotspotModel(enforcement_weight=1.0, ranker=w)),
              ("enforcement_weight=0", HotspotModel(enforcement_weight=0.0, ranker=w)),
              ("record count", HotspotModel(harm=ones, asb_weight=1.0, enforcement_weight=1.0, volume_weight=0.0,
                                            half_life_days=float("inf"), smoothing=0.0, ranker=w)))
    for label, model in models:
        model.fit(inc)
        cells = police_generated_share(model.score(as_of))
        cell_of = model.grid_.cell_ids(*model.grid_.index(inc["x_m"].to_numpy(), inc["y_m"].to_numpy()))
        for top in (20, 50):
            sel = select_hotspots(cells, top=top)
            ids = set(sel["cell_id"])
            base_top.setdefault(top, ids)
            inside = np.isin(cell_of, list(ids))
            r = {"records": float(pg[inside].mean()),
                 "harm": float(harm[inside & pg].sum() / harm[inside].sum()),
                 "score": float(sel["score_police_generated"].sum() / sel["score"].sum()),
                 "cells_gt50": int((sel["police_generated_share"] > 0.5).sum()),
                 "max_cell_share": float(sel["police_generated_share"].max()),
                 "overlap_with_default": len(ids & base_top[top]) / top}
            out[f"{label.split(' (')[0].replace(' ', '_')}_top{top}"] = r
            print(f"{label:<24}{top:>4}  {r['records']:>8.1%}  {r['harm']:>9.1%}  {r['score']:>6.1%}  "
                  f"{r['cells_gt50']:>10}  {r['max_cell_share']:>8.1%}  {r['overlap_with_default']:>25.0%}")
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--no-real", action="store_true", help="skip the real-data shares")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    result: dict = {"simulation": simulation(args.seeds, args.days)}
    result["model_weights"] = model_weight_loop(args.seeds, min(args.days, 365))
    result["simulation_s"] = round(time.perf_counter() - t, 2)
    if not args.no_real:
        result["leicestershire_2022"] = real_shares("Leicestershire 2022 (Jul-Aug)", LEIC)
        if ESSEX.is_dir():
            result["essex_2025"] = real_shares("Essex 2025", ESSEX)
        else:
            print(f"\nEssex 2025 skipped: {ESSEX} is not present")
    print(json.dumps(result, allow_nan=False))  # half_life_days null = no decay
    return result


if __name__ == "__main__":
    main()

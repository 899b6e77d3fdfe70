"""Choose the HotspotModel defaults by a sweep over ALL backtest folds (not the last one), and test
alternative ideas for the ranking against the same yardstick.

Usage: python benchmarks/hotspot_sweep.py [DATA_DIR] [--quick] [--ideas] | --national [--workers=N]
       [--rankers=auto,harm,...] [--check-years]

``--national`` compares the rankings (default ``auto`` and each fixed ``ranker``, ``blend`` the default;
``--rankers=a,b,...``: the first runs as the model, the rest as variants) on every force-year in
../shared (``--check-years`` adds Essex 2024 and 2018-19, which took no part in choosing the default),
each force-year's backtest (6 folds) one task on a Dask LocalCluster (the machinery of ``patrol-planner
backtest --by-force``), and prints model / best baseline per force-year and budget.

Sweep: for every parameter combination the model is fitted once on the whole table and scored at each
fold's as-of (``score`` only counts records with ``occurred_from < as_of``, so this equals fitting per
fold); each fold is evaluated exactly as :func:`patrol_planner.hotspots.backtest.backtest` does. The
objective is the mean, over the three area budgets, of the model's mean harm captured divided by the best
baseline's (the baselines come from one full backtest run). Prints the top settings, the best objective
per parameter value, the shipped defaults' row and their generalisation checks, then a JSON line.

``--ideas`` (instead of the sweep) scores each alternative of ``docs/hotspots.md`` ("What else was
tried") on Essex and on the check sets, as model / best baseline harm captured per budget and folds
won, plus two ceilings for this model family: per-category weights fitted in-sample to the target months
themselves (non-negative least squares), and the shipped model given every other month of the table,
future ones included (leave-one-month-out).
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from patrol_planner.hotspots.backtest import (
    CEILING,
    DEFAULT_BUDGETS,
    Fold,
    StudyArea,
    backtest,
    evaluate_ranking,
    make_folds,
)
from patrol_planner.hotspots.grid import pack, unpack
from patrol_planner.hotspots.harm import ASB, CCHI, ENFORCEMENT_CATEGORIES, HarmWeights, target_harm_weights
from patrol_planner.hotspots.model import HotspotModel, mean_decay
from patrol_planner.incidents.schema import POLICE_UK_CATEGORIES

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "raw" / "policeuk-essex-2018"

GRID = {
    "ranker": ["weighted"],  # the sweep tunes the weighted score's parameters
    "cell_size_m": [100.0, 150.0],
    "half_life_days": [90.0, 180.0, 365.0, 730.0, float("inf")],
    "asb_weight": [0.0, 50.0, 100.0, 200.0],
    "enforcement_weight": [0.05],
    "volume_weight": [0.0, 30.0, 60.0, 100.0],
    "smoothing": [0.0, 0.1, 0.25],
}
QUICK = {
    "ranker": ["weighted"],
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
_NS_PER_DAY = 86_400e9


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
    best = {b: per.loc[b].drop(["model", CEILING]).max() for b in per.index}
    return {f"{b:g}": round(float(per.loc[b, "model"] / best[b]), 4) for b in per.index}


# -- the ideas ------------------------------------------------------------------------------------------
#: A scorer maps (fold, incident table restricted to the fold's training records) to 100 m ``ix, iy, score``.
Scorer = Callable[[Fold, pd.DataFrame], tuple[np.ndarray, np.ndarray, np.ndarray]]
_CODES = {c: i for i, c in enumerate(POLICE_UK_CATEGORIES)}
_TARGET = target_harm_weights()  # victim harm per category; 0 for ASB, drugs, weapons


def _records(train: pd.DataFrame, as_of: pd.Timestamp, half_life_days: float = 365.0):  # noqa: ANN202
    """Per-record cell keys (100 m), category codes, decay and month index (0 = last month) of ``train``."""
    codes = pd.Categorical(train["category"].astype(object), categories=list(POLICE_UK_CATEGORIES)).codes
    now = as_of.value / _NS_PER_DAY
    t0 = pd.to_datetime(train["occurred_from"]).to_numpy("datetime64[ns]").astype(np.int64) / _NS_PER_DAY
    t1 = np.minimum(pd.to_datetime(train["occurred_to"]).to_numpy("datetime64[ns]").astype(np.int64) / _NS_PER_DAY,
                    now)
    ix = np.floor(train["x_m"].to_numpy(float) / 100.0).astype(np.int64)
    iy = np.floor(train["y_m"].to_numpy(float) / 100.0).astype(np.int64)
    month = np.floor((now - t0) / 30.44).astype(np.int64)
    return pack(ix, iy), np.asarray(codes, np.int64), mean_decay(t0, t1, now, half_life_days), month


def _model(**params: object) -> Scorer:
    def run(fold: Fold, train: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = HotspotModel(**{"ranker": "weighted", **params}).fit(train).score(fold.as_of)
        return c["ix"].to_numpy(), c["iy"].to_numpy(), c["score"].to_numpy()
    return run


def tempered_harm(alpha: float) -> HarmWeights:
    """CCHI weights raised to ``alpha``, rescaled so the mean over the victim types is unchanged [days]."""
    v = CCHI.vector()
    victim = _TARGET > 0
    scale = v[victim].mean() / (v[victim] ** alpha).mean()
    return HarmWeights({c: float(w**alpha * scale) for c, w in zip(POLICE_UK_CATEGORIES, v, strict=True)},
                       name=f"cchi^{alpha:g}")


def _shrunk_harm(k: float, vol: float = 60.0, asb: float = 100.0) -> Scorer:
    """Empirical Bayes: volume rate x (harm per victim crime shrunk to the area mean with ``k`` crimes)."""
    def run(fold: Fold, train: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key, code, d, _ = _records(train, fold.as_of)
        keys, inv = np.unique(key, return_inverse=True)
        victim = _TARGET[code] > 0
        volume = np.where(code == _CODES[ASB], asb / vol, np.where(np.isin(code, [_CODES[c] for c in
                          ENFORCEMENT_CATEGORIES]), 0.0, 1.0))
        h = np.bincount(inv, weights=d * _TARGET[code])
        n = np.bincount(inv, weights=d * victim)
        r = np.bincount(inv, weights=d * volume)
        hpc = (h + k * h.sum() / n.sum()) / (n + k)
        ix, iy = unpack(keys)
        return ix, iy, r * (hpc + vol)
    return run


def _with_cell_factor(base: Scorer, factor: Callable[[Fold, pd.DataFrame, np.ndarray, np.ndarray, np.ndarray],
                                                      np.ndarray]) -> Scorer:
    def run(fold: Fold, train: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ix, iy, s = base(fold, train)
        return ix, iy, factor(fold, train, ix, iy, s)
    return run


def _parent_share(beta: float, parent_m: float) -> Scorer:
    """Multi-scale: each 100 m cell's score plus ``beta`` x its aligned parent block's total."""
    f = int(round(parent_m / 100.0))

    def add(fold: Fold, train: pd.DataFrame, ix: np.ndarray, iy: np.ndarray, s: np.ndarray) -> np.ndarray:
        _, inv = np.unique(pack(np.floor_divide(ix, f), np.floor_divide(iy, f)), return_inverse=True)
        return s + beta * np.bincount(inv, weights=s)[inv]
    return _with_cell_factor(_model(), add)


def _persistence(g: float) -> Scorer:
    """Score x (share of the training months in which the cell had any record) ** g."""
    def mul(fold: Fold, train: pd.DataFrame, ix: np.ndarray, iy: np.ndarray, s: np.ndarray) -> np.ndarray:
        key, _, _, month = _records(train, fold.as_of)
        keys, inv = np.unique(key, return_inverse=True)
        active = np.bincount(np.unique(inv * 1000 + month) // 1000, minlength=len(keys)) / (month.max() + 1)
        pos = np.searchsorted(keys, pack(ix, iy))
        return s * active[pos] ** g
    return _with_cell_factor(_model(), mul)


def _enforcement_as_volume() -> Scorer:
    """Drugs and weapons records count as volume (``volume_weight`` days each) like other crimes."""
    w = CCHI.replace({c: 60.0 / 0.05 + CCHI[c] for c in ENFORCEMENT_CATEGORIES}, name="cchi+enf-volume")
    return _model(harm=w)


IDEAS: dict[str, Scorer] = {
    "shipped defaults": _model(),
    "tempered harm alpha 0.75": _model(harm=tempered_harm(0.75)),
    "tempered harm alpha 0.5": _model(harm=tempered_harm(0.5)),
    "tempered 0.75, volume 30, smoothing 0.25, half-life 730": _model(
        harm=tempered_harm(0.75), volume_weight=30.0, smoothing=0.25, half_life_days=730.0),
    "shrunk harm per crime k=5": _shrunk_harm(5.0),
    "shrunk harm per crime k=20": _shrunk_harm(20.0),
    "parent 200 m share 0.05": _parent_share(0.05, 200.0),
    "parent 300 m share 0.05": _parent_share(0.05, 300.0),
    "parent 300 m share 0.1": _parent_share(0.1, 300.0),
    "persistence g=0.5": _persistence(0.5),
    "persistence g=1": _persistence(1.0),
    "drugs and weapons as volume": _enforcement_as_volume(),
    "no decay": _model(half_life_days=float("inf")),
    "half-life 180 d": _model(half_life_days=180.0),
    "half-life 730 d": _model(half_life_days=730.0),
}


def _nnls_ceiling(inc: pd.DataFrame, folds: list[Fold]) -> Scorer:
    """Per-category weights fitted to the target months themselves (in-sample: an upper bound)."""
    from scipy.optimize import nnls

    xs, ys = [], []
    for f in folds:
        key, code, d, _ = _records(inc[inc["occurred_from"] < f.as_of], f.as_of)
        keys, inv = np.unique(key, return_inverse=True)
        x = np.zeros((len(keys), len(POLICE_UK_CATEGORIES)))
        np.add.at(x, (inv, code), d)
        tk, tinv = np.unique(pack(np.floor(f.target_x_m / 100.0), np.floor(f.target_y_m / 100.0)), return_inverse=True)
        th = np.bincount(tinv, weights=f.target_harm)
        pos = np.minimum(np.searchsorted(tk, keys), len(tk) - 1)
        xs.append(x)
        ys.append(np.where(tk[pos] == keys, th[pos], 0.0))
    w, _ = nnls(np.vstack(xs), np.concatenate(ys))

    def run(fold: Fold, train: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key, code, d, _ = _records(train, fold.as_of)
        keys, inv = np.unique(key, return_inverse=True)
        ix, iy = unpack(keys)
        return ix, iy, np.bincount(inv, weights=d * w[code])
    return run


def evaluate_idea(scorer: Scorer, inc: pd.DataFrame, folds: list[Fold], study: StudyArea, base: pd.DataFrame,
                  *, loo: bool = False) -> dict[str, object]:
    """Model / best baseline mean harm captured per budget, and folds on which it beats every baseline."""
    rows = []
    for f in folds:
        if loo:  # every other month, future ones included: what more data of the same kind could give
            end = f.as_of + pd.offsets.MonthBegin(1)
            train = inc[(inc["occurred_from"] < f.as_of) | (inc["occurred_from"] >= end)]
            ix, iy, s = _model(half_life_days=float("inf"))(Fold(f.month, pd.Timestamp("2100-01-01"), train,
                                                                 f.target_x_m, f.target_y_m, f.target_harm), train)
        else:
            ix, iy, s = scorer(f, inc[inc["occurred_from"] < f.as_of])
        rows += evaluate_ranking(ix, iy, s, 100.0, f, study, DEFAULT_BUDGETS, ())
    r = pd.DataFrame(rows)
    per = r.groupby("budget").harm_captured.mean()
    best = base.groupby(["budget", "method"]).harm_captured.mean().groupby("budget").max()
    fold_best = base.pivot_table(index="fold", columns="budget", values="harm_captured", aggfunc="max")
    won = (r.pivot_table(index="fold", columns="budget", values="harm_captured") > fold_best).sum()
    return {"ratio": [round(float(per[b] / best[b]), 3) for b in per.index], "folds_won": won.astype(int).tolist()}


def ideas(path: Path) -> dict:
    """Score every idea and both ceilings on Essex and the check sets."""
    sets = {"essex-2018": load(path)}
    for name, (folder, pattern) in CHECK_SETS.items():
        if folder.is_dir():
            sets[name] = load(folder, pattern)
    out: dict[str, dict] = {}
    for set_name, inc in sets.items():
        folds = make_folds(inc, 4)
        study = StudyArea.from_points(inc["x_m"].to_numpy(float), inc["y_m"].to_numpy(float))
        base = backtest(inc, folds=[f.month for f in folds], top_ns=())
        base = base[~base.method.isin(["model", CEILING]) & (base.selection == "area")]
        scorers = {**IDEAS, "ceiling: per-category weights fitted in-sample": _nnls_ceiling(inc, folds)}
        for name, sc in scorers.items():
            out.setdefault(name, {})[set_name] = evaluate_idea(sc, inc, folds, study, base)
        out.setdefault("ceiling: all other months, future included", {})[set_name] = evaluate_idea(
            IDEAS["no decay"], inc, folds, study, base, loo=True)
    print("model / best baseline mean harm captured at 0.1%, 1%, 5% [folds won]")
    for name, per_set in out.items():
        cells = "  ".join(f"{s[:5]} {v['ratio']} {v['folds_won']}" for s, v in per_set.items())
        print(f"{name:<58} {cells}")
    print(json.dumps(out))
    return out


#: Every force-year in ../shared for ``--national``: label -> (force slug in the file names, sources).
RAW = DEFAULT_DATA.parent
NATIONAL_SETS: dict[str, tuple[str, list[Path]]] = {
    "essex-2018": ("essex", [RAW / "policeuk-essex-2018"]),
    "essex-2025": ("essex", [RAW / "policeuk-essex-2025"]),
    "leicestershire-2022": ("leicestershire", [RAW / "policeuk-leicestershire-2022"]),
    **{f"{z.name.removesuffix('-2025.zip')}-2025": (z.name.removesuffix("-2025.zip"), [z])
       for z in sorted((RAW / "policeuk-2025-eastern").glob("*.zip"))},
}
#: Force-years kept out of the choice of the default (``--check-years``): checks, not targets.
CHECK_YEARS: dict[str, tuple[str, list[Path]]] = {
    "essex-2024 (check)": ("essex", [RAW / "policeuk-essex-2024"]),
    "essex-2018-19 (check)": ("essex", [RAW / "policeuk-essex-2018-19"]),
}
#: The rankings compared by ``--national`` besides the automatic choice (run as the ``model`` method).
RANKERS = {"harm": {"ranker": "harm"}, "shrunk": {"ranker": "shrunk"}, "weighted": {"ranker": "weighted"},
           "learned": {"ranker": "learned"}, "blend": {"ranker": "blend"}}


def national(argv: list[str]) -> dict:
    """Every ranking on every force-year in ../shared, one Dask task per force-year (LocalCluster,
    ``--workers N``, default 2; ``--workers 0`` = plain loop): model / best baseline per budget."""
    from patrol_planner.hotspots.backtest import model_margin
    from patrol_planner.hotspots.national import backtest_jobs

    workers = int(next((a.split("=")[1] for a in argv if a.startswith("--workers=")), "2"))
    names = next((a.split("=")[1].split(",") for a in argv if a.startswith("--rankers=")), ["auto", *RANKERS])
    variants = {n: {"ranker": n} for n in names[1:]}
    sets = {**NATIONAL_SETS, **(CHECK_YEARS if "--check-years" in argv else {})}
    jobs = {k: (f, [str(p) for p in src]) for k, (f, src) in sets.items() if all(p.exists() for p in src)}
    t0 = time.perf_counter()
    nat = backtest_jobs(jobs, folds=6, model_params={"ranker": names[0]}, variants=variants, workers=workers,
                        on_done=lambda o: print(f"{o['force']}: " + (f"FAILED: {o['error']}" if "error" in o
                                                                  else f"{o['seconds']:.0f} s"), flush=True))
    rows = []
    for label, res in nat.results.items():
        for m in ["model", *(f"model_{v}" for v in variants)]:
            sub = res[(res.method == m) | ~res.method.str.startswith("model")].copy()
            sub.loc[sub.method == m, "method"] = "model"
            for r in model_margin(sub).itertuples():
                rows.append({"data": label, "ranking": names[0] if m == "model" else m.removeprefix("model_"),
                             "budget": r.budget, "ratio": r.ratio, "folds_won": r.folds_won, "n_folds": r.n_folds,
                             "model": r.model, "best_baseline": r.best_baseline, "ceiling": r.ceiling})
    out = pd.DataFrame(rows)
    wide = out.pivot_table(index=["data", "ranking"], columns="budget", values="ratio").round(3)
    pd.set_option("display.width", 200)
    print(wide.to_string())
    print("\nmean ratio over force-years:")
    print(out.groupby(["ranking", "budget"]).ratio.mean().unstack().round(3).to_string())
    print("\nforce-years with ratio < 1.00 (of", out.data.nunique(), "):")
    print((out.assign(lose=out.ratio < 1.0).groupby(["ranking", "budget"]).lose.sum().unstack()).to_string())
    chosen = {k: [r["method"] for r in v] for k, v in nat.meta["model_rankings"].items()}
    print(f"\n{names[0]} per fold:", chosen)
    summary = {"benchmark": "hotspot_sweep --national", "wall_s": round(time.perf_counter() - t0, 1),
               "ratios": {f"{r.data}|{r.ranking}|{r.budget:g}": round(r.ratio, 4) for r in out.itertuples()},
               "auto_choices": chosen}
    print(json.dumps(summary))
    return summary


def main(argv: list[str]) -> dict:
    args = [a for a in argv if not a.startswith("--")]
    path = Path(args[0]) if args else DEFAULT_DATA
    if "--ideas" in argv:
        return ideas(path)
    if "--national" in argv:
        return national(argv)
    grid = QUICK if "--quick" in argv else GRID
    inc = load(path)
    folds = make_folds(inc, 4)
    study = StudyArea.from_points(inc["x_m"].to_numpy(float), inc["y_m"].to_numpy(float))
    base = backtest(inc, folds=[f.month for f in folds], top_ns=())
    base = base[~base.method.isin(["model", CEILING]) & (base.selection == "area")]
    best_base = base.groupby(["budget", "method"]).harm_captured.mean().groupby("budget").max()
    fold_best = base.pivot_table(index=["fold"], columns=["budget"], values="harm_captured", aggfunc="max")
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

"""Alternatives to the default ranking (blend) that were measured and not kept.

Usage: python benchmarks/ranking_ideas.py [--workers=N] [--sets=a,b,...] [--ideas=LWHS,L2WHS,...]

Every force-year in ../shared (the nine the default was chosen on, the two check years, and each 2025
force's January-June, 3 folds) is backtested once for its 11 baselines; then each idea below ranks the
same folds from the records before each fold's as-of, and is scored as model / best baseline harm
captured at 0.1%, 1% and 5% of the area (the yardstick of ``patrol-planner backtest``), with the folds on
which it beats every baseline. One process per force-year (``--workers``, default 2).

Ideas (parts of the blend: L learned prediction, W weighted score, H past harm, S shrunk harm; each part
rescaled to L's total, equal shares, as the product does):

* ``LWHS``: the default;
* ``LHS`` / ``LWS``: without the weighted score / without past harm;
* ``LcWHS``: the learned part predicts next month's *count* of harm-bearing crimes, times the cell's
  shrunk harm per crime (a lower-variance target than harm itself);
* ``LrWHS``: the learned part with wider-area features (crimes, last-3-month crimes, ASB and harm in the
  rings of cells 200 m and 300 m away: a kernel of a few hundred metres);
* ``L2WHS``: the learned part trained on two months' harm as the target (months ``j`` and ``j+1``: less
  noise per row, one training month fewer);
* ``LbWHS``: the learned part as the mean of 5 fits, each drawing half the features per split (bagging
  against the trees' variance; 5 times the fitting);
* short-history fallback (1-2 training months, every 2025 force's Jan-Mar and Jun-Aug, 2 folds, and
  Leicestershire 2022): ``S`` (the default) against ``S+W`` (shrunk and weighted in equal shares).

Prints a line per force-year and idea, the means and the count of force-years below 1.00, then a JSON
line.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from hotspot_sweep import CHECK_YEARS, NATIONAL_SETS, evaluate_idea
from short_history import _window

from patrol_planner.hotspots.backtest import CEILING, StudyArea, backtest, make_folds
from patrol_planner.hotspots.features import CellHistory
from patrol_planner.hotspots.grid import pack, unpack
from patrol_planner.hotspots.harm import target_harm_weights
from patrol_planner.hotspots.learned import LearnedRanker
from patrol_planner.hotspots.model import HotspotModel
from patrol_planner.hotspots.ranking import _history, _on
from patrol_planner.hotspots.shrunk import _ASB_CODE, shrunk_harm
from patrol_planner.incidents import ingest

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"


class _VariantRanker(LearnedRanker):
    """The learned ranker with extra features and/or a different target (benchmark only)."""

    rings: tuple[int, ...] = ()
    count_target = False
    target_months = 1  # >1: the target is the harm of that many months from j (a less noisy target)
    bags = 1  # >1: the mean of that many fits, each on a random half of the features (variance down)

    def _extra(self, h: CellHistory, as_of: pd.Timestamp, rows: np.ndarray) -> np.ndarray:
        if not self.rings:
            return np.zeros((len(rows), 0), np.float32)
        m = h.n_before(as_of)
        c = h.counts[:, :m]
        crime = np.ones(c.shape[2], bool)
        crime[_ASB_CODE] = False
        w3 = min(3, m)
        v = np.column_stack([c[:, :, crime].sum((1, 2)) / m, c[:, -w3:][:, :, crime].sum((1, 2)) / w3,
                             c[:, :, _ASB_CODE].sum(1) / m, h.harm[:, :m].sum(1) / m])
        pad = np.vstack([v, np.zeros((1, v.shape[1]))])
        return np.hstack([pad[_ring(h, r)].sum(1) for r in self.rings])[rows].astype(np.float32)

    def _target(self, h: CellHistory, rows: np.ndarray, j: int) -> np.ndarray:
        if self.count_target:
            return h.counts[rows, j][:, target_harm_weights() > 0].sum(1).astype(float)
        return h.harm[rows, j]

    def fit(self, history: CellHistory, as_of: pd.Timestamp) -> _VariantRanker:
        from sklearn.ensemble import HistGradientBoostingRegressor
        from threadpoolctl import threadpool_limits

        m = history.n_before(as_of)
        span = self.target_months if m - self.target_months >= 1 else 1  # too few months: one-month target
        xs, ys = [], []
        for j in range(1, m - span + 1):
            t = history.months[j].to_timestamp()
            rows, x = history.features(t)
            xs.append(np.hstack([x, self._extra(history, t, rows)]))
            ys.append(sum(self._target(history, rows, j + k) for k in range(span)))
        x_all, y_all = np.vstack(xs), np.concatenate(ys)
        with threadpool_limits(1):
            self.regressors_ = [HistGradientBoostingRegressor(
                loss="poisson", max_iter=self.max_iter, learning_rate=self.learning_rate,
                max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=self.min_samples_leaf,
                l2_regularization=self.l2_regularization, early_stopping=False, random_state=b,
                max_features=1.0 if self.bags == 1 else 0.5,
            ).fit(x_all, y_all) for b in range(self.bags)]
        self.regressor_ = self.regressors_[0]
        self.history_, self.as_of_ = history, as_of
        return self

    def _predict(self, x: np.ndarray) -> np.ndarray:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return np.mean([r.predict(x) for r in self.regressors_], axis=0)

    def scores(self, as_of: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
        h = self.history_
        rows, x = h.features(as_of)
        pred = self._predict(np.hstack([x, self._extra(h, as_of, rows)]))
        if self.count_target:  # expected crimes x the cell's shrunk harm per crime
            sh = shrunk_harm(h, as_of)
            n = h.counts[:, : h.n_before(as_of)][:, :, np.arange(h.counts.shape[2]) != _ASB_CODE].sum((1, 2))
            # shrunk score / crimes = (h + k mu) / (n + k), the shrunk harm per crime (smoothing 0)
            ratio = np.where(n > 0, sh.score / np.maximum(n, 1.0), sh.mean_harm_per_crime)
            pred = pred * ratio[rows]
        return h.keys[rows], pred


_RINGS: dict[tuple[bytes, int], np.ndarray] = {}


def _ring(h: CellHistory, r: int) -> np.ndarray:
    """Rows of the cells at Chebyshev distance ``r`` of each cell (``len(keys)`` where empty)."""
    key = (hashlib.sha1(h.keys.tobytes()).digest(), r)  # not id(h): ids are reused once freed
    if key not in _RINGS:
        ix, iy = unpack(h.keys)
        nc = len(h.keys)
        offs = [(dx, dy) for dx in range(-r, r + 1) for dy in range(-r, r + 1) if max(abs(dx), abs(dy)) == r]
        out = np.full((nc, len(offs)), nc, np.int64)
        for j, (dx, dy) in enumerate(offs):
            k = pack(ix + dx, iy + dy)
            pos = np.minimum(np.searchsorted(h.keys, k), nc - 1)
            out[:, j] = np.where(h.keys[pos] == k, pos, nc)
        _RINGS[key] = out
    return _RINGS[key]


#: The learned-ranker variants: part name -> settings of :class:`_VariantRanker`.
LEARNED = {"L": {}, "Lc": {"count_target": True}, "Lr": {"rings": (2, 3)}, "L2": {"target_months": 2},
           "Lb": {"bags": 5}}


def _parts(fold, train: pd.DataFrame, want: set[str]) -> dict[str, tuple[np.ndarray, np.ndarray] | None]:  # noqa: ANN001
    """The parts ``want`` needs for one fold: (keys, scores), L* None when nothing can be learned."""
    model = HotspotModel(ranker="weighted").fit(train)
    hist = _history(model)  # the product's own binning of the police records
    month = fold.as_of.to_period("M").to_timestamp()
    m = hist.n_before(month)
    sh = shrunk_harm(hist, month, float(model.smoothing))
    out: dict[str, tuple[np.ndarray, np.ndarray] | None] = {
        "W": model.weighted_totals(fold.as_of), "H": (hist.keys, hist.harm[:, :m].sum(1).astype(float)),
        "S": (sh.keys, sh.score), **dict.fromkeys(LEARNED)}
    if LearnedRanker.can_train(hist, month):
        for name in want & set(LEARNED):
            r = type("V", (_VariantRanker,), LEARNED[name])().fit(hist, month)
            out[name] = r.scores(month)
    return out


def _blend(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.unique(np.concatenate([k for k, _ in parts]))
    ref = parts[0][1].sum()
    return keys, sum(_on(keys, k, v) * (ref / max(v.sum(), 1e-12)) for k, v in parts) / len(parts)


IDEAS = {"LWHS": ("L", "W", "H", "S"), "LHS": ("L", "H", "S"), "LWS": ("L", "W", "S"),
         "LcWHS": ("Lc", "W", "H", "S"), "LrWHS": ("Lr", "W", "H", "S"), "L2WHS": ("L2", "W", "H", "S"),
         "LbWHS": ("Lb", "W", "H", "S"), "S": ("S",), "S+W": ("S", "W")}
FALLBACK_IDEAS = ("S", "S+W")


def _scorer(parts_of: dict, idea: str):  # noqa: ANN202
    def run(fold, train):  # noqa: ANN001, ANN202
        p = parts_of[fold.month]
        names = IDEAS[idea]
        if p[names[0]] is None:  # nothing to learn from: the product's short-history fallback
            names = ("S",)
        keys, s = _blend([p[n] for n in names])
        ix, iy = unpack(keys)
        return ix, iy, s
    return run


def run_set(label: str, inc: pd.DataFrame, n_folds: int, ideas: tuple[str, ...]) -> dict[str, dict]:
    folds = make_folds(inc, n_folds)
    study = StudyArea.from_points(inc["x_m"].to_numpy(float), inc["y_m"].to_numpy(float))
    base = backtest(inc, folds=[f.month for f in folds], top_ns=(), model_params={"ranker": "weighted"})
    base = base[~base.method.isin(["model", CEILING]) & (base.selection == "area")]
    want = {p for i in ideas for p in IDEAS[i]}
    parts_of = {f.month: _parts(f, inc[inc["occurred_from"] < f.as_of], want) for f in folds}
    return {i: evaluate_idea(_scorer(parts_of, i), inc, folds, study, base) for i in ideas}


def _job(spec: tuple[tuple[str, str, list[str], str | None, int, int, bool], tuple[str, ...] | None]
         ) -> tuple[str, dict]:
    (label, force, src, start, months, n_folds, fallback), only = spec
    inc = ingest(src, force=force).incidents
    if start is not None:
        inc = _window(inc, start, months)
    ideas = FALLBACK_IDEAS if fallback else tuple(i for i in IDEAS if i not in FALLBACK_IDEAS)
    ideas = tuple(i for i in ideas if only is None or i in only)
    t0 = time.perf_counter()
    out = run_set(label, inc, n_folds, ideas)
    print(f"  {label}: {time.perf_counter() - t0:.0f} s", flush=True)
    return label, out


def specs() -> list[tuple[str, str, list[str], str | None, int, int, bool]]:
    out = []
    for label, (force, src) in {**NATIONAL_SETS, **CHECK_YEARS}.items():
        if all(p.exists() for p in src):
            out.append((label, force, [str(p) for p in src], None, 0, 6, False))
    for label, (force, src) in NATIONAL_SETS.items():
        if label.endswith("-2025") and all(p.exists() for p in src):
            out.append((f"{label} Jan-Jun", force, [str(p) for p in src], "2025-01", 6, 3, False))
            for start in ("2025-01", "2025-06"):
                out.append((f"{label} {start[5:]}+3 (short)", force, [str(p) for p in src], start, 3, 2, True))
    leic = RAW / "policeuk-leicestershire-2022"
    if leic.is_dir():
        out.append(("leicestershire-2022 (short)", "leicestershire", [str(leic)], None, 0, 1, True))
    return out


def _summary(results: dict[str, dict], groups: dict[str, list[str]]) -> dict:
    summ: dict = {}
    for group, labels in groups.items():
        for idea in {i for lab in labels for i in results[lab]}:
            r = np.array([results[lab][idea]["ratio"] for lab in labels])
            summ.setdefault(group, {})[idea] = {"mean": r.mean(0).round(4).tolist(), "below_1": (r < 1).sum(0).tolist()}
    return summ


def main(argv: list[str]) -> dict:
    if not RAW.is_dir():
        sys.exit(f"ranking_ideas: {RAW} not found (the shared data are needed)")
    workers = int(next((a.split("=")[1] for a in argv if a.startswith("--workers=")), 2))
    want = next((a.split("=")[1].split(",") for a in argv if a.startswith("--sets=")), None)
    only = next((tuple(a.split("=")[1].split(",")) for a in argv if a.startswith("--ideas=")), None)
    todo = [s for s in specs() if (want is None or s[0] in want) and (only is None or not s[6]
                                                                       or set(only) & set(FALLBACK_IDEAS))]
    todo.sort(key=lambda s: -sum(Path(p).stat().st_size if Path(p).is_file() else
                                 sum(f.stat().st_size for f in Path(p).rglob("*") if f.is_file()) for p in s[2]))
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(workers, 1)) as pool:
        results = dict(pool.map(_job, [(s, only) for s in todo]))
    labels = [s[0] for s in specs() if s[0] in results]
    for label in labels:
        for idea, v in results[label].items():
            print(f"{label:34s} {idea:6s} {v['ratio']} {v['folds_won']}")
    groups = {"nine": [lab for lab in labels if lab in NATIONAL_SETS],
              "checks": [lab for lab in labels if lab in CHECK_YEARS],
              "jan-jun": [lab for lab in labels if lab.endswith("Jan-Jun")],
              "short": [lab for lab in labels if lab.endswith("(short)")]}
    groups = {g: v for g, v in groups.items() if v}
    summ = _summary(results, groups)
    print("\nmodel / best baseline at 0.1 / 1 / 5%: mean, force-years below 1.00")
    for group, per in summ.items():
        for idea in sorted(per):
            print(f"{group:8s} {idea:6s} mean {per[idea]['mean']}  below 1.00 {per[idea]['below_1']}")
    out = {"benchmark": "ranking_ideas", "wall_s": round(time.perf_counter() - t0, 1), "summary": summ,
           "per_set": results}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])

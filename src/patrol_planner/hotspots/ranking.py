"""Which ranking orders the cells: the weighted score, plain past harm, the learned ranker, a blend, or
the force's own automatic choice among them.

:class:`~patrol_planner.hotspots.model.HotspotModel` always computes its harm- and recency-weighted score
(and its breakdowns); :func:`rerank` then replaces the score with the chosen ranking's and rescales every
breakdown column by the same factor per cell, so the parts still sum to the score and keep the weighted
score's proportions. Candidates (simplest first):

* ``harm``: all prior victim harm in the cell (CCHI days; ASB, drugs and weapons 0), police records only;
* ``weighted``: the model's own weighted score;
* ``learned``: :class:`~patrol_planner.hotspots.learned.LearnedRanker` (police records only; needs
  :data:`~patrol_planner.hotspots.learned.MIN_TRAIN_MONTHS` training months);
* ``shrunk``: past harm with each cell's harm per crime shrunk towards the force's mean
  (:mod:`~patrol_planner.hotspots.shrunk`), plus the neighbours' share as for the weighted score;
* ``blend``: the learned prediction, the weighted score, past harm and shrunk harm in equal shares (each
  rescaled to the learned prediction's total) [harm-days/month].

With too few months to learn from (:data:`~patrol_planner.hotspots.learned.MIN_TRAIN_MONTHS`), ``learned``
and ``blend`` use ``shrunk`` instead, with the intelligence part of the weighted score added when the
records hold intelligence (so intelligence-only cells keep a score, as under ``blend``).

``auto`` runs :func:`~patrol_planner.hotspots.choice.choose_ranking` over :data:`AUTO_CANDIDATES` on the
months before the as-of; with no month to test on it uses :data:`AUTO_DEFAULT`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.hotspots.choice import choose_ranking
from patrol_planner.hotspots.evaluation import DEFAULT_BUDGETS, STUDY_CELL_M
from patrol_planner.hotspots.features import CellHistory
from patrol_planner.hotspots.grid import pack, unpack
from patrol_planner.hotspots.learned import LearnedRanker
from patrol_planner.hotspots.shrunk import ShrunkHarm, shrunk_harm
from patrol_planner.incidents.schema import POLICE_UK_CATEGORIES

# The model is passed in, never imported: it imports this module, and stages below it must not import it
# back. ``HotspotModel`` below is that fitted model (typed Any to keep the import one way).
HotspotModel = Any

RANKERS: tuple[str, ...] = ("auto", "weighted", "harm", "shrunk", "learned", "blend")
#: Candidates of the automatic choice, simplest first (ties go to the earlier one).
AUTO_CANDIDATES: tuple[str, ...] = ("harm", "shrunk", "weighted", "learned", "blend")
#: The ranking used when the automatic choice has no earlier month to test on.
AUTO_DEFAULT = "shrunk"
#: What ``learned`` and ``blend`` use with too few months to learn from: on 15 short-history windows (1-2
#: training months; ``benchmarks/short_history.py``) it beat the weighted score on average at every budget.
SHORT_HISTORY = "shrunk"
_NEEDS_LEARNING = ("learned", "blend")
_NS_PER_DAY = 86_400e9


@dataclass
class _State:
    """One as-of's ranking: method, why, and the scores on the model's grid."""

    method: str
    reason: str
    choice: dict[str, Any] | None = None
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    score: np.ndarray = field(default_factory=lambda: np.zeros(0))
    learned: LearnedRanker | None = None
    shrunk: ShrunkHarm | None = None

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "reason": self.reason, "choice": self.choice}
        if self.shrunk is not None:
            out["shrunk"] = {"prior_crimes": round(self.shrunk.prior_crimes, 3),
                             "mean_harm_per_crime": round(self.shrunk.mean_harm_per_crime, 3)}
        if self.learned is not None:
            out["learned"] = {"params": self.learned.get_params(), "train_months": self.learned.train_months_,
                              "n_train_rows": self.learned.n_train_rows_}
        return out


def _history(model: HotspotModel) -> CellHistory:
    """Police records (no intelligence) of the fitted model, binned on its grid (cached on the model)."""
    cached = getattr(model, "_history_cache", None)
    if cached is not None:
        return cached
    r = model.records_[~model.records_["intel"].to_numpy()]
    s = float(model.cell_size_m)
    frame = pd.DataFrame({
        "category": np.asarray(POLICE_UK_CATEGORIES, dtype=object)[r["cat"].to_numpy()],
        "x_m": (r["ix"].to_numpy() + 0.5) * s, "y_m": (r["iy"].to_numpy() + 0.5) * s,
        "occurred_from": pd.to_datetime(np.round(r["t0_d"].to_numpy() * _NS_PER_DAY).astype(np.int64)),
    })
    hist = CellHistory.from_incidents(frame, s)
    model._history_cache = hist
    return hist


class _Candidates:
    """The candidate rankings of one fitted model, each as-of -> (keys, scores), learned fits cached."""

    def __init__(self, model: HotspotModel, hist: CellHistory) -> None:
        self.model, self.hist = model, hist
        self.learners: dict[pd.Timestamp, LearnedRanker] = {}
        self.shrunks: dict[pd.Timestamp, ShrunkHarm] = {}

    def available(self, name: str, as_of: pd.Timestamp) -> bool:
        return name not in _NEEDS_LEARNING or LearnedRanker.can_train(self.hist, as_of)

    def learner(self, as_of: pd.Timestamp) -> LearnedRanker:
        month = pd.Timestamp(as_of).to_period("M").to_timestamp()
        if month not in self.learners:  # training depends only on the as-of's month
            self.learners[month] = LearnedRanker(cell_size_m=float(self.model.cell_size_m)).fit(self.hist, month)
        return self.learners[month]

    def shrunk(self, as_of: pd.Timestamp) -> ShrunkHarm:
        month = pd.Timestamp(as_of).to_period("M").to_timestamp()
        if month not in self.shrunks:  # like training, it reads whole months before the as-of's
            self.shrunks[month] = shrunk_harm(self.hist, month, float(self.model.smoothing))
        return self.shrunks[month]

    def __call__(self, name: str, as_of: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
        if name == "weighted":
            return self.model.weighted_totals(as_of)
        if name == "harm":
            m = self.hist.n_before(as_of)
            return self.hist.keys, self.hist.harm[:, :m].sum(axis=1).astype(float)
        if name == "shrunk":
            sh = self.shrunk(as_of)
            return sh.keys, sh.score
        pred = self.learner(as_of).predict(as_of, drivers=False)
        lk, ls = pred["key"].to_numpy(), pred["score"].to_numpy(float)
        if name == "learned":
            return lk, ls
        # four rankings in equal shares, in the learned ranker's unit [harm-days/month]: past harm orders
        # the very top (the busiest cells, where the trees' leaves are coarsest), shrunk harm the long tail
        # (cells with one or two crimes), the learned prediction the middle; the weighted score carries
        # intelligence and anti-social behaviour
        parts = [(lk, ls), self.model.weighted_totals(as_of), self("harm", as_of), self("shrunk", as_of)]
        keys = np.union1d(lk, parts[1][0])
        total = sum(_on(keys, k, v) * (ls.sum() / max(v.sum(), 1e-12)) for k, v in parts) / len(parts)
        return keys, total


def _on(keys: np.ndarray, k2: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """``s2`` looked up at ``keys`` (0 where absent); ``k2`` need not be sorted."""
    o = np.argsort(k2)
    k2, s2 = k2[o], s2[o]
    pos = np.minimum(np.searchsorted(k2, keys), max(len(k2) - 1, 0))
    return np.where(k2[pos] == keys, s2[pos], 0.0) if len(k2) else np.zeros(len(keys))


def _study_area_m2(hist: CellHistory) -> float:
    ix, iy = unpack(hist.keys)
    s = hist.cell_size_m
    sq = np.unique(pack(np.floor((ix + 0.5) * s / STUDY_CELL_M), np.floor((iy + 0.5) * s / STUDY_CELL_M)))
    return float(len(sq)) * STUDY_CELL_M**2


def state(model: HotspotModel, as_of: pd.Timestamp) -> _State:
    """The ranking at ``as_of`` (cached per as-of on the model)."""
    if as_of in model._rankings:
        return model._rankings[as_of]
    method = model.ranker
    if method == "weighted":
        st = _State("weighted", "set by the ranker parameter")
    elif model.grid != "square" or (model.origin is not None and tuple(model.origin) != (0.0, 0.0)):
        st = _State("weighted", "only the weighted ranking is available on a hex grid or a moved origin")
    elif not (~model.records_["intel"].to_numpy()).any():
        st = _State("weighted", "no police records (intelligence only): only the weighted ranking applies")
    else:
        st = _ranked(model, as_of, method)
    model._rankings[as_of] = st
    return st


def _ranked(model: HotspotModel, as_of: pd.Timestamp, method: str) -> _State:
    hist = _history(model)
    cands = _Candidates(model, hist)
    choice = None
    if method == "auto":
        ch = choose_ranking({n: (lambda t, n=n: cands(n, t)) for n in AUTO_CANDIDATES}, hist, as_of,
                            budgets=DEFAULT_BUDGETS, study_area_m2=_study_area_m2(hist),
                            n_folds=int(model.auto_folds), default=AUTO_DEFAULT, available=cands.available)
        method, reason, choice = ch.chosen, ch.reason, ch.to_dict()
    else:
        reason = "set by the ranker parameter"
    if not cands.available(method, as_of):
        reason = (f"{method} needs more months to learn from than the data have before "
                  f"{as_of:%Y-%m-%d}: the {SHORT_HISTORY} ranking instead")
        keys, score = _with_intelligence(model, as_of, *cands(SHORT_HISTORY, as_of))
        return _State(SHORT_HISTORY, reason, choice, keys=keys, score=score, shrunk=cands.shrunk(as_of))
    if method == "weighted":
        return _State("weighted", reason, choice)
    keys, score = cands(method, as_of)
    learned = cands.learner(as_of) if method in _NEEDS_LEARNING else None
    shrunk = cands.shrunk(as_of) if method in ("shrunk", "blend") else None
    return _State(method, reason, choice, keys=keys, score=score, learned=learned, shrunk=shrunk)


def _with_intelligence(model: HotspotModel, as_of: pd.Timestamp, keys: np.ndarray,
                       score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``score`` plus the intelligence part of the weighted score, rescaled by the ratio of ``score``'s
    total to the weighted score's police part (so intelligence weighs against police records as it does
    in the weighted score). Unchanged when no intelligence is in the records."""
    ik, iv, police_total = model.intelligence_totals(as_of)
    if len(ik) == 0:
        return keys, score
    scale = float(score.sum()) / police_total if police_total > 0 else 1.0
    out = np.union1d(keys, ik)
    return out, _on(out, keys, score) + _on(out, ik, iv * scale)


def ranking_record(model: HotspotModel) -> dict[str, Any]:
    """What ranked the cells at the model's last :meth:`score`: ``requested`` (the ``ranker`` parameter),
    ``used`` (the ranking that ran) and ``why`` (e.g. the short-history fallback), for provenance records.

    A parameter alone would claim ``blend`` for a plan ranked by the ``shrunk`` fallback.
    """
    info = getattr(model, "ranking_", None) or {}
    used = str(info.get("method", model.ranker))
    return {"requested": str(model.ranker), "used": used, "why": str(info.get("reason", ""))}


def rerank(model: HotspotModel, cells: pd.DataFrame, as_of: pd.Timestamp,
           parts: Sequence[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Apply the ranking at ``as_of`` to the weighted score table; ``parts`` are the breakdown columns
    rescaled with the score. Returns the table and the ranking info."""
    st = state(model, as_of)
    cells = cells.copy()
    cells["top_drivers"] = ""
    if st.method == "weighted":
        return cells, st.info()
    keys = pack(cells["ix"].to_numpy(), cells["iy"].to_numpy())
    new = _on(keys, st.keys, st.score)
    old = cells["score"].to_numpy(float)
    factor = np.where(old > 0, new / np.where(old > 0, old, 1.0), 0.0)
    for c in ("score", *parts):
        cells[c] = cells[c].to_numpy(float) * factor
    if st.learned is not None:
        pred = st.learned.predict(as_of)
        at = pd.Series(pred["top_drivers"].to_numpy(), index=pred["key"].to_numpy())
        cells["top_drivers"] = at.reindex(keys).fillna("").to_numpy(object)
    attrs = dict(cells.attrs)
    cells = cells.sort_values(["score", "cell_id"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    cells["rank"] = np.arange(1, len(cells) + 1)
    cells.attrs = attrs
    return cells, st.info()


def explain_ranking(model: HotspotModel, out: dict[str, Any], key: int, as_of: pd.Timestamp) -> dict[str, Any]:
    """Rescale a weighted explanation to the ranking at ``as_of`` and add ``ranking`` and ``drivers``."""
    st = state(model, as_of)
    out = dict(out)
    out["ranking"] = st.method
    out["drivers"] = {}
    if st.method == "weighted":
        return out
    new = float(_on(np.array([key], np.int64), st.keys, st.score)[0])
    f = new / out["score"] if out["score"] > 0 else 0.0
    for k in ("score", "score_own", "score_neighbours", "score_restricted_intelligence"):
        out[k] = out[k] * f
    out["by_category"] = {c: v * f for c, v in out["by_category"].items()}
    out["by_age_band"] = {c: v * f for c, v in out["by_age_band"].items()}
    if st.learned is not None:
        out["drivers"] = st.learned.drivers(key, as_of)
    return out

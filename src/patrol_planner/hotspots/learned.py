"""A learned ranker: next month's victim harm per cell from lagged counts of every crime type and ASB.

:class:`LearnedRanker` fits scikit-learn's ``HistGradientBoostingRegressor`` with Poisson loss (the
target is a non-negative, over-dispersed harm total) on the force's own earlier months: for every month
``j`` before the as-of's month that has at least one earlier month, the features of
:meth:`patrol_planner.hotspots.features.CellHistory.features` at the first day of ``j`` against the
victim harm recorded in ``j`` (CCHI days; ASB, drugs, weapons 0). No record of the as-of's month or later
is read. The prediction [harm-days/month] is the cell's score.

Explanations: a cell's *drivers* are the drop in its predicted harm when one group of its features (a
crime type's own and neighbour counts, the harm totals, or the history length) is set to "no records"
[harm-days/month]. They are not additive (boosted trees interact) but say which past records made the
cell rank where it does.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.errors import HotspotError, NotFittedError
from patrol_planner.hotspots.features import CellHistory, feature_group, feature_names
from patrol_planner.hotspots.grid import unpack

# A rolling backtest refits on the same earlier months many times (each fold's automatic choice tests the
# months before it); a fit depends only on the parameters and the counts it reads, so identical inputs
# reuse the fitted regressor. Bounded, per process.
_FIT_CACHE: OrderedDict[str, tuple[Any, list[str], int]] = OrderedDict()
_FIT_CACHE_SIZE = 16

#: Fewest training months (months with an earlier month before the as-of) for a learned ranking.
MIN_TRAIN_MONTHS = 2


class LearnedRanker:
    """Poisson gradient boosting of next month's cell harm on lagged counts (square cells).

    Parameters
    ----------
    cell_size_m : float
        Square cell side [m].
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization
        Passed to ``sklearn.ensemble.HistGradientBoostingRegressor`` (loss ``"poisson"``).
    random_state : int
        Seed of the regressor (it only matters if early stopping were on; kept for determinism).

    Attributes
    ----------
    history_ : CellHistory
        The binned records (counts per cell, month and category).
    regressor_ : HistGradientBoostingRegressor
        The fitted regressor.
    as_of_ : pandas.Timestamp
        The as-of it was trained for (training months all before its month).
    train_months_ : list of str
        Target months of the training rows (``YYYY-MM``).
    n_train_rows_ : int
        Training rows (cell-months).
    """

    def __init__(self, *, cell_size_m: float = 100.0, max_iter: int = 150, learning_rate: float = 0.05,
                 max_leaf_nodes: int = 15, min_samples_leaf: int = 20, l2_regularization: float = 1.0,
                 random_state: int = 0) -> None:
        self.cell_size_m = cell_size_m
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    _PARAMS = ("cell_size_m", "max_iter", "learning_rate", "max_leaf_nodes", "min_samples_leaf",
               "l2_regularization", "random_state")

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, as given."""
        return {k: getattr(self, k) for k in self._PARAMS}

    @staticmethod
    def can_train(history: CellHistory, as_of: Any) -> bool:
        """Whether ``history`` has at least :data:`MIN_TRAIN_MONTHS` training months before ``as_of``, with
        some victim harm in their training rows."""
        m = history.n_before(pd.Timestamp(as_of))
        if m - 1 < MIN_TRAIN_MONTHS:
            return False
        # a training row is a cell seen before month j; some row must have harm in j
        seen = np.cumsum(history.counts[:, : m - 1].sum(axis=2), axis=1) > 0
        return any(history.harm[seen[:, j - 1], j].sum() > 0 for j in range(1, m))

    def fit(self, history: CellHistory, as_of: Any) -> LearnedRanker:
        """Train on every month before ``as_of``'s month that has an earlier month.

        Parameters
        ----------
        history : CellHistory
            Binned records (the cell size must match ``cell_size_m``).
        as_of : date-like
            The moment of prediction; its month and later are never read.
        """
        from sklearn.ensemble import HistGradientBoostingRegressor
        from threadpoolctl import threadpool_limits

        as_of = pd.Timestamp(as_of)
        if float(history.cell_size_m) != float(self.cell_size_m):
            raise HotspotError(f"history has {history.cell_size_m:g} m cells, the ranker {self.cell_size_m:g} m")
        m = history.n_before(as_of)
        if m - 1 < MIN_TRAIN_MONTHS:
            raise HotspotError(
                f"a learned ranking needs {MIN_TRAIN_MONTHS} months with an earlier month before "
                f"{as_of:%Y-%m-%d}; the data have {max(m - 1, 0)}"
            )
        key = self._cache_key(history, m)
        hit = _FIT_CACHE.get(key)
        if hit is not None:
            _FIT_CACHE.move_to_end(key)
            self.regressor_, self.train_months_, self.n_train_rows_ = hit
            self.history_, self.as_of_ = history, as_of
            return self
        Xs, ys, months = [], [], []
        for j in range(1, m):
            rows, X = history.features(history.months[j].to_timestamp())
            Xs.append(X)
            ys.append(history.harm[rows, j])
            months.append(str(history.months[j]))
        y = np.concatenate(ys)
        if not (y > 0).any():
            raise HotspotError("no victim harm in any training month: nothing to learn")
        with threadpool_limits(1):  # see _predict
            reg = HistGradientBoostingRegressor(
                loss="poisson", max_iter=int(self.max_iter), learning_rate=float(self.learning_rate),
                max_leaf_nodes=int(self.max_leaf_nodes), min_samples_leaf=int(self.min_samples_leaf),
                l2_regularization=float(self.l2_regularization), early_stopping=False,
                random_state=self.random_state,
            ).fit(np.vstack(Xs), y)
        self.history_ = history
        self.regressor_ = reg
        self.as_of_ = as_of
        self.train_months_ = months
        self.n_train_rows_ = int(len(y))
        _FIT_CACHE[key] = (reg, months, self.n_train_rows_)
        while len(_FIT_CACHE) > _FIT_CACHE_SIZE:
            _FIT_CACHE.popitem(last=False)
        return self

    def _cache_key(self, history: CellHistory, m: int) -> str:
        """Hash of everything training reads: the parameters and the cells' counts of the months before."""
        rows = np.flatnonzero(history.counts[:, :m].sum(axis=(1, 2)) > 0)
        h = hashlib.sha1(repr(sorted(self.get_params().items())).encode())
        h.update(str(history.months[0]).encode())
        for a in (history.keys[rows], history.counts[rows, :m]):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    def _check_fitted(self) -> None:
        if not hasattr(self, "regressor_"):
            raise NotFittedError("this LearnedRanker is not fitted yet: call fit(history, as_of) first")

    def predict(self, as_of: Any = None, *, drivers: bool = True) -> pd.DataFrame:
        """Predicted victim harm of every cell with a record before ``as_of``'s month.

        Returns
        -------
        pandas.DataFrame
            ``key, ix, iy, score`` [harm-days/month] and, with ``drivers``, ``top_drivers`` (the three
            feature groups whose removal lowers the prediction most, comma-separated), unsorted.
        """
        self._check_fitted()
        as_of = self.as_of_ if as_of is None else pd.Timestamp(as_of)
        rows, X = self._features(as_of)
        pred = self._predict(X)
        keys = self.history_.keys[rows]
        ix, iy = unpack(keys)
        if not drivers:
            return pd.DataFrame({"key": keys, "ix": ix, "iy": iy, "score": pred})
        drops, groups = self._all_drops(as_of, X, pred)
        top = np.argsort(-drops, axis=1, kind="stable")[:, :3]
        names = np.asarray(groups, dtype=object)
        labels = [",".join(names[t][drops[i, t] > 0]) for i, t in enumerate(top)]
        return pd.DataFrame({"key": keys, "ix": ix, "iy": iy, "score": pred, "top_drivers": labels})

    def _features(self, as_of: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
        # explanations ask for one cell at a time: keep the last as-of's matrix
        month = pd.Timestamp(as_of).to_period("M")
        cached = getattr(self, "_feat_cache", None)
        if cached is None or cached[0] != month:
            self._feat_cache = (month, *self.history_.features(as_of))
        return self._feat_cache[1], self._feat_cache[2]

    def _predict(self, X: np.ndarray) -> np.ndarray:
        from threadpoolctl import threadpool_limits

        # One OpenMP thread: on a shared or busy machine (and in one-thread Dask workers) spinning OpenMP
        # threads slow boosting down many times over, and one thread makes sums bit-reproducible.
        with threadpool_limits(1):
            return self.regressor_.predict(X)

    def _all_drops(self, as_of: pd.Timestamp, X: np.ndarray,
                   pred: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
        """Drops of every cell at ``as_of``'s month, computed once and kept: each explanation then reads
        its row instead of predicting 15 times for one cell."""
        month = pd.Timestamp(as_of).to_period("M")
        cached = getattr(self, "_drops_cache", None)
        if cached is None or cached[0] != month:
            self._drops_cache = (month, *self._drops(X, self._predict(X) if pred is None else pred))
        return self._drops_cache[1], self._drops_cache[2]

    def _drops(self, X: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, list[str]]:
        from threadpoolctl import threadpool_limits

        names = feature_names()
        grp = [feature_group(n) for n in names]
        groups = [g for g in dict.fromkeys(grp) if g != "history"]
        out = np.zeros((len(X), len(groups)))
        with threadpool_limits(1):  # once for all groups: entering it costs milliseconds (see _predict)
            for j, g in enumerate(groups):
                cols = [i for i, gg in enumerate(grp) if gg == g]
                Xg = X.copy()
                Xg[:, cols] = 0.0
                out[:, j] = pred - self.regressor_.predict(Xg)
        return out, groups

    def drivers(self, key: int, as_of: Any = None) -> dict[str, float]:
        """Drop in one cell's predicted harm when each feature group is removed [harm-days/month]."""
        self._check_fitted()
        as_of = self.as_of_ if as_of is None else pd.Timestamp(as_of)
        rows, X = self._features(as_of)
        at = np.flatnonzero(self.history_.keys[rows] == key)
        if len(at) == 0:
            return {}
        drops, groups = self._all_drops(as_of, X)
        return {g: float(d) for g, d in sorted(zip(groups, drops[at[0]], strict=True), key=lambda t: -t[1])}

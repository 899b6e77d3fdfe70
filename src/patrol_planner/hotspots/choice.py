"""Per-force automatic choice of ranking, by the force's own rolling backtest.

For an as-of in month ``T``, every candidate ranks cells at the first day of each of the ``n_folds``
months before ``T`` (using only records before that day), and each ranking is scored by the victim harm
(CCHI days; ASB, drugs, weapons 0) it captures in that month at each area budget. A candidate's merit is
the mean, over folds and budgets, of its harm captured divided by the best candidate's on that fold and
budget [-]. The candidate with the highest merit wins; any candidate within ``tie_tolerance`` of it that
is simpler (earlier in the candidate order) wins instead, so a complex method must beat a simple one by
more than noise. Nothing of month ``T`` or later is read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.hotspots.features import CellHistory

#: A candidate: as-of -> (packed cell keys, scores) on the history's grid.
Candidate = Callable[[pd.Timestamp], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class RankingChoice:
    """The outcome of :func:`choose_ranking` (recorded in the scores' provenance).

    Attributes
    ----------
    chosen : str
        Winning candidate.
    reason : str
        One sentence: why (or "no earlier months to test on: default").
    merit : dict of str to float
        Each candidate's mean harm-captured ratio to the per-fold best [-].
    folds : list of str
        The months tested (``YYYY-MM``).
    harm_captured : dict of str to list of float
        Per candidate, mean harm captured over budgets on each fold [-].
    """

    chosen: str
    reason: str
    merit: dict[str, float] = field(default_factory=dict)
    folds: list[str] = field(default_factory=list)
    harm_captured: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy."""
        return {"chosen": self.chosen, "reason": self.reason, "merit": dict(self.merit), "folds": list(self.folds),
                "harm_captured": {k: list(v) for k, v in self.harm_captured.items()}}


def captured(keys: np.ndarray, score: np.ndarray, target: np.ndarray, history: CellHistory,
             n_cells: Sequence[float]) -> np.ndarray:
    """Share of ``target`` harm (per ``history.keys`` row) in the best ``n`` cells of a ranking [-].

    The last cell counts pro rata, so fractional budgets are exact; cells scoring <= 0 are never chosen;
    ties go to the lower cell key.
    """
    total = float(target.sum())
    keep = score > 0
    keys, score = keys[keep], score[keep]
    order = np.lexsort((keys, -score))
    pos = np.searchsorted(history.keys, keys[order])
    pos_c = np.minimum(pos, len(history.keys) - 1)
    h = np.where(history.keys[pos_c] == keys[order], target[pos_c], 0.0)
    cum = np.concatenate([[0.0], np.cumsum(h)])
    out = []
    for n in n_cells:
        k = min(int(np.floor(n)), len(h))
        frac = (n - k) * h[k] if k < len(h) else 0.0
        out.append((cum[k] + frac) / total if total > 0 else np.nan)
    return np.asarray(out)


def choose_ranking(
    candidates: Mapping[str, Candidate],
    history: CellHistory,
    as_of: pd.Timestamp,
    *,
    budgets: Sequence[float],
    study_area_m2: float,
    n_folds: int = 3,
    tie_tolerance: float = 0.002,
    default: str | None = None,
    available: Callable[[str, pd.Timestamp], bool] | None = None,
) -> RankingChoice:
    """Pick the candidate that captured most harm on the force's own recent months.

    Parameters
    ----------
    candidates : mapping of str to callable
        Simplest first; each maps an as-of to ``(keys, scores)`` on ``history``'s grid.
    history : CellHistory
        The force's binned records (targets come from its ``harm``).
    as_of : pandas.Timestamp
        The moment of the real ranking; its month and later are never read.
    budgets : sequence of float
        Area budgets, shares of ``study_area_m2`` [-].
    study_area_m2 : float
        Study area [m²] the budgets refer to.
    n_folds : int
        Months before the as-of's month to test on (fewer if the data are shorter).
    tie_tolerance : float
        Merit margin a less simple candidate must beat [-].
    default : str, optional
        Chosen when there is no earlier month to test on; default the first candidate.
    available : callable, optional
        ``available(name, fold_as_of)`` False skips a candidate on a fold (e.g. too little history to learn).
    """
    names = list(candidates)
    default = default or names[0]
    m = history.n_before(as_of)
    fold_idx = [j for j in range(max(1, m - n_folds), m)]
    cell_m2 = float(history.cell_size_m) ** 2
    n_cells = [b * study_area_m2 / cell_m2 for b in budgets]
    per: dict[str, list[np.ndarray]] = {n: [] for n in names}
    used: list[str] = []
    for j in fold_idx:
        t = history.months[j].to_timestamp()
        ok = [n for n in names if available is None or available(n, t)]
        if len(ok) < len(names):
            continue  # compare like with like: every candidate on every tested month
        target = history.harm[:, j]
        if target.sum() <= 0:
            continue
        for n in names:
            keys, sc = candidates[n](t)
            per[n].append(captured(keys, sc, target, history, n_cells))
        used.append(str(history.months[j]))
    if not used:
        return RankingChoice(chosen=default, reason="no earlier month on which every candidate could be "
                             f"tested: the default ({default})")
    cap = {n: np.vstack(per[n]) for n in names}  # folds x budgets
    best = np.maximum.reduce([cap[n] for n in names])
    with np.errstate(invalid="ignore", divide="ignore"):
        merit = {n: float(np.nanmean(np.where(best > 0, cap[n] / best, 1.0))) for n in names}
    top = max(merit.values())
    chosen = next(n for n in names if merit[n] >= top - tie_tolerance)
    reason = (f"captured most victim harm on {len(used)} recent month(s) ({', '.join(used)}), mean ratio to the "
              f"best {merit[chosen]:.4f}" + (" (simplest within the tie tolerance)" if merit[chosen] < top else ""))
    return RankingChoice(chosen=chosen, reason=reason, merit=merit, folds=used,
                         harm_captured={n: [float(v) for v in cap[n].mean(axis=1)] for n in names})

"""Shrunk past harm: each cell's crimes times its harm per crime, shrunk towards the force's mean.

A cell's raw past harm (:data:`ranking` candidate ``harm``) is its crime count times its own harm per
crime. With few crimes that ratio is mostly chance: one violent offence makes a quiet cell look worse than
a street with ten thefts, and in the long tail of a 5% selection such cells decide the ranking. The
empirical-Bayes estimate (the gamma-Poisson / beta-binomial idea, Efron & Morris 1975) keeps the count but
pulls the harm per crime towards the force-wide mean in proportion to how little the cell has seen:

    shrunk_c = n_c * (h_c + k * mu) / (n_c + k)

``n_c`` crimes and ``h_c`` harm [CCHI days] in the cell before the as-of, ``mu`` the force's harm per
crime, and ``k`` the prior strength in crimes, estimated from the data by the method of moments: the
variance of one crime's harm (within cells) over the variance of cells' true mean harm per crime (between
cells, after removing the sampling part). A cell with many crimes keeps its own ratio; a cell with one
counts about like any crime. The neighbours' mean, times the model's ``smoothing`` share, is added as for
the weighted score.

Hand-written because it is four lines of arithmetic on the binned history; no library estimator takes
per-cell compositions of weighted categories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from patrol_planner.hotspots.features import CellHistory
from patrol_planner.hotspots.harm import ASB, target_harm_weights
from patrol_planner.incidents.schema import POLICE_UK_CATEGORIES

_ASB_CODE = POLICE_UK_CATEGORIES.index(ASB)


@dataclass(frozen=True)
class ShrunkHarm:
    """Shrunk past harm of every cell of a :class:`CellHistory` at one as-of.

    Attributes
    ----------
    keys : numpy.ndarray
        Packed cell keys (those of the history).
    score : numpy.ndarray
        Shrunk harm plus ``smoothing`` x the neighbours' mean [harm-days over the months before].
    prior_crimes : float
        ``k``, the prior strength [crimes] (method of moments).
    mean_harm_per_crime : float
        ``mu``, the force's harm per crime [harm-days / crime].
    """

    keys: np.ndarray
    score: np.ndarray
    prior_crimes: float
    mean_harm_per_crime: float


def shrunk_harm(history: CellHistory, as_of: pd.Timestamp, smoothing: float = 0.0) -> ShrunkHarm:
    """Empirical-Bayes shrunk harm of the months before ``as_of``'s month, per cell.

    Parameters
    ----------
    history : CellHistory
        Binned police records (square cells).
    as_of : pandas.Timestamp
        Moment of prediction; its month and later are not read.
    smoothing : float
        Share of the mean of the eight neighbours' shrunk harm added to a cell [-].
    """
    m = history.n_before(as_of)
    crime = np.ones(history.counts.shape[2], bool)
    crime[_ASB_CODE] = False
    c = history.counts[:, :m][:, :, crime].sum(axis=1).astype(float)  # cells x crime types
    w = target_harm_weights()[crime].astype(float)
    n, h = c.sum(axis=1), c @ w
    n_all = max(float(n.sum()), 1.0)
    mu = float(h.sum()) / n_all
    k = _prior_crimes(c, w, n, h, mu, n_all)
    own = n * (h + k * mu) / np.maximum(n + k, 1e-12)
    pad = np.concatenate([own, [0.0]])
    score = own + float(smoothing) * pad[history.neighbours].mean(axis=1)
    # Sums over tables of different shapes (a table with later months, or more cells) differ in the last
    # bits; rounding to a millionth of a harm-day keeps the order of tied cells independent of them.
    score = np.round(score, 6)
    return ShrunkHarm(keys=history.keys, score=score, prior_crimes=k, mean_harm_per_crime=mu)


def _prior_crimes(c: np.ndarray, w: np.ndarray, n: np.ndarray, h: np.ndarray, mu: float, n_all: float) -> float:
    """Method-of-moments prior strength ``k = sigma2 / tau2`` [crimes].

    ``sigma2``: variance of one crime's harm about ``mu``; ``tau2``: crime-weighted variance of the cells'
    observed mean harm per crime, less its expected sampling part ``sigma2 x cells / crimes``, floored so
    that a force whose cells do not differ beyond chance gets a very large ``k`` (counts times ``mu``).
    """
    seen = n > 0
    if not seen.any():
        return 1.0
    sigma2 = float((c @ (w - mu) ** 2).sum()) / n_all
    between = float(np.average((h[seen] / n[seen] - mu) ** 2, weights=n[seen]))
    tau2 = max(between - sigma2 * float(seen.sum()) / n_all, 1e-6 * max(sigma2, 1e-12))
    return float(sigma2 / tau2) if sigma2 > 0 else 1.0

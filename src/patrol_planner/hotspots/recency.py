"""Recency: how much a record still counts, averaged over the interval in which it happened."""

from __future__ import annotations

import numpy as np


def mean_decay(t_from: np.ndarray, t_to: np.ndarray, as_of: float, half_life_days: float) -> np.ndarray:
    """Mean of ``2 ** (-(as_of - t) / half_life_days)`` over ``t`` in ``[t_from, t_to]`` [-].

    Times in days on any common origin; ``t_to`` is clipped to ``as_of``. Exact (closed form); a zero-width
    interval gives the point value. ``half_life_days = inf`` means no decay.
    """
    t_from = np.asarray(t_from, float)
    t_to = np.minimum(np.asarray(t_to, float), as_of)
    if not np.isfinite(half_life_days):
        return np.ones_like(t_from)
    lam = np.log(2.0) / half_life_days
    a = lam * (as_of - t_to)  # age of the newer end, in e-folds
    width = lam * (t_to - t_from)
    # mean of exp(-a - u) over u in [0, width] = exp(-a) * (1 - exp(-width)) / width
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(width > 1e-9, -np.expm1(-width) / width, 1.0 - width / 2.0)
    return np.exp(-a) * frac

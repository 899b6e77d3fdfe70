"""Recency: how much a record still counts, averaged over the interval in which it happened; and how old
the newest record is at the as-of."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from patrol_planner.errors import DataQualityWarning

#: police.uk publishes a month's records some 6-8 weeks after it ends; when the newest police record ended
#: longer than this before the as-of, the ranking is built on stale data and scoring says so [days].
STALE_AFTER_DAYS = 92.0
_NS_PER_DAY = 86_400e9


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


def data_age_days(t_from: np.ndarray, t_to: np.ndarray, police: np.ndarray, as_of: float) -> float:
    """Days from the end of the newest police record that began before ``as_of`` to ``as_of`` (NaN with
    none); times in days since the epoch. Warns (:class:`~patrol_planner.errors.DataQualityWarning`)
    beyond :data:`STALE_AFTER_DAYS`."""
    use = np.asarray(police, bool) & (np.asarray(t_from, float) < as_of)
    if not use.any():
        return float("nan")
    age = float(as_of - min(float(np.asarray(t_to, float)[use].max()), as_of))
    if age > STALE_AFTER_DAYS:
        day = pd.Timestamp(round(as_of * _NS_PER_DAY))
        end = pd.Timestamp(round((as_of - age) * _NS_PER_DAY)) - pd.Timedelta(1, "ns")  # month ends are exclusive
        warnings.warn(f"the newest crime record ends {age:.0f} days before the as-of {day:%Y-%m-%d} (data up to "
                      f"{end:%Y-%m-%d}): the ranking rests on stale data; load the latest months",
                      DataQualityWarning, stacklevel=4)
    return age

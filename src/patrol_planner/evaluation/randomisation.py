"""Randomisation test: the observed effect against the same statistic under re-drawn schedules.

Under the sharp null (patrols change nothing at any spot on any day) the outcomes are fixed and only the
schedule is random, so the p-value is the share of schedules *drawn with the programme's own design*
whose statistic is at least as extreme as the observed one. Re-drawing with the design (not shuffling all
spot-days) keeps its blocking (K of N per day), so the test is exact for that design whatever the
day-to-day swings in crime.

Statistic: ``log(O_t / E_t) - log(O_c / E_c)``, observed over expected on treated and on control
spot-days, where ``E`` comes from one Poisson fit with spot and day-of-week effects and no treatment term
(it does not depend on the schedule, so each re-draw costs one dot product). It estimates the log rate
ratio; the test is two-sided.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from threadpoolctl import threadpool_limits

from patrol_planner.errors import EvaluationError
from patrol_planner.evaluation.countmodel import fixed_effects


@dataclass(frozen=True)
class RandomisationResult:
    """``statistic`` is the observed log rate-ratio statistic; ``p_value`` two-sided, ``n_draws`` re-draws."""

    outcome: str
    statistic: float
    p_value: float
    n_draws: int

    def to_dict(self) -> dict:
        return asdict(self)


def null_expected(table: pd.DataFrame, outcome: str, *, fe: pd.DataFrame | None = None) -> np.ndarray:
    """Expected outcome per spot-day with no treatment term (Poisson, spot + day-of-week effects)."""
    y = table[outcome].to_numpy(float)
    totals = table.groupby("spot_id", sort=False)[outcome].transform("sum").to_numpy(float)
    keep = totals > 0
    mu = np.zeros(len(table))
    if not keep.any():
        return mu
    x = fe[keep] if fe is not None else fixed_effects(table[keep])
    x = x.loc[:, (x != 0).any(axis=0)]
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore")
        mu[keep] = sm.GLM(y[keep], x, family=sm.families.Poisson()).fit().mu
    return mu


def statistic(assign: np.ndarray, y: np.ndarray, mu0: np.ndarray) -> np.ndarray:
    """Log rate-ratio statistic for one assignment (1-d) or many (rows of a 2-d 0/1 matrix)."""
    a = np.atleast_2d(assign).astype(float)
    ot, et = a @ y, a @ mu0
    oc, ec = y.sum() - ot, mu0.sum() - et
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.log(ot / et) - np.log(oc / ec)
    return s if np.ndim(assign) == 2 else s[0]


def randomisation_test(table: pd.DataFrame, reference: np.ndarray, *, outcome: str = "crimes",
                       assign_col: str = "treated", mu0: np.ndarray | None = None) -> RandomisationResult:
    """Two-sided randomisation p-value of the treatment effect on ``outcome``.

    ``reference`` is the (draws x spot-days) matrix from
    :func:`patrol_planner.evaluation.design.reference_matrix`, aligned to ``table``'s rows.
    """
    if reference.ndim != 2 or reference.shape[1] != len(table):
        raise EvaluationError("reference schedules do not match the spot-day table")
    y = table[outcome].to_numpy(float)
    if y.sum() == 0:
        raise EvaluationError(f"no {outcome.replace('_', ' ')} in the programme spots: nothing to test")
    mu0 = null_expected(table, outcome) if mu0 is None else mu0
    obs = float(statistic(table[assign_col].to_numpy(int), y, mu0))
    ref = statistic(reference, y, mu0)
    ref = ref[np.isfinite(ref)]
    if not np.isfinite(obs):
        # no events on one arm: the most extreme possible split
        p = (1 + np.sum(~np.isfinite(statistic(reference, y, mu0)))) / (1 + len(reference))
        return RandomisationResult(outcome, obs, float(min(1.0, p)), len(reference))
    extreme = np.sum(np.abs(ref) >= abs(obs) - 1e-12)
    return RandomisationResult(outcome, obs, float((1 + extreme) / (1 + len(reference))), len(reference))

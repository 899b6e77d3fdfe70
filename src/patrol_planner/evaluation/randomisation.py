"""Randomisation test: the observed effect against the same statistic under re-drawn schedules.

Under the sharp null (patrols change nothing at any spot on any day) the outcomes are fixed and only the
schedule is random, so the p-value is the share of schedules *drawn with the programme's own design*
whose statistic is at least as extreme as the observed one. Re-drawing with the design (not shuffling all
spot-days) keeps its blocking (K of N per day), so the test is exact for that design whatever the
day-to-day swings in crime.

Statistic: ``log(O_t / E_t) - log(O_c / E_c)``, observed over expected on treated and on control
spot-days, where ``E`` comes from one Poisson fit with spot and day-of-week effects and no treatment term
(it does not depend on the schedule, so each re-draw costs one dot product). It estimates the log rate
ratio; the test is two-sided. A re-draw whose statistic is not finite (no events on one arm) counts as at
least as extreme as the observed value (:func:`patrol_planner.evaluation.inference.two_sided_p`).

The place-day headline now comes from :mod:`patrol_planner.evaluation.inference` (one framework for the
estimate, p-value and interval); this O/E statistic is kept for the calibration helpers.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from threadpoolctl import threadpool_limits

from patrol_planner.errors import EvaluationError
from patrol_planner.evaluation.countmodel import kept_fixed_effects
from patrol_planner.evaluation.inference import two_sided_p


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
    x = kept_fixed_effects(table, keep, fe)
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
    # a re-draw with no events on one arm (non-finite statistic) is as extreme as any: counted, never dropped
    p, _ = two_sided_p(obs, statistic(reference, y, mu0))
    return RandomisationResult(outcome, obs, p, len(reference))

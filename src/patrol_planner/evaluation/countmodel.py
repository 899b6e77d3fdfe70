"""The effect as a rate ratio from a count model with spot and day-of-week fixed effects.

Model: ``log E[y_sd] = a_s + b_dow(d) + beta * treated_sd`` (plus any extra 0/1 or numeric terms), fitted
with statsmodels' GLM. The family is chosen from the data:

* Poisson first. Over-dispersion is tested with the Cameron-Trivedi auxiliary regression
  (Cameron & Trivedi 1990: regress ``((y - mu)^2 - y) / mu`` on ``mu`` without intercept; a positive
  slope ``alpha`` with one-sided p < 0.05 means variance ``mu + alpha mu^2``, NB2). Pearson chi2/df is
  reported beside it.
* Negative binomial (NB2, ``alpha`` from that regression) when the counts are over-dispersed.
* Harm is not a count: its model is Poisson quasi-likelihood (the point estimate of a Poisson GLM is
  consistent for any non-negative outcome whose mean is log-linear), with no dispersion test.

Standard errors are cluster-robust by programme day by default. Days are the randomisation blocks and a
day-level shock (weather, an event) hits every spot that day. Clustering by spot was the first choice
(crimes at a spot are correlated over time) but on real data with no patrols it under-covers: with 20
spots of very unequal size (one spot can hold a third of the crimes) there are too few effective clusters,
and the A/A benchmark measured 86% coverage of the nominal 95% interval (NYC thefts, 200 schedules);
clustered by day it measured 95%, heteroskedasticity-robust (``hc0``) 96%. ``se`` selects ``day``,
``spot``, ``hc0`` or ``model``; ``benchmarks/evaluation.py`` measures the choice.
Spots with no crimes at all in the programme carry no information under spot fixed
effects (their effect would be minus infinity) and are left out; their number is reported.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from threadpoolctl import threadpool_limits

from patrol_planner.errors import EvaluationError

#: Pearson chi2/df above this, with the Cameron-Trivedi test significant, switches to negative binomial.
OVERDISPERSION_P = 0.05


@dataclass(frozen=True)
class RateRatio:
    """One effect estimate.

    Attributes
    ----------
    term : str
        The model term (``treated``, ``after_treated``, ``delivered``...).
    rate_ratio, ci_low, ci_high : float
        ``exp(beta)`` and its 95% interval [-].
    p_value : float
        Two-sided Wald p-value from the (cluster-robust) standard error.
    family : str
        ``poisson``, ``negative_binomial`` or ``poisson_quasi`` (harm).
    se : str
        ``cluster(day)``, ``cluster(spot)``, ``hc0`` or ``model``.
    dispersion : float
        Pearson chi2/df of the Poisson fit.
    ct_alpha, ct_p : float
        Cameron-Trivedi NB2 alpha and its one-sided p-value (NaN for harm).
    n_obs, n_spots, spots_dropped : int
        Spot-days and spots in the model; spots left out for having no events.
    treated_total, control_total : float
        Sum of the outcome on spot-days with the term > 0 and = 0.
    """

    term: str
    outcome: str
    rate_ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    family: str
    se: str
    dispersion: float
    ct_alpha: float
    ct_p: float
    n_obs: int
    n_spots: int
    spots_dropped: int
    treated_total: float
    control_total: float

    def to_dict(self) -> dict:
        return asdict(self)


def fixed_effects(table: pd.DataFrame) -> pd.DataFrame:
    """Spot and day-of-week dummies (first level of each dropped) plus a constant."""
    spot = pd.get_dummies(table["spot_id"].astype(str), prefix="spot", drop_first=True, dtype=float)
    dow = pd.get_dummies(table["dow"].astype(int), prefix="dow", drop_first=True, dtype=float)
    x = pd.concat([spot, dow], axis=1)
    x.insert(0, "const", 1.0)
    return x


def kept_fixed_effects(table: pd.DataFrame, keep: np.ndarray, fe: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`fixed_effects` of the rows ``keep`` (spots with events), from ``fe`` of the full table if given.

    Dummies of left-out spots are all zero and are dropped. When the left-out spot was the reference level
    (the first, whose dummy ``fixed_effects`` drops) the remaining spot dummies sum to the constant on every
    row: the design is collinear and the fit returns nonsense (an interval of 0.0013-761 was seen), so one
    more spot dummy is dropped to make that spot the reference.
    """
    if fe is None:
        return fixed_effects(table[keep])
    x = fe[keep]
    x = x.loc[:, (x != 0).any(axis=0)]
    spot_cols = [c for c in x.columns if c.startswith("spot_")]
    if spot_cols and np.allclose(x[spot_cols].to_numpy().sum(axis=1), 1.0):
        x = x.drop(columns=spot_cols[0])
    return x


def cameron_trivedi(y: np.ndarray, mu: np.ndarray) -> tuple[float, float]:
    """NB2 over-dispersion test: (alpha, one-sided p). Cameron & Trivedi (1990), auxiliary OLS."""
    aux = ((y - mu) ** 2 - y) / mu
    fit = sm.OLS(aux, mu).fit()
    alpha = float(fit.params[0])
    t = float(fit.tvalues[0])
    return alpha, float(stats.t.sf(t, fit.df_resid))


#: Standard-error choices: cluster by programme day, by spot, heteroskedasticity-robust, model-based.
SE_KINDS: tuple[str, ...] = ("day", "spot", "hc0", "model")


def _fit(y: np.ndarray, x: pd.DataFrame, family: sm.families.Family, se: str, sub: pd.DataFrame):
    model = sm.GLM(y, x, family=family)
    # One BLAS thread: these are small dense problems, and threads fighting over shared cores made each fit
    # about 12x slower on the team machine.
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore")  # domain warnings for non-integer harm under Poisson are expected
        if se == "model":
            return model.fit()
        if se == "hc0":
            return model.fit(cov_type="HC0")
        groups = pd.factorize(sub["date" if se == "day" else "spot_id"])[0]
        return model.fit(cov_type="cluster", cov_kwds={"groups": groups})


def fit_rate_ratio(table: pd.DataFrame, *, outcome: str = "crimes", terms: Sequence[str] = ("treated",),
                   se: str = "day", family: str = "auto", fe: pd.DataFrame | None = None) -> list[RateRatio]:
    """Fit the fixed-effects count model; one :class:`RateRatio` per term.

    Parameters
    ----------
    table : DataFrame
        Spot-day rows with ``spot_id``, ``dow``, ``outcome`` and each of ``terms``.
    outcome : str
        ``crimes`` / ``ring_crimes`` (counts) or ``harm_days`` / ``ring_harm_days`` [days] (Poisson quasi).
    se : {"day", "spot", "hc0", "model"}
        Standard errors (see module docstring); ``day`` needs a ``date`` column.
    family : {"auto", "poisson", "negative_binomial"}
        ``auto`` tests over-dispersion on counts (see module docstring).
    fe : DataFrame, optional
        Precomputed :func:`fixed_effects` of ``table`` (saves time in simulations).
    """
    if family not in ("auto", "poisson", "negative_binomial"):
        raise EvaluationError(f"family must be auto, poisson or negative_binomial, not {family!r}")
    if se not in SE_KINDS:
        raise EvaluationError(f"se must be one of {', '.join(SE_KINDS)}, not {se!r}")
    totals = table.groupby("spot_id", sort=False)[outcome].transform("sum").to_numpy(float)
    keep = totals > 0
    sub = table[keep]
    n_spots = int(sub["spot_id"].nunique())
    if n_spots < 2 or sub[outcome].sum() == 0:
        raise EvaluationError(f"too few {outcome.replace('_', ' ')} in the programme spots to fit a model")
    for term in terms:
        if sub[term].nunique() < 2:
            raise EvaluationError(f"no variation in {term!r}: every spot-day has the same value")
    x = kept_fixed_effects(table, keep, fe)
    x = pd.concat([sub[list(terms)].astype(float), x], axis=1)
    y = sub[outcome].to_numpy(float)
    is_count = "harm" not in outcome and np.allclose(y, np.round(y))  # harm is never modelled as a count
    pois = _fit(y, x, sm.families.Poisson(), se, sub)
    disp = float(pois.pearson_chi2 / pois.df_resid)
    alpha, ct_p = cameron_trivedi(y, pois.mu) if is_count else (float("nan"), float("nan"))
    use_nb = family == "negative_binomial" or (
        family == "auto" and is_count and ct_p < OVERDISPERSION_P and alpha > 0)
    if use_nb:
        res = _fit(y, x, sm.families.NegativeBinomial(alpha=max(alpha, 1e-6)), se, sub)
        fam = "negative_binomial"
    else:
        res, fam = pois, "poisson" if is_count else "poisson_quasi"
    ci = np.asarray(res.conf_int(0.05))
    out = []
    for i, term in enumerate(terms):
        on = sub[term].to_numpy(float) > 0
        out.append(RateRatio(
            term=term, outcome=outcome, rate_ratio=float(np.exp(res.params.iloc[i])),
            ci_low=float(np.exp(ci[i, 0])), ci_high=float(np.exp(ci[i, 1])), p_value=float(res.pvalues.iloc[i]),
            family=fam, se=se if se in ("hc0", "model") else f"cluster({se})", dispersion=disp,
            ct_alpha=alpha, ct_p=ct_p,
            n_obs=len(sub), n_spots=n_spots, spots_dropped=int(table["spot_id"].nunique() - n_spots),
            treated_total=float(y[on].sum()), control_total=float(y[~on].sum())))
    return out

"""Power of a hot-spot programme: the smallest crime reduction it could detect.

Method
------
The outcome is the count of recorded crimes at a spot on a programme day. Spot ``j`` has a baseline rate
``rate_j`` [records per spot-day] (from its history) and, in the design, ``T_j`` treated and ``C_j``
control days. The test is the stratified (by spot) score test for a common rate ratio on person-time data
(the Mantel-Haenszel-type test of Rothman, Greenland & Lash, *Modern Epidemiology*, 3rd ed., ch. 15):
given spot ``j``'s total count ``n_j``, its treated-day count is Binomial(``n_j``, ``pi_j``) with
``pi_j = RR T_j / (RR T_j + C_j)``; under no effect ``pi0_j = T_j / (T_j + C_j)``. The statistic is

    Z = sum_j (y1_j - n_j pi0_j) / sqrt(phi * sum_j n_j pi0_j (1 - pi0_j))

Stratifying by spot means spots with high and low rates, or with different shares of treated days (the
``harm`` design), never bias the comparison. ``phi`` (``dispersion``) inflates the variance for
overdispersed counts (1 = Poisson). The approximate power at a rate ratio ``RR`` replaces ``n_j`` with its
expectation ``m_j = rate_j (RR T_j + C_j)``:

    power(RR) = Phi((|sum m_j (pi_j - pi0_j)| - z_{1-alpha/2} sqrt(V0)) / sqrt(V1))

with ``V0 = phi sum m_j pi0_j (1 - pi0_j)`` and ``V1 = phi sum m_j pi_j (1 - pi_j)``. The minimum detectable
effect (MDE) is the ``RR < 1`` with ``power(RR) = power`` (root found by Brent's method). The normal
approximation is checked by simulation with seeded Poisson counts (:func:`simulated_power`;
``tests/test_programme_power.py``).

Caveats: police.uk gives a month, not a day, for each crime, so day-to-day overdispersion cannot be
estimated from it (set ``dispersion`` from force data where known); the history rate is taken as the rate
the programme would see without patrols (no trend, no seasonality); the rate counts crimes on the whole
programme day, and an evaluation limited to the patrol window sees fewer crimes and has less power.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm
from scipy.stats import t as student_t

METHOD = ("stratified (by spot) score test for a common rate ratio, treated vs control spot-days; power by "
          "normal approximation with expected counts; MDE = rate ratio below 1 reaching the target power")


def _moments(rate: np.ndarray, treated: np.ndarray, control: np.ndarray, rr: float,
             dispersion: float) -> tuple[float, float, float]:
    t = treated.astype(float)
    c = control.astype(float)
    ok = (t > 0) & (c > 0) & (rate > 0)
    t, c, lam = t[ok], c[ok], rate[ok]
    m = lam * (rr * t + c)
    pi0 = t / (t + c)
    pi1 = rr * t / (rr * t + c)
    eu = float(np.sum(m * (pi1 - pi0)))
    v0 = dispersion * float(np.sum(m * pi0 * (1 - pi0)))
    v1 = dispersion * float(np.sum(m * pi1 * (1 - pi1)))
    return eu, v0, v1


def approximate_power(rate: np.ndarray, treated: np.ndarray, control: np.ndarray, rate_ratio: float, *,
                      alpha: float = 0.05, dispersion: float = 1.0) -> float:
    """Power of the two-sided test at ``rate_ratio`` (normal approximation; see module docstring) [-]."""
    eu, v0, v1 = _moments(np.asarray(rate, float), np.asarray(treated), np.asarray(control), rate_ratio, dispersion)
    if v0 <= 0 or v1 <= 0:
        return float(alpha)
    z = norm.ppf(1 - alpha / 2)
    return float(norm.cdf((abs(eu) - z * np.sqrt(v0)) / np.sqrt(v1)) + norm.cdf((-abs(eu) - z * np.sqrt(v0))
                                                                                 / np.sqrt(v1)))


def minimum_detectable_effect(rate: np.ndarray, treated: np.ndarray, control: np.ndarray, *,
                              power: float = 0.8, alpha: float = 0.05, dispersion: float = 1.0) -> dict[str, Any]:
    """The smallest reduction the design detects with ``power`` at two-sided level ``alpha``.

    Parameters
    ----------
    rate : array
        Baseline rate of each spot [records per spot-day].
    treated, control : array
        Treated and control days of each spot in the design [days].

    Returns
    -------
    dict
        ``mde_rate_ratio`` (treated/control rate, < 1), ``mde_reduction_pct``, ``expected_control_records``
        (over the programme, no effect), ``method`` and, when even a 99.9% reduction would not reach the
        power, ``mde_rate_ratio = None`` with a ``note`` saying so.
    """
    rate = np.asarray(rate, float)
    treated = np.asarray(treated)
    control = np.asarray(control)
    out: dict[str, Any] = {
        "method": METHOD, "power": power, "alpha": alpha, "dispersion": dispersion,
        "expected_records_without_effect": round(float(np.sum(rate * (treated + control))), 3),
    }

    def gap(rr: float) -> float:
        return approximate_power(rate, treated, control, rr, alpha=alpha, dispersion=dispersion) - power

    lo = 1e-3
    if gap(lo) < 0:
        out.update(mde_rate_ratio=None, mde_reduction_pct=None,
                   note=f"too few expected crimes ({out['expected_records_without_effect']:g}) for "
                        f"{power:.0%} power even against a 99.9% reduction; more spots, days or history needed")
        return out
    rr = brentq(gap, lo, 1 - 1e-9, xtol=1e-10)
    out.update(mde_rate_ratio=round(float(rr), 4), mde_reduction_pct=round(100 * (1 - float(rr)), 2))
    return out


def simulated_power(rate: np.ndarray, treated: np.ndarray, control: np.ndarray, rate_ratio: float, *,
                    sims: int = 4000, alpha: float = 0.05, rng: np.random.Generator) -> float:
    """Share of ``sims`` seeded Poisson programmes in which the score test rejects no-effect at ``alpha``.

    Counts are Poisson with mean ``rate_j * T_j * rate_ratio`` (treated) and ``rate_j * C_j`` (control);
    the test is the one whose power :func:`approximate_power` approximates (``dispersion = 1``).
    """
    rate = np.asarray(rate, float)
    t = np.asarray(treated, float)
    c = np.asarray(control, float)
    y1 = rng.poisson(rate * t * rate_ratio, size=(sims, len(rate)))
    y0 = rng.poisson(rate * c, size=(sims, len(rate)))
    n = y1 + y0
    with np.errstate(invalid="ignore", divide="ignore"):
        pi0 = np.where(t + c > 0, t / (t + c), 0.0)
    u = np.sum(y1 - n * pi0, axis=1)
    v = np.sum(n * pi0 * (1 - pi0), axis=1)
    z = np.divide(u, np.sqrt(v), out=np.zeros_like(u, dtype=float), where=v > 0)
    return float(np.mean(np.abs(z) > norm.ppf(1 - alpha / 2)))


def month_level_mde(pre: np.ndarray, post: np.ndarray, *, treated_share: float, power: float = 0.8,
                    alpha: float = 0.05) -> dict[str, Any]:
    """Month-level minimum detectable effect of the pair estimator (``evaluation.monthpanel``), from history.

    ``pre`` and ``post`` are the spots' recorded crimes in two consecutive windows of their history, as long
    as the evaluation's before and during windows (or as long as the history allows). The spread of
    ``log(post / pre)`` across spots holds both count noise (over-dispersed or not) and the spots' diverging
    trends; a spot-control contrast adds its control's, taken as equal. With ``N`` spots and ``N - 1`` df:
    ``MDE_log = (t_{1-alpha/2} + t_{power}) * sqrt(2 var / N)``. A month mixes patrol and other days, so the
    patrol-day fall this needs is the month-level fall divided by ``treated_share`` (K/N; dilution).
    """
    pre = np.asarray(pre, float)
    post = np.asarray(post, float)
    n = len(pre)
    out: dict[str, Any] = {"method": "pair estimator of the month-level evaluation: spread of the spots' own "
                           "log changes between two consecutive history windows, doubled for the control",
                           "treated_share": round(float(treated_share), 4)}
    if n < 3:
        return out | {"month_mde_rate_ratio": None, "note": "fewer than 3 spots: no month-level detectable effect"}
    v = float(np.var(np.log(post + 0.5) - np.log(pre + 0.5), ddof=1))
    mult = student_t.ppf(1 - alpha / 2, n - 1) + student_t.ppf(power, n - 1)
    rr = float(np.exp(-mult * np.sqrt(2 * v / n)))
    day = 1 - (1 - rr) / treated_share if treated_share > 0 else float("nan")
    return out | {"month_mde_rate_ratio": round(rr, 4), "month_mde_reduction_pct": round(100 * (1 - rr), 2),
                  "patrol_day_mde_rate_ratio": round(day, 4) if day > 0 else None,
                  "patrol_day_mde_reduction_pct": round(100 * (1 - day), 2) if day > 0 else None,
                  "spot_log_change_variance": round(v, 5)}

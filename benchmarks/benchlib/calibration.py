"""Calibration of the place-day analysis on real data where the answer is known.

* A/A: real timestamped crimes with no patrols, many schedules drawn from one design. The true effect is
  none, so the 95% interval should contain 1 in about 95% of schedules and the randomisation p-value be
  below 0.05 in about 5%.
* Planted effect: the same, with a known share of the crimes on treated spot-days removed at random
  (binomial thinning). The estimate should recover the share on average, and the share of schedules in
  which the effect is detected should match the design's power, computed analytically here
  (:func:`analytic_power`) rather than by the same simulation.

Used by ``benchmarks/evaluation.py`` (200+ schedules) and the tests (fewer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from patrol_planner import geo
from patrol_planner.evaluation.countmodel import fit_rate_ratio, fixed_effects
from patrol_planner.evaluation.design import KOfNDailyDesign, reference_matrix
from patrol_planner.evaluation.randomisation import null_expected, randomisation_test


def top_cell_spots(incidents: pd.DataFrame, *, cell_m: float, n_spots: int, until: str) -> dict[str, Any]:
    """GeoJSON (EPSG:4326) of the ``n_spots`` grid cells of ``cell_m`` [m] with most incidents before ``until``.

    Spots are chosen on data before the programme, as a force would, so the programme data are out of sample.
    """
    prior = incidents[incidents["occurred_from"] < pd.Timestamp(until)]
    cx = np.floor(prior["x_m"].to_numpy() / cell_m).astype(np.int64)
    cy = np.floor(prior["y_m"].to_numpy() / cell_m).astype(np.int64)
    counts = pd.Series(1, index=pd.MultiIndex.from_arrays([cx, cy])).groupby(level=[0, 1]).sum()
    top = counts.sort_values(ascending=False, kind="stable").head(n_spots)
    feats = []
    for i, ((x, y), n) in enumerate(top.items()):
        xs = np.array([x, x + 1, x + 1, x, x], dtype=float) * cell_m
        ys = np.array([y, y, y + 1, y + 1, y], dtype=float) * cell_m
        lon, lat = geo.to_lonlat(xs, ys, incidents.attrs["crs"])
        ring = [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat, strict=True)]
        feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                      "properties": {"spot_id": f"S{i + 1:02d}", "place": f"cell {i + 1}", "prior_crimes": int(n)}})
    return {"type": "FeatureCollection", "features": feats}


def programme_design(start: date, days: int, *, timezone: str, spot_size_m: float, seed: int) -> dict[str, Any]:
    """A programme design record (the keys :mod:`patrol_planner.programme.record` requires)."""
    return {"start_date": start.isoformat(), "days": days, "timezone": timezone, "day_starts_at": "06:00",
            "patrol_window": {"start": "10:00", "end": "22:00"}, "spot_size_m": spot_size_m,
            "dose": {"visits": 1, "minutes": 15}, "seed": seed}


def k_of_n(spot_ids: list[str], start: date, days: int, k: int) -> KOfNDailyDesign:
    """The K-of-N-per-day design over ``days`` days from ``start``."""
    return KOfNDailyDesign(spot_ids, [start + timedelta(days=i) for i in range(days)], k)


def analytic_power(total_crimes: float, p_treated: float, reduction: float, *, dispersion: float = 1.0,
                   alpha: float = 0.05) -> float:
    """Power of a two-sided test of a rate ratio of ``1 - reduction`` [-] (normal approximation).

    ``total_crimes`` expected in the spots over the programme without patrols; a share ``p_treated`` of
    spot-days is treated. ``Var(log RR) = dispersion * (1/E_t + 1/E_c)`` with ``E_t`` = treated-day crimes
    after the reduction and ``E_c`` = control-day crimes; ``dispersion`` is Pearson chi2/df.
    """
    e_t = total_crimes * p_treated * (1 - reduction)
    e_c = total_crimes * (1 - p_treated)
    se = np.sqrt(dispersion * (1 / e_t + 1 / e_c))
    z = stats.norm.ppf(1 - alpha / 2)
    shift = abs(np.log(1 - reduction)) / se
    return float(stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z))


@dataclass(frozen=True)
class CalibrationResult:
    """Per-schedule estimates and the summary rates."""

    draws: pd.DataFrame
    summary: dict[str, float]


def simulate(table: pd.DataFrame, design: KOfNDailyDesign, *, n_schedules: int, reduction: float = 0.0,
             n_reference: int = 999, seed: int = 2024, se: str = "day",
             compare_se: tuple[str, ...] = ()) -> CalibrationResult:
    """Run the analysis on ``n_schedules`` schedules drawn from ``design``; remove ``reduction`` of treated-day
    crimes at random (0 = A/A). ``table`` is a spot-day table (its own ``treated`` is ignored).
    ``compare_se``: other standard-error choices whose interval coverage is recorded beside (``covers_<se>``)."""
    rng = np.random.default_rng(seed)
    index = pd.MultiIndex.from_arrays([table["date"], table["spot_id"]])
    ref = reference_matrix(design, index, n_reference, seed=seed + 1)
    fe = fixed_effects(table)
    base = table["crimes"].to_numpy(int)
    mu0_base = null_expected(table, "crimes", fe=fe)
    seeds = np.random.SeedSequence(seed + 2).generate_state(n_schedules)
    rows = []
    for s in seeds:
        assign = design.matrix(int(s)).ravel().astype(int)
        y = base.copy()
        if reduction > 0:
            t = assign == 1
            y[t] = rng.binomial(y[t], 1.0 - reduction)
        tab = table.assign(treated=assign, crimes=y)
        r = fit_rate_ratio(tab, outcome="crimes", se=se, fe=fe)[0]
        mu0 = mu0_base if reduction == 0 else null_expected(tab, "crimes", fe=fe)
        rt = randomisation_test(tab, ref, outcome="crimes", mu0=mu0)
        row = {"rate_ratio": r.rate_ratio, "ci_low": r.ci_low, "ci_high": r.ci_high, "wald_p": r.p_value,
               "randomisation_p": rt.p_value, "family": r.family}
        for alt in compare_se:
            a = fit_rate_ratio(tab, outcome="crimes", se=alt, fe=fe)[0]
            row[f"covers_{alt}"] = bool(a.ci_low <= 1.0 - reduction <= a.ci_high)
        rows.append(row)
    d = pd.DataFrame(rows)
    true_rr = 1.0 - reduction
    summary = {
        "schedules": n_schedules, "reduction_planted": reduction,
        "ci_covers_truth": float(((d["ci_low"] <= true_rr) & (true_rr <= d["ci_high"])).mean()),
        "ci_excludes_1": float(((d["ci_high"] < 1) | (d["ci_low"] > 1)).mean()),
        "randomisation_p_below_05": float((d["randomisation_p"] < 0.05).mean()),
        "mean_rate_ratio": float(d["rate_ratio"].mean()),
        "mean_reduction_estimated": float(1 - d["rate_ratio"].mean()),
        "geometric_mean_rate_ratio": float(np.exp(np.log(d["rate_ratio"]).mean())),
        "negative_binomial_share": float((d["family"] == "negative_binomial").mean()),
    }
    for alt in compare_se:
        summary[f"ci_covers_truth_se_{alt}"] = float(d[f"covers_{alt}"].mean())
    return CalibrationResult(draws=d, summary=summary)

"""Power from the pipeline: the detectable effect found by simulating the place-day evaluation itself.

``programme/power.py`` gives a normal approximation at design time. This module checks the design the way
it will be judged: it simulates programmes on the programme's own history (each spot's recorded crimes per
day before the start, ``rate_per_day`` in ``spots.geojson``) and its own design (schedules re-drawn with
:func:`patrol_planner.programme.redraw_design`, blocks and all), plants a rate ratio on treated spot-days,
and runs the headline test of :func:`patrol_planner.evaluation.evaluate` on each (the Mantel-Haenszel
randomisation test of :mod:`patrol_planner.evaluation.inference`, spot x block strata, re-drawn reference
schedules). The power at a rate ratio is the share of simulated programmes with ``p < alpha``; the minimum
detectable effect (MDE) is the rate ratio where that share reaches ``power`` (linear interpolation between
the simulated rate ratios).

Counts: Poisson with mean ``rate_j * RR^treated``, or, with ``dispersion`` phi > 1, gamma-Poisson with
variance ``phi * mean`` (phi is the Pearson dispersion of daily counts; police.uk months cannot give it).
The history rate is taken as the rate without patrols (no trend, no season), as in the analytic power.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.errors import EvaluationError
from patrol_planner.evaluation.design import reference_matrix
from patrol_planner.evaluation.effects import block_days_of
from patrol_planner.evaluation.inference import MHStatistic, strata_codes
from patrol_planner.programme import Programme

#: Rate ratios simulated, from no effect downwards; the search stops once the power is reached.
RATE_RATIOS: tuple[float, ...] = (0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.5, 0.4, 0.3, 0.2)

METHOD = ("simulation of the place-day evaluation: counts from each spot's history rate, schedules re-drawn with "
          "the programme's own design, a rate ratio planted on treated spot-days, the evaluation's randomisation "
          "test (Mantel-Haenszel, spot x block) on each; MDE = rate ratio where the share with p < alpha reaches "
          "the power")


def history_rates(programme: Programme) -> np.ndarray:
    """Each spot's recorded crimes per day in the history before the start [records/day], in spot order."""
    try:
        return np.array([float(programme.spot_properties[s]["rate_per_day"]) for s in programme.spots])
    except (KeyError, TypeError, ValueError):
        raise EvaluationError("spots.geojson has no rate_per_day for every spot: the programme was not designed "
                              "from a history (patrol-planner programme records it)") from None


def _counts(rng: np.random.Generator, mean: np.ndarray, dispersion: float) -> np.ndarray:
    if dispersion <= 1.0:
        return rng.poisson(mean)
    shape = np.maximum(mean, 1e-12) / (dispersion - 1.0)  # gamma-Poisson: variance = dispersion * mean
    return rng.poisson(rng.gamma(shape, 1.0 / shape) * mean)


def simulated_power(programme: Programme, design: Any, *, dispersion: float = 1.0, power: float = 0.8,
                    alpha: float = 0.05, sims: int = 200, draws: int = 199, seed: int = 0,
                    rate_ratios: tuple[float, ...] = RATE_RATIOS) -> dict[str, Any]:
    """Power of the evaluation at each planted rate ratio and the MDE (module docstring).

    ``design`` re-draws the schedule (``redraw(seed) -> schedule``). Returns a JSON-ready dict: ``method``,
    ``power_by_rate_ratio``, ``mde_rate_ratio`` (None when not reached), ``mde_reduction_pct``,
    ``history_rates_per_day`` (spot -> rate), ``sims``, ``draws``, ``dispersion``, ``seed``.
    """
    rates = history_rates(programme)
    spots, dates = list(programme.spots), programme.dates
    frame = pd.DataFrame({"date": np.repeat(np.array(dates, dtype=object), len(spots)),
                          "spot_id": np.tile(np.array(spots, dtype=object), len(dates))})
    index = pd.MultiIndex.from_arrays([frame["date"], frame["spot_id"]])
    # One pool of re-drawn schedules: each simulated programme is one of them and the others are its reference
    # set (exchangeable draws of the same design), so the costly re-draws are shared.
    pool = reference_matrix(design, index, max(sims, draws + 1), seed=seed)
    assigned = pool[:sims]
    base = MHStatistic(strata_codes(frame, block_days_of(programme.design)), pool[0], pool)
    mean0 = np.tile(rates, len(dates))
    out: dict[str, Any] = {"method": METHOD, "power": power, "alpha": alpha, "sims": sims, "draws": draws,
                           "dispersion": dispersion, "seed": seed,
                           "history_rates_per_day": {s: round(float(r), 6) for s, r in zip(spots, rates, strict=True)},
                           "expected_records_without_effect": round(float(mean0.sum()), 3)}
    curve: dict[str, float] = {}
    for rr in rate_ratios:
        rng = np.random.default_rng([seed, 7])  # the same counts' randomness at every rate ratio
        hits = 0
        for a in assigned:
            y = _counts(rng, mean0 * np.where(a == 1, rr, 1.0), dispersion)
            if y.sum() == 0:
                continue
            hits += base.with_observed(a).p_value(y, self_included=True) < alpha
        curve[f"{rr:g}"] = hits / sims
        if hits / sims >= power:
            break
    out["power_by_rate_ratio"] = curve
    out.update(_mde(curve, power))
    return out


def _mde(curve: dict[str, float], power: float) -> dict[str, Any]:
    pts = sorted(((float(k), v) for k, v in curve.items()), reverse=True)  # rate ratio falling
    for (r0, p0), (r1, p1) in zip(pts, pts[1:], strict=False):
        if p0 < power <= p1:
            rr = r0 + (power - p0) * (r1 - r0) / (p1 - p0)
            return {"mde_rate_ratio": round(rr, 3), "mde_reduction_pct": round(100 * (1 - rr), 1)}
    if pts and pts[0][1] >= power:
        return {"mde_rate_ratio": pts[0][0], "mde_reduction_pct": round(100 * (1 - pts[0][0]), 1)}
    return {"mde_rate_ratio": None, "mde_reduction_pct": None,
            "note": f"{power:.0%} power not reached even at a rate ratio of {pts[-1][0]:g}" if pts else "no simulation"}

"""The place-day effects, each from the randomisation framework of :mod:`patrol_planner.evaluation.inference`.

* **headline** (intention to treat): the MH rate ratio of crime (or harm, or ring crime) on patrolled vs
  unpatrolled spot-days, spot x block strata, p-value and inverted interval from the issued design's re-draws;
* **carry-over** (Sherman 2022's "washout"): crime at a spot 1, 2, 3 and 4 days after it was patrolled,
  against other days of the same spot and block, after removing the same-day effect (outcomes divided by the
  headline rate ratio on treated days: the test is of "no carry-over, given a constant same-day effect");
* **spill-over**: crime at a spot on days a neighbouring spot (within ``neighbour_m`` of its edge) is
  patrolled, same-day effect removed likewise;
* **dose-response** (with GPS dosage): random assignment as the instrument for minutes present, under
  ``crime = crime_without * exp(theta * minutes / 15)``: the rate ratio per 15 minutes present.

Every estimate from fewer than :data:`patrol_planner.evaluation.verdict.FEW_EVENTS` events is marked weak.
Rows of the spot-day table must be ordered by date then spot (as :func:`~.placeday.spot_day_table` makes them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from patrol_planner.errors import EvaluationError
from patrol_planner.evaluation.inference import Inference, MHStatistic, infer, lagged, neighbour_exposure, strata_codes
from patrol_planner.evaluation.verdict import FEW_EVENTS

#: Days after a patrol day whose crime is tested for carry-over.
CARRY_OVER_LAGS: tuple[int, ...] = (1, 2, 3, 4)


def check_order(table: pd.DataFrame) -> int:
    """Number of spots; raises unless rows are every spot (same order) for each date in turn."""
    spots = list(dict.fromkeys(table["spot_id"]))
    n = len(spots)
    if len(table) % n or list(table["spot_id"]) != spots * (len(table) // n):
        raise EvaluationError("the spot-day table must hold every spot, in the same order, for each date in turn")
    return n


def row(inf: Inference, analysis: str) -> dict[str, Any]:
    """An estimates-table row for a randomisation estimate (``weak`` when under FEW_EVENTS events)."""
    d = inf.to_dict()
    return {"analysis": analysis, "outcome": d["outcome"], "term": d["term"], "rate_ratio": d["rate_ratio"],
            "ci_low": d["ci_low"], "ci_high": d["ci_high"], "p_value": d["p_value"], "randomisation_p": d["p_value"],
            "method": d["method"], "se": "randomisation (inverted test)", "treated_total": d["exposed_total"],
            "control_total": d["unexposed_total"], "events": d["events"], "weak": bool(d["events"] < FEW_EVENTS),
            "nonfinite_draws": d["nonfinite_draws"], "contiguous": d["contiguous"], "n_draws": d["n_draws"]}


def headline(table: pd.DataFrame, ref: np.ndarray, strata: np.ndarray, outcome: str = "crimes") -> Inference:
    """Intention-to-treat MH rate ratio of ``outcome`` by assignment, with its p-value and interval."""
    stat = MHStatistic(strata, table["treated"].to_numpy(int), ref)
    return infer(stat, table[outcome].to_numpy(float), term="treated", outcome=outcome)


def _without_same_day(table: pd.DataFrame, rate_ratio: float, outcome: str = "crimes") -> np.ndarray:
    y = table[outcome].to_numpy(float)
    if not np.isfinite(rate_ratio) or rate_ratio <= 0:
        return y
    return y / np.where(table["treated"].to_numpy(int) == 1, rate_ratio, 1.0)


def carry_over(table: pd.DataFrame, ref: np.ndarray, strata: np.ndarray, rate_ratio: float,
               lags: tuple[int, ...] = CARRY_OVER_LAGS) -> list[Inference]:
    """Crime ``lag`` days after a patrol day vs other days (same spot and block), same-day effect removed."""
    n = check_order(table)
    y = _without_same_day(table, rate_ratio)
    out = []
    for lag in lags:
        s = np.where(np.arange(len(table)) >= lag * n, strata, -1)  # the first days have no day before
        obs = lagged(table["treated"].to_numpy(int), n, lag)
        try:
            out.append(infer(MHStatistic(s, obs, lagged(ref, n, lag)), y, term=f"patrolled {lag} day(s) before",
                             outcome="crimes"))
        except EvaluationError:
            continue
    return out


def neighbours(spots_xy: dict[str, BaseGeometry], distance_m: float) -> np.ndarray:
    """(n x n) 0/1: spots whose polygons lie within ``distance_m`` [m] of each other (never a spot itself)."""
    polys = list(spots_xy.values())
    n = len(polys)
    adj = np.zeros((n, n), dtype=np.int8)
    for i in range(n):
        d = shapely.distance(polys[i], polys)
        adj[i] = (np.asarray(d) <= distance_m).astype(np.int8)
        adj[i, i] = 0
    return adj


def spill_over(table: pd.DataFrame, ref: np.ndarray, strata: np.ndarray, rate_ratio: float,
               adjacency: np.ndarray) -> list[Inference]:
    """Crime at a spot on days a neighbouring spot is patrolled, and in its ring, same-day effect removed."""
    check_order(table)
    if not adjacency.any():
        return []
    has = np.tile(adjacency.any(axis=1), len(table) // adjacency.shape[0])
    s = np.where(has, strata, -1)  # spots with no neighbour cannot be exposed
    stat = MHStatistic(s, neighbour_exposure(table["treated"].to_numpy(int), adjacency),
                       neighbour_exposure(ref, adjacency))
    out = []
    for outcome in ("crimes", "ring_crimes"):
        try:
            out.append(infer(stat, _without_same_day(table, rate_ratio if outcome == "crimes" else 1.0, outcome),
                             term="neighbouring spot patrolled", outcome=outcome))
        except EvaluationError:
            continue
    return out


def dose_response(table: pd.DataFrame, ref: np.ndarray, strata: np.ndarray) -> Inference:
    """Rate ratio per 15 minutes present, random assignment as the instrument (needs ``minutes_present``).

    Spot-days without GPS data (``gps_data`` False) are left out: their minutes are unknown, not zero. Which
    days have data does not depend on the assignment, so the test stays exact.
    """
    if "gps_data" in table.columns:
        strata = np.where(table["gps_data"].to_numpy(bool), strata, -1)
    stat = MHStatistic(strata, table["treated"].to_numpy(int), ref)
    return infer(stat, table["crimes"].to_numpy(float), x=table["minutes_present"].to_numpy(float) / 15.0,
                 term="per 15 min present (IV)", outcome="crimes")


def first_stage(table: pd.DataFrame) -> dict[str, float]:
    """Mean minutes present on treated and control spot-days (the instrument's strength)."""
    t = table["treated"].to_numpy(int) == 1
    m = table["minutes_present"].to_numpy(float)
    return {"minutes_treated_mean": float(m[t].mean()) if t.any() else float("nan"),
            "minutes_control_mean": float(m[~t].mean()) if (~t).any() else float("nan")}


def block_days_of(design: dict[str, Any]) -> int:
    """The design's block length [days] (7 when the programme does not record one)."""
    rnd = design.get("randomisation")
    if isinstance(rnd, dict) and rnd.get("block_days"):
        return int(rnd["block_days"])
    return 7


def strata_for(table: pd.DataFrame, design: dict[str, Any]) -> np.ndarray:
    """Spot x block strata of the spot-day table for a programme design record."""
    return strata_codes(table, block_days_of(design))

"""Evaluation primitives shared by the backtest and the model's own choice of ranking.

The study area (fixed 250 m squares holding any record), rolling-origin monthly folds and the equal-area
scoring of a ranking: see :mod:`patrol_planner.hotspots.backtest` for the method.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.errors import HotspotError
from patrol_planner.hotspots.grid import pack
from patrol_planner.hotspots.harm import ASB, target_harm_weights
from patrol_planner.incidents.schema import POLICE_UK_CATEGORIES

STUDY_CELL_M = 250.0
DEFAULT_BUDGETS: tuple[float, ...] = (0.001, 0.01, 0.05)
TOP_NS: tuple[int, ...] = (20, 50)
_ASB_CODE = POLICE_UK_CATEGORIES.index(ASB)


@dataclass(frozen=True)
class StudyArea:
    """The fixed 250 m squares holding any record [packed keys, sorted] and their total area [m²]."""

    keys: np.ndarray
    area_m2: float

    @classmethod
    def from_points(cls, x_m: np.ndarray, y_m: np.ndarray) -> StudyArea:
        """Squares (CRS-origin anchored, ``STUDY_CELL_M`` side) that hold any of the points [m]."""
        keys = np.unique(pack(np.floor(x_m / STUDY_CELL_M), np.floor(y_m / STUDY_CELL_M)))
        if len(keys) == 0:
            raise HotspotError("empty study area: no located records")
        return cls(keys=keys, area_m2=len(keys) * STUDY_CELL_M**2)

    def contains(self, jx: np.ndarray, jy: np.ndarray) -> np.ndarray:
        """Whether study squares ``(jx, jy)`` are in the study area."""
        k = pack(jx, jy)
        pos = np.minimum(np.searchsorted(self.keys, k), len(self.keys) - 1)
        return self.keys[pos] == k

    def clipped_area(self, ix: np.ndarray, iy: np.ndarray, cell_size_m: float) -> np.ndarray:
        """Area of square cells ``(ix, iy)`` of side ``cell_size_m`` inside the study area [m²]."""
        s = float(cell_size_m)
        if s > STUDY_CELL_M:
            raise HotspotError(f"backtest cells must be at most {STUDY_CELL_M:g} m")
        x0, y0 = ix * s, iy * s
        jx0, jy0 = np.floor(x0 / STUDY_CELL_M), np.floor(y0 / STUDY_CELL_M)
        out = np.zeros(len(ix))
        for ox in (0, 1):
            jx = jx0 + ox
            lx = np.clip(np.minimum(x0 + s, (jx + 1) * STUDY_CELL_M) - np.maximum(x0, jx * STUDY_CELL_M), 0, None)
            for oy in (0, 1):
                jy = jy0 + oy
                ly = np.clip(np.minimum(y0 + s, (jy + 1) * STUDY_CELL_M) - np.maximum(y0, jy * STUDY_CELL_M),
                             0, None)
                out += np.where(self.contains(jx, jy), lx * ly, 0.0)
        return out


@dataclass(frozen=True)
class Fold:
    """One target month: its start (the as-of), training records and target crimes."""

    month: str
    as_of: pd.Timestamp
    train: pd.DataFrame
    target_x_m: np.ndarray
    target_y_m: np.ndarray
    target_harm: np.ndarray


def _months(incidents: pd.DataFrame) -> pd.PeriodIndex:
    return pd.DatetimeIndex(incidents["occurred_from"]).to_period("M")


def make_folds(incidents: pd.DataFrame, folds: int | Sequence[str] = 4) -> list[Fold]:
    """Rolling-origin monthly folds: train on all months before the target month.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incident table.
    folds : int or sequence of str
        The last ``folds`` months that have at least one earlier month, or explicit target months
        (``"YYYY-MM"``).
    """
    if len(incidents) == 0:
        raise HotspotError("backtest needs data: the incident table is empty")
    month = _months(incidents)
    present = sorted(set(month))
    if len(present) < 2:
        raise HotspotError(
            f"too little data for a backtest: {len(present)} month(s) of records; need at least two "
            "(one to learn from, one to score)"
        )
    if isinstance(folds, int | np.integer):
        if folds < 1:
            raise HotspotError(f"folds must be >= 1, got {folds}")
        targets = present[1:][-int(folds):]
    else:
        targets = []
        for f in folds:
            try:
                p = pd.Period(str(f), freq="M")
            except ValueError:
                raise HotspotError(f"fold {f!r} is not a month (YYYY-MM)") from None
            if p not in present:
                raise HotspotError(f"fold {p} has no records (months present: {present[0]}..{present[-1]})")
            if p == present[0]:
                raise HotspotError(f"fold {p} is the first month: nothing before it to learn from")
            targets.append(p)
    tw = target_harm_weights()
    codes = pd.Categorical(incidents["category"].astype(object), categories=list(POLICE_UK_CATEGORIES)).codes
    out = []
    for p in targets:
        as_of = p.to_timestamp()
        train = incidents[pd.DatetimeIndex(incidents["occurred_from"]) < as_of]
        is_t = np.asarray(month == p) & (codes != _ASB_CODE)
        if not is_t.any():
            raise HotspotError(f"fold {p} has no crimes (only anti-social behaviour) to score")
        out.append(Fold(
            month=str(p), as_of=as_of, train=train,
            target_x_m=incidents["x_m"].to_numpy(float)[is_t],
            target_y_m=incidents["y_m"].to_numpy(float)[is_t],
            target_harm=tw[codes[is_t]],
        ))
    return out


def evaluate_ranking(
    ix: np.ndarray,
    iy: np.ndarray,
    score: np.ndarray,
    cell_size_m: float,
    fold: Fold,
    study: StudyArea,
    budgets: Iterable[float] = DEFAULT_BUDGETS,
    top_ns: Iterable[int] = TOP_NS,
) -> list[dict[str, Any]]:
    """Hit rate, harm captured and PAI of one ranking of square cells on one fold.

    ``score <= 0`` cells are never selected; ties are broken by cell position so results are
    deterministic.
    """
    s = float(cell_size_m)
    keep = np.asarray(score) > 0
    ix, iy, score = np.asarray(ix)[keep], np.asarray(iy)[keep], np.asarray(score, float)[keep]
    keys = pack(ix, iy)
    order = np.lexsort((keys, -score))
    ix, iy, keys = ix[order], iy[order], keys[order]
    area = study.clipped_area(ix, iy, s)
    tk = pack(np.floor(fold.target_x_m / s), np.floor(fold.target_y_m / s))
    uk, tinv = np.unique(tk, return_inverse=True)
    t_cnt = np.bincount(tinv).astype(float)
    t_harm = np.bincount(tinv, weights=fold.target_harm)
    pos = np.minimum(np.searchsorted(uk, keys), max(len(uk) - 1, 0))
    hit = uk[pos] == keys if len(uk) else np.zeros(len(keys), bool)
    c_cnt = np.where(hit, t_cnt[pos], 0.0)
    c_harm = np.where(hit, t_harm[pos], 0.0)
    n_t, h_t = len(fold.target_x_m), float(fold.target_harm.sum())
    cum_area = np.cumsum(area)
    cum_cnt = np.cumsum(c_cnt)
    cum_harm = np.cumsum(c_harm)
    rows = []

    def row(selection: str, budget: float, area_m2: float, n_cells: float, cnt: float, harm: float) -> None:
        share = area_m2 / study.area_m2
        hr = cnt / n_t
        hc = harm / h_t if h_t > 0 else np.nan
        rows.append({
            "fold": fold.month, "cell_size_m": s, "selection": selection, "budget": budget,
            "area_share": share, "n_cells": n_cells, "hit_rate": hr, "harm_captured": hc,
            "pai": hr / share if share > 0 else np.nan, "harm_pai": hc / share if share > 0 else np.nan,
            "n_target_crimes": n_t, "target_harm": h_t,
        })

    for b in budgets:
        cap = float(b) * study.area_m2
        k = int(np.searchsorted(cum_area, cap, side="right"))  # cells that fit whole
        a0 = cum_area[k - 1] if k else 0.0
        c0 = cum_cnt[k - 1] if k else 0.0
        h0 = cum_harm[k - 1] if k else 0.0
        frac = 0.0
        if k < len(area) and area[k] > 0:
            frac = min(1.0, (cap - a0) / area[k])
            a0, c0, h0 = a0 + frac * area[k], c0 + frac * c_cnt[k], h0 + frac * c_harm[k]
        row("area", float(b), a0, k + frac, c0, h0)
    for n in top_ns:
        k = min(int(n), len(area))
        row("top", float(n), cum_area[k - 1] if k else 0.0, k, cum_cnt[k - 1] if k else 0.0,
            cum_harm[k - 1] if k else 0.0)
    return rows

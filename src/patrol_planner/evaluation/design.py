"""Re-drawing a programme's schedule with its own design, for randomisation tests and A/A checks.

A randomisation test is only valid when the reference schedules come from the same random mechanism as
the schedule that was used (same blocking, same treatment probabilities). The evaluation therefore takes
the design as a callable, :class:`Design`: ``redraw(seed) -> schedule`` returning a frame with at least
``date, spot_id, treated`` (the :data:`patrol_planner.programme.SCHEDULE_COLUMNS`). The programme
designer provides one; until it does, :class:`KOfNDailyDesign` re-draws the Southend-pilot design
(Basford et al. 2021): every day, ``K`` of the ``N`` spots are treated, each with probability ``K/N``,
drawn independently day by day (days are the blocks).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from patrol_planner.errors import EvaluationError


@runtime_checkable
class Design(Protocol):
    """A programme design that can draw a fresh schedule: ``redraw(seed) -> schedule frame``."""

    def __call__(self, seed: int) -> pd.DataFrame: ...


class KOfNDailyDesign:
    """Equal-probability blocked design: each programme day, ``treated_per_day`` of the spots are treated.

    Parameters
    ----------
    spot_ids : sequence of str
    dates : sequence of datetime.date
        The programme days.
    treated_per_day : int
        ``K`` spots treated each day (1 <= K < N).
    visits, minutes : int
        Planned dose written on treated rows [visits], [min].
    """

    def __init__(self, spot_ids: Sequence[str], dates: Sequence[date], treated_per_day: int, *,
                 visits: int = 1, minutes: int = 15):
        self.spot_ids = [str(s) for s in spot_ids]
        self.dates = list(dates)
        self.treated_per_day = int(treated_per_day)
        self.visits = int(visits)
        self.minutes = int(minutes)
        n = len(self.spot_ids)
        if not 1 <= self.treated_per_day < n:
            raise EvaluationError(f"K-of-N design needs 1 <= K < N; got K={treated_per_day}, N={n}")
        if not self.dates:
            raise EvaluationError("K-of-N design needs at least one day")

    def matrix(self, seed: int) -> np.ndarray:
        """A (days x spots) 0/1 treatment matrix, K ones per row."""
        rng = np.random.default_rng(seed)
        keys = rng.random((len(self.dates), len(self.spot_ids)))
        ranks = keys.argsort(axis=1).argsort(axis=1)
        return (ranks < self.treated_per_day).astype(np.int8)

    def __call__(self, seed: int) -> pd.DataFrame:
        """A schedule frame (:data:`~patrol_planner.programme.SCHEDULE_COLUMNS`), rows by date then spot."""
        t = self.matrix(seed).ravel()
        n_days, n_spots = len(self.dates), len(self.spot_ids)
        return pd.DataFrame({
            "date": np.repeat(np.array(self.dates, dtype=object), n_spots),
            "spot_id": np.tile(np.array(self.spot_ids, dtype=object), n_days),
            "treated": t.astype(int),
            "p_treated": self.treated_per_day / n_spots,
            "visits": t * self.visits,
            "minutes": t * self.minutes,
        })

    redraw = __call__


def k_of_n_design_from_schedule(schedule: pd.DataFrame) -> KOfNDailyDesign:
    """Recognise a K-of-N-per-day schedule and return the design that re-draws it.

    Raises :class:`EvaluationError` when the schedule is not of that design (the number treated varies
    by day, or ``p_treated`` is not ``K/N``): pass the programme designer's own re-draw instead.
    """
    spots = list(dict.fromkeys(schedule["spot_id"].astype(str)))
    dates = sorted(set(schedule["date"]))
    per_day = schedule.groupby("date")["treated"].sum()
    rows_per_day = schedule.groupby("date").size()
    if per_day.nunique() != 1 or (rows_per_day != len(spots)).any():
        raise EvaluationError(
            "the schedule is not a K-of-N-per-day design (treated spots per day vary, or spots are missing "
            "on some days): give the programme designer's re-draw function instead")
    k = int(per_day.iloc[0])
    if not np.allclose(schedule["p_treated"].to_numpy(float), k / len(spots), atol=1e-4):
        raise EvaluationError(f"p_treated differs from K/N = {k}/{len(spots)}: not an equal-probability design")
    treated = schedule[schedule["treated"] == 1]
    visits = int(treated["visits"].max()) if len(treated) else 1
    minutes = int(treated["minutes"].max()) if len(treated) else 15
    return KOfNDailyDesign(spots, dates, k, visits=visits, minutes=minutes)


def reference_matrix(design: Design, index: pd.MultiIndex, n_draws: int, *, seed: int = 0) -> np.ndarray:
    """``n_draws`` re-drawn assignments as an (n_draws x len(index)) 0/1 matrix aligned to ``index``.

    ``index`` is the (date, spot_id) order of the spot-day table. Seeds come from one
    ``numpy.random.SeedSequence(seed)`` so the reference set is reproducible.
    """
    seeds = np.random.SeedSequence(seed).generate_state(n_draws)
    out = np.zeros((n_draws, len(index)), dtype=np.int8)
    fast = isinstance(design, KOfNDailyDesign)
    for i, s in enumerate(seeds):
        if fast and _same_order(design, index):
            out[i] = design.matrix(int(s)).ravel()
            continue
        sched = design(int(s))
        keyed = pd.Series(sched["treated"].to_numpy(int),
                          index=pd.MultiIndex.from_arrays([sched["date"], sched["spot_id"].astype(str)]))
        got = keyed.reindex(index)
        if got.isna().any():
            raise EvaluationError("the design's re-draw does not cover every spot-day of the programme")
        out[i] = got.to_numpy(int)
    return out


def _same_order(design: KOfNDailyDesign, index: pd.MultiIndex) -> bool:
    n = len(design.spot_ids)
    if len(index) != len(design.dates) * n:
        return False
    d = index.get_level_values(0)
    s = index.get_level_values(1)
    return list(d[::n]) == design.dates and list(s[:n]) == design.spot_ids

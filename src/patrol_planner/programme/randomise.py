"""Randomised treatment schedules for a hot-spot programme: which spots are patrolled on which day.

Two designs, both *blocked*: the programme is cut into blocks of ``block_days`` days and each spot's number
of treated days in every block is fixed in advance (a permuted-block design, as in clinical trials:
Matts & Lachin 1988, "Properties of permuted-block randomization in clinical trials", Controlled Clinical
Trials 9:327), so a spot cannot, by chance, go weeks unpatrolled or be patrolled on most days.

``equal``
    Every day exactly ``k`` of the ``n`` spots are treated (Basford et al. 2021: 8 of 20; Op Rowan: 7 of
    21). A block of ``L`` days holds ``k * L`` treatments spread so each spot gets the same number (or one
    more, the extra going to the spots with fewest so far, ties at random). The block's day-by-spot matrix
    with those row and column totals is drawn by building one such matrix and then mixing it with
    "curveball" trades (Strona et al. 2014, Nature Communications 5:4114), which keep every row and column
    total and wander over all matrices that have them. The spots are exchangeable in every step, so the
    probability that a spot is treated on a given day is exactly ``k / n``.
``harm``
    Spot ``j`` has its own probability ``p_j``. It gets ``round(p_j * days)`` treated days, spread across
    blocks by cumulative rounding and placed at random days inside each block; the exact probability for
    a day in block ``b`` is (treated days of ``j`` in ``b``) / (days in ``b``). The number treated per day
    varies around ``sum(p_j)``.

Limits on consecutive treated or control days are met by redrawing a block (``equal``) or a spot's block
(``harm``) until they hold. For ``harm`` that changes the day-level probabilities slightly, so these are
then estimated by drawing the whole design again many times (:func:`simulated_probabilities`).

No library draws blocked schedules with fixed row and column totals, so this is hand-written; numpy's
``Generator`` is the only source of randomness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from patrol_planner.errors import ProgrammeError

#: Redraws of one block before the consecutive-day limits are declared infeasible.
MAX_REDRAWS = 2000


@dataclass(frozen=True)
class Limits:
    """Longest allowed run of treated / control days at one spot (None = no limit) [days]."""

    max_treated: int | None = None
    max_control: int | None = None

    @property
    def active(self) -> bool:
        return self.max_treated is not None or self.max_control is not None


def default_block_days(n_spots: int, k: int | None, days: int) -> int:
    """The shortest block of at least 7 days in which every spot can get the same number of treatments.

    For the ``equal`` design a block of ``n / gcd(n, k)`` days holds a whole number of treatments per spot
    (20 spots, 8 a day: 5 days, 2 each); the default is the smallest multiple of that of at least a week,
    so a week's release (Op Rowan) never splits a block more than needed. Capped at ``days``.
    """
    base = n_spots // math.gcd(n_spots, k) if k else 1
    return max(1, min(days, base * math.ceil(7 / base)))


def blocks(days: int, block_days: int) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` day indices (end exclusive) of consecutive blocks; the last may be shorter."""
    return [(s, min(s + block_days, days)) for s in range(0, days, block_days)]


def max_run(x: np.ndarray, value: int) -> int:
    """Longest run of ``value`` in the 0/1 vector ``x``."""
    hit = np.concatenate([[0], (np.asarray(x) == value).astype(np.int8), [0]])
    d = np.diff(hit)
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return int((ends - starts).max()) if len(starts) else 0


def _runs_ok(col: np.ndarray, limits: Limits) -> bool:
    if limits.max_treated is not None and max_run(col, 1) > limits.max_treated:
        return False
    return not (limits.max_control is not None and max_run(col, 0) > limits.max_control)


def _block_ok(prev: np.ndarray, blk: np.ndarray, limits: Limits) -> bool:
    """Do the limits hold for every spot over the previous days joined to this block?"""
    if not limits.active:
        return True
    tail = max(limits.max_treated or 0, limits.max_control or 0) + 1
    both = np.vstack([prev[-tail:], blk]) if len(prev) else blk
    return all(_runs_ok(both[:, j], limits) for j in range(both.shape[1]))


def _curveball(m: np.ndarray, rng: np.random.Generator, trades: int) -> np.ndarray:
    """Mix a 0/1 matrix by curveball trades between random pairs of rows; row and column totals are kept."""
    rows = m.shape[0]
    if rows < 2:
        return m
    for _ in range(trades):
        a, b = rng.choice(rows, size=2, replace=False)
        only_a = np.flatnonzero((m[a] == 1) & (m[b] == 0))
        only_b = np.flatnonzero((m[b] == 1) & (m[a] == 0))
        pool = np.concatenate([only_a, only_b])
        if len(only_a) == 0 or len(only_b) == 0:
            continue
        pool = rng.permutation(pool)
        m[a, pool] = 0
        m[b, pool] = 0
        m[a, pool[: len(only_a)]] = 1
        m[b, pool[len(only_a):]] = 1
    return m


def _equal_block(col_totals: np.ndarray, length: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``length x n`` 0/1 matrix with ``k`` per row and ``col_totals`` per column."""
    n = len(col_totals)
    need = col_totals.astype(np.int64).copy()
    m = np.zeros((length, n), dtype=np.int8)
    for d in range(length):
        # the k spots with most treatments still to place (random tie-break): always completes when every
        # total fits in the block (Gale-Ryser), and the curveball trades then randomise it
        order = np.lexsort((rng.random(n), -need))
        pick = order[:k]
        m[d, pick] = 1
        need[pick] -= 1
    return _curveball(m, rng, trades=20 * length)


def draw_equal(n_spots: int, k: int, days: int, block_days: int, rng: np.random.Generator,
               limits: Limits = Limits()) -> np.ndarray:
    """Days x spots 0/1 schedule with exactly ``k`` treated a day, blocked (see module docstring)."""
    sched = np.zeros((days, n_spots), dtype=np.int8)
    counts = np.zeros(n_spots, dtype=np.int64)
    for s, e in blocks(days, block_days):
        length = e - s
        total = k * length
        base, extra = divmod(total, n_spots)
        if base + (1 if extra else 0) > length:
            raise ProgrammeError(f"a block of {length} days cannot hold {k} treated spots a day evenly")
        for _ in range(MAX_REDRAWS):
            col = np.full(n_spots, base, dtype=np.int64)
            if extra:
                # the extra treatments go to the spots with fewest so far: totals stay within one of each other
                order = np.lexsort((rng.random(n_spots), counts))
                col[order[:extra]] += 1
            blk = _equal_block(col, length, k, rng)
            if _block_ok(sched[:s], blk, limits):
                break
        else:
            raise ProgrammeError(_infeasible(limits, k, n_spots))
        sched[s:e] = blk
        counts += blk.sum(axis=0)
    return sched


def _infeasible(limits: Limits, k: float, n: int) -> str:
    return (f"no schedule met max_consecutive_treated={limits.max_treated} and "
            f"max_consecutive_control={limits.max_control} with {k:g} of {n} spots treated a day after "
            f"{MAX_REDRAWS} draws; relax the limits")


def harm_probabilities(scores: np.ndarray, expected_per_day: float, p_floor: float, p_cap: float) -> np.ndarray:
    """Per-spot treatment probabilities proportional to harm, clipped to ``[p_floor, p_cap]``, summing to K.

    ``p_j = clip(c * score_j, p_floor, p_cap)`` with the scale ``c`` found by root finding so that
    ``sum(p_j) = expected_per_day``. Spots with no harm get ``p_floor``.
    """
    s = np.asarray(scores, float)
    n = len(s)
    if not p_floor * n <= expected_per_day <= p_cap * n:
        raise ProgrammeError(f"{expected_per_day:g} treated a day is not reachable with p in "
                             f"[{p_floor:g}, {p_cap:g}] over {n} spots")
    if not np.any(s > 0) or np.allclose(s, s[0]):
        return np.full(n, expected_per_day / n)

    def gap(c: float) -> float:
        return float(np.clip(c * s, p_floor, p_cap).sum() - expected_per_day)

    lo, hi = 0.0, 1.0
    while gap(hi) < 0:
        hi *= 2.0
    if gap(lo) >= 0:
        return np.clip(np.zeros(n), p_floor, p_cap)
    c = brentq(gap, lo, hi, xtol=1e-14)
    return np.clip(c * s, p_floor, p_cap)


def _round_half_up(x: np.ndarray) -> np.ndarray:
    return np.floor(np.asarray(x, float) + 0.5).astype(np.int64)


def harm_quotas(p: np.ndarray, days: int, block_days: int) -> np.ndarray:
    """Blocks x spots treated days: cumulative rounding of ``p_j * day`` at each block end."""
    ends = np.array([e for _, e in blocks(days, block_days)])
    cum = _round_half_up(np.outer(ends, p))
    return np.diff(np.vstack([np.zeros((1, len(p)), np.int64), cum]), axis=0)


def draw_harm(p: np.ndarray, days: int, block_days: int, rng: np.random.Generator,
              limits: Limits = Limits()) -> np.ndarray:
    """Days x spots 0/1 schedule, spot ``j`` treated on ``round(p_j * days)`` days, blocked."""
    n = len(p)
    quotas = harm_quotas(p, days, block_days)
    sched = np.zeros((days, n), dtype=np.int8)
    for b, (s, e) in enumerate(blocks(days, block_days)):
        length = e - s
        for j in range(n):
            for _ in range(MAX_REDRAWS):
                col = np.zeros(length, dtype=np.int8)
                col[rng.choice(length, size=int(quotas[b, j]), replace=False)] = 1
                if not limits.active or _block_ok(sched[:s, [j]], col[:, None], limits):
                    break
            else:
                raise ProgrammeError(_infeasible(limits, float(p.sum()), n))
            sched[s:e, j] = col
    return sched


def exact_harm_probabilities(p: np.ndarray, days: int, block_days: int) -> np.ndarray:
    """Days x spots probability of treatment under :func:`draw_harm` without limits [-]."""
    quotas = harm_quotas(p, days, block_days)
    out = np.zeros((days, len(p)))
    for b, (s, e) in enumerate(blocks(days, block_days)):
        out[s:e] = quotas[b] / (e - s)
    return out


def simulated_probabilities(draw: callable, seed: int, draws: int) -> np.ndarray:
    """Days x spots share of ``draws`` independent re-draws of the design that treat each spot-day.

    ``draw(rng)`` returns one schedule. The re-draws use generators spawned from ``seed`` apart from the
    one that drew the issued schedule, so the estimate does not lean on it. Standard error per cell is at
    most ``0.5 / sqrt(draws)``.
    """
    children = np.random.SeedSequence(seed).spawn(draws + 1)[1:]
    acc = None
    for ss in children:
        m = draw(np.random.default_rng(ss)).astype(np.float64)
        acc = m if acc is None else acc + m
    return acc / draws

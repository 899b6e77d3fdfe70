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

Limits on consecutive treated or control days are met inside the draw: day by day a spot at its
control-run limit is forced in and a spot at its treated-run limit is left out; a draw that reaches a dead
end redraws the block (``equal``) or that spot's block (``harm``). The ``equal`` design stays symmetric in
the spots, so ``k / n`` remains exact; for ``harm`` the limits move the day-level probabilities slightly,
so these are then estimated by drawing the whole design again many times (:func:`simulated_probabilities`).

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


def _run_state(prev: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Current treated and control run lengths of each spot at the end of ``prev`` (days x spots)."""
    run_t = np.zeros(n, dtype=np.int64)
    run_c = np.zeros(n, dtype=np.int64)
    for row in prev:
        run_t = np.where(row == 1, run_t + 1, 0)
        run_c = np.where(row == 0, run_c + 1, 0)
    return run_t, run_c


def _day_bounds(need: np.ndarray, rem: int, run_t: np.ndarray, run_c: np.ndarray,
                limits: Limits) -> tuple[np.ndarray, np.ndarray]:
    """Spots that must be treated today and spots that must not (quota left, run limits)."""
    must = need >= rem
    cant = need <= 0
    if limits.max_control is not None:
        must |= run_c >= limits.max_control
    if limits.max_treated is not None:
        cant |= run_t >= limits.max_treated
    return must, cant


def _bits(x: int) -> list[int]:
    """Positions of the set bits of ``x``, ascending."""
    return [j for j, c in enumerate(reversed(bin(x)[2:])) if c == "1"]


def _curveball(m: np.ndarray, rng: np.random.Generator, trades: int) -> np.ndarray:
    """Mix a 0/1 matrix by curveball trades between random pairs of rows; row and column totals are kept.

    Rows are held as Python integers (one bit per spot) while trading: numpy's per-call overhead on rows of a
    few dozen spots made each trade about 50 us, and a year's reference draws for an evaluation make hundreds
    of thousands of trades. The random draws are the same calls in the same order as the array version, so a
    seed gives the same schedule (tests/test_programme_randomise.py compares the two)."""
    rows = m.shape[0]
    if rows < 2:
        return m
    bits = [int("".join("1" if v else "0" for v in r[::-1]) or "0", 2) for r in m.tolist()]
    for _ in range(trades):
        a, b = (int(x) for x in rng.choice(rows, size=2, replace=False))
        oa, ob = bits[a] & ~bits[b], bits[b] & ~bits[a]
        if not oa or not ob:
            continue
        only_a = _bits(oa)
        pool = rng.permutation(np.array(only_a + _bits(ob), dtype=np.int64)).tolist()
        new_a = sum(1 << j for j in pool[: len(only_a)])
        bits[a] = (bits[a] & ~oa) | new_a
        bits[b] = (bits[b] & ~ob) | ((oa | ob) & ~new_a)
    n = m.shape[1]
    for i, x in enumerate(bits):
        m[i] = [(x >> j) & 1 for j in range(n)]
    return m


def _equal_block(col_totals: np.ndarray, length: int, k: int, rng: np.random.Generator, prev: np.ndarray,
                 limits: Limits) -> np.ndarray | None:
    """A random ``length x n`` 0/1 matrix with ``k`` per row and ``col_totals`` per column, or None at a dead end.

    Day by day: spots whose quota or control-run limit forces them are taken, spots at their quota or
    treated-run limit are left, and the rest of the ``k`` are drawn without replacement with probability
    proportional to the quota each still needs. Without limits the matrix is then mixed by curveball trades.
    The day's bookkeeping is on Python lists (a programme has tens of spots; numpy's per-call overhead
    dominated); the draws are the same ``rng.choice`` calls as on arrays, so a seed gives the same schedule.
    """
    n = len(col_totals)
    need = [int(x) for x in col_totals]
    run_t, run_c = (a.tolist() for a in _run_state(prev, n))
    mt, mc = limits.max_treated, limits.max_control
    m = np.zeros((length, n), dtype=np.int8)
    for d in range(length):
        rem = length - d
        must = [need[j] >= rem or (mc is not None and run_c[j] >= mc) for j in range(n)]
        cant = [need[j] <= 0 or (mt is not None and run_t[j] >= mt) for j in range(n)]
        free = [j for j in range(n) if not must[j] and not cant[j]]
        taken = [j for j in range(n) if must[j]]
        extra = k - len(taken)
        if any(a and b for a, b in zip(must, cant, strict=True)) or extra < 0 or len(free) < extra:
            return None
        if extra:
            w = np.array([need[j] for j in free], dtype=float)
            taken += rng.choice(np.array(free, dtype=np.int64), size=extra, replace=False, p=w / w.sum()).tolist()
        row = [0] * n
        for j in taken:
            row[j] = 1
        m[d] = row
        for j in range(n):
            need[j] -= row[j]
            run_t[j] = run_t[j] + 1 if row[j] else 0
            run_c[j] = 0 if row[j] else run_c[j] + 1
    if any(need):
        return None
    return m if limits.active else _curveball(m, rng, trades=5 * length)


def draw_equal(n_spots: int, k: int, days: int, block_days: int, rng: np.random.Generator,
               limits: Limits = Limits()) -> np.ndarray:
    """Days x spots 0/1 schedule with exactly ``k`` treated a day, blocked (see module docstring)."""
    sched = np.zeros((days, n_spots), dtype=np.int8)
    counts = np.zeros(n_spots, dtype=np.int64)
    tail = max(limits.max_treated or 0, limits.max_control or 0) + 1
    for s, e in blocks(days, block_days):
        length = e - s
        base, extra = divmod(k * length, n_spots)
        if base + (1 if extra else 0) > length:
            raise ProgrammeError(f"a block of {length} days cannot hold {k} treated spots a day evenly")
        for _ in range(MAX_REDRAWS):
            col = np.full(n_spots, base, dtype=np.int64)
            if extra:
                # the extra treatments go to the spots with fewest so far: totals stay within one of each other
                order = np.lexsort((rng.random(n_spots), counts))
                col[order[:extra]] += 1
            blk = _equal_block(col, length, k, rng, sched[max(0, s - tail):s], limits)
            if blk is not None:
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


def _harm_block(quota: np.ndarray, length: int, rng: np.random.Generator, prev: np.ndarray,
                limits: Limits) -> tuple[np.ndarray, np.ndarray]:
    """Each spot's ``quota`` days placed at random in a block; returns the block and the spots at a dead end.

    Day by day each spot is treated with probability (days it still needs) / (days left), which places its
    quota uniformly at random when no limit binds; limits force or forbid a day.
    """
    n = len(quota)
    need = quota.astype(np.int64).copy()
    run_t, run_c = _run_state(prev, n)
    m = np.zeros((length, n), dtype=np.int8)
    dead = np.zeros(n, dtype=bool)
    for d in range(length):
        rem = length - d
        must, cant = _day_bounds(need, rem, run_t, run_c, limits)
        dead |= must & cant
        row = np.where(must, 1, np.where(cant, 0, rng.random(n) < need / rem)).astype(np.int8)
        m[d] = row
        need -= row
        run_t = np.where(row == 1, run_t + 1, 0)
        run_c = np.where(row == 0, run_c + 1, 0)
    return m, dead | (need != 0)


def draw_harm(p: np.ndarray, days: int, block_days: int, rng: np.random.Generator,
              limits: Limits = Limits()) -> np.ndarray:
    """Days x spots 0/1 schedule, spot ``j`` treated on ``round(p_j * days)`` days, blocked."""
    n = len(p)
    quotas = harm_quotas(p, days, block_days)
    sched = np.zeros((days, n), dtype=np.int8)
    tail = max(limits.max_treated or 0, limits.max_control or 0) + 1
    for b, (s, e) in enumerate(blocks(days, block_days)):
        todo = np.arange(n)
        for _ in range(MAX_REDRAWS):
            blk, dead = _harm_block(quotas[b, todo], e - s, rng, sched[max(0, s - tail):s][:, todo], limits)
            ok = ~dead
            sched[s:e, todo[ok]] = blk[:, ok]
            todo = todo[dead]
            if len(todo) == 0:
                break
        else:
            raise ProgrammeError(_infeasible(limits, float(p.sum()), n))
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

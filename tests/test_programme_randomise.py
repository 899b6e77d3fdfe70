"""Randomised blocked schedules: exact daily counts, even spread per spot, limits, probabilities that hold."""

from __future__ import annotations

import numpy as np
import pytest

from patrol_planner.errors import ProgrammeError
from patrol_planner.programme import randomise as rz


def test_equal_design_treats_exactly_k_a_day_and_spreads_evenly():
    """Every day has exactly k treated; every spot's total is within one of every other's (blocked)."""
    for n, k, days in [(20, 8, 90), (21, 7, 90), (34, 17, 60), (10, 4, 37), (13, 5, 29)]:
        block = rz.default_block_days(n, k, days)
        s = rz.draw_equal(n, k, days, block, np.random.default_rng(n * k))
        assert s.shape == (days, n)
        assert (s.sum(axis=1) == k).all()
        per_spot = s.sum(axis=0)
        assert per_spot.max() - per_spot.min() <= 1
        assert per_spot.sum() == k * days


def test_equal_design_is_even_within_each_block():
    """Each whole block gives every spot the same number of treated days (20 spots, 8 a day: 2 per 5 days)."""
    s = rz.draw_equal(20, 8, 90, 5, np.random.default_rng(3))
    for a, b in rz.blocks(90, 5):
        assert (s[a:b].sum(axis=0) == 2).all()


def test_same_seed_same_schedule_other_seed_other_schedule():
    """The draw depends only on the seed."""
    a = rz.draw_equal(20, 8, 90, 10, np.random.default_rng(11))
    b = rz.draw_equal(20, 8, 90, 10, np.random.default_rng(11))
    c = rz.draw_equal(20, 8, 90, 10, np.random.default_rng(12))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.slow
def test_equal_design_probability_is_k_over_n_for_every_spot_day():
    """Over many seeds each spot-day is treated with frequency k/n (the recorded p_treated), limits or not."""
    n, k, days, draws = 10, 4, 21, 800
    for limits in (rz.Limits(), rz.Limits(max_treated=2, max_control=4)):
        acc = np.zeros((days, n))
        for i in range(draws):
            acc += rz.draw_equal(n, k, days, 7, np.random.default_rng(i), limits)
        freq = acc / draws
        # binomial standard error sqrt(.4*.6/800) = 0.0173; 4.5 SE over 210 cells
        assert np.abs(freq - k / n).max() < 0.078
        # and no day or spot leans: row and column means are far tighter
        assert np.abs(freq.mean(axis=0) - k / n).max() < 0.02


def test_consecutive_limits_are_respected():
    """No spot is treated on more than max_treated days running, nor left for more than max_control."""
    lim = rz.Limits(max_treated=2, max_control=3)
    s = rz.draw_equal(20, 8, 90, 10, np.random.default_rng(5), lim)
    assert (s.sum(axis=1) == 8).all()
    for j in range(20):
        assert rz.max_run(s[:, j], 1) <= 2
        assert rz.max_run(s[:, j], 0) <= 3
    p = rz.harm_probabilities(np.linspace(1, 10, 12), 5.0, 0.2, 0.7)
    h = rz.draw_harm(p, 60, 10, np.random.default_rng(6), rz.Limits(max_treated=3, max_control=6))
    for j in range(12):
        assert rz.max_run(h[:, j], 1) <= 3
        assert rz.max_run(h[:, j], 0) <= 6


def test_impossible_limits_are_an_error():
    """Limits no schedule can meet (8 of 10 a day, never two days running) raise ProgrammeError."""
    with pytest.raises(ProgrammeError, match="relax the limits"):
        rz.draw_equal(10, 8, 20, 5, np.random.default_rng(0), rz.Limits(max_treated=1))


def test_harm_probabilities_respect_floor_cap_and_expected_count():
    """p rises with harm, stays within [floor, cap] and sums to the expected number treated a day."""
    scores = np.array([100.0, 50, 30, 20, 10, 5, 5, 2, 1, 0.5])
    p = rz.harm_probabilities(scores, 4.0, 0.2, 0.7)
    assert p.min() >= 0.2 - 1e-12 and p.max() <= 0.7 + 1e-12
    assert p.sum() == pytest.approx(4.0, abs=1e-9)
    assert (np.diff(p) <= 1e-12).all()  # scores are descending
    assert p[0] == pytest.approx(0.7) and p[-1] == pytest.approx(0.2)


def test_harm_design_realises_each_spots_probability():
    """Spot j is treated on round(p_j * days) days, block by block, and its recorded day probabilities match."""
    p = rz.harm_probabilities(np.array([9.0, 7, 5, 3, 2, 1, 1, 0.5]), 3.0, 0.15, 0.75)
    days, block = 90, 10
    s = rz.draw_harm(p, days, block, np.random.default_rng(9))
    assert (s.sum(axis=0) == np.floor(p * days + 0.5)).all()
    exact = rz.exact_harm_probabilities(p, days, block)
    assert np.allclose(exact.sum(axis=0), s.sum(axis=0))
    # realised frequency over many draws matches the recorded probability of each spot-day
    acc = sum(rz.draw_harm(p, days, block, np.random.default_rng(100 + i)).astype(float) for i in range(800))
    assert np.abs(acc / 800 - exact).max() < 0.075  # 4.5 binomial SE at p = 0.5


def test_simulated_probabilities_estimate_day_level_probabilities_under_limits():
    """With limits the design is re-drawn; the estimated probabilities still average to each spot's share."""
    p = rz.harm_probabilities(np.array([5.0, 4, 3, 2, 1, 1]), 2.4, 0.2, 0.7)
    lim = rz.Limits(max_control=4)
    est = rz.simulated_probabilities(lambda g: rz.draw_harm(p, 30, 10, g, lim), 1, 300)
    assert est.shape == (30, 6)
    assert np.allclose(est.mean(axis=0), np.floor(p * 30 + 0.5) / 30, atol=1e-9)


def _curveball_on_arrays(m: np.ndarray, rng: np.random.Generator, trades: int) -> np.ndarray:
    """The array version of the curveball mix, the reference the bit version must match draw for draw."""
    rows = m.shape[0]
    for _ in range(trades):
        a, b = rng.choice(rows, size=2, replace=False)
        only_a = np.flatnonzero((m[a] == 1) & (m[b] == 0))
        only_b = np.flatnonzero((m[b] == 1) & (m[a] == 0))
        if len(only_a) == 0 or len(only_b) == 0:
            continue
        pool = rng.permutation(np.concatenate([only_a, only_b]))
        m[a, pool] = 0
        m[b, pool] = 0
        m[a, pool[: len(only_a)]] = 1
        m[b, pool[len(only_a):]] = 1
    return m


@pytest.mark.parametrize(("rows", "cols", "k"), [(8, 20, 8), (5, 3, 1), (30, 200, 60), (2, 70, 35)])
def test_curveball_on_bits_equals_the_array_version_and_keeps_totals(rows: int, cols: int, k: int):
    rng = np.random.default_rng(rows * cols)
    m = np.zeros((rows, cols), dtype=np.int8)
    for i in range(rows):
        m[i, rng.choice(cols, size=k, replace=False)] = 1
    got = rz._curveball(m.copy(), np.random.default_rng(7), trades=5 * rows)
    want = _curveball_on_arrays(m.copy(), np.random.default_rng(7), trades=5 * rows)
    assert (got == want).all()
    assert (got.sum(axis=0) == m.sum(axis=0)).all() and (got.sum(axis=1) == m.sum(axis=1)).all()
    assert rows * cols < 50 or not (got == m).all()  # it mixed (a tiny matrix may come back as it was)

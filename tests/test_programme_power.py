"""Power of a programme: the reported minimum detectable effect is calibrated by seeded Poisson simulation."""

from __future__ import annotations

import numpy as np
import pytest

from patrol_planner.programme.power import approximate_power, minimum_detectable_effect, simulated_power

# Rates like the Essex 2025 top cells (records per spot-day) and like the Rutland ones (ten times lower).
ESSEX = np.array([1.84, 2.53, 1.16, 1.61, 1.42, 2.06, 1.13, 0.85, 0.97, 0.92, 0.9, 0.96, 0.74, 1.99, 0.89,
                  0.65, 0.89, 0.89, 0.5, 0.67])
RUTLAND = np.array([0.24, 0.13, 0.097, 0.081, 0.13, 0.145, 0.097, 0.065, 0.065, 0.097])


@pytest.mark.parametrize(("rates", "treated"), [
    (ESSEX, np.full(20, 36)),                                   # equal design, 8 of 20 a day, 90 days
    (RUTLAND, np.full(10, 36)),                                 # equal design, 4 of 10 a day, 90 days
    (RUTLAND, np.array([63, 55, 45, 40, 36, 32, 27, 22, 18, 18])),  # harm design: uneven shares
])
def test_simulated_power_at_reported_mde_is_80_percent(rates, treated):
    """At the reported MDE the score test rejects in 80% +/- 5 points of seeded Poisson programmes."""
    control = 90 - treated
    mde = minimum_detectable_effect(rates, treated, control)
    rr = mde["mde_rate_ratio"]
    assert 0 < rr < 1
    sim = simulated_power(rates, treated, control, rr, sims=6000, rng=np.random.default_rng(2025))
    assert abs(sim - 0.80) <= 0.05, (rr, sim)


def test_size_at_no_effect_is_alpha():
    """With no effect the test rejects in about 5% of programmes (it is not anti-conservative)."""
    sim = simulated_power(RUTLAND, np.full(10, 36), np.full(10, 54), 1.0, sims=8000, rng=np.random.default_rng(7))
    assert 0.035 <= sim <= 0.065


def test_more_data_detects_smaller_effects_and_dispersion_costs_power():
    """MDE shrinks with more days and grows with overdispersion; power is monotone in the effect."""
    short = minimum_detectable_effect(RUTLAND, np.full(10, 12), np.full(10, 18))["mde_rate_ratio"]
    long = minimum_detectable_effect(RUTLAND, np.full(10, 72), np.full(10, 108))["mde_rate_ratio"]
    over = minimum_detectable_effect(RUTLAND, np.full(10, 72), np.full(10, 108), dispersion=2.0)["mde_rate_ratio"]
    assert short < long < 1
    assert over < long
    powers = [approximate_power(ESSEX, np.full(20, 36), np.full(20, 54), rr) for rr in (0.7, 0.8, 0.9, 1.0)]
    assert powers == sorted(powers, reverse=True)


def test_too_little_data_is_said_in_plain_words():
    """When no reduction can reach the power the MDE is None with a note, not a made-up number."""
    out = minimum_detectable_effect(np.full(3, 0.001), np.full(3, 5), np.full(3, 5))
    assert out["mde_rate_ratio"] is None
    assert "too few expected crimes" in out["note"]

"""The patrol feedback loop, simulated: two areas with equal true rates, one patrol, a ranking fed by what
gets recorded (Ensign et al. 2018), with and without the guards of :mod:`patrol_planner.hotspots.feedback`.

Used by ``benchmarks/feedback.py`` and ``tests/test_feedback.py``; no command runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patrol_planner.errors import HotspotError
from patrol_planner.hotspots.feedback import DEFAULT_FLOOR, inverse_discovery_weight
from patrol_planner.incidents.schema import is_police_generated

GUARDS: tuple[str, ...] = ("none", "exclude", "reweight")
POLICIES: tuple[str, ...] = ("top", "proportional")


@dataclass(frozen=True)
class FeedbackSimulation:
    """Result of :func:`simulate_patrol_feedback`; arrays have one row per seed.

    ``patrolled_a``: (seeds, days) bool, the patrol went to area A that day; ``score_a``, ``score_b``:
    (seeds, days) the ranking's score of each area at the end of each day [weighted records];
    ``patrol_share_a``: (seeds,) share of days in A [-]; ``concentration``: (seeds,) share of days in the
    area patrolled more [-], 0.5..1; ``estimated_share_a``: (seeds,) A's share of the final score [-]
    (the truth is 0.5).
    """

    patrolled_a: np.ndarray
    score_a: np.ndarray
    score_b: np.ndarray
    policy: str
    guard: str

    @property
    def patrol_share_a(self) -> np.ndarray:
        return self.patrolled_a.mean(axis=1)

    @property
    def concentration(self) -> np.ndarray:
        return np.maximum(self.patrol_share_a, 1.0 - self.patrol_share_a)

    @property
    def estimated_share_a(self) -> np.ndarray:
        return self.score_a[:, -1] / (self.score_a[:, -1] + self.score_b[:, -1])


def simulate_patrol_feedback(
    *,
    policy: str = "top",
    guard: str = "none",
    n_days: int = 365,
    n_seeds: int = 200,
    victim_rate_per_day: float = 2.0,
    reporting_prob: float = 0.5,
    police_found_rate_per_day: float = 4.0,
    discovery_prob: float = 0.5,
    half_life_days: float = float("inf"),
    prior_records: float = 1.0,
    record_weights: tuple[float, float] = (1.0, 1.0),
    floor: float = DEFAULT_FLOOR,
    seed: int = 0,
) -> FeedbackSimulation:
    """Two areas with equal true rates, one patrol, a ranking fed by what gets recorded (Ensign et al.).

    Each day and area, ``Poisson(victim_rate_per_day * reporting_prob)`` victim-reported records arise
    whether or not police are there; ``Poisson(police_found_rate_per_day * discovery_prob)`` police-generated
    records ("Drugs") are recorded only in the area patrolled that day. The ranking is each area's sum of
    record weights, decayed with ``half_life_days`` (``inf``: a running count), starting from
    ``prior_records`` each. ``policy="top"`` patrols the area ranked first (ties at random);
    ``"proportional"`` patrols A with probability equal to A's share of the ranking. ``guard``:
    ``"none"`` (every record weight 1), ``"exclude"`` (police-generated records weight 0: only reports
    update the ranking) or ``"reweight"`` (:func:`inverse_discovery_weight` with the day's probability of
    patrolling each area as the presence share). ``record_weights`` (victim-reported, police-generated)
    multiply those weights [ranking units per record], e.g. a fitted model's harm weight of each kind;
    ``prior_records`` is then in the same units.

    Returns
    -------
    FeedbackSimulation
        Daily patrols and scores for ``n_seeds`` independent runs from ``numpy.random.default_rng(seed)``.
    """
    if policy not in POLICIES:
        raise HotspotError(f"policy must be one of {POLICIES}, got {policy!r}")
    if guard not in GUARDS:
        raise HotspotError(f"guard must be one of {GUARDS}, got {guard!r}")
    if len(record_weights) != 2 or min(record_weights) < 0:
        raise HotspotError(f"record_weights is (victim-reported, police-generated) >= 0, got {record_weights!r}")
    rng = np.random.default_rng(seed)
    keep = 0.5 ** (1.0 / half_life_days) if np.isfinite(half_life_days) else 1.0
    score = np.full((n_seeds, 2), float(prior_records))
    patrolled_a = np.zeros((n_seeds, n_days), bool)
    hist = np.zeros((2, n_seeds, n_days))
    # one record of each kind, for the guard functions: column 0 victim-reported, column 1 police-generated
    pg = is_police_generated(np.array(["Violence and sexual offences", "Drugs"], dtype=object))
    for d in range(n_days):
        share_a = score[:, 0] / score.sum(axis=1)
        if policy == "top":
            tie = score[:, 0] == score[:, 1]
            go_a = np.where(tie, rng.random(n_seeds) < 0.5, score[:, 0] > score[:, 1])
            p_a = go_a.astype(float)  # a deterministic ranking sends police with probability 1 or 0
        else:
            p_a = share_a
            go_a = rng.random(n_seeds) < p_a
        reported = rng.poisson(victim_rate_per_day * reporting_prob, size=(n_seeds, 2))
        found = rng.poisson(police_found_rate_per_day * discovery_prob, size=n_seeds)
        if guard == "none":
            w_pg = np.ones(n_seeds)
        elif guard == "exclude":
            w_pg = np.where(np.broadcast_to(pg[1], n_seeds), 0.0, 1.0)
        else:
            p_here = np.where(go_a, p_a, 1.0 - p_a)
            w_pg = inverse_discovery_weight(np.broadcast_to(pg[1], n_seeds), p_here, floor=floor)
        w_rep = inverse_discovery_weight(np.broadcast_to(pg[0], n_seeds), np.ones(n_seeds), floor=floor)
        add = reported * (w_rep * record_weights[0])[:, None]
        w_pg = w_pg * record_weights[1]
        add[:, 0] += np.where(go_a, found * w_pg, 0.0)
        add[:, 1] += np.where(go_a, 0.0, found * w_pg)
        score = score * keep + add
        patrolled_a[:, d] = go_a
        hist[0, :, d] = score[:, 0]
        hist[1, :, d] = score[:, 1]
    return FeedbackSimulation(patrolled_a=patrolled_a, score_a=hist[0], score_b=hist[1], policy=policy, guard=guard)

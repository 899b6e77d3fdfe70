"""The place-day randomisation framework on SYNTHETIC spot-day tables (seeded Poisson counts, hand-made
re-draws): fixed effects without the reference spot, non-finite re-draws, p-value and inverted interval
agreeing, carry-over, the dose-response instrument."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from patrol_planner.evaluation import effects as E
from patrol_planner.evaluation.countmodel import fit_rate_ratio, fixed_effects
from patrol_planner.evaluation.design import KOfNDailyDesign, reference_matrix
from patrol_planner.evaluation.inference import MHStatistic, infer, strata_codes, two_sided_p
from patrol_planner.evaluation.randomisation import null_expected, randomisation_test

START = date(2025, 1, 6)


def synthetic(n_spots: int = 10, days: int = 140, k: int = 5, *, rr: float = 1.0, seed: int = 0,
              base: float = 0.4) -> tuple[pd.DataFrame, KOfNDailyDesign]:
    """SYNTHETIC spot-days: K of N treated a day, Poisson crime with spot rates from ``base``/2 to 2``base``."""
    ids = [f"S{i + 1:02d}" for i in range(n_spots)]
    design = KOfNDailyDesign(ids, [START + timedelta(days=i) for i in range(days)], k)
    sched = design(seed)
    rng = np.random.default_rng(seed + 100)
    rate = np.tile(np.geomspace(base / 2, base * 2, n_spots), days)
    y = rng.poisson(rate * np.where(sched["treated"] == 1, rr, 1.0))
    table = sched[["date", "spot_id", "treated"]].assign(
        crimes=y, dow=pd.to_datetime(sched["date"]).dt.day_of_week)
    return table, design


def _ref(table, design, n=199, seed=1):
    return reference_matrix(design, pd.MultiIndex.from_arrays([table["date"], table["spot_id"]]), n, seed=seed)


def test_fixed_effects_without_the_reference_spot_give_a_sane_interval():
    """S01 (the reference level of the spot dummies) has no crimes: it is left out, and with fixed effects built
    on the full table the old design was collinear (interval 0.0013-761). Now the interval is finite and sane."""
    table, _ = synthetic(seed=1)
    table.loc[table["spot_id"] == "S01", "crimes"] = 0
    fe = fixed_effects(table)
    without = table[table["spot_id"] != "S01"]
    for se, family in (("day", "poisson"), ("hc0", "poisson"), ("day", "negative_binomial")):
        r = fit_rate_ratio(table, se=se, family=family, fe=fe)[0]
        assert r.spots_dropped == 1 and r.n_spots == 9
        alone = fit_rate_ratio(without, se=se, family=family)[0]
        assert 0.8 < r.ci_low < 1.0 < r.ci_high < 1.4, (se, family)
        assert (r.ci_low, r.ci_high) == pytest.approx((alone.ci_low, alone.ci_high), rel=1e-4), (se, family)
    mu = null_expected(table, "crimes", fe=fe)
    assert np.isfinite(mu).all() and mu.sum() == pytest.approx(table["crimes"].sum(), rel=1e-6)


def test_non_finite_redraws_count_as_extreme():
    """A re-draw with every event on one arm has a non-finite statistic: it is the most extreme split and
    counts in the p-value (it used to be dropped while still dividing by 1 + draws)."""
    assert two_sided_p(0.5, np.array([np.inf, -np.inf, np.nan, 0.1, 0.6]))[0] == pytest.approx(5 / 6)
    assert two_sided_p(-np.inf, np.array([np.inf, 0.1, 3.0]))[0] == pytest.approx(2 / 4)
    # the O/E test: 3 spot-days, crimes 2, 1, 0, expected 1 each. Observed (row 0 treated): log(2/1) - log(1/2)
    # = log 4. Treating row 2 leaves no treated crime (-inf, the most extreme); treating row 1 gives 0.
    table = pd.DataFrame({"date": [START] * 3, "spot_id": ["A", "B", "C"], "treated": [1, 0, 0],
                          "crimes": [2, 1, 0], "dow": 0})
    mu0 = np.ones(3)
    ref = np.array([[0, 0, 1]] * 9 + [[0, 1, 0]] * 10)
    assert randomisation_test(table, ref, mu0=mu0).p_value == pytest.approx((1 + 9) / 20)  # not 1/20
    ref0 = np.array([[0, 0, 0]] * 9 + [[1, 0, 0]])  # nine re-draws treat nothing: non-finite, extreme
    assert randomisation_test(table, ref0, mu0=mu0).p_value == pytest.approx(1.0)


@pytest.mark.parametrize("rr,seed", [(1.0, 0), (1.0, 1), (0.6, 2), (0.7, 3), (1.5, 4)])
def test_p_value_and_inverted_interval_agree(rr, seed):
    """p < 0.05 exactly when 1 is outside the interval; p(estimate) = 1; the estimate is inside the interval."""
    table, design = synthetic(rr=rr, seed=seed)
    ref = _ref(table, design)
    inf = E.headline(table, ref, strata_codes(table, 7))
    assert inf.ci_low < inf.rate_ratio < inf.ci_high
    assert (inf.p_value < 0.05) == (not inf.ci_low <= 1.0 <= inf.ci_high)
    if rr != 1.0:
        assert inf.ci_low < rr < inf.ci_high


def test_the_interval_is_the_set_of_ratios_the_test_does_not_reject():
    """At the interval's ends the test of H0: rate ratio = end gives p close to 0.05 (from above inside)."""
    from patrol_planner.evaluation.inference import InvertedTest

    table, design = synthetic(rr=0.7, seed=5)
    ref = _ref(table, design)
    s = strata_codes(table, 7)
    inf = E.headline(table, ref, s)
    test = InvertedTest(MHStatistic(s, table["treated"].to_numpy(), ref), table["crimes"].to_numpy(float),
                        table["treated"].to_numpy(float))
    for end, out in ((inf.ci_low, 0.97), (inf.ci_high, 1.03)):
        assert test.p(np.log(end))[0] >= 0.05
        assert test.p(np.log(end * out))[0] < 0.05


def test_carry_over_found_when_planted_and_not_otherwise():
    """SYNTHETIC: crime 40% lower on the day after a patrol day at the same spot is found at lag 1 only."""
    table, design = synthetic(n_spots=12, days=280, k=6, base=0.8, seed=7)
    ref = _ref(table, design)
    s = strata_codes(table, 7)
    none = E.carry_over(table, ref, s, 1.0)
    assert all(i.p_value > 0.01 for i in none)
    prev = E.lagged(table["treated"].to_numpy(), 12, 1) if hasattr(E, "lagged") else None
    from patrol_planner.evaluation.inference import lagged

    prev = lagged(table["treated"].to_numpy(), 12, 1)
    rng = np.random.default_rng(1)
    thinned = table.assign(crimes=np.where(prev == 1, rng.binomial(table["crimes"], 0.6), table["crimes"]))
    got = {i.term: i for i in E.carry_over(thinned, ref, s, 1.0)}
    lag1 = got["patrolled 1 day(s) before"]
    assert lag1.p_value < 0.05 and lag1.ci_low < 0.6 < lag1.ci_high


def test_dose_response_recovers_a_known_effect_per_15_minutes():
    """SYNTHETIC programme with a known dose effect: crime falls 20% per 15 minutes present; treated days get
    0-45 minutes (some missed), a few control days get some (contamination). Presence also depends on the
    spot's crime (officers go where it is busy), so "as delivered" is biased; the instrument is not."""
    table, design = synthetic(n_spots=12, days=280, k=6, base=0.8, seed=11)
    rng = np.random.default_rng(5)
    busy = table["spot_id"].isin(["S10", "S11", "S12"]).to_numpy()
    t = table["treated"].to_numpy() == 1
    minutes = np.where(t, rng.choice([0, 15, 30, 45], size=len(t), p=[0.2, 0.3, 0.3, 0.2]), 0.0)
    minutes = np.where(~t & busy & (rng.random(len(t)) < 0.3), 15.0, minutes)
    rate = np.tile(np.geomspace(0.4, 1.6, 12), 280)
    y = rng.poisson(rate * 0.8 ** (minutes / 15))
    table = table.assign(crimes=y, minutes_present=minutes)
    inf = E.dose_response(table, _ref(table, design, n=299), strata_codes(table, 7))
    assert inf.ci_low < 0.8 < inf.ci_high and inf.ci_high < 1
    assert abs(inf.rate_ratio - 0.8) < 0.08
    assert inf.p_value < 0.05 and inf.events >= 50


def test_spill_over_needs_neighbours():
    """Spots with no neighbour within the distance give no spill-over estimate; adjacent ones do."""
    import shapely

    sq = {f"S{i + 1:02d}": shapely.box(i * 1000.0, 0, i * 1000.0 + 100, 100) for i in range(10)}
    assert not E.neighbours(sq, 100).any()
    sq["S02"] = shapely.box(150.0, 0, 250, 100)  # 50 m from S01
    adj = E.neighbours(sq, 100)
    assert adj[0, 1] == adj[1, 0] == 1 and adj.sum() == 2
    table, design = synthetic(seed=2)
    table = table.assign(ring_crimes=table["crimes"])
    out = E.spill_over(table, _ref(table, design), strata_codes(table, 7), 1.0, adj)
    assert [i.outcome for i in out] == ["crimes", "ring_crimes"] and all(0 < i.p_value <= 1 for i in out)
    assert E.spill_over(table, _ref(table, design), strata_codes(table, 7), 1.0, np.zeros((10, 10))) == []


def test_infer_refuses_an_outcome_without_events():
    table, design = synthetic(seed=1)
    with pytest.raises(Exception, match="no crimes"):
        infer(MHStatistic(strata_codes(table, 7), table["treated"].to_numpy(), _ref(table, design)),
              np.zeros(len(table)))


def test_harm_weighted_design_is_weighted_by_its_probabilities():
    """SYNTHETIC harm-weighted design: busy spots are treated on 80% of days, quiet ones on 20%. With no effect
    the naive pooled ratio (all treated-day crime over all control-day crime, per day) reads a large "increase";
    the MH ratio over spot x block strata (the design's probabilities) stays near 1 and the test holds its size."""
    from patrol_planner.programme import randomise as rz

    n, days, block = 10, 140, 7
    p = np.linspace(0.2, 0.8, n)
    ids = [f"S{i + 1:02d}" for i in range(n)]
    dates = [START + timedelta(days=i) for i in range(days)]

    def design(seed: int) -> pd.DataFrame:
        m = rz.draw_harm(p, days, block, np.random.default_rng(seed))
        return pd.DataFrame({"date": np.repeat(np.array(dates, dtype=object), n), "spot_id": ids * days,
                             "treated": m.ravel().astype(int)})

    index = pd.MultiIndex.from_arrays([np.repeat(np.array(dates, dtype=object), n), ids * days])
    ref = reference_matrix(design, index, 199, seed=1)
    rate = np.tile(np.geomspace(0.1, 1.5, n), days)  # busier spots have the higher p
    rng = np.random.default_rng(3)
    naive, mh, rejections = [], [], 0
    for seed in range(12):
        t = design(100 + seed)["treated"].to_numpy()
        y = rng.poisson(rate)
        table = pd.DataFrame({"date": index.get_level_values(0), "spot_id": ids * days, "treated": t, "crimes": y})
        naive.append((y[t == 1].sum() / (t == 1).sum()) / (y[t == 0].sum() / (t == 0).sum()))
        inf = E.headline(table, ref, strata_codes(table, block))
        mh.append(inf.rate_ratio)
        rejections += inf.p_value < 0.05
    assert np.mean(naive) > 1.5
    assert abs(np.exp(np.mean(np.log(mh))) - 1) < 0.06
    assert rejections <= 2

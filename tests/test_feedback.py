"""Tests for hotspots.feedback: police-generated records, the discovery correction, the feedback loop.

Real data: ``data/policeuk-leicestershire-2022`` (police.uk, Jul-Aug 2022). The loop simulation is
seeded and runs 200 independent seeds per setting through the module's own guard functions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchlib.feedback_sim import simulate_patrol_feedback
from patrol_planner.errors import HotspotError
from patrol_planner.hotspots import HotspotModel, select_hotspots
from patrol_planner.hotspots.feedback import (
    DEFAULT_FLOOR,
    DEFAULT_FLOOR_MINUTES,
    POLICE_GENERATED_CATEGORIES,
    discovery_weights,
    inverse_discovery_weight,
    is_police_generated,
    police_generated_share,
)
from patrol_planner.incidents import ingest
from patrol_planner.incidents import schema as incident_schema
from patrol_planner.incidents.schema import COLUMNS, DTYPES

REPO = Path(__file__).resolve().parents[1]
LEIC = REPO / "data" / "policeuk-leicestershire-2022"
N_SEEDS = 200


@pytest.fixture(scope="module")
def leic() -> pd.DataFrame:
    """Both Leicestershire months, ingested."""
    return ingest(sorted(LEIC.glob("*.csv"))).incidents


@pytest.fixture(scope="module")
def scored(leic: pd.DataFrame) -> tuple[HotspotModel, pd.DataFrame]:
    """The weighted score (whose breakdowns the share splits) on Leicestershire, at the end of the data."""
    m = HotspotModel(ranker="weighted").fit(leic)
    return m, m.score(leic["occurred_to"].max())


# -- which records are police-generated -----------------------------------------------------------------
def test_police_generated_categories_are_drugs_weapons_and_searches() -> None:
    """Exactly Drugs, Possession of weapons and stop-and-search are flagged, of every category the incident
    table may hold; victim crimes and missing are not, whether given as a list, a Series or an array; the
    constant the feedback module exports is the incident schema's set."""
    police = {"Drugs", "Possession of weapons", "Stop and search"}
    assert POLICE_GENERATED_CATEGORIES == incident_schema.POLICE_GENERATED_CATEGORIES == frozenset(police)
    cats = [*incident_schema.INCIDENT_CATEGORIES, None]
    expected = [c in police for c in cats]
    assert sum(expected) == 3
    for given in (cats, pd.Series(cats), np.array(cats, dtype=object)):
        assert is_police_generated(given).tolist() == expected


# -- the correction ---------------------------------------------------------------------------------------
def test_inverse_discovery_weight_is_one_over_presence_floored() -> None:
    """Police-generated records get 1/max(share, floor), capped at 1/floor; victim records always 1."""
    pg = np.array([True, True, True, True, False, False])
    share = np.array([1.0, 0.5, 0.01, 0.0, 0.0, 0.5])
    w = inverse_discovery_weight(pg, share, floor=0.05)
    np.testing.assert_allclose(w, [1.0, 2.0, 20.0, 20.0, 1.0, 1.0])
    with pytest.raises(HotspotError, match="floor"):
        inverse_discovery_weight(pg, share, floor=0.0)
    with pytest.raises(HotspotError, match="probability"):
        inverse_discovery_weight(pg, share * 3, floor=0.05)


def test_discovery_weights_on_leicestershire_with_presence_by_cell(scored, leic: pd.DataFrame) -> None:
    """Monthly police.uk records matched to daily presence by cell (unnormalised, floor 5%): half-day
    presence all July gives a police-generated July record weight 2, presence below the floor (or none)
    and August (no presence) give 1/floor, every victim-reported record keeps weight 1; normalised, the
    police-generated weights average 1 with the same ratios; the minutes default floor is 5 min/day."""
    m, cells = scored
    cell_of = m.grid_.cell_ids(*m.grid_.index(leic["x_m"].to_numpy(), leic["y_m"].to_numpy()))
    pg = is_police_generated(leic["category"])
    july = (leic["occurred_from"] < "2022-08-01").to_numpy()
    busy = pd.Series(cell_of[pg & july]).value_counts().index[:2]
    a, b = busy[0], busy[1]
    days = pd.date_range("2022-07-01", "2022-07-31", freq="D")
    presence = pd.concat([
        pd.DataFrame({"date": days, "cell_id": a, "minutes_present": 720.0}),
        pd.DataFrame({"date": days[:10], "cell_id": b, "minutes_present": 15.0}),
    ])
    w = discovery_weights(leic, presence, grid=m.grid_, freq="M", floor=DEFAULT_FLOOR, normalise=False)
    assert w.shape == (len(leic),)
    assert (w[~pg] == 1.0).all()
    np.testing.assert_allclose(w[pg & july & (cell_of == a)], 2.0)
    np.testing.assert_allclose(w[pg & (cell_of == b)], 1 / DEFAULT_FLOOR)
    np.testing.assert_allclose(w[pg & ~july], 1 / DEFAULT_FLOOR)
    assert w.max() <= 1 / DEFAULT_FLOOR
    # the same presence as a share of the day, given per place column instead of a grid
    share = presence.assign(share=presence["minutes_present"] / 1440.0)
    w2 = discovery_weights(leic.assign(cell_id=cell_of), share, minutes_col=None, share_col="share", freq="M",
                           normalise=False)
    np.testing.assert_allclose(w2, w)
    wn = discovery_weights(leic, presence, grid=m.grid_, freq="M", floor=DEFAULT_FLOOR)
    assert (wn[~pg] == 1.0).all()
    assert wn[pg].mean() == pytest.approx(1.0)
    np.testing.assert_allclose(wn[pg] / wn[pg].max(), w[pg] / w[pg].max())
    # default floor for minutes: 5 min/day; b's 150 min over 31 days (4.8 min/day) sits just under it
    wd = discovery_weights(leic, presence, grid=m.grid_, freq="M", normalise=False)
    np.testing.assert_allclose(wd[pg & (cell_of == b)], 1440.0 / DEFAULT_FLOOR_MINUTES)
    np.testing.assert_allclose(wd[pg & july & (cell_of == a)], 2.0)


def test_discovery_weights_recover_equal_true_rates_under_unequal_presence() -> None:
    """Calibration on a known truth: 20 places with the same police-findable offending (10/day), half
    patrolled 1-12 h a day and half 10-60 min, each offence found with probability minutes/1440 that day.
    Raw found counts differ by > 5x between the groups; the inverse-discovery weights (table function,
    daily presence) bring each group's mean per-place total within 10% of the true 3,650 a year."""
    rng = np.random.default_rng(5)
    days = pd.date_range("2024-01-01", periods=365, freq="D")
    places = np.array([f"p{i:02d}" for i in range(20)])
    high = np.arange(20) < 10
    lo_min = np.where(high, 60.0, 10.0)[:, None]
    hi_min = np.where(high, 720.0, 60.0)[:, None]
    minutes = rng.uniform(lo_min, hi_min, size=(20, 365))
    found = rng.binomial(rng.poisson(10.0, size=(20, 365)), minutes / 1440.0)
    pi, di = np.nonzero(found)
    reps = found[pi, di]
    inc = pd.DataFrame({"category": "Drugs", "occurred_from": np.repeat(days[di], reps),
                        "place": np.repeat(places[pi], reps)})
    presence = pd.DataFrame({"date": np.tile(days, 20), "place": np.repeat(places, 365),
                             "minutes_present": minutes.ravel()})
    w = discovery_weights(inc, presence, place_col="place", normalise=False)
    raw = inc.groupby("place").size().reindex(places).to_numpy(float)
    est = pd.Series(w).groupby(inc["place"].to_numpy()).sum().reindex(places).to_numpy()
    assert raw[high].mean() > 5 * raw[~high].mean()
    for group in (high, ~high):
        assert est[group].mean() == pytest.approx(3650.0, rel=0.10)


def test_discovery_weights_reject_bad_presence(leic: pd.DataFrame) -> None:
    """More than 1440 minutes in a day, text for minutes, a missing column or an undated row is a one-line
    HotspotError."""
    inc = leic.assign(cell_id="c1")
    bad = pd.DataFrame({"date": ["2022-07-01"], "cell_id": ["c1"], "minutes_present": [2000.0]})
    with pytest.raises(HotspotError, match="1440"):
        discovery_weights(inc, bad, freq="M")
    with pytest.raises(HotspotError, match="1440"):
        discovery_weights(inc, bad.assign(minutes_present="ten"), freq="M")
    with pytest.raises(HotspotError, match="lacks columns"):
        discovery_weights(inc, bad.drop(columns="minutes_present"), freq="M")
    with pytest.raises(HotspotError, match="no valid"):
        discovery_weights(inc, bad.assign(date="not a date", minutes_present=10.0), freq="M")


# -- share of a score from police-generated records -------------------------------------------------------
def test_police_generated_share_equals_fitting_without_them(scored, leic: pd.DataFrame) -> None:
    """The breakdown-based police-generated part of each cell's score (own + neighbour smoothing) equals the
    score lost when the model is refitted without police-generated records; cells that vanish held only
    police-generated records."""
    _, cells = scored
    out = police_generated_share(cells)
    assert out["cell_id"].tolist() == cells["cell_id"].tolist()
    assert out["police_generated_share"].between(0, 1).all()
    assert out["score_police_generated"].sum() > 0
    kept = leic[~is_police_generated(leic["category"])]
    without = HotspotModel(ranker="weighted").fit(kept).score(leic["occurred_to"].max())
    lost = out.set_index("cell_id")["score"] - without.set_index("cell_id")["score"]
    both = lost.dropna().index
    np.testing.assert_allclose(lost[both].to_numpy(),
                               out.set_index("cell_id").loc[both, "score_police_generated"].to_numpy(),
                               rtol=1e-9, atol=1e-9)
    gone = out[~out["cell_id"].isin(without["cell_id"])]
    assert len(gone) > 0
    np.testing.assert_allclose(gone["police_generated_share_own"], 1.0)


def test_police_generated_share_on_a_hex_grid_with_more_smoothing(leic: pd.DataFrame) -> None:
    """On hexagons (6 neighbours) with smoothing 0.25 the breakdown-based police-generated part again equals
    the score lost by refitting without police-generated records, and enforcement_weight 0 gives share 0."""
    params = {"grid": "hex", "smoothing": 0.25, "enforcement_weight": 1.0}
    as_of = leic["occurred_to"].max()
    out = police_generated_share(HotspotModel(**params).fit(leic).score(as_of)).set_index("cell_id")
    without = HotspotModel(**params).fit(leic[~is_police_generated(leic["category"])]).score(as_of)
    without = without.set_index("cell_id")["score"]
    both = without.index
    np.testing.assert_allclose((out.loc[both, "score"] - without).to_numpy(),
                               out.loc[both, "score_police_generated"].to_numpy(), rtol=1e-9, atol=1e-9)
    zero = police_generated_share(HotspotModel(grid="hex", enforcement_weight=0.0).fit(leic).score(as_of))
    assert (zero["police_generated_share"] == 0).all()


def test_police_generated_share_refuses_a_selection(scored) -> None:
    """A top-N selection lacks neighbours' scores: refused rather than understated."""
    _, cells = scored
    with pytest.raises(HotspotError, match="whole table"):
        police_generated_share(select_hotspots(cells, top=20))


# -- the feedback loop ------------------------------------------------------------------------------------
def test_top_ranked_patrol_runs_away_without_guard_and_not_with_exclusion() -> None:
    """Two areas, equal true rates, the patrol goes to the top-ranked area each day (7-day half-life):
    unguarded, >= 95% of 200 seeds spend > 90% of 365 days in one area; excluding police-generated
    records from the ranking, <= 5% do, >= 75% stay within 35-65%, the mean share is 50 +- 3% and the
    ranking's estimate ends within 35-65% in >= 90% of seeds. Inverse-probability reweighting cannot help
    a deterministic ranking (the unpatrolled area has discovery probability 0): it still runs away."""
    kw = {"policy": "top", "half_life_days": 7.0, "n_days": 365, "n_seeds": N_SEEDS, "seed": 1}
    none = simulate_patrol_feedback(guard="none", **kw)
    excl = simulate_patrol_feedback(guard="exclude", **kw)
    rew = simulate_patrol_feedback(guard="reweight", **kw)
    assert np.mean(none.concentration > 0.9) >= 0.95
    assert np.mean(excl.concentration > 0.9) <= 0.05
    share = excl.patrol_share_a
    assert np.mean((share > 0.35) & (share < 0.65)) >= 0.75
    assert abs(share.mean() - 0.5) < 0.03
    est = excl.estimated_share_a
    assert np.mean((est > 0.35) & (est < 0.65)) >= 0.90
    assert np.mean(rew.concentration > 0.9) >= 0.95


def test_proportional_patrol_drifts_without_guard_and_converges_with_reweighting() -> None:
    """Patrol sent in proportion to the ranking (running counts, 365 days, reports 0.2/day/area, finds
    2/day where patrolled): unguarded, the patrol share ends within 35-65% in <= 60% of 200 seeds (a
    Polya-urn drift); with the inverse-discovery weights of the day's patrol probability, >= 90% do, and
    excluding police-generated records >= 95%."""
    kw = {"policy": "proportional", "reporting_prob": 0.1, "n_days": 365, "n_seeds": N_SEEDS, "seed": 2}

    def near_half(sim) -> float:
        s = sim.patrol_share_a
        return float(np.mean((s > 0.35) & (s < 0.65)))

    assert near_half(simulate_patrol_feedback(guard="none", **kw)) <= 0.60
    assert near_half(simulate_patrol_feedback(guard="reweight", **kw)) >= 0.90
    assert near_half(simulate_patrol_feedback(guard="exclude", **kw)) >= 0.95


def model_record_weights(police_category: str, **params: float) -> tuple[float, float]:
    """(victim, police-generated) record weight [harm-days] the real HotspotModel gives one Violence record
    and one ``police_category`` record (no decay, no smoothing), read from its scored cells."""
    base = {"source_kind": "police_uk_street", "occurred_from": pd.Timestamp("2022-07-01"),
            "occurred_to": pd.Timestamp("2022-07-01"), "time_known": False, "lon": 0.0, "lat": 0.0,
            "confidence": 1.0, "handling_code": pd.NA, "disseminate": True, "location": pd.NA,
            "source_file": "crafted", "source_line": 0, "y_m": 300050.0}
    rows = [{**base, "incident_id": "v", "category": "Violence and sexual offences", "x_m": 450050.0},
            {**base, "incident_id": "p", "category": police_category, "x_m": 460050.0}]
    df = pd.DataFrame(rows)[list(COLUMNS)].astype(DTYPES)
    df.attrs["crs"] = "EPSG:27700"
    model = HotspotModel(half_life_days=float("inf"), smoothing=0.0, ranker="weighted", **params)
    cells = model.fit(df).score("2022-07-02")
    v, p = cells.sort_values("x_m")["score_own"]
    return float(v), float(p)


def test_model_harm_weights_decide_whether_the_loop_returns() -> None:
    """Ranking by the real HotspotModel's record weights (top-ranked patrol, 30-day half-life, 200 seeds):
    Drugs at the default enforcement_weight concentrates no more often than excluding police-generated
    records (within 5 points); Possession of weapons at enforcement_weight 1 (its full CCHI value) runs away
    (>= 95% of seeds > 90% in one area); at the default 0.05 weapons still concentrate more often than
    exclusion does, which is why the default should exclude them from victim harm."""
    kw = {"policy": "top", "half_life_days": 30.0, "n_days": 365, "n_seeds": N_SEEDS, "seed": 4}

    def concentrated(weights: tuple[float, float], guard: str = "none") -> float:
        sim = simulate_patrol_feedback(guard=guard, record_weights=weights, prior_records=weights[0], **kw)
        return float(np.mean(sim.concentration > 0.9))

    drugs = model_record_weights("Drugs")
    baseline = concentrated(drugs, guard="exclude")
    assert drugs[1] < 0.01 * drugs[0]
    assert concentrated(drugs) <= baseline + 0.05
    assert concentrated(model_record_weights("Possession of weapons", enforcement_weight=1.0)) >= 0.95
    assert concentrated(model_record_weights("Possession of weapons")) > baseline + 0.03


def test_simulation_is_deterministic_and_checks_its_arguments() -> None:
    """The same seed gives the same patrols; an unknown policy or guard is a HotspotError."""
    a = simulate_patrol_feedback(n_days=30, n_seeds=5, seed=3)
    b = simulate_patrol_feedback(n_days=30, n_seeds=5, seed=3)
    assert (a.patrolled_a == b.patrolled_a).all()
    with pytest.raises(HotspotError, match="policy"):
        simulate_patrol_feedback(policy="random")
    with pytest.raises(HotspotError, match="guard"):
        simulate_patrol_feedback(guard="ignore")
    with pytest.raises(HotspotError, match="record_weights"):
        simulate_patrol_feedback(record_weights=(1.0, -1.0))


def test_fit_takes_discovery_weights_as_sample_weight(leic):
    """HotspotModel.fit(sample_weight=...) scales each record's contribution: doubling every police-generated
    record's weight doubles the police-generated part of every score; a weight per row is required."""
    from patrol_planner.errors import HotspotError

    inc = leic
    pg = is_police_generated(inc["category"])
    as_of = inc["occurred_to"].max()
    base = HotspotModel(enforcement_weight=1.0, ranker="weighted").fit(inc).score(as_of).set_index("cell_id")
    w = np.where(pg, 2.0, 1.0)
    doubled = HotspotModel(enforcement_weight=1.0, ranker="weighted").fit(inc, sample_weight=w).score(as_of)
    doubled = doubled.set_index("cell_id").reindex(base.index)
    assert np.allclose(doubled["police_generated_score"], 2 * base["police_generated_score"], rtol=1e-9)
    assert (base["police_generated_score"] > 0).any()
    with pytest.raises(HotspotError, match="sample_weight"):
        HotspotModel().fit(inc, sample_weight=np.ones(3))

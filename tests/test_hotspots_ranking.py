"""Lagged-count features, the learned ranker and the automatic choice of ranking.

The bundled Leicestershire data hold two months; to exercise learning (which needs several) a six-month
table is made from them: month k re-uses July's (k even) or August's (k odd) records, a seeded 85% sample,
dated in month k. It pins mechanics (no look-ahead, provenance, explanations, determinism), not accuracy:
accuracy is measured on the real multi-month sets in ../shared (``docs/hotspots.md``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from patrol_planner.errors import HotspotError, NotFittedError
from patrol_planner.hotspots import HotspotModel
from patrol_planner.hotspots.choice import captured, choose_ranking
from patrol_planner.hotspots.features import CellHistory, feature_names
from patrol_planner.hotspots.grid import pack
from patrol_planner.hotspots.learned import _FIT_CACHE, LearnedRanker
from patrol_planner.incidents import ingest

REPO = Path(__file__).resolve().parents[1]
LEIC = REPO / "data" / "policeuk-leicestershire-2022"


@pytest.fixture(scope="module")
def six_months() -> pd.DataFrame:
    """Six months (2022-03..08) re-dated from the two bundled Leicestershire months."""
    inc = ingest(sorted(LEIC.glob("*.csv"))).incidents
    month = pd.DatetimeIndex(inc["occurred_from"]).month
    rng = np.random.default_rng(7)
    parts = []
    for k, start in enumerate(pd.date_range("2022-03-01", periods=6, freq="MS")):
        src = inc[month == (7 if k % 2 == 0 else 8)]
        src = src[rng.random(len(src)) < 0.85].copy()
        src["occurred_from"] = start
        src["occurred_to"] = start + pd.offsets.MonthBegin(1)
        src["incident_id"] = src["incident_id"].astype(str) + f"-m{k}"
        parts.append(src)
    out = pd.concat(parts, ignore_index=True)
    out.attrs["crs"] = inc.attrs["crs"]
    return out


def test_features_read_only_months_before_the_as_of(six_months: pd.DataFrame) -> None:
    """Changing or deleting the as-of's month and later never changes the features at that as-of; the
    rates are per month and the neighbour sums add the eight neighbours."""
    hist = CellHistory.from_incidents(six_months, 100.0)
    rows, X = hist.features(pd.Timestamp("2022-06-01"))
    early = six_months[six_months["occurred_from"] < "2022-06-01"]
    h2 = CellHistory.from_incidents(early, 100.0)
    rows2, X2 = h2.features(pd.Timestamp("2022-06-01"))
    a = pd.DataFrame(X, index=hist.keys[rows]).sort_index()
    b = pd.DataFrame(X2, index=h2.keys[rows2]).sort_index()
    pd.testing.assert_frame_equal(a, b)
    names = feature_names()
    assert X.shape[1] == len(names)
    i = int(np.argmax(X[:, names.index("violence_all")]))
    cell = hist.counts[rows[i], :3, names.index("violence_all") // 3]
    assert X[i, names.index("violence_all")] == pytest.approx(cell.sum() / 3)
    nb = hist.neighbours[rows[i]]
    nb_sum = sum(hist.counts[j, :3, :].sum() for j in nb if j >= 0) / 3
    all_cols = [names.index(f"nb_{s}_all") for s in ("asb", "violence", "burglary", "vehicle", "shoplifting",
                                                     "bike", "damage", "drugs", "other_crime", "other_theft",
                                                     "weapons", "public_order", "robbery", "theft_person")]
    assert X[i, all_cols].sum() == pytest.approx(nb_sum, rel=1e-5)


@pytest.mark.slow
def test_learned_ranker_needs_months_and_explains(six_months: pd.DataFrame) -> None:
    """Too few months is a clear error; a fitted ranker predicts non-negative harm for every cell with a
    record before the as-of, deterministically, with its drivers named; unfitted use raises."""
    hist = CellHistory.from_incidents(six_months, 100.0)
    with pytest.raises(NotFittedError):
        LearnedRanker().predict()
    with pytest.raises(HotspotError, match="needs 2 months"):
        LearnedRanker().fit(hist, "2022-05-01")
    lr = LearnedRanker(max_iter=30).fit(hist, "2022-08-01")
    assert lr.train_months_ == ["2022-04", "2022-05", "2022-06", "2022-07"]
    p = lr.predict()
    assert (p["score"] >= 0).all() and len(p) == int((hist.counts[:, :5].sum(axis=(1, 2)) > 0).sum())
    _FIT_CACHE.clear()  # a cached regressor would make the refit below trivially identical
    refit = LearnedRanker(max_iter=30).fit(hist, "2022-08-01")
    assert refit.regressor_ is not lr.regressor_
    again = refit.predict()
    pd.testing.assert_frame_equal(p.set_index("key").sort_index(), again.set_index("key").sort_index(),
                                  check_exact=True)
    top = p.sort_values("score").iloc[-1]
    d = lr.drivers(int(top["key"]))
    assert top["top_drivers"].split(",")[0] == next(iter(d))
    assert max(d.values()) > 0


def test_captured_counts_by_hand() -> None:
    """Harm captured by the top n cells, the last one pro rata, zero-score cells never chosen."""
    hist = CellHistory.from_incidents(pd.DataFrame({
        "category": ["Robbery", "Burglary", "Shoplifting"], "x_m": [50.0, 150.0, 250.0], "y_m": [50.0] * 3,
        "occurred_from": pd.to_datetime(["2022-01-05"] * 3)}), 100.0)
    target = np.array([10.0, 30.0, 60.0])
    keys = hist.keys
    got = captured(keys, np.array([3.0, 2.0, 0.0]), target, hist, [1, 1.5, 3])
    np.testing.assert_allclose(got, [0.1, 0.25, 0.4])


@pytest.mark.slow
def test_auto_choice_uses_only_earlier_months_and_is_recorded(six_months: pd.DataFrame) -> None:
    """The automatic choice picks its ranking on the months before the as-of (never the as-of's month),
    records the choice with the scores, and the same data give the same choice and ranking; with too
    little history it falls back to the shrunk ranking and says why."""
    m = HotspotModel(ranker="auto").fit(six_months)
    cells = m.score("2022-08-01")
    info = cells.attrs["ranking"]
    assert info["method"] in ("harm", "shrunk", "weighted", "learned", "blend")
    assert info["choice"]["folds"] and max(info["choice"]["folds"]) < "2022-08"
    assert set(info["choice"]["merit"]) == {"harm", "shrunk", "weighted", "learned", "blend"}
    assert info["method"] == info["choice"]["chosen"] and m.ranking_ == info
    # the breakdown still sums to the score, whatever the ranking
    parts = cells.filter(like="score_age_").sum(axis=1)
    np.testing.assert_allclose(parts, cells["score_own"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(cells["score_own"] + cells["score_neighbours"], cells["score"], rtol=1e-9)
    # changing next month cannot change this month's choice
    later = six_months[six_months["occurred_from"] < "2022-08-01"]
    m2 = HotspotModel(ranker="auto").fit(later)
    c2 = m2.score("2022-08-01")
    assert c2.attrs["ranking"]["method"] == info["method"]
    pd.testing.assert_series_equal(cells["cell_id"].head(50), c2["cell_id"].head(50))
    short = HotspotModel(ranker="auto").fit(six_months).score("2022-05-01").attrs["ranking"]
    assert short["method"] == "shrunk" and "default" in short["reason"]
    # the default ranking (blend) says why it fell back when there is too little history to learn from
    fallback = HotspotModel().fit(six_months).score("2022-05-01").attrs["ranking"]
    assert fallback["method"] == "shrunk" and "blend needs more months" in fallback["reason"]
    assert fallback["shrunk"]["prior_crimes"] > 0


@pytest.mark.slow
def test_fixed_rankers_and_explanations(six_months: pd.DataFrame) -> None:
    """``ranker="learned"`` ranks by predicted harm and its explanation lists the feature groups that
    drove it; ``harm`` ranks by all prior victim harm; a bad ranker name is refused."""
    ml = HotspotModel(ranker="learned").fit(six_months)
    cl = ml.score("2022-08-01")
    assert cl.attrs["ranking"]["method"] == "learned" and cl["top_drivers"].iloc[0]
    e = ml.explain(cl["cell_id"].iloc[0])
    assert e["ranking"] == "learned" and e["score"] == pytest.approx(cl["score"].iloc[0])
    assert next(iter(e["drivers"])) == cl["top_drivers"].iloc[0].split(",")[0]
    mh = HotspotModel(ranker="harm").fit(six_months)
    ch = mh.score("2022-08-01")
    hist = CellHistory.from_incidents(six_months, 100.0)
    past = pd.Series(hist.harm[:, :5].sum(axis=1), index=hist.keys)
    keys = pack(ch["ix"].to_numpy(), ch["iy"].to_numpy())
    np.testing.assert_allclose(ch["score"].to_numpy(), past.reindex(keys).fillna(0).to_numpy(), rtol=1e-5)
    with pytest.raises(HotspotError, match="ranker must be one of"):
        HotspotModel(ranker="magic").fit(six_months)


def test_choose_ranking_prefers_simplest_within_tolerance(six_months: pd.DataFrame) -> None:
    """Two identical candidates tie: the first (simplest) wins; a candidate that is worse loses."""
    hist = CellHistory.from_incidents(six_months, 100.0)

    def past(t: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
        return hist.keys, hist.harm[:, : hist.n_before(t)].sum(axis=1).astype(float)

    def shuffled(t: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
        k, s = past(t)
        return k, np.random.default_rng(0).permutation(s)

    ch = choose_ranking({"a": past, "b": past, "c": shuffled}, hist, pd.Timestamp("2022-08-01"),
                        budgets=(0.01, 0.05), study_area_m2=1e8, n_folds=3)
    assert ch.chosen == "a" and ch.merit["a"] == ch.merit["b"] > ch.merit["c"]
    assert ch.folds == ["2022-05", "2022-06", "2022-07"]

"""Shrunk past harm (empirical Bayes) and the short-history fallback of the default ranking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from patrol_planner.hotspots import HotspotModel
from patrol_planner.hotspots.features import CellHistory
from patrol_planner.hotspots.grid import pack
from patrol_planner.hotspots.harm import target_harm_weights
from patrol_planner.hotspots.shrunk import shrunk_harm
from patrol_planner.incidents import ingest
from patrol_planner.incidents.schema import POLICE_UK_CATEGORIES

REPO = Path(__file__).resolve().parents[1]
LEIC = REPO / "data" / "policeuk-leicestershire-2022"
INTEL = REPO / "data" / "intel-rutland-synthetic" / "intel.csv"
T = pd.Timestamp("2022-09-01")


def _table(cells: dict[int, list[str]]) -> pd.DataFrame:
    """One July record per listed category in 100 m cells ``(ix, 0)``, far apart (no neighbours)."""
    rows = [{"category": c, "x_m": ix * 100.0 + 50.0, "y_m": 50.0, "occurred_from": pd.Timestamp("2022-07-01")}
            for ix, cats in cells.items() for c in cats]
    return pd.DataFrame(rows)


def test_shrinkage_pulls_few_crimes_towards_the_mean_and_keeps_many() -> None:
    """A cell with one high-harm crime is pulled towards the force's mean harm per crime; a cell with many
    crimes keeps close to its own harm; with k estimated from the data both lie between the extremes."""
    cells = {0: ["Robbery"], 10: ["Shoplifting"] * 60 + ["Robbery"] * 20}
    for ix in range(20, 80, 2):  # a spread of ordinary cells so the between-cell variance is estimable
        cells[ix] = ["Shoplifting", "Burglary", "Vehicle crime"][: 1 + ix % 3] + (["Violence and sexual offences"]
                                                                                 if ix % 4 == 0 else [])
    hist = CellHistory.from_incidents(_table(cells), 100.0)
    sh = shrunk_harm(hist, T)
    w = dict(zip(POLICE_UK_CATEGORIES, target_harm_weights(), strict=True))
    at = pd.Series(sh.score, index=hist.keys)
    k, mu = sh.prior_crimes, sh.mean_harm_per_crime
    assert k > 0 and mu > 0
    one = at[pack(np.array([0]), np.array([0]))[0]]
    assert one == pytest.approx((w["Robbery"] + k * mu) / (1 + k), rel=1e-6)
    assert min(w["Robbery"], mu) < one < max(w["Robbery"], mu)
    many = at[pack(np.array([10]), np.array([0]))[0]]
    own = 60 * w["Shoplifting"] + 20 * w["Robbery"]
    assert many == pytest.approx(80 * (own + k * mu) / (80 + k), rel=1e-6)
    assert abs(many - own) < abs(one - w["Robbery"]) * 80  # relatively far less pulled


def test_shrunk_reads_only_months_before_and_smooths_like_the_weighted_score() -> None:
    """Records of the as-of's month and later change nothing; the neighbours' mean is added with the
    ``smoothing`` share."""
    inc = ingest(sorted(LEIC.glob("*.csv"))).incidents
    a = shrunk_harm(CellHistory.from_incidents(inc, 100.0), pd.Timestamp("2022-08-01"))
    early = CellHistory.from_incidents(inc[inc["occurred_from"] < "2022-08-01"], 100.0)
    b = shrunk_harm(early, pd.Timestamp("2022-08-01"))
    sa = pd.Series(a.score, index=a.keys)
    np.testing.assert_allclose(sa.reindex(b.keys).to_numpy(), b.score)
    assert a.prior_crimes == pytest.approx(b.prior_crimes)
    s = shrunk_harm(early, pd.Timestamp("2022-08-01"), smoothing=0.5)
    pad = np.concatenate([b.score, [0.0]])
    np.testing.assert_allclose(s.score, b.score + 0.5 * pad[early.neighbours].mean(axis=1), atol=1e-5)


def test_default_ranking_on_short_history_is_shrunk_and_keeps_intelligence() -> None:
    """With two months (nothing to learn from) the default says it uses the shrunk ranking, records its
    prior, orders cells by it, and intelligence-only cells keep a score, as under the blend."""
    inc = ingest([*sorted(LEIC.glob("*.csv")), INTEL]).incidents
    cells = HotspotModel().fit(inc).score(T)
    info = cells.attrs["ranking"]
    assert info["method"] == "shrunk" and "blend needs more months" in info["reason"]
    assert info["shrunk"]["prior_crimes"] > 0
    assert (cells["score"].diff().dropna() <= 0).all()
    only_intel = cells[(cells["n_intelligence"] > 0) & (cells["n_incidents"] == cells["n_intelligence"])]
    assert len(only_intel) and (only_intel["score"] > 0).all()
    # the breakdown still sums to the score
    np.testing.assert_allclose(cells["score_own"] + cells["score_neighbours"], cells["score"], rtol=1e-9)
    police = ingest(sorted(LEIC.glob("*.csv"))).incidents
    plain = HotspotModel(ranker="shrunk").fit(police).score(T)
    assert plain.attrs["ranking"] == {**plain.attrs["ranking"], "method": "shrunk",
                                      "reason": "set by the ranker parameter"}

"""The issue's proof on the full Essex 2018 files in ../shared (skipped when that folder is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from patrol_planner.hotspots.backtest import backtest, model_margin
from patrol_planner.incidents import ingest

REPO = Path(__file__).resolve().parents[1]
ESSEX = REPO / ".." / "shared" / "data" / "raw" / "policeuk-essex-2018"

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not (REPO / ".." / "shared").is_dir(), reason="../shared data folder is not present"),
]


@pytest.fixture(scope="module")
def essex_results():
    """The default backtest on Essex 2018: folds 2018-04..07, budgets 0.1%, 1%, 5%."""
    return backtest(ingest(sorted(ESSEX.glob("*.csv"))).incidents, folds=4)


def test_default_model_beats_every_baseline_on_essex(essex_results) -> None:
    """More of next month's harm than every baseline at each budget, on average and on most folds."""
    res = essex_results
    assert sorted(res.fold.unique()) == ["2018-04", "2018-05", "2018-06", "2018-07"]
    margin = model_margin(res)
    assert len(margin) == 3
    for row in margin.itertuples():
        assert row.ratio > 1.0, f"budget {row.budget}: model {row.model:.4f} vs {row.best_baseline}"
        assert row.folds_won >= 3, f"budget {row.budget}: won only {row.folds_won} of 4 folds"


def test_baselines_match_the_issues_scale(essex_results) -> None:
    """All-prior counts at 100 m and 150 m land near the figures quoted in the issue (same yardstick)."""
    area = essex_results[essex_results.selection == "area"]
    mean = area.groupby(["method", "budget"]).harm_captured.mean()
    assert 0.04 < mean[("all_prior_count_100m", 0.001)] < 0.07
    assert 0.19 < mean[("all_prior_count_100m", 0.01)] < 0.23
    assert 0.45 < mean[("all_prior_count_100m", 0.05)] < 0.51
    assert 0.14 < mean[("all_prior_count_150m", 0.01)] < 0.17
    assert 0.35 < mean[("all_prior_count_150m", 0.05)] < 0.40

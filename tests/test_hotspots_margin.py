"""The model's margin over the best baseline and its fold-noise interval."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from patrol_planner.hotspots.backtest import CEILING, model_margin


def _results(model: list[float], a: list[float], b: list[float]) -> pd.DataFrame:
    rows = []
    for i, (m, x, y) in enumerate(zip(model, a, b, strict=True)):
        for method, v in (("model", m), ("count_a", x), ("count_b", y), (CEILING, 0.5)):
            rows.append({"fold": f"2025-0{i + 1}", "method": method, "selection": "area", "budget": 0.01,
                         "harm_captured": v})
    return pd.DataFrame(rows)


def test_margin_interval_is_the_paired_t_interval_on_log_ratios() -> None:
    """Best baseline by mean (b here), ratio of means, folds won, and exp(mean +- t x se) of the per-fold log
    ratios against that baseline, checked by hand; one fold gives no interval."""
    model, a, b = [0.22, 0.20, 0.25, 0.21], [0.19, 0.18, 0.20, 0.18], [0.20, 0.21, 0.22, 0.20]
    m = model_margin(_results(model, a, b)).iloc[0]
    assert m["best_baseline"] == "count_b"
    assert m["ratio"] == pytest.approx(np.mean(model) / np.mean(b))
    assert m["folds_won"] == 3  # fold 2: 0.20 < 0.21
    d = np.log(np.array(model) / np.array(b))
    t975 = 3.182446305284263  # Student t, 3 degrees of freedom, 97.5%
    se = d.std(ddof=1) / math.sqrt(4)
    assert m["ratio_lo"] == pytest.approx(math.exp(d.mean() - t975 * se))
    assert m["ratio_hi"] == pytest.approx(math.exp(d.mean() + t975 * se))
    assert m["ratio_lo"] < 1.0 < m["ratio_hi"]  # one fold lost: noise could explain the margin
    one = model_margin(_results(model[:1], a[:1], b[:1])).iloc[0]
    assert np.isnan(one["ratio_lo"]) and np.isnan(one["ratio_hi"])

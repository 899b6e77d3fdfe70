"""The place-day calibration through the user's path (``benchmarks/placeday_userpath.py``), small: the bundled
Chicago aggravated assaults (real, timestamped; no patrols), ``programme`` then ``evaluate`` with the issued
blocked design: 24 schedules, 99 re-draws. The full figures (400 schedules) are in docs/evaluation.md."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "placeday_userpath.py"


@pytest.mark.slow
def test_command_and_public_functions_agree_and_aa_is_not_miscalibrated():
    spec = importlib.util.spec_from_file_location("placeday_userpath", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.run("chicago", 24, 99)  # small: the benchmark gives the precise figures
    assert res["checks"]["command_equals_functions"]
    assert res["aa"]["agree_p_and_interval"] == 1.0 and res["planted"]["agree_p_and_interval"] == 1.0
    assert res["aa"]["p_below_05"] <= 0.15 and res["aa"]["ci_covers_truth"] >= 0.85
    assert abs(res["planted"]["mean_reduction_estimated"] - 0.30) <= 0.10

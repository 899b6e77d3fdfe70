"""Power from the pipeline: the detectable effect found by simulating the evaluation's own test on a
programme's history rates and design, against the analytic normal approximation (SYNTHETIC rates on a
hand-made K-of-N programme), and recorded in programme.json by ``patrol-planner programme``."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pytest
from test_evaluation import _square

from patrol_planner.evaluation.design import KOfNDailyDesign
from patrol_planner.evaluation.power import history_rates, simulated_power
from patrol_planner.programme import read_programme, write_programme
from patrol_planner.programme.power import minimum_detectable_effect


def _programme(tmp_path, rates):
    ids = [f"S{i + 1:02d}" for i in range(len(rates))]
    spots = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": _square(530000.0 + 1000 * i, 180000.0),
         "properties": {"spot_id": s, "rate_per_day": float(r)}}
        for i, (s, r) in enumerate(zip(ids, rates, strict=True))]}
    start = date(2025, 1, 6)
    design = KOfNDailyDesign(ids, [start + timedelta(days=i) for i in range(140)], len(ids) // 2)
    record = {"start_date": start.isoformat(), "days": 140, "timezone": "Europe/London", "day_starts_at": "06:00",
              "patrol_window": {"start": "10:00", "end": "22:00"}, "spot_size_m": 100,
              "dose": {"visits": 1, "minutes": 15}, "seed": 0}
    folder = write_programme(tmp_path / "p", design=record, schedule=design(0), spots_geojson=spots)
    return read_programme(folder), design


@pytest.mark.slow
def test_simulated_mde_agrees_with_the_analytic_one(tmp_path):
    """Poisson counts at the spots' history rates: the evaluation's test reaches 80% power within 5 points of
    the rate ratio the normal approximation gives, and power rises as the effect grows."""
    rates = np.geomspace(0.05, 0.5, 12)
    prog, design = _programme(tmp_path, rates)
    assert np.allclose(history_rates(prog), rates)
    sim = simulated_power(prog, design, sims=300, draws=199, seed=3)
    t = np.full(len(rates), 70)
    ana = minimum_detectable_effect(rates, t, 140 - t, power=0.8)
    assert sim["mde_rate_ratio"] == pytest.approx(ana["mde_rate_ratio"], abs=0.05)
    curve = [sim["power_by_rate_ratio"][k] for k in sorted(sim["power_by_rate_ratio"], key=float, reverse=True)]
    assert curve[0] < 0.15 and curve[-1] >= 0.8 and curve == sorted(curve)
    over = simulated_power(prog, design, sims=300, draws=199, seed=3, dispersion=2.0)
    assert over["mde_rate_ratio"] < sim["mde_rate_ratio"]  # over-dispersed counts: a larger effect needed


def test_programme_json_records_the_simulated_power_with_the_history_rates(rutland_programme):
    """``patrol-planner programme`` writes power.simulated (method, power curve, MDE or a note, the history
    rates it used) into programme.json and the --json summary."""
    folder, summary = rutland_programme
    power = json.loads((folder / "programme.json").read_text())["power"]
    sim = power["simulated"]
    assert "simulation of the place-day evaluation" in sim["method"]
    prog = read_programme(folder)
    assert sim["history_rates_per_day"] == {s: pytest.approx(r, abs=1e-6)
                                            for s, r in zip(prog.spots, history_rates(prog), strict=True)}
    assert sim["power_by_rate_ratio"] and sim["sims"] == 200
    assert summary["simulated_mde_rate_ratio"] == sim["mde_rate_ratio"]
    assert sim["mde_rate_ratio"] is not None or "not reached" in sim["note"]

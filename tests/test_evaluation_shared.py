"""Calibration of the programme evaluation on real data with no patrols (../shared; skipped when absent).

NYC vehicle thefts (timestamped): A/A and planted-effect checks, smaller than ``benchmarks/evaluation.py``.
Essex 2025 (police.uk months): a programme starting mid-2025, where nothing happened, finds no effect.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchlib.calibration import (
    analytic_power,
    k_of_n,
    programme_design,
    simulate,
    top_cell_spots,
)
from patrol_planner.cli import app
from patrol_planner.evaluation.countmodel import fit_rate_ratio
from patrol_planner.evaluation.placeday import spot_day_table
from patrol_planner.incidents import ingest
from patrol_planner.programme import read_programme, write_programme

REPO = Path(__file__).resolve().parents[1]
RAW = REPO / ".." / "shared" / "data" / "raw"
NYC = RAW / "crimedata-code-us" / "nycvehiclethefts.csv"
ESSEX25 = RAW / "policeuk-essex-2025"
pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not (REPO / ".." / "shared").is_dir(), reason="../shared data folder is not present"),
]
runner = CliRunner()


@pytest.fixture(scope="module")
def nyc(tmp_path_factory):
    """The benchmark's programme: 20 busiest 150 m cells of 2014-15, 366 days of 2016, 10 of 20 treated a day."""
    inc = ingest(NYC, mapping="nyc-vehicle-thefts").incidents
    spots = top_cell_spots(inc, cell_m=150, n_spots=20, until="2016-01-01")
    ids = [f["properties"]["spot_id"] for f in spots["features"]]
    design = k_of_n(ids, date(2016, 1, 1), 366, 10)
    folder = write_programme(tmp_path_factory.mktemp("nyc") / "prog", design=programme_design(
        date(2016, 1, 1), 366, timezone="America/New_York", spot_size_m=150, seed=1), schedule=design(1),
        spots_geojson=spots)
    prog = read_programme(folder)
    return prog, inc, design, spot_day_table(prog, inc)


@pytest.mark.slow
def test_nyc_evaluate_command_json(nyc, tmp_path):
    """The command on a timestamped programme runs the place-day analysis and prints the headline keys."""
    prog, *_ = nyc
    r = runner.invoke(app, ["evaluate", str(prog.folder), "--crimes", str(NYC), "--mapping", "nyc-vehicle-thefts",
                            "--out", str(tmp_path / "E"), "--draws", "199", "--json"])
    assert r.exit_code == 0, r.output
    js = json.loads(r.output.strip().splitlines()[-1])
    assert js["method"] == "place-day" and js["p_value_kind"] == "randomisation"
    assert js["treated_spot_days"] == js["control_spot_days"] == 3660
    assert js["ci_low"] < js["rate_ratio"] < js["ci_high"]
    assert js["equity"] is None  # NYC rows carry no LSOA codes
    html = (tmp_path / "E" / "evaluation.html").read_text()
    assert html.count("<svg") == 2 and "no LSOA codes" in html


@pytest.mark.slow
def test_nyc_with_dosage_reports_as_delivered_and_contamination(nyc, tmp_path):
    """With dosage the page adds as-delivered estimates (with their not-randomised caveat) and counts the
    control spot-days where officers were present (contamination). Dosage here is written by the test."""
    import pandas as pd

    prog, *_ = nyc
    sched = prog.schedule
    minutes = sched["treated"] * 15.0
    minutes[sched.index % 97 == 0] = 10.0  # a few control days visited, a few treated days shortened
    (tmp_path / "D").mkdir()
    sched.assign(date=[d.isoformat() for d in sched["date"]], minutes_present=minutes)[
        ["date", "spot_id", "treated", "minutes_present", "visits"]].to_csv(tmp_path / "D" / "dosage.csv", index=False)
    r = runner.invoke(app, ["evaluate", str(prog.folder), "--crimes", str(NYC), "--mapping", "nyc-vehicle-thefts",
                            "--dosage", str(tmp_path / "D"), "--out", str(tmp_path / "E"), "--draws", "99"])
    assert r.exit_code == 0, r.output
    est = pd.read_csv(tmp_path / "E" / "estimates.csv")
    assert {"as delivered (any GPS presence)", "as delivered (per 15 min present)"} <= set(est["analysis"])
    delivery = json.loads((tmp_path / "E" / "evaluation.json").read_text())["delivery"]
    expected = int(((sched["treated"] == 0) & (sched.index % 97 == 0)).sum())
    assert delivery["control_days_with_presence"] == expected > 0
    html = (tmp_path / "E" / "evaluation.html").read_text()
    assert "Contamination" in html and "not randomised" in html


@pytest.mark.slow
def test_nyc_amendments_compare_the_amended_schedule_apart(nyc, tmp_path):
    """A cancelled day changes the as-amended comparison (treated crimes that day move to the control side) and
    leaves intention to treat as assigned."""
    import shutil

    from patrol_planner.evaluation.run import EvaluationParams, evaluate
    from patrol_planner.programme import add_amendment

    prog, inc, _, table = nyc
    folder = shutil.copytree(prog.folder, tmp_path / "prog")
    treated_hits = table[(table["treated"] == 1) & (table["crimes"] > 0)]
    day = treated_hits["date"].iloc[len(treated_hits) // 2]  # a day whose cancellation moves crimes
    add_amendment(folder, action="cancel_day", day=day, reason="major incident")
    ev = evaluate(read_programme(folder), inc, params=EvaluationParams(n_draws=99))
    est = ev.estimates.set_index("analysis")
    itt = est.loc["intention to treat (spots)"]
    itt = itt[itt["outcome"] == "crimes"].iloc[0]
    amended = est.loc["as delivered (schedule after amendments)"]
    lost = table.loc[(table["date"] == day) & (table["treated"] == 1), "crimes"].sum()
    assert lost > 0
    assert itt["treated_total"] == table.loc[table["treated"] == 1, "crimes"].sum()
    assert amended["treated_total"] == itt["treated_total"] - lost


@pytest.mark.slow
def test_nyc_aa_calibration(nyc):
    """No patrols: over 60 schedules the 95% interval holds 1 in at least 85% and the randomisation test
    rejects in at most 15% (the benchmark's 200 schedules give the precise figures)."""
    _, _, design, table = nyc
    s = simulate(table, design, n_schedules=60, reduction=0.0, n_reference=499).summary
    assert 0.85 <= s["ci_covers_truth"] <= 1.0
    assert s["randomisation_p_below_05"] <= 0.15


@pytest.mark.slow
def test_nyc_planted_effect_recovered_at_the_designs_power(nyc):
    """30% of treated-day thefts removed: the mean estimate is within 8 points of 30% and the detection rate
    within 20 points of the analytic power of the design."""
    _, _, design, table = nyc
    s = simulate(table, design, n_schedules=60, reduction=0.3, n_reference=499, seed=11).summary
    power = analytic_power(table["crimes"].sum(), 0.5, 0.3,
                           dispersion=fit_rate_ratio(table, se="model")[0].dispersion)
    assert abs(s["mean_reduction_estimated"] - 0.3) <= 0.08
    assert abs(s["randomisation_p_below_05"] - power) <= 0.20


@pytest.mark.slow
def test_essex_2025_month_level_finds_no_effect(tmp_path):
    """A programme starting 15 July 2025 on Essex spots, with no patrols, evaluated on police.uk months: the
    month-level analysis finds no effect and says so; equity (IoD 2025 on 2021 codes) gives every spot a decile."""
    files = sorted(ESSEX25.glob("*.csv"))
    inc = ingest(files).incidents
    spots = top_cell_spots(inc, cell_m=150, n_spots=20, until="2025-07-01")
    ids = [f["properties"]["spot_id"] for f in spots["features"]]
    design = k_of_n(ids, date(2025, 7, 15), 120, 10)
    folder = write_programme(tmp_path / "essex", design=programme_design(
        date(2025, 7, 15), 120, timezone="Europe/London", spot_size_m=150, seed=5), schedule=design(5),
        spots_geojson=spots)
    r = runner.invoke(app, ["evaluate", str(folder), "--crimes", str(ESSEX25), "--out", str(tmp_path / "E"),
                            "--ons", str(RAW / "ons-lsoa"), "--json"])
    assert r.exit_code == 0, r.output
    js = json.loads(r.output.strip().splitlines()[-1])
    assert js["method"] == "month-level panel"
    assert js["months_after"][0] == "2025-08" and js["months_before"][-1] == "2025-06"  # July holds the start
    assert js["p_value"] > 0.05 and js["ci_low"] < 1 < js["ci_high"]
    assert js["equity"]["spots_without_decile"] == 0 and js["equity"]["spots_unlinked"] == 0
    html = (tmp_path / "E" / "evaluation.html").read_text()
    assert "No clear effect on crimes" in html and "not proof that patrols had no effect" in html

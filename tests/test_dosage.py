"""Dosage from simulated GPS tracks with known answers, through spots built from real Leicestershire hot streets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchlib.dosage_sim import (
    Stop,
    UnitDay,
    hot_cell_programme,
    plan_unit_days,
    simulate_tracks,
    true_dosage,
)
from patrol_planner.dosage import DosageParams, measure_pings, write_dosage
from patrol_planner.geo import BNG, to_xy
from patrol_planner.programme import add_amendment, read_programme

DATA = Path(__file__).resolve().parents[1] / "data" / "policeuk-leicestershire-2022"


def real_programme(folder: str | Path, *, days: int = 4, n_spots: int = 6, seed: int = 0,
                   start: str = "2025-03-28", minutes: int = 15) -> Path:
    """A programme folder over the real Leicester 150 m cells with most crimes (bundled police.uk data);
    each day a random half of the spots is treated."""
    frames = [pd.read_csv(p, usecols=["Longitude", "Latitude"]).dropna() for p in sorted(DATA.glob("*.csv"))]
    pts = pd.concat(frames)
    return hot_cell_programme(folder, pts["Longitude"].to_numpy(), pts["Latitude"].to_numpy(), days=days,
                              n_spots=n_spots, seed=seed, start=start, minutes=minutes)


def spot_centre_bng(folder: Path, spot_id: str) -> tuple[float, float]:
    """Centre [m, BNG] of a spot of a programme folder."""
    prog = read_programme(folder)
    c = prog.spots[spot_id].centroid
    x, y = to_xy(np.array([c.x]), np.array([c.y]), BNG)
    return float(x[0]), float(y[0])


@pytest.fixture(scope="module")
def programme(tmp_path_factory) -> Path:
    """Six days over eight real Leicester hot cells; the schedule treats half the spots each day."""
    return real_programme(tmp_path_factory.mktemp("dosage") / "prog", days=6, n_spots=8, seed=11)


def _compare(prog, sim, res, params=None) -> pd.DataFrame:
    truth = true_dosage(prog, sim, params)
    m = res.table.merge(truth, on=["date", "spot_id"], how="left", suffixes=("", "_true"))
    return m.fillna({"minutes_present_true": 0.0, "visits_true": 0, "unit_minutes_true": 0.0})


def test_minutes_recovered_within_a_minute_with_noise_dropouts_skip_and_linger(programme):
    """Noisy 5 s pings (7 m GPS error, dropouts of 2.5-7 min) give each spot-day's minutes within 1 minute of the
    truth and the same number of visits; a skipped treated spot reads 0 and a planted control stay is found."""
    prog = read_programme(programme)
    sched = prog.schedule
    treated = sched[sched["treated"] == 1]
    control = sched[sched["treated"] == 0]
    skip_day, skip_spot = treated.iloc[3]["date"], treated.iloc[3]["spot_id"]
    ctl_day, ctl_spot = control.iloc[5]["date"], control.iloc[5]["spot_id"]
    uds = plan_unit_days(prog, units=3, seed=5, skip=[(skip_day, skip_spot)], linger=[(ctl_day, ctl_spot, 12.0)],
                         dropouts_per_day=2)
    sim = simulate_tracks(prog, uds, seed=6, noise_m=7.0)
    res = measure_pings(prog, sim.pings)
    m = _compare(prog, sim, res)
    err = (m["minutes_present"] - m["minutes_present_true"]).abs()
    assert err.max() <= 1.0, m.loc[err.idxmax()].to_dict()
    assert (m["visits"] == m["visits_true"]).all()
    assert m["minutes_present_true"].sum() > 200  # the test measures real patrols, not an empty programme
    skipped = m[(m["date"] == skip_day.isoformat()) & (m["spot_id"] == skip_spot)].iloc[0]
    assert skipped["minutes_present"] == 0 and skipped["visits"] == 0 and not skipped["dose_met"]
    hit = m[(m["date"] == ctl_day.isoformat()) & (m["spot_id"] == ctl_spot)].iloc[0]
    # 12 planted minutes, less any dropout that fell in them (the truth knows which)
    assert hit["minutes_present_true"] >= 5 and hit["visits"] >= 1
    assert abs(hit["minutes_present"] - hit["minutes_present_true"]) <= 1.0
    assert res.summary["control_days_with_presence"] == 1
    assert any("control spot-day" in n for n in res.notes)


def test_dropout_inside_a_spot_is_not_presence(programme):
    """A 5-minute dropout in the middle of a 20-minute stay removes those 5 minutes (a gap over max_gap_s is
    never presence) but not the visit, while the same stay without the dropout reads 20 minutes."""
    prog = read_programme(programme)
    day = prog.dates[0]
    w0, _ = prog.window(day)
    drive_s = 3000 / 8.0
    stop = Stop("S01", 20 * 60)
    full = simulate_tracks(prog, [UnitDay("A", w0, (stop,))], seed=1)
    cut = simulate_tracks(prog, [UnitDay("A", w0, (stop,), dropouts=((drive_s + 300, 300.0),))], seed=1)
    got = [measure_pings(prog, s.pings).table.set_index(["date", "spot_id"]).loc[(day.isoformat(), "S01")]
           for s in (full, cut)]
    assert abs(got[0]["minutes_present"] - 20.0) <= 1.0
    assert abs(got[0]["minutes_present"] - got[1]["minutes_present"] - 5.0) <= 0.5
    assert got[0]["visits"] == 1
    # the hole is a dropout with both ends inside the spot: the visit stays whole (bridge_gap_s 900 s) ...
    assert got[1]["visits"] == 1
    # ... and without bridging, 5 minutes is longer than merge_gap_s (180 s): two visits
    split = measure_pings(prog, cut.pings, params=DosageParams(bridge_gap_s=0))
    assert split.table.set_index(["date", "spot_id"]).loc[(day.isoformat(), "S01"), "visits"] == 2


def test_two_units_together_give_spot_minutes_and_unit_minutes(programme):
    """Two units on the same 15-minute stop in one spot: spot-minutes are the union of their time inside (the
    stop plus the seconds driving in and out: 15 to 16 min in truth), unit-minutes the sum (twice that),
    2 units; the measured figures are within 10 s of the simulator's truth (20 s for the two units' sum)."""
    prog = read_programme(programme)
    day = prog.dates[1]
    w0, _ = prog.window(day)
    uds = [UnitDay("A", w0, (Stop("S02", 900),)), UnitDay("B", w0, (Stop("S02", 900),))]
    sim = simulate_tracks(prog, uds, seed=2)
    res = measure_pings(prog, sim.pings)
    key = (day.isoformat(), "S02")
    row = res.table.set_index(["date", "spot_id"]).loc[key]
    truth = true_dosage(prog, sim).set_index(["date", "spot_id"]).loc[key]
    assert 15.0 <= truth["minutes_present"] <= 16.0
    assert abs(truth["unit_minutes"] - 2 * truth["minutes_present"]) <= 10 / 60
    assert abs(row["minutes_present"] - truth["minutes_present"]) <= 10 / 60
    assert abs(row["unit_minutes"] - truth["unit_minutes"]) <= 20 / 60
    assert row["units"] == 2


def test_drive_through_is_a_pass_not_a_visit(programme):
    """Driving straight through a spot at ~29 km/h (about 25 s inside) is a pass-through: no visit, no
    minutes_present, the seconds reported as passing_minutes."""
    prog = read_programme(programme)
    day = prog.dates[2]
    w0, _ = prog.window(day)
    res = measure_pings(prog, simulate_tracks(prog, [UnitDay("A", w0, (Stop("S03", 0.0),))], seed=3).pings)
    row = res.table.set_index(["date", "spot_id"]).loc[(day.isoformat(), "S03")]
    assert row["visits"] == 0 and row["minutes_present"] == 0
    assert 0.2 <= row["passing_minutes"] <= 1.0


def test_cancelled_day_is_not_a_missed_patrol(tmp_path):
    """After a cancel_day amendment the day's treated spot-days are 'cancelled', not missed: they leave the
    treated counts, dose_met is empty, and presence that day is reported apart."""
    folder = real_programme(tmp_path / "prog", days=3, n_spots=4, seed=2)
    prog0 = read_programme(folder)
    uds = plan_unit_days(prog0, units=2, seed=1)
    sim = simulate_tracks(prog0, uds, seed=1)
    before = measure_pings(prog0, sim.pings)
    add_amendment(folder, action="cancel_day", day=prog0.dates[1], reason="major incident")
    prog = read_programme(folder)
    after = measure_pings(prog, sim.pings)
    day2 = after.table[after.table["date"] == prog.dates[1].isoformat()]
    assert set(day2["status"]) == {"cancelled"} and day2["dose_met"].isna().all()
    assert after.summary["treated_days"] == before.summary["treated_days"] - 2
    assert after.summary["treated_days_patrolled"] == before.summary["treated_days_patrolled"] - 2
    assert after.summary["cancelled_minutes_present"] > 0


def test_same_inputs_same_outputs(programme, tmp_path):
    """The simulator is seeded and the measurement deterministic: two runs write identical dosage files."""
    prog = read_programme(programme)
    texts = []
    for k in range(2):
        sim = simulate_tracks(prog, plan_unit_days(prog, units=2, seed=4, dropouts_per_day=1), seed=9)
        res = measure_pings(prog, sim.pings)
        paths = write_dosage(res, tmp_path / f"out{k}", inputs=[], prog=prog)
        texts.append([paths[n].read_text() for n in ("dosage", "visits", "json", "page")])
    assert texts[0] == texts[1]

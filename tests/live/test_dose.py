"""Live dose: the dosage rules run on positions as they come, in any batch size, give the batch answer."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from patrol_planner.dosage import DosageParams
from patrol_planner.live.dose import DoseMeter

CRS = "EPSG:27700"
SPOT = box(-0.7300, 52.6690, -0.7260, 52.6710)  # about 270 m x 220 m in Oakham [deg]


def track(seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two units: A drives in, stays 15 min, leaves, comes back 20 min later for 10 min; B passes through."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, 3600, 10.0)
    inside = ((t >= 300) & (t < 1200)) | ((t >= 2400) & (t < 3000))
    lon_a = np.where(inside, -0.7280, -0.7400) + rng.normal(0, 1e-5, t.size)
    lat_a = np.full(t.size, 52.6700) + rng.normal(0, 1e-5, t.size)
    lon_b = np.clip(-0.7350 + (t - 1800) * 8.3 / 67_600, -0.7350, -0.7200)  # 30 km/h across the spot
    lat_b = np.full(t.size, 52.6700)
    units = np.r_[np.full(t.size, "A", dtype=object), np.full(t.size, "B", dtype=object)]
    return units, np.r_[t, t] + 1.66e9, np.r_[lon_a, lon_b], np.r_[lat_a, lat_b]


def meter(units, t, lon, lat, chunk: int) -> DoseMeter:
    m = DoseMeter(CRS, DosageParams())
    m.add_zones({"S1": SPOT})
    order = np.argsort(t, kind="stable")
    for k in range(0, len(order), chunk):
        ix = order[k:k + chunk]
        m.add_positions(units[ix], t[ix], lon[ix], lat[ix])
    m.close_stale(np.inf)
    return m


@pytest.mark.parametrize("chunk", [1, 7, 100])
def test_batches_of_any_size_give_the_whole_night_answer(chunk):
    whole = meter(*track(), chunk=10_000)
    part = meter(*track(), chunk=chunk)
    assert part.dose_s["S1"] == pytest.approx(whole.dose_s["S1"], abs=1e-6)
    assert [(s.unit, round(s.start_s), round(s.presence_s)) for s in part.stays()] == \
        [(s.unit, round(s.start_s), round(s.presence_s)) for s in whole.stays()]


def test_two_visits_and_a_pass_through():
    m = meter(*track(), chunk=50)
    visits = [s for s in m.stays() if s.unit == "A"]
    assert len(visits) == 2  # a 20-minute absence splits them (longer than merge_gap_s)
    assert visits[0].presence_s == pytest.approx(900, abs=20)
    assert visits[1].presence_s == pytest.approx(600, abs=20)
    assert not [s for s in m.stays() if s.unit == "B"]  # B drove through in under a minute: no visit
    assert 1500 <= m.dose_s["S1"] <= 1500 + 60  # spot-time: A's 25 min plus B's few seconds


def test_the_same_as_the_dosage_measurement():
    """Minutes present equal the dosage module's own intervals for the same pings (spot-time union)."""
    from patrol_planner.dosage.clean import CleanTracks
    from patrol_planner.dosage.presence import SpotZones, spot_intervals

    units, t, lon, lat = track()
    m = meter(units, t, lon, lat, chunk=13)
    code = (units == "B").astype(np.int64)
    order = np.lexsort((t, code))
    tracks = CleanTracks(["A", "B"], code[order], t[order], lon[order], lat[order],
                         np.r_[True, code[order][1:] != code[order][:-1]], quarantine=None)
    iv = spot_intervals(tracks, SpotZones.build({"S1": SPOT}, 25.0, CRS), DosageParams())
    iv = iv[~iv["bridge"]].sort_values("a_s")
    union, end = 0.0, -np.inf
    for a, b in zip(iv["a_s"], iv["b_s"], strict=True):
        union += max(0.0, b - max(a, end))
        end = max(end, b)
    assert m.dose_s["S1"] == pytest.approx(union, abs=1e-6)


def test_arrive_and_leave_make_a_visit_without_positions():
    m = DoseMeter(CRS)
    m.add_zones({"S1": SPOT})
    m.arrive("A", "S1", 1000.0)
    assert [s.site_id for s in m.stays()] == ["S1"]  # open: a visit in progress
    m.leave("A", "S1", 1900.0)
    (v,) = m.stays()
    assert v.presence_s == 900.0 and not m.open

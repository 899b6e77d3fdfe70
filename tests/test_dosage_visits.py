"""Presence rules on hand-built cases: boundary interpolation, union vs unit time, visit merging, pass-throughs,
day boundaries, and the compliance page."""

from __future__ import annotations

import base64
import hashlib
import re
from html import unescape

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_dosage import real_programme, spot_centre_bng

from patrol_planner.dosage import DosageParams, measure_pings
from patrol_planner.dosage.compliance import render_compliance_page
from patrol_planner.dosage.presence import split_at
from patrol_planner.dosage.visits import daily_figures
from patrol_planner.geo import BNG, to_lonlat
from patrol_planner.programme import add_amendment, read_programme


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return real_programme(tmp_path_factory.mktemp("visits") / "prog", days=3, n_spots=4, seed=1)


def _line(folder, y_m: float, speed_mps: float, step_s: float, t0: str = "2025-03-28T16:00:00Z") -> pd.DataFrame:
    """Noise-free pings walking west to east through S01 (from 300 m west to 300 m east of its centre)."""
    cx, cy = spot_centre_bng(folder, "S01")
    t = np.arange(0.0, 600.0 / speed_mps, step_s)
    lon, lat = to_lonlat(cx - 300 + speed_mps * t, np.full(t.size, cy + y_m), BNG)
    return pd.DataFrame({"unit": "A", "t_s": pd.Timestamp(t0).timestamp() + t, "lon": lon, "lat": lat})


def _s01(res, day: str = "2025-03-28") -> pd.Series:
    return res.table.set_index(["date", "spot_id"]).loc[(day, "S01")]


@pytest.mark.parametrize("step_s", [5.0, 17.0, 60.0])
def test_boundary_crossing_is_interpolated(folder, step_s):
    """Walking straight through a 150 m spot buffered by 25 m (200 m across) at 1.25 m/s takes 160 s inside,
    whatever the ping interval: the entry and exit are placed by linear interpolation."""
    res = measure_pings(read_programme(folder), _line(folder, 0.0, 1.25, step_s))
    assert _s01(res)["minutes_present"] == pytest.approx(160 / 60, abs=0.02)


def test_tolerance_widens_the_zone(folder):
    """The same walk with a 0 m tolerance spends 150 m / 1.25 m/s = 120 s inside; a walk 90 m off the centre
    line misses the default zone (90 > 75 + 25 m) but is inside a 30 m tolerance (90 < 75 + 30 m)."""
    prog = read_programme(folder)
    res0 = measure_pings(prog, _line(folder, 0.0, 1.25, 5.0), params=DosageParams(tolerance_m=0.0))
    assert _s01(res0)["minutes_present"] == pytest.approx(2.0, abs=0.02)
    assert _s01(measure_pings(prog, _line(folder, 90.0, 1.25, 5.0)))["passing_minutes"] == 0
    near = _s01(measure_pings(prog, _line(folder, 90.0, 1.25, 5.0), params=DosageParams(tolerance_m=30.0)))
    assert near["minutes_present"] > 0


def test_pings_further_apart_than_max_gap_count_nothing(folder):
    """Pings 150 s apart (> max_gap_s 120) give no presence; raising max_gap_s to 200 s counts them."""
    prog = read_programme(folder)
    df = _line(folder, 0.0, 0.5, 150.0)
    assert _s01(measure_pings(prog, df))["minutes_present"] == 0
    assert _s01(measure_pings(prog, df, params=DosageParams(max_gap_s=200)))["minutes_present"] > 0


def _iv(rows):
    return pd.DataFrame(rows, columns=["spot", "day", "unit", "a_s", "b_s"]).astype(
        {"spot": "int64", "day": "int64", "unit": "int64", "a_s": float, "b_s": float})


def test_union_merging_and_pass_throughs():
    """Overlapping units count once in minutes_present and fully in unit_minutes; a 120 s absence joins a
    visit, a 240 s one splits it; a 40 s visit is a pass-through (passing_minutes, not a visit)."""
    iv = _iv([(0, 0, 0, 0, 600), (0, 0, 1, 300, 900),      # two units overlapping: union 900 s, sum 1200 s
              (0, 0, 0, 1020, 1320),                        # after a 120 s absence: same visit
              (0, 0, 0, 1560, 1600),                        # after 240 s: a new, 40 s visit -> pass-through
              (1, 0, 0, 0, 30)])                            # spot 1: only a pass
    daily, vis = daily_figures(iv, merge_gap_s=180, min_visit_s=60)
    d = daily.set_index(["spot", "day"])
    assert d.loc[(0, 0), "minutes_present"] == pytest.approx(1200 / 60)
    assert d.loc[(0, 0), "unit_minutes"] == pytest.approx(1500 / 60)
    assert d.loc[(0, 0), "visits"] == 1 and d.loc[(0, 0), "units"] == 2
    assert d.loc[(0, 0), "passing_minutes"] == pytest.approx(40 / 60)
    assert d.loc[(1, 0), "visits"] == 0 and d.loc[(1, 0), "minutes_present"] == 0
    assert len(vis) == 3 and vis["counted"].tolist() == [True, False, False]


def test_split_at_day_boundaries():
    """An interval across a programme-day boundary is split, each part on its own day."""
    out = split_at(_iv([(0, 0, 0, 50, 250)]).drop(columns="day"), np.array([0.0, 100.0, 200.0, 300.0]))
    assert out.sort_values("a_s")[["day", "a_s", "b_s"]].values.tolist() == [[0, 50, 100], [1, 100, 200],
                                                                              [2, 200, 250]]


def test_compliance_page_offline_highlights_control_and_cancellations(folder, tmp_path):
    """The page allows no fetch, its one style block matches the CSP hash, presence in a control spot is
    flagged, and a cancelled day is drawn as cancelled, not missed."""
    import shutil

    f2 = tmp_path / "prog"
    shutil.copytree(folder, f2)
    prog = read_programme(f2)
    control = prog.schedule[prog.schedule["treated"] == 0].iloc[0]
    add_amendment(f2, action="cancel_day", day=prog.dates[2], reason="severe weather")
    prog = read_programme(f2)
    cx, cy = spot_centre_bng(f2, control["spot_id"])
    t0 = pd.Timestamp(f"{control['date'].isoformat()}T17:00:00Z").timestamp()
    t = np.arange(0, 900, 5.0)
    lon, lat = to_lonlat(np.full(t.size, cx), np.full(t.size, cy), BNG)
    res = measure_pings(prog, pd.DataFrame({"unit": "A", "t_s": t0 + t, "lon": lon, "lat": lat}))
    html = render_compliance_page(res, prog)
    csp = unescape(re.search(r'Content-Security-Policy" content="([^"]+)"', html).group(1))
    assert csp.startswith("default-src 'none'")
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    assert res.summary["control_days_with_presence"] == 1
    assert 'class="ctlhit"' in html and 'class="warn"' in html
    assert html.count('class="cancelled"') >= len(prog.spots)
    assert "severe weather" not in html  # amendment reasons are free text written by the force


@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 2), st.floats(0, 5000), st.floats(1, 900)),
                min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_union_and_visit_invariants(rows):
    """For any intervals: spot-time (counted + passing) equals the measure of their union, unit-time of counted
    visits is at least their spot-time, and no visit is shorter than min_visit_s."""
    iv = _iv([(s, 0, u, a, a + d) for s, u, a, d in rows])
    daily, vis = daily_figures(iv, merge_gap_s=180, min_visit_s=60)
    for spot, g in iv.groupby("spot"):
        pts = sorted(zip(g["a_s"], g["b_s"], strict=True))
        union, end = 0.0, -np.inf
        for a, b in pts:  # reference union by a plain sweep
            if a > end:
                union += b - a
                end = b
            elif b > end:
                union += b - end
                end = b
        d = daily[daily["spot"] == spot].iloc[0]
        assert d["minutes_present"] + d["passing_minutes"] == pytest.approx(union / 60, abs=1e-6)
        assert d["unit_minutes"] >= d["minutes_present"] - 1e-9
    assert (vis.loc[vis["counted"], "present_s"] >= 60).all()


def test_a_dropout_inside_the_spot_keeps_the_visit_whole():
    """A bridge (dropout with both pings inside) covering a 400 s absence joins the two stretches into one
    visit without adding its time; a bridge that does not reach the next stretch does not."""
    iv = _iv([(0, 0, 0, 0, 300), (0, 0, 0, 700, 1000), (1, 0, 0, 0, 300), (1, 0, 0, 700, 1000)])
    bridges = _iv([(0, 0, 0, 300, 700), (1, 0, 0, 300, 500)])
    both = pd.concat([iv.assign(bridge=False), bridges.assign(bridge=True)], ignore_index=True)
    daily, _ = daily_figures(both, merge_gap_s=180, min_visit_s=60)
    d = daily.set_index("spot")
    assert d.loc[0, "visits"] == 1 and d.loc[0, "minutes_present"] == pytest.approx(10.0)
    assert d.loc[1, "visits"] == 2 and d.loc[1, "minutes_present"] == pytest.approx(10.0)

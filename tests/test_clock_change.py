"""Nights when the clocks change (Europe/London): routing seconds are real elapsed seconds, every time shown
exists with its true offset, a shift in the spring gap is refused and the autumn fold is read as its first
occurrence (docs/scenarios.md, "Nights when the clocks change").

Dates checked with zoneinfo: the clocks went forward at 01:00 GMT on Sunday 26 March 2023 (the night of
25-26 March) and back at 02:00 BST on Sunday 30 October 2022 (the night of 29-30 October).
"""

from __future__ import annotations

import csv
import json
import tomllib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from patrol_planner.cli import app
from patrol_planner.errors import ProgrammeError, ScenarioError
from patrol_planner.localtime import kind, real_s
from patrol_planner.programme import read_programme, write_programme
from patrol_planner.programme.dayplan import clip_to_window
from patrol_planner.report import write_outputs
from patrol_planner.report.page import hm_local
from patrol_planner.scenario import Clock, load_scenario, run_plan, scenario_from_dict, units_on_duty
from patrol_planner.scenario.adapters import UnitShift, prize_windows
from patrol_planner.vocabulary import Station

REPO = Path(__file__).resolve().parents[1]
NIGHT_TOML = REPO / "scenarios" / "rutland-night.toml"
LONDON = ZoneInfo("Europe/London")
NORMAL, SPRING, AUTUMN = date(2022, 9, 2), date(2023, 3, 25), date(2022, 10, 29)
#: Real length of the bundled 22:00-06:00 shift on each night [h].
SHIFT_H = {NORMAL: 8, SPRING: 7, AUTUMN: 9}


def test_dates_are_the_clock_change_nights() -> None:
    """The nights used below are the ones whose small hours hold a change of offset (checked, not assumed)."""
    for night, step_h in ((SPRING, 1), (AUTUMN, -1), (NORMAL, 0)):
        a = datetime.combine(night, datetime.min.time(), tzinfo=LONDON) + timedelta(hours=22)
        b = datetime.combine(night + timedelta(days=1), datetime.min.time(), tzinfo=LONDON) + timedelta(hours=6)
        assert (b.utcoffset() - a.utcoffset()) == timedelta(hours=step_h)


def _stations() -> pd.DataFrame:
    # The bundled scenario's stations by hand (synthetic positions near Oakham and Cottesmore).
    return pd.DataFrame({"name": ["Oakham police station", "Cottesmore police station"],
                         "lon": [-0.7270, -0.6650], "lat": [52.6700, 52.7130]})


def _units(night: date, **change: object) -> tuple[UnitShift, ...]:
    s = load_scenario(NIGHT_TOML)
    if change:
        s = s.replace(units=[{**u.model_dump(mode="json"), **change} for u in s.units])
    return units_on_duty(s.units, night, LONDON, _stations())


def _exists(t: datetime) -> bool:
    """``t`` shows a wall-clock time that happens in London, with the offset London has at that instant."""
    return kind(t.date(), t.time(), LONDON) != "gap" and t.utcoffset() == t.astimezone(LONDON).utcoffset()


@pytest.mark.parametrize("night", [NORMAL, SPRING, AUTUMN])
def test_shift_length_in_routing_seconds_is_real(night: date) -> None:
    """22:00-06:00 is 8 h on a normal night, 7 h when the clocks go forward, 9 h when they go back."""
    units = _units(night)
    clock = Clock.for_units(units)
    for u in units:
        routing_s = clock.seconds(u.shift_end) - clock.seconds(u.shift_start)
        assert routing_s == SHIFT_H[night] * 3600
        assert routing_s == (u.shift_end.astimezone(UTC) - u.shift_start.astimezone(UTC)).total_seconds()


@pytest.mark.parametrize("night", [SPRING, AUTUMN])
def test_clock_gives_real_instants_that_exist(night: date) -> None:
    """Every minute of the shift: ``at(s)`` is ``s`` real seconds after t0, a time that exists, with its offset."""
    clock = Clock.for_units(_units(night))
    for s in range(0, SHIFT_H[night] * 3600 + 1, 60):
        t = clock.at(s)
        assert real_s(clock.t0, t) == s
        assert clock.seconds(t) == s
        assert _exists(t), t.isoformat()
    # a stop 15 min long across the change lasts 15 real minutes, subtracted as plain datetimes
    three_h = 3 * 3600
    assert (clock.at(three_h + 900) - clock.at(three_h)).total_seconds() == 900


def test_shift_starting_in_the_spring_gap_is_refused() -> None:
    """01:30 does not exist on 26 March 2023: one clear line naming the unit and the times that do exist."""
    with pytest.raises(ScenarioError, match=r"unit 'RU-A1': shift start 01:30 on 2023-03-26 does not exist "
                                            r"in Europe/London: the clocks go forward from 01:00 to 02:00"):
        _units(date(2023, 3, 26), shift="01:30-05:00", break_min=0, break_window=None, earliest_leave=None)
    with pytest.raises(ScenarioError, match="shift end 01:15 on 2023-03-26 does not exist"):
        _units(SPRING, shift="21:00-01:15", break_min=0, break_window=None, earliest_leave=None)


def test_shift_in_the_autumn_fold_is_the_first_occurrence() -> None:
    """01:30 happens twice on 30 October 2022: the shift starts at the first (01:30 BST) and lasts 4.5 real h."""
    (u, *_) = _units(date(2022, 10, 30), shift="01:30-05:00", break_min=0, break_window=None, earliest_leave=None)
    assert u.shift_start.isoformat() == "2022-10-30T01:30:00+01:00"
    assert real_s(u.shift_start, u.shift_end) == 4.5 * 3600
    clock = Clock.for_units([u])
    assert clock.seconds(u.shift_end) - clock.seconds(u.shift_start) == 4.5 * 3600
    assert clock.at(1800).isoformat() == "2022-10-30T01:00:00+00:00"  # half an hour later: the second 01:00


def test_break_window_bound_in_the_gap_is_the_change() -> None:
    """RU-B1's break window 01:30-03:30 on the spring night opens when the clocks change (02:00 BST)."""
    b1 = {u.unit_id: u for u in _units(SPRING)}["RU-B1"]
    assert b1.break_window is not None
    assert b1.break_window[0].astimezone(UTC) == datetime(2023, 3, 26, 1, 0, tzinfo=UTC)
    assert real_s(*b1.break_window) == 1.5 * 3600


@pytest.mark.parametrize("night", [NORMAL, SPRING, AUTUMN])
def test_prize_windows_are_real_hours_read_by_local_hour(night: date) -> None:
    """Hour blocks tile the shift in real time; each carries the profile of its local hour (spring: no
    hour 1; autumn: hour 1 twice, with the same weight)."""
    profile = 1.0 + 0.04 * (np.arange(168) % 24)  # weight grows with the local hour of day
    window = Clock.window(_units(night))
    blocks = prize_windows(profile, window)
    assert len(blocks) == SHIFT_H[night]
    for (a0, a1, _), (b0, _, _) in zip(blocks, blocks[1:], strict=False):
        assert real_s(a0, a1) == 3600 and real_s(a1, b0) == 0
    hours = [a.astimezone(LONDON).hour for a, _, _ in blocks]
    expected = {NORMAL: [22, 23, 0, 1, 2, 3, 4, 5], SPRING: [22, 23, 0, 2, 3, 4, 5],
                AUTUMN: [22, 23, 0, 1, 1, 2, 3, 4, 5]}[night]
    assert hours == expected
    mult = {h: m for (_, _, m), h in zip(blocks, hours, strict=True)}
    assert all(m == mult[h] for (_, _, m), h in zip(blocks, hours, strict=True))  # one weight per local hour
    assert mult[5] > mult[2] > mult[0]


def test_programme_day_keeps_a_break_that_fits_in_real_time() -> None:
    """Clipping to an autumn patrol window measures the break window in real time: 01:00 BST-03:00 GMT is
    3 h, so a 2.5 h break still fits (by the wall clock it would be 2 h and the break dropped)."""
    stn = Station(name="Oakham police station", lon=-0.7270, lat=52.6700)

    def at(h: int, m: int, fold: int = 0, day: int = 30) -> datetime:
        return datetime(2022, 10, day, h, m, tzinfo=LONDON, fold=fold)

    u = UnitShift(unit_id="A", mode="drive", start=stn, end=stn, shift_start=at(22, 0, day=29), shift_end=at(6, 0),
                  break_s=2.5 * 3600, break_window=(at(1, 0), at(3, 0)))
    (clipped,) = clip_to_window((u,), (at(0, 0), at(6, 0)))
    assert clipped.break_window is not None and clipped.break_s == 2.5 * 3600
    # a window that opens at the second 01:05 is after a shift ending at the first 01:10 (BST): no overlap
    late = UnitShift(unit_id="B", mode="drive", start=stn, end=stn, shift_start=at(22, 0, day=29),
                     shift_end=at(1, 10))
    with pytest.raises(ProgrammeError, match="does not overlap"):
        clip_to_window((late,), (at(1, 5, fold=1), at(6, 0)))


def test_programme_window_bound_in_the_gap_is_the_change(tmp_path: Path) -> None:
    """A patrol window 01:30-05:00 on the spring night opens at 02:00 BST and lasts 3 real hours."""
    design = {"start_date": "2023-03-25", "days": 2, "timezone": "Europe/London", "day_starts_at": "06:00",
              "patrol_window": {"start": "01:30", "end": "05:00"}, "spot_size_m": 150,
              "dose": {"visits": 1, "minutes": 15}, "seed": 7}
    ring = [[-0.7, 51.5], [-0.699, 51.5], [-0.699, 51.501], [-0.7, 51.501], [-0.7, 51.5]]
    spots = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
         "properties": {"spot_id": "S01", "place": "A"}}]}
    sched = pd.DataFrame([{"date": date(2023, 3, 25 + i), "spot_id": "S01", "treated": 1, "p_treated": 0.5,
                           "visits": 1, "minutes": 15} for i in range(2)])
    prog = read_programme(write_programme(tmp_path / "p", design=design, schedule=sched, spots_geojson=spots))
    t0, t1 = prog.window(SPRING)
    assert t0.isoformat() == "2023-03-26T02:00:00+01:00" and real_s(t0, t1) == 3 * 3600


# --- the whole pipeline on the bundled scenario ------------------------------------------------------------
@pytest.fixture(scope="module", params=[SPRING, AUTUMN], ids=["spring", "autumn"])
def change_night(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    raw = tomllib.loads(NIGHT_TOML.read_text(encoding="utf-8"))
    raw["night"] = request.param.isoformat()
    raw["solver"] = {"time_limit_s": 30, "seed": 0, "restarts": 1}
    raw["hotspots"] = {**raw["hotspots"], "top": 12}
    tmp = tmp_path_factory.mktemp(f"clock-{request.param}")
    run = run_plan(scenario_from_dict(raw, base_dir=NIGHT_TOML.parent), cache_dir=tmp / "cache")
    write_outputs(run.plan, tmp / "out")
    return request.param, run, tmp / "out"


@pytest.mark.slow
def test_routed_night_is_real_time(change_night) -> None:
    """Routing shifts last the real night; every stop is 15 real minutes; every time in plan.json exists."""
    night, run, out = change_night
    for pu in run.problem.units:
        assert pu.shift_end_s - pu.shift_start_s == SHIFT_H[night] * 3600
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    n_stops = 0
    for u in plan["units"]:
        start, end = datetime.fromisoformat(u["shift_start"]), datetime.fromisoformat(u["shift_end"])
        assert real_s(start, end) == SHIFT_H[night] * 3600
        times = [start, end]
        for s in u["stops"]:
            a, d = datetime.fromisoformat(s["arrive"]), datetime.fromisoformat(s["depart"])
            assert real_s(a, d) == 15 * 60
            times += [a, d]
            n_stops += 1
        assert all(_exists(t) for t in times), [t.isoformat() for t in times if not _exists(t)]
    assert n_stops > 0
    with open(out / "schedule.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(float(r["dwell_min"]) == 15.0 for r in rows)


@pytest.mark.slow
def test_briefing_names_the_change(change_night) -> None:
    """The briefing says when the clocks change and how long the shift really is."""
    night, _, out = change_night
    html = (out / "briefing.html").read_text(encoding="utf-8")
    if night == SPRING:
        assert "Clocks go forward at 01:00 GMT tonight (to 02:00 BST): the 22:00–06:00 shift is 7 h long, " \
               "not 8 h." in html
    else:
        assert "Clocks go back at 02:00 BST tonight (to 01:00 GMT); 01:00–02:00 happens twice" in html
        assert "the 22:00–06:00 shift is 9 h long, not 8 h." in html


def test_briefing_labels_the_repeated_hour() -> None:
    """On the autumn night a stop in the repeated hour shows its zone (01:30 BST, then 01:30 GMT)."""
    bst, gmt = timezone(timedelta(hours=1)), timezone(timedelta(0))
    assert hm_local(datetime(2022, 10, 30, 1, 30, tzinfo=bst), LONDON) == "01:30 BST"
    assert hm_local(datetime(2022, 10, 30, 1, 30, tzinfo=gmt), LONDON) == "01:30 GMT"
    assert hm_local(datetime(2022, 10, 30, 2, 30, tzinfo=gmt), LONDON) == "02:30"
    assert hm_local(datetime(2022, 9, 3, 1, 30, tzinfo=bst), LONDON) == "01:30"


def test_cli_refuses_a_shift_in_the_gap(tmp_path: Path) -> None:
    """``plan`` with a shift starting at a time the clocks skip: one error line, non-zero exit, no plan."""
    data = REPO / "data"
    toml = f"""
name = "spring gap"
timezone = "Europe/London"
night = 2023-03-26
as_of = 2022-09-02T22:00:00
[data]
incidents = ["{data / 'policeuk-leicestershire-2022' / '2022-08-leicestershire-street.csv'}"]
osm = "{data / 'osm-rutland-2022' / 'rutland-latest.osm.pbf'}"
[area]
bbox = [-0.8229, 52.5236, -0.4277, 52.7611]
[hotspots]
top = 5
[[units]]
id = "RU-A1"
station = "Oakham"
shift = "01:30-05:00"
"""
    scn = tmp_path / "gap.toml"
    scn.write_text(toml, encoding="utf-8")
    r = CliRunner().invoke(app, ["plan", str(scn), "--out", str(tmp_path / "out")])
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert "shift start 01:30 on 2023-03-26 does not exist in Europe/London" in r.output
    assert not (tmp_path / "out" / "plan.json").exists()


def test_dosage_minutes_across_the_autumn_change_are_real(tmp_path: Path) -> None:
    """A unit in a spot from 00:50 BST to 02:10 GMT on 30 October 2022 (GPS times in UTC) is there 140 real
    minutes (80 by the wall clock), counted on programme day 29 October (days start at 06:00)."""
    from benchlib.dosage_sim import hot_cell_programme
    from patrol_planner.dosage import measure_pings

    data = REPO / "data" / "policeuk-leicestershire-2022"
    pts = pd.concat([pd.read_csv(p, usecols=["Longitude", "Latitude"]).dropna() for p in sorted(data.glob("*.csv"))])
    folder = hot_cell_programme(tmp_path / "prog", pts["Longitude"].to_numpy(), pts["Latitude"].to_numpy(), days=3,
                                n_spots=4, seed=3, start="2022-10-28")
    prog = read_programme(folder)
    spot_id, spot = next(iter(prog.spots.items()))
    c = spot.representative_point()
    t0 = datetime(2022, 10, 29, 23, 50, tzinfo=UTC).timestamp()
    t_s = np.arange(t0, datetime(2022, 10, 30, 2, 10, tzinfo=UTC).timestamp() + 1, 5.0)
    pings = pd.DataFrame({"unit": "U1", "t_s": t_s, "lon": c.x, "lat": c.y})
    res = measure_pings(prog, pings)
    row = res.table[(res.table["date"] == "2022-10-29") & (res.table["spot_id"] == spot_id)].iloc[0]
    assert row["minutes_present"] == pytest.approx(140, abs=0.5)

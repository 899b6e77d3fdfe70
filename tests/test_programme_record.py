"""The programme folder as a record: written once, read back, hand edits detected, amendments kept apart."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from patrol_planner.errors import ProgrammeError
from patrol_planner.programme import add_amendment, read_programme, write_programme

DESIGN = {"start_date": "2025-03-01", "days": 3, "timezone": "Europe/London", "day_starts_at": "06:00",
          "patrol_window": {"start": "15:00", "end": "00:00"}, "spot_size_m": 150,
          "dose": {"visits": 1, "minutes": 15}, "seed": 7}


def _spots() -> dict:
    def square(x0: float, y0: float) -> dict:
        d = 0.001
        ring = [[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d], [x0, y0]]
        return {"type": "Polygon", "coordinates": [ring]}
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square(-0.7, 51.5), "properties": {"spot_id": "S01", "place": "A"}},
        {"type": "Feature", "geometry": square(-0.71, 51.5), "properties": {"spot_id": "S02", "place": "B"}},
    ]}


def _schedule() -> pd.DataFrame:
    rows = []
    for i in range(3):
        d = date(2025, 3, 1 + i)
        for s, t in (("S01", i % 2), ("S02", 1 - i % 2)):
            rows.append({"date": d, "spot_id": s, "treated": t, "p_treated": 0.5, "visits": t, "minutes": 15 * t})
    return pd.DataFrame(rows)


@pytest.fixture
def folder(tmp_path):
    return write_programme(tmp_path / "prog", design=DESIGN, schedule=_schedule(), spots_geojson=_spots())


def test_round_trip_and_rewrite_same_is_harmless(folder):
    """A written programme reads back; writing the same programme again is allowed, a different one is not."""
    p = read_programme(folder)
    assert list(p.spots) == ["S01", "S02"]
    assert p.schedule["treated"].tolist() == _schedule()["treated"].tolist()
    write_programme(folder, design=DESIGN, schedule=_schedule(), spots_geojson=_spots())
    other = _schedule().assign(treated=1)
    with pytest.raises(ProgrammeError, match="already holds a different programme"):
        write_programme(folder, design=DESIGN, schedule=other, spots_geojson=_spots())


def test_hand_edited_schedule_is_detected(folder):
    """Editing schedule.csv after issue is refused on read: changes go through amendments."""
    path = folder / "schedule.csv"
    path.write_text(path.read_text().replace(",1,0.5,1,15", ",0,0.5,0,0", 1))
    with pytest.raises(ProgrammeError, match="hash mismatch"):
        read_programme(folder)


def test_days_and_windows_cross_midnight(folder):
    """Programme days start at 06:00; 15:00-00:00 ends at the next calendar day's midnight."""
    p = read_programme(folder)
    tz = ZoneInfo("Europe/London")
    assert p.day_of(datetime(2025, 3, 2, 5, 59, tzinfo=tz)) == date(2025, 3, 1)
    assert p.day_of(datetime(2025, 3, 2, 6, 0, tzinfo=tz)) == date(2025, 3, 2)
    t0, t1 = p.window(date(2025, 3, 1))
    assert (t0.hour, t1.day, t1.hour) == (15, 2, 0)
    with pytest.raises(ProgrammeError, match="outside the programme"):
        p.check_date(date(2025, 3, 4))


def test_amendments_keep_assignment(folder):
    """A cancelled day and a dropped spot change what is delivered, not what was assigned."""
    add_amendment(folder, action="cancel_day", day=date(2025, 3, 2), reason="major incident",
                  recorded_at=datetime(2025, 3, 2, 9, tzinfo=ZoneInfo("Europe/London")))
    add_amendment(folder, action="drop_spot", spot_id="S01", day=date(2025, 3, 3), reason="building demolished")
    d = read_programme(folder).delivered_schedule()
    day2 = d[d["date"] == date(2025, 3, 2)]
    assert day2["assigned"].sum() == 1 and day2["treated"].sum() == 0
    assert set(day2["status"]) == {"cancelled"}
    s01_last = d[(d["date"] == date(2025, 3, 3)) & (d["spot_id"] == "S01")].iloc[0]
    assert s01_last["status"] == "dropped" and s01_last["minutes"] == 0
    with pytest.raises(ProgrammeError, match="needs a reason"):
        add_amendment(folder, action="cancel_day", day=date(2025, 3, 1), reason=" ")


def test_repeated_and_contradictory_amendments_are_refused(folder):
    """An amendment recorded twice, a cancelled control spot-day, a spot-day already cancelled by its day, a
    dropped spot dropped again later, drop_spot without a spot and cancel_day with one are refused; so are an
    unknown spot and a date outside the programme. Nothing is appended by a refusal."""
    add_amendment(folder, action="cancel_spot_day", day=date(2025, 3, 1), spot_id="S02", reason="crime scene")
    path = folder / "amendments.csv"
    before = path.read_text()
    refused = [
        (dict(action="cancel_spot_day", day=date(2025, 3, 1), spot_id="S02"), "already recorded"),
        (dict(action="cancel_spot_day", day=date(2025, 3, 1), spot_id="S01"), "control spot"),
        (dict(action="cancel_spot_day", day=date(2025, 3, 9), spot_id="S02"), "outside the programme"),
        (dict(action="cancel_spot_day", day=date(2025, 3, 2), spot_id="S09"), "unknown spot 'S09'"),
        (dict(action="drop_spot", day=date(2025, 3, 2)), "drop_spot needs a spot"),
        (dict(action="cancel_day", day=date(2025, 3, 2), spot_id="S01"), "give no spot"),
    ]
    for kw, msg in refused:
        with pytest.raises(ProgrammeError, match=msg):
            add_amendment(folder, reason="r", **kw)
    add_amendment(folder, action="cancel_day", day=date(2025, 3, 2), reason="storm")
    with pytest.raises(ProgrammeError, match="changes nothing: already removed by cancel_day"):
        add_amendment(folder, action="cancel_spot_day", day=date(2025, 3, 2), spot_id="S01", reason="r")
    add_amendment(folder, action="drop_spot", day=date(2025, 3, 2), spot_id="S01", reason="demolished")
    with pytest.raises(ProgrammeError, match="changes nothing: already removed by drop_spot"):
        add_amendment(folder, action="drop_spot", day=date(2025, 3, 3), spot_id="S01", reason="again")
    assert len(read_programme(folder).amendments) == 3
    assert path.read_text().startswith(before)


def test_tasking_names_cancellations_and_keeps_controls_on_a_cancelled_day(folder):
    """On a cancelled day the control spot is still to be kept away from; the cancelled spot carries the
    amendment that removed it (action, reason, when)."""
    from patrol_planner.programme import day_tasking

    when = datetime(2025, 3, 1, 9, tzinfo=ZoneInfo("Europe/London"))
    add_amendment(folder, action="cancel_day", day=date(2025, 3, 2), reason="major incident", recorded_at=when)
    t = day_tasking(folder, date(2025, 3, 2))
    assert t["treated"] == []
    assert [c["spot_id"] for c in t["control"]] == ["S02"]
    (c,) = t["cancelled"]
    assert c["spot_id"] == "S01"
    assert c["amendment"] == {"recorded_at": when.isoformat(), "action": "cancel_day", "date": "2025-03-02",
                              "spot_id": None, "reason": "major incident"}
    add_amendment(folder, action="drop_spot", day=date(2025, 3, 3), spot_id="S01", reason="demolished")
    t3 = day_tasking(folder, date(2025, 3, 3))  # S01 is a control on day 3, and has left the programme
    assert t3["control"] == [] and [c["spot_id"] for c in t3["cancelled"]] == ["S01"]


def test_a_nan_in_the_spots_is_refused_before_anything_is_written(tmp_path):
    """spots.geojson is strict JSON: a NaN is refused with where it is, and no file of the folder is written."""
    spots = _spots()
    spots["features"][1]["properties"]["breakdown"] = {"score_own": float("nan")}
    with pytest.raises(ProgrammeError, match=r"spots.geojson .* at features.1.properties.breakdown.score_own"):
        write_programme(tmp_path / "p", design=DESIGN, schedule=_schedule(), spots_geojson=spots)
    assert not (tmp_path / "p").exists()

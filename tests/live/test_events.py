"""The event model and the event file reader: every bad row is quarantined with its reason, a bad file is one
error, and files round-trip."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from patrol_planner.errors import InputFileError
from patrol_planner.live.eventfile import EventCheck, events_csv, read_events
from patrol_planner.live.events import Event

BST = timezone(timedelta(hours=1))
T = datetime(2022, 9, 2, 23, 0, tzinfo=BST)
BBOX = (-0.82, 52.52, -0.43, 52.76)  # Rutland [deg]


def check() -> EventCheck:
    return EventCheck(frozenset({"A1", "B1"}), BBOX)


def test_each_kind_needs_its_fields():
    with pytest.raises(ValidationError, match="position event needs lon, lat"):
        Event(time=T, kind="position", unit="A1")
    with pytest.raises(ValidationError, match="task_added event needs"):
        Event(time=T, kind="task_added", site_id="t1", lon=-0.7, lat=52.6)
    with pytest.raises(ValidationError, match="UTC offset"):
        Event(time=datetime(2022, 9, 2, 23, 0), kind="task_cancelled", site_id="t1")
    with pytest.raises(ValidationError, match="unknown kind"):
        Event(time=T, kind="teleport", unit="A1")
    with pytest.raises(ValidationError, match="until is not after"):
        Event(time=T, kind="status", unit="A1", status="committed", until=T)
    ok = Event(time=T, kind="status", unit="A1", status="committed", until=T + timedelta(minutes=40), lon=-0.7,
               lat=52.6)
    assert ok.status.value == "committed"


ROWS = """time,kind,unit,device,lon,lat,accuracy_m,status,until,site_id,window,dwell_min,prize
2022-09-02T23:00:00+01:00,position,A1,dev-1,-0.72,52.67,10,,,,,,
2022-09-02T23:00:10+01:00,position,A1,dev-1,-0.72,52.67,10,,,,,,
2022-09-02T23:00:10+01:00,position,A1,dev-1,-0.72,52.67,10,,,,,,
2022-09-02T23:00:05+01:00,position,A1,dev-1,-0.72,52.67,10,,,,,,
2022-09-02T23:00:20+01:00,position,Z9,dev-9,-0.72,52.67,10,,,,,,
2022-09-02T23:00:20+01:00,position,B1,dev-1,-0.70,52.66,10,,,,,,
2022-09-02T23:00:30+01:00,position,B1,dev-2,-2.50,54.00,10,,,,,,
2022-09-02T23:00:40+01:00,position,B1,dev-2,not-a-number,52.66,10,,,,,,
2022-09-02T23:01:00+01:00,status,B1,,-0.70,52.66,,committed,2022-09-02T23:40:00+01:00,,,,
2022-09-02T23:02:00+01:00,task_added,,,-0.71,52.65,,,,task-9,23:30-01:00,10,
2022-09-02T23:03:00+01:00,spot_cancelled,,,,,,,,cell-1,,,
"""


def test_bad_rows_are_quarantined_with_reasons(tmp_path):
    p = tmp_path / "ev.csv"
    p.write_text(ROWS)
    log = read_events(p, check())
    reasons = dict(zip(log.quarantine["row"], log.quarantine["reason"], strict=True))
    assert reasons == {3: "duplicate", 4: "out_of_order", 5: "unknown_unit", 6: "unknown_device",
                       7: "outside_area", 8: "bad_value"}
    assert [e.kind for e in log.events] == ["position", "position", "status", "task_added", "spot_cancelled"]
    assert log.rows_read == 11
    assert all(log.quarantine["detail"].str.len() > 0)


def test_a_file_without_its_header_or_with_unknown_columns_is_one_error(tmp_path):
    p = tmp_path / "ev.csv"
    p.write_text("when,kind\n2022-09-02T23:00:00+01:00,position\n")
    with pytest.raises(InputFileError, match="lacks time"):
        read_events(p, check())
    p.write_text("time,kind,untill\n")
    with pytest.raises(InputFileError, match="unknown column"):
        read_events(p, check())
    with pytest.raises(InputFileError, match="no such event file"):
        read_events(tmp_path / "missing.csv", check())


def test_events_round_trip_through_csv(tmp_path):
    evs = [Event(time=T, kind="position", unit="A1", lon=-0.72, lat=52.67, accuracy_m=10, seq=1),
           Event(time=T + timedelta(minutes=1), kind="status", unit="A1", status="committed",
                 until=T + timedelta(minutes=50), lon=-0.7, lat=52.6, seq=2),
           Event(time=T + timedelta(minutes=2), kind="intel_added", site_id="i1", lon=-0.7, lat=52.6,
                 window=(T.time(), (T + timedelta(hours=2)).time()), dwell_min=10, prize=40, seq=3)]
    p = tmp_path / "ev.csv"
    p.write_text(events_csv(evs))
    back = read_events(p, check()).events
    assert [e.model_dump(exclude={"seq"}) for e in back] == [e.model_dump(exclude={"seq"}) for e in evs]

"""Live statuses through the API: a device sets its own unit's, the tasking room any unit's, and "My route"
polls the changes with the change in words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest


def _body(**over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {"status": "committed", "time": now.isoformat(), "until": (now + timedelta(minutes=45)).isoformat(),
            "lon": -0.72, "lat": 52.66}
    body.update(over)
    return body


def _dev(client: Any, token: str, unit: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/device/units/{unit}/status", data=json.dumps(body), content_type="application/json",
                       headers={"Authorization": f"Bearer {token}"})


@pytest.mark.django_db
def test_device_status_is_stored_audited_and_polled_by_my_route(client: Any, roster: dict[str, Any]):
    from patrol_planner.web import services
    from patrol_planner.web.models import AuditEvent, UnitStatusEvent

    _, token = services.issue_device_token(roster["units"]["RU-A1"], "car terminal")
    _, other = services.issue_device_token(roster["units"]["RU-B1"], "car terminal")
    r = _dev(client, token, "RU-A1", _body())
    assert r.status_code == 201, r.content
    assert "RU-A1 committed to a call until" in r.json()["what"]
    assert _dev(client, other, "RU-A1", _body()).status_code == 403
    now = datetime.now(UTC)
    assert _dev(client, token, "RU-A1", _body(until=now.isoformat(), time=now.isoformat())).status_code == 409
    assert _dev(client, token, "RU-A1", _body(time=(now - timedelta(hours=1)).isoformat(), until=None)).status_code \
        == 409  # out of order
    assert UnitStatusEvent.objects.count() == 1
    assert AuditEvent.objects.filter(action="unit_status").count() == 1
    client.force_login(roster["users"]["officer"])
    got = client.get("/api/my-route/changes").json()
    assert got["poll_s"] <= 5 and [c["status"] for c in got["changes"]] == ["committed"]
    assert "its remaining stops will be re-planned" in got["changes"][0]["what"]
    assert client.get(f"/api/my-route/changes?after={got['last']}").json()["changes"] == []
    dev = client.get("/api/device/route/changes", headers={"Authorization": f"Bearer {token}"})
    assert dev.status_code == 200 and dev.json()["last"] == got["last"]


@pytest.mark.django_db
def test_the_tasking_room_sets_any_units_status_and_officers_may_not(client: Any, roster: dict[str, Any]):
    unit = roster["units"]["RU-B1"]
    client.force_login(roster["users"]["officer"])
    url = f"/api/units/{unit.pk}/status"
    assert client.post(url, data=json.dumps(_body(status="off_duty", until=None)),
                       content_type="application/json").status_code == 403
    client.force_login(roster["users"]["tasking"])
    r = client.post(url, data=json.dumps(_body(status="off_duty", until=None)), content_type="application/json")
    assert r.status_code == 201 and r.json()["what"].startswith("RU-B1 off duty")


@pytest.mark.django_db
def test_the_nights_events_come_back_from_the_database_as_an_event_file(client: Any, roster: dict[str, Any],
                                                                       tmp_path: Any):
    """What a restarted server rebuilds its live state from, and what a replay reads: every stored position and
    status, in time order, through the event file's own checks with nothing quarantined."""
    from patrol_planner.live.eventfile import EventCheck, events_csv, read_events
    from patrol_planner.web import services
    from patrol_planner.web.live import stored_events

    _, token = services.issue_device_token(roster["units"]["RU-A1"], "car terminal")
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    for k in range(3):
        body = {"id": f"fix-{k}", "time": (t0 + timedelta(seconds=10 * k)).isoformat(), "lon": -0.72, "lat": 52.66,
                "accuracy_m": 8}
        assert client.post("/api/device/units/RU-A1/positions", data=json.dumps(body), content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"}).status_code == 201
    assert _dev(client, token, "RU-A1", _body(time=(t0 + timedelta(seconds=15)).isoformat())).status_code == 201
    evs = stored_events()
    assert [e.kind for e in evs] == ["position", "position", "status", "position"]
    f = tmp_path / "night.csv"
    f.write_text(events_csv(evs))
    log = read_events(f, EventCheck(frozenset({"RU-A1", "RU-B1"}), (-0.82, 52.52, -0.43, 52.76)))
    assert len(log.events) == 4 and len(log.quarantine) == 0

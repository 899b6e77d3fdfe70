"""Live re-plans from the tasking room: a unit committed through the API makes the worker (the real queue and
db_worker) re-plan tonight's published plan from the live state in the database and publish a NEW version,
child of the published one, with the change explained; the officer's route is the new one; a supervisor can
stop live re-tasking."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.management import call_command

NIGHT_TZ = "+01:00"


def _worker() -> None:
    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0.1")


def _commit(client: Any, unit: Any, at: str, until: str) -> Any:
    day = "2022-09-02" if at >= "12" else "2022-09-03"
    body = {"status": "committed", "time": f"{day}T{at}:00{NIGHT_TZ}", "until": f"2022-09-03T{until}:00{NIGHT_TZ}",
            "lon": -0.7265, "lat": 52.6703}
    return client.post(f"/api/units/{unit.pk}/status", data=json.dumps(body), content_type="application/json")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_diversion_publishes_a_new_version_with_the_change_explained(client: Any, roster: dict[str, Any],
                                                                        make_version: Any):
    from patrol_planner.web.models import AuditEvent, LiveReplan, PlanVersion

    v1 = make_version("published")
    assert LiveReplan.objects.get().kind == "warm"  # publishing loads the night into the worker
    client.force_login(roster["users"]["tasking"])
    r = _commit(client, roster["units"]["RU-A1"], "23:10", "03:30")
    assert r.status_code == 201, r.content
    _worker()
    row = LiveReplan.objects.filter(kind="replan").get()
    assert row.state == "done", row.error
    v2 = row.version
    assert v2.status == "published" and v2.parent_id == v1.pk and v2.number == v1.number + 1
    plan = json.loads(v2.plan_json)
    live = plan["rules"]["live"]
    assert live["validated"] and live["trigger"].startswith("RU-A1 committed")
    assert row.changes and row.changes[0].startswith("RU-A1 (committed to a call until 03:30): its stop")
    a1 = next(u for u in plan["units"] if u["id"] == "RU-A1")
    assert all(s["arrive"] < "2022-09-02T23:10" or s["arrive"] >= "2022-09-03T03:30" for s in a1["stops"])
    ev = AuditEvent.objects.filter(action="plan_replanned").get()
    assert ev.detail["parent"] == v1.pk and ev.detail["changes"] == row.changes and ev.actor == "system"
    assert v2.approvals.get().by == roster["users"]["supervisor"]
    assert row.latency_s is not None and row.latency_s > 0
    # the officer's route is the new version, with the change in words on the poll
    client.force_login(roster["users"]["officer"])
    assert client.get("/api/my-route").json()["version"] == v2.pk
    got = client.get("/api/my-route/changes").json()
    assert got["version"] == v2.pk and any("moved to" in w for w in got["replans"])
    # an event outside the night the published plan covers re-plans nothing
    client.force_login(roster["users"]["tasking"])
    now = datetime.now(UTC).isoformat()
    assert client.post(f"/api/units/{roster['units']['RU-A2'].pk}/status", content_type="application/json",
                       data=json.dumps({"status": "off_duty", "time": now})).status_code == 201
    _worker()
    outside = LiveReplan.objects.filter(kind="replan").order_by("-id").first()
    assert outside.state == "skipped" and "outside the night" in outside.error
    # the supervisor stops live re-tasking: the next event is stored but re-plans nothing
    client.force_login(roster["users"]["supervisor"])
    assert client.post("/api/live/stop", data=json.dumps({"reason": "major incident"}),
                       content_type="application/json").status_code == 201
    client.force_login(roster["users"]["tasking"])
    assert _commit(client, roster["units"]["RU-B1"], "23:40", "01:00").status_code == 201
    _worker()
    skipped = LiveReplan.objects.filter(kind="replan").order_by("-id").first()
    assert skipped.state == "skipped" and "stopped by supervisor" in skipped.error
    assert PlanVersion.objects.count() == 2
    client.force_login(roster["users"]["supervisor"])
    seen = client.get("/api/live").json()
    assert seen["stopped"] and seen["version"] == v2.pk and seen["authorised_by"] == v1.pk
    assert [r["state"] for r in seen["replans"]] == ["skipped", "skipped", "done", "done"]
    client.force_login(roster["users"]["officer"])
    assert client.get("/api/live").status_code == 403


@pytest.mark.django_db
def test_the_live_page_and_positions_are_for_the_tasking_room_only(client: Any, roster: dict[str, Any],
                                                                   make_version: Any):
    from datetime import timedelta

    from patrol_planner.web import services
    from patrol_planner.web.models import LiveStop

    make_version("published")
    _, token = services.issue_device_token(roster["units"]["RU-B1"], "car terminal")
    at = datetime.now(UTC) - timedelta(seconds=30)
    r = client.post("/api/device/units/RU-B1/positions", content_type="application/json",
                    headers={"Authorization": f"Bearer {token}"},
                    data=json.dumps({"id": "p1", "time": at.isoformat(), "lon": -0.72, "lat": 52.66, "accuracy_m": 8}))
    assert r.status_code == 201
    for who in ("officer", "analyst", "auditor"):
        client.force_login(roster["users"][who])
        assert client.get("/tonight/live/").status_code == 403
        assert client.get("/api/live/positions").status_code == 403
    client.force_login(roster["users"]["tasking"])
    page = client.get("/tonight/live/").content.decode()
    assert "Live re-tasking is <strong id=\"live-state\">on</strong>" in page and "live-stop-button" not in page
    assert "<script>" not in page  # the map and the polling are static files
    got = client.get("/api/live/positions").json()
    assert [(p["unit"], p["lon"], p["status"]) for p in got] == [("RU-B1", -0.72, "available")]
    assert client.post("/tonight/live/stop/", {"reason": "x"}).status_code == 403
    client.force_login(roster["users"]["supervisor"])
    assert "live-stop-button" in client.get("/tonight/live/").content.decode()
    assert client.post("/tonight/live/stop/", {"reason": "firearms incident"}).status_code == 302
    stop = LiveStop.objects.get()
    assert stop.reason == "firearms incident" and stop.by == roster["users"]["supervisor"]
    assert "<strong id=\"live-state\">stopped</strong>" in client.get("/tonight/live/").content.decode()


@pytest.mark.django_db
def test_positions_out_of_order_duplicated_foreign_or_far_away_are_quarantined(client: Any, roster: dict[str, Any],
                                                                               make_version: Any):
    from datetime import timedelta

    from patrol_planner.web import services
    from patrol_planner.web.models import Position, QuarantinedEvent

    make_version("published")
    _, token = services.issue_device_token(roster["units"]["RU-A1"], "car terminal")
    t = datetime.now(UTC) - timedelta(minutes=2)

    def post(cid: str, at: datetime, lon: float = -0.72, lat: float = 52.66, unit: str = "RU-A1") -> Any:
        return client.post(f"/api/device/units/{unit}/positions", content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"},
                           data=json.dumps({"id": cid, "time": at.isoformat(), "lon": lon, "lat": lat,
                                            "accuracy_m": 8}))

    assert post("a", t).status_code == 201
    assert post("a", t).status_code == 200  # a retry of the same id: stored once, not a duplicate
    r = post("b", t)  # the same fix under another id
    assert r.status_code == 202 and r.json()["reason"] == "duplicate"
    r = post("c", t - timedelta(seconds=30))
    assert r.status_code == 202 and r.json()["reason"] == "out_of_order"
    r = post("d", t + timedelta(seconds=10), lon=-3.19, lat=55.95)  # Edinburgh: far outside Rutland
    assert r.status_code == 202 and r.json()["reason"] == "outside_area" and "km outside" in r.json()["detail"]
    assert post("e", t + timedelta(seconds=10), unit="RU-B1").status_code == 403
    assert post("f", t + timedelta(seconds=20)).status_code == 201
    assert list(Position.objects.order_by("at").values_list("client_id", flat=True)) == ["a", "f"]
    got = sorted(QuarantinedEvent.objects.values_list("reason", flat=True))
    assert got == ["duplicate", "out_of_order", "outside_area", "unknown_device"]
    client.force_login(roster["users"]["supervisor"])
    assert client.get("/api/live").json()["quarantined"] == {"duplicate": 1, "out_of_order": 1, "outside_area": 1,
                                                              "unknown_device": 1}
    assert "outside_area 1" in client.get("/tonight/live/").content.decode()


@pytest.mark.slow
@pytest.mark.django_db
def test_the_workers_state_read_in_steps_equals_the_state_read_at_once(roster: dict[str, Any], make_version: Any):
    """The worker keeps the night's live state and reads only what was stored since: the same state as one
    read of the whole database (what a restarted worker does)."""
    from datetime import timedelta

    from patrol_planner.web import live, live_replan, services
    from patrol_planner.web.models import Position

    v = make_version("published")
    ctx = live_replan.context_for(v)
    dev, _ = services.issue_device_token(roster["units"]["RU-A1"], "car terminal")
    plan = json.loads(v.plan_json)
    stops = next(u for u in plan["units"] if u["id"] == "RU-A1")["stops"]
    t0 = datetime.fromisoformat(stops[0]["arrive"])

    def ping(i: int) -> None:  # every 10 s at the first stop, then on towards the second
        s = stops[0] if i < 120 else stops[1]
        Position.objects.create(unit=roster["units"]["RU-A1"], device=dev, client_id=f"p{i}",
                                at=t0 + timedelta(seconds=10 * i), lon=s["lon"], lat=s["lat"], accuracy_m=8)

    for i in range(60):
        ping(i)
    key = (v.pk, "test")
    mid = t0 + timedelta(minutes=10)
    live.set_status(roster["units"]["RU-B1"], "committed", mid - timedelta(minutes=1),
                    until=mid + timedelta(hours=1), actor="test")
    live_replan.state_from_db(ctx, mid, key=key)
    for i in range(60, 180):
        ping(i)
    end = t0 + timedelta(minutes=25)
    stepped = live_replan.state_from_db(ctx, end, key=key)
    whole = live_replan.state_from_db(ctx, end)
    assert stepped.position("RU-A1") == whole.position("RU-A1") is not None
    assert stepped.dose.dose_s == whole.dose.dose_s and stepped.dose.dose_s
    assert [(s.site_id, s.start_s, s.end_s) for s in stepped.dose.stays()] == \
        [(s.site_id, s.start_s, s.end_s) for s in whole.dose.stays()]
    assert stepped.units["RU-B1"].status == whole.units["RU-B1"].status == "committed"

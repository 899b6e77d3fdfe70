"""The tasking room's events through the API and the Tonight live page: tasks added and cancelled,
intelligence-led visits, hot spots cancelled for the night. Checked (one-line errors), stored, audited, a
re-plan asked for; the worker's re-plan serves an added task and drops a cancelled spot and task;
intelligence text is refused and never stored; nothing of an intelligence item reaches an officer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command

#: The bundled Rutland night runs 22:00-06:00 on 2022-09-02/03 (BST).
NIGHT = "2022-09-03T{}:00+01:00"
SECRET = "Zebedee Quartermaine deals from the blue van"  # an intelligence item's free text
INTEL = {"time": "01:00", "window": "01:15-03:00", "dwell_min": 15, "source_evaluation": "B",
         "intelligence_assessment": "2", "handling_code": "3", "value": 5000}


def _post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def _worker() -> None:
    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0.1")


def _spot_near(plan: dict[str, Any], after: str) -> str:
    """A hot spot with a stop arriving after ``after`` (ISO) on some unit's route."""
    return next(s["hotspot_id"] for u in plan["units"] for s in u["stops"] if s["arrive"] > after)


@pytest.mark.django_db
def test_tasks_are_checked_stored_audited_and_ask_for_a_replan(client: Any, roster: dict[str, Any],
                                                               make_version: Any):
    from patrol_planner.web.models import AuditEvent, LiveReplan, LiveTaskingEvent

    v = make_version("published")
    plan = v.plan()
    spot = plan["hotspots"][0]
    client.force_login(roster["users"]["tasking"])
    ok = {"time": NIGHT.format("01:00"), "lon": spot["lon"] + 0.002, "lat": spot["lat"], "window": "01:30-03:00",
          "dwell_min": 10, "site_id": "bail-14"}
    bad = [  # (change, words the one-line refusal has)
        ({"window": "25:00-26:00"}, "window: '25:00' is not a time of day"),
        ({"window": "01:30-01:35"}, "shorter than the dwell"),
        ({"window": "23:00-00:30"}, "ends before a visit made from 01:00 could finish"),
        ({"lon": -3.19, "lat": 55.95}, "outside the force area"),
        ({"hotspot_id": spot["hotspot_id"]}, "not both"),
        ({"site_id": spot["hotspot_id"]}, "already a hot spot, task or visit tonight"),
        ({"unit": "RU-Z9"}, "'RU-Z9' is not on tonight's plan"),
        ({"time": "2022-09-01T01:00:00+01:00"}, "is not in tonight's night"),
        ({"time": "2022-09-03T01:00:00"}, "needs a UTC offset"),
        ({"time": "25:00"}, "time: '25:00' is not a time of day"),
        ({"time": "tomorrow"}, "time: 'tomorrow' is not ISO 8601 or HH:MM"),
    ]
    for change, words in bad:
        r = _post(client, "/api/live/tasks", {**ok, **change})
        assert r.status_code == 422, (change, r.content)
        detail = r.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail and words in detail, (change, detail)
    assert not LiveTaskingEvent.objects.exists() and not LiveReplan.objects.filter(kind="replan").exists()
    r = _post(client, "/api/live/tasks", ok)
    assert r.status_code == 201, r.content
    got = r.json()
    assert (got["kind"], got["site_id"], got["window"]) == ("task_added", "bail-14", "01:30-03:00")
    assert got["dwell_min"] == 10
    assert _post(client, "/api/live/tasks", ok).json()["detail"].startswith("site_id: 'bail-14' is already")
    # a task at a hot spot's place, its id given by the server
    r = _post(client, "/api/live/tasks", {"hotspot_id": spot["hotspot_id"], "window": "02:00-04:00", "dwell_min": 5,
                                          "time": "01:05", "unit": "RU-B1"})
    assert r.status_code == 201 and r.json()["site_id"] == "live-1" and r.json()["unit"] == "RU-B1"
    assert (r.json()["lon"], r.json()["lat"]) == (spot["lon"], spot["lat"])
    # cancellations: only what exists tonight, once
    r = _post(client, "/api/live/tasks/nope/cancel", {"time": "01:10"})
    assert r.status_code == 422 and "is not a task or visit tonight" in r.json()["detail"]
    r = _post(client, "/api/live/spots/bail-14/cancel", {"time": "01:10"})
    assert r.status_code == 422 and "is not a hot spot of tonight's plan" in r.json()["detail"]
    assert _post(client, "/api/live/tasks/bail-14/cancel", {"time": "01:10", "reason": "arrested"}).status_code == 201
    assert "already cancelled" in _post(client, "/api/live/tasks/bail-14/cancel", {"time": "01:11"}).json()["detail"]
    r = _post(client, f"/api/live/spots/{spot['hotspot_id']}/cancel", {"time": "01:12", "reason": "dose in"})
    assert r.status_code == 201 and r.json()["what"] == f"hot spot {spot['hotspot_id']} cancelled for the night"
    # stored, audited, each asked for a re-plan at its own time
    rows = list(LiveTaskingEvent.objects.order_by("id"))
    assert [e.kind for e in rows] == ["task_added", "task_added", "task_cancelled", "spot_cancelled"]
    assert all(e.replan.trigger_at == e.at for e in rows)
    assert [e.at.isoformat() for e in rows[:2]] == ["2022-09-03T00:00:00+00:00", "2022-09-03T00:05:00+00:00"]
    assert [e.replan.state for e in rows] == ["queued"] * 4
    assert rows[0].replan.trigger == "new task bail-14 (01:30-03:00, 10 min)"
    audit = list(AuditEvent.objects.filter(action__startswith="live_").order_by("seq").values_list("action", "target"))
    assert audit == [("live_task_added", "site:bail-14"), ("live_task_added", "site:live-1"),
                     ("live_task_cancelled", "site:bail-14"), ("live_spot_cancelled", f"site:{spot['hotspot_id']}")]
    listed = client.get("/api/live/events").json()
    assert [e["site_id"] for e in listed] == ["bail-14", "live-1", "bail-14", spot["hotspot_id"]]
    assert listed[2]["reason"] == "arrested" and listed[0]["created_by"] == "tasking"
    # the night as an event file for the replay holds them too
    from patrol_planner.live.eventfile import events_csv
    from patrol_planner.web.live import stored_events

    text = events_csv(stored_events())
    assert text.count(",task_added,") == 2 and ",task_cancelled," in text and ",spot_cancelled," in text
    assert ",bail-14,01:30-03:00,10," in text


@pytest.mark.django_db
def test_no_published_plan_and_roles(client: Any, roster: dict[str, Any], make_version: Any):
    client.force_login(roster["users"]["tasking"])
    r = _post(client, "/api/live/intel", INTEL)
    assert r.status_code == 409 and r.json()["detail"] == "no published plan tonight"
    assert client.get("/api/live/events").json() == []
    make_version("published")
    for who in ("officer", "analyst", "auditor"):
        client.force_login(roster["users"][who])
        assert _post(client, "/api/live/intel", INTEL).status_code == 403
        assert client.get("/api/live/events").status_code == 403
        form = {k: str(v) for k, v in INTEL.items()}
        assert client.post("/tonight/live/events/intel_added/", form).status_code == 403


@pytest.mark.django_db
def test_intelligence_text_is_refused_and_never_stored(client: Any, roster: dict[str, Any], make_version: Any):
    from patrol_planner.web.models import AuditEvent, LiveReplan, LiveTaskingEvent, QuarantinedEvent

    v = make_version("published")
    spot = v.plan()["hotspots"][3]
    client.force_login(roster["users"]["supervisor"])
    body = {**INTEL, "hotspot_id": spot["hotspot_id"]}
    for extra in ({"text": SECRET}, {"notes": SECRET}, {"description": SECRET}):
        r = _post(client, "/api/live/intel", {**body, **extra})
        assert r.status_code == 422 and SECRET not in r.content.decode()
    # the page's form goes through the same service: an extra field is refused in one line, nothing stored
    page = client.post("/tonight/live/events/intel_added/", {**{k: str(x) for k, x in body.items()}, "text": SECRET},
                       follow=True).content.decode()
    assert "text: is not a field of this event" in page and SECRET not in page
    assert not LiveTaskingEvent.objects.exists()
    assert "grading X/2/3 is not a 3x5x2" in _post(client, "/api/live/intel",
                                                   {**body, "source_evaluation": "X"}).json()["detail"]
    r = _post(client, "/api/live/intel", body)
    assert r.status_code == 201, r.content
    got = r.json()
    # 5x5x5 B2: 0.8 x 0.9; handling 3 restricts dissemination
    assert got["grading"] == "B2" and got["handling_code"] == "3" and got["disseminate"] is False
    assert got["prize"] == pytest.approx(5000 * 0.8 * 0.9) and got["site_id"] == "live-1"
    assert "intelligence-led visit live-1" in got["what"] and "restricted" in got["what"]
    # the re-plan's trigger (which reaches the plan and the audit log) is neutral; the room sees the item
    row = LiveReplan.objects.get(kind="replan")
    assert row.trigger == "new visit live-1 (01:15-03:00, 15 min)"
    seen = client.get("/api/live").json()["replans"][0]["trigger"]
    assert seen.startswith("new intelligence-led visit live-1")
    assert "intelligence-led visit live-1" in client.get("/tonight/live/").content.decode()
    texts = [json.dumps(list(m.objects.values()), default=str) for m in (LiveTaskingEvent, AuditEvent, LiveReplan,
                                                                        QuarantinedEvent)]
    assert not any(SECRET in t or "Zebedee" in t for t in texts)
    audit = AuditEvent.objects.get(action="live_intel_added")
    assert "intelligence" not in json.dumps(audit.detail) and "B2" not in json.dumps(audit.detail)


@pytest.mark.django_db
def test_the_live_page_forms(client: Any, roster: dict[str, Any], make_version: Any):
    from patrol_planner.web.models import LiveTaskingEvent

    v = make_version("published")
    spot = v.plan()["hotspots"][1]["hotspot_id"]
    client.force_login(roster["users"]["tasking"])
    page = client.get("/tonight/live/").content.decode()
    assert 'id="task-add-form"' in page and 'id="intel-add-form"' in page and 'id="spot-cancel-form"' in page
    assert f"<option>{spot}</option>" in page and "<script>" not in page
    r = client.post("/tonight/live/events/task_added/", {"time": "00:40", "hotspot_id": spot, "lon": "", "lat": "",
                                                        "window": "01:00-02:00", "dwell_min": "10", "site_id": ""},
                    follow=True)
    assert "Recorded: new task live-1 (01:00-02:00, 10 min)" in r.content.decode()
    r = client.post("/tonight/live/events/task_added/", {"time": "00:40", "lon": "-3.19", "lat": "55.95",
                                                        "window": "01:00-02:00", "dwell_min": "10"}, follow=True)
    assert "outside the force area" in r.content.decode()
    r = client.post("/tonight/live/events/task_cancelled/", {"time": "00:50", "site_id": "live-1", "reason": ""},
                    follow=True)
    assert "Recorded: live-1 cancelled" in r.content.decode()
    assert client.post("/tonight/live/events/spot_cancelled/", {"time": "00:55", "site_id": spot}).status_code == 302
    assert [e.kind for e in LiveTaskingEvent.objects.order_by("id")] == ["task_added", "task_cancelled",
                                                                        "spot_cancelled"]
    page = client.get("/tonight/live/").content.decode()
    assert f"hot spot {spot} cancelled for the night" in page
    assert f"<option>{spot}</option>" in page.split('id="spot-cancel-form"')[0]  # still a place for a task
    assert f"<option>{spot}</option>" not in page.split('id="spot-cancel-form"')[1].split("</form>")[0]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_serves_an_added_task_and_drops_cancelled_spots_and_tasks(client: Any, roster: dict[str, Any],
                                                                            make_version: Any):
    from patrol_planner.web import services
    from patrol_planner.web.models import LiveReplan

    v1 = make_version("published")
    plan = v1.plan()
    spot = _spot_near(plan, "2022-09-03T01:30")
    near = plan["hotspots"][0]
    client.force_login(roster["users"]["tasking"])
    task = {"time": "01:00", "lon": near["lon"] + 0.001, "lat": near["lat"], "window": "01:30-03:30",
            "dwell_min": 10, "site_id": "bail-14"}
    assert _post(client, "/api/live/tasks", task).status_code == 201
    assert _post(client, f"/api/live/spots/{spot}/cancel", {"time": "01:01"}).status_code == 201
    assert _post(client, "/api/live/intel", {**INTEL, "time": "01:02", "lon": near["lon"] - 0.001,
                                            "lat": near["lat"]}).status_code == 201
    _worker()
    done = LiveReplan.objects.filter(kind="replan", state="done").get()  # the later re-plans took the others in
    after = json.loads(done.version.plan_json)
    stops = [(u["id"], s) for u in after["units"] for s in u["stops"]]
    served = [s for _, s in stops if s["hotspot_id"] == "bail-14"]
    assert len(served) == 1 and served[0]["arrive"] >= NIGHT.format("01:30")
    assert served[0]["depart"] <= NIGHT.format("03:30")
    assert not [s for _, s in stops if s["hotspot_id"] == spot and s["arrive"] > NIGHT.format("01:02")]
    assert after["rules"]["live"]["cancelled"] == [spot] and after["rules"]["live"]["validated"]
    # the restricted intelligence-led visit is routed; nothing of it reaches the officer's route or the device's
    unit, stop = next((u, s) for u, s in stops if s["hotspot_id"] == "live-1")
    assert stop["label"] == "intelligence-led visit"  # in plan.json, which officers never get
    _, token = services.issue_device_token(roster["units"][unit], "terminal")
    route = client.get("/api/device/route", headers={"Authorization": f"Bearer {token}"}).json()
    mine = next(s for s in route["stops"] if s["hotspot_id"] == "live-1")
    assert (mine["place"], mine["why"]) == ("Tasking room visit", "a visit the tasking room asked for")
    texts = [json.dumps(route), json.dumps(client.get("/api/device/route/changes",
                                                      headers={"Authorization": f"Bearer {token}"}).json())]
    officer = {"RU-A1": "officer", "RU-B1": "officer_b"}.get(unit)
    if officer:
        client.force_login(roster["users"][officer])
        texts += [client.get("/my-route/").content.decode(), json.dumps(client.get("/api/my-route").json())]
    for text in texts:
        for word in ("intelligence", "handling", "restricted", "grading", "B2", "new visit", "4000", "3600"):
            assert word not in text, word
    # the task cancelled: the next re-plan drops it
    client.force_login(roster["users"]["supervisor"])
    assert _post(client, "/api/live/tasks/bail-14/cancel", {"time": "01:20", "reason": "arrested"}).status_code == 201
    _worker()
    last = LiveReplan.objects.filter(kind="replan").order_by("-id").first()
    assert last.state == "done", last.error
    final = json.loads(last.version.plan_json)
    assert not [s for u in final["units"] for s in u["stops"] if s["hotspot_id"] == "bail-14"]
    assert sorted(final["rules"]["live"]["cancelled"]) == sorted(["bail-14", spot])

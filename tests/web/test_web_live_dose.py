"""Live dose and control-spot alerts in the tasking room, through the real queue and db_worker with positions
stored in the database: a spot whose dose for the day is delivered starts a re-plan that removes its later
visits (and nothing is re-planned while no spot crosses); a unit inside one of tonight's programme control
spots raises one alert per unit x spot x visit, shown to the tasking room, acknowledged by a supervisor,
never shown to officers."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from django.core.management import call_command

NIGHT = date(2022, 9, 2)


@pytest.fixture(autouse=True)
def _check_at_once(monkeypatch: Any) -> None:
    """The worker runs here in batches that stop when nothing is due: no wait between two dose checks."""
    from patrol_planner.web import live_queue

    monkeypatch.setattr(live_queue, "CHECK_EVERY_S", 0.0)


def _worker() -> None:
    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0.1")


def _stand(unit: Any, dev: Any, lon: float, lat: float, start: datetime, minutes: float, tag: str) -> None:
    """Pings every 10 s for ``minutes`` at one place (a car parked in a spot), stored as the API stores them."""
    from patrol_planner.web.models import Position

    for i in range(int(minutes * 6) + 1):
        Position.objects.create(unit=unit, device=dev, client_id=f"{tag}-{i}", at=start + timedelta(seconds=10 * i),
                                lon=lon, lat=lat, accuracy_m=8)


def _spot_with_a_late_visit(plan: dict[str, Any], after: datetime) -> dict[str, Any]:
    """A hot-spot stop of the plan arriving after ``after`` (its spot then has a visit still to come)."""
    return next(s for u in plan["units"] for s in u["stops"]
                if s.get("kind", "hotspot") == "hotspot" and datetime.fromisoformat(s["arrive"]) > after)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_spot_whose_dose_is_delivered_starts_a_replan_that_removes_its_later_visits(
        roster: dict[str, Any], make_version: Any):
    from patrol_planner.web import live_replan, services
    from patrol_planner.web.models import AuditEvent, LiveReplan

    v1 = make_version("published")
    _worker()  # the warm-up: the night's context is loaded
    plan = json.loads(v1.plan_json)
    t0 = datetime.fromisoformat(plan["units"][0]["shift_start"])
    stop = _spot_with_a_late_visit(plan, t0 + timedelta(hours=2, minutes=30))
    spot = stop["hotspot_id"]
    unit = roster["units"]["RU-B1"]
    dev, _ = services.issue_device_token(unit, "car terminal")
    # the first of the spot's two visits (dosage rules: 15 min, 80 % present): no dose yet, no re-plan
    _stand(unit, dev, stop["lon"], stop["lat"], t0 + timedelta(minutes=5), 16, "a")
    checks = LiveReplan.objects.filter(kind="check")
    assert checks.count() == 1 and checks.get().state == "queued"  # 97 positions, one check queued
    _worker()
    assert checks.get().state == "done" and "checked to" in checks.get().notes[0]
    assert not LiveReplan.objects.filter(kind="replan").exists()
    # the second visit, two hours on: the spot has had its dose, and the plan still visits it later
    _stand(unit, dev, stop["lon"], stop["lat"], t0 + timedelta(minutes=126), 16, "b")
    _worker()
    row = LiveReplan.objects.get(kind="replan")
    assert row.state == "done", row.error
    assert re.fullmatch(rf"spot {re.escape(spot)} has had its 3\d min: its later visits removed", row.trigger)
    v2 = row.version
    assert v2.parent_id == v1.pk and v2.status == "published"
    new = json.loads(v2.plan_json)
    live = new["rules"]["live"]
    assert live["validated"] and spot in live["dose_delivered"] and live["trigger"] == row.trigger
    now = datetime.fromisoformat(live["at"])
    assert not [s for u in new["units"] for s in u["stops"]
                if s["hotspot_id"] == spot and datetime.fromisoformat(s["arrive"]) >= now]
    assert AuditEvent.objects.filter(action="plan_replanned").count() == 1
    # more positions, nothing newly crossed: the check runs, no further re-plan
    _stand(unit, dev, stop["lon"] + 0.01, stop["lat"], t0 + timedelta(minutes=150), 2, "c")
    _worker()
    assert LiveReplan.objects.filter(kind="replan").count() == 1
    assert checks.get().state == "done"
    # a restarted worker reads the night again and sees the spot delivered: the plan no longer visits it, so
    # nothing is re-planned twice
    live_replan._STATES.clear()
    _stand(unit, dev, stop["lon"] + 0.01, stop["lat"], t0 + timedelta(minutes=155), 1, "d")
    _worker()
    assert LiveReplan.objects.filter(kind="replan").count() == 1 and checks.get().state == "done"


def _control_programme(tmp_path: Any, lon: float, lat: float) -> Any:
    """A programme with tonight as a day: spot C01 (a 0.002 deg square round lon/lat) a control, S01 treated."""
    from patrol_planner.programme import write_programme

    def square(x: float, y: float) -> dict[str, Any]:
        d = 0.001
        return {"type": "Polygon", "coordinates": [[[x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d],
                                                    [x - d, y - d]]]}

    spots = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square(lon, lat), "properties": {"spot_id": "C01", "place": "Control Lane"}},
        {"type": "Feature", "geometry": square(lon + 0.05, lat), "properties": {"spot_id": "S01", "place": "High St"}},
    ]}
    rows = [{"date": d, "spot_id": s, "treated": t, "p_treated": 0.5, "visits": t, "minutes": 15 * t}
            for d in (NIGHT, NIGHT + timedelta(days=1)) for s, t in (("C01", 0), ("S01", 1))]
    design = {"start_date": NIGHT.isoformat(), "days": 2, "timezone": "Europe/London", "day_starts_at": "06:00",
              "patrol_window": {"start": "20:00", "end": "04:00"}, "spot_size_m": 150,
              "dose": {"visits": 1, "minutes": 15}, "seed": 7}
    return write_programme(tmp_path / "controls", design=design, schedule=pd.DataFrame(rows), spots_geojson=spots)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_unit_in_a_control_spot_raises_one_alert_per_visit_for_the_supervisor(
        client: Any, roster: dict[str, Any], make_version: Any, tmp_path: Any):
    from patrol_planner.web import live_alerts, live_replan, services
    from patrol_planner.web.models import AuditEvent, LiveAlert
    from patrol_planner.web.programmes import import_programme

    lon, lat = -0.7000, 52.6500
    rec = import_programme(_control_programme(tmp_path, lon, lat))
    v1 = make_version("published")
    _worker()
    t0 = datetime.fromisoformat(json.loads(v1.plan_json)["units"][0]["shift_start"])  # 22:00
    unit = roster["units"]["RU-B1"]
    dev, _ = services.issue_device_token(unit, "car terminal")
    _stand(unit, dev, lon + 0.0002, lat, t0 + timedelta(minutes=60), 5, "a")  # 23:00-23:05 in C01
    _stand(unit, dev, lon + 0.05, lat, t0 + timedelta(minutes=70), 1, "t")  # in the treated spot: no alert
    _stand(unit, dev, lon, lat + 0.0003, t0 + timedelta(minutes=90), 2, "b")  # 23:30, a second visit
    _worker()
    got = list(LiveAlert.objects.order_by("first_at"))
    assert [(a.unit_id, a.spot_id, a.programme_id, a.day) for a in got] == [(unit.pk, "C01", rec.pk, NIGHT)] * 2
    assert got[0].first_at == t0 + timedelta(minutes=60) and got[0].last_at == t0 + timedelta(minutes=65)
    assert got[0].minutes == pytest.approx(5.0, abs=0.01) and got[1].minutes == pytest.approx(2.0, abs=0.01)
    # the second visit goes on: the same alert, longer (one per unit x spot x visit, not one per position)
    _stand(unit, dev, lon, lat, t0 + timedelta(minutes=92, seconds=10), 3, "c")
    _worker()
    assert LiveAlert.objects.count() == 2
    assert LiveAlert.objects.order_by("first_at").last().minutes == pytest.approx(5.17, abs=0.02)
    assert AuditEvent.objects.filter(action="control_spot_alert").count() == 2
    # the tasking room sees them; officers never do; only a supervisor acknowledges
    client.force_login(roster["users"]["tasking"])
    seen = client.get("/api/live/alerts").json()
    assert [(a["unit"], a["spot"], a["acknowledged_by"]) for a in seen] == [("RU-B1", "C01", None)] * 2
    page = client.get("/tonight/live/").content.decode()
    assert "Control-spot alerts" in page and "C01" in page and "alert-ack" not in page
    first = got[0].pk
    assert client.post(f"/api/live/alerts/{first}/acknowledge").status_code == 403
    client.force_login(roster["users"]["officer"])
    assert client.get("/api/live/alerts").status_code == 403
    assert "C01" not in client.get("/my-route/").content.decode()
    client.force_login(roster["users"]["supervisor"])
    assert "alert-ack" in client.get("/tonight/live/").content.decode()
    r = client.post(f"/api/live/alerts/{first}/acknowledge")
    assert r.status_code == 200 and r.json()["acknowledged_by"] == "supervisor"
    assert client.post(f"/tonight/live/alerts/{got[1].pk}/acknowledge/").status_code == 302
    assert LiveAlert.objects.filter(acknowledged_at__isnull=True).count() == 0
    assert AuditEvent.objects.filter(action="live_alert_acknowledged").count() == 2
    assert client.post("/api/live/alerts/999999/acknowledge").status_code == 404
    # a restarted worker measures the night again: the same visits, no alert raised twice
    live_alerts._WATCHES.clear()
    live_replan._STATES.clear()
    _stand(unit, dev, lon, lat, t0 + timedelta(minutes=95, seconds=20), 1, "d")
    _worker()
    assert LiveAlert.objects.count() == 2 and AuditEvent.objects.filter(action="control_spot_alert").count() == 2
    assert LiveAlert.objects.order_by("first_at").last().minutes == pytest.approx(6.33, abs=0.02)


@pytest.mark.django_db
def test_positions_queue_at_most_one_check_and_no_sooner_than_check_every_s(
        roster: dict[str, Any], make_version: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any):
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from patrol_planner.web import live_queue, services
    from patrol_planner.web.models import LiveReplan

    monkeypatch.setattr(live_queue, "CHECK_EVERY_S", 5.0)
    make_version("published")
    dev, _ = services.issue_device_token(roster["units"]["RU-A1"], "car terminal")
    at = timezone.now() - timedelta(minutes=5)
    tasks = DBTaskResult.objects.filter(task_path__endswith="live_check_job")
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(20):  # as the API stores them
            services.record_position(dev, f"p{i}", at + timedelta(seconds=5 * i), -0.72, 52.66, 8.0)
    row = LiveReplan.objects.get(kind="check")
    assert row.state == "queued" and tasks.count() == 1 and tasks.get().priority == live_queue.CHECK_PRIORITY
    done = timezone.now()
    LiveReplan.objects.filter(pk=row.pk).update(state="done", published_at=done)  # as the worker leaves it
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(20, 25):
            services.record_position(dev, f"p{i}", at + timedelta(seconds=5 * i), -0.72, 52.66, 8.0)
    assert LiveReplan.objects.get(kind="check").state == "queued" and tasks.count() == 2
    later = tasks.order_by("-enqueued_at").first()
    assert later.run_after == done + timedelta(seconds=5.0)  # the worker runs it 5 s after the last check

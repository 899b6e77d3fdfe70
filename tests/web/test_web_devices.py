"""Device tokens: hashed at rest, scoped to one unit's published route, revocable; and interrupted jobs
are requeued (or failed after repeated worker deaths) when the server starts."""

from __future__ import annotations

import json
from typing import Any

import pytest


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.django_db
def test_device_token_is_hashed_at_rest_and_scoped_to_its_unit(client: Any, roster: dict[str, Any],
                                                               make_version: Any):
    from django.db import connection

    from patrol_planner.web import services
    from patrol_planner.web.models import DeviceToken, Visit

    plan = make_version("published").plan()
    dev, token = services.issue_device_token(roster["units"]["RU-B1"], "car terminal")
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM tasking_devicetoken")
        rows = cur.fetchall()
    assert token not in repr(rows) and token[4:] not in repr(rows)
    assert DeviceToken.objects.get().token_sha256 == DeviceToken.digest(token)

    route = client.get("/api/device/route", headers=_bearer(token)).json()
    assert route["unit"] == "RU-B1"
    assert "intelligence" not in json.dumps(route)
    seq = route["next_seq"]
    r = client.post("/api/device/visits", data=json.dumps({"seq": seq, "kind": "arrive"}),
                    content_type="application/json", headers=_bearer(token))
    assert r.status_code == 201
    v = Visit.objects.get()
    assert (v.unit.call_sign, v.device_id, v.recorded_by) == ("RU-B1", dev.pk, None)
    # the token opens nothing else: not the officers' session API, not the pages, not another unit's route
    assert client.get("/api/my-route", headers=_bearer(token)).status_code == 401
    assert client.get("/api/audit", headers=_bearer(token)).status_code == 401
    assert client.get("/api/versions", headers=_bearer(token)).status_code == 401
    assert client.get("/tonight/", headers=_bearer(token)).status_code == 302
    own = [s["hotspot_id"] for u in plan["units"] if u["id"] == "RU-B1" for s in u["stops"]]
    assert [s["hotspot_id"] for s in route["stops"]] == own


@pytest.mark.django_db
def test_revoked_or_unknown_tokens_are_refused(client: Any, roster: dict[str, Any], make_version: Any):
    from patrol_planner.web import services

    make_version("published")
    dev, token = services.issue_device_token(roster["units"]["RU-A1"], "car terminal")
    assert client.get("/api/device/route", headers=_bearer(token)).status_code == 200
    services.revoke_device(dev.pk)
    assert client.get("/api/device/route", headers=_bearer(token)).status_code == 401
    assert client.get("/api/device/route", headers=_bearer(token[:-1] + "x")).status_code == 401
    assert client.get("/api/device/route").status_code == 401


@pytest.mark.django_db
def test_interrupted_job_is_requeued_then_failed_after_repeated_deaths(roster: dict[str, Any]):
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from patrol_planner.web.admin_ops import MAX_ATTEMPTS, recover_interrupted
    from patrol_planner.web.models import PlanJob
    from patrol_planner.web.tasks import plan_job

    job = PlanJob.objects.create(scenario=roster["scenario"], requested_by=roster["users"]["tasking"],
                                 state=PlanJob.State.RUNNING, progress="3/6 building road networks")
    res = plan_job.enqueue(job.pk)
    DBTaskResult.objects.filter(pk=res.id).update(status=TaskResultStatus.RUNNING, worker_ids=["dead-1"])
    assert recover_interrupted() == 1
    job.refresh_from_db()
    assert DBTaskResult.objects.get(pk=res.id).status == TaskResultStatus.READY
    assert job.state == "queued" and "requeued" in job.progress
    DBTaskResult.objects.filter(pk=res.id).update(status=TaskResultStatus.RUNNING,
                                                  worker_ids=[f"dead-{i}" for i in range(MAX_ATTEMPTS)])
    assert recover_interrupted() == 1
    job.refresh_from_db()
    assert DBTaskResult.objects.get(pk=res.id).status == TaskResultStatus.FAILED
    assert job.state == "failed" and "stopped" in job.error
    assert recover_interrupted() == 0

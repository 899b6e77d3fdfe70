"""A plan job goes through the real queue (django-tasks database backend, its db_worker) to a stored version;
backup then restore gives equal data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_plan_job_runs_through_the_queue_to_a_draft_version(client: Any, roster: dict[str, Any]):
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from patrol_planner.web.models import PlanJob, PlanVersion

    client.force_login(roster["users"]["tasking"])
    r = client.post("/api/plans", data="{}", content_type="application/json")
    assert r.status_code == 202
    job_id = r.json()["id"]
    task = DBTaskResult.objects.get()
    assert task.status == TaskResultStatus.READY and task.args_kwargs["args"] == [job_id]
    assert PlanJob.objects.get(pk=job_id).state == "queued"
    # the worker the server starts, run here until the queue is empty
    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0.1")
    task.refresh_from_db()
    job = PlanJob.objects.get(pk=job_id)
    assert task.status == TaskResultStatus.SUCCESSFUL, (job.error, task.traceback)
    assert job.state == "done" and job.progress == "done"
    v = PlanVersion.objects.get(pk=job.version_id)
    assert v.status == "draft" and v.created_by.username == "tasking" and v.number == 1
    plan = json.loads(v.plan_json)
    assert {u["id"] for u in plan["units"]} == {"RU-A1", "RU-A2", "RU-B1"}
    assert sum(len(u["stops"]) for u in plan["units"]) > 0
    assert {i["file"] for i in v.input_hashes} >= {"intel.csv", "rutland-latest.osm.pbf"}
    assert client.get(f"/api/jobs/{job_id}").json()["version"] == v.pk
    page = client.get(f"/plans/{v.pk}/").content.decode()
    assert "RU-B1" in page and "Submit for approval" in page


@pytest.mark.django_db(transaction=True)
def test_units_stood_down_are_not_planned_and_none_on_duty_is_refused(client: Any, roster: dict[str, Any]):
    from patrol_planner.web.models import PlanJob, Unit

    client.force_login(roster["users"]["tasking"])
    Unit.objects.exclude(call_sign="RU-B1").update(on_duty=False)
    assert client.post("/api/plans", data="{}", content_type="application/json").status_code == 202
    assert [u["id"] for u in PlanJob.objects.get().units] == ["RU-B1"]
    Unit.objects.update(on_duty=False)
    r = client.post("/api/plans", data="{}", content_type="application/json")
    assert r.status_code == 409 and "no unit is on duty" in r.json()["detail"]


def _tables(path: Path) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for row in json.loads(path.read_text()):
        out.setdefault(row["model"], []).append(row)
    return out


@pytest.mark.django_db(transaction=True)  # as the command runs: not inside another transaction
def test_backup_then_restore_gives_equal_data(tmp_path: Path, roster: dict[str, Any], make_version: Any):
    from django.contrib.auth import get_user_model

    from patrol_planner.web import admin_ops, audit, services
    from patrol_planner.web.models import PlanVersion, Visit

    v = make_version("published")
    services.record_visit(v, roster["units"]["RU-A1"], 1, "arrive", roster["users"]["officer"])
    first = tmp_path / "first.json"
    admin_ops.backup(first)
    # changes after the backup: a new user and a new version, both gone after the restore
    get_user_model().objects.create_user("late", password="x")
    make_version("draft")
    admin_ops.restore(first)
    second = tmp_path / "second.json"
    admin_ops.backup(second)
    a, b = _tables(first), _tables(second)
    assert set(a) == set(b)
    for model in a:
        if model in ("tasking.auditevent", "tasking.audithead"):
            continue  # the restore itself is audited: compared below
        assert a[model] == b[model], model
    assert b["tasking.auditevent"][:len(a["tasking.auditevent"])] == a["tasking.auditevent"]
    assert [e["fields"]["action"] for e in b["tasking.auditevent"][len(a["tasking.auditevent"]):]] == ["restore"]
    assert PlanVersion.objects.count() == 1 and Visit.objects.count() == 1
    assert not get_user_model().objects.filter(username="late").exists()
    assert audit.verify().ok
    assert oct(first.stat().st_mode & 0o777) == "0o600"

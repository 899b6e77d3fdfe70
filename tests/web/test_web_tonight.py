"""Tonight before and after a plan: parameters and tasks edited through the scenario model (form errors, never
a 500), candidate spots scored by the worker, GPX and scenario TOML downloads, two versions side by side."""

from __future__ import annotations

import json
import tomllib
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.core.management import call_command

TASK = {"id": "bail-1", "kind": "bail_check", "lon": "-0.7275", "lat": "52.6710", "window": "23:00-01:00",
        "dwell_min": "10", "address": "Oakham centre"}


def _events(action: str) -> list[Any]:
    from patrol_planner.web.models import AuditEvent

    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


@pytest.mark.django_db
def test_tasking_edits_parameters_and_tasks_through_the_scenario_model(client: Any, roster: dict[str, Any]):
    from patrol_planner.web.models import StoredScenario

    s = roster["scenario"]
    client.force_login(roster["users"]["tasking"])
    r = client.post("/tonight/parameters/", {"scenario": s.pk, "seconds": "5", "top": "12", "dwell_min": "10",
                                             "max_visits": "1"})
    assert r.status_code == 302
    c = StoredScenario.objects.get(pk=s.pk).content
    assert (c["solver"]["time_limit_s"], c["hotspots"]["top"], c["visits"]["dwell_min"], c["visits"]["max_visits"]) \
        == (5, 12, 10, 1)
    assert _events("scenario_edited")[-1].detail["parameters"]["top"] == 12
    assert client.post("/tonight/tasks/add/", {"scenario": s.pk, **TASK}).status_code == 302
    stored = StoredScenario.objects.get(pk=s.pk)
    task = stored.scenario().tasks[0]
    assert (task.id, task.kind, task.dwell_min, task.address) == ("bail-1", "bail_check", 10, "Oakham centre")
    page = client.get(f"/tonight/?scenario={s.pk}").content.decode()
    assert "bail-1" in page and "23:00-01:00" in page and 'value="12"' in page
    assert client.post("/tonight/tasks/remove/", {"scenario": s.pk, "task_id": "bail-1"}).status_code == 302
    assert StoredScenario.objects.get(pk=s.pk).content["tasks"] == []
    assert [e.detail.get("task_added") or e.detail.get("task_removed") for e in _events("scenario_edited")[1:]] \
        == ["bail-1", "bail-1"]


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "form", "says"), [
    ("/tonight/parameters/", {"seconds": "-1"}, "solver.time_limit_s"),
    ("/tonight/parameters/", {"top": "lots"}, "top: &#x27;lots&#x27; is not a whole number"),
    ("/tonight/parameters/", {"max_visits": "9"}, "visits.max_visits"),
    ("/tonight/tasks/add/", {**TASK, "window": "23:00-23:05"}, "shorter than dwell_min"),
    ("/tonight/tasks/add/", {**TASK, "lat": "north"}, "tasks.0.lat"),
    ("/tonight/tasks/add/", {**TASK, "kind": "raid"}, "tasks.0.kind"),
    ("/tonight/tasks/remove/", {"task_id": "nope"}, "no task &#x27;nope&#x27;"),
])
def test_bad_values_are_form_errors_and_change_nothing(client: Any, roster: dict[str, Any], url: str,
                                                       form: dict[str, str], says: str):
    from patrol_planner.web.models import StoredScenario

    s = roster["scenario"]
    before = StoredScenario.objects.get(pk=s.pk).content
    client.force_login(roster["users"]["tasking"])
    r = client.post(url, {"scenario": s.pk, **form})
    assert r.status_code == 400
    assert 'id="form-error"' in r.content.decode() and says in r.content.decode()
    assert StoredScenario.objects.get(pk=s.pk).content == before
    assert not _events("scenario_edited")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["analyst", "supervisor", "officer", "auditor"])
def test_only_tasking_edits_tonight(client: Any, roster: dict[str, Any], role: str):
    from patrol_planner.web.models import StoredScenario, Unit

    s = roster["scenario"]
    before = StoredScenario.objects.get(pk=s.pk).content
    client.force_login(roster["users"][role])
    for url, form in (("/tonight/parameters/", {"top": "3"}), ("/tonight/tasks/add/", TASK),
                      ("/tonight/tasks/remove/", {"task_id": "x"}),
                      (f"/tonight/units/{roster['units']['RU-A1'].pk}/availability/", {"on_duty": "0"})):
        assert client.post(url, {"scenario": s.pk, **form}).status_code == 403, (role, url)
    assert StoredScenario.objects.get(pk=s.pk).content == before and Unit.objects.get(call_sign="RU-A1").on_duty
    if role in ("officer", "auditor"):
        assert client.get("/tonight/").status_code == 403
    else:
        assert 'id="params-button"' not in client.get("/tonight/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_candidate_spots_are_scored_by_the_worker_before_the_first_plan(client: Any, roster: dict[str, Any]):
    from django_tasks_db.models import DBTaskResult

    client.force_login(roster["users"]["analyst"])
    assert 'id="scoring"' in client.get("/tonight/").content.decode()
    client.get("/tonight/")  # a second look does not queue the same work twice
    assert DBTaskResult.objects.count() == 1
    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0.1")
    page = client.get("/tonight/").content.decode()
    assert "Candidate hot spots (30)" in page and 'id="scoring"' not in page
    data = json.loads(page.split('id="map-data" type="application/json">')[1].split("</script>")[0])
    props = [f["properties"] for f in data["features"]]
    assert len(props) == 30 and len({p["rank"] for p in props}) == 30 and all(p["place"] for p in props)
    # a whitelist: rank, public place text, position; nothing from intelligence
    assert all(set(p) == {"kind", "status", "rank", "place"} and p["status"] == "candidate" for p in props)
    assert DBTaskResult.objects.count() == 1
    # a changed scenario is scored again
    client.force_login(roster["users"]["tasking"])
    client.post("/tonight/parameters/", {"scenario": roster["scenario"].pk, "top": "5"})
    assert 'id="scoring"' in client.get("/tonight/").content.decode()
    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0.1")
    assert "Candidate hot spots (5)" in client.get("/tonight/").content.decode()


@pytest.mark.django_db
def test_gpx_per_unit_download_is_audited(client: Any, roster: dict[str, Any], make_version: Any):
    v = make_version("draft")
    client.force_login(roster["users"]["supervisor"])
    page = client.get(f"/plans/{v.pk}/").content.decode()
    assert f"/plans/{v.pk}/gpx/RU-B1" in page
    r = client.get(f"/plans/{v.pk}/gpx/RU-B1")
    assert r.status_code == 200 and r["Content-Type"] == "application/gpx+xml"
    assert "attachment" in r["Content-Disposition"]
    root = ET.fromstring(r.content)
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    assert root.findall(".//g:trkpt", ns) and root.findall(".//g:wpt", ns)
    assert _events("export")[-1].detail == {"file": "gpx/RU-B1.gpx"}
    assert client.get(f"/plans/{v.pk}/gpx/NOPE").status_code == 404


@pytest.mark.django_db
def test_scenario_toml_export_reads_back_to_the_same_scenario(client: Any, roster: dict[str, Any]):
    from pathlib import Path

    from patrol_planner.scenario import scenario_from_dict

    s = roster["scenario"]
    client.force_login(roster["users"]["tasking"])
    client.post("/tonight/tasks/add/", {"scenario": s.pk, **TASK})
    s.refresh_from_db()
    client.force_login(roster["users"]["analyst"])
    r = client.get(f"/scenarios/{s.pk}/scenario.toml")
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
    back = scenario_from_dict(tomllib.loads(r.content.decode()), base_dir=Path(s.base_dir))
    assert back == s.scenario() and back.tasks[0].id == "bail-1"
    assert _events("scenario_exported")[-1].target == f"scenario:{s.pk}"


@pytest.mark.django_db
def test_two_versions_side_by_side(client: Any, roster: dict[str, Any], make_version: Any):
    from patrol_planner.web.models import PlanVersion, StoredScenario

    a = make_version("draft")
    plan = json.loads(a.plan_json)
    dropped = plan["units"].pop()  # a unit stood down: its places are no longer visited
    gone = {s["hotspot_id"] for s in dropped["stops"]} - {s["hotspot_id"] for u in plan["units"] for s in u["stops"]}
    for h in plan["hotspots"]:
        if h["hotspot_id"] in gone:
            h["status"] = "unvisited"
    b = PlanVersion.objects.create(scenario=a.scenario, number=2, parent=a, plan_json=json.dumps(plan),
                                   scenario_content=a.scenario_content, created_by=roster["users"]["tasking"])
    client.force_login(roster["users"]["analyst"])
    page = client.get(f"/plans/compare/?a={a.pk}&b={b.pk}").content.decode()
    assert "What changed from v1 to v2" in page
    assert f"{dropped['id']}: {len(dropped['stops'])} → not planned stops" in page
    assert "No longer visited" in page and page.count('class="tl"') >= 2 * len(plan["units"]) + 1
    other = StoredScenario.objects.create(name="another night", content=a.scenario.content,
                                          base_dir=a.scenario.base_dir)
    c = PlanVersion.objects.create(scenario=other, number=1, plan_json=a.plan_json,
                                   scenario_content=a.scenario_content, created_by=roster["users"]["tasking"])
    r = client.get(f"/plans/compare/?a={a.pk}&b={c.pk}")
    assert r.status_code == 400 and "same night" in r.content.decode()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_task_added_on_the_page_is_planned_and_drawn_on_the_timeline(client: Any, roster: dict[str, Any]):
    from patrol_planner.web.models import PlanJob, PlanVersion

    s = roster["scenario"]
    client.force_login(roster["users"]["tasking"])
    assert client.post("/tonight/parameters/", {"scenario": s.pk, "seconds": "10"}).status_code == 302
    assert client.post("/tonight/tasks/add/", {"scenario": s.pk, **TASK}).status_code == 302
    assert client.post("/tonight/plan/", {"scenario": s.pk}).status_code == 302
    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0.1")
    job = PlanJob.objects.get()
    assert job.state == "done", job.error
    v = PlanVersion.objects.get(pk=job.version_id)
    assert v.scenario_content["tasks"][0]["id"] == "bail-1"
    stops = [st for u in v.plan()["units"] for st in u["stops"] if st["hotspot_id"] == "bail-1"]
    assert len(stops) == 1
    hm = stops[0]["arrive"][11:16]
    assert hm >= "23:00" or hm < "01:00"
    page = client.get(f"/plans/{v.pk}/").content.decode()
    assert "tl-stop tl-task" in page


@pytest.mark.django_db
def test_interrupted_candidate_scoring_is_put_back_without_touching_plan_jobs(roster: dict[str, Any]):
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from patrol_planner.web.admin_ops import MAX_ATTEMPTS, recover_interrupted
    from patrol_planner.web.models import PlanJob
    from patrol_planner.web.tasks import candidates_job

    s = roster["scenario"]
    # a plan job whose id equals the scenario's: the scoring task's argument must not be read as a job id
    job = PlanJob.objects.create(pk=s.pk, scenario=s, requested_by=roster["users"]["tasking"],
                                 state=PlanJob.State.DONE, progress="done")
    res = candidates_job.enqueue(s.pk)
    DBTaskResult.objects.filter(pk=res.id).update(status=TaskResultStatus.RUNNING, worker_ids=["dead-1"])
    assert recover_interrupted() == 0
    assert DBTaskResult.objects.get(pk=res.id).status == TaskResultStatus.READY
    DBTaskResult.objects.filter(pk=res.id).update(status=TaskResultStatus.RUNNING,
                                                  worker_ids=[f"dead-{i}" for i in range(MAX_ATTEMPTS)])
    assert recover_interrupted() == 0
    assert DBTaskResult.objects.get(pk=res.id).status == TaskResultStatus.FAILED
    job.refresh_from_db()
    assert job.state == "done" and not _events("plan_requeued") and not _events("plan_failed")


@pytest.mark.django_db
def test_candidate_scoring_that_fails_says_why_on_the_page(client: Any, roster: dict[str, Any]):
    from patrol_planner.web.candidates import score_candidates
    from patrol_planner.web.models import StoredScenario

    s = roster["scenario"]
    content = json.loads(json.dumps(s.content))
    content["data"]["incidents"][0]["path"] = "no-such-file.csv"
    bad = StoredScenario.objects.create(name="missing data", content=content, base_dir=s.base_dir)
    score_candidates(bad.pk)
    client.force_login(roster["users"]["tasking"])
    page = client.get(f"/tonight/?scenario={bad.pk}").content.decode()
    assert 'id="candidates-error"' in page and "no-such-file.csv" in page and 'id="scoring"' not in page

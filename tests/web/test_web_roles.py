"""Every page and API call checks the role on the server: each role's allowed and forbidden requests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import ROLES

PLANNERS = {"analyst", "tasking", "supervisor"}
PROGRAMME_VIEWERS = PLANNERS | {"auditor"}

#: (method, url template, roles allowed); {v} a submitted version, {u} a unit, {j} a job.
PAGES = [
    ("get", "/tonight/", PLANNERS),
    ("get", "/plans/", PLANNERS),
    ("get", "/plans/{v}/", PLANNERS),
    ("get", "/jobs/{j}/", PLANNERS),
    ("get", "/my-route/", {"officer"}),
    ("get", "/audit/", {"auditor"}),
    ("post", "/tonight/units/{u}/availability/", {"tasking"}),
    ("post", "/tonight/parameters/", {"tasking"}),
    ("get", "/plans/compare/?a={v}&b={v}", PLANNERS),
    ("get", "/plans/{v}/gpx/RU-A1", PLANNERS),
    ("get", "/scenarios/{s}/scenario.toml", {"analyst"}),
    ("post", "/plans/{v}/approved/", {"supervisor"}),
    ("post", "/my-route/visit/", {"officer"}),
    ("get", "/programmes/{p}/", PROGRAMME_VIEWERS),
    ("post", "/programmes/{p}/tracks/", {"analyst"}),
    ("post", "/programmes/{p}/evaluate/", {"analyst"}),
    ("get", "/programmes/jobs/{pj}/", PROGRAMME_VIEWERS),
    ("get", "/programmes/evaluations/{e}/", PROGRAMME_VIEWERS),
    ("get", "/programmes/evaluations/{e}/evaluation.html", PROGRAMME_VIEWERS),
    ("get", "/tonight/live/", {"tasking", "supervisor"}),
    ("post", "/tonight/live/events/spot_cancelled/", {"tasking", "supervisor"}),
    ("post", "/tonight/live/alerts/{al}/acknowledge/", {"supervisor"}),
]
API = [
    ("get", "/api/me", set(ROLES)),
    ("get", "/api/units", PLANNERS | {"auditor"}),
    ("post", "/api/units/{u}/availability", {"tasking"}),
    ("get", "/api/jobs/{j}", PLANNERS),
    ("get", "/api/versions", PLANNERS | {"auditor"}),
    ("get", "/api/versions/{v}", PLANNERS | {"auditor"}),
    ("post", "/api/versions/{v}/approved", {"supervisor"}),
    ("post", "/api/versions/{v}/submitted", {"tasking"}),
    ("get", "/api/my-route", {"officer"}),
    ("post", "/api/my-route/visits", {"officer"}),
    ("get", "/api/audit", {"auditor"}),
    ("get", "/api/audit/verify", {"auditor"}),
    ("get", "/api/tonight/programme", PLANNERS),
    ("get", "/api/programme-jobs/{pj}", PROGRAMME_VIEWERS),
    ("get", "/api/programmes/{p}/compliance", PROGRAMME_VIEWERS),
    ("get", "/api/programmes/{p}/evaluations", PROGRAMME_VIEWERS),
    ("post", "/api/live/tasks", {"tasking", "supervisor"}),
    ("post", "/api/live/tasks/matrix-1/cancel", {"tasking", "supervisor"}),
    ("post", "/api/live/intel", {"tasking", "supervisor"}),
    ("post", "/api/live/spots/{h}/cancel", {"tasking", "supervisor"}),
    ("get", "/api/live/events", {"tasking", "supervisor"}),
    ("get", "/api/live/alerts", {"tasking", "supervisor"}),
    ("post", "/api/live/alerts/{al}/acknowledge", {"supervisor"}),
]
#: Bodies of the live tasking calls (valid, so an allowed role's call is stored and a forbidden one is refused
#: for its role, not its body); in the order above, the task added is then cancelled.
LIVE_BODIES = {
    "/api/live/tasks": {"time": "01:00", "site_id": "matrix-1", "lon": -0.72, "lat": 52.66, "window": "01:30-03:00",
                        "dwell_min": 10},
    "/api/live/intel": {"time": "01:00", "lon": -0.72, "lat": 52.66, "window": "01:30-03:00", "dwell_min": 10,
                        "source_evaluation": "1", "intelligence_assessment": "B", "handling_code": "C", "value": 20},
    "/api/live/tasks/": {"time": "01:05"}, "/api/live/spots/": {"time": "01:05"},
}


@pytest.fixture
def objects(roster: dict[str, Any], make_version: Any, tmp_path: Any) -> dict[str, Any]:
    from patrol_planner.web.models import PlanJob

    make_version("published")  # so the officer's route exists
    v = make_version("submitted")
    job = PlanJob.objects.create(scenario=roster["scenario"], requested_by=roster["users"]["tasking"])
    progs = _programme_objects(roster, tmp_path)
    return {"v": v.pk, "u": roster["units"]["RU-A1"].pk, "j": job.pk, "s": roster["scenario"].pk,
            "h": v.plan()["hotspots"][0]["hotspot_id"], "al": _alert(roster, progs["p"], v), **progs}


def _alert(roster: dict[str, Any], programme_id: int, version: Any) -> int:
    """A control-spot alert as the worker's dose check stores it."""
    from datetime import UTC, date, datetime

    from patrol_planner.web.models import LiveAlert

    at = datetime(2025, 3, 1, 17, 0, tzinfo=UTC)
    return LiveAlert.objects.create(authorised_by=version, programme_id=programme_id, day=date(2025, 3, 1),
                                    unit=roster["units"]["RU-B1"], spot_id="S01", first_at=at, last_at=at,
                                    minutes=2.0).pk


def _programme_objects(roster: dict[str, Any], tmp_path: Any) -> dict[str, int]:
    """A stored programme with a dosage measured by the package (a unit standing 10 minutes in spot S02 on its
    patrol day), a dosage job and an evaluation row."""
    import numpy as np
    import pandas as pd

    from patrol_planner.dosage import measure_pings, write_dosage
    from patrol_planner.programme import read_programme, write_programme
    from patrol_planner.web.models import DosageRecord, EvaluationRecord, ProgrammeJob
    from patrol_planner.web.programmes import import_programme

    from .test_web_programmes import DESIGN, _schedule, _spots

    folder = write_programme(tmp_path / "spring", design=DESIGN, schedule=_schedule(), spots_geojson=_spots())
    rec = import_programme(folder)
    prog = read_programme(folder)
    c = prog.spots["S02"].centroid
    t0 = pd.Timestamp("2025-03-01T16:00:00Z").timestamp()
    pings = pd.DataFrame({"unit": "A", "t_s": t0 + 5.0 * np.arange(120), "lon": c.x, "lat": c.y})
    paths = write_dosage(measure_pings(prog, pings), tmp_path / "D", inputs=[], prog=prog, page=False)
    analyst = roster["users"]["analyst"]
    d = DosageRecord.objects.create(programme=rec, dosage_csv=paths["dosage"].read_text(),
                                    record=json.loads(paths["json"].read_text()), made_by=analyst)
    pj = ProgrammeJob.objects.create(programme=rec, kind="dosage", requested_by=analyst, state="done", dosage=d)
    e = EvaluationRecord.objects.create(programme=rec, method="place-day", made_by=analyst, html="<p>report</p>",
                                        record={"summary": {"rate_ratio": 0.8}, "verdicts": ["v"], "caveats": []})
    return {"p": rec.pk, "pj": pj.pk, "e": e.pk}


def _call(client: Any, method: str, url: str) -> Any:
    if method == "get":
        return client.get(url)
    body = {"on_duty": True, "seq": 1, "kind": "arrive", "reason": "test"}
    body = next((b for k, b in LIVE_BODIES.items() if url == k or k.endswith("/") and url.startswith(k)), body)
    if url.startswith("/api/"):
        return client.post(url, data=json.dumps(body), content_type="application/json")
    return client.post(url, data={k: str(v) for k, v in body.items()})


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_pages_allow_and_forbid_by_role(client: Any, roster: dict[str, Any], objects: dict[str, Any], role: str):
    client.force_login(roster["users"][role])
    for method, tpl, allowed in PAGES:
        r = _call(client, method, tpl.format(**objects))
        if role in allowed:
            assert r.status_code in (200, 302), (role, method, tpl, r.status_code)
            assert r.status_code == 200 or "/login/" not in r.get("Location", "")
        else:
            assert r.status_code == 403, (role, method, tpl, r.status_code)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_api_allows_and_forbids_by_role(client: Any, roster: dict[str, Any], objects: dict[str, Any], role: str):
    client.force_login(roster["users"][role])
    for method, tpl, allowed in API:
        r = _call(client, method, tpl.format(**objects))
        if role in allowed:
            assert r.status_code < 400 or r.status_code == 409, (role, method, tpl, r.status_code, r.content[:200])
        else:
            assert r.status_code == 403, (role, method, tpl, r.status_code)


@pytest.mark.django_db
def test_anonymous_gets_login_page_or_401(client: Any, objects: dict[str, Any]):
    for method, tpl, _ in PAGES:
        r = _call(client, method, tpl.format(**objects))
        assert r.status_code == 302 and r["Location"].startswith("/login/"), (tpl, r.status_code)
    for method, tpl, _ in API:
        assert _call(client, method, tpl.format(**objects)).status_code == 401, tpl


@pytest.mark.django_db
def test_user_without_a_role_opens_nothing(client: Any, objects: dict[str, Any]):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("norole", password="x"))
    for method, tpl, _ in PAGES + API[1:]:
        assert _call(client, method, tpl.format(**objects)).status_code == 403, tpl


@pytest.mark.django_db
def test_post_without_csrf_token_is_refused(roster: dict[str, Any], objects: dict[str, Any]):
    from django.test import Client

    from patrol_planner.web.models import Unit

    c = Client(enforce_csrf_checks=True)
    c.force_login(roster["users"]["tasking"])
    before = Unit.objects.get(pk=objects["u"]).on_duty
    assert c.post(f"/tonight/units/{objects['u']}/availability/", {"on_duty": "0"}).status_code == 403
    r = c.post(f"/api/units/{objects['u']}/availability", data='{"on_duty": false}', content_type="application/json")
    assert r.status_code == 403
    assert Unit.objects.get(pk=objects["u"]).on_duty == before
    # with the token the same request goes through: the refusal above was the CSRF check
    c.get("/tonight/")
    token = c.cookies["csrftoken"].value
    r = c.post(f"/api/units/{objects['u']}/availability", data='{"on_duty": false}', content_type="application/json",
               headers={"X-CSRFToken": token})
    assert r.status_code == 200
    assert Unit.objects.get(pk=objects["u"]).on_duty is False


@pytest.mark.django_db
def test_officer_sees_only_own_unit_and_nothing_from_intelligence(client: Any, roster: dict[str, Any],
                                                                   make_version: Any):
    v = make_version("published")
    plan = v.plan()
    assert any(h["breakdown"]["n_intelligence"] for h in plan["hotspots"])  # the plan does use intelligence
    for name, unit in (("officer", "RU-A1"), ("officer_b", "RU-B1")):
        client.force_login(roster["users"][name])
        route = client.get("/api/my-route").json()
        assert route["unit"] == unit
        own = {s["hotspot_id"] for u in plan["units"] if u["id"] == unit for s in u["stops"]}
        assert {s["hotspot_id"] for s in route["stops"]} == own
        page = client.get("/my-route/").content.decode()
        for text in (json.dumps(route), page):
            for word in ("intelligence", "by_category", "restricted", "FICTIONAL", "handling"):
                assert word not in text, (name, word)
        others = [u["id"] for u in plan["units"] if u["id"] != unit]
        assert not any(o in page for o in others)


@pytest.mark.django_db
def test_officer_records_visits_on_own_route_only(client: Any, roster: dict[str, Any], make_version: Any):
    from patrol_planner.web.models import Visit

    make_version("published")
    client.force_login(roster["users"]["officer"])
    route = client.get("/api/my-route").json()
    first = route["next_seq"]
    r = client.post("/api/my-route/visits", data=json.dumps({"seq": first, "kind": "arrive"}),
                    content_type="application/json")
    assert r.status_code == 201
    assert client.get("/api/my-route").json()["stops"][0]["state"] == "arrived"
    bad = max(s["seq"] for s in route["stops"]) + 100
    r = client.post("/api/my-route/visits", data=json.dumps({"seq": bad, "kind": "arrive"}),
                    content_type="application/json")
    assert r.status_code == 409
    r = client.post("/my-route/visit/", {"seq": str(first), "kind": "not_attended", "reason": ""})
    assert r.status_code == 302  # refused with a message: a reason is required
    assert list(Visit.objects.values_list("unit__call_sign", "stop_seq", "kind")) == [("RU-A1", first, "arrive")]


@pytest.mark.django_db
def test_sign_off_rules(client: Any, roster: dict[str, Any], make_version: Any):
    from patrol_planner.web.models import Approval, ImmutableError

    v = make_version("draft")
    client.force_login(roster["users"]["supervisor"])
    assert client.post(f"/api/versions/{v.pk}/published", data="{}", content_type="application/json").status_code == 409
    assert client.post(f"/api/versions/{v.pk}/rejected", data="{}", content_type="application/json").status_code == 409
    client.force_login(roster["users"]["tasking"])
    assert client.post(f"/api/versions/{v.pk}/submitted", data="{}",
                       content_type="application/json").status_code == 200
    client.force_login(roster["users"]["supervisor"])
    r = client.post(f"/api/versions/{v.pk}/rejected", data='{"reason": "too few foot patrols"}',
                    content_type="application/json")
    assert r.json()["status"] == "rejected"
    assert client.post(f"/api/versions/{v.pk}/approved", data="{}", content_type="application/json").status_code == 409
    a = Approval.objects.filter(version=v).last()
    assert (a.decision, a.by.username, a.reason) == ("rejected", "supervisor", "too few foot patrols")
    v.refresh_from_db()
    v.plan_json = v.plan_json.replace("RU-A1", "RU-Z9")
    with pytest.raises(ImmutableError):
        v.save()
    with pytest.raises(ImmutableError):
        v.delete()
    with pytest.raises(ImmutableError):
        a.delete()


@pytest.mark.django_db
def test_login_is_audited_and_throttled(client: Any, roster: dict[str, Any]):
    from patrol_planner.web.models import AuditEvent

    r = client.post("/login/", {"username": "tasking", "password": roster["passwords"]["tasking"]})
    assert r.status_code == 302
    client.logout()
    for _ in range(5):
        assert client.post("/login/", {"username": "analyst", "password": "wrong"}).status_code in (200, 429)
    r = client.post("/login/", {"username": "analyst", "password": roster["passwords"]["analyst"]})
    assert r.status_code == 429  # locked out by django-axes even with the right password
    assert "_auth_user_id" not in client.session
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "login" in actions and actions.count("login_failed") >= 5 and "locked_out" in actions



@pytest.mark.django_db
def test_a_new_version_shows_what_changed_from_its_parent(client: Any, roster: dict[str, Any], make_version: Any):
    from patrol_planner.web.models import PlanVersion

    parent = make_version("published")
    plan = parent.plan()
    dropped = plan["units"][0]
    plan["units"] = plan["units"][1:]  # a unit stood down: its stops go
    for h in plan["hotspots"]:
        if any(s["hotspot_id"] == h["hotspot_id"] for s in dropped["stops"]):
            h["status"] = "no_time"
    child = PlanVersion.objects.create(scenario=parent.scenario, number=parent.number + 1, parent=parent,
                                       plan_json=json.dumps(plan), scenario_content=parent.scenario_content,
                                       created_by=roster["users"]["tasking"])
    client.force_login(roster["users"]["supervisor"])
    page = client.get(f"/plans/{child.pk}/").content.decode()
    assert f"Changed since version {parent.number}" in page
    assert f"{dropped['id']}: {len(dropped['stops'])} → not planned stops" in page
    assert "No longer visited" in page
    assert parent.plan()["units"][0]["id"] == dropped["id"]  # the parent is unchanged


@pytest.mark.django_db
def test_exports_are_the_package_files_audited_and_not_for_officers(client: Any, roster: dict[str, Any],
                                                                    make_version: Any):
    from patrol_planner.web.models import AuditEvent

    v = make_version("published")
    client.force_login(roster["users"]["officer"])
    assert client.get(f"/plans/{v.pk}/export/plan.json").status_code == 403
    client.force_login(roster["users"]["analyst"])
    r = client.get(f"/plans/{v.pk}/export/plan.json")
    assert r.status_code == 200 and r.content.decode() == v.plan_json and "attachment" in r["Content-Disposition"]
    geo = json.loads(client.get(f"/plans/{v.pk}/export/plan.geojson").content)
    assert geo["type"] == "FeatureCollection" and geo["features"]
    assert client.get(f"/plans/{v.pk}/export/schedule.csv").content.startswith(b"unit")
    assert b"<html" in client.get(f"/plans/{v.pk}/export/briefing.html").content[:500].lower()
    assert client.get(f"/plans/{v.pk}/export/secrets.txt").status_code == 404
    assert AuditEvent.objects.filter(action="export").count() == 4


@pytest.mark.django_db
def test_tonight_chooses_between_stored_scenarios(client: Any, roster: dict[str, Any]):
    from patrol_planner.scenario import load_scenario
    from patrol_planner.web.admin_ops import import_scenario
    from patrol_planner.web.models import PlanJob

    from .test_web_cli import SRC

    foot = import_scenario(load_scenario(f"{SRC}/../scenarios/rutland-day-foot.toml"), replace=False)
    client.force_login(roster["users"]["tasking"])
    page = client.get(f"/tonight/?scenario={foot.pk}").content.decode()
    assert foot.name in page and 'id="scenario-pick"' in page
    client.post("/tonight/plan/", {"scenario": str(foot.pk)})
    r = client.post("/api/plans", data=json.dumps({"scenario": foot.pk}), content_type="application/json")
    assert r.status_code == 202
    assert list(PlanJob.objects.values_list("scenario_id", flat=True)) == [foot.pk, foot.pk]
    assert client.post("/api/plans", data='{"scenario": 99999}', content_type="application/json").status_code == 404

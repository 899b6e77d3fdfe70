"""``benchmarks/live.py --http --night-now`` reads the tasking room's database from the load generator: the
devices follow the newest published version's routes, and the figures count the dose checks, the re-plans a
spot's dose caused, alerts and quarantined positions. Light: a stored plan, no planning, no server."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import live_night_now as nn
import pytest


@pytest.fixture
def no_close(monkeypatch: Any) -> None:
    """The load generator closes its threads' connections; the test database must stay open."""
    from django.db import connections

    monkeypatch.setattr(connections, "close_all", lambda: None)


@pytest.mark.django_db
def test_the_devices_follow_the_newest_published_version(roster: dict[str, Any], plan: Any, no_close: None) -> None:
    from patrol_planner.web.models import PlanVersion, Status

    d = plan.to_dict()
    v = PlanVersion.objects.create(scenario=roster["scenario"], number=1, plan_json=plan.to_json(),
                                   scenario_content=roster["scenario"].content,
                                   created_by=roster["users"]["tasking"], status=Status.PUBLISHED)
    keeper = nn.RouteKeeper(nn.homes_of(["RU-A1", *[u["id"] for u in d["units"]]], d))
    keeper.refresh_loop(time.monotonic() + 0.05)
    assert keeper.version == v.pk and keeper.versions_followed == [v.pk]
    u = d["units"][0]
    s = u["stops"][0]
    t = (datetime.fromisoformat(s["arrive"]).timestamp() + datetime.fromisoformat(s["depart"]).timestamp()) / 2
    assert keeper.position(u["id"], t) == (s["lon"], s["lat"])
    assert keeper.position("RU-A1", t) in set(keeper.homes.values())  # not on this plan: at a station
    keeper.commit(u["id"], (s["lon"] + 0.01, s["lat"]))
    assert keeper.position(u["id"], time.time()) != (s["lon"] + 0.01, s["lat"])  # on its way to the call
    keeper.clear(u["id"])  # available: at its call until a newer version routes it from there
    assert keeper.position(u["id"], time.time() + 3600) == (s["lon"] + 0.01, s["lat"])
    keeper.load(v.pk + 1, d)
    assert keeper.position(u["id"], t) == (s["lon"], s["lat"])


@pytest.mark.django_db
def test_checks_summary_counts_what_the_worker_did(roster: dict[str, Any], no_close: None) -> None:
    from patrol_planner.web.models import QuarantinedEvent

    QuarantinedEvent.objects.create(kind="position", reason="out_of_order", detail="x", payload={})
    out = nn.checks_summary()
    assert out["runs"] == 0 and out["dose_replans"] == 0 and out["alerts"] == 0
    assert out["quarantined"] == {"out_of_order": 1}
    json.dumps(out, allow_nan=False)


@pytest.mark.django_db
def test_the_night_now_copy_imports_with_its_moved_shifts(tmp_path: Any) -> None:
    """What ``patrol-planner scenarios import`` stores of the copy: the night, and roster units whose usual
    shift is the moved one (the plan job plans the roster's units); the data found from the copy's folder."""
    from pathlib import Path

    from patrol_planner.scenario import load_scenario
    from patrol_planner.web.admin_ops import import_scenario
    from patrol_planner.web.models import Unit

    src = Path(__file__).resolve().parents[2] / "scenarios" / "rutland-night.toml"
    now = datetime.fromisoformat("2026-12-06T12:40:00+00:00")
    path, info = nn.night_now_scenario(src, tmp_path, now)
    stored = import_scenario(load_scenario(path), replace=False)
    assert stored.scenario().night.isoformat() == "2026-12-06"
    assert {u.usual_shift for u in Unit.objects.all()} == {"12:10-20:10"} == set(info["shifts"])
    assert {u.earliest_leave for u in Unit.objects.all()} == {"12:30"}
    r = stored.scenario().resolved()
    assert r.osm.exists() and all(p.exists() for g in r.incident_groups for p in g.paths)

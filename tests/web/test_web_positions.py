"""Positions posted by a unit's device: idempotent on the client's id, scoped to the token's unit,
validated (range, an aware and plausible time), audited once per device rather than once per fix."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest


def _post(client: Any, token: str, unit: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/device/units/{unit}/positions", data=json.dumps(body),
                       content_type="application/json", headers={"Authorization": f"Bearer {token}"})


def _fix(n: int = 1, **over: Any) -> dict[str, Any]:
    body = {"id": f"fix-{n}", "time": datetime.now(UTC).isoformat(), "lon": -0.72, "lat": 52.66, "accuracy_m": 8}
    body.update(over)
    return body


@pytest.mark.django_db
def test_positions_are_stored_once_and_only_for_the_tokens_unit(client: Any, roster: dict[str, Any]):
    from patrol_planner.web import services
    from patrol_planner.web.models import AuditEvent, Position

    dev, token = services.issue_device_token(roster["units"]["RU-A1"], "car terminal")
    _, other = services.issue_device_token(roster["units"]["RU-B1"], "car terminal")
    fix = _fix(1)
    first = _post(client, token, "RU-A1", fix)
    assert first.status_code == 201 and first.json()["stored"] == "new"
    again = _post(client, token, "RU-A1", fix)  # a retry of the same post
    assert again.status_code == 200 and again.json()["stored"] == "already stored"
    assert Position.objects.filter(client_id="fix-1").count() == 1
    assert _post(client, token, "RU-A1", _fix(2)).status_code == 201
    p = Position.objects.get(client_id="fix-1")
    assert (p.unit.call_sign, p.device_id, p.lon, p.lat, p.accuracy_m) == ("RU-A1", dev.pk, -0.72, 52.66, 8)
    # the same id with other content is a conflict, not an overwrite
    assert _post(client, token, "RU-A1", _fix(1, lat=52.0)).status_code == 409
    assert Position.objects.get(client_id="fix-1").lat == 52.66
    # a token of another unit, no token, a revoked token
    assert _post(client, other, "RU-A1", _fix(3)).status_code == 403
    assert client.post("/api/device/units/RU-A1/positions", data=json.dumps(_fix(3)),
                       content_type="application/json").status_code == 401
    services.revoke_device(dev.pk)
    assert _post(client, token, "RU-A1", _fix(3)).status_code == 401
    assert Position.objects.count() == 2
    # audited once (the device's first position), not once per fix
    assert AuditEvent.objects.filter(action="device_positions_started").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("over, reason", [
    ({"lon": 180.5}, "less than or equal to 180"),
    ({"lat": -91}, "greater than or equal to -90"),
    ({"accuracy_m": -1}, "greater than or equal to 0"),
    ({"time": "2026-12-06T01:00:00"}, "timezone"),  # naive: no UTC offset
    ({"time": (datetime.now(UTC) - timedelta(days=2)).isoformat()}, "old"),
    ({"time": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}, "ahead"),
    ({"id": ""}, "at least 1"),
])
def test_bad_positions_are_refused_with_a_reason(client: Any, roster: dict[str, Any], over: dict[str, Any],
                                                 reason: str):
    from patrol_planner.web import services
    from patrol_planner.web.models import Position

    _, token = services.issue_device_token(roster["units"]["RU-A1"], "car terminal")
    r = _post(client, token, "RU-A1", _fix(1, **over))
    assert r.status_code == 422
    assert reason in json.dumps(r.json())
    assert not Position.objects.exists()


@pytest.mark.django_db
def test_prune_deletes_only_positions_older_than_the_retention_and_is_audited(roster: dict[str, Any]):
    from django.utils import timezone

    from patrol_planner.web import admin_ops, services
    from patrol_planner.web.models import AuditEvent, ImmutableError, Position

    unit = roster["units"]["RU-A1"]
    dev, _token = services.issue_device_token(unit, "terminal")
    now = timezone.now()
    for i, age_days in enumerate((40, 31.5, 29, 0.01)):
        Position.objects.create(unit=unit, device=dev, client_id=f"p{i}", at=now - timedelta(days=age_days),
                                lon=-0.7, lat=52.6, accuracy_m=5)
    with pytest.raises(ImmutableError):  # the ORM still refuses deletion outside the retention rule
        Position.objects.all().delete()
    n, cutoff = admin_ops.prune_positions(30)
    assert n == 2 and sorted(Position.objects.values_list("client_id", flat=True)) == ["p2", "p3"]
    ev = AuditEvent.objects.get(action="positions_pruned")
    assert ev.detail["deleted"] == 2 and ev.detail["keep_days"] == 30
    assert abs((now - timedelta(days=30) - cutoff).total_seconds()) < 60

"""Live status endpoints of the JSON API (``docs/live.md``), registered on the tasking room's API by
:func:`register`: a unit's device sets its own status; the tasking room sets any unit's; "My route" (officer
or device) polls the unit's changes with the change in words."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, NinjaAPI, Router, Schema
from ninja.errors import HttpError
from pydantic import AwareDatetime

from patrol_planner.web import live, live_replan
from patrol_planner.web.api import ERRORS, DeviceAuth, Message, _require
from patrol_planner.web.models import Unit
from patrol_planner.web.services import ActionRefused

router = Router(tags=["live"])


class StatusIn(Schema):
    status: Literal["available", "committed", "off_duty"]
    time: AwareDatetime
    until: AwareDatetime | None = None  # committed until; empty = until cleared
    lon: float | None = Field(None, ge=-180, le=180)  # the call's place
    lat: float | None = Field(None, ge=-90, le=90)


class StatusOut(Schema):
    seq: int
    unit: str
    status: str
    what: str


class ChangeOut(Schema):
    seq: int
    at: datetime
    status: str
    until: datetime | None
    what: str


class ChangesOut(Schema):
    unit: str
    changes: list[ChangeOut]
    last: int
    poll_s: int
    version: int | None  # the version of the unit's published route: a new one means the route changed
    replans: list[str]  # what the live re-plan that made it changed for this unit, in words
    pending: bool  # a re-plan is queued or running: ask again after poll_s (1 s)


class StopIn(Schema):
    reason: str = Field("", max_length=2000)


class ReplanOut(Schema):
    id: int
    kind: str
    state: str
    trigger: str
    trigger_at: datetime
    version: int | None
    parent: int | None
    changes: list[str]
    notes: list[str]
    latency_s: float | None
    wall_s: float | None
    steps_s: dict[str, float]
    error: str


class LiveOut(Schema):
    version: int | None
    authorised_by: int | None
    stopped: bool
    replans: list[ReplanOut]
    quarantined: dict[str, int]


def _set(unit: Unit, body: StatusIn, actor: Any) -> Any:
    try:
        ev = live.set_status(unit, body.status, body.time, until=body.until, lon=body.lon, lat=body.lat, actor=actor)
    except ActionRefused as exc:
        return 409, {"detail": str(exc)}
    return 201, {"seq": ev.pk, "unit": unit.call_sign, "status": ev.status, "what": live.explain(ev)}


@router.post("/device/units/{call_sign}/status", auth=DeviceAuth(), response={201: StatusOut, **ERRORS})
def device_status(request: HttpRequest, call_sign: str, body: StatusIn) -> Any:
    """The unit's own status from its device (403 for another unit's token; 409 out of order or until not
    after the time)."""
    dev = request.auth
    if call_sign != dev.unit.call_sign:
        raise HttpError(403, "this device belongs to another unit")
    return _set(dev.unit, body, f"device:{dev.pk}")


@router.post("/units/{unit_id}/status", response={201: StatusOut, **ERRORS})
def room_status(request: HttpRequest, unit_id: int, body: StatusIn) -> Any:
    """Any unit's status, set in the tasking room (tasking and supervisor roles)."""
    _require(request, "tasking", "supervisor")
    return _set(get_object_or_404(Unit, pk=unit_id), body, request.user)


@router.get("/my-route/changes", response={200: ChangesOut, **ERRORS})
def my_route_changes(request: HttpRequest, after: int = 0) -> Any:
    """The officer's unit's changes after ``after`` (poll every ``poll_s`` seconds)."""
    _require(request, "officer")
    unit = request.user.profile.unit
    if unit is None:
        return 404, {"detail": "you crew no unit"}
    return 200, live.changes_for(unit, after)


@router.get("/device/route/changes", auth=DeviceAuth(), response={200: ChangesOut, **ERRORS})
def device_route_changes(request: HttpRequest, after: int = 0) -> Any:
    """The device's unit's changes after ``after``."""
    return 200, live.changes_for(request.auth.unit, after)


@router.get("/live", response={200: LiveOut, **ERRORS})
def live_overview(request: HttpRequest, limit: int = 20) -> Any:
    """Tonight's live re-tasking for the tasking room: the current version, the latest re-plans with their
    changes, whether a supervisor stopped it, and events set aside by reason."""
    _require(request, "tasking", "supervisor")
    return 200, live_replan.overview(max(1, min(limit, 500)))


class UnitPositionOut(Schema):
    unit: str
    lon: float
    lat: float
    at: datetime
    accuracy_m: float
    status: str


@router.get("/live/positions", response={200: list[UnitPositionOut], **ERRORS})
def live_positions(request: HttpRequest) -> Any:
    """Each unit's latest position and status (the tasking room's live map polls it)."""
    _require(request, "tasking", "supervisor")
    return 200, live_replan.latest_positions()


@router.post("/live/stop", response={201: Message, **ERRORS})
def live_stop(request: HttpRequest, body: StopIn) -> Any:
    """Stop live re-tasking of tonight's published plan (supervisor): events are still stored, nothing is
    re-planned automatically until a supervisor publishes a plan again."""
    _require(request, "supervisor")
    current = live_replan.current_published()
    if current is None:
        return 404, {"detail": "no published plan"}
    live_replan.stop_live(current, request.user, body.reason)
    return 201, {"detail": "live re-tasking stopped"}


class AlertOut(Schema):
    id: int
    kind: str
    unit: str
    programme: str
    programme_id: int
    day: date
    spot: str
    first_at: datetime
    last_at: datetime
    minutes: float
    acknowledged_by: str | None
    acknowledged_at: datetime | None


@router.get("/live/alerts", response={200: list[AlertOut], **ERRORS})
def live_alerts(request: HttpRequest, limit: int = 100) -> Any:
    """Control-spot alerts, newest first (tasking, supervisor; never officers): a unit inside one of tonight's
    programme control spots, one per unit x spot x visit."""
    from patrol_planner.web import live_alerts as la

    _require(request, "tasking", "supervisor")
    return 200, la.alerts(max(1, min(limit, 500)))


@router.post("/live/alerts/{alert_id}/acknowledge", response={200: AlertOut, **ERRORS})
def live_alert_acknowledge(request: HttpRequest, alert_id: int) -> Any:
    """A supervisor acknowledges an alert (audited; again changes nothing)."""
    from patrol_planner.web import live_alerts as la
    from patrol_planner.web.models import LiveAlert

    _require(request, "supervisor")
    get_object_or_404(LiveAlert, pk=alert_id)
    return 200, la.shown(la.acknowledge(alert_id, request.user))


def register(api: NinjaAPI) -> None:
    """Add these endpoints to the tasking room's API."""
    api.add_router("/", router)

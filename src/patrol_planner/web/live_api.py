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
from pydantic import AwareDatetime, BaseModel

from patrol_planner.web import live, live_replan, live_tasking
from patrol_planner.web.api import ERRORS, DeviceAuth, Invalid, Message, _require
from patrol_planner.web.live_tasking import CancelIn, IntelIn, TaskIn
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
    return 200, live_tasking.room_overview(max(1, min(limit, 500)))


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


# --- the tasking room's events: tasks, intelligence-led visits, cancellations ----------------------------
class TaskingEventOut(Schema):
    id: int
    kind: str
    at: datetime
    site_id: str
    lon: float | None
    lat: float | None
    window: str | None
    dwell_min: float | None
    unit: str | None
    prize: float | None  # [harm]; an intelligence item's value x its grading's confidence
    grading: str | None
    handling_code: str | None
    disseminate: bool | None
    reason: str
    created_by: str
    created_at: datetime
    replan: int | None  # the re-plan it asked for
    what: str


#: Bad input is one line (``{"detail": "window: ..."}``); a body outside the schema is Django Ninja's list.
TASKING_ERRORS: dict[int, Any] = {**ERRORS, 422: Message | Invalid}


def _tasking(request: HttpRequest, kind: str, body: BaseModel, site_id: str | None = None) -> Any:
    _require(request, "tasking", "supervisor")
    try:
        ev = live_tasking.submit(kind, body.model_dump(exclude_none=True), request.user, site_id=site_id)
    except live_tasking.Invalid as exc:
        return 422, {"detail": str(exc)}
    except ActionRefused as exc:
        return 409, {"detail": str(exc)}
    return 201, live_tasking.as_dict(ev)


@router.post("/live/tasks", response={201: TaskingEventOut, **TASKING_ERRORS})
def live_task_add(request: HttpRequest, body: TaskIn) -> Any:
    """A must-do visit added tonight (a hot spot of the plan or lon/lat, window, dwell; optionally one unit):
    stored, audited, and re-planned by the worker."""
    return _tasking(request, "task_added", body)


@router.post("/live/tasks/{site_id}/cancel", response={201: TaskingEventOut, **TASKING_ERRORS})
def live_task_cancel(request: HttpRequest, site_id: str, body: CancelIn) -> Any:
    """A task or visit of tonight (the morning plan's or added tonight) cancelled."""
    return _tasking(request, "task_cancelled", body, site_id)


@router.post("/live/intel", response={201: TaskingEventOut, **TASKING_ERRORS})
def live_intel_add(request: HttpRequest, body: IntelIn) -> Any:
    """An intelligence-led visit: grading, handling code, place, window, dwell and value only (any other field,
    such as the intelligence's text, is refused)."""
    return _tasking(request, "intel_added", body)


@router.post("/live/spots/{site_id}/cancel", response={201: TaskingEventOut, **TASKING_ERRORS})
def live_spot_cancel(request: HttpRequest, site_id: str, body: CancelIn) -> Any:
    """A hot spot of tonight's plan cancelled for the night."""
    return _tasking(request, "spot_cancelled", body, site_id)


@router.get("/live/events", response={200: list[TaskingEventOut], **ERRORS})
def live_events(request: HttpRequest) -> Any:
    """Tonight's tasking events, oldest first (tasking and supervisor)."""
    _require(request, "tasking", "supervisor")
    try:
        night = live_tasking.tonight()
    except ActionRefused:
        return 200, []
    return 200, [live_tasking.as_dict(ev) for ev in live_tasking.tonight_events(night)]
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

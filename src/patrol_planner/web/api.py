"""The JSON API (Django Ninja) at ``/api/``, schema at ``/api/openapi.json``.

Authentication is Django's session (``django_auth``, which also enforces CSRF on unsafe methods); each
operation checks the role with :func:`_require` before touching anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.security import HttpBearer, django_auth
from pydantic import AwareDatetime

from patrol_planner.web import audit, services
from patrol_planner.web.models import AuditEvent, PlanJob, PlanVersion, StoredScenario, Unit
from patrol_planner.web.roles import otp_step_needed, role_of

api = NinjaAPI(title="Patrol planner tasking room", version="1", auth=django_auth, urls_namespace="api",
               docs_url=None)  # the interactive docs page loads scripts from a CDN: not served
PLANNERS = ("analyst", "tasking", "supervisor")


def _require(request: HttpRequest, *roles: str) -> str:
    role = role_of(request.user)
    if role not in roles:
        raise HttpError(403, "your role may not do this")
    return role  # type: ignore[return-value]


class Me(Schema):
    username: str
    role: str | None
    unit: str | None


class UnitOut(Schema):
    id: int
    call_sign: str
    station: str
    mode: str
    usual_shift: str
    sector: str
    on_duty: bool


class Availability(Schema):
    on_duty: bool


class JobOut(Schema):
    id: int
    state: str
    progress: str
    error: str
    version: int | None


class VersionOut(Schema):
    id: int
    scenario: str
    number: int
    parent: int | None
    status: str
    created_by: str
    created_at: datetime
    plan_sha256: str


class PlanIn(Schema):
    scenario: int | None = None  # a stored scenario's id; default: the first stored


class SignOff(Schema):
    reason: str = ""


class VisitIn(Schema):
    seq: int
    kind: Literal["arrive", "leave", "not_attended"]
    reason: str = ""


class Message(Schema):
    detail: str


class Invalid(Schema):
    """Django Ninja's answer to a request outside the schema (HTTP 422)."""

    detail: list[dict[str, Any]]


#: The refusals every operation may answer with (documented so that clients and the schema fuzz know them).
ERRORS: dict[int, Any] = {401: Message, 403: Message, 404: Message, 409: Message, 422: Invalid}


class AuditOut(Schema):
    seq: int
    at: datetime
    actor: str
    action: str
    target: str


class ChainOut(Schema):
    ok: bool
    events: int
    problem: str


def _version_out(v: PlanVersion) -> dict[str, Any]:
    return {"id": v.pk, "scenario": v.scenario.name, "number": v.number, "parent": v.parent_id, "status": v.status,
            "created_by": v.created_by.get_username(), "created_at": v.created_at, "plan_sha256": v.plan_sha256}


def _job_out(j: PlanJob) -> dict[str, Any]:
    return {"id": j.pk, "state": j.state, "progress": j.progress, "error": j.error, "version": j.version_id}


@api.get("/me", response={200: Me, **ERRORS})
def me(request: HttpRequest) -> dict[str, Any]:
    role = role_of(request.user)
    unit = request.user.profile.unit if role == "officer" else None
    return {"username": request.user.get_username(), "role": role, "unit": unit.call_sign if unit else None}


@api.get("/units", response={200: list[UnitOut], **ERRORS})
def units(request: HttpRequest) -> list[dict[str, Any]]:
    _require(request, *PLANNERS, "auditor")
    return [{"id": u.pk, "call_sign": u.call_sign, "station": u.station.name, "mode": u.mode,
             "usual_shift": u.usual_shift, "sector": u.sector, "on_duty": u.on_duty}
            for u in Unit.objects.select_related("station")]


@api.post("/units/{unit_id}/availability", response={200: UnitOut, **ERRORS})
def set_availability(request: HttpRequest, unit_id: int, body: Availability) -> Any:
    _require(request, "tasking")
    u = get_object_or_404(Unit, pk=unit_id)
    u.on_duty = body.on_duty
    u.save(update_fields=["on_duty"])
    audit.record("unit_availability", actor=request.user, target=f"unit:{u.call_sign}", detail={"on_duty": u.on_duty})
    return {"id": u.pk, "call_sign": u.call_sign, "station": u.station.name, "mode": u.mode,
            "usual_shift": u.usual_shift, "sector": u.sector, "on_duty": u.on_duty}


@api.post("/plans", response={202: JobOut, **ERRORS})
def start_plan(request: HttpRequest, body: PlanIn) -> Any:
    _require(request, "tasking")
    qs = StoredScenario.objects.order_by("pk")
    stored = qs.filter(pk=body.scenario).first() if body.scenario is not None else qs.first()
    if stored is None:
        return 404, {"detail": "no such scenario"}
    try:
        return 202, _job_out(services.request_plan(stored, request.user))
    except services.ActionRefused as exc:
        return 409, {"detail": str(exc)}


@api.get("/jobs/{job_id}", response={200: JobOut, **ERRORS})
def job(request: HttpRequest, job_id: int) -> Any:
    _require(request, *PLANNERS)
    return _job_out(get_object_or_404(PlanJob, pk=job_id))


@api.get("/versions", response={200: list[VersionOut], **ERRORS})
def versions(request: HttpRequest) -> list[dict[str, Any]]:
    _require(request, *PLANNERS, "auditor")
    return [_version_out(v) for v in PlanVersion.objects.select_related("scenario", "created_by")[:200]]


@api.get("/versions/{version_id}", response={200: VersionOut, **ERRORS})
def version(request: HttpRequest, version_id: int) -> Any:
    _require(request, *PLANNERS, "auditor")
    return _version_out(get_object_or_404(PlanVersion, pk=version_id))


@api.post("/versions/{version_id}/{to}", response={200: VersionOut, **ERRORS})
def sign_off(request: HttpRequest, version_id: int, to: Literal["submitted", "approved", "rejected", "published"],
             body: SignOff) -> Any:
    _require(request, services.SIGN_OFF_ROLE[to])
    if otp_step_needed(request, to):
        raise HttpError(403, "this supervisor has an authenticator (TOTP): verify a code at /otp/ first")
    get_object_or_404(PlanVersion, pk=version_id)
    try:
        return 200, _version_out(services.sign_off(version_id, to, request.user, body.reason))
    except services.ActionRefused as exc:
        return 409, {"detail": str(exc)}


@api.get("/my-route", response={200: dict, **ERRORS})
def my_route(request: HttpRequest) -> Any:
    _require(request, "officer")
    unit = request.user.profile.unit
    v = services.published_for_unit(unit) if unit else None
    if v is None:
        return 404, {"detail": "no published route for your unit"}
    audit.record("route_viewed", actor=request.user, target=f"version:{v.pk}", detail={"unit": unit.call_sign})
    return 200, services.officer_route(v, unit)


@api.post("/my-route/visits", response={201: Message, **ERRORS})
def my_route_visit(request: HttpRequest, body: VisitIn) -> Any:
    _require(request, "officer")
    unit = request.user.profile.unit
    v = services.published_for_unit(unit) if unit else None
    if v is None:
        return 404, {"detail": "no published route for your unit"}
    try:
        services.record_visit(v, unit, body.seq, body.kind, request.user, body.reason)
    except services.ActionRefused as exc:
        return 409, {"detail": str(exc)}
    return 201, {"detail": "recorded"}


class DeviceAuth(HttpBearer):
    """``Authorization: Bearer ppd_...``: a unit's device token (no cookie, so no CSRF token either)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return services.device_for(token)


@api.get("/device/route", auth=DeviceAuth(), response={200: dict, **ERRORS})
def device_route(request: HttpRequest) -> Any:
    """The device's unit's published route (the same officer-safe fields as "My route")."""
    dev = request.auth
    v = services.published_for_unit(dev.unit)
    if v is None:
        return 404, {"detail": "no published route for this unit"}
    audit.record("route_viewed", actor=f"device:{dev.pk}", target=f"version:{v.pk}",
                 detail={"unit": dev.unit.call_sign})
    return 200, services.officer_route(v, dev.unit)


@api.post("/device/visits", auth=DeviceAuth(), response={201: Message, **ERRORS})
def device_visit(request: HttpRequest, body: VisitIn) -> Any:
    dev = request.auth
    v = services.published_for_unit(dev.unit)
    if v is None:
        return 404, {"detail": "no published route for this unit"}
    try:
        services.record_visit(v, dev.unit, body.seq, body.kind, None, body.reason, device=dev)
    except services.ActionRefused as exc:
        return 409, {"detail": str(exc)}
    return 201, {"detail": "recorded"}


class PositionIn(Schema):
    """One GPS fix. ``id`` is chosen by the device (e.g. a UUID) so that a retried post is stored once."""

    id: str = Field(..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    time: AwareDatetime
    lon: float = Field(..., ge=-180, le=180)
    lat: float = Field(..., ge=-90, le=90)
    accuracy_m: float = Field(..., ge=0, le=10_000)


class PositionOut(Schema):
    id: str
    unit: str
    time: datetime
    stored: Literal["new", "already stored"]


class QuarantinedOut(Schema):
    id: str
    unit: str
    stored: Literal["quarantined"]
    reason: str
    detail: str


@api.post("/device/units/{call_sign}/positions", auth=DeviceAuth(),
          response={200: PositionOut, 201: PositionOut, 202: QuarantinedOut, **ERRORS})
def device_position(request: HttpRequest, call_sign: str, body: PositionIn) -> Any:
    """Record the unit's position: 201 when stored, 200 when this ``id`` was already stored (a retry);
    202 when set aside with a reason (out of order, duplicate, far outside the force area: docs/live.md);
    403 for another unit's token (set aside as from an unknown device); 409 when the ``id`` was used for a
    different position; 422 when out of range or the time is absurd (more than 24 h old or 5 min ahead)."""
    from patrol_planner.web import live_quarantine

    dev = request.auth
    if call_sign != dev.unit.call_sign:
        live_quarantine.quarantine("unknown_device", f"device {dev.pk} of {dev.unit.call_sign} posted for "
                                   f"{call_sign[:40]}", unit=dev.unit, device=dev, at=body.time,
                                   payload=body.dict() | {"time": body.time.isoformat()})
        raise HttpError(403, "this device belongs to another unit")
    if not services.position_stored(dev, body.id):
        why = live_quarantine.position_reason(dev.unit, body.time, body.lon, body.lat)
        if why is not None:
            live_quarantine.quarantine(*why, unit=dev.unit, device=dev, at=body.time,
                                       payload=body.dict() | {"time": body.time.isoformat()})
            return 202, {"id": body.id, "unit": dev.unit.call_sign, "stored": "quarantined", "reason": why[0],
                         "detail": why[1]}
    try:
        pos, new = services.record_position(dev, body.id, body.time, body.lon, body.lat, body.accuracy_m)
    except services.InvalidPosition as exc:
        return 422, {"detail": [{"loc": ["body", "body", "time"], "msg": str(exc), "type": "value_error"}]}
    except services.PositionConflict as exc:
        return 409, {"detail": str(exc)}
    return (201 if new else 200), {"id": pos.client_id, "unit": dev.unit.call_sign, "time": pos.at,
                                   "stored": "new" if new else "already stored"}


@api.get("/audit", response={200: list[AuditOut], **ERRORS})
def audit_events(request: HttpRequest, limit: int = 200) -> list[AuditEvent]:
    _require(request, "auditor")
    return list(AuditEvent.objects.order_by("-seq")[:max(1, min(limit, 1000))])


@api.get("/audit/verify", response={200: ChainOut, **ERRORS})
def audit_verify(request: HttpRequest) -> dict[str, Any]:
    _require(request, "auditor")
    c = audit.verify()
    return {"ok": c.ok, "events": c.events, "problem": c.problem}


# --- programmes -----------------------------------------------------------------------------------------
PROGRAMME_VIEWERS = ("analyst", "tasking", "supervisor", "auditor")  # the officer reaches none of it


class ProgrammeJobOut(Schema):
    id: int
    programme: int
    kind: str
    state: str
    progress: str
    error: str
    dosage: int | None
    evaluation: int | None
    link: str | None
    link_text: str | None


@api.get("/programme-jobs/{job_id}", response={200: ProgrammeJobOut, **ERRORS}, url_name="programme_job")
def programme_job(request: HttpRequest, job_id: int) -> Any:
    """A dosage or evaluation job's state, with a link to its result when done (polled by the job page)."""
    from django.urls import reverse

    from patrol_planner.web.models import ProgrammeJob

    _require(request, *PROGRAMME_VIEWERS)
    j = get_object_or_404(ProgrammeJob, pk=job_id)
    link, text = None, None
    if j.dosage_id:
        link, text = reverse("programme", args=[j.programme_id]) + "#compliance", "Compliance so far"
    elif j.evaluation_id:
        link, text = reverse("programme_evaluation", args=[j.evaluation_id]), "Open the evaluation"
    return {"id": j.pk, "programme": j.programme_id, "kind": j.kind, "state": j.state, "progress": j.progress,
            "error": j.error, "dosage": j.dosage_id, "evaluation": j.evaluation_id, "link": link, "link_text": text}


@api.get("/programmes/{programme_id}/compliance", response={200: dict, **ERRORS})
def programme_compliance(request: HttpRequest, programme_id: int) -> Any:
    """Compliance so far from the newest stored dosage: the package's summary and per-spot figures."""
    from patrol_planner.web import programmes as progs
    from patrol_planner.web.models import ProgrammeRecord

    _require(request, *PROGRAMME_VIEWERS)
    c = progs.compliance_json(get_object_or_404(ProgrammeRecord, pk=programme_id))
    if c is None:
        return 404, {"detail": "no dosage is stored for this programme"}
    return 200, c


@api.get("/programmes/{programme_id}/evaluations", response={200: list[dict], **ERRORS})
def programme_evaluations(request: HttpRequest, programme_id: int) -> Any:
    """The programme's stored evaluations, newest first, as the package gave them."""
    from patrol_planner.web import programmes as progs
    from patrol_planner.web.models import ProgrammeRecord

    _require(request, *PROGRAMME_VIEWERS)
    rec = get_object_or_404(ProgrammeRecord, pk=programme_id)
    return 200, [progs.evaluation_json(e) for e in rec.evaluations.select_related("made_by")[:50]]


@api.get("/tonight/programme", response={200: dict, **ERRORS})
def tonight_programme(request: HttpRequest, scenario: int | None = None) -> Any:
    """Tonight's programme days (the package's day tasking): treated spots to patrol, control spots to keep away
    from, spots an amendment cancelled; for the chosen stored scenario's night (default: the first)."""
    from patrol_planner.web import programmes as progs

    _require(request, *PLANNERS)
    qs = StoredScenario.objects.order_by("pk")
    stored = qs.filter(pk=scenario).first() if scenario is not None else qs.first()
    if stored is None:
        return 404, {"detail": "no such scenario"}
    days, day = progs.tonight(stored)
    return 200, {"date": day.isoformat() if day else None, "programmes": days}

"""Positions set aside with a reason through the API (``docs/live.md``, quarantine): the same checks as an
event file's (``patrol_planner.live.eventfile.EventCheck``), seeded from the database: earlier than the unit's
latest stored position (``out_of_order``), the same fix again under another client id (``duplicate``), a
device posting for another unit (``unknown_device``), a place more than 20 km outside the published plan's
stations and spots (``outside_area``). A quarantined position is stored in ``QuarantinedEvent`` (never
dropped silently), never in the positions the live state is built from; supervisors see the counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from patrol_planner.web.models import DeviceToken, PlanVersion, Position, QuarantinedEvent, Status, Unit


def _bbox(version: PlanVersion) -> tuple[float, float, float, float]:
    from patrol_planner.live.eventfile import bbox_of

    plan = version.plan_shared()
    pts = [(h["lon"], h["lat"]) for h in plan["hotspots"]]
    pts += [(u[k]["lon"], u[k]["lat"]) for u in plan["units"] for k in ("start", "end")]
    return bbox_of(pts)


_BBOX: dict[tuple[int, str], tuple[float, float, float, float]] = {}


def force_area() -> tuple[float, float, float, float] | None:
    """(west, south, east, north) [deg] of tonight's published plan's places, or None before any plan."""
    v = PlanVersion.objects.filter(status=Status.PUBLISHED).order_by("-created_at", "-pk").only(
        "pk", "plan_sha256").first()
    if v is None:
        return None
    key = (v.pk, v.plan_sha256)
    if key not in _BBOX:
        _BBOX[key] = _bbox(PlanVersion.objects.get(pk=v.pk))
    return _BBOX[key]


def position_reason(unit: Unit, at: datetime, lon: float, lat: float) -> tuple[str, str] | None:
    """``(reason, detail)`` when a new position of ``unit`` must be quarantined, else None."""
    from patrol_planner.live.eventfile import EventCheck
    from patrol_planner.live.events import Event

    area = force_area() or (-180.0, -90.0, 180.0, 90.0)
    check = EventCheck(units=frozenset([unit.call_sign]), bbox_lonlat=area)
    last = Position.objects.filter(unit=unit).order_by("-at", "-id").first()
    if last is not None:
        check.reason(Event(time=last.at, kind="position", unit=unit.call_sign, lon=last.lon, lat=last.lat))
    return check.reason(Event(time=at, kind="position", unit=unit.call_sign, lon=lon, lat=lat))


def quarantine(reason: str, detail: str, *, kind: str = "position", unit: Unit | None = None,
               device: DeviceToken | None = None, at: datetime | None = None,
               payload: dict[str, Any] | None = None) -> QuarantinedEvent:
    return QuarantinedEvent.objects.create(unit=unit, device=device, kind=kind, reason=reason, detail=detail[:300],
                                           at=at, payload=payload or {})

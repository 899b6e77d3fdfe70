"""Live statuses of units during the night (``docs/live.md``): set by a unit's device or from the tasking room,
checked by the live event model, stored once, audited, and read back by "My route" as a list of changes with
the change in words. No planning here: re-plans are :mod:`patrol_planner.live`'s."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError

from patrol_planner.web import audit, live_queue
from patrol_planner.web.models import Unit, UnitStatusEvent
from patrol_planner.web.services import ActionRefused

#: How often "My route" asks for changes [s]: with a re-plan's second or so, a change shows within 5 s.
POLL_S = 3
#: ... and while a re-plan is queued or running [s]: its new route shows within a second of being published.
PENDING_POLL_S = 1


def set_status(unit: Unit, status: str, at: datetime, *, until: datetime | None = None, lon: float | None = None,
               lat: float | None = None, actor: Any = None) -> UnitStatusEvent:
    """Store one status of ``unit``; :class:`ActionRefused` (one line) when the live event model refuses it."""
    from patrol_planner.live.events import Event

    try:
        Event(time=at, kind="status", unit=unit.call_sign, status=status, until=until, lon=lon, lat=lat)
    except ValidationError as exc:
        e = exc.errors()[0]
        raise ActionRefused(str(e["msg"]).removeprefix("Value error, ")) from None
    last = UnitStatusEvent.objects.filter(unit=unit).order_by("-id").first()
    if last is not None and at < last.at:
        raise ActionRefused(f"out of order: {unit.call_sign} already has a status at {last.at.isoformat()}")
    name = getattr(actor, "get_username", lambda: actor or "")()
    with transaction.atomic():
        ev = UnitStatusEvent.objects.create(unit=unit, status=status, at=at, until=until, lon=lon, lat=lat,
                                            actor=name)
        audit.record("unit_status", actor=actor, target=f"unit:{unit.pk}",
                     detail={"status": status, "event": ev.pk, "until": until.isoformat() if until else None})
        live_queue.status_trigger(ev)  # the worker re-plans once this commits
    return ev


def explain(ev: UnitStatusEvent) -> str:
    """The change in words, as the officer and the tasking room read it."""
    if ev.status == "committed":
        until = f"until {timezone.localtime(ev.until):%H:%M}" if ev.until else "until cleared"
        return f"{ev.unit.call_sign} committed to a call {until}: its remaining stops will be re-planned"
    if ev.status == "off_duty":
        return f"{ev.unit.call_sign} off duty: its remaining stops go to other units"
    return f"{ev.unit.call_sign} available again"


def changes_for(unit: Unit, after: int = 0) -> dict[str, Any]:
    """The unit's status changes after event ``after`` (an id), oldest first, and when to ask again."""
    rows = UnitStatusEvent.objects.filter(unit=unit, id__gt=after).select_related("unit").order_by("id")[:200]
    out = [{"seq": ev.pk, "at": ev.at, "status": ev.status, "until": ev.until, "what": explain(ev)} for ev in rows]
    version, replans = route_version(unit)
    from patrol_planner.web.models import LiveReplan

    pending = LiveReplan.objects.filter(kind="replan", state__in=("queued", "running")).exists()
    return {"unit": unit.call_sign, "changes": out, "last": out[-1]["seq"] if out else after,
            "poll_s": PENDING_POLL_S if pending else POLL_S, "version": version, "replans": replans,
            "pending": pending}


def route_version(unit: Unit) -> tuple[int | None, list[str]]:
    """The version of the unit's published route and, when a live re-plan made it, the changes that concern
    the unit, in words (the re-plan's sentences naming it; nothing from intelligence is in them)."""
    from patrol_planner.web.services import published_for_unit

    v = published_for_unit(unit)
    if v is None:
        return None, []
    changes = (v.plan_shared().get("rules") or {}).get("live", {}).get("changes", [])
    mine = [c for c in changes if unit.call_sign in c]
    if changes and not mine:
        mine = ["Route re-planned: your stops are unchanged"]
    return v.pk, mine


def stored_events(since: datetime | None = None, until: datetime | None = None) -> list[Any]:
    """Every stored position, status and tasking room event (tasks, intelligence-led visits as their place,
    window and prize only, cancellations; since ``since``) as live events, in time order: the live state is
    a function of these alone, so after a restart it is rebuilt from the database with nothing lost, and
    ``patrol_planner.live.eventfile.events_csv`` turns a night into an event file for ``replay``."""
    from patrol_planner.live.events import Event
    from patrol_planner.web.live_replan import tasking_event
    from patrol_planner.web.models import LiveTaskingEvent, Position

    pos = Position.objects.select_related("unit").order_by("at", "id")
    sts = UnitStatusEvent.objects.select_related("unit").order_by("at", "id")
    tsk = LiveTaskingEvent.objects.select_related("unit").order_by("at", "id")
    if since is not None:
        pos, sts, tsk = pos.filter(at__gte=since), sts.filter(at__gte=since), tsk.filter(at__gte=since)
    if until is not None:
        pos, sts, tsk = pos.filter(at__lte=until), sts.filter(at__lte=until), tsk.filter(at__lte=until)
    out = [Event(time=p.at, kind="position", unit=p.unit.call_sign, device=f"device-{p.device_id}", lon=p.lon,
                 lat=p.lat, accuracy_m=p.accuracy_m) for p in pos]
    out += [Event(time=s.at, kind="status", unit=s.unit.call_sign, status=s.status, until=s.until, lon=s.lon,
                  lat=s.lat) for s in sts]
    out += [tasking_event(t) for t in tsk]
    out.sort(key=lambda e: (e.time, e.kind != "position", e.unit or ""))
    return [e.model_copy(update={"seq": i + 1}) for i, e in enumerate(out)]


def route_page(unit: Unit) -> dict[str, Any]:
    """What "My route" needs to follow the night: the last status event already shown (``after``) and the
    changes the live re-plan that made the current route brought this unit."""
    last = UnitStatusEvent.objects.filter(unit=unit).order_by("-id").values_list("id", flat=True).first()
    return {"after": last or 0, "changes": route_version(unit)[1]}

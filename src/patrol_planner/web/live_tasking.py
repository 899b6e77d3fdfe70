"""The tasking room's events of the night (``docs/live.md``, ``docs/web.md``): a task added or cancelled, an
intelligence-led visit added, a hot spot cancelled for the day. One service for the API and the Tonight live
page's forms: :func:`submit` parses the input, checks it with the live event model and against tonight's
published plan, stores it (``LiveTaskingEvent``), audits it and asks the worker for a re-plan as a status does
(:func:`patrol_planner.web.live_queue.request_replan`). No planning here.

Intelligence is taken as grading, handling code, place, window, dwell and value only: the input models refuse
any other field, so its text cannot arrive here. The re-plan's trigger (stored with the re-plan, in the new
plan's ``rules.live`` and in the audit log) is neutral ("new visit live-3 ..."); only the tasking room's own
views (:func:`explain` with ``room=True``) say "intelligence".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from patrol_planner.web import audit, live_queue
from patrol_planner.web.models import LiveTaskingEvent, PlanVersion, Unit
from patrol_planner.web.services import ActionRefused

#: A site id a person may give a task: a short code (no spaces), as an intelligence id in the incident files.
SITE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,39}$"
_WINDOW = r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$"
#: Prefix of the ids given to tasks without one and to every intelligence-led visit: the same for both, so an
#: officer's route does not tell an intelligence-led visit from a task.
GENERATED_PREFIX = "live-"
#: Events may come in this long before the night's first shift (a task announced in the afternoon).
BEFORE_NIGHT = timedelta(hours=12)
ADDED_KINDS = ("task_added", "intel_added")


class Invalid(ActionRefused):
    """Bad input: one line, naming the field (HTTP 422)."""


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    #: the event's time: ISO 8601 with a UTC offset, or HH:MM on tonight's night; empty = now
    time: str | None = Field(None, max_length=40)


class _Place(_In):
    hotspot_id: str | None = Field(None, max_length=64)  # a hot spot of tonight's plan, or lon/lat
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    window: str = Field(pattern=_WINDOW)  # HH:MM-HH:MM, the night's local time
    dwell_min: float = Field(gt=0, le=240)


class TaskIn(_Place):
    """A must-do visit added tonight."""

    site_id: str | None = Field(None, pattern=SITE_ID_PATTERN)  # empty: a neutral id is given
    unit: str | None = Field(None, max_length=20)  # only this unit (call sign)


class IntelIn(_Place):
    """An intelligence-led visit: grading, handling code, place, window, dwell and value; nothing else."""

    source_evaluation: str = Field(min_length=1, max_length=1)  # 3x5x2: 1-3; 5x5x5: A-E
    intelligence_assessment: str = Field(min_length=1, max_length=1)  # 3x5x2: A-E; 5x5x5: 1-5
    handling_code: str = Field(min_length=1, max_length=1)  # 3x5x2: P, C; 5x5x5: 1-5
    value: float = Field(gt=0, le=100_000)  # its harm if true [harm]; the routing gets value x confidence


class CancelIn(_In):
    reason: str = Field("", max_length=300)


INPUTS: dict[str, type[_In]] = {"task_added": TaskIn, "intel_added": IntelIn, "task_cancelled": CancelIn,
                                "spot_cancelled": CancelIn}


@dataclass(frozen=True)
class Night:
    """Tonight's published plan as the checks need it."""

    version: PlanVersion
    plan: dict[str, Any]
    start: datetime
    end: datetime
    tz: ZoneInfo

    @property
    def hotspots(self) -> dict[str, dict[str, Any]]:
        return {h["hotspot_id"]: h for h in self.plan["hotspots"]}

    def morning_sites(self) -> set[str]:
        rules = self.plan.get("rules") or {}
        return {str(t["id"]) for key in ("tasks", "intel_visits") for t in rules.get(key, [])}


def tonight() -> Night:
    """Tonight's published plan and night; :class:`ActionRefused` when none is published."""
    from patrol_planner.web.live_replan import authorising, current_published, night_window

    current = current_published()
    if current is None:
        raise ActionRefused("no published plan tonight")
    plan = current.plan_shared()
    start, end = night_window(authorising(current))
    return Night(current, plan, start, end, ZoneInfo(plan.get("timezone") or "Europe/London"))


def tonight_events(night: Night | None = None) -> list[LiveTaskingEvent]:
    """Tonight's tasking events, oldest first."""
    night = night or tonight()
    return list(LiveTaskingEvent.objects.filter(night_start=night.start).select_related("created_by", "unit")
                .order_by("id"))


def _one_line(exc: ValidationError) -> str:
    e = exc.errors()[0]
    where = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
    msg = str(e["msg"]).removeprefix("Value error, ")
    if e.get("type") == "extra_forbidden":
        msg = "is not a field of this event (nothing else is taken: intelligence text never leaves ingestion)"
    return f"{where}: {msg}" if where else msg


def _at(text: str | None, night: Night) -> datetime:
    """The event's time: ISO with an offset, HH:MM on the night, or now."""
    from patrol_planner.scenario.tasking import local_window
    from patrol_planner.scenario.timetext import parse_hhmm

    if not text:
        at = timezone.now()
    elif re.match(r"^\d{1,2}:\d{2}$", text):
        try:
            t = parse_hhmm(text)
        except ValueError as exc:
            raise Invalid(f"time: {exc}") from None
        at = local_window((t, t), night.start, night.tz, "time")[0]
    else:
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            raise Invalid(f"time: {text!r} is not ISO 8601 or HH:MM") from None
        if at.tzinfo is None:
            raise Invalid("time: needs a UTC offset (e.g. 2022-09-02T23:10:00+01:00)")
    if not night.start - BEFORE_NIGHT <= at <= night.end:
        raise Invalid(f"time: {at.isoformat()} is not in tonight's night ({night.start.isoformat()} to "
                      f"{night.end.isoformat()})")
    return at


def _place(body: _Place, night: Night) -> tuple[float, float]:
    if body.hotspot_id is not None:
        if body.lon is not None or body.lat is not None:
            raise Invalid("give a hot spot or lon/lat, not both")
        h = night.hotspots.get(body.hotspot_id)
        if h is None:
            raise Invalid(f"hotspot_id: {body.hotspot_id!r} is not a hot spot of tonight's plan")
        return float(h["lon"]), float(h["lat"])
    if body.lon is None or body.lat is None:
        raise Invalid("give the place: a hot spot of tonight's plan, or lon and lat")
    return body.lon, body.lat


def _window(body: _Place, at: datetime, night: Night) -> tuple[time, time]:
    from patrol_planner.scenario.tasking import local_window
    from patrol_planner.scenario.timetext import parse_window

    try:
        win = parse_window(body.window.replace(" ", ""))
    except ValueError as exc:
        raise Invalid(f"window: {exc}") from None
    a, b = local_window(win, night.start, night.tz, "window")
    if (b - a).total_seconds() < body.dwell_min * 60:
        raise Invalid(f"window: {body.window} is shorter than the dwell ({body.dwell_min:g} min)")
    if b - timedelta(minutes=body.dwell_min) < at:
        raise Invalid(f"window: {body.window} on this night ends before a visit made from "
                      f"{at.astimezone(night.tz):%H:%M} could finish")
    if a >= night.end:
        raise Invalid(f"window: {body.window} starts after tonight's last shift ends")
    return win


def _site_ids(night: Night) -> tuple[set[str], set[str], set[str]]:
    """Tonight's site ids added, cancelled, and every id in use (hot spots, the morning's tasks and
    intelligence-led visits, sites added tonight)."""
    rows = LiveTaskingEvent.objects.filter(night_start=night.start).values_list("kind", "site_id")
    added = {s for k, s in rows if k in ADDED_KINDS}
    cancelled = {s for k, s in rows if k not in ADDED_KINDS}
    return added, cancelled, set(night.hotspots) | night.morning_sites() | added


def _new_id(given: str | None, used: set[str]) -> str:
    if given is not None:
        if given in used:
            raise Invalid(f"site_id: {given!r} is already a hot spot, task or visit tonight")
        return given
    n = sum(1 for s in used if s.startswith(GENERATED_PREFIX)) + 1
    while f"{GENERATED_PREFIX}{n}" in used:
        n += 1
    return f"{GENERATED_PREFIX}{n}"


def _checked(kind: str, body: _In, night: Night, site_id: str | None) -> dict[str, Any]:
    """The row's fields after every check; :class:`Invalid` (one line) otherwise."""
    from patrol_planner.live.eventfile import EventCheck
    from patrol_planner.live.events import Event
    from patrol_planner.web.live_quarantine import force_area

    at = _at(body.time, night)
    added, cancelled, used = _site_ids(night)
    row: dict[str, Any] = {"kind": kind, "at": at, "night_start": night.start}
    if isinstance(body, CancelIn):
        known = set(night.hotspots) if kind == "spot_cancelled" else night.morning_sites() | added
        what = "hot spot of tonight's plan" if kind == "spot_cancelled" else "task or visit tonight"
        if site_id not in known:
            raise Invalid(f"site_id: {site_id!r} is not a {what}")
        if site_id in cancelled:
            raise Invalid(f"site_id: {site_id!r} is already cancelled")
        row.update(site_id=site_id, reason=body.reason)
        fields: dict[str, Any] = {"site_id": site_id}
    else:
        assert isinstance(body, _Place)
        lon, lat = _place(body, night)
        win = _window(body, at, night)
        sid = _new_id(body.site_id if isinstance(body, TaskIn) else None, used)
        row.update(site_id=sid, lon=lon, lat=lat, window_start=win[0], window_end=win[1], dwell_min=body.dwell_min)
        fields = {"site_id": sid, "lon": lon, "lat": lat, "window": win, "dwell_min": body.dwell_min}
        if isinstance(body, TaskIn) and body.unit:
            row["unit"] = Unit.objects.filter(call_sign=body.unit).first()
            fields["unit"] = body.unit
        if isinstance(body, IntelIn):
            row.update(_graded(body))
            fields["prize"] = row["prize"]
    try:
        ev = Event(time=at, kind=kind, **fields)
    except ValidationError as exc:
        raise Invalid(_one_line(exc)) from None
    units = frozenset(u["id"] for u in night.plan["units"])
    check = EventCheck(units=units, bbox_lonlat=force_area() or (-180.0, -90.0, 180.0, 90.0))
    why = check.reason(ev)
    if why is not None and why[0] == "outside_area":
        raise Invalid(f"the place is outside the force area: {why[1]} the plan's stations and hot spots")
    if why is not None and why[0] == "unknown_unit":
        raise Invalid(f"unit: {ev.unit!r} is not on tonight's plan")
    return row


def _graded(body: IntelIn) -> dict[str, Any]:
    from patrol_planner.incidents.intel import grade_one

    s, a, h = (x.upper() for x in (body.source_evaluation, body.intelligence_assessment, body.handling_code))
    try:
        conf, diss = grade_one(s, a, h)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return {"source_evaluation": s, "intelligence_assessment": a, "handling_code": h, "disseminate": diss,
            "value": body.value, "prize": round(body.value * conf, 6)}


def submit(kind: str, data: Mapping[str, Any], actor: Any, site_id: str | None = None) -> LiveTaskingEvent:
    """Take one tasking event (``kind`` one of :data:`INPUTS`) from the API's body or a form's fields (strings;
    empty ones are left out): checked, stored, audited, and a re-plan asked for in the same transaction.
    :class:`Invalid` (bad input, one line) or :class:`ActionRefused` (no published plan)."""
    if kind not in INPUTS:
        raise Invalid(f"unknown event kind {kind!r}")
    clean = {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
    try:
        body = INPUTS[kind].model_validate(clean)
    except ValidationError as exc:
        raise Invalid(_one_line(exc)) from None
    night = tonight()
    row = _checked(kind, body, night, site_id)
    stored_at = timezone.now()
    try:
        with transaction.atomic():
            ev = LiveTaskingEvent(created_by=actor, **row)
            replan = live_queue.request_replan(explain(ev), ev.at, stored_at)
            ev.replan = replan
            ev.save()
            audit.record(f"live_{kind}", actor=actor, target=f"site:{ev.site_id}",
                         detail={"event": ev.pk, "at": ev.at.isoformat(), "replan": replan.pk if replan else None,
                                 "reason_given": bool(ev.reason)})
    except IntegrityError:  # two people adding the same id at once: the second is refused
        raise Invalid(f"site_id: {row['site_id']!r} is already a task or visit tonight") from None
    return ev


def _hm(t: time | None) -> str:
    return f"{t:%H:%M}" if t is not None else ""


def explain(ev: LiveTaskingEvent, *, room: bool = False) -> str:
    """The event in words. Neutral by default (it becomes the re-plan's trigger, which reaches the plan and
    the audit log); ``room=True`` for the tasking room's own views, which may say "intelligence"."""
    win = f"{_hm(ev.window_start)}-{_hm(ev.window_end)}"
    if ev.kind == "task_added":
        unit = f", {ev.unit.call_sign} only" if ev.unit_id else ""
        return f"new task {ev.site_id} ({win}, {ev.dwell_min:g} min{unit})"
    if ev.kind == "intel_added":
        if not room:
            return f"new visit {ev.site_id} ({win}, {ev.dwell_min:g} min)"
        shared = "may be shared" if ev.disseminate else "restricted"
        return (f"new intelligence-led visit {ev.site_id} ({win}, {ev.dwell_min:g} min; graded "
                f"{ev.source_evaluation}{ev.intelligence_assessment}, handling {ev.handling_code}: {shared}; "
                f"worth {ev.prize:g})")
    if ev.kind == "spot_cancelled":
        return f"hot spot {ev.site_id} cancelled for the night"
    return f"{ev.site_id} cancelled"


def as_dict(ev: LiveTaskingEvent) -> dict[str, Any]:
    """One event for the tasking room's API (tasking and supervisor roles only)."""
    return {"id": ev.pk, "kind": ev.kind, "at": ev.at, "site_id": ev.site_id, "lon": ev.lon, "lat": ev.lat,
            "window": f"{_hm(ev.window_start)}-{_hm(ev.window_end)}" if ev.window_start else None,
            "dwell_min": ev.dwell_min, "unit": ev.unit.call_sign if ev.unit_id else None, "prize": ev.prize,
            "grading": f"{ev.source_evaluation}{ev.intelligence_assessment}" or None,
            "handling_code": ev.handling_code or None, "disseminate": ev.disseminate, "reason": ev.reason,
            "created_by": ev.created_by.get_username(), "created_at": ev.created_at,
            "replan": ev.replan_id, "what": explain(ev, room=True)}


def choices(night: Night) -> dict[str, list[str]]:
    """What the live page's forms offer: tonight's hot spots, and the tasks, visits and spots that can still
    be cancelled."""
    added, cancelled, _ = _site_ids(night)
    spots = sorted(night.hotspots, key=lambda h: night.hotspots[h].get("rank") or 0)
    return {"hotspots": spots, "spots": [s for s in spots if s not in cancelled],
            "tasks": sorted((night.morning_sites() | added) - cancelled)}


def room_overview(limit: int = 20) -> dict[str, Any]:
    """:func:`patrol_planner.web.live_replan.overview` for the tasking room (tasking and supervisor roles only):
    a re-plan a tasking event asked for is described as the room entered it, so an intelligence-led visit says
    so here and nowhere else."""
    from patrol_planner.web.live_replan import overview

    out = overview(limit)
    ids = [r["id"] for r in out["replans"]]
    by_replan = {ev.replan_id: ev for ev in LiveTaskingEvent.objects.filter(replan_id__in=ids).select_related("unit")}
    for r in out["replans"]:
        if r["id"] in by_replan:
            r["trigger"] = explain(by_replan[r["id"]], room=True)
    return out

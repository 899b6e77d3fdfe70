"""Live re-plans from the tasking room (``docs/web.md``, "Live re-plans"): an event that changes the night asks
for a re-plan; the worker rebuilds the live state from the database, runs :func:`patrol_planner.live.replan.replan`
and stores the result as a NEW plan version, a child of the current published one, published automatically
under the authority of the version a supervisor approved and published for that night (audited
``plan_replanned``). A supervisor can stop live re-tasking of that version. No planning here: the routes are
the package's (:mod:`patrol_planner.live`); this module only reads and writes the database.

The worker keeps each night's morning context (road networks, routing problem: ``live.context``) in its own
process, so only the first re-plan of a night (or the warm-up queued when a plan is published) pays for it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from patrol_planner.web import audit
from patrol_planner.web.models import Approval, LiveReplan, LiveStop, PlanVersion, Status, UnitStatusEvent, Visit

#: Morning contexts kept per worker process (tonight's and, for a while, last night's).
CONTEXTS_KEPT = 2
_CONTEXTS: OrderedDict[tuple[int, str], Any] = OrderedDict()
_LOCK = threading.Lock()


# --- which plan authorises live re-plans ----------------------------------------------------------------
def current_published() -> PlanVersion | None:
    """Tonight's plan: the newest published version."""
    return PlanVersion.objects.filter(status=Status.PUBLISHED).select_related("scenario").order_by(
        "-created_at", "-pk").first()


def authorising(version: PlanVersion) -> PlanVersion:
    """The version a supervisor published that ``version`` descends from through live re-plans (itself when
    it is not a live re-plan)."""
    v = version
    while v.parent_id is not None and LiveReplan.objects.filter(version=v).exists():
        v = v.parent  # type: ignore[assignment]
    return v


def route_chain(version: PlanVersion) -> list[int]:
    """``version`` and the versions it re-plans through live re-plans, newest first (ids)."""
    ids = [version.pk]
    rows = dict(LiveReplan.objects.filter(version__isnull=False).values_list("version_id", "parent_id"))
    while ids[-1] in rows and rows[ids[-1]] is not None and len(ids) < 1000:
        ids.append(rows[ids[-1]])
    return ids


def publisher(version: PlanVersion) -> Any:
    a = version.approvals.filter(decision="published").order_by("at").first()
    return a.by if a is not None else version.created_by


def night_window(version: PlanVersion) -> tuple[datetime, datetime]:
    """First shift start and last shift end of a version's units: the night it authorises re-plans for."""
    units = version.plan_shared()["units"]
    return (min(datetime.fromisoformat(u["shift_start"]) for u in units),
            max(datetime.fromisoformat(u["shift_end"]) for u in units))


def stopped(root: PlanVersion) -> LiveStop | None:
    return root.live_stops.order_by("at").first()


# --- asking for a re-plan (the server's side) ----------------------------------------------------------
def stop_live(version: PlanVersion, user: Any, reason: str = "") -> LiveStop:
    """A supervisor stops live re-tasking under the version authorising tonight's plan (audited)."""
    root = authorising(version)
    with transaction.atomic():
        s = LiveStop.objects.create(version=root, by=user, reason=reason.strip()[:2000])
        audit.record("live_retasking_stopped", actor=user, target=f"version:{root.pk}",
                     detail={"reason_given": bool(reason.strip())})
    return s


# --- the worker's side ----------------------------------------------------------------------------------
def context_for(root: PlanVersion) -> Any:
    """The morning context of the night ``root`` was planned for (``live.context.context_from_run`` of the
    package's ``run_plan`` on the scenario as planned), kept in this process."""
    from patrol_planner.live.context import context_from_run
    from patrol_planner.scenario import run_plan, scenario_from_dict

    key = (root.pk, root.plan_sha256)
    with _LOCK:
        if key in _CONTEXTS:
            _CONTEXTS.move_to_end(key)
            return _CONTEXTS[key]
    s = scenario_from_dict(root.scenario_content, base_dir=Path(root.scenario.base_dir),
                           source=f"version {root.pk} as planned")
    ctx = context_from_run(run_plan(s))
    with _LOCK:
        _CONTEXTS[key] = ctx
        while len(_CONTEXTS) > CONTEXTS_KEPT:
            _CONTEXTS.popitem(last=False)
    return ctx


@dataclass
class _Applied:
    """A night's live state kept in the worker, and how far into each table it has read (ids); events read
    but later than the state's time wait in ``held``."""

    state: Any
    now: datetime
    last_ids: dict[str, int] = field(default_factory=lambda: {"position": 0, "status": 0, "visit": 0,
                                                              "tasking": 0})
    held: list[Any] = field(default_factory=list)
    dose_seen: set[str] = field(default_factory=set)  # spots the dose check has seen delivered (web.live_check)


#: A re-plan for an event this much earlier than what the kept state has taken in (the dose check ran on later
#: positions) uses the state as it is rather than reading the night again [s].
STATE_AHEAD_TOL_S = 300.0
_STATES: OrderedDict[tuple[int, str], _Applied] = OrderedDict()


def events_after(last_ids: dict[str, int], night_start: datetime | None = None) -> list[Any]:
    """Every event stored after the ids in ``last_ids`` (which it moves on): positions and statuses (as
    ``web.live.stored_events`` gives them), "My route" arrivals and departures, and the tasking room's tasks,
    intelligence-led visits and cancellations (of the night starting at ``night_start`` only, when given: a
    task's window is a time of day, read on that night)."""
    from patrol_planner.live.events import Event
    from patrol_planner.web.models import LiveTaskingEvent, Position

    pos = list(Position.objects.filter(id__gt=last_ids["position"]).select_related("unit").order_by("id"))
    sts = list(UnitStatusEvent.objects.filter(id__gt=last_ids["status"]).select_related("unit").order_by("id"))
    vis = list(Visit.objects.filter(id__gt=last_ids["visit"], kind__in=("arrive", "leave"))
               .select_related("unit").order_by("id"))
    tsk = list(LiveTaskingEvent.objects.filter(id__gt=last_ids.get("tasking", 0)).select_related("unit")
               .order_by("id"))
    for name, rows in (("position", pos), ("status", sts), ("visit", vis), ("tasking", tsk)):
        if rows:
            last_ids[name] = rows[-1].pk
    evs = [Event(time=p.at, kind="position", unit=p.unit.call_sign, device=f"device-{p.device_id}", lon=p.lon,
                 lat=p.lat, accuracy_m=p.accuracy_m) for p in pos]
    evs += [Event(time=x.at, kind="status", unit=x.unit.call_sign, status=x.status, until=x.until, lon=x.lon,
                  lat=x.lat) for x in sts]
    evs += [Event(time=v.at, kind=v.kind, unit=v.unit.call_sign, site_id=v.hotspot_id) for v in vis]
    evs += [tasking_event(t) for t in tsk
            if night_start is None or abs((t.night_start - night_start).total_seconds()) < 1]
    return evs


def tasking_event(t: Any) -> Any:
    """A stored ``LiveTaskingEvent`` as the live event the state applies (no intelligence but its prize)."""
    from patrol_planner.live.events import Event

    window = (t.window_start, t.window_end) if t.window_start is not None else None
    return Event(time=t.at, kind=t.kind, site_id=t.site_id, unit=t.unit.call_sign if t.unit_id else None,
                 lon=t.lon, lat=t.lat, window=window, dwell_min=t.dwell_min, prize=t.prize)


def _apply(st: Any, ctx: Any, evs: list[Any]) -> None:
    """Events into the state in time order, positions in batches between control events."""
    import numpy as np

    batch: list[tuple[str, float, float, float]] = []

    def flush() -> None:
        if batch:
            st.add_positions(*(np.array(c) for c in zip(*batch, strict=True)))
            batch.clear()

    for ev in sorted(evs, key=lambda e: (e.time, e.kind != "position")):
        if ev.unit is not None and ev.unit not in st.units:
            continue  # a unit not on tonight's plan
        if ev.kind == "position":
            batch.append((ev.unit, ev.time.timestamp(), float(ev.lon), float(ev.lat)))
            continue
        flush()
        if ev.kind in ("arrive", "leave") and ev.site_id not in ctx.sites:
            continue
        st.apply(ev)
    flush()


def state_from_db(ctx: Any, now: datetime, key: tuple[int, str] | None = None) -> Any:
    """The live state at ``now`` from the database: what is stored, in time order. With ``key`` (the
    authorising version's) the state is kept in this process and only events stored since the last call are
    read and applied, so a re-plan late in the night does not read the whole night again; a new process (a
    restart) reads it all once. Events later than ``now`` wait for a later re-plan; a ``now`` up to
    :data:`STATE_AHEAD_TOL_S` before the kept state's time uses the state as it is."""
    from patrol_planner.live.state import LiveState

    with _LOCK:
        kept = _STATES.get(key) if key is not None else None
    if kept is None or (kept.now - now).total_seconds() > STATE_AHEAD_TOL_S:
        kept = _Applied(LiveState(ctx), now)
    cut = max(now, kept.now)  # never apply an event earlier than one already in (positions stay in order)
    evs = kept.held + events_after(kept.last_ids, night_start=ctx.clock.t0)
    kept.held = [e for e in evs if e.time > cut]
    _apply(kept.state, ctx, [e for e in evs if e.time <= cut])
    st = kept.state
    assert st.dose is not None
    st.dose.close_stale(cut.timestamp())
    st.now_s = max(st.now_s, cut.timestamp())
    kept.now = cut
    if key is not None:
        with _LOCK:
            _STATES[key] = kept
            while len(_STATES) > CONTEXTS_KEPT:
                _STATES.popitem(last=False)
    return st


def kept_state(key: tuple[int, str]) -> _Applied | None:
    """The night's state kept in this process for ``key`` (after :func:`state_from_db` with that key)."""
    with _LOCK:
        return _STATES.get(key)


def state_key(root: PlanVersion) -> tuple[int, str]:
    """The key a night's live state is kept under: the authorising version's."""
    return (root.pk, f"{root.plan_sha256} {root.created_at.isoformat()}")


def run_live_replan(row_id: int) -> int | None:
    """The queued task's body: re-plan tonight's published plan and publish the result as a new version;
    returns its id (None for a warm-up or a skipped row)."""
    row = LiveReplan.objects.select_related("authorised_by", "scenario").get(pk=row_id)
    if row.state in (LiveReplan.State.DONE, LiveReplan.State.SKIPPED):  # a rerun after a restart: done already
        return row.version_id
    if row.kind == "warm":
        t0 = time.perf_counter()
        context_for(row.authorised_by)
        night_window(row.authorised_by)  # parses the plan once in this process
        import patrol_planner.live.planned  # noqa: F401  (the first re-plan does not pay for the imports)
        LiveReplan.objects.filter(pk=row_id).update(state=LiveReplan.State.DONE, wall_s=time.perf_counter() - t0)
        return None
    newer = LiveReplan.objects.filter(kind="replan", state=LiveReplan.State.QUEUED, pk__gt=row_id).exists()
    if newer:  # a later re-plan rebuilds the state from the database too: it takes this event in
        LiveReplan.objects.filter(pk=row_id).update(state=LiveReplan.State.SKIPPED, error="taken in by a later re-plan")
        return None
    LiveReplan.objects.filter(pk=row_id).update(state=LiveReplan.State.RUNNING, started_at=timezone.now())
    row.started_at = timezone.now()
    try:
        return _replan_and_publish(row)
    except Exception as exc:  # recorded, one line, then re-raised for the queue's own record
        line = str(exc).splitlines()[0][:2000] if str(exc) else type(exc).__name__
        LiveReplan.objects.filter(pk=row_id).update(state=LiveReplan.State.FAILED, error=line)
        audit.record("plan_replan_failed", actor="system", target=f"live:{row_id}",
                     detail={"error": type(exc).__name__})
        raise


def _replan_and_publish(row: LiveReplan) -> int | None:
    from patrol_planner.live.planned import plan_after_replan, routes_of_plan
    from patrol_planner.live.replan import replan

    current = current_published()
    if current is None or stopped(authorising(current)) is not None:
        LiveReplan.objects.filter(pk=row.pk).update(state=LiveReplan.State.SKIPPED, error="no plan to re-plan")
        return None
    root = authorising(current)
    start, end = night_window(root)
    if not start <= row.trigger_at <= end:
        LiveReplan.objects.filter(pk=row.pk).update(
            state=LiveReplan.State.SKIPPED, error="the event is outside the night the published plan covers")
        return None
    steps = {"request": round((row.requested_at - row.event_stored_at).total_seconds(), 4),
             "queued": round((row.started_at - row.requested_at).total_seconds(), 4),  # type: ignore[operator]
             "prepare": round((timezone.now() - row.started_at).total_seconds(), 4)}  # type: ignore[operator]
    steps.update(_queue_steps(row))
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        steps[name] = round(time.perf_counter() - t, 4)
        t = time.perf_counter()

    ctx = context_for(root)
    lap("context")
    parent = current.plan()
    live_at = (parent.get("rules") or {}).get("live", {}).get("at")
    now = max(row.trigger_at, datetime.fromisoformat(live_at)) if live_at else row.trigger_at
    state = state_from_db(ctx, now, key=state_key(root))
    lap("state")
    rp = replan(ctx, state, now.timestamp(), routes_of_plan(ctx, parent), trigger=row.trigger)
    lap("replan")
    plan, changes = plan_after_replan(ctx, parent, rp, state, trigger=row.trigger)
    text = plan.to_json(indent=None)  # compact: machine-written, stored, parsed again by the room
    lap("plan")
    v = _publish(row, current, root, text, changes, rp)
    lap("store")
    LiveReplan.objects.filter(pk=row.pk).update(steps_s=steps)
    return v


def _publish(row: LiveReplan, current: PlanVersion, root: PlanVersion, plan_json: str, changes: list[str],
             rp: Any) -> int:
    """Store the re-planned plan as a published child of ``current``, its sign-off and audit event, and the
    row's outcome, in one transaction."""
    from django.db.models import Max

    by = publisher(root)
    with transaction.atomic():
        number = (current.scenario.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        v = PlanVersion.objects.create(
            scenario=current.scenario, number=number, parent=current, plan_json=plan_json,
            input_hashes=current.input_hashes, scenario_content=current.scenario_content, created_by=by,
            status=Status.PUBLISHED)
        now = timezone.now()
        LiveReplan.objects.filter(pk=row.pk).update(
            state=LiveReplan.State.DONE, version=v, parent=current, published_at=now, changes=changes,
            notes=list(rp.notes), wall_s=rp.wall_s, cpu_s=rp.cpu_s,
            latency_s=(now - row.event_stored_at).total_seconds())
        Approval.objects.create(version=v, decision="published", by=by,
                                reason=f"live re-plan ({row.trigger}), published automatically under version "
                                       f"{root.number} published by {by}")
        audit.record("plan_replanned", actor="system", target=f"version:{v.pk}",
                     detail={"parent": current.pk, "authorised_by": root.pk, "trigger": row.trigger,
                             "changes": changes, "sha256": v.plan_sha256, "validated": bool(rp.validated)})
    return v.pk


def overview(limit: int = 20) -> dict[str, Any]:
    """What the tasking room shows of live re-tasking (no intelligence: triggers, changes and notes are the
    re-plan's words about units, stops and tasks; ``live_tasking.room_overview`` adds the room's own words)."""
    from django.db.models import Count

    from patrol_planner.web.models import QuarantinedEvent

    current = current_published()
    root = authorising(current) if current is not None else None
    rows = LiveReplan.objects.exclude(kind="check").order_by("-id")[:limit]
    q = {r["reason"]: r["n"] for r in QuarantinedEvent.objects.values("reason").annotate(n=Count("id"))}
    return {"version": current.pk if current else None, "authorised_by": root.pk if root else None,
            "stopped": bool(root and stopped(root)), "quarantined": q,
            "replans": [{"id": r.pk, "kind": r.kind, "state": r.state, "trigger": r.trigger,
                         "trigger_at": r.trigger_at,
                         "version": r.version_id, "parent": r.parent_id, "changes": r.changes, "notes": r.notes,
                         "latency_s": r.latency_s, "wall_s": r.wall_s, "steps_s": r.steps_s, "error": r.error}
                        for r in rows]}


def latest_positions() -> list[dict[str, Any]]:
    """Each unit's latest stored position and status, for the tasking room's live map (one indexed query per
    unit: the roster is tens of units)."""
    from patrol_planner.web.models import Position, Unit

    out = []
    for u in Unit.objects.order_by("call_sign"):
        p = Position.objects.filter(unit=u).order_by("-at", "-id").first()
        s = UnitStatusEvent.objects.filter(unit=u).order_by("-id").first()
        if p is not None:
            out.append({"unit": u.call_sign, "lon": p.lon, "lat": p.lat, "at": p.at, "accuracy_m": p.accuracy_m,
                        "status": s.status if s is not None else "available"})
    return out


def _queue_steps(row: LiveReplan) -> dict[str, float]:
    """How the queue's part of the wait splits: asked -> enqueued, enqueued -> the worker took it [s]."""
    from django_tasks_db.models import DBTaskResult

    task = DBTaskResult.objects.filter(pk=row.task_id).first() if row.task_id else None
    if task is None or task.started_at is None:
        return {}
    return {"to_queue": round((task.enqueued_at - row.requested_at).total_seconds(), 4),
            "to_worker": round((task.started_at - task.enqueued_at).total_seconds(), 4)}

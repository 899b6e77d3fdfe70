"""Asking the worker for live re-plans: the enqueue side of :mod:`.live_replan` (which runs them in the worker).

Kept apart so that the task module can import the worker side without an import cycle.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from patrol_planner.web.live_replan import authorising, current_published, stopped
from patrol_planner.web.models import Approval, LiveReplan, PlanVersion, Position, UnitStatusEvent


def request_replan(trigger: str, at: datetime, stored_at: datetime | None = None) -> LiveReplan | None:
    """Ask the worker to re-plan tonight's published plan at the night's time ``at`` because of ``trigger``
    (an event in words). Stored ``skipped`` with the reason when live re-tasking was stopped (the worker
    skips one whose ``at`` lies outside the authorising plan's night). Enqueued once the caller's transaction
    commits; None when no plan is published."""
    from patrol_planner.web.tasks import live_replan_job

    current = current_published()
    if current is None:
        return None
    root = authorising(current)
    row = LiveReplan(kind="replan", scenario=current.scenario, authorised_by=root, parent=current,
                     trigger=trigger[:200], trigger_at=at, event_stored_at=stored_at or timezone.now())
    stop = stopped(root)
    if stop is not None:
        row.state, row.error = LiveReplan.State.SKIPPED, f"live re-tasking stopped by {stop.by} at {stop.at:%H:%M}"
    row.save()
    if row.state == LiveReplan.State.QUEUED:
        transaction.on_commit(lambda: _enqueue(row.pk, live_replan_job))
    return row


def request_warm(version: PlanVersion) -> LiveReplan:
    """Load the night's morning context into the worker now (queued when a supervisor publishes a plan), so
    the first re-plan of the night does not pay for it."""
    from patrol_planner.web.tasks import live_replan_job

    row = LiveReplan.objects.create(kind="warm", scenario=version.scenario, authorised_by=version, parent=version,
                                    trigger="plan published: morning context loaded",
                                    trigger_at=timezone.now(), event_stored_at=timezone.now())
    transaction.on_commit(lambda: _enqueue(row.pk, live_replan_job))
    return row


def _enqueue(row_id: int, task: Any) -> None:
    result = task.enqueue(row_id)
    LiveReplan.objects.filter(pk=row_id).update(task_id=str(result.id))


def status_trigger(ev: UnitStatusEvent) -> LiveReplan | None:
    """A stored status asks for a re-plan (every status changes what the units can do)."""
    until = f" until {timezone.localtime(ev.until):%H:%M}" if ev.until else ""
    return request_replan(f"{ev.unit.call_sign} {ev.status.replace('_', ' ')}{until}", ev.at, ev.received_at)


def _on_approval(sender: Any, instance: Approval, created: bool, **kwargs: Any) -> None:
    """A supervisor published a plan: load its night's context into the worker before the first event."""
    if kwargs.get("raw"):  # a restore loading rows: nothing was published now
        return
    if created and instance.decision == "published" and not LiveReplan.objects.filter(
            version_id=instance.version_id).exists():
        request_warm(instance.version)


#: A dose check runs at most this often [s]: positions arriving meanwhile wait in the one queued check, so the
#: ingest pays one indexed SELECT per position while a check is queued (the dose and alerts lag by up to this).
CHECK_EVERY_S = 5.0
#: Checks yield to re-plans and plan jobs queued at the same time (the queue runs higher priority first).
CHECK_PRIORITY = -1


def request_check(at: datetime, stored_at: datetime) -> None:
    """Positions arrived: queue the worker's dose check and control-spot alerts (``web.live_check``), at most
    one queued at a time. One ``check`` row is re-queued (a check already queued takes these positions in; one
    running leaves them to the next, asked for by the next position), no sooner than :data:`CHECK_EVERY_S`
    after the last one finished."""
    from datetime import timedelta

    from patrol_planner.web.tasks import live_check_job

    idle = (LiveReplan.State.DONE, LiveReplan.State.SKIPPED, LiveReplan.State.FAILED)
    last = LiveReplan.objects.filter(kind="check").order_by("-id").values_list("pk", "state", "published_at").first()
    if last is None:
        current = current_published()
        if current is not None:
            row = LiveReplan.objects.create(kind="check", scenario=current.scenario, authorised_by=authorising(current),
                                            parent=current, trigger="positions: dose check", trigger_at=at,
                                            event_stored_at=stored_at)
            _enqueue(row.pk, live_check_job.using(priority=CHECK_PRIORITY))
    elif last[1] in idle and LiveReplan.objects.filter(pk=last[0], state__in=idle).update(
            state=LiveReplan.State.QUEUED, trigger_at=at, event_stored_at=stored_at):
        after = None if last[2] is None else last[2] + timedelta(seconds=CHECK_EVERY_S)
        if after is not None and after <= timezone.now():
            after = None
        _enqueue(last[0], live_check_job.using(priority=CHECK_PRIORITY, run_after=after))


def _on_position(sender: Any, instance: Position, created: bool, **kwargs: Any) -> None:
    """A stored position asks for a dose check once its transaction commits (never inside it: the ingest's
    transaction holds no lock on the check row)."""
    if created and not kwargs.get("raw"):
        at, stored = instance.at, instance.received_at or timezone.now()
        transaction.on_commit(lambda: request_check(at, stored))


def connect() -> None:
    """Connect the receivers (called once from the app's ``ready``)."""
    from django.db.models.signals import post_save

    post_save.connect(_on_approval, sender=Approval, dispatch_uid="live_replan_warm")
    post_save.connect(_on_position, sender=Position, dispatch_uid="live_dose_check")

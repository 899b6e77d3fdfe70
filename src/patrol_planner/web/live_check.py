"""The worker's dose check (``docs/web.md``, "Live dose and control-spot alerts"): positions stored for
tonight's night queue it (``live_queue.request_check``: one ``check`` row, at most one queued at a time); it
advances the night's live state kept in the worker (``live_replan.state_from_db`` with the night's key, reading
only the rows stored since), raises control-spot alerts (:mod:`.live_alerts`) and, when a spot newly has its
dose for the day (``patrol_planner.live.state.LiveState.delivered``: the dosage rules of ``live/dose.py``)
while the current plan still has visits of it to come, runs a live re-plan whose reason says so ("spot X has had
its 15 min: its later visits removed"), published like the other live re-plans. No re-plan when nothing
crossed. No planning here: the rules and the re-plan are the package's.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.utils import timezone

from patrol_planner.web import audit, live_replan
from patrol_planner.web.models import LiveReplan, PlanVersion, Position

#: The latest stored positions (by id) whose times give the check's "now" (units post out of step).
NOW_FROM_LATEST = 200


def run_dose_check(row_id: int) -> int | None:
    """The queued check's body; returns the version a dose re-plan published, if any."""
    if not LiveReplan.objects.filter(pk=row_id, kind="check", state=LiveReplan.State.QUEUED).update(
            state=LiveReplan.State.RUNNING, started_at=timezone.now()):
        return None  # taken already (a rerun, or a second enqueue of the same row)
    row = LiveReplan.objects.get(pk=row_id)
    t0 = time.perf_counter()
    try:
        version, what = _check(row)
    except Exception as exc:  # recorded, one line, then re-raised for the queue's own record
        line = str(exc).splitlines()[0][:2000] if str(exc) else type(exc).__name__
        LiveReplan.objects.filter(pk=row_id).update(state=LiveReplan.State.FAILED, error=line,
                                                    wall_s=time.perf_counter() - t0)
        audit.record("live_check_failed", actor="system", target=f"live:{row_id}", detail={"error": type(exc).__name__})
        raise
    LiveReplan.objects.filter(pk=row_id).update(state=LiveReplan.State.DONE, notes=[what],
                                                wall_s=time.perf_counter() - t0, published_at=timezone.now())
    return version


def _check(row: LiveReplan) -> tuple[int | None, str]:
    current = live_replan.current_published()
    if current is None:
        return None, "no published plan"
    root = live_replan.authorising(current)
    start, end = live_replan.night_window(root)
    ats = Position.objects.order_by("-id").values_list("at", flat=True)[:NOW_FROM_LATEST]
    now = max(ats, default=start)
    if not start < now <= end:  # before the night, or the night is over (or the positions are of another)
        return None, "the latest positions are outside the night"
    key = live_replan.state_key(root)
    ctx = live_replan.context_for(root)
    from patrol_planner.web.live_alerts import watch_positions

    raised = watch_positions(root, key, (start, end), ctx.crs)
    state = live_replan.state_from_db(ctx, now, key=key)
    crossed = _newly_delivered(ctx, state, key)
    later = _with_later_visits(ctx, current, crossed, now)
    what = f"checked to {now.isoformat()}; {raised} alert(s) raised"
    if not later or live_replan.stopped(root) is not None:
        return None, what
    trigger = _reason(state, later)
    rp = LiveReplan.objects.create(kind="replan", scenario=current.scenario, authorised_by=root, parent=current,
                                   trigger=trigger, trigger_at=now, event_stored_at=row.event_stored_at)
    return live_replan.run_live_replan(rp.pk), f"{what}; {trigger}"


def _newly_delivered(ctx: Any, state: Any, key: tuple[int, str]) -> list[str]:
    """Hot spots whose dose for the day is in and that the check had not seen so before (in this process)."""
    kept = live_replan.kept_state(key)
    seen = kept.dose_seen if kept is not None else set()
    now_in = {sid for sid, site in ctx.sites.items() if site.kind == "hotspot" and state.delivered(site)}
    new = sorted(now_in - seen)
    seen |= now_in
    return new


def _with_later_visits(ctx: Any, current: PlanVersion, spots: list[str], now: datetime) -> list[str]:
    """The spots the current plan still visits after ``now`` (a re-plan frees that time; nothing to do else)."""
    if not spots:
        return []
    from patrol_planner.live.planned import routes_of_plan

    routes = routes_of_plan(ctx, current.plan_shared())
    t = now.timestamp()
    due = {v.site_id for r in routes.values() for v in r.visits if v.arrive_s >= t}
    return [s for s in spots if s in due]


def _reason(state: Any, spots: list[str]) -> str:
    """The re-plan's reason in words: "spot X has had its 15 min: its later visits removed"."""
    parts = [f"spot {s} has had its {state.dose.dose_s.get(s, 0.0) / 60:.0f} min" for s in spots]
    tail = ": its later visits removed" if len(spots) == 1 else ": their later visits removed"
    text = "; ".join(parts) + tail
    return text if len(text) <= 200 else f"{len(spots)} spots have had their dose: their later visits removed"

"""Event files from a plan, for replays: the morning routes driven with GPS noise, calls that divert units
(:mod:`.calls`), new tasks, and units going off duty early.

The control events are drawn first (seeded); the positions are then those of the **static** world of
:mod:`.replay` under those events (the morning plan followed, missed stops skipped), a ping every 10 s with
noise, so the same file replays the static world exactly.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import numpy as np

from patrol_planner.live.calls import call_times_s, service_times_min
from patrol_planner.live.context import LiveContext
from patrol_planner.live.eventfile import EventLog
from patrol_planner.live.events import Event
from patrol_planner.live.movement import GPS_ACCURACY_M

#: Calls, tasks and early finishes fall inside the night, this far from its ends [s].
EDGE_S = 3600.0
#: A new task's window opens this long after it is announced, and lasts ``TASK_WINDOW_S`` [s].
TASK_LEAD_S, TASK_WINDOW_S = 1800.0, 7200.0
#: A call's place is within this distance of a hot spot [m] (calls cluster where crime is).
CALL_JITTER_M = 300.0


def control_events(ctx: LiveContext, *, seed: int, diversions: int | None, new_tasks: int, off_early: int,
                   intel: int = 0) -> list[Event]:
    """Statuses (calls and early finishes), new tasks and intelligence, in time order."""
    from patrol_planner.live.replay import night_bounds

    rng = np.random.default_rng(seed)
    start, end = night_bounds(ctx)
    tz = ctx.clock.t0.tzinfo
    units = [u.unit_id for u in ctx.units]
    sites = list(ctx.sites.values())
    out: list[dict[str, Any]] = []
    busy_until = {u: -np.inf for u in units}
    off = set(rng.choice(units, size=min(off_early, len(units)), replace=False).tolist()) if off_early else set()
    for u in sorted(off):
        t = ctx.epoch_s(ctx.problem.unit_by_id(u).shift_end_s) - rng.uniform(3600, 7200)
        out.append({"t": t, "kind": "status", "unit": u, "status": "off_duty"})
    calls = call_times_s(rng, start + EDGE_S / 2, end - EDGE_S, len(units), n=diversions, tz=tz)
    for t, dur in zip(calls, service_times_min(rng, len(calls)), strict=True):
        free = [u for u in units if busy_until[u] < t and u not in off]
        if not free:
            continue
        u = str(rng.choice(free))
        lon, lat = _near(ctx, rng, sites[int(rng.integers(len(sites)))].lonlat)
        busy_until[u] = t + dur * 60
        out.append({"t": t, "kind": "status", "unit": u, "status": "committed", "until": t + dur * 60,
                    "lon": lon, "lat": lat})
    for k in range(new_tasks + intel):
        t = float(rng.uniform(start + EDGE_S / 2, end - 2 * EDGE_S - TASK_LEAD_S))
        lon, lat = _near(ctx, rng, sites[int(rng.integers(len(sites)))].lonlat)
        a = datetime.fromtimestamp(t + TASK_LEAD_S, tz)
        b = a + timedelta(seconds=TASK_WINDOW_S)
        task = k < new_tasks
        out.append({"t": t, "kind": "task_added" if task else "intel_added",
                    "site_id": f"{'task' if task else 'intel'}-live-{k + 1}", "lon": lon, "lat": lat,
                    "window": (_hm(a), _hm(b)), "dwell_min": 10.0, "prize": None if task else 50.0})
    out.sort(key=lambda d: d["t"])
    return [Event(time=datetime.fromtimestamp(round(d.pop("t")), tz),
                  until=datetime.fromtimestamp(round(d.pop("until")), tz) if "until" in d else None, seq=i + 1, **d)
            for i, d in enumerate(out)]


def _hm(dt: datetime) -> time:
    return time(dt.hour, dt.minute)


def _near(ctx: LiveContext, rng: np.random.Generator, lonlat: tuple[float, float]) -> tuple[float, float]:
    from patrol_planner.geo import to_lonlat, to_xy

    x, y = to_xy(np.array([lonlat[0]]), np.array([lonlat[1]]), ctx.crs)
    ang, r = rng.uniform(0, 2 * np.pi), rng.uniform(0, CALL_JITTER_M)
    lo, la = to_lonlat(x + r * np.cos(ang), y + r * np.sin(ang), ctx.crs)
    return round(float(lo[0]), 6), round(float(la[0]), 6)


def generate_events(ctx: LiveContext, *, seed: int = 0, diversions: int | None = 3, new_tasks: int = 2,
                    off_early: int = 1, intel: int = 0) -> list[Event]:
    """Control events plus every unit's positions in the static world, in time order."""
    import pandas as pd

    from patrol_planner.live.replay import run_static_positions

    ctrl = control_events(ctx, seed=seed, diversions=diversions, new_tasks=new_tasks, off_early=off_early,
                          intel=intel)
    pos = run_static_positions(ctx, EventLog(tuple(ctrl), pd.DataFrame(), len(ctrl)), seed=seed)
    tz = ctx.clock.t0.tzinfo
    events = list(ctrl)
    for u, t, lo, la in pos:
        events.append(Event(time=datetime.fromtimestamp(float(t), tz), kind="position", unit=u,
                            lon=round(float(lo), 6), lat=round(float(la), 6), accuracy_m=GPS_ACCURACY_M))
    events.sort(key=lambda e: (e.time.timestamp(), e.kind != "position", e.unit or ""))
    return [e.model_copy(update={"seq": i + 1}) for i, e in enumerate(events)]

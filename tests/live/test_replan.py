"""Re-plan from now on the bundled Rutland night (real roads, the real morning plan, positions driven along
its routes): every re-plan passes the independent validator and keeps what it should."""

from __future__ import annotations

from datetime import datetime, time

import numpy as np
import pandas as pd

from patrol_planner import routing as rt
from patrol_planner.live.eventfile import EventLog
from patrol_planner.live.events import Event
from patrol_planner.live.replan import replan
from patrol_planner.live.replay import run_static_positions
from patrol_planner.live.state import LiveState


def at(ctx, hh: int, mm: int = 0) -> datetime:
    day = ctx.clock.t0.date() if hh >= 12 else (ctx.clock.t0 + pd.Timedelta(days=1)).date()
    return datetime.combine(day, time(hh, mm), tzinfo=ctx.clock.t0.tzinfo)


def state_until(ctx, when: datetime, events=()) -> LiveState:
    """The state after following the morning plan (with ``events``) up to ``when``."""
    log = EventLog(tuple(events), pd.DataFrame(), len(events))
    pos = [p for p in run_static_positions(ctx, log, seed=0) if p[1] <= when.timestamp()]
    st = LiveState(ctx)
    ctrl = iter(sorted(events, key=lambda e: e.time))
    nxt = next(ctrl, None)
    batch = []
    for p in pos:
        while nxt is not None and nxt.time.timestamp() <= p[1]:
            if batch:
                st.add_positions(*(np.array(c) for c in zip(*batch, strict=True)))
                batch = []
            st.apply(nxt)
            nxt = next(ctrl, None)
        batch.append(p)
    if batch:
        st.add_positions(*(np.array(c) for c in zip(*batch, strict=True)))
    while nxt is not None:
        st.apply(nxt)
        nxt = next(ctrl, None)
    st.dose.close_stale(when.timestamp())
    st.now_s = when.timestamp()
    return st


def test_nothing_changed_keeps_the_routes(make_ctx):
    ctx = make_ctx()
    now = at(ctx, 23, 30)
    st = state_until(ctx, now)
    rp = replan(ctx, st, now.timestamp(), dict(ctx.morning))
    assert rp.validated
    rt.validate(rp.problem, rp.result)
    assert rp.kept_share is not None and rp.kept_share >= 0.95
    for r in rp.routes.values():
        assert all(v.arrive_s >= now.timestamp() for v in r.visits)


def test_visits_made_are_kept_and_the_rest_is_planned(make_ctx):
    ctx = make_ctx()
    now = at(ctx, 1, 0)
    st = state_until(ctx, now)
    rp = replan(ctx, st, now.timestamp(), dict(ctx.morning))
    offered = {s.site_id: s for s in rp.problem.sites}
    done_any = False
    for sid, site in ctx.sites.items():
        k = len(st.visits_delivered(site))
        done_any |= k > 0
        if k >= site.max_visits:
            assert sid not in offered  # its dose is in: it has left the routes
        elif sid in offered and k:
            assert offered[sid].max_visits <= site.max_visits - k
            assert offered[sid].prize == site.prize * site.repeat_factor ** k
    assert done_any
    # the plan's visit numbers continue the night's
    for r in rp.routes.values():
        for v in r.visits:
            assert v.visit_no > len(st.visits_delivered(ctx.sites[v.site_id]))


def test_a_committed_unit_starts_from_its_call_when_it_clears(make_ctx):
    ctx = make_ctx()
    unit = sorted(ctx.morning)[0]
    call = ctx.sites[ctx.morning[unit].visits[-1].site_id].lonlat  # a call out at its last stop's place
    t = at(ctx, 23, 20)
    until = at(ctx, 0, 40)
    ev = Event(time=t, kind="status", unit=unit, status="committed", until=until, lon=call[0], lat=call[1], seq=1)
    st = state_until(ctx, t, [ev])
    rp = replan(ctx, st, t.timestamp(), dict(ctx.morning))
    assert rp.validated
    r = rp.routes[unit]
    assert r.ready_s >= until.timestamp()
    assert all(v.arrive_s >= until.timestamp() for v in r.visits)
    assert r.start_node == int(ctx.snap(ctx.mode_of(unit), [call[0]], [call[1]])[0])
    assert any(unit in line and "committed to a call until 00:40" in line for line in rp.changes)


def test_a_unit_committed_before_any_position_and_without_a_call_place_clears_at_its_station(make_ctx):
    """A status with no place, before the unit has sent a position (a device not yet on): no crash; the unit
    starts again from where it set off when the call clears."""
    ctx = make_ctx()
    unit = sorted(ctx.morning)[0]
    t, until = at(ctx, 22, 5), at(ctx, 23, 30)
    ev = Event(time=t, kind="status", unit=unit, status="committed", until=until, seq=1)
    st = LiveState(ctx)
    st.apply(ev)
    st.now_s = t.timestamp()
    rp = replan(ctx, st, t.timestamp(), dict(ctx.morning))
    assert rp.validated
    r = rp.routes[unit]
    assert r.ready_s >= until.timestamp() and all(v.arrive_s >= until.timestamp() for v in r.visits)
    assert r.start_node == ctx.morning[unit].start_node


def test_off_duty_units_and_cancelled_spots_leave_the_plan(make_ctx):
    ctx = make_ctx()
    unit = sorted(ctx.morning)[-1]
    spot = next(v.site_id for v in ctx.morning[sorted(ctx.morning)[0]].visits[-3:])
    t = at(ctx, 2, 0)
    evs = [Event(time=t, kind="status", unit=unit, status="off_duty", seq=1),
           Event(time=t, kind="spot_cancelled", site_id=spot, seq=2)]
    st = state_until(ctx, t, evs)
    rp = replan(ctx, st, t.timestamp(), dict(ctx.morning))
    assert rp.validated
    assert rp.routes[unit].visits == ()
    assert unit not in {u.unit_id for u in rp.problem.units}
    assert spot not in {s.site_id for s in rp.problem.sites}
    assert all(v.site_id != spot for r in rp.routes.values() for v in r.visits)


def test_a_new_task_is_served_inside_its_window(make_ctx):
    ctx = make_ctx()
    lon, lat = ctx.sites[next(iter(ctx.sites))].lonlat
    t = at(ctx, 23, 40)
    ev = Event(time=t, kind="task_added", site_id="bail-1", lon=lon + 0.002, lat=lat, window=(time(0, 30), time(1, 30)),
               dwell_min=10, seq=1)
    st = state_until(ctx, t, [ev])
    rp = replan(ctx, st, t.timestamp(), dict(ctx.morning))
    served = [v for r in rp.routes.values() for v in r.visits if v.site_id == "bail-1"]
    assert len(served) == 1
    assert at(ctx, 0, 30).timestamp() <= served[0].arrive_s <= at(ctx, 1, 20).timestamp()


def test_a_task_that_can_no_longer_be_served_is_named_not_a_failure(make_ctx):
    ctx = make_ctx()
    t = at(ctx, 23, 40)
    ev = Event(time=t, kind="task_added", site_id="too-late", lon=-0.48, lat=52.60,
               window=(time(23, 40), time(23, 52)), dwell_min=10, seq=1)
    st = state_until(ctx, t, [ev])
    rp = replan(ctx, st, t.timestamp(), dict(ctx.morning))
    assert rp.validated
    assert any("too-late" in n for n in rp.notes)

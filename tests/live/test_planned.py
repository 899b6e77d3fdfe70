"""A re-plan written back as a plan (what the tasking room stores as a new version): stops already started
kept, the re-plan's stops after them, the changes numbered as the officer's stops, a valid plan.json."""

from __future__ import annotations

import json

from patrol_planner.live.events import Event
from patrol_planner.live.planned import plan_after_replan, routes_of_plan
from patrol_planner.live.replan import replan
from patrol_planner.plan import Plan

from .test_replan import at, state_until


def test_routes_of_the_plan_are_the_morning_routes(make_ctx):
    ctx = make_ctx()
    routes = routes_of_plan(ctx, json.loads(ctx.plan.to_json()))
    for uid, r in ctx.morning.items():
        stops = next(u for u in ctx.plan.units if u.unit_id == uid).stops
        assert [v.site_id for v in routes[uid].visits] == [s.hotspot_id for s in stops]
        assert abs(routes[uid].visits[0].arrive_s - r.visits[0].arrive_s) < 1.0


def test_a_diversion_becomes_a_plan_with_its_changes(make_ctx):
    ctx = make_ctx()
    parent = json.loads(ctx.plan.to_json())
    unit = sorted(ctx.morning)[0]
    t, until = at(ctx, 23, 20), at(ctx, 3, 30)
    call = ctx.sites[ctx.morning[unit].visits[0].site_id].lonlat
    ev = Event(time=t, kind="status", unit=unit, status="committed", until=until, lon=call[0], lat=call[1], seq=1)
    st = state_until(ctx, t, [ev])
    rp = replan(ctx, st, t.timestamp(), routes_of_plan(ctx, parent))
    plan, changes = plan_after_replan(ctx, parent, rp, st, trigger=f"status {unit}")
    back = Plan.from_dict(json.loads(plan.to_json()))  # a plan.json like any other
    before = next(u for u in ctx.plan.units if u.unit_id == unit)
    after = next(u for u in back.units if u.unit_id == unit)
    past = [s for s in before.stops if s.arrive.timestamp() < t.timestamp()]
    assert [s.hotspot_id for s in after.stops[:len(past)]] == [s.hotspot_id for s in past]
    assert all(s.arrive >= until for s in after.stops[len(past):])
    assert [s.seq for s in after.stops] == list(range(1, len(after.stops) + 1))
    assert changes and changes[0].startswith(f"{unit} (committed to a call until 03:30): its stop")
    assert back.rules["live"]["changes"] == changes and back.rules["live"]["validated"]
    visited = {h for u in back.units for s in u.stops for h in s.covers}
    ids = {h.hotspot_id for h in back.hotspots}
    assert {h.hotspot_id for h in back.hotspots if h.status == "visited"} == visited & ids
    assert back.metrics["visits"] == sum(h.visits for h in back.hotspots)

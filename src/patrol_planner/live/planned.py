"""A live re-plan as a plan: the routes a ``plan.json`` describes as the routes a re-plan starts from, and a
re-plan's routes written back as a new :class:`~patrol_planner.plan.Plan` (the parent plan's stops already
started kept as they were, then the re-plan's stops), with what changed in words, numbered as the officers'
stops. The tasking room stores that plan as a new version (``docs/web.md``).
"""

from __future__ import annotations

import dataclasses
import weakref
from datetime import datetime
from typing import Any

import numpy as np

from patrol_planner.live.context import LiveContext, PlannedVisit, UnitRoute
from patrol_planner.live.replan import Replan, _ranges, _why
from patrol_planner.live.state import LiveState
from patrol_planner.plan import Break, HotspotStatus, Plan, Stop, UnitPlan
from patrol_planner.vocabulary import VISITED, LeftOutReason

#: Decimals of lon/lat in a plan (as the morning plan's).
COORD_DECIMALS = 6


def _t(s: str | None) -> float | None:
    return None if s is None else datetime.fromisoformat(s).timestamp()


def routes_of_plan(ctx: LiveContext, plan: dict[str, Any]) -> dict[str, UnitRoute]:
    """Each unit's route in a parsed ``plan.json`` as the live package's :class:`UnitRoute` (one visit per
    stop, the stop's first hotspot; visit numbers counted over the night in time order). Stops at sites the
    context does not know (none, for a plan of the same scenario) are left out."""
    stops = sorted(((u["id"], s) for u in plan["units"] for s in u["stops"]), key=lambda p: p[1]["arrive"])
    count: dict[str, int] = {}
    visit_no: dict[tuple[str, int], int] = {}
    for uid, s in stops:
        count[s["hotspot_id"]] = count.get(s["hotspot_id"], 0) + 1
        visit_no[(uid, s["seq"])] = count[s["hotspot_id"]]
    out = {}
    for u in plan["units"]:
        uid = u["id"]
        if uid not in ctx.station_nodes:
            continue
        visits = tuple(PlannedVisit(s["hotspot_id"], visit_no[(uid, s["seq"])], float(_t(s["arrive"])),  # type: ignore[arg-type]
                                    float(_t(s["depart"]))) for s in u["stops"] if s["hotspot_id"] in ctx.sites)  # type: ignore[arg-type]
        brk = u.get("breaks") or []
        out[uid] = UnitRoute(uid, _t(u.get("leave")) or _t(u["shift_start"]) or 0.0,  # type: ignore[arg-type]
                             ctx.station_nodes[uid]["start"], visits,
                             _t(u.get("return_arrive")) or _t(u["shift_end"]) or 0.0,  # type: ignore[arg-type]
                             None if not brk else (float(_t(brk[0]["start"])), float(_t(brk[0]["end"]))))  # type: ignore[arg-type]
    return out


#: Road lines of legs already drawn, per network (weakly keyed: gone with the network). A night's re-plans
#: keep most legs, and a shortest-path search per leg was most of the time of writing a re-plan's plan
#: (about 0.3 s of a 150 x 12 re-plan in the tasking room's worker, which keeps the context all night).
_LEG_LINES: weakref.WeakKeyDictionary[Any, dict[tuple[int, int, str], tuple[tuple[float, float], ...]]] = (
    weakref.WeakKeyDictionary())
#: Legs kept per network (a night has a few thousand distinct legs at most).
LEG_LINES_KEPT = 50_000


def _path(ctx: LiveContext, mode: str, a: int, b: int) -> tuple[tuple[float, float], ...]:
    from patrol_planner import network as nw
    from patrol_planner.geo import to_lonlat

    net = ctx.networks[mode]
    memo = _LEG_LINES.setdefault(net, {})
    key = (int(a), int(b), ctx.crs)
    line = memo.get(key)
    if line is None:
        xy = np.asarray(nw.route_geometry(net, int(a), int(b)), dtype=float).reshape(-1, 2)
        lon, lat = to_lonlat(xy[:, 0], xy[:, 1], ctx.crs)
        nd = COORD_DECIMALS
        line = tuple((round(float(x), nd), round(float(y), nd)) for x, y in zip(lon, lat, strict=True))
        if len(memo) < LEG_LINES_KEPT:
            memo[key] = line
    return line


def _new_stops(ctx: LiveContext, rp: Replan, uid: str, first_seq: int, tz: Any) -> tuple[list[Stop], int]:
    """The re-plan's stops of ``uid`` (numbered from ``first_seq``) and the road node it ends at."""
    route = rp.routes[uid]
    mode = ctx.mode_of(uid)
    res = next((r for r in (rp.result.routes if rp.result is not None else ()) if r.unit_id == uid), None)
    legs = {i: (v.travel_s, v.road_m) for i, v in enumerate(res.visits)} if res is not None else {}
    node, out = route.start_node, []
    for i, v in enumerate(route.visits):
        site = ctx.sites[v.site_id]
        nxt = site.nodes[mode]
        travel_s, road_m = legs.get(i, (0.0, 0.0))
        out.append(Stop(seq=first_seq + i, hotspot_id=v.site_id, visit_no=v.visit_no,
                        arrive=datetime.fromtimestamp(v.arrive_s, tz), depart=datetime.fromtimestamp(v.depart_s, tz),
                        lon=round(site.lonlat[0], COORD_DECIMALS), lat=round(site.lonlat[1], COORD_DECIMALS),
                        prize=round(site.prize * site.repeat_factor ** (v.visit_no - 1), 4), travel_s=float(travel_s),
                        road_m=float(road_m), path_lonlat=_path(ctx, mode, node, nxt), kind=site.kind,
                        label="" if site.kind == "hotspot" else ("task" if site.kind == "task"
                                                                  else "intelligence-led visit")))
        node = nxt
    return out, node


def _unit_after(ctx: LiveContext, u: UnitPlan, rp: Replan, now_s: float, tz: Any) -> UnitPlan:
    """The unit's plan: its stops already started as they were, then the re-plan's."""
    past = [s for s in u.stops if s.arrive.timestamp() < now_s]
    breaks = tuple(b for b in u.breaks if b.start.timestamp() < now_s)
    route = rp.routes.get(u.unit_id)
    if route is None or not route.visits and route.return_s <= now_s:  # no route: off duty, or committed
        return dataclasses.replace(u, stops=tuple(past), breaks=breaks, return_path_lonlat=(), return_travel_s=0.0,
                                   return_road_m=0.0, return_arrive=None)
    new, node = _new_stops(ctx, rp, u.unit_id, len(past) + 1, tz)
    mode = ctx.mode_of(u.unit_id)
    end = ctx.station_nodes[u.unit_id]["end"]
    res = next((r for r in (rp.result.routes if rp.result is not None else ()) if r.unit_id == u.unit_id), None)
    if route.break_s is not None:
        b0, b1 = (datetime.fromtimestamp(x, tz) for x in route.break_s)
        breaks = (*breaks, Break(b0, b1))
    return dataclasses.replace(
        u, stops=(*past, *new), breaks=breaks, return_arrive=datetime.fromtimestamp(route.return_s, tz),
        return_path_lonlat=_path(ctx, mode, node, end),
        return_travel_s=float(res.return_travel_s) if res is not None else 0.0,
        return_road_m=float(res.return_road_m) if res is not None else 0.0)


def explain_moves(parent: Plan, units: dict[str, UnitPlan], now_s: float, state: LiveState) -> list[str]:
    """One sentence per unit whose stops still to come moved, numbered as on its route in ``parent``:
    "RU-A2 (committed to a call until 01:10): its stops 4-6 moved to RU-B1"."""
    owner: dict[str, str] = {}
    for uid, u in units.items():
        for s in u.stops:
            if s.arrive.timestamp() >= now_s:
                for h in s.covers:
                    owner.setdefault(h, uid)
    lines = []
    for u in parent.units:
        mine = {h for s in units[u.unit_id].stops for h in s.covers} if u.unit_id in units else set()
        moved: dict[str, list[int]] = {}
        for s in u.stops:
            if s.arrive.timestamp() >= now_s and s.hotspot_id not in mine:
                moved.setdefault(owner.get(s.hotspot_id, "nobody"), []).append(s.seq)
        if moved:
            parts = [f"stop{'s' if len(ix) > 1 else ''} {_ranges(ix)} "
                     f"{'dropped' if o == 'nobody' else 'moved to ' + o}" for o, ix in sorted(moved.items())]
            lines.append(f"{u.unit_id} ({_why(state, u.unit_id)}): its " + "; ".join(parts))
    return lines


def _hotspots(parent: Plan, units: tuple[UnitPlan, ...]) -> tuple[HotspotStatus, ...]:
    visits: dict[str, int] = {}
    for u in units:
        for s in u.stops:
            for h in s.covers:
                visits[h] = visits.get(h, 0) + 1
    out = []
    for h in parent.hotspots:
        n = visits.get(h.hotspot_id, 0)
        if n:
            out.append(dataclasses.replace(h, visits=n, status=VISITED, reason=""))
        elif h.status == VISITED:  # dropped by the re-plan: the rest of the night had better uses of the time
            out.append(dataclasses.replace(h, visits=0, status=LeftOutReason.NOT_WORTH_IT.value,
                                           reason=LeftOutReason.NOT_WORTH_IT.text))
        else:
            out.append(h)
    return tuple(out)


def plan_after_replan(ctx: LiveContext, parent: dict[str, Any], rp: Replan, state: LiveState, *,
                      trigger: str = "") -> tuple[Plan, list[str]]:
    """The plan after re-plan ``rp`` of the parent ``plan.json`` (parsed), and its changes in words.

    ``rules["live"]`` records when and why (the trigger, the changes, the re-plan's notes, spots whose dose
    is in, spots cancelled, the share of stops kept, validated); metrics are recomputed from the stops.
    """
    base = Plan.from_dict(parent)
    tz = ctx.clock.t0.tzinfo
    now_s = rp.at_s
    units = tuple(_unit_after(ctx, u, rp, now_s, tz) for u in base.units)
    changes = explain_moves(base, {u.unit_id: u for u in units}, now_s, state)
    hotspots = _hotspots(base, units)
    m = dict(base.metrics)
    m.update(hotspots_visited=sum(h.status == VISITED for h in hotspots),
             visits=sum(h.visits for h in hotspots), harm_covered=round(sum(u.harm_covered for u in units), 3),
             road_km=round(sum(u.road_m for u in units) / 1000, 2),
             travel_min=round(sum(u.travel_s for u in units) / 60, 1),
             idle_min=round(sum(u.idle_s for u in units) / 60, 1))
    rules = dict(base.rules)
    rules["live"] = {"at": datetime.fromtimestamp(now_s, tz).isoformat(), "trigger": trigger, "changes": changes,
                     "notes": list(rp.notes), "dose_delivered": sorted(rp.removed_dose),
                     "cancelled": sorted(state.cancelled), "validated": bool(rp.validated),
                     "stops_kept_share": None if rp.kept_share is None else round(rp.kept_share, 4),
                     "cover": list(rp.cover),
                     "units": {uid: _why(state, uid) for uid in sorted(state.units)}}
    prov = dict(base.provenance)
    prov["ran"] = {**prov.get("ran", {}), "live_replan": {
        "search": "construction and ruin-and-recreate from the current routes (patrol_planner.live.replan)",
        "solver": (rp.result.stats.get("solver") if rp.result is not None else None), "checked_by": "routing.validate"}}
    return dataclasses.replace(base, units=units, hotspots=hotspots, metrics=m, rules=rules, provenance=prov), changes

"""Replay a night offline, deterministically: every event in time order, a re-plan where one is due, in two
worlds under the same events:

* **live**: the units follow the latest re-plan (:func:`.replan.replan`); their positions are simulated along
  those routes (:mod:`.movement`), since nobody drove routes that were never issued;
* **static**: the units follow the morning plan and simply skip what they miss: after a call (or a
  cancelled spot) a unit goes on with the first stop it can still reach by its planned time; its positions
  are the event file's where the file has them for that unit, else simulated the same way.

Both worlds measure dose and visits from their positions with the same code (:mod:`.dose`), and harm
delivered counts visits with at least :data:`~.state.DELIVERED_SHARE` of their dwell present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from patrol_planner.live.context import LiveContext, UnitRoute
from patrol_planner.live.eventfile import EventLog
from patrol_planner.live.events import REPLAN_KINDS, Event, UnitStatus
from patrol_planner.live.movement import Itinerary, Roads, itinerary, pings
from patrol_planner.live.replan import LIVE_LNS_ITERATIONS, Replan, replan
from patrol_planner.live.state import LiveState, harm_delivered

#: Seconds between simulated pings.
PING_S = 10.0


@dataclass
class World:
    """One way of running the night: its state, the routes its units follow and their movement."""

    name: str
    state: LiveState
    routes: dict[str, UnitRoute]
    itins: dict[str, Itinerary] = field(default_factory=dict)


@dataclass
class ReplayResult:
    """What a replay produced (see :mod:`.outputs` for the files)."""

    timeline: list[dict[str, Any]]
    replans: list[Replan]
    live: World
    static: World
    harm_live: float
    harm_static: float
    visits_live: dict[str, int]
    visits_static: dict[str, int]
    quarantine: Any
    ctx: LiveContext


def night_bounds(ctx: LiveContext) -> tuple[float, float]:
    """First leave and last shift end of the night [s since epoch]."""
    start = min(r.ready_s for r in ctx.morning.values())
    end = max(ctx.epoch_s(u.shift_end_s) for u in ctx.problem.units)
    return start, end


def _new_world(ctx: LiveContext, name: str, roads: Roads) -> World:
    w = World(name, LiveState(ctx), dict(ctx.morning))
    for uid, r in w.routes.items():
        w.itins[uid] = itinerary(ctx, roads, r, r.ready_s - 600.0)
    return w


def _advance(ctx: LiveContext, w: World, t_from: float, t_to: float, seed: int,
             file_pos: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None,
             record: list[Any] | None = None) -> None:
    """Positions of every unit in ``(t_from, t_to]`` into the world's state."""
    k0, k1 = int(np.floor(t_from / PING_S)) + 1, int(np.floor(t_to / PING_S))
    grid = np.arange(k0, k1 + 1, dtype=float) * PING_S
    us, ts, los, las = [], [], [], []
    for uid, it in w.itins.items():
        if file_pos is not None and uid in file_pos:
            t, lo, la = file_pos[uid]
            sel = (t > t_from) & (t <= t_to)
            t, lo, la = t[sel], lo[sel], la[sel]
        elif grid.size:
            t, lo, la = pings(ctx, it, grid, seed)
        else:
            continue
        us.append(np.full(t.size, uid, dtype=object))
        ts.append(t)
        los.append(lo)
        las.append(la)
    if us:
        w.state.add_positions(np.concatenate(us), np.concatenate(ts), np.concatenate(los), np.concatenate(las))
        if record is not None:
            record.extend(zip(np.concatenate(us), np.concatenate(ts), np.concatenate(los), np.concatenate(las),
                              strict=True))
    assert w.state.dose is not None
    w.state.dose.close_stale(t_to)
    w.state.now_s = max(w.state.now_s, t_to)


def _position_node(ctx: LiveContext, w: World, uid: str, t: float) -> int:
    mode = ctx.mode_of(uid)
    xy = w.itins[uid].xy_at(np.array([t]))[0]
    if not np.isfinite(xy[0]):
        return ctx.station_nodes[uid]["end"]
    from patrol_planner.geo import to_lonlat

    lo, la = to_lonlat(np.array([xy[0]]), np.array([xy[1]]), ctx.crs)
    return int(ctx.snap(mode, lo, la)[0])


def _static_route(ctx: LiveContext, roads: Roads, w: World, uid: str, from_node: int, from_s: float) -> UnitRoute:
    """The morning route from ``from_s`` at ``from_node``: stops it can still reach by their planned times and
    that are not cancelled."""
    m = ctx.morning[uid]
    mode = ctx.mode_of(uid)
    keep = []
    for v in m.visits:
        if v.site_id in w.state.cancelled:
            continue
        _, _, dur = roads.leg(mode, from_node, ctx.sites[v.site_id].nodes[mode])
        if not keep and v.arrive_s < from_s + dur:
            continue
        keep.append(v)
    brk = m.break_s if m.break_s is not None and m.break_s[0] >= from_s else None
    return UnitRoute(uid, from_s, from_node, tuple(keep), m.return_s, brk)


def _static_event(ctx: LiveContext, roads: Roads, w: World, ev: Event, t: float) -> None:
    """How a static unit reacts: a call takes it away, then it resumes the morning plan; off duty stops it."""
    live = w.state.units.get(ev.unit or "")
    if ev.kind == "status" and live is not None:
        uid = live.unit_id
        node = _position_node(ctx, w, uid, t)
        if live.status is UnitStatus.off_duty:
            w.itins[uid].end_s = t
        elif live.status is UnitStatus.committed:
            call = node if live.call_lonlat is None else int(ctx.snap(ctx.mode_of(uid), [live.call_lonlat[0]],
                                                                      [live.call_lonlat[1]])[0])
            until = live.until_s if live.until_s is not None else np.inf
            if np.isfinite(until):
                _, _, dur = roads.leg(ctx.mode_of(uid), node, call)
                r = _static_route(ctx, roads, w, uid, call, max(until, t + dur))
            else:
                r = UnitRoute(uid, np.inf, call, (), np.inf, None)
            w.routes[uid] = r
            w.itins[uid] = itinerary(ctx, roads, r, t, hold=(call, until) if np.isfinite(until) else (call, 1e18),
                                     from_node=node)
        else:  # available again
            r = _static_route(ctx, roads, w, uid, node, t)
            w.routes[uid], w.itins[uid] = r, itinerary(ctx, roads, r, t, from_node=node)
    elif ev.kind in ("spot_cancelled", "task_cancelled"):
        for uid, r in list(w.routes.items()):
            if any(v.site_id == ev.site_id and v.arrive_s >= t for v in r.visits):
                node = _position_node(ctx, w, uid, t)
                nr = _static_route(ctx, roads, w, uid, node, t)
                w.routes[uid], w.itins[uid] = nr, itinerary(ctx, roads, nr, t, from_node=node)


def _live_replan(ctx: LiveContext, roads: Roads, w: World, ev: Event, t: float, seed: int, iterations: int) -> Replan:
    rp = replan(ctx, w.state, t, w.routes, trigger=f"{ev.kind} {ev.unit or ev.site_id or ''}".strip(), seed=seed,
                iterations=iterations)
    for uid, r in rp.routes.items():
        live = w.state.units[uid]
        if live.status is UnitStatus.off_duty:
            w.itins[uid].end_s = min(w.itins[uid].end_s, t)
            continue
        node = _position_node(ctx, w, uid, t)
        hold = None
        if live.status is UnitStatus.committed and live.call_lonlat is not None:
            call = int(ctx.snap(ctx.mode_of(uid), [live.call_lonlat[0]], [live.call_lonlat[1]])[0])
            hold = (call, live.until_s if live.until_s is not None else 1e18)
            r = UnitRoute(uid, r.ready_s, call, r.visits, r.return_s, r.break_s)
        w.itins[uid] = itinerary(ctx, roads, r, t, hold=hold, from_node=node)
    w.routes = rp.routes
    return rp


def run_replay(ctx: LiveContext, log: EventLog, *, seed: int = 0, iterations: int = LIVE_LNS_ITERATIONS,
               progress: Any = None) -> ReplayResult:
    """Replay the events of ``log`` over the night of ``ctx`` in the live and the static world."""
    roads = Roads(ctx)
    start, end = night_bounds(ctx)
    live, static = _new_world(ctx, "live", roads), _new_world(ctx, "static", roads)
    file_pos = _file_positions(log.events)
    control = [e for e in log.events if e.kind != "position"]
    timeline: list[dict[str, Any]] = []
    replans: list[Replan] = []
    t_prev = start - PING_S
    tz = ctx.clock.t0.tzinfo
    for ev in control:
        t = ev.time.timestamp()
        for w, fp in ((live, None), (static, file_pos or None)):
            _advance(ctx, w, t_prev, t, seed, fp)
        t_prev = max(t_prev, t)
        text = live.state.apply(ev)
        static.state.apply(ev)
        _static_event(ctx, roads, static, ev, t)
        row = {"time": datetime.fromtimestamp(t, tz).isoformat(), "kind": ev.kind, "unit": ev.unit or "",
               "site_id": ev.site_id or "", "what": text}
        if ev.kind in REPLAN_KINDS:
            rp = _live_replan(ctx, roads, live, ev, t, seed, iterations)
            replans.append(rp)
            row.update(replan=len(replans), replan_wall_s=round(rp.wall_s, 3), replan_cpu_s=round(rp.cpu_s, 3),
                       stops_kept_share=None if rp.kept_share is None else round(rp.kept_share, 4),
                       changes=" | ".join(rp.changes), notes=" | ".join(rp.notes))
            if progress:
                progress(f"re-plan {len(replans)} at {datetime.fromtimestamp(t, tz):%H:%M} ({ev.kind}): "
                         f"{rp.wall_s:.2f} s wall, {rp.cpu_s:.2f} s CPU")
        timeline.append(row)
    for w, fp in ((live, None), (static, file_pos or None)):
        _advance(ctx, w, t_prev, end, seed, fp)
        assert w.state.dose is not None
        w.state.dose.close_stale(np.inf)
    hl, vl = harm_delivered(ctx, live.state.dose.stays())  # type: ignore[union-attr]
    hs, vs = harm_delivered(ctx, static.state.dose.stays())  # type: ignore[union-attr]
    return ReplayResult(timeline, replans, live, static, hl, hs, vl, vs, log.quarantine, ctx)


def _file_positions(events: tuple[Event, ...]) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    by: dict[str, list[tuple[float, float, float]]] = {}
    for e in events:
        if e.kind == "position" and e.unit is not None:
            by.setdefault(e.unit, []).append((e.time.timestamp(), float(e.lon), float(e.lat)))  # type: ignore[arg-type]
    return {u: tuple(np.asarray(c, float) for c in zip(*v, strict=True)) for u, v in by.items()}  # type: ignore[misc]


def run_static_positions(ctx: LiveContext, log: EventLog, *, seed: int = 0) -> list[tuple[str, float, float, float]]:
    """The static world's pings under the control events of ``log``: (unit, t_s, lon, lat), in time order."""
    roads = Roads(ctx)
    start, end = night_bounds(ctx)
    w = _new_world(ctx, "static", roads)
    out: list[Any] = []
    t_prev = start - PING_S
    for ev in (e for e in log.events if e.kind != "position"):
        t = ev.time.timestamp()
        _advance(ctx, w, t_prev, t, seed, None, out)
        t_prev = max(t_prev, t)
        w.state.apply(ev)
        _static_event(ctx, roads, w, ev, t)
    _advance(ctx, w, t_prev, end, seed, None, out)
    return sorted(out, key=lambda r: (r[1], r[0]))

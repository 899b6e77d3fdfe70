"""Re-plan from now: the rest of the night from the live state, keeping what still fits.

Each unit starts from where it is now (a committed unit from its call's place when it clears; a unit in the
middle of a visit finishes it first; a unit still at its station keeps its morning leave time); visits made
and dose delivered are kept (a site gets only its remaining visits, the first worth ``prize *
repeat_factor ** done``, no sooner than ``min_gap_s`` after the last; a spot whose dose is delivered, or that
is cancelled, leaves the routes); the meal break stays due until taken. The previous routes' future stops are
the stable re-plan's keep pairs (:meth:`routing.PatrolProblem.add_keep`), so the search starts from them and
changes a unit's stops only when that raises harm covered. A short deterministic ruin-and-recreate search
(``LIVE_LNS_ITERATIONS`` iterations, one process) keeps a re-plan within about a second or two of CPU, and
every plan goes through the independent validator (:func:`routing.validate`).

Travel: the morning's matrices, extended by one row and column per unit position and per site added tonight
(one Dijkstra each way per new place).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from patrol_planner.live.context import LiveContext, PlannedVisit, SiteInfo, UnitRoute
from patrol_planner.live.events import UnitStatus
from patrol_planner.live.state import GAP_SLACK_S, LiveState, visit_start_s

#: Ruin-and-recreate iterations of a live re-plan (deterministic; the search starts from the current routes).
LIVE_LNS_ITERATIONS = 20
#: A kept stop is worth this share of its site's (remaining) prize more with its unit: a re-plan moves a stop to
#: another unit only when that raises harm covered by more, so officers' routes stay put (the stable re-plan's
#: own bonus, a shift's travel cost, is far smaller than one visit's time-of-day weighting).
KEEP_PRIZE_SHARE = 0.3
#: Wall-clock cap of one re-plan's search [s]: only a runaway search on a starved machine reaches it.
LIVE_TIME_CAP_S = 20.0


@dataclass(frozen=True)
class UnitStart:
    """Where and when a unit can start its new route: a place (a base location row or lon/lat), the time
    [s since epoch], and the break still due (length [s], window [s since epoch]) or None."""

    unit_id: str
    ready_s: float
    location: int | None
    lonlat: tuple[float, float] | None
    break_len_s: float
    break_window: tuple[float, float] | None
    finishing: str | None = None  # the site whose visit it finishes first


@dataclass
class Replan:
    """One re-plan: its routes, the routing problem and result, timings and what changed."""

    at_s: float
    trigger: str
    routes: dict[str, UnitRoute]
    problem: Any
    result: Any
    wall_s: float
    cpu_s: float
    stops_before: int
    stops_kept: int
    validated: bool
    notes: list[str] = field(default_factory=list)
    removed_dose: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    cover: list[dict[str, Any]] = field(default_factory=list)  # the morning's cover rules now (live.cover)

    @property
    def kept_share(self) -> float | None:
        """Share of the previous routes' future stops still with the same unit (None when there were none)."""
        return None if self.stops_before == 0 else self.stops_kept / self.stops_before


def replan(ctx: LiveContext, state: LiveState, now_s: float, current: dict[str, UnitRoute], *, trigger: str = "",
           seed: int = 0, iterations: int = LIVE_LNS_ITERATIONS) -> Replan:
    """Re-plan the rest of the night at ``now_s`` [s since epoch] from ``state`` and the routes being followed."""
    from patrol_planner import routing as rt

    wall0, cpu0 = time.perf_counter(), time.process_time()
    notes: list[str] = []
    starts = {}
    for uid in (u.unit_id for u in ctx.units):
        st, why = unit_start(ctx, state, uid, now_s, current.get(uid))
        if st is None:
            notes.append(f"{uid}: {why}")
        else:
            starts[uid] = st
    open_sites, removed = open_sites_now(ctx, state, now_s, starts)
    problem, rows, cover = _problem_with_cover(ctx, state, starts, open_sites, now_s, current)
    bad = rt.required_problems(problem) if problem.units else []
    if bad:  # a task that can no longer be served is named and left out, never a failed re-plan
        notes += [f"task left out: {line}" for line in bad]
        drop = {s.site_id for s in problem.sites if s.required and any(f"'{s.site_id}'" in b for b in bad)}
        open_sites = {k: v for k, v in open_sites.items() if k not in drop}
        problem, rows, cover = _problem_with_cover(ctx, state, starts, open_sites, now_s, current)
    result = None
    if problem.units:
        params = rt.SolveParams(search="lns", lns_iterations=iterations, workers=1, deterministic=True, seed=seed,
                                time_limit_s=LIVE_TIME_CAP_S, travel_weight_per_s=ctx.travel_weight_per_s)
        problem, rows, result, cover = _solve_best(ctx, state, starts, open_sites, now_s, current, problem, rows,
                                                   params, notes, cover)
        rt.validate(problem, result)  # solve validated it; checked again here so no live plan skips it
    from patrol_planner.live.cover import least_units

    cover = least_units(problem, result, cover, ctx, now_s)
    tz = ctx.clock.t0.tzinfo
    notes += [c.note(tz) for c in cover if c.note(tz)]
    routes = routes_from_result(ctx, state, problem, result, starts, rows, now_s)
    before, kept, changes = _changes(current, routes, now_s, state, starts)
    return Replan(at_s=now_s, trigger=trigger, routes=routes, problem=problem, result=result,
                  wall_s=time.perf_counter() - wall0, cpu_s=time.process_time() - cpu0, stops_before=before,
                  stops_kept=kept, validated=result is not None, notes=notes, removed_dose=removed, changes=changes,
                  cover=[c.record() for c in cover])


def _problem_with_cover(ctx: LiveContext, state: LiveState, starts: dict[str, UnitStart],
                        sites: dict[str, dict[str, Any]], now_s: float,
                        current: dict[str, UnitRoute]) -> tuple[Any, dict[str, int], list[Any]]:
    """The re-plan's problem with the morning's cover rules carried in (:mod:`.cover`)."""
    from patrol_planner.live.cover import add_live_cover

    problem, rows = build_problem(ctx, starts, sites, now_s, current)
    cover = add_live_cover(ctx, problem, state, now_s) if problem.units and ctx.problem.covers else []
    return problem, rows, cover


def _solve_best(ctx: LiveContext, state: LiveState, starts: dict[str, UnitStart], open_sites: dict[str, Any],
                now_s: float, current: dict[str, UnitRoute], problem: Any, rows: dict[str, int], params: Any,
                notes: list[str], cover: list[Any]) -> tuple[Any, dict[str, int], Any, list[Any]]:
    """Solve; when the routes as they were leave no room for a task, start without them; when cover and the
    tasks cannot both be kept, keep the tasks and say so; last, name the tasks that cannot be served and leave
    them out. Returns the problem solved, its rows, the result and the cover outcomes."""
    from patrol_planner import routing as rt
    from patrol_planner.errors import PlanValidationError, TaskInfeasibleError

    try:
        return problem, rows, rt.solve(problem, params), cover
    except TaskInfeasibleError:
        problem.seed_routes.clear()
    except PlanValidationError:  # only a cover rule the search could not keep can get here
        if not problem.covers:
            raise
    if problem.covers:
        try:
            return problem, rows, rt.solve(problem, params), cover
        except (TaskInfeasibleError, PlanValidationError):
            problem, rows = build_problem(ctx, starts, open_sites, now_s, current)
            problem.seed_routes.clear()
            cover = _without(cover)
    try:
        return problem, rows, rt.solve(problem, params), cover
    except TaskInfeasibleError as exc:  # last resort: name the tasks and leave them out
        drop = {x.site_id for x in problem.sites if x.required and f"'{x.site_id}'" in str(exc)}
        notes += [f"task left out: {sid} cannot be served with the other tasks" for sid in sorted(drop)]
        open_sites = {k: v for k, v in open_sites.items() if k not in drop}
        dropped = bool(problem.covers)
        problem, rows = build_problem(ctx, starts, open_sites, now_s, current)
        return problem, rows, rt.solve(problem, params), _without(cover) if dropped else cover


def _without(cover: list[Any]) -> list[Any]:
    """The cover outcomes when the rules had to go for the tasks to be served."""
    from dataclasses import replace

    return [replace(c, designated=(), from_s=None, cannot=(("", "not with the tasks as well"),)) for c in cover]


def unit_start(ctx: LiveContext, state: LiveState, uid: str, now_s: float,
               route: UnitRoute | None) -> tuple[UnitStart | None, str]:
    """Where and when ``uid`` starts its new route, or None and why it gets none."""
    live = state.units[uid]
    base = ctx.problem.unit_by_id(uid)
    shift_end = ctx.epoch_s(base.shift_end_s)
    if live.status is UnitStatus.off_duty:
        return None, "off duty"
    if live.status is UnitStatus.committed and live.until_s is None:
        return None, "committed until cleared"
    brk = route.break_s if route is not None else None
    location: int | None = None
    lonlat: tuple[float, float] | None = None
    finishing = None
    if live.status is UnitStatus.committed:
        ready = max(now_s, float(live.until_s))  # type: ignore[arg-type]
        lonlat = live.call_lonlat or _where(state, uid)
        if lonlat is None:  # no call place and no position yet: it clears where it set off from
            location = base.start.location
    elif route is not None and now_s < route.ready_s and state.position(uid) is None:
        ready, location = route.ready_s, base.start.location  # not left yet: from the station, as planned
    else:
        stay = state.in_progress(uid, route)
        if stay is not None and stay.site_id in ctx.sites:
            site = ctx.sites[stay.site_id]
            ready, finishing = max(now_s, stay.start_s + site.dwell_s), stay.site_id
            location, lonlat = site.location, (None if site.location is not None else site.lonlat)
        else:
            ready = now_s
            pos = state.position(uid)
            if pos is None:
                location = base.start.location
            else:
                lonlat = (pos[1], pos[2])
    blen, bwin = 0.0, None
    if brk is not None and brk[1] > ready:
        if brk[0] <= now_s < brk[1] and live.status is UnitStatus.available and finishing is None:
            ready = brk[1]  # on its break now: it finishes it
        else:
            b0, b1 = (ctx.epoch_s(x) for x in base.break_bounds_s)
            w0 = max(b0, ready)
            w1 = max(b1, w0 + base.break_s)
            if w1 <= shift_end:
                blen, bwin = base.break_s, (w0, w1)
    if ready + blen >= shift_end:
        return None, "shift over"
    return UnitStart(uid, ready, location, lonlat, blen, bwin, finishing), ""


def _where(state: LiveState, uid: str) -> tuple[float, float] | None:
    pos = state.position(uid)
    return None if pos is None else (pos[1], pos[2])


def open_sites_now(ctx: LiveContext, state: LiveState, now_s: float,
                   starts: dict[str, UnitStart]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The sites still to visit with their routing keywords (routing seconds), and those whose dose is in."""
    out: dict[str, dict[str, Any]] = {}
    removed = []
    finishing = {s.finishing for s in starts.values() if s.finishing}
    now_r = ctx.routing_s(now_s)
    for sid, site in ctx.sites.items():
        if sid in state.cancelled:
            continue
        visits = state.visits_delivered(site)
        done = len(visits) + (1 if sid in finishing and not any(v.end_s >= now_s - 60 for v in visits) else 0)
        if state.delivered(site):
            removed.append(sid)
            continue
        left = site.max_visits - done
        if left <= 0:
            continue
        kw = _site_keywords(site, done, visits, now_r, ctx)
        if kw is not None:
            out[sid] = kw
    return out, removed


def _site_keywords(site: SiteInfo, done: int, visits: list[Any], now_r: float,
                   ctx: LiveContext) -> dict[str, Any] | None:
    tw = site.time_window_s
    if done and visits:
        open_r = ctx.routing_s(max(visit_start_s(v, site) for v in visits)) + max(0.0, site.min_gap_s - GAP_SLACK_S)
        tw = (max(open_r, tw[0]) if tw else open_r, tw[1] if tw else math.inf)
    if tw is not None:
        if tw[1] < now_r:
            return None  # its window has passed
        tw = (max(tw[0], now_r), tw[1])
        if math.isinf(tw[1]):  # no closing time of its own: the end of the night
            tw = (tw[0], max(u.shift_end_s for u in ctx.problem.units))
        if tw[1] < tw[0]:
            return None
    return {"prize": site.prize * site.repeat_factor ** done, "dwell_s": site.dwell_s,
            "max_visits": site.max_visits - done, "min_gap_s": site.min_gap_s,
            "repeat_factor": site.repeat_factor, "prize_windows": list(site.prize_windows),
            "time_window_s": tw, "required": site.required,
            "allowed_units": None if site.allowed_units is None else sorted(site.allowed_units),
            "blocked_s": list(site.blocked_s), "_done": done}


def _extra_places(ctx: LiveContext, starts: dict[str, UnitStart],
                  sites: dict[str, dict[str, Any]]) -> list[tuple[str, tuple[float, float]]]:
    """Places without a row in the morning matrices: unit positions and sites added tonight."""
    extra = [(f"unit:{u}", s.lonlat) for u, s in starts.items() if s.location is None and s.lonlat is not None]
    extra += [(f"site:{k}", ctx.sites[k].lonlat) for k in sites if ctx.sites[k].location is None]
    return extra


def _matrices(ctx: LiveContext, extra: list[tuple[str, tuple[float, float]]],
              sites: dict[str, dict[str, Any]]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The morning matrices with a row and column per extra place, per mode."""
    from patrol_planner import network as nw

    T, D = {}, {}
    base_T, base_D = ctx.problem.travel_time_s, ctx.problem.distance_m
    for m, net in ctx.networks.items():
        if not extra:
            T[m], D[m] = base_T[m], base_D[m]
            continue
        nodes = []
        for key, ll in extra:
            sid = key[5:] if key.startswith("site:") else None
            nodes.append(ctx.sites[sid].nodes[m] if sid else int(ctx.snap(m, [ll[0]], [ll[1]])[0]))
        e = np.asarray(nodes, dtype=np.int64)
        b = ctx.node_ids[m]
        tr, dr = nw.travel_matrix(net, e, np.concatenate([b, e]))
        tc, dc = nw.travel_matrix_to(net, b, e)
        T[m] = np.block([[base_T[m], tc], [tr]])
        D[m] = np.block([[base_D[m], dc], [dr]])
        for M in (T[m], D[m]):
            n0 = len(b)
            M[n0:, n0:][np.arange(len(e)), np.arange(len(e))] = 0.0
    return T, D


def build_problem(ctx: LiveContext, starts: dict[str, UnitStart], sites: dict[str, dict[str, Any]], now_s: float,
                  current: dict[str, UnitRoute]) -> tuple[Any, dict[str, int]]:
    """The routing problem of the rest of the night; returns it and the matrix row of every site."""
    from patrol_planner import routing as rt

    extra = _extra_places(ctx, starts, sites)
    T, D = _matrices(ctx, extra, sites)
    n0 = ctx.problem.n_locations
    row_of = {key: n0 + i for i, (key, _) in enumerate(extra)}
    p = rt.PatrolProblem(travel_time_s=T, distance_m=D)
    st_handles = {s.name: p.add_station(s.location, name=s.name) for s in ctx.problem.stations}
    rows: dict[str, int] = {}
    for sid, kw in sites.items():
        site = ctx.sites[sid]
        rows[sid] = site.location if site.location is not None else row_of[f"site:{sid}"]
        p.add_site(rows[sid], site_id=sid, **{k: v for k, v in kw.items() if not k.startswith("_")})
    for uid, s in starts.items():
        base = ctx.problem.unit_by_id(uid)
        loc = s.location if s.location is not None else row_of[f"unit:{uid}"]
        start = p.add_station(loc, name=f"{uid} now")
        ready = ctx.routing_s(s.ready_s)
        leave = base.earliest_leave_s if s.location == base.start.location and ready < base.leave_min_s else None
        bw = None if s.break_window is None else tuple(ctx.routing_s(x) for x in s.break_window)
        try:
            p.add_unit(unit_id=uid, mode=base.mode, start=start, end=st_handles[base.end.name], shift_start_s=ready,
                       shift_end_s=base.shift_end_s, earliest_leave_s=leave, break_s=s.break_len_s,
                       break_window_s=bw, max_radius_m=None)
        except Exception:  # the way home no longer fits: the unit heads back (routing.RoutingError)
            continue
    _keep_current(p, ctx, current, now_s, starts)
    return p, rows


def _keep_current(p: Any, ctx: LiveContext, current: dict[str, UnitRoute], now_s: float,
                  starts: dict[str, UnitStart]) -> None:
    """The current routes' future stops as keep pairs, in route order (the stable re-plan's bonus), and as the
    routes the search starts from; the visit a unit is finishing is not one of them."""
    horizon = max((u.shift_end_s - u.shift_start_s for u in p.units), default=0.0)
    travel_bonus = ctx.travel_weight_per_s * horizon
    sites = {s.site_id: s for s in p.sites}
    units = {u.unit_id for u in p.units}
    for uid, r in current.items():
        if uid not in units:
            continue
        fin = starts[uid].finishing
        seq = [v for v in r.visits if v.arrive_s >= now_s and v.site_id in sites]
        if fin is not None:  # the visit in progress is being finished, not planned again
            k = next((i for i, v in enumerate(seq) if v.site_id == fin and v.arrive_s <= starts[uid].ready_s), None)
            seq = seq if k is None else seq[:k] + seq[k + 1:]
        for v in seq:
            if (v.site_id, uid) not in p.keep_bonus:
                p.add_keep(v.site_id, uid, max(travel_bonus, KEEP_PRIZE_SHARE * sites[v.site_id].prize))
        # the search starts from the route as it is, visit for visit, each at its time of day
        brk = None if r.break_s is None else sum(1 for v in seq if v.arrive_s < r.break_s[0])
        p.add_seed_route(uid, [v.site_id for v in seq], [ctx.routing_s(v.arrive_s) for v in seq], brk)


def routes_from_result(ctx: LiveContext, state: LiveState, problem: Any, result: Any, starts: dict[str, UnitStart],
                       rows: dict[str, int], now_s: float) -> dict[str, UnitRoute]:
    """Each unit's new route (epoch seconds, visit numbers over the whole night)."""
    done = {s.site_id: len(state.visits_delivered(ctx.sites[s.site_id])) for s in problem.sites}
    out: dict[str, UnitRoute] = {}
    by_unit = {r.unit_id: r for r in result.routes} if result is not None else {}
    for u in ctx.units:
        uid = u.unit_id
        mode = ctx.mode_of(uid)
        r = by_unit.get(uid)
        if r is None:
            pos = state.position(uid)
            node = ctx.station_nodes[uid]["end"] if pos is None else int(ctx.snap(mode, [pos[1]], [pos[2]])[0])
            out[uid] = UnitRoute(uid, now_s, node, (), now_s, None)
            continue
        pu = problem.unit_by_id(uid)
        start_node = _node_of_row(ctx, problem, pu.start.location, mode, starts[uid])
        visits = tuple(PlannedVisit(v.site_id, done.get(v.site_id, 0) + v.visit_no, ctx.epoch_s(v.arrive_s),
                                    ctx.epoch_s(v.depart_s)) for v in r.visits)
        brk = None if r.break_interval_s is None else (ctx.epoch_s(r.break_interval_s[0]),
                                                       ctx.epoch_s(r.break_interval_s[1]))
        out[uid] = UnitRoute(uid, ctx.epoch_s(pu.leave_min_s), start_node, visits, ctx.epoch_s(r.return_s), brk)
    return out


def _node_of_row(ctx: LiveContext, problem: Any, row: int, mode: str, start: UnitStart) -> int:
    if row < len(ctx.node_ids[mode]):
        return int(ctx.node_ids[mode][row])
    assert start.lonlat is not None
    return int(ctx.snap(mode, [start.lonlat[0]], [start.lonlat[1]])[0])


def _changes(current: dict[str, UnitRoute], new: dict[str, UnitRoute], now_s: float,
             state: LiveState, starts: dict[str, UnitStart]) -> tuple[int, int, list[str]]:
    """Future stops before, how many stayed with their unit (a visit being finished stays), and one sentence
    per unit whose stops moved."""
    owner = {}
    for uid, r in new.items():
        for v in r.visits:
            owner.setdefault(v.site_id, uid)
    before = kept = 0
    lines = []
    for uid, r in current.items():
        fut = [(i, v) for i, v in enumerate(r.visits, start=1) if v.arrive_s >= now_s]
        before += len(fut)
        new_ids = {v.site_id for v in new.get(uid, UnitRoute(uid, 0, 0, (), 0)).visits}
        if uid in starts and starts[uid].finishing:
            new_ids.add(str(starts[uid].finishing))
        moved: dict[str, list[int]] = {}
        for i, v in fut:
            if v.site_id in new_ids:
                kept += 1
            else:
                moved.setdefault(owner.get(v.site_id, "nobody"), []).append(i)
        if moved:
            parts = [f"stop{'s' if len(ix) > 1 else ''} {_ranges(ix)} {'dropped' if o == 'nobody' else 'moved to ' + o}"
                     for o, ix in sorted(moved.items())]
            lines.append(f"{uid} ({_why(state, uid)}): its " + "; ".join(parts))
    return before, kept, lines


def _why(state: LiveState, uid: str) -> str:
    from datetime import datetime

    u = state.units[uid]
    if u.status is UnitStatus.committed:
        tz = state.ctx.clock.t0.tzinfo
        return "committed to a call " + (f"until {datetime.fromtimestamp(u.until_s, tz):%H:%M}"
                                         if u.until_s is not None else "until cleared")
    return "off duty" if u.status is UnitStatus.off_duty else "re-planned"


def _ranges(ix: list[int]) -> str:
    out, a = [], ix[0]
    prev = a
    for i in ix[1:] + [None]:  # type: ignore[list-item]
        if i is not None and i == prev + 1:
            prev = i
            continue
        out.append(f"{a}" if a == prev else f"{a}-{prev}")
        if i is not None:
            a = prev = i
    return ", ".join(out)

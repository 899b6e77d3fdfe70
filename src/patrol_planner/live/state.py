"""The live state of a night: per unit its status, latest position and time; the visits made and the dose
each spot has had (:mod:`.dose`); the spots and tasks cancelled and the sites added tonight.

:meth:`LiveState.apply` takes one checked :class:`~patrol_planner.live.events.Event` at a time, in time order;
positions may also come in batches (:meth:`LiveState.add_positions`). Times [s since epoch, UTC].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from patrol_planner.dosage import DosageParams
from patrol_planner.live.context import LiveContext, SiteInfo, UnitRoute
from patrol_planner.live.dose import DoseMeter, Stay
from patrol_planner.live.events import Event, UnitStatus

#: A visit delivers its harm when the unit was present this share of the site's dwell (GPS loses a little).
DELIVERED_SHARE = 0.8
#: GPS stays start when a unit enters a spot's zone, not when its visit starts: successive visits count as
#: ``min_gap_s`` apart with this much slack [s] (and a re-plan allows the next visit that much sooner).
GAP_SLACK_S = 300.0
#: Label of an intelligence-led visit added tonight: never the intelligence itself.
INTEL_LABEL = "intelligence-led visit"


@dataclass
class UnitLive:
    """What is known of one unit now."""

    unit_id: str
    status: UnitStatus = UnitStatus.available
    until_s: float | None = None  # committed until this time; None = until cleared
    call_lonlat: tuple[float, float] | None = None
    since_s: float | None = None  # when the status began


@dataclass
class LiveState:
    """The night so far, as the events tell it."""

    ctx: LiveContext
    params: DosageParams = field(default_factory=DosageParams)
    units: dict[str, UnitLive] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    dose: DoseMeter | None = None
    now_s: float = -np.inf

    def __post_init__(self) -> None:
        for u in self.ctx.units:
            self.units.setdefault(u.unit_id, UnitLive(u.unit_id))
        self.dose = DoseMeter(self.ctx.crs, self.params)
        self.dose.add_zones({k: s.zone_lonlat for k, s in self.ctx.sites.items()})

    # --- events -------------------------------------------------------------------------------------
    def apply(self, ev: Event) -> str:
        """Take one event; returns what it changed, in words (for the timeline)."""
        t = ev.time.timestamp()
        self.now_s = max(self.now_s, t)
        self.clear_expired(t)
        assert self.dose is not None
        if ev.kind == "position":
            self.add_positions(np.array([ev.unit]), np.array([t]), np.array([ev.lon]), np.array([ev.lat]))
            return ""
        if ev.kind == "status":
            return self._status(ev, t)
        if ev.kind == "arrive":
            self.dose.arrive(str(ev.unit), str(ev.site_id), t)
            return f"{ev.unit} arrived at {ev.site_id}"
        if ev.kind == "leave":
            self.dose.leave(str(ev.unit), str(ev.site_id), t)
            return f"{ev.unit} left {ev.site_id}"
        if ev.kind in ("task_added", "intel_added"):
            return self._add_site(ev)
        # task_cancelled, spot_cancelled
        self.cancelled.add(str(ev.site_id))
        return f"{ev.site_id} cancelled for the night"

    def _status(self, ev: Event, t: float) -> str:
        u = self.units[str(ev.unit)]
        u.status, u.since_s = UnitStatus(ev.status), t
        u.until_s = ev.until.timestamp() if ev.until is not None else None
        u.call_lonlat = (float(ev.lon), float(ev.lat)) if ev.lon is not None and ev.lat is not None else None
        if u.status is UnitStatus.committed:
            until = f"until {ev.until:%H:%M}" if ev.until is not None else "until cleared"
            return f"{u.unit_id} committed to a call {until}"
        return f"{u.unit_id} {'available' if u.status is UnitStatus.available else 'off duty'}"

    def _add_site(self, ev: Event) -> str:
        from patrol_planner.scenario.tasking import local_window

        sid = str(ev.site_id)
        if sid in self.ctx.sites:
            return f"{sid} already known"
        tz = self.ctx.clock.t0.tzinfo
        a, b = local_window(ev.window, self.ctx.clock.t0, tz, f"{ev.kind} {sid}")  # type: ignore[arg-type]
        dwell_s = float(ev.dwell_min) * 60
        nodes = {m: int(self.ctx.snap(m, [ev.lon], [ev.lat])[0]) for m in self.ctx.networks}
        from patrol_planner.live.context import _zone

        mode0 = next(iter(nodes))
        task = ev.kind == "task_added"
        win = (self.ctx.routing_s(a.timestamp()), self.ctx.routing_s(b.timestamp()) - dwell_s)
        self.ctx.sites[sid] = SiteInfo(
            site_id=sid, prize=0.0 if task else float(ev.prize or 0.0), dwell_s=dwell_s, max_visits=1, min_gap_s=0.0,
            repeat_factor=1.0, prize_windows=(), time_window_s=win, required=task,
            allowed_units=frozenset([ev.unit]) if ev.unit else None, blocked_s=(), nodes=nodes,
            lonlat=(float(ev.lon), float(ev.lat)),  # type: ignore[arg-type]
            zone_lonlat=_zone((), self.ctx.node_xy(mode0, nodes[mode0]), self.ctx.crs),
            kind="task" if task else "intel")
        self.ctx.added.append(sid)
        assert self.dose is not None
        self.dose.add_zones({sid: self.ctx.sites[sid].zone_lonlat})
        what = "task" if task else INTEL_LABEL
        return f"new {what} {sid} ({a:%H:%M}-{b:%H:%M})"

    def clear_expired(self, now_s: float) -> None:
        """A unit committed until a time that has passed is available again."""
        for u in self.units.values():
            if u.status is UnitStatus.committed and u.until_s is not None and u.until_s <= now_s:
                u.status, u.until_s, u.call_lonlat, u.since_s = UnitStatus.available, None, None, u.until_s

    def add_positions(self, unit: np.ndarray, t_s: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> None:
        """A batch of positions (any units, time order within each)."""
        assert self.dose is not None
        self.ctx_sites_zones()
        self.dose.add_positions(unit, t_s, lon, lat)
        if len(t_s):
            self.now_s = max(self.now_s, float(np.max(t_s)))

    def ctx_sites_zones(self) -> None:
        """Measure sites another state added to the shared context too."""
        assert self.dose is not None
        if len(self.dose.zones_lonlat) != len(self.ctx.sites):
            self.dose.add_zones({k: s.zone_lonlat for k, s in self.ctx.sites.items()})

    # --- questions ----------------------------------------------------------------------------------
    def visits(self, site_id: str) -> list[Stay]:
        """The site's visits so far, in start order."""
        assert self.dose is not None
        return [s for s in self.dose.stays() if s.site_id == site_id]

    def visits_delivered(self, site: SiteInfo) -> list[Stay]:
        """The site's visits with at least :data:`DELIVERED_SHARE` of its dwell present (a car passing
        through, or one called away early, has not made the visit)."""
        return [s for s in self.visits(site.site_id) if s.presence_s >= DELIVERED_SHARE * site.dwell_s]

    def delivered(self, site: SiteInfo) -> bool:
        """Whether the site has had its dose for the night: its planned visits, each with at least
        :data:`DELIVERED_SHARE` of its dwell present, and every planned visit's dwell in minutes present (one
        long stay is one visit, not two: a spot planned twice keeps its second visit)."""
        assert self.dose is not None
        return (len(self.visits_delivered(site)) >= site.max_visits
                and self.dose.dose_s.get(site.site_id, 0.0) >= DELIVERED_SHARE * site.dose_target_s)

    def in_progress(self, unit: str, route: UnitRoute | None, slack_s: float = 300.0) -> Stay | None:
        """The visit the unit is making now: an open stay at the stop its route has it at now (give or take
        ``slack_s`` [s]), or one opened by an arrive event. Passing through a spot it visits later is not one."""
        assert self.dose is not None
        due = {v.site_id for v in route.visits if v.arrive_s - slack_s <= self.now_s <= v.depart_s + slack_s} \
            if route is not None else set()
        for (u, sid), st in self.dose.open.items():
            if u == unit and (sid in due or st.manual) and self.now_s - st.end_s <= self.params.max_gap_s:
                return st
        return None

    def position(self, unit: str) -> tuple[float, float, float] | None:
        assert self.dose is not None
        return self.dose.last_position(unit)


def visit_start_s(stay: Stay, site: SiteInfo) -> float:
    """When a visit began [s since epoch]: the last ``dwell_s`` of the stay (a unit that arrived early waited
    in the spot before its visit), never before the stay."""
    return max(stay.start_s, stay.end_s - site.dwell_s)


def harm_delivered(ctx: LiveContext, stays: list[Stay], share: float = DELIVERED_SHARE,
                   time_weighted: bool = False) -> tuple[float, dict[str, int]]:
    """Harm of the visits made (``prize * repeat_factor ** (k - 1)`` for the k-th delivered visit of a site, at
    most ``max_visits``, starts at least ``min_gap_s`` apart; with ``time_weighted``, times the site's
    time-of-day multiplier at the visit's start, as the routing prize), and the delivered visits per site."""
    total, count = 0.0, {}
    last: dict[str, float] = {}
    for st in sorted(stays, key=lambda s: (s.end_s, s.unit)):
        site = ctx.sites.get(st.site_id)
        if site is None or st.presence_s < share * site.dwell_s:
            continue
        k = count.get(st.site_id, 0)
        t_s = visit_start_s(st, site)
        if k >= site.max_visits or t_s - last.get(st.site_id, -np.inf) < site.min_gap_s - GAP_SLACK_S:
            continue
        mult = 1.0
        if time_weighted:
            t = ctx.routing_s(t_s)
            mult = next((m for a, b, m in site.prize_windows if a <= t < b), 1.0)
        total += site.prize * site.repeat_factor ** k * mult
        count[st.site_id] = k + 1
        last[st.site_id] = t_s
    return total, count


def summary(state: LiveState) -> dict[str, Any]:
    """Status per unit, for the timeline and the web."""
    return {u: {"status": x.status.value, "until_s": x.until_s} for u, x in state.units.items()}

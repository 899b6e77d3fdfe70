"""What a live night keeps from the morning's plan run, so a re-plan never repeats the expensive stages: the
routing problem (sites, units, matrices), the road networks, the clock, the morning routes, and each site's
zone for the dose (its cell and the road point where a car stands, in lon/lat [deg, EPSG:4326]).

Times inside the live package are seconds since the epoch [s, UTC] (``t_s``); the routing problem's own
seconds count from ``clock.t0`` and :meth:`LiveContext.routing_s` converts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from patrol_planner.live.eventfile import bbox_of

#: Radius of the disc around a site's road point that counts as being at the site [m] (the car stands on the
#: road, which may lie outside the cell); the dose's GPS tolerance is added on top.
ROAD_POINT_RADIUS_M = 40.0


@dataclass(frozen=True)
class PlannedVisit:
    """One visit of a unit's route: the site, which visit of the site it is (1-based, over the whole night),
    and when it starts and ends [s since epoch]."""

    site_id: str
    visit_no: int
    arrive_s: float
    depart_s: float


@dataclass(frozen=True)
class UnitRoute:
    """Where a unit goes from ``ready_s`` on: from ``start_node`` (a road node of its mode) through ``visits``
    and back to its end station by ``return_s``; ``break_s`` the meal break interval, if still to come
    [s since epoch]."""

    unit_id: str
    ready_s: float
    start_node: int
    visits: tuple[PlannedVisit, ...]
    return_s: float
    break_s: tuple[float, float] | None = None


@dataclass
class SiteInfo:
    """A site as the live night knows it: the routing site (or, for one added tonight, its fields), its road
    node per mode, its zone (lon/lat polygon) and its daily dose target [s]."""

    site_id: str
    prize: float
    dwell_s: float
    max_visits: int
    min_gap_s: float
    repeat_factor: float
    prize_windows: tuple[tuple[float, float, float], ...]
    time_window_s: tuple[float, float] | None  # routing seconds
    required: bool
    allowed_units: frozenset[str] | None
    blocked_s: tuple[tuple[float, float], ...]
    nodes: dict[str, int]
    lonlat: tuple[float, float]
    zone_lonlat: Any  # shapely polygon [deg]
    kind: str = "hotspot"
    location: int | None = None  # row of the morning problem's matrices; None for a site added tonight

    @property
    def dose_target_s(self) -> float:
        """The day's dose: every planned visit's dwell [s]."""
        return self.dwell_s * self.max_visits


@dataclass
class LiveContext:
    """The morning plan run's routing inputs and results, for re-plans and the replay."""

    problem: Any  # routing.PatrolProblem of the morning plan
    networks: Mapping[str, Any]
    clock: Any  # scenario.adapters.Clock
    units: Sequence[Any]  # scenario.adapters.UnitShift
    crs: str
    node_ids: dict[str, np.ndarray]  # road node per base location, per mode
    sites: dict[str, SiteInfo]
    morning: dict[str, UnitRoute]
    travel_weight_per_s: float
    station_nodes: dict[str, dict[str, int]]  # unit -> {"start": node, "end": node}
    bbox_lonlat: tuple[float, float, float, float]
    plan: Any = None  # the morning Plan
    added: list[str] = field(default_factory=list)  # site ids added tonight, in order
    #: cover rule name -> the units that may keep it, in the morning's order of preference (the sector's own
    #: units, then force-wide ones); empty when the scenario has no ``[cover]``
    cover_pool: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def t0_s(self) -> float:
        """The routing clock's zero [s since epoch]."""
        return float(self.clock.t0.timestamp())

    def routing_s(self, t_s: float) -> float:
        """Seconds since the epoch -> routing seconds."""
        return t_s - self.t0_s

    def epoch_s(self, routing_s: float) -> float:
        """Routing seconds -> seconds since the epoch."""
        return routing_s + self.t0_s

    def unit_shift(self, unit_id: str) -> Any:
        return next(u for u in self.units if u.unit_id == unit_id)

    def mode_of(self, unit_id: str) -> str:
        return str(self.problem.unit_by_id(unit_id).mode)

    def node_xy(self, mode: str, node: int) -> tuple[float, float]:
        """A road node's position [m, working CRS]."""
        d = self.networks[mode].graph.nodes[int(node)]
        return float(d["x_m"]), float(d["y_m"])

    def snap(self, mode: str, lon: Sequence[float], lat: Sequence[float]) -> np.ndarray:
        """Nearest road node of ``mode`` for each lon/lat [deg] (never refused: a unit is somewhere)."""
        from patrol_planner import network as nw
        from patrol_planner.geo import to_xy

        x, y = to_xy(np.asarray(lon, float), np.asarray(lat, float), self.crs)
        return np.asarray(nw.snap_points(self.networks[mode], x, y, max_snap_m=1e9).node_ids, dtype=np.int64)


def _zone(lonlat_poly: Sequence[tuple[float, float]], road_xy: tuple[float, float], crs: str) -> Any:
    """The cell polygon [deg] joined with a disc round the road point, in lon/lat."""
    import shapely
    from shapely.geometry import Point, Polygon

    from patrol_planner.geo import to_lonlat

    disc = Point(road_xy).buffer(ROAD_POINT_RADIUS_M, 16)
    ring = np.asarray(disc.exterior.coords)
    lo, la = to_lonlat(ring[:, 0], ring[:, 1], crs)
    disc_ll = Polygon(np.column_stack([lo, la]))
    if len(lonlat_poly) >= 3:
        return shapely.union(Polygon(lonlat_poly), disc_ll).convex_hull
    return disc_ll


def context_from_run(run: Any) -> LiveContext:
    """A :class:`LiveContext` from a :class:`~patrol_planner.scenario.run.PlanRun` (``run_plan``'s answer)."""
    from patrol_planner.scenario import adapters as ad

    routed, prob = run.routed, run.problem
    crs = run.ingested.incidents.attrs["crs"]
    clock = ad.Clock.for_units(run.units)
    t0 = float(clock.t0.timestamp())
    polys = {h.hotspot_id: h.polygon_lonlat for h in run.plan.hotspots}
    table = routed.sites.set_index(routed.sites["site_id"].astype(str))
    sites: dict[str, SiteInfo] = {}
    for s in prob.sites:
        nodes = {m: int(routed.node_ids[m][s.location]) for m in routed.node_ids}
        mode0 = next(iter(nodes))
        xy = tuple(float(v) for v in (run.networks[mode0].graph.nodes[nodes[mode0]]["x_m"],
                                      run.networks[mode0].graph.nodes[nodes[mode0]]["y_m"]))
        row = table.loc[s.site_id]
        sites[s.site_id] = SiteInfo(
            site_id=s.site_id, prize=s.prize, dwell_s=s.dwell_s, max_visits=s.max_visits, min_gap_s=s.min_gap_s,
            repeat_factor=s.repeat_factor, prize_windows=s.prize_windows, time_window_s=s.time_window_s,
            required=s.required, allowed_units=_reachable_by(prob, s), blocked_s=s.blocked_s, nodes=nodes,
            lonlat=(float(row["lon"]), float(row["lat"])), zone_lonlat=_zone(polys.get(s.site_id, ()), xy, crs),
            kind=str(row["kind"]) if "kind" in row.index else "hotspot", location=int(s.location))
    morning = {}
    stations = {}
    for r in run.result.routes:
        u = prob.unit_by_id(r.unit_id)
        start_node = int(routed.node_ids[u.mode][u.start.location])
        stations[r.unit_id] = {"start": start_node, "end": int(routed.node_ids[u.mode][u.end.location])}
        morning[r.unit_id] = UnitRoute(
            unit_id=r.unit_id, ready_s=t0 + u.leave_min_s, start_node=start_node,
            visits=tuple(PlannedVisit(v.site_id, v.visit_no, t0 + v.arrive_s, t0 + v.depart_s) for v in r.visits),
            return_s=t0 + r.return_s,
            break_s=None if r.break_interval_s is None else (t0 + r.break_interval_s[0], t0 + r.break_interval_s[1]))
    pts = [s.lonlat for s in sites.values()] + [(u.start.lon, u.start.lat) for u in run.units]
    return LiveContext(problem=prob, networks=run.networks, clock=clock, units=run.units, crs=crs,
                       node_ids={m: np.asarray(v) for m, v in routed.node_ids.items()}, sites=sites, morning=morning,
                       travel_weight_per_s=float(run.scenario.solver.solve_params().travel_weight_per_s),
                       station_nodes=stations, bbox_lonlat=bbox_of(pts), plan=run.plan,
                       cover_pool=_cover_pool(run.scenario, prob))


def _cover_pool(scenario: Any, prob: Any) -> dict[str, tuple[str, ...]]:
    """Per cover rule, the units allowed to keep it, as ``scenario.tasking.designate_cover_units`` chooses
    them: the sector's own units, then force-wide ones (a unit of another sector keeps to its own)."""
    units = getattr(scenario, "units", ())
    sector = {u.id: u.sector for u in units}
    out = {}
    for rule in prob.covers:
        own = [u.unit_id for u in prob.units if sector.get(u.unit_id) == rule.name]
        wide = [u.unit_id for u in prob.units if sector.get(u.unit_id) is None]
        out[rule.name] = tuple(own + wide)
    return out


def _reachable_by(prob: Any, site: Any) -> frozenset[str] | None:
    """The units the morning problem lets visit the site (sector, radius, task unit); None = every unit."""
    ok = frozenset(u.unit_id for u in prob.units if prob.can_reach(u, site))
    return None if len(ok) == len(prob.units) else ok

"""Where a unit following a route is at any moment, and its GPS positions every ``ping_s`` with noise.

A unit drives each leg along the fastest road path at constant speed, taking the leg's road travel time,
waits at the stop until its planned start, stays until its planned end; a meal break due before a stop is
taken where the unit is. A committed unit drives to its call and stays there until it clears. The noise of a
ping depends only on (seed, unit, time), so two simulations of the same unit on the same road give the same
positions. Places [m, working CRS]; times [s since epoch].
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from patrol_planner.live.context import LiveContext, UnitRoute

#: Standard deviation of the simulated GPS error, per axis [m].
GPS_SIGMA_M = 8.0
#: Accuracy the simulated devices report [m].
GPS_ACCURACY_M = 10.0


@dataclass(frozen=True)
class Piece:
    """From ``t0_s`` to ``t1_s`` the unit moves along ``xy`` (k, 2) [m] at constant speed (one point: it stays)."""

    t0_s: float
    t1_s: float
    xy: np.ndarray
    cum: np.ndarray  # cumulative share of the polyline's length at each vertex, 0..1


@dataclass
class Itinerary:
    """A unit's pieces in time order; ``end_s``: no position after this (off duty)."""

    unit: str
    pieces: list[Piece] = field(default_factory=list)
    end_s: float = np.inf

    def xy_at(self, t_s: np.ndarray) -> np.ndarray:
        """Positions (n, 2) [m] at times ``t_s``; NaN before the first piece or after ``end_s``."""
        out = np.full((len(t_s), 2), np.nan)
        for p in self.pieces:
            sel = (t_s >= p.t0_s) & (t_s <= p.t1_s) & (t_s <= self.end_s)
            if not sel.any():
                continue
            if len(p.xy) == 1 or p.t1_s <= p.t0_s:
                out[sel] = p.xy[-1] if p.t1_s <= p.t0_s else p.xy[0]
                continue
            f = (t_s[sel] - p.t0_s) / (p.t1_s - p.t0_s)
            out[sel, 0] = np.interp(f, p.cum, p.xy[:, 0])
            out[sel, 1] = np.interp(f, p.cum, p.xy[:, 1])
        if self.pieces:  # after the last piece the unit stays where it ended (at its station)
            last = self.pieces[-1]
            sel = (t_s > last.t1_s) & (t_s <= self.end_s)
            out[sel] = last.xy[-1]
        return out


class Roads:
    """Leg geometry and travel time between road nodes, cached (one Dijkstra per new leg)."""

    def __init__(self, ctx: LiveContext) -> None:
        self.ctx = ctx
        self._legs: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray, float]] = {}

    def leg(self, mode: str, a: int, b: int) -> tuple[np.ndarray, np.ndarray, float]:
        """(polyline (k, 2) [m], cumulative length share, travel time [s]) from node ``a`` to node ``b``."""
        key = (mode, int(a), int(b))
        if key not in self._legs:
            from patrol_planner import network as nw

            net = self.ctx.networks[mode]
            if a == b:
                xy = np.asarray([self.ctx.node_xy(mode, a)])
                self._legs[key] = (xy, np.zeros(1), 0.0)
            else:
                t, _ = nw.travel_matrix(net, [int(a)], [int(b)])
                xy = np.asarray(nw.route_geometry(net, int(a), int(b)), dtype=float).reshape(-1, 2)
                seg = np.hypot(*np.diff(xy, axis=0).T) if len(xy) > 1 else np.zeros(0)
                tot = float(seg.sum())
                cum = np.r_[0.0, np.cumsum(seg) / tot] if tot > 0 else np.linspace(0, 1, len(xy))
                self._legs[key] = (xy, cum, float(t[0, 0]) if np.isfinite(t[0, 0]) else 0.0)
        return self._legs[key]


def _stay(t0: float, t1: float, xy: Any) -> Piece:
    return Piece(t0, max(t0, t1), np.asarray([xy], dtype=float), np.zeros(1))


def itinerary(ctx: LiveContext, roads: Roads, route: UnitRoute, from_s: float, *,
              hold: tuple[int, float] | None = None, from_node: int | None = None) -> Itinerary:
    """The unit's movement from ``from_s``: (optionally) to ``hold``'s node and staying there until its time
    [s] (a call), then along ``route``, then home and staying there."""
    uid = route.unit_id
    mode = ctx.mode_of(uid)
    it = Itinerary(uid)
    node = route.start_node if from_node is None else from_node
    t = from_s
    if hold is not None:
        t, node = _drive(it, roads, mode, node, hold[0], t)
        it.pieces.append(_stay(t, hold[1], ctx.node_xy(mode, node)))
        t = max(t, hold[1])
    brk = route.break_s
    if route.ready_s > t:
        it.pieces.append(_stay(t, route.ready_s, ctx.node_xy(mode, node)))
        t = route.ready_s
    for v in route.visits:
        site = ctx.sites[v.site_id]
        if brk is not None and brk[0] < v.arrive_s and brk[1] > t:  # the break, where the unit is
            it.pieces.append(_stay(t, brk[1], ctx.node_xy(mode, node)))
            t, brk = max(t, brk[1]), None
        t, node = _drive(it, roads, mode, node, site.nodes[mode], t)
        end = max(v.depart_s, t + site.dwell_s if t > v.arrive_s else v.depart_s)
        it.pieces.append(_stay(t, end, ctx.node_xy(mode, node)))
        t = end
    if brk is not None and brk[1] > t:
        it.pieces.append(_stay(t, brk[1], ctx.node_xy(mode, node)))
        t = brk[1]
    _drive(it, roads, mode, node, ctx.station_nodes[uid]["end"], t)
    return it


def _drive(it: Itinerary, roads: Roads, mode: str, a: int, b: int, t: float) -> tuple[float, int]:
    xy, cum, dur = roads.leg(mode, a, b)
    it.pieces.append(Piece(t, t + dur, xy, cum))
    return t + dur, int(b)


def noise_xy(seed: int, unit: str, t_s: np.ndarray, sigma_m: float = GPS_SIGMA_M) -> np.ndarray:
    """GPS error (n, 2) [m] of each ping, a function of (seed, unit, time) only."""
    u = zlib.crc32(unit.encode())
    out = [np.random.default_rng([seed, u, int(round(t))]).normal(0.0, sigma_m, 2) for t in t_s]
    return np.array(out).reshape(-1, 2)


def pings(ctx: LiveContext, it: Itinerary, t_s: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, lon, lat) of the unit's pings at ``t_s`` (those where it is on duty), with GPS noise."""
    from patrol_planner.geo import to_lonlat

    xy = it.xy_at(t_s)
    ok = np.isfinite(xy[:, 0])
    t = t_s[ok]
    if t.size == 0:
        return t, np.zeros(0), np.zeros(0)
    xy = xy[ok] + noise_xy(seed, it.unit, t)
    lon, lat = to_lonlat(xy[:, 0], xy[:, 1], ctx.crs)
    return t, np.asarray(lon, float), np.asarray(lat, float)

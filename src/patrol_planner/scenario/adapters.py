"""Adapters between stages: each turns one stage's plain output into the next stage's plain input.

The pipeline (:func:`patrol_planner.scenario.run_plan`) is these calls in order; a notebook can make
them one at a time, and a caller with its own list of places (not hotspots) can start at
:func:`problem_from_sites`::

    units = units_on_duty(scenario.units, night, tz, stations)      # stations + the night's shift times
    clock = Clock.for_units(units)                                  # datetimes <-> routing seconds
    sites = sites_from_hotspots(selected, visits, profile, window=clock.window(units))
    routed = problem_from_sites(sites, units, clock, networks, crs=crs)
    result = routing.solve(routed.problem, params)
    unit_plans = unit_plans_from_result(result, routed, units, clock, networks)

Coordinates: ``lon``/``lat`` are EPSG:4326 [deg]; ``x_m``/``y_m`` are in the working (projected) CRS of
the incident table and road networks [m]. Times: aware datetimes outside routing, seconds from
:attr:`Clock.t0` inside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from patrol_planner import localtime as lt
from patrol_planner.errors import RoutingError, ScenarioError
from patrol_planner.plan import Break, HotspotStatus, Stop, UnitPlan
from patrol_planner.scenario.config import PlaceConfig, UnitConfig, VisitConfig
from patrol_planner.scenario.placement import all_positions_xy, refuse_tasks_off_road, snapped_matrices
from patrol_planner.vocabulary import VISITED, LeftOutReason, Station

#: Stations and site centres farther than this from a usable road are reported, not moved [m].
MAX_SNAP_M = 400.0
#: A prize window is only worth modelling when the hour-of-week profile departs this much from flat [-].
PROFILE_MIN_CONTRAST = 0.10
#: Bounds on an hour's prize multiplier [-]: a sparse profile must not make one hour worth ten others.
PROFILE_CLIP = (0.5, 2.0)
#: Decimal places of stop and hotspot positions in a Plan [deg]: about 0.1 m.
PLAN_COORD_DECIMALS = 6

#: Columns of a sites table (see :func:`sites_from_hotspots`); ``x_m``/``y_m`` are optional.
SITE_COLUMNS = ("site_id", "lon", "lat", "prize", "dwell_s", "max_visits", "min_gap_s", "repeat_factor",
                "prize_windows")


# ------------------------------------------------------------------------------------------------------
# Units and the clock
# ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnitShift:
    """One unit on duty on one night, with its places and times resolved.

    Attributes
    ----------
    unit_id, mode : str
        The unit and its travel mode (``"drive"`` or ``"walk"``).
    start, end : Station
        Where the shift starts and ends (EPSG:4326 positions).
    shift_start, shift_end : datetime
        The shift, timezone-aware.
    earliest_leave : datetime or None
        Not before this does the unit leave its start station (after the briefing).
    break_s : float
        Length of the meal break [s]; 0 = none.
    break_window : (datetime, datetime) or None
        The break starts and ends inside this window.
    radius_m : float or None
        Foot patrols stay within this road distance of their station [m].
    """

    unit_id: str
    mode: str
    start: Station
    end: Station
    shift_start: datetime
    shift_end: datetime
    earliest_leave: datetime | None = None
    break_s: float = 0.0
    break_window: tuple[datetime, datetime] | None = None
    radius_m: float | None = None


@dataclass(frozen=True)
class Clock:
    """Seconds on the routing axis <-> aware datetimes. ``t0`` is the earliest shift start.

    Routing seconds are real elapsed seconds (through UTC), so a night across a clock change has its true
    length; :meth:`at` gives the local time with the offset in force then.
    """

    t0: datetime

    @classmethod
    def for_units(cls, units: Sequence[UnitShift]) -> Clock:
        """The clock whose zero is the earliest shift start of ``units``."""
        if not units:
            raise RoutingError("no units on duty: add at least one [[units]] table")
        return cls(t0=min((u.shift_start for u in units), key=lt.instant_key))

    @staticmethod
    def window(units: Sequence[UnitShift]) -> tuple[datetime, datetime]:
        """The patrol window of ``units``: the earliest shift start to the latest shift end."""
        return (min((u.shift_start for u in units), key=lt.instant_key),
                max((u.shift_end for u in units), key=lt.instant_key))

    def at(self, seconds: float) -> datetime:
        """The local time ``seconds`` [s] after ``t0`` (rounded to the second), with a fixed UTC offset.

        The fixed offset (the zone's at that instant, e.g. ``+01:00`` named ``BST``) makes differences of
        the returned values real time, as for a plan read back from JSON.
        """
        return lt.fixed_offset(lt.plus_s(self.t0, round(float(seconds))))

    def seconds(self, when: datetime) -> float:
        """Real seconds from ``t0`` to ``when`` [s] (``when`` must be timezone-aware)."""
        return lt.real_s(self.t0, when)


def _at_or_after(t: time, start: datetime, tz: ZoneInfo, what: str) -> datetime:
    """The first moment at clock time ``t`` at or after ``start`` (a time in a clock-change gap: the change)."""
    day = start.astimezone(tz).date()
    cand = lt.local_moment(day, t, tz, gap="forward", what=what)
    if lt.real_s(start, cand) >= 0:
        return cand
    return lt.local_moment(day + timedelta(days=1), t, tz, gap="forward", what=what)


def resolve_station(ref: str | PlaceConfig, stations: pd.DataFrame, *, unit_id: str = "?",
                    what: str = "station") -> Station:
    """A unit's station: a name (or ``osm_type/osm_id``) of the extract's police stations, or a place.

    ``stations`` is :func:`patrol_planner.network.police_stations` (``name``, ``lon``, ``lat`` [deg]).
    Exact name first, then a unique-enough substring, then the OSM reference; case-insensitive.
    """
    if not isinstance(ref, str):
        return Station(name=ref.name, lon=float(ref.lon), lat=float(ref.lat))
    key = ref.strip().lower()
    names = stations["name"].astype(str).str.lower() if len(stations) else pd.Series([], dtype=str)
    hit = stations[names == key] if len(stations) else stations
    if len(hit) == 0 and len(stations):
        hit = stations[names.str.contains(key, regex=False)]
    if len(hit) == 0 and len(stations) and "osm_id" in stations:
        ref_ids = stations["osm_type"].astype(str) + "/" + stations["osm_id"].astype(str)
        hit = stations[ref_ids.str.lower() == key]
    if len(hit) == 0:
        known = ", ".join(repr(n) for n in stations["name"]) if len(stations) else "none in the extract"
        raise ScenarioError(f"unit {unit_id!r}: {what} {ref!r} is not a police station of the OSM extract "
                            f"(known: {known}); give a name from that list or {{name, lon, lat}}")
    row = hit.iloc[0]
    return Station(name=str(row["name"]), lon=float(row["lon"]), lat=float(row["lat"]))


def units_on_duty(units: Sequence[UnitConfig], night: date, tz: ZoneInfo,
                  stations: pd.DataFrame) -> tuple[UnitShift, ...]:
    """The scenario's units on the night starting ``night``: stations found, times made aware in ``tz``.

    Across a clock change the shift keeps its wall-clock times, so it is shorter (spring) or longer
    (autumn) in real time. A shift start or end that does not exist that night (the spring gap) is
    refused; one that happens twice (the autumn fold) is its first occurrence. A break window bound or
    earliest leave in the gap is the moment the clocks change (see :mod:`patrol_planner.localtime`).

    Raises
    ------
    ScenarioError
        A station name is not in ``stations``; a shift starts or ends at a time the clocks skip.
    RoutingError
        A break window does not lie inside its shift.
    """
    out = []
    for u in units:
        start = resolve_station(u.station, stations, unit_id=u.id)
        end = resolve_station(u.end_station, stations, unit_id=u.id, what="end_station") if u.end_station else start
        a = lt.local_moment(night, u.shift[0], tz, gap="refuse", what=f"unit {u.id!r}: shift start")
        end_day = night + timedelta(days=1) if u.shift[1] <= u.shift[0] else night
        b = lt.local_moment(end_day, u.shift[1], tz, gap="refuse", what=f"unit {u.id!r}: shift end")
        bw = None
        if u.break_min > 0 and u.break_window:
            bs = _at_or_after(u.break_window[0], a, tz, f"unit {u.id!r}: break window")
            be = _at_or_after(u.break_window[1], bs, tz, f"unit {u.id!r}: break window")
            if lt.real_s(b, be) > 0 or lt.real_s(a, bs) < 0:
                raise RoutingError(f"unit {u.id!r}: break_window {_window_text(u.break_window)} is not inside "
                                   f"the shift {_window_text(u.shift)}")
            bw = (bs, be)
        out.append(UnitShift(unit_id=u.id, mode=u.mode, start=start, end=end, shift_start=a, shift_end=b,
                             earliest_leave=(_at_or_after(u.earliest_leave, a, tz, f"unit {u.id!r}: earliest_leave")
                                             if u.earliest_leave else None),
                             break_s=u.break_min * 60.0, break_window=bw, radius_m=u.radius_m))
    return tuple(out)


def _window_text(w: tuple[time, time]) -> str:
    return f"{w[0]:%H:%M}-{w[1]:%H:%M}"


# ------------------------------------------------------------------------------------------------------
# Hotspots -> sites
# ------------------------------------------------------------------------------------------------------
def prize_windows(profile: np.ndarray,
                  window: tuple[datetime, datetime]) -> tuple[tuple[datetime, datetime, float], ...]:
    """Hour blocks of ``window`` with their relative risk from an hour-of-week ``profile`` (168 values, mean 1).

    Empty when the profile is nearly flat (:data:`PROFILE_MIN_CONTRAST`). Multipliers are rescaled to mean 1
    over the window and clipped to :data:`PROFILE_CLIP`, so a visit's prize stays in harm units.
    """
    start, end = window
    if profile.size == 0 or np.abs(profile - 1.0).max() < PROFILE_MIN_CONTRAST:
        return ()
    blocks = []
    # Step real hours (in UTC) from the local hour start, reading each block's local hour: across a clock
    # change the night has one hour fewer (spring: local hour 1 is skipped) or one more (autumn: local
    # hour 1 twice), and each block's instants are real.
    zone = start.tzinfo
    t = start.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    t_start, t_end = start.astimezone(UTC), end.astimezone(UTC)
    while t < t_end:
        nxt = t + timedelta(hours=1)
        local = t.astimezone(zone)
        how = local.weekday() * 24 + local.hour  # Monday 00:00 = 0, local wall-clock time
        blocks.append((max(t, t_start).astimezone(zone), min(nxt, t_end).astimezone(zone), float(profile[how])))
        t = nxt
    mean = float(np.mean([m for _, _, m in blocks])) if blocks else 1.0
    if not mean > 0:
        return ()
    lo, hi = PROFILE_CLIP
    return tuple((a, b, float(np.clip(m / mean, lo, hi))) for a, b, m in blocks)


def sites_from_hotspots(selected: pd.DataFrame, visits: VisitConfig, profile: np.ndarray | None = None, *,
                        window: tuple[datetime, datetime]) -> pd.DataFrame:
    """Selected hotspot cells as routing sites: one row per cell, in rank order.

    Parameters
    ----------
    selected : DataFrame
        ``select_hotspots`` output: ``cell_id``, ``score`` [harm], ``lon``/``lat`` [deg, EPSG:4326],
        ``x_m``/``y_m`` [m, working CRS].
    visits : VisitConfig
        Dwell [min], visits per site, gap [min] and repeat factor, the same for every site.
    profile : ndarray (n_sites, 168) or None
        Hour-of-week relative risk per cell; None = flat (no prize windows).
    window : (datetime, datetime)
        The patrol window (aware) the prize windows cover.

    Returns
    -------
    DataFrame
        :data:`SITE_COLUMNS` plus ``x_m``/``y_m``: ``site_id``, ``prize`` [harm], ``dwell_s``, ``min_gap_s`` [s],
        ``max_visits``, ``repeat_factor`` [-], ``prize_windows`` (tuples of (start, end, multiplier), aware
        datetimes). A caller routing its own places builds the same table (``x_m``/``y_m`` may be left out).
    """
    n = len(selected)
    prof = np.ones((n, 168)) if profile is None else np.asarray(profile, dtype=float)
    out = pd.DataFrame({
        "site_id": selected["cell_id"].astype(str).to_numpy(),
        "lon": selected["lon"].to_numpy(float), "lat": selected["lat"].to_numpy(float),
        "x_m": selected["x_m"].to_numpy(float), "y_m": selected["y_m"].to_numpy(float),
        "prize": selected["score"].to_numpy(float),
        "dwell_s": np.full(n, visits.dwell_min * 60.0), "max_visits": np.full(n, visits.max_visits),
        "min_gap_s": np.full(n, visits.min_gap_min * 60.0), "repeat_factor": np.full(n, visits.repeat_factor),
    })
    out["prize_windows"] = [prize_windows(prof[j], window) for j in range(n)]
    return out


# ------------------------------------------------------------------------------------------------------
# Sites + units -> PatrolProblem
# ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RoutedProblem:
    """A :class:`~patrol_planner.routing.PatrolProblem` with what maps its rows back to places.

    Attributes
    ----------
    problem : PatrolProblem
        Locations ``0..len(stations)-1`` are the stations, then one per site in ``sites`` order.
    stations : tuple of Station
        The distinct stations, in location order.
    sites : DataFrame
        The sites table given, plus ``reachable`` (False: farther than ``max_snap_m`` from a road of some
        unit's mode; such a site is not offered to the solver).
    node_ids : dict of str to ndarray
        Road network node of every location, per travel mode.
    max_snap_m : float
        The snapping limit used [m].
    """

    problem: Any
    stations: tuple[Station, ...]
    sites: pd.DataFrame
    node_ids: dict[str, np.ndarray]
    max_snap_m: float
    #: Matrix rows of the ``extra_points`` given to :func:`problem_from_sites` (cover points), in order.
    extra_rows: tuple[int, ...] = ()

    def location_of(self, site_id: str) -> int:
        """Matrix row of a site."""
        return len(self.stations) + self._site_index[site_id]

    def station_location(self, name: str) -> int:
        """Matrix row of a station."""
        return self._station_index[name]

    # cached_property writes the instance __dict__ directly, so it works on a frozen dataclass.
    @cached_property
    def _site_index(self) -> dict[str, int]:
        return {str(sid): j for j, sid in enumerate(self.sites["site_id"])}

    @cached_property
    def _station_index(self) -> dict[str, int]:
        return {s.name: i for i, s in enumerate(self.stations)}


def _distinct_stations(units: Sequence[UnitShift]) -> tuple[Station, ...]:
    seen: dict[str, Station] = {}
    for u in units:
        seen.setdefault(u.start.name, u.start)
        seen.setdefault(u.end.name, u.end)
    return tuple(seen.values())


def problem_from_sites(sites: pd.DataFrame, units: Sequence[UnitShift], clock: Clock,
                       networks: Mapping[str, Any], *, crs: str, max_snap_m: float = MAX_SNAP_M,
                       extra_points: Sequence[tuple[float, float]] = ()) -> RoutedProblem:
    """Snap stations and sites to each mode's road network and build the routing problem.

    Parameters
    ----------
    sites : DataFrame
        :data:`SITE_COLUMNS` (see :func:`sites_from_hotspots`); ``x_m``/``y_m`` [m, ``crs``] when present,
        else computed from ``lon``/``lat``.
    units : sequence of UnitShift
        The units on duty (:func:`units_on_duty`).
    clock : Clock
        Turns the units' and sites' datetimes into routing seconds.
    networks : mapping of mode -> RoadNetwork
        One road network per travel mode of ``units``, in ``crs``.
    crs : str
        The working projected CRS [m].
    max_snap_m : float
        Farther than this from a road [m]: a station is an error, a site is left out as unreachable.
    extra_points : sequence of (lon, lat)
        More places that need matrix rows but are not sites (cover points) [deg]; their rows are
        ``RoutedProblem.extra_rows``. One farther than ``max_snap_m`` from a road is an error.

    The sites table may carry the optional columns of :mod:`patrol_planner.scenario.tasking`:
    ``time_window`` (aware (start, end): the visit is on scene wholly inside it), ``required`` (a task),
    ``allowed_units`` (tuple of unit ids, None = any), ``blocked`` (aware periods when no visit may be on
    scene: no-go areas).

    Raises
    ------
    RoutingError
        A station or an extra point is farther than ``max_snap_m`` from its mode's roads.
    """
    from patrol_planner import routing as rt

    stations = _distinct_stations(units)
    n_st, n_sites = len(stations), len(sites)
    xs, ys = all_positions_xy(stations, sites, extra_points, crs)
    T, D, nodes, site_ok = snapped_matrices(networks, xs, ys, [s.name for s in stations], n_sites, max_snap_m)
    refuse_tasks_off_road(sites, site_ok, max_snap_m)
    prob = rt.PatrolProblem(travel_time_s=T, distance_m=D)
    handle = {s.name: prob.add_station(i, name=s.name) for i, s in enumerate(stations)}
    for j, row in enumerate(sites.itertuples(index=False)):
        if site_ok[j]:
            wins = [(clock.seconds(a), clock.seconds(b), m) for a, b, m in row.prize_windows]
            prob.add_site(n_st + j, site_id=str(row.site_id), prize=float(row.prize), dwell_s=float(row.dwell_s),
                          max_visits=int(row.max_visits), min_gap_s=float(row.min_gap_s),
                          repeat_factor=float(row.repeat_factor), prize_windows=wins, **_site_rules(row, clock))
    for u in units:
        prob.add_unit(unit_id=u.unit_id, mode=u.mode, start=handle[u.start.name], end=handle[u.end.name],
                      shift_start_s=clock.seconds(u.shift_start), shift_end_s=clock.seconds(u.shift_end),
                      earliest_leave_s=clock.seconds(u.earliest_leave) if u.earliest_leave else None,
                      break_s=u.break_s, max_radius_m=u.radius_m,
                      break_window_s=tuple(clock.seconds(t) for t in u.break_window) if u.break_window else None)
    return RoutedProblem(problem=prob, stations=stations, sites=sites.assign(reachable=site_ok), node_ids=nodes,
                         max_snap_m=max_snap_m,
                         extra_rows=tuple(range(n_st + n_sites, n_st + n_sites + len(extra_points))))


def _opt(row: Any, name: str, default: Any) -> Any:
    """An optional column of a sites-table row; a missing column or a missing value (NaN) is ``default``."""
    v = getattr(row, name, default)
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return default
    return v


def _site_rules(row: Any, clock: Clock) -> dict[str, Any]:
    """The routing keywords of a row's optional tasking columns (see :func:`problem_from_sites`)."""
    out: dict[str, Any] = {}
    win = _opt(row, "time_window", None)
    if win is not None:  # on scene wholly inside the window: the latest start is the end minus the dwell
        out["time_window_s"] = (clock.seconds(win[0]), clock.seconds(win[1]) - float(row.dwell_s))
    if _opt(row, "required", False):
        out["required"] = True
    allowed = _opt(row, "allowed_units", None)
    if allowed is not None:
        out["allowed_units"] = tuple(allowed)
    blocked = _opt(row, "blocked", ())
    if len(blocked):
        out["blocked_s"] = [(clock.seconds(a), clock.seconds(b)) for a, b in blocked]
    return out


# ------------------------------------------------------------------------------------------------------
# Routing result -> Plan parts
# ------------------------------------------------------------------------------------------------------
def _paths_lonlat(networks: Mapping[str, Any], routed: RoutedProblem, legs: Sequence[tuple[str, int, int]],
                  crs: str) -> dict[tuple[str, int, int], tuple[tuple[float, float], ...]]:
    """The road line of each leg ``(mode, from location, to location)``, lon/lat [deg]; one search per origin."""
    from patrol_planner import network as nw
    from patrol_planner.geo import to_lonlat

    out = {}
    nd = PLAN_COORD_DECIMALS
    for mode in sorted({m for m, _a, _b in legs}):
        mine = sorted({leg for leg in legs if leg[0] == mode})
        ids = routed.node_ids[mode]
        lines = nw.route_geometries(networks[mode], [(int(ids[a]), int(ids[b])) for _m, a, b in mine])
        for leg, pts in zip(mine, lines, strict=True):
            arr = np.asarray(pts, dtype=float).reshape(-1, 2)
            lon, lat = to_lonlat(arr[:, 0], arr[:, 1], crs)
            out[leg] = tuple((round(float(x), nd), round(float(y), nd)) for x, y in zip(lon, lat, strict=True))
    return out


def unit_plans_from_result(result: Any, routed: RoutedProblem, units: Sequence[UnitShift], clock: Clock,
                           networks: Mapping[str, Any], *, crs: str) -> tuple[UnitPlan, ...]:
    """Each unit's route as a :class:`~patrol_planner.plan.UnitPlan`: aware times, lon/lat, road paths.

    ``result`` is the :class:`~patrol_planner.routing.RoutingResult` of ``routed.problem``; a stop's
    ``prize`` is its site's prize times the repeat discount [harm] (before any time-of-day multiplier).
    """
    by_id = {u.unit_id: u for u in units}
    sites = routed.sites.set_index("site_id", drop=False)
    nd = PLAN_COORD_DECIMALS
    legs = []  # every leg's road line, drawn first in one batch per mode
    for r in result.routes:
        u = by_id[r.unit_id]
        locs = [routed.station_location(u.start.name), *(routed.location_of(v.site_id) for v in r.visits),
                routed.station_location(u.end.name)]
        legs += [(u.mode, a, b) for a, b in zip(locs, locs[1:], strict=False)]
    paths = _paths_lonlat(networks, routed, legs, crs)
    out = []
    for r in result.routes:
        u = by_id[r.unit_id]
        prev = routed.station_location(u.start.name)
        stops: list[tuple[Stop, int]] = []
        for k, v in enumerate(r.visits, start=1):
            loc = routed.location_of(v.site_id)
            site = sites.loc[v.site_id]
            stops.append((Stop(seq=k, hotspot_id=v.site_id, visit_no=v.visit_no, arrive=clock.at(v.arrive_s),
                               depart=clock.at(v.depart_s), lon=round(float(site["lon"]), nd),
                               lat=round(float(site["lat"]), nd),
                               prize=round(float(site["prize"]) * float(site["repeat_factor"]) ** (v.visit_no - 1),
                                           4),
                               travel_s=float(v.travel_s), road_m=float(v.road_m),
                               path_lonlat=paths[(u.mode, prev, loc)],
                               kind=str(_opt(site, "kind", "hotspot")), label=str(_opt(site, "label", ""))), loc))
            prev = loc
        merged = _one_stop_per_road_point(stops, routed.node_ids[u.mode])
        brk = () if r.break_interval_s is None else (Break(clock.at(r.break_interval_s[0]),
                                                           clock.at(r.break_interval_s[1])),)
        back = routed.station_location(u.end.name)
        out.append(UnitPlan(
            unit_id=u.unit_id, mode=u.mode, shift_start=lt.fixed_offset(u.shift_start),
            shift_end=lt.fixed_offset(u.shift_end), start=u.start,
            end=u.end, stops=merged, breaks=brk, leave=clock.at(r.leave_s), return_arrive=clock.at(r.return_s),
            return_path_lonlat=paths[(u.mode, prev, back)],
            return_travel_s=float(r.return_travel_s), return_road_m=float(r.return_road_m)))
    return tuple(out)


def _one_stop_per_road_point(stops: Sequence[tuple[Stop, int]], node_ids: np.ndarray) -> tuple[Stop, ...]:
    """Merge back-to-back stops at one road point into one stop that ``covers`` every hotspot.

    Neighbouring cells can snap to the same road node: the solver then visits them in a row with no travel
    between, which would read as two stops 100 m apart with 0 s and 0 m between them. The unit stands at
    one place for both dwells, so it is one stop (from the first arrival to the last departure, prize the
    sum); ``stops`` pairs each stop with its matrix location, ``node_ids`` the road node of each location.
    """
    out: list[Stop] = []
    last_node = None
    for s, loc in stops:
        node = int(node_ids[loc])
        if (out and node == last_node and s.travel_s == 0 and s.arrive == out[-1].depart
                and s.kind == out[-1].kind == "hotspot"):  # a task or intelligence visit stays its own stop
            p = out[-1]
            out[-1] = replace(p, depart=s.depart, prize=p.prize + s.prize, covers=(*p.covers, *s.covers))
        else:
            out.append(replace(s, seq=len(out) + 1))
        last_node = node
    return tuple(out)


def site_outcomes(result: Any, routed: RoutedProblem) -> pd.DataFrame:
    """What became of each site: ``site_id``, ``visits`` (count), ``status`` (``visited`` or a reason code)."""
    visits: dict[str, int] = {}
    for r in result.routes:
        for v in r.visits:
            visits[v.site_id] = visits.get(v.site_id, 0) + 1
    rows = []
    for sid, ok in zip(routed.sites["site_id"], routed.sites["reachable"], strict=True):
        n = visits.get(sid, 0)
        if not ok:
            status = LeftOutReason.NOT_REACHABLE.value
        elif n:
            status = VISITED
        else:
            status = str(result.unvisited.get(sid, LeftOutReason.NOT_WORTH_IT.value))
        rows.append({"site_id": sid, "visits": n, "status": status})
    return pd.DataFrame(rows, columns=["site_id", "visits", "status"])


def hotspot_statuses(selected: pd.DataFrame, outcomes: pd.DataFrame, polygons_lonlat: Sequence[Any],
                     labels: Mapping[str, str], breakdowns: Sequence[dict[str, Any]],
                     names: Mapping[str, Any] | None = None) -> tuple[HotspotStatus, ...]:
    """One :class:`~patrol_planner.plan.HotspotStatus` per selected cell (row order of ``selected``).

    ``outcomes`` is :func:`site_outcomes`; ``polygons_lonlat`` the cell outlines [deg]; ``labels`` public
    place names by cell id; ``breakdowns`` the score explanation of each row; ``names`` (optional) each cell's
    :class:`~patrol_planner.places.SpotName`, whose label then replaces ``labels``.
    """
    names = names or {}
    out = []
    nd = PLAN_COORD_DECIMALS
    oc = outcomes.set_index("site_id")
    for j, row in enumerate(selected.reset_index(drop=True).itertuples(index=False)):
        sid = str(row.cell_id)
        status = str(oc.at[sid, "status"])
        out.append(HotspotStatus(
            hotspot_id=sid, rank=int(row.rank), score=round(float(row.score), 4), lon=round(float(row.lon), nd),
            lat=round(float(row.lat), nd), visits=int(oc.at[sid, "visits"]), status=status,
            reason="" if status == VISITED else LeftOutReason(status).text, breakdown=breakdowns[j],
            polygon_lonlat=tuple(tuple(p) for p in polygons_lonlat[j]),
            **(names[sid].as_dict() if sid in names else {"label": labels.get(sid, "")})))
    return tuple(out)


def harm_metrics(sites: pd.DataFrame, result: Any) -> dict[str, float]:
    """Harm offered and covered [harm units] by the sites of a result.

    ``harm_offered``: every site visited ``max_visits`` times, repeats discounted; ``harm_covered``: each
    visit's base prize (prize x repeat discount), before the time-of-day multiplier;
    ``harm_covered_time_weighted``: the solver's prize; ``harm_first_visits_share``: first visits only.
    """
    prize = dict(zip(sites["site_id"], sites["prize"].astype(float), strict=True))
    rf = dict(zip(sites["site_id"], sites["repeat_factor"].astype(float), strict=True))
    series = [sum(r ** k for k in range(int(n))) for r, n in zip(sites["repeat_factor"], sites["max_visits"],
                                                                  strict=True)]
    offered = float(np.dot(sites["prize"].to_numpy(float), series))
    visits = [v for r in result.routes for v in r.visits]
    covered = sum(prize[v.site_id] * rf[v.site_id] ** (v.visit_no - 1) for v in visits)
    first = float(sites["prize"].sum())
    first_cov = sum(prize[sid] for sid in {v.site_id for v in visits})
    return {"harm_offered": round(offered, 3), "harm_covered": round(covered, 3),
            "harm_covered_time_weighted": round(float(result.prize), 3),
            "harm_first_visits_share": round(first_cov / first, 4) if first else 0.0}


def reproducibility(result: Any) -> dict[str, Any]:
    """``reproducible`` (a rerun with the same input and seed gives the same plan) and
    ``not_reproducible_because`` (plain reasons: the time cap cut the search, a search worker failed...)."""
    why = list(result.stats.get("not_reproducible_because", ()))
    return {"reproducible": bool(result.stats.get("reproducible", not why)), "not_reproducible_because": why}


def ran_record(result: Any, ranking: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What ran where a choice was made or a fallback taken, for ``provenance["ran"]``: the hotspot
    ranking (``requested``/``used``/``why``, from :func:`patrol_planner.hotspots.ranking.ranking_record`)
    when hotspots were ranked, and the search (``requested``/``used``/``ran``/``failed``)."""
    from patrol_planner.routing import search_record

    out: dict[str, Any] = {} if ranking is None else {"ranking": dict(ranking)}
    out["search"] = search_record(result)
    return out

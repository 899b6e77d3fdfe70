"""The patrol routing problem as plain typed values.

A :class:`PatrolProblem` holds square travel-time [s] and distance [m] matrices per travel mode over
locations ``0..L-1`` (``np.inf`` = unreachable), plus stations, sites and units added through a builder.
It knows nothing about hotspots, roads or OR-Tools: a *site* is anything with a prize that a unit may
visit, a *location* is a row of the matrices. All times are seconds on one absolute axis (the caller's
reference ``t = 0``); a shift crossing midnight is just a later number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from patrol_planner.errors import RoutingError
from patrol_planner.vocabulary import LEFT_OUT_REASONS

#: Why a site was left out of a result: the shared codes of :class:`patrol_planner.vocabulary.LeftOutReason`.
UNVISITED_REASONS = LEFT_OUT_REASONS
#: The meal break's place in a seed route (:meth:`PatrolProblem.add_seed_route`); never a site id.
SEED_BREAK = "\x00break"
#: Float noise allowed when comparing a leg's response time with a cover rule's limit [s].
COVER_TOL_S = 1e-6


@dataclass(frozen=True)
class StationHandle:
    """A place where units start or end their shift (a handle returned by :meth:`PatrolProblem.add_station`).

    Attributes
    ----------
    index : int
        Position among the problem's stations.
    location : int
        Row of the travel matrices.
    name : str
        Human-readable name.
    """

    index: int
    location: int
    name: str


@dataclass(frozen=True)
class Site:
    """Something worth visiting (a handle returned by :meth:`PatrolProblem.add_site`).

    Attributes
    ----------
    index : int
        Position among the problem's sites.
    location : int
        Row of the travel matrices.
    site_id : str
        Caller's identifier (e.g. a hotspot id); unique within the problem.
    prize : float
        Value of the first visit [prize units, e.g. harm].
    dwell_s : float
        Time on scene per visit [s].
    max_visits : int
        Most visits in one plan (>= 1).
    min_gap_s : float
        Least time between the starts of successive visits [s].
    repeat_factor : float
        The k-th visit is worth ``prize * repeat_factor ** (k - 1)`` [-], in ``[0, 1]``.
    prize_windows : tuple of (start_s, end_s, multiplier)
        Time-dependent prize: a visit *starting* in ``[start_s, end_s)`` [s] is worth its prize times
        ``multiplier`` [-]; outside every window the multiplier is 1. Windows must not overlap.
    time_window_s : (float, float) or None
        A visit must *start* inside ``[open_s, close_s]`` [s] (opening hours, as in orienteering with
        time windows); ``None`` = any time in the shift.
    required : bool
        A must-do visit (a task): every plan serves it once, inside its time window, or the solve fails
        naming it; it carries no prize of its own unless given one.
    allowed_units : frozenset of str or None
        Only these units may visit it (a sector, a task given to one unit or mode); ``None`` = any unit.
    blocked_s : tuple of (start_s, end_s)
        No unit may be on scene during these intervals [s] (a no-go area while it is active): a visit
        ``[start, start + dwell_s]`` must not overlap ``(start_s, end_s)``.
    """

    index: int
    location: int
    site_id: str
    prize: float
    dwell_s: float
    max_visits: int
    min_gap_s: float
    repeat_factor: float
    prize_windows: tuple[tuple[float, float, float], ...] = ()
    time_window_s: tuple[float, float] | None = None
    required: bool = False
    allowed_units: frozenset[str] | None = None
    blocked_s: tuple[tuple[float, float], ...] = ()

    def blocked_at(self, start_s: float) -> bool:
        """Whether a visit starting at ``start_s`` [s] would be on scene while the site is blocked."""
        return any(start_s < b1 and start_s + self.dwell_s > b0 for b0, b1 in self.blocked_s)

    @property
    def open_s(self) -> float:
        """Earliest start of a visit [s] (``-inf`` without a time window)."""
        return -math.inf if self.time_window_s is None else self.time_window_s[0]

    @property
    def close_s(self) -> float:
        """Latest start of a visit [s] (``inf`` without a time window)."""
        return math.inf if self.time_window_s is None else self.time_window_s[1]

    def visit_prize(self, visit_no: int, start_s: float) -> float:
        """Prize of visit number ``visit_no`` (1-based) starting at ``start_s`` [s]."""
        mult = 1.0
        for w0, w1, m in self.prize_windows:
            if w0 <= start_s < w1:
                mult = m
                break
        return self.prize * self.repeat_factor ** (visit_no - 1) * mult


@dataclass(frozen=True)
class Unit:
    """A patrol unit on duty (a handle returned by :meth:`PatrolProblem.add_unit`).

    Attributes
    ----------
    index : int
        Position among the problem's units.
    unit_id : str
        Caller's identifier; unique.
    mode : str
        Travel mode, a key of the problem's matrices (e.g. ``"drive"``, ``"walk"``).
    start, end : StationHandle
        Where the shift starts and ends (may differ).
    shift_start_s, shift_end_s : float
        Shift window on the absolute time axis [s].
    earliest_leave_s : float or None
        The unit may not leave its start station before this time [s] (e.g. after briefing).
    break_s : float
        Length of the meal break [s]; 0 means no break.
    break_window_s : (float, float) or None
        The break must start and end inside this window [s]; ``None`` = anywhere in the shift.
    max_radius_m : float or None
        Only sites within this distance [m] of the start station (by the unit's own mode's distance
        matrix, there and back) are allowed; ``None`` = no limit.
    """

    index: int
    unit_id: str
    mode: str
    start: StationHandle
    end: StationHandle
    shift_start_s: float
    shift_end_s: float
    earliest_leave_s: float | None = None
    break_s: float = 0.0
    break_window_s: tuple[float, float] | None = None
    max_radius_m: float | None = None

    @property
    def leave_min_s(self) -> float:
        """Earliest time the unit may leave its start station [s]."""
        if self.earliest_leave_s is None:
            return self.shift_start_s
        return max(self.shift_start_s, self.earliest_leave_s)

    @property
    def break_bounds_s(self) -> tuple[float, float]:
        """The window the break must fit in [s] (the shift when no window is given)."""
        if self.break_window_s is None:
            return (self.shift_start_s, self.shift_end_s)
        return self.break_window_s


@dataclass(frozen=True)
class CoverRule:
    """Response cover (a handle returned by :meth:`PatrolProblem.add_cover`).

    At every minute of ``window_s`` at least ``min_units`` units on duty must be able to reach *every*
    location of ``locations`` within ``within_s`` by their own mode (see :mod:`.validate` for where a
    unit is at each moment). ``unit_ids`` are the units the solvers keep close enough (every leg
    ``A -> B`` of theirs has ``T[A, B] + T[B, p] <= within_s``), which guarantees the rule.

    Attributes
    ----------
    name : str
        E.g. the sector's name.
    locations : tuple of int
        Matrix rows of the cover points.
    within_s : float
        Longest response time [s].
    min_units : int
        Units needed at every minute.
    unit_ids : tuple of str
        The designated units.
    window_s : (float, float)
        The period the rule holds [s].
    """

    name: str
    locations: tuple[int, ...]
    within_s: float
    min_units: int
    unit_ids: tuple[str, ...]
    window_s: tuple[float, float]


def _as_matrix(name: str, mode: str, m: object) -> np.ndarray:
    a = np.asarray(m, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise RoutingError(f"{name}[{mode!r}] must be a square matrix, got shape {a.shape}")
    if np.isnan(a).any():
        i, j = np.argwhere(np.isnan(a))[0]
        raise RoutingError(f"{name}[{mode!r}] has NaN at ({i}, {j}); use np.inf for unreachable")
    if (a < 0).any():
        i, j = np.argwhere(a < 0)[0]
        raise RoutingError(f"{name}[{mode!r}] has a negative value {a[i, j]} at ({i}, {j})")
    a = a.copy()
    a.setflags(write=False)
    return a


@dataclass
class PatrolProblem:
    """Builder for a patrol routing problem.

    Parameters
    ----------
    travel_time_s : mapping of str to array (L, L)
        Travel time [s] per mode between locations; ``np.inf`` = unreachable.
    distance_m : mapping of str to array (L, L), optional
        Distance [m] per mode, same shapes; defaults to zeros (reported distances are then 0 and
        ``max_radius_m`` cannot be used).

    Examples
    --------
    >>> import numpy as np
    >>> T = np.array([[0, 60], [60, 0]], float)
    >>> p = PatrolProblem(travel_time_s={"drive": T})
    >>> st = p.add_station(location=0, name="HQ")
    >>> s = p.add_site(location=1, site_id="c1", prize=10.0)
    >>> u = p.add_unit(unit_id="A1", start=st, shift_start_s=0, shift_end_s=3600)
    """

    travel_time_s: Mapping[str, np.ndarray]
    distance_m: Mapping[str, np.ndarray] | None = None
    stations: list[StationHandle] = field(default_factory=list, init=False)
    sites: list[Site] = field(default_factory=list, init=False)
    units: list[Unit] = field(default_factory=list, init=False)
    covers: list[CoverRule] = field(default_factory=list, init=False)
    #: (site_id, unit_id) -> bonus [prize units] for serving the site with that unit (a stable re-plan).
    keep_bonus: dict[tuple[str, str], float] = field(default_factory=dict, init=False)
    #: unit_id -> (site id, previous start [s] or NaN) in visit order (repeats allowed): the routes a re-plan
    #: search starts from, visit for visit (without it, the keep pairs in order, one visit each).
    seed_routes: dict[str, list[tuple[str, float]]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        if not self.travel_time_s:
            raise RoutingError("travel_time_s needs at least one mode (e.g. {'drive': matrix})")
        tt = {str(k): _as_matrix("travel_time_s", str(k), v) for k, v in self.travel_time_s.items()}
        sizes = {a.shape[0] for a in tt.values()}
        if len(sizes) != 1:
            raise RoutingError(f"travel_time_s matrices differ in size: {sorted(sizes)}")
        (n,) = sizes
        dist: dict[str, np.ndarray] = {}
        for mode in tt:
            if self.distance_m is not None and mode in self.distance_m:
                dist[mode] = _as_matrix("distance_m", mode, self.distance_m[mode])
                if dist[mode].shape != (n, n):
                    raise RoutingError(f"distance_m[{mode!r}] has shape {dist[mode].shape}, expected {(n, n)}")
            else:
                z = np.zeros((n, n))
                z.setflags(write=False)
                dist[mode] = z
        self._distance_given = frozenset(m for m in tt if self.distance_m is not None and m in self.distance_m)
        self.travel_time_s = tt
        self.distance_m = dist

    # --- builder ----------------------------------------------------------------------------------
    @property
    def n_locations(self) -> int:
        """Number of locations (rows of each matrix)."""
        return next(iter(self.travel_time_s.values())).shape[0]

    @property
    def modes(self) -> tuple[str, ...]:
        """The travel modes, in the order given."""
        return tuple(self.travel_time_s)

    def _check_location(self, what: str, location: int) -> int:
        if isinstance(location, bool) or not isinstance(location, int | np.integer):
            raise RoutingError(f"{what}: location must be an int row index, got {location!r}")
        if not 0 <= int(location) < self.n_locations:
            raise RoutingError(f"{what}: location {location} outside 0..{self.n_locations - 1}")
        return int(location)

    def add_station(self, location: int, *, name: str = "") -> StationHandle:
        """Add a start/end station at matrix row ``location``; returns its handle."""
        name = name or f"station-{len(self.stations)}"
        st = StationHandle(index=len(self.stations), location=self._check_location(f"station {name!r}", location),
                     name=name)
        self.stations.append(st)
        return st

    def add_site(self, location: int, *, site_id: str, prize: float, dwell_s: float = 900.0,
                 max_visits: int = 1, min_gap_s: float = 0.0, repeat_factor: float = 0.5,
                 prize_windows: Sequence[tuple[float, float, float]] = (),
                 time_window_s: tuple[float, float] | None = None, required: bool = False,
                 allowed_units: Sequence[str] | None = None,
                 blocked_s: Sequence[tuple[float, float]] = ()) -> Site:
        """Add a site worth ``prize`` per first visit; returns its handle. See :class:`Site` for units."""
        what = f"site {site_id!r}"
        if any(s.site_id == site_id for s in self.sites):
            raise RoutingError(f"{what}: duplicate site_id")
        loc = self._check_location(what, location)
        for fname, v in (("prize", prize), ("dwell_s", dwell_s), ("min_gap_s", min_gap_s)):
            if not (isinstance(v, int | float | np.number) and math.isfinite(v) and v >= 0):
                raise RoutingError(f"{what}: {fname} must be a finite number >= 0, got {v!r}")
        if not (isinstance(max_visits, int | np.integer) and max_visits >= 1):
            raise RoutingError(f"{what}: max_visits must be an int >= 1, got {max_visits!r}")
        if not (isinstance(repeat_factor, int | float) and 0 <= repeat_factor <= 1):
            raise RoutingError(f"{what}: repeat_factor must be in [0, 1], got {repeat_factor!r}")
        wins: list[tuple[float, float, float]] = []
        for w in prize_windows:
            if len(w) != 3:
                raise RoutingError(f"{what}: each prize window is (start_s, end_s, multiplier), got {w!r}")
            w0, w1, m = (float(x) for x in w)
            if not (math.isfinite(w0) and math.isfinite(w1) and w1 > w0):
                raise RoutingError(f"{what}: prize window {w!r} must have finite start_s < end_s")
            if not (math.isfinite(m) and m >= 0):
                raise RoutingError(f"{what}: prize window {w!r} multiplier must be a finite number >= 0")
            wins.append((w0, w1, m))
        wins.sort()
        for a, b in zip(wins, wins[1:], strict=False):
            if b[0] < a[1]:
                raise RoutingError(f"{what}: prize windows {a} and {b} overlap")
        tw = None
        if time_window_s is not None:
            o, c = (float(x) for x in time_window_s)
            if not (math.isfinite(o) and math.isfinite(c) and c >= o):
                raise RoutingError(f"{what}: time_window_s {time_window_s!r} must be finite (open_s, close_s) "
                                   f"with close_s >= open_s")
            tw = (o, c)
        if required and max_visits != 1:
            raise RoutingError(f"{what}: a required site is visited once; max_visits must be 1, got {max_visits}")
        blocked = []
        for b in blocked_s:
            b0, b1 = (float(x) for x in b)
            if not (math.isfinite(b0) and math.isfinite(b1) and b1 > b0):
                raise RoutingError(f"{what}: blocked interval {b!r} must have finite start_s < end_s")
            blocked.append((b0, b1))
        site = Site(index=len(self.sites), location=loc, site_id=str(site_id), prize=float(prize),
                    dwell_s=float(dwell_s), max_visits=int(max_visits), min_gap_s=float(min_gap_s),
                    repeat_factor=float(repeat_factor), prize_windows=tuple(wins), time_window_s=tw,
                    required=bool(required),
                    allowed_units=None if allowed_units is None else frozenset(str(u) for u in allowed_units),
                    blocked_s=tuple(sorted(blocked)))
        self.sites.append(site)
        return site

    def add_unit(self, *, unit_id: str, start: StationHandle, shift_start_s: float, shift_end_s: float,
                 end: StationHandle | None = None, mode: str | None = None, earliest_leave_s: float | None = None,
                 break_s: float = 0.0, break_window_s: tuple[float, float] | None = None,
                 max_radius_m: float | None = None) -> Unit:
        """Add a unit on duty; returns its handle. See :class:`Unit` for fields and units.

        Raises
        ------
        RoutingError
            Naming the unit and the field, when a handle is foreign, the mode unknown, the shift empty,
            the break longer than the shift or its window outside the shift.
        """
        what = f"unit {unit_id!r}"
        if any(u.unit_id == unit_id for u in self.units):
            raise RoutingError(f"{what}: duplicate unit_id")
        end = start if end is None else end
        for fname, st in (("start", start), ("end", end)):
            if not isinstance(st, StationHandle) or st.index >= len(self.stations) or self.stations[st.index] != st:
                raise RoutingError(f"{what}: {fname} is not a station of this problem (use add_station)")
        mode = self.modes[0] if mode is None else mode
        if mode not in self.travel_time_s:
            raise RoutingError(f"{what}: mode {mode!r} has no travel matrix; known modes {list(self.modes)}")
        for fname, v in (("shift_start_s", shift_start_s), ("shift_end_s", shift_end_s), ("break_s", break_s)):
            if not (isinstance(v, int | float | np.number) and math.isfinite(v)):
                raise RoutingError(f"{what}: {fname} must be a finite number, got {v!r}")
        if shift_end_s <= shift_start_s:
            raise RoutingError(f"{what}: shift_end_s {shift_end_s} is not after shift_start_s {shift_start_s}")
        shift_len = shift_end_s - shift_start_s
        if break_s < 0:
            raise RoutingError(f"{what}: break_s must be >= 0, got {break_s}")
        if break_s > shift_len:
            raise RoutingError(f"{what}: break_s {break_s:g} s is longer than the shift ({shift_len:g} s)")
        if earliest_leave_s is not None:
            if not math.isfinite(earliest_leave_s):
                raise RoutingError(f"{what}: earliest_leave_s must be finite")
            if not shift_start_s <= earliest_leave_s <= shift_end_s:
                raise RoutingError(f"{what}: earliest_leave_s {earliest_leave_s} is outside the shift "
                                   f"[{shift_start_s}, {shift_end_s}]")
        if break_window_s is not None:
            b0, b1 = (float(x) for x in break_window_s)
            if b0 < shift_start_s or b1 > shift_end_s:
                raise RoutingError(f"{what}: break_window_s ({b0:g}, {b1:g}) is outside the shift "
                                   f"[{shift_start_s:g}, {shift_end_s:g}]")
            if b1 - b0 < break_s:
                raise RoutingError(f"{what}: break_window_s ({b0:g}, {b1:g}) is shorter than break_s {break_s:g}")
            break_window_s = (b0, b1)
        if max_radius_m is not None:
            if not (math.isfinite(max_radius_m) and max_radius_m > 0):
                raise RoutingError(f"{what}: max_radius_m must be a positive number, got {max_radius_m!r}")
            if mode not in self._distance_given:
                raise RoutingError(f"{what}: max_radius_m needs a distance_m matrix for mode {mode!r}")
        T = self.travel_time_s[mode]
        if not math.isfinite(T[start.location, end.location]):
            raise RoutingError(f"{what}: end station {end.name!r} is not reachable from start station "
                               f"{start.name!r} by {mode}")
        unit = Unit(index=len(self.units), unit_id=str(unit_id), mode=mode, start=start, end=end,
                    shift_start_s=float(shift_start_s), shift_end_s=float(shift_end_s),
                    earliest_leave_s=None if earliest_leave_s is None else float(earliest_leave_s),
                    break_s=float(break_s), break_window_s=break_window_s,
                    max_radius_m=None if max_radius_m is None else float(max_radius_m))
        if T[start.location, end.location] + break_s > shift_end_s - unit.leave_min_s:
            raise RoutingError(f"{what}: the trip {start.name!r} -> {end.name!r} plus the break does not fit "
                               f"between leaving ({unit.leave_min_s:g} s) and shift end ({shift_end_s:g} s)")
        self.units.append(unit)
        return unit

    def add_cover(self, *, name: str, locations: Sequence[int], within_s: float, min_units: int,
                  unit_ids: Sequence[str], window_s: tuple[float, float] | None = None) -> CoverRule:
        """Add a response-cover rule (see :class:`CoverRule`); units must be added first.

        Raises
        ------
        RoutingError
            Fewer designated units than ``min_units``, an unknown unit, a designated unit whose stations
            are too far from a cover point or whose shift does not span the window.
        """
        what = f"cover {name!r}"
        locs = tuple(self._check_location(what, int(x)) for x in locations)
        if not locs:
            raise RoutingError(f"{what}: needs at least one cover point")
        if not (math.isfinite(within_s) and within_s > 0):
            raise RoutingError(f"{what}: within_s must be a positive number, got {within_s!r}")
        if len(set(unit_ids)) < min_units:
            raise RoutingError(f"{what}: needs {min_units} unit(s) within {within_s / 60:g} min but only "
                               f"{len(set(unit_ids))} can be designated ({', '.join(unit_ids) or 'none'})")
        units = []
        for uid in unit_ids:
            try:
                units.append(self.unit_by_id(uid))
            except KeyError:
                raise RoutingError(f"{what}: unknown unit {uid!r}") from None
        w0 = min(u.shift_start_s for u in self.units) if window_s is None else float(window_s[0])
        w1 = max(u.shift_end_s for u in self.units) if window_s is None else float(window_s[1])
        for u in units:
            T = self.travel_time_s[u.mode]
            for st in (u.start, u.end):
                far = max(T[st.location, p] for p in locs)
                if not far <= within_s:
                    raise RoutingError(f"{what}: unit {u.unit_id!r}'s station {st.name!r} is "
                                       f"{far / 60:.0f} min from a cover point, more than {within_s / 60:g} min")
            if u.shift_start_s > w0 or u.shift_end_s < w1:
                raise RoutingError(f"{what}: unit {u.unit_id!r} is not on duty for the whole cover window")
        rule = CoverRule(name=str(name), locations=locs, within_s=float(within_s), min_units=int(min_units),
                         unit_ids=tuple(str(u) for u in unit_ids), window_s=(w0, w1))
        self.covers.append(rule)
        self.__dict__.pop("_need_cache", None)
        return rule

    def add_keep(self, site_id: str, unit_id: str, bonus: float) -> None:
        """Reward serving ``site_id`` with ``unit_id`` by ``bonus`` [prize units] (stable re-plans)."""
        if not (math.isfinite(bonus) and bonus >= 0):
            raise RoutingError(f"keep bonus for site {site_id!r}, unit {unit_id!r} must be >= 0, got {bonus!r}")
        self.site_by_id(site_id)
        self.unit_by_id(unit_id)
        self.keep_bonus[(str(site_id), str(unit_id))] = float(bonus)

    def add_seed_route(self, unit_id: str, site_ids: Sequence[str], starts_s: Sequence[float] | None = None,
                       break_before: int | None = None) -> None:
        """Start the ruin-and-recreate search from this route of ``unit_id`` (site ids in order, a site twice
        for two visits; ``starts_s``: the visits' previous start times [s], so each keeps its time-of-day
        piece; ``break_before``: the meal break comes before visit number ``break_before`` (0-based; the
        length of the list: after the last)); visits that no longer fit are left to the search. Rewards
        nothing by itself."""
        self.unit_by_id(unit_id)
        for sid in site_ids:
            self.site_by_id(sid)
        if starts_s is not None and len(starts_s) != len(site_ids):
            raise RoutingError(f"seed route of unit {unit_id!r}: {len(site_ids)} sites but {len(starts_s)} times")
        times = [math.nan] * len(site_ids) if starts_s is None else [float(t) for t in starts_s]
        seq: list[tuple[str, float]] = [(str(x), t) for x, t in zip(site_ids, times, strict=True)]
        if break_before is not None:  # the break just before the visit it precedes (after the last: at the end)
            k = max(0, min(len(seq), int(break_before)))
            t = seq[k][1] - 1e-6 if k < len(seq) else (seq[-1][1] + 1e-6 if seq else math.nan)
            seq.insert(k, (SEED_BREAK, t))
        self.seed_routes[str(unit_id)] = seq

    def cover_need(self, unit: Unit) -> np.ndarray | None:
        """Per location ``max over the unit's cover points p of T[loc, p] - within_s`` [s], or ``None`` when
        the unit is designated for no cover rule. A leg ``A -> B`` keeps the rule iff
        ``T[A, B] + need[B] <= 0``."""
        cache = self.__dict__.setdefault("_need_cache", {})
        if unit.index not in cache:
            T = self.travel_time_s[unit.mode]
            need = None
            for rule in self.covers:
                if unit.unit_id in rule.unit_ids:
                    n = T[:, list(rule.locations)].max(axis=1) - rule.within_s
                    need = n if need is None else np.maximum(need, n)
            cache[unit.index] = need
        return cache[unit.index]

    def required_bonus(self) -> float:
        """The objective bonus of one served required site [prize units]: more than every prize of the
        problem together, so no set of hot-spot visits is worth dropping a task for."""
        total = sum(s.prize * s.max_visits * max([1.0] + [w[2] for w in s.prize_windows]) for s in self.sites)
        total += sum(self.keep_bonus.values())
        return 10.0 * total + 1000.0

    # --- derived facts ----------------------------------------------------------------------------
    def site_by_id(self, site_id: str) -> Site:
        """The site with this id (``KeyError`` if none)."""
        for s in self.sites:
            if s.site_id == site_id:
                return s
        raise KeyError(site_id)

    def unit_by_id(self, unit_id: str) -> Unit:
        """The unit with this id (``KeyError`` if none)."""
        for u in self.units:
            if u.unit_id == unit_id:
                return u
        raise KeyError(unit_id)

    def can_reach(self, unit: Unit, site: Site) -> bool:
        """Whether ``unit`` may go to ``site`` and back at all (finite travel, inside its radius, one of the
        site's allowed units)."""
        if site.allowed_units is not None and unit.unit_id not in site.allowed_units:
            return False
        T = self.travel_time_s[unit.mode]
        a, b, s = unit.start.location, unit.end.location, site.location
        if not (math.isfinite(T[a, s]) and math.isfinite(T[s, b])):
            return False
        if unit.max_radius_m is not None:
            D = self.distance_m[unit.mode]  # type: ignore[index]
            if max(D[a, s], D[s, a]) > unit.max_radius_m:
                return False
        return True

    def fits_alone(self, unit: Unit, site: Site) -> bool:
        """Whether one visit to ``site`` fits in ``unit``'s shift with nothing else (break included), and
        can start inside the site's time window."""
        T = self.travel_time_s[unit.mode]
        a, b, s = unit.start.location, unit.end.location, site.location
        need = T[a, s] + site.dwell_s + T[s, b] + unit.break_s
        if not need <= unit.shift_end_s - unit.leave_min_s:
            return False
        if site.time_window_s is None and not site.blocked_s:
            return True
        # Start as early as the window allows (and after any blocked period); the break may be taken
        # before leaving or on a leg.
        start = max(unit.leave_min_s + T[a, s], site.open_s)
        for b0, b1 in site.blocked_s:
            if start < b1 and start + site.dwell_s > b0:
                start = max(start, b1)
        return bool(start <= site.close_s and start + site.dwell_s + T[s, b] + unit.break_s <= unit.shift_end_s)

    def cover_allows(self, unit: Unit, site: Site) -> bool:
        """Whether a designated cover unit may go from its station to ``site`` and back keeping its cover
        (always true for a unit with no cover rule)."""
        need = self.cover_need(unit)
        if need is None:
            return True
        T = self.travel_time_s[unit.mode]
        a, b, s = unit.start.location, unit.end.location, site.location
        return bool(T[a, s] + need[s] <= COVER_TOL_S and T[s, b] + need[b] <= COVER_TOL_S)

    def check(self) -> None:
        """Raise :class:`RoutingError` naming the culprit when the problem cannot be solved at all."""
        if not self.units:
            raise RoutingError("no units: add at least one unit with add_unit(...)")
        longest = max(u.shift_end_s - u.leave_min_s - u.break_s for u in self.units)
        for s in self.sites:
            if s.dwell_s > longest:
                raise RoutingError(f"site {s.site_id!r}: dwell_s {s.dwell_s:g} s is longer than any unit's "
                                   f"available shift time ({longest:g} s)")
        for u in self.units:
            T = self.travel_time_s[u.mode]
            reach_any = any(math.isfinite(T[u.start.location, s.location]) for s in self.sites)
            if self.sites and not reach_any:
                raise RoutingError(f"unit {u.unit_id!r}: no site is reachable from station {u.start.name!r} "
                                   f"by {u.mode} (is the station off the network?)")
        for s in self.sites:
            if not any(math.isfinite(T[st.location, s.location]) and math.isfinite(T[s.location, st.location])
                       for T in self.travel_time_s.values() for st in self.stations):
                raise RoutingError(f"site {s.site_id!r}: location {s.location} cannot be reached from and back "
                                   f"to any station in any mode (is it off the network?)")

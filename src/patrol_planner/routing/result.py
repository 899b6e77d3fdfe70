"""What a solver returns: plain typed values, independent of any solver library."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Visit:
    """One visit of a unit to a site.

    Attributes
    ----------
    site_id : str
        The site visited.
    visit_no : int
        1 for the first visit of this site in the plan, 2 for the second, ... (ordered by time).
    arrive_s, depart_s : float
        When the visit starts and ends [s]; ``depart_s - arrive_s`` is the site's dwell. The unit may
        have reached the site earlier and waited.
    prize : float
        Prize collected by this visit [prize units].
    travel_s : float
        Travel time of the leg from the previous stop (or the start station) [s].
    road_m : float
        Distance of that leg [m].
    """

    site_id: str
    visit_no: int
    arrive_s: float
    depart_s: float
    prize: float
    travel_s: float
    road_m: float


@dataclass(frozen=True)
class UnitRoute:
    """One unit's shift.

    Attributes
    ----------
    unit_id : str
        The unit.
    visits : tuple of Visit
        Visits in order.
    leave_s, return_s : float
        When the unit leaves its start station and arrives at its end station [s].
    break_interval_s : (float, float) or None
        The meal break ``[start, end)`` [s], or ``None`` when the unit has no break.
    return_travel_s, return_road_m : float
        The leg from the last visit (or the start) to the end station [s], [m].
    """

    unit_id: str
    visits: tuple[Visit, ...]
    leave_s: float
    return_s: float
    break_interval_s: tuple[float, float] | None = None
    return_travel_s: float = 0.0
    return_road_m: float = 0.0

    @property
    def travel_s(self) -> float:
        """Total travel time [s]."""
        return sum(v.travel_s for v in self.visits) + self.return_travel_s

    @property
    def road_m(self) -> float:
        """Total distance [m]."""
        return sum(v.road_m for v in self.visits) + self.return_road_m

    @property
    def prize(self) -> float:
        """Total prize collected [prize units]."""
        return sum(v.prize for v in self.visits)


@dataclass(frozen=True)
class RoutingResult:
    """A solved patrol problem.

    Attributes
    ----------
    routes : tuple of UnitRoute
        One per unit, in the order the units were added.
    unvisited : dict of str to str
        Site id -> reason for every site with no visit: ``"not_reachable"`` (no unit can get there and
        back, or it lies outside every foot unit's radius), ``"no_time"`` (reachable, but one visit does
        not fit in any unit's shift even alone), ``"not_worth_it"`` (it would fit, but the time was better
        spent on other visits or its prize does not pay for the travel).
    objective : float
        Total prize minus ``travel_weight_per_s`` times total travel time [prize units]; higher is better.
    stats : dict
        Solver statistics: ``solver`` (which one produced this result), ``status``, ``wall_s``,
        ``first_objective``, ``best_objective``, per-solver figures under ``portfolio``.
    search_cut : bool
        ``True`` when the time limit cut a deterministic search before it finished its work: the plan
        is the best found so far (never less than the construction, which always completes), valid,
        but not reproducible and possibly weaker. :meth:`summary` says so. (A time-bounded search,
        ``deterministic=False``, stops at its budget by design; ``stats["hit_time_limit"]`` says so.)
    """

    routes: tuple[UnitRoute, ...]
    unvisited: dict[str, str]
    objective: float
    stats: dict[str, Any] = field(default_factory=dict)
    search_cut: bool = False

    @property
    def prize(self) -> float:
        """Total prize collected [prize units]."""
        return sum(r.prize for r in self.routes)

    @property
    def travel_s(self) -> float:
        """Total travel time [s]."""
        return sum(r.travel_s for r in self.routes)

    def route(self, unit_id: str) -> UnitRoute:
        """The route of one unit (``KeyError`` if unknown)."""
        for r in self.routes:
            if r.unit_id == unit_id:
                return r
        raise KeyError(unit_id)

    def summary(self) -> str:
        """A few human-readable lines."""
        lines = [f"prize {self.prize:.1f}, objective {self.objective:.2f}, "
                 f"{sum(len(r.visits) for r in self.routes)} visits, {len(self.unvisited)} sites left out "
                 f"({self.stats.get('solver', '?')}, {self.stats.get('wall_s', 0):.1f} s)"]
        if self.search_cut:
            lines.append(f"  search cut by the time limit ({self.stats.get('params', {}).get('time_limit_s', '?')} s): "
                         "this is the best plan found so far, not reproducible; raise time_limit_s")
        for r in self.routes:
            lines.append(f"  {r.unit_id}: {len(r.visits)} visits, prize {r.prize:.1f}, "
                         f"travel {r.travel_s / 60:.0f} min")
        return "\n".join(lines)

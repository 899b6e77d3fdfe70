"""The Team Orienteering Problem with Time Windows (Vansteenwegen et al. 2009) as a :class:`PatrolProblem`.

Used to measure the routing model against published scores on instances with opening hours: ``m`` units
leave the depot (point 0) at its opening time and must be back by its closing time; a visit to point
``i`` starts inside ``[open_i, close_i]``, lasts its service time and earns its profit once. Travel is the
Euclidean distance truncated to one decimal (Solomon instances) or two (Cordeau's ``pr*``), as in the
literature. That is a patrol problem with site time windows, no break and one visit per site.

File format (``TOPTW_format.txt`` of the instance sets): a line ``k v N t``, a line ``D Q`` (either may
be partly missing), then one line per point ``i x y d S f a list(a values) O C``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from patrol_planner.errors import FormatError
from patrol_planner.routing.params import SolveParams
from patrol_planner.routing.problem import PatrolProblem
from patrol_planner.routing.result import RoutingResult

#: Float noise allowed when checking a tour against the windows and the depot's closing time.
CHECK_TOL = 1e-6


@dataclass(frozen=True)
class ToptwInstance:
    """A TOPTW instance; point 0 is the depot. Times and distances share one unit.

    Attributes
    ----------
    xy : array (N, 2)
        Coordinates.
    service, profit, open, close : array (N,)
        Service time, profit, window in which a visit must start (the depot's close is the route limit).
    decimals : int
        Distances are truncated to this many decimals.
    """

    name: str
    xy: np.ndarray
    service: np.ndarray
    profit: np.ndarray
    open: np.ndarray
    close: np.ndarray
    decimals: int

    @property
    def distance(self) -> np.ndarray:
        """Euclidean distances (N, N) truncated to ``decimals``."""
        d = np.sqrt(((self.xy[:, None, :] - self.xy[None, :, :]) ** 2).sum(axis=2))
        f = 10.0**self.decimals
        return np.floor(d * f) / f

    @property
    def tmax(self) -> float:
        """The depot's closing time: every route ends by then."""
        return float(self.close[0])


def default_decimals(path: str | Path) -> int:
    """Truncation of the literature: two decimals for Cordeau's ``pr*`` files, one for Solomon's."""
    return 2 if Path(path).name.lower().startswith("pr") else 1


def read_toptw(path: str | Path, decimals: int | None = None) -> ToptwInstance:
    """Read a TOPTW instance file.

    Raises
    ------
    FormatError
        Naming the file and line when a point line is malformed or the point count is wrong.
    """
    p = Path(path)
    try:
        lines = [ln.split() for ln in p.read_text().splitlines() if ln.strip()]
    except OSError as exc:
        raise FormatError(f"{p}: cannot read TOPTW instance ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise FormatError(f"{p}: not a text file") from None
    if len(lines) < 3 or len(lines[0]) < 3:
        raise FormatError(f"{p}:1: expected a header 'k v N t' and point lines")
    try:
        n = int(lines[0][2])
    except ValueError:
        raise FormatError(f"{p}:1: N (third number) is not an integer: {lines[0][2]!r}") from None
    rows = []
    for k, ln in enumerate(lines[2:], start=3):
        try:
            vals = [float(v) for v in ln]
            a = int(vals[6])
            if len(vals) != 9 + a:
                raise ValueError(f"{len(vals)} numbers, expected 9 + a = {9 + a}")
            rows.append((vals[1], vals[2], vals[3], vals[4], vals[7 + a], vals[8 + a]))
        except (ValueError, IndexError) as exc:
            raise FormatError(f"{p}:{k}: expected 'i x y d S f a list O C' ({exc})") from None
    if len(rows) != n + 1:
        raise FormatError(f"{p}: header says N={n} customers, file has {len(rows) - 1} besides the depot")
    arr = np.array(rows)
    if (arr[:, 5] < arr[:, 4]).any():
        i = int(np.argmax(arr[:, 5] < arr[:, 4]))
        raise FormatError(f"{p}: point {i} closes before it opens")
    return ToptwInstance(name=p.stem, xy=arr[:, :2], service=arr[:, 2], profit=arr[:, 3], open=arr[:, 4],
                         close=arr[:, 5], decimals=default_decimals(p) if decimals is None else decimals)


def toptw_problem(inst: ToptwInstance, n_vehicles: int) -> PatrolProblem:
    """The instance as a patrol problem: sites ``1..N`` (site_id = point number), ``n_vehicles`` units
    leaving the depot at its opening time and back by its closing time."""
    d = inst.distance
    p = PatrolProblem(travel_time_s={"drive": d}, distance_m={"drive": d})
    depot = p.add_station(0, name="depot")
    for i in range(1, len(inst.profit)):
        p.add_site(i, site_id=str(i), prize=float(inst.profit[i]), dwell_s=float(inst.service[i]),
                   max_visits=1, time_window_s=(float(inst.open[i]), float(inst.close[i])))
    for k in range(n_vehicles):
        p.add_unit(unit_id=f"v{k}", start=depot, shift_start_s=float(inst.open[0]), shift_end_s=inst.tmax)
    return p


def toptw_params(inst: ToptwInstance, seconds: float, **overrides: object) -> SolveParams:
    """Settings for TOPTW: a time budget of ``seconds``, the ruin-and-recreate search (on the eight sample
    instances it beats the OR-Tools + PyVRP portfolio; see ``docs/routing.md``), ticks as fine as the
    truncated distances (exact), and a travel weight so small that the whole fleet's travel is worth
    less than a tenth of a profit point."""
    kw: dict[str, object] = {
        "time_limit_s": seconds,
        "deterministic": False,
        "search": "lns",
        "time_resolution_s": 10.0 ** -inst.decimals,
        "travel_weight_per_s": 0.1 / (len(inst.profit) * max(inst.tmax, 1.0) * 4),
        "prize_resolution": 1e-4,
    }
    kw.update(overrides)
    return SolveParams(**kw)  # type: ignore[arg-type]


def toptw_routes(result: RoutingResult) -> list[list[int]]:
    """Point numbers (as in the file) of each unit's tour, in order, depot left out; one list per unit."""
    return [[int(v.site_id) for v in r.visits] for r in result.routes]


def check_toptw(inst: ToptwInstance, routes: Sequence[Sequence[int]], n_vehicles: int) -> float:
    """Recheck tours independently (truncated distances, earliest schedule) and return their score.

    Raises
    ------
    ValueError
        When there are too many tours, a point is unknown or visited twice, a visit cannot start inside
        its window, or a tour is back after the depot closes.
    """
    if len(routes) > n_vehicles:
        raise ValueError(f"{len(routes)} tours for {n_vehicles} vehicles")
    d = inst.distance
    seen: set[int] = set()
    for k, tour in enumerate(routes):
        t, prev = float(inst.open[0]), 0
        for i in tour:
            if not 1 <= i < len(inst.profit):
                raise ValueError(f"tour {k}: point {i} is not a customer")
            if i in seen:
                raise ValueError(f"point {i} is visited twice")
            seen.add(i)
            t = max(t + d[prev, i], inst.open[i])
            if t > inst.close[i] + CHECK_TOL:
                raise ValueError(f"tour {k}: point {i} starts at {t:g}, after its window closes ({inst.close[i]:g})")
            t += inst.service[i]
            prev = i
        t += d[prev, 0]
        if t > inst.tmax + CHECK_TOL:
            raise ValueError(f"tour {k}: back at {t:g}, after the depot closes ({inst.tmax:g})")
    return float(sum(inst.profit[i] for i in seen))

"""The Team Orienteering Problem (Chao, Golden & Wasil 1996) as a :class:`PatrolProblem`.

Used to measure the routing model against published scores: each of ``m`` units tours from the first
point to the last within ``tmax`` (Euclidean, real-valued), collecting each point's score at most once.
That is a patrol problem with Euclidean travel, no dwell, a shift of length ``tmax``, no break and one
visit per site, solved by the same :func:`patrol_planner.routing.solve`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from patrol_planner.errors import FormatError
from patrol_planner.routing.params import SolveParams
from patrol_planner.routing.problem import PatrolProblem
from patrol_planner.routing.result import RoutingResult


@dataclass(frozen=True)
class TopInstance:
    """A TOP instance: ``xy`` (N, 2) coordinates, ``score`` (N,), ``n_vehicles`` tours of length <= ``tmax``.

    Point 0 is the start, point N-1 the end.
    """

    name: str
    n_vehicles: int
    tmax: float
    xy: np.ndarray
    score: np.ndarray

    @property
    def distance(self) -> np.ndarray:
        """Euclidean distances (N, N), real-valued."""
        d = self.xy[:, None, :] - self.xy[None, :, :]
        return np.sqrt((d**2).sum(axis=2))

    def route_length(self, route: list[int]) -> float:
        """Length of start -> ``route`` -> end in real arithmetic."""
        pts = [0, *route, len(self.score) - 1]
        return float(sum(math.dist(self.xy[a], self.xy[b]) for a, b in zip(pts, pts[1:], strict=False)))


def read_top(path: str | Path) -> TopInstance:
    """Read a Chao/Golden/Wasil file (``n N``, ``m M``, ``tmax T``, then N lines ``x y score``).

    Raises
    ------
    FormatError
        Naming the file and line when the header or a point line is malformed.
    """
    p = Path(path)
    try:
        lines = [ln.split() for ln in p.read_text().splitlines() if ln.strip()]
    except OSError as exc:
        raise FormatError(f"{p}: cannot read TOP instance ({exc.strerror})") from None
    head: dict[str, float] = {}
    for k, (want, ln) in enumerate(zip(("n", "m", "tmax"), lines[:3], strict=False), start=1):
        if len(ln) != 2 or ln[0] != want:
            raise FormatError(f"{p}:{k}: expected '{want} <value>', got {' '.join(ln)!r}")
        try:
            head[want] = float(ln[1])
        except ValueError:
            raise FormatError(f"{p}:{k}: {want} is not a number: {ln[1]!r}") from None
    if len(head) < 3:
        raise FormatError(f"{p}: header needs lines 'n N', 'm M', 'tmax T'")
    n, m = int(head["n"]), int(head["m"])
    rows = lines[3:]
    if len(rows) != n or n < 2:
        raise FormatError(f"{p}: header says n={n} points, file has {len(rows)}")
    try:
        arr = np.array([[float(v) for v in r[:3]] for r in rows])
    except ValueError as exc:
        raise FormatError(f"{p}: a point line is not 'x y score' numbers ({exc})") from None
    if arr.shape != (n, 3) or any(len(r) != 3 for r in rows):
        raise FormatError(f"{p}: every point line must be 'x y score'")
    if m < 1 or not head["tmax"] > 0:
        raise FormatError(f"{p}: m must be >= 1 and tmax > 0 (got m={m}, tmax={head['tmax']})")
    return TopInstance(name=p.name.removesuffix(".txt"), n_vehicles=m, tmax=head["tmax"], xy=arr[:, :2],
                       score=arr[:, 2])


def top_problem(inst: TopInstance) -> PatrolProblem:
    """The instance as a patrol problem: sites ``1..N-2`` (site_id = point index), ``m`` units, shift tmax."""
    d = inst.distance
    p = PatrolProblem(travel_time_s={"drive": d}, distance_m={"drive": d})
    start = p.add_station(0, name="start")
    end = p.add_station(len(inst.score) - 1, name="end")
    for i in range(1, len(inst.score) - 1):
        p.add_site(i, site_id=str(i), prize=float(inst.score[i]), dwell_s=0.0, max_visits=1)
    for k in range(inst.n_vehicles):
        p.add_unit(unit_id=f"v{k}", start=start, end=end, shift_start_s=0.0, shift_end_s=inst.tmax)
    return p


def top_params(inst: TopInstance, seconds: float, **overrides: object) -> SolveParams:
    """Settings for TOP: fine time ticks and a travel weight too small to trade any score for distance.

    ``seconds`` is a time budget (not deterministic) unless ``deterministic=True`` is passed among the
    overrides. A tick of ``tmax * 1e-6`` loses at most ~1e-6 * (stops per tour) of ``tmax`` to rounding up. The
    whole fleet's travel costs less than a tenth of the smallest score step (integer scores).
    """
    kw: dict[str, object] = {
        "time_limit_s": seconds,
        "deterministic": False,
        "time_resolution_s": inst.tmax * 1e-6,
        "travel_weight_per_s": 0.1 / (inst.n_vehicles * inst.tmax),
        "prize_resolution": 1e-4,
    }
    kw.update(overrides)
    return SolveParams(**kw)  # type: ignore[arg-type]


def top_routes(result: RoutingResult) -> list[list[int]]:
    """Point indices (file order, 0-based) of each non-empty tour, without start and end."""
    return [[int(v.site_id) for v in r.visits] for r in result.routes if r.visits]

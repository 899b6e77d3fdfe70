"""Seconds and prizes to solver integers, in one place for every back end (see ``docs/routing.md``).

Durations and earliest times are rounded *up* to whole ticks and latest times *down*, so an integer plan
a solver accepts is feasible with the real values; prizes and travel costs share one integer unit.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from patrol_planner.errors import RoutingError, ScalingWarning
from patrol_planner.routing.params import SolveParams
from patrol_planner.routing.problem import PatrolProblem

#: Objective values beyond this risk int64 overflow inside the solvers (sums of arc costs and penalties).
INT_SAFE_LIMIT = 2**62
#: Default prize unit as a share of the largest prize: prizes keep 6 significant digits whatever their unit.
DEFAULT_PRIZE_RESOLUTION = 1e-6
#: Float noise allowed when rounding seconds to ticks, so that 600.0000000001 s is 600 ticks, not 601.
ROUND_EPS = 1e-9


@dataclass(frozen=True)
class Scaling:
    """The conversion of seconds and prizes to solver integers.

    ``ticks(t) = ceil((t - offset_s) / tick_s)`` for durations and earliest times (conservative),
    ``floor`` for latest times; ``cost = round(prize / prize_unit)``. ``horizon`` is the last tick of
    the latest shift.
    """

    offset_s: float
    tick_s: float
    prize_unit: float
    horizon: int

    @property
    def unreachable_ticks(self) -> int:
        """Travel ticks standing for "no road": longer than the whole horizon, so never feasible."""
        return self.horizon + 1

    def dur(self, seconds: float) -> int:
        """A duration rounded up to ticks (never shorter than the real one)."""
        return int(math.ceil(seconds / self.tick_s - ROUND_EPS))

    def early(self, t_s: float) -> int:
        """An earliest time to ticks (rounded up)."""
        return max(0, int(math.ceil((t_s - self.offset_s) / self.tick_s - ROUND_EPS)))

    def late(self, t_s: float) -> int:
        """A latest time to ticks (rounded down)."""
        return int(math.floor((t_s - self.offset_s) / self.tick_s + ROUND_EPS))

    def time(self, ticks: int) -> float:
        """Ticks back to an absolute time [s]."""
        return self.offset_s + ticks * self.tick_s

    def cost(self, prize: float) -> int:
        """Prize units to integer cost."""
        return int(round(prize / self.prize_unit))

    def dur_matrix(self, travel_s: np.ndarray, unreachable: int) -> np.ndarray:
        """A travel-time matrix [s] to ticks rounded up (int64); ``np.inf`` becomes ``unreachable``."""
        fin = np.isfinite(travel_s)
        out = np.full(travel_s.shape, unreachable, dtype=np.int64)
        out[fin] = np.ceil(travel_s[fin] / self.tick_s - ROUND_EPS).astype(np.int64)
        return out

    def cost_matrix(self, travel_s: np.ndarray, weight_per_s: float, unreachable: int) -> np.ndarray:
        """Travel cost ``travel_s * weight_per_s`` [prize] as integers; ``np.inf`` becomes ``unreachable``."""
        fin = np.isfinite(travel_s)
        out = np.full(travel_s.shape, unreachable, dtype=np.int64)
        out[fin] = np.round(travel_s[fin] * weight_per_s / self.prize_unit).astype(np.int64)
        return out


def make_scaling(problem: PatrolProblem, params: SolveParams) -> Scaling:
    """Choose offsets and units; warn with :class:`ScalingWarning` when values near int64 limits.

    Raises
    ------
    RoutingError
        When the time horizon would overflow (raise ``time_resolution_s``).
    """
    offset = min(u.shift_start_s for u in problem.units)
    end = max(u.shift_end_s for u in problem.units)
    horizon = int(math.ceil((end - offset) / params.time_resolution_s))
    top = max([s.prize for s in problem.sites] + [0.0])
    unit = params.prize_resolution or (top * DEFAULT_PRIZE_RESOLUTION if top > 0 else 1.0)
    sc = Scaling(offset_s=offset, tick_s=params.time_resolution_s, prize_unit=unit, horizon=horizon)
    total_prize = sum(s.prize * s.max_visits * max([1.0] + [w[2] for w in s.prize_windows])
                      for s in problem.sites)
    finite = [a[np.isfinite(a)] for a in problem.travel_time_s.values()]
    max_t = max([float(f.max()) for f in finite if f.size] + [0.0])
    n_arcs = sum(s.max_visits for s in problem.sites) + 2 * len(problem.units)
    worst = total_prize / unit + n_arcs * (max_t + 1) * params.travel_weight_per_s / unit
    # Sums of several cumuls (big-M rows, slack) must stay below the limit too, hence the quarter.
    if worst > INT_SAFE_LIMIT or horizon > INT_SAFE_LIMIT // 4:
        warnings.warn(f"objective up to {worst:.3g} or horizon {horizon} ticks approaches the int64 limit; "
                      f"raise prize_resolution or time_resolution_s", ScalingWarning, stacklevel=3)
    if horizon + max_t / params.time_resolution_s > INT_SAFE_LIMIT // 4:
        raise RoutingError(f"time horizon {horizon} ticks overflows; raise time_resolution_s")
    return sc

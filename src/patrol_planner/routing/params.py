"""How to search: :class:`SolveParams`, one frozen dataclass whose first fields map one-to-one onto a
scenario's ``[solver]`` table (``time_limit_s``, ``seed``, ``deterministic``, ``restarts``, ``workers``).

The defaults are the scenario's defaults: a deterministic search capped at 30 s, so ``solve(problem)`` in
a notebook gives the same plan as the scenario that built the problem, and the same plan on every run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from patrol_planner.errors import RoutingError

#: Default wall-clock cap of a solve [s]; the same as a scenario's ``[solver] time_limit_s`` default.
DEFAULT_TIME_LIMIT_S = 30.0
#: Default number of ruin-and-recreate restarts; the same as a scenario's ``[solver] restarts`` default.
DEFAULT_RESTARTS = 10
#: Ruin-and-recreate iterations per worker in deterministic mode, at least: on the bundled 60-hot-spot x
#: 6-car night the plan stops improving by a meaningful amount after a few hundred.
DEFAULT_LNS_ITERATIONS = 400
#: ... and this many per possible visit up to LNS_LINEAR_VISITS possible visits: an iteration re-plans at most
#: 30 visits, so a bigger night needs more of them (60 hot spots x 2 visits: 472 iterations) ...
LNS_ITERATIONS_PER_VISIT = 4
#: ... beyond which the budget grows with the fourth root of the possible visits (LNS_GROWTH_EXPONENT): an
#: iteration also costs more on a bigger night, and the plan gains little late: 288 possible visits (150 x 12)
#: give 597 iterations (square-root growth gave 744: the best of two workers' objectives 0.12 % higher, harm
#: covered the same or lower in our runs; 4 per visit gave 1 152), 980 (500 x 40) give 811 instead of 1 372
#: (objective 0.07-0.13 % lower per worker, harm covered 0.05-0.07 % higher). docs/routing.md.
LNS_LINEAR_VISITS = 120
LNS_GROWTH_EXPONENT = 0.25
#: Deterministic search stops early when the best plan has not improved for this share of its budget
#: (and at least DEFAULT_LNS_ITERATIONS iterations): the tail of a stalled run only cools down.
LNS_PATIENCE_SHARE = 0.5


def default_lns_iterations(visits: int) -> int:
    """Ruin-and-recreate iterations per worker for a night of ``visits`` possible visits (deterministic)."""
    if visits <= LNS_LINEAR_VISITS:
        return max(DEFAULT_LNS_ITERATIONS, LNS_ITERATIONS_PER_VISIT * visits)
    return max(DEFAULT_LNS_ITERATIONS, round(LNS_ITERATIONS_PER_VISIT * LNS_LINEAR_VISITS
                                             * (visits / LNS_LINEAR_VISITS) ** LNS_GROWTH_EXPONENT))


def lns_patience(iterations: int) -> int:
    """Iterations without a better plan after which a deterministic search of ``iterations`` stops."""
    return max(DEFAULT_LNS_ITERATIONS, math.ceil(LNS_PATIENCE_SHARE * iterations))
#: Largest solver seed: PyVRP takes unsigned 32-bit seeds, and a second worker uses seed + 1.
MAX_SEED = 2**32 - 2
#: Search engines (see ``SolveParams.search``).
SEARCHES = ("auto", "lns", "ortools")
#: Time kept back before a deadline [s]: a search started this close to it could not finish a step.
DEADLINE_SLACK_S = 0.05

FIRST_SOLUTIONS = ("PARALLEL_CHEAPEST_INSERTION", "LOCAL_CHEAPEST_INSERTION", "SEQUENTIAL_CHEAPEST_INSERTION",
                   "PATH_CHEAPEST_ARC", "SAVINGS", "ALL_UNPERFORMED", "BEST_INSERTION", "AUTOMATIC",
                   "GLOBAL_CHEAPEST_ARC", "LOCAL_CHEAPEST_COST_INSERTION")
METAHEURISTICS = ("GUIDED_LOCAL_SEARCH", "SIMULATED_ANNEALING", "TABU_SEARCH", "GENERIC_TABU_SEARCH",
                  "GREEDY_DESCENT", "AUTOMATIC")


#: Share of a time-bounded budget for OR-Tools' first GLS run; plain GLS stalls quickly on prize-collecting
#: problems, so the rest goes to perturbed restarts.
DEFAULT_FIRST_SHARE = 0.5
#: Share of the visits an OR-Tools restart removes, drawn uniformly in this range (enough to move, not to rebuild).
DEFAULT_RUIN_SHARE = (0.1, 0.35)
#: Share of the budget for OR-Tools in the parent before PyVRP's second seed (PyVRP expresses the problem).
DEFAULT_ORTOOLS_SHARE = 0.3
#: First solution strategy of the second OR-Tools worker (another start, so it explores elsewhere).
DEFAULT_SECOND_FIRST_SOLUTION = "PARALLEL_CHEAPEST_INSERTION"


@dataclass(frozen=True)
class ExpertOptions:
    """Expert knobs for experiments with the OR-Tools + PyVRP portfolio; the defaults are what every command
    runs. Typed fields (not a free dict), so a misspelt option is an error, not silently ignored.

    Parameters
    ----------
    ls_operators : dict of str to bool
        OR-Tools local search operators switched on or off by name (fields of OR-Tools'
        ``RoutingSearchParameters.local_search_operators``, e.g. ``use_two_opt``), on top of the defaults.
    first_share : float
        Share of a time-bounded budget for the first GLS run [-], in (0, 1].
    restart_slice_s : float or None
        GLS time per time-bounded restart [s]; ``None`` = a tenth of the budget, at least 0.3 s.
    ruin_share : (float, float)
        Share of visits a restart removes, drawn uniformly in ``[lo, hi]`` [-], ``0 < lo <= hi <= 1``.
    ortools_share : float
        Share of the budget for OR-Tools in the parent before PyVRP's second seed, when PyVRP expresses
        the problem [-], in (0, 1).
    second_first_solution : str
        First solution strategy of the second OR-Tools worker (one of :data:`FIRST_SOLUTIONS`).
    second_det_restarts : int
        Restarts of the second OR-Tools worker in deterministic mode.
    """

    ls_operators: dict[str, bool] = field(default_factory=dict)
    first_share: float = DEFAULT_FIRST_SHARE
    restart_slice_s: float | None = None
    ruin_share: tuple[float, float] = DEFAULT_RUIN_SHARE
    ortools_share: float = DEFAULT_ORTOOLS_SHARE
    second_first_solution: str = DEFAULT_SECOND_FIRST_SOLUTION
    second_det_restarts: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.first_share <= 1:
            raise RoutingError(f"ExpertOptions.first_share must be in (0, 1], got {self.first_share}")
        if not 0 < self.ortools_share < 1:
            raise RoutingError(f"ExpertOptions.ortools_share must be in (0, 1), got {self.ortools_share}")
        if self.restart_slice_s is not None and not self.restart_slice_s > 0:
            raise RoutingError(f"ExpertOptions.restart_slice_s must be > 0 s, got {self.restart_slice_s}")
        lo, hi = self.ruin_share
        if not 0 < lo <= hi <= 1:
            raise RoutingError(f"ExpertOptions.ruin_share must be (lo, hi) with 0 < lo <= hi <= 1, "
                               f"got {self.ruin_share}")
        if self.second_first_solution not in FIRST_SOLUTIONS:
            raise RoutingError(f"ExpertOptions.second_first_solution {self.second_first_solution!r} unknown; "
                               f"choose from {list(FIRST_SOLUTIONS)}")
        if isinstance(self.second_det_restarts, bool) or not (
                isinstance(self.second_det_restarts, int) and self.second_det_restarts >= 0):
            raise RoutingError(f"ExpertOptions.second_det_restarts must be an int >= 0, "
                               f"got {self.second_det_restarts!r}")
        unknown = sorted(set(self.ls_operators) - _ortools_operator_names()) if self.ls_operators else []
        if unknown:
            raise RoutingError(f"ExpertOptions.ls_operators: unknown OR-Tools local search operator(s) {unknown}")


def _ortools_operator_names() -> set[str]:
    """Names of OR-Tools' local search operator switches (``use_two_opt``, ...)."""
    from ortools.constraint_solver import routing_parameters_pb2

    ops = routing_parameters_pb2.RoutingSearchParameters.LocalSearchNeighborhoodOperators
    return set(ops.DESCRIPTOR.fields_by_name)


@dataclass(frozen=True)
class SolveParams:
    """How to search.

    Parameters
    ----------
    time_limit_s : float
        Wall-clock budget of the whole solve [s]. In deterministic mode only a cap on a runaway search.
    seed : int
        Seed for every random choice (PyVRP, restarts).
    deterministic : bool
        Stop on work counters instead of the clock (default), so the same input and seed give the same
        result (``time_limit_s`` then only caps a runaway search; the result records whether the cap
        cut it: ``RoutingResult.search_cut``).
    restarts : int
        Ruin-and-recreate restarts after OR-Tools' first search: remove a random share of visits from
        the best plan and search again from it. Deterministic mode runs exactly this many; otherwise any
        value > 0 restarts until the budget is spent, and 0 switches restarts off.
    workers : int
        Processes to search with: 2 (default) forks a child for a second search on the other core
        (PyVRP when it expresses the problem, else OR-Tools with seed + 1 and another first solution);
        1 searches in this process only. Without ``fork`` (Windows, macOS spawn) the solve falls back to
        one process; in deterministic mode it then runs the second search after the first, so the plan
        is the same on every platform.
    travel_weight_per_s : float
        Cost of one second of travel in prize units [prize/s]; keep it small so that it only breaks ties
        and shortens routes, never outweighs a visit.
    prize_resolution : float or None
        Smallest prize difference the solver distinguishes [prize units]; ``None`` = the largest prize
        times ``scaling.DEFAULT_PRIZE_RESOLUTION``.
    time_resolution_s : float
        One solver time tick [s]. Travel and dwell are rounded *up* to whole ticks, so any integer
        plan is feasible with the real values.
    first_solution : str
        OR-Tools first solution strategy name.
    metaheuristic : str
        OR-Tools local search metaheuristic name.
    search : str
        ``"auto"`` (default): the insertion construction and ruin-and-recreate search of
        :mod:`.construct` (``"lns"``) when PyVRP cannot express the problem (repeat visits, breaks,
        prize windows: patrol nights), else the OR-Tools + PyVRP portfolio (``"ortools"``). Either
        way a fast construction runs first, so a plan is never empty when any visit fits.
    lns_iterations : int or None
        In deterministic mode, the ruin-and-recreate iterations of each ``"lns"`` worker; ``None``
        (default) = :func:`default_lns_iterations` of the possible visits (4 per visit up to 120, then
        growing with the fourth root); a run also stops after :func:`lns_patience` iterations without a
        better plan.
    portfolio : bool
        Also run PyVRP when it can express the problem exactly (no repeat visits, breaks or prize
        windows); the best *validated* result wins.
    det_solution_limit : int
        In deterministic mode, OR-Tools' first search stops after this many solutions.
    det_restart_solutions : int
        In deterministic mode, each restart's search stops after this many solutions.
    det_pyvrp_iterations : int
        In deterministic mode, PyVRP stops after this many iterations.
    expert : ExpertOptions
        Expert knobs of the OR-Tools + PyVRP portfolio for experiments (:class:`ExpertOptions`).
    """

    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    seed: int = 0
    deterministic: bool = True
    restarts: int = DEFAULT_RESTARTS
    workers: int = 2
    travel_weight_per_s: float = 1e-4
    prize_resolution: float | None = None
    time_resolution_s: float = 1.0
    first_solution: str = "ALL_UNPERFORMED"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    search: str = "auto"
    lns_iterations: int | None = None
    portfolio: bool = True
    det_solution_limit: int = 50
    det_restart_solutions: int = 30
    det_pyvrp_iterations: int = 3000
    expert: ExpertOptions = field(default_factory=ExpertOptions)

    def __post_init__(self) -> None:
        if not (self.time_limit_s > 0 and math.isfinite(self.time_limit_s)):
            raise RoutingError(f"SolveParams.time_limit_s must be a positive number, got {self.time_limit_s}")
        if isinstance(self.seed, bool) or not (isinstance(self.seed, int) and 0 <= self.seed <= MAX_SEED):
            raise RoutingError(f"SolveParams.seed must be an int in [0, {MAX_SEED}], got {self.seed!r}")
        if isinstance(self.restarts, bool) or not (isinstance(self.restarts, int) and self.restarts >= 0):
            raise RoutingError(f"SolveParams.restarts must be an int >= 0, got {self.restarts!r}")
        if not self.travel_weight_per_s >= 0:
            raise RoutingError(f"SolveParams.travel_weight_per_s must be >= 0, got {self.travel_weight_per_s}")
        if not self.time_resolution_s > 0:
            raise RoutingError(f"SolveParams.time_resolution_s must be > 0, got {self.time_resolution_s}")
        if self.prize_resolution is not None and not self.prize_resolution > 0:
            raise RoutingError(f"SolveParams.prize_resolution must be > 0, got {self.prize_resolution}")
        if not (isinstance(self.workers, int) and self.workers >= 1):
            raise RoutingError(f"SolveParams.workers must be an int >= 1, got {self.workers!r}")
        if self.search not in SEARCHES:
            raise RoutingError(f"SolveParams.search {self.search!r} unknown; choose from {list(SEARCHES)}")
        if self.lns_iterations is not None and (isinstance(self.lns_iterations, bool) or not (
                isinstance(self.lns_iterations, int) and self.lns_iterations >= 0)):
            raise RoutingError(f"SolveParams.lns_iterations must be an int >= 0, got {self.lns_iterations!r}")
        if self.first_solution not in FIRST_SOLUTIONS:
            raise RoutingError(f"SolveParams.first_solution {self.first_solution!r} unknown; "
                               f"choose from {list(FIRST_SOLUTIONS)}")
        if not isinstance(self.expert, ExpertOptions):
            raise RoutingError(f"SolveParams.expert must be an ExpertOptions, got {type(self.expert).__name__}")
        if self.metaheuristic not in METAHEURISTICS:
            raise RoutingError(f"SolveParams.metaheuristic {self.metaheuristic!r} unknown; "
                               f"choose from {list(METAHEURISTICS)}")

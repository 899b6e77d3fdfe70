"""Routing stage: who goes where and when, from locations, travel matrices, units and sites.

Knows nothing of hotspots or roads: locations are matrix rows, times are seconds on one axis.

>>> from patrol_planner.routing import PatrolProblem, SolveParams, solve, validate

Modules, lowest first: ``problem`` and ``result`` (plain values), ``params`` (:class:`SolveParams`),
``scaling`` (seconds and prizes to solver integers), ``plans`` (results from schedules), ``validate``
(the independent checker), ``ortools_backend`` and ``pyvrp_backend`` (the solvers), ``parallel`` (a
forked child), ``portfolio`` (which search runs where), ``solve`` (the entry point).
"""

from patrol_planner.routing.params import ExpertOptions, SolveParams
from patrol_planner.routing.problem import UNVISITED_REASONS, CoverRule, PatrolProblem, Site, StationHandle, Unit
from patrol_planner.routing.result import RoutingResult, UnitRoute, Visit
from patrol_planner.routing.solve import required_problems, search_record, solve
from patrol_planner.routing.validate import cover_timeline, problems_with, validate

__all__ = [
    "UNVISITED_REASONS", "CoverRule", "ExpertOptions", "PatrolProblem", "RoutingResult", "Site", "SolveParams",
    "StationHandle", "Unit", "UnitRoute", "Visit", "cover_timeline", "problems_with", "required_problems",
    "search_record", "solve", "validate",
]

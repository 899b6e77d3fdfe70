"""Routing stage: who goes where and when, from locations, travel matrices, units and sites.

Knows nothing of hotspots or roads: locations are matrix rows, times are seconds on one axis.

>>> from patrol_planner.routing import PatrolProblem, SolveParams, solve, validate
"""

from patrol_planner.routing.problem import UNVISITED_REASONS, PatrolProblem, Site, Station, Unit
from patrol_planner.routing.result import RoutingResult, UnitRoute, Visit
from patrol_planner.routing.solve import SolveParams, solve
from patrol_planner.routing.validate import problems_with, validate

__all__ = [
    "UNVISITED_REASONS", "PatrolProblem", "RoutingResult", "Site", "SolveParams", "Station", "Unit",
    "UnitRoute", "Visit", "problems_with", "solve", "validate",
]

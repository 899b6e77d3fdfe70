"""Every error and warning class of patrol_planner.

Each subclasses a built-in so callers that catch ``ValueError`` / ``RuntimeError`` keep working.
The CLI turns any :class:`PatrolPlannerError` into a one-line message and its ``exit_code``; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations


class PatrolPlannerError(Exception):
    """Base of all user-facing errors: the message is meant for the person at the terminal."""

    exit_code: int = 2


class InputFileError(PatrolPlannerError, ValueError):
    """A whole input file cannot be used: missing, empty, unknown format, undecodable, truncated."""

    exit_code = 3


class FormatError(InputFileError):
    """The file's format could not be recognised, or does not match the one asked for."""


class ArchiveError(InputFileError):
    """A ZIP or gzip input cannot be used: corrupt, truncated, empty, or holds no file to read."""


class DecompressionLimitError(ArchiveError):
    """An archive member or gzip file expands beyond the limits (a decompression bomb, or far too big)."""


class CRSError(PatrolPlannerError, ValueError):
    """A coordinate reference system is unknown, geographic where metres are needed, or mismatched."""

    exit_code = 4


class CRSMismatchError(CRSError):
    """Two inputs are in different CRSs; the message names both and the fix."""


class HotspotError(PatrolPlannerError, ValueError):
    """Hotspot parameters or data make no sense (cell size 0, as-of before all data, empty area...)."""

    exit_code = 5


class NotFittedError(HotspotError, AttributeError):
    """A model was used before ``fit``."""


class NetworkError(PatrolPlannerError, ValueError):
    """A road network cannot be built or queried (not a PBF, no drivable roads, ...)."""

    exit_code = 6


class EmptyNetworkError(NetworkError):
    """The extract has no usable roads for the requested mode."""


class SnapError(NetworkError):
    """A point is farther from the network than the allowed snap distance."""


class RoutingError(PatrolPlannerError, ValueError):
    """The routing problem is malformed or infeasible (no units, shift shorter than break, ...)."""

    exit_code = 7


class NoFeasiblePlanError(RoutingError, RuntimeError):
    """The solver found no plan that satisfies the constraints."""


class TaskInfeasibleError(RoutingError):
    """One or more must-do tasks cannot be served inside their windows; the message has one line per task."""


class PlanValidationError(RoutingError, AssertionError):
    """A plan breaks a constraint; raised by the independent validator. This is a bug if it escapes."""


class ScenarioError(PatrolPlannerError, ValueError):
    """A scenario file is invalid; the message names the field and the problem."""

    exit_code = 8


class PatrolPlannerWarning(UserWarning):
    """Base of patrol_planner warnings."""


class ScalingWarning(PatrolPlannerWarning):
    """A value is so large that scaling it to OR-Tools integers risks overflow or loses precision."""


class DataQualityWarning(PatrolPlannerWarning):
    """Data is usable but suspicious (few rows, many quarantined, sparse months...)."""


class CacheWarning(PatrolPlannerWarning):
    """A cache file could not be read or verified: it was ignored and the result rebuilt."""


class MappingError(InputFileError):
    """A generic-CSV column mapping is invalid, unknown, or names columns the file does not have."""


class ProgrammeError(PatrolPlannerError, ValueError):
    """A hot-spot programme cannot be designed, read or amended (bad design, edited schedule, date outside)."""

    exit_code = 9


class DosageError(PatrolPlannerError, ValueError):
    """GPS tracks cannot be used at all (no file, unknown format, no usable point)."""

    exit_code = 10


class EvaluationError(PatrolPlannerError, ValueError):
    """A programme cannot be evaluated with the data given (no crimes in its dates, no control days...)."""

    exit_code = 11

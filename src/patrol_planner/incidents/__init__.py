"""Ingestion: read crime and intelligence files into the canonical incident table.

``ingest(paths, fmt=None, crs=None, mapping=None, aoi_lonlat=None)`` returns an :class:`IngestResult`
(``incidents``, ``quarantine``, ``report``). See :mod:`patrol_planner.incidents.schema` for the table's
columns, :mod:`.quarantine` for the reasons, :mod:`.intel` for the intelligence format and grading, and
:mod:`.mappings` for generic CSV column mappings.
"""

from patrol_planner.incidents.mappings import BUILTIN_MAPPINGS, GenericMapping, load_mapping
from patrol_planner.incidents.quarantine import REASONS
from patrol_planner.incidents.readers import FORMATS, IngestReport, IngestResult, detect_format, ingest, read_raw
from patrol_planner.incidents.schema import (
    COLUMNS,
    POLICE_UK_CATEGORIES,
    QUARANTINE_COLUMNS,
    empty_incidents,
    validate_incidents,
)

__all__ = [
    "BUILTIN_MAPPINGS",
    "COLUMNS",
    "FORMATS",
    "POLICE_UK_CATEGORIES",
    "QUARANTINE_COLUMNS",
    "REASONS",
    "GenericMapping",
    "IngestReport",
    "IngestResult",
    "detect_format",
    "empty_incidents",
    "ingest",
    "load_mapping",
    "read_raw",
    "validate_incidents",
]

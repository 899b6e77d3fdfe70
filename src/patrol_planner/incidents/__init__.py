"""Ingestion: read crime, stop-and-search and intelligence files into the canonical incident table.

``ingest(paths, force=None, stop_and_search=False, fmt=None, crs=None, mapping=None, aoi_lonlat=None)``
returns an :class:`IngestResult` (``incidents``, ``quarantine``, ``report``); ``forces_in(paths)`` lists the
police.uk forces whose street files are in ``paths`` (files, folders, ZIP archives).

Modules, one concern each: :mod:`.sources` (files, folders, archives -> the CSVs to read),
:mod:`.csvbytes` (byte-level CSV engine), :mod:`.formats` (format detection), :mod:`.readers` and
:mod:`.stopsearch` (one reader per format), :mod:`.fields` and :mod:`.rows` (shared cell parsers),
:mod:`.ids` (content-hash and duplicate ids), :mod:`.table` (table assembly), :mod:`.pipeline` (the
orchestration), :mod:`.result` (what ``ingest`` returns); :mod:`.schema` for the table's columns,
:mod:`.quarantine` for the reasons, :mod:`.intel` for the intelligence format and grading, and
:mod:`.mappings` for generic CSV column mappings.
"""

from patrol_planner.incidents.csvbytes import RawTable, read_raw, read_raw_bytes
from patrol_planner.incidents.formats import FORMATS, detect_format
from patrol_planner.incidents.mappings import BUILTIN_MAPPINGS, GenericMapping, load_mapping
from patrol_planner.incidents.pipeline import ingest
from patrol_planner.incidents.quarantine import REASONS
from patrol_planner.incidents.result import IngestReport, IngestResult, quarantine_to_csv, report_json
from patrol_planner.incidents.schema import (
    COLUMNS,
    INCIDENT_CATEGORIES,
    POLICE_GENERATED_CATEGORIES,
    POLICE_UK_CATEGORIES,
    QUARANTINE_COLUMNS,
    STOP_AND_SEARCH,
    empty_incidents,
    is_police_generated,
    validate_incidents,
)
from patrol_planner.incidents.sources import forces_in, skipped_in

__all__ = [
    "BUILTIN_MAPPINGS",
    "COLUMNS",
    "FORMATS",
    "INCIDENT_CATEGORIES",
    "POLICE_GENERATED_CATEGORIES",
    "POLICE_UK_CATEGORIES",
    "QUARANTINE_COLUMNS",
    "REASONS",
    "STOP_AND_SEARCH",
    "GenericMapping",
    "IngestReport",
    "IngestResult",
    "RawTable",
    "detect_format",
    "empty_incidents",
    "forces_in",
    "skipped_in",
    "ingest",
    "is_police_generated",
    "load_mapping",
    "quarantine_to_csv",
    "read_raw",
    "read_raw_bytes",
    "report_json",
    "validate_incidents",
]

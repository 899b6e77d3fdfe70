"""Ingestion: read crime and intelligence files into the canonical incident table.

See :mod:`patrol_planner.incidents.schema` for the table's columns.
"""

from patrol_planner.incidents.schema import (
    COLUMNS,
    POLICE_UK_CATEGORIES,
    QUARANTINE_COLUMNS,
    empty_incidents,
    validate_incidents,
)

__all__ = ["COLUMNS", "POLICE_UK_CATEGORIES", "QUARANTINE_COLUMNS", "empty_incidents", "validate_incidents"]

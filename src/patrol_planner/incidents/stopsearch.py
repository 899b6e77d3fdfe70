"""Stop-and-search records (data.police.uk): police-generated activity with exact times.

Two layouts: the bulk-download CSV (``YYYY-MM-<force>-stop-and-search.csv``: ``Type, Date, Part of a policing
operation, Policing operation, Latitude, Longitude, Gender, Age range, Self-defined ethnicity,
Officer-defined ethnicity, Legislation, Object of search, Outcome, ...``) and the API's records flattened to
CSV (``datetime, location.latitude, location.longitude, location.street.name, type, object_of_search, ...``).

Each search becomes one incident of category :data:`~.schema.STOP_AND_SEARCH` at its timestamp
(``time_known`` True; an offset is converted to UK local time). Only the columns in
:data:`~.formats.STOP_SEARCH_COLUMNS` / :data:`~.formats.API_STOP_SEARCH_COLUMNS` are read: the person's
gender, age range and ethnicity are never parsed, never enter the id, the table or the quarantine.
Searches carry no id: each gets a content-hash id (``h:...``, ``#n`` for the n-th identical search in the
file, e.g. several people searched at the same time and place).
"""

from __future__ import annotations

import numpy as np

from patrol_planner.incidents.csvbytes import RawTable
from patrol_planner.incidents.fields import lonlat, timestamps
from patrol_planner.incidents.formats import API_STOP_SEARCH_COLUMNS, STOP_SEARCH_COLUMNS
from patrol_planner.incidents.rows import Rows, col, coord, filled
from patrol_planner.incidents.schema import STOP_AND_SEARCH


def read_stop_search(raw: RawTable, rows: Rows) -> list[str]:
    """data.police.uk stop-and-search download CSV; returns the (non-personal) columns the quarantine may show."""
    lonlat(rows, coord(raw, "Longitude"), coord(raw, "Latitude"))
    _searches(rows, raw, "Date")
    return [c for c in STOP_SEARCH_COLUMNS if c in raw.cells]


def read_api_stop_search(raw: RawTable, rows: Rows) -> list[str]:
    """police.uk API stop-and-search records flattened to CSV; street name as the location."""
    lonlat(rows, coord(raw, "location.longitude"), coord(raw, "location.latitude"))
    _searches(rows, raw, "datetime")
    if "location.street.name" in raw.cells:
        loc = col(raw, "location.street.name")
        rows.location = loc.where((loc != "") & (loc != "On or near"), None).to_numpy(object)
    return [c for c in API_STOP_SEARCH_COLUMNS if c in raw.cells]


def _searches(rows: Rows, raw: RawTable, time_col: str) -> None:
    """Timestamp, category and (no) id common to both layouts."""
    timestamps(rows, col(raw, time_col), None)
    rows.category = filled(rows.n, STOP_AND_SEARCH)
    rows.no_id = np.ones(rows.n, dtype=bool)

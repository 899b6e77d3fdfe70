"""Format readers: a :class:`~.csvbytes.RawTable` -> parsed values and quarantine flags on a :class:`~.rows.Rows`.

One function per format (police.uk street, police.uk API, generic + mapping, intelligence; stop-and-search in
:mod:`.stopsearch`). Each returns the columns that may be shown in the quarantine (None = all).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patrol_planner import geo
from patrol_planner.errors import MappingError
from patrol_planner.incidents import intel as _intel
from patrol_planner.incidents.csvbytes import RawTable
from patrol_planner.incidents.fields import CATEGORY_BY_FOLD, date_time, lonlat, map_category, month, timestamps, xy
from patrol_planner.incidents.mappings import GenericMapping
from patrol_planner.incidents.rows import Rows, col, coord, filled, numbers
from patrol_planner.incidents.schema import POLICE_UK_API_SLUGS


def read_street(raw: RawTable, rows: Rows) -> list[str] | None:
    """data.police.uk monthly street CSV: month interval, crime type, ``Crime ID`` (empty for ASB)."""
    lonlat(rows, coord(raw, "Longitude"), coord(raw, "Latitude"))
    month(rows, raw, "Month")
    map_category(rows, raw, "Crime type", CATEGORY_BY_FOLD, "Crime type")
    cid = col(raw, "Crime ID").to_numpy(object)
    rows.no_id = cid == ""
    rows.ids = np.where(rows.no_id, None, cid)
    if "Location" in raw.cells:
        codes, uniq = raw.factorized("Location")
        u = pd.Series(uniq, dtype=object)
        u = u.str.strip() if raw.padded else u
        # "On or near" with no street name says nothing; "No Location" goes with empty coordinates.
        keep = ~u.isin(["", "No Location", "On or near", "On or near "]).to_numpy(bool)
        rows.location = np.append(np.where(keep, u.to_numpy(object), None), None)[codes]
    return None


def read_api(raw: RawTable, rows: Rows) -> list[str] | None:
    """police.uk API ``crimes-street`` flattened to CSV: category slugs, ``persistent_id`` or ``id``."""
    lon_name = "long" if "long" in raw.cells else "lng"
    lonlat(rows, coord(raw, lon_name), coord(raw, "lat"))
    month(rows, raw, "date")
    table = {k: v for k, v in POLICE_UK_API_SLUGS.items()} | CATEGORY_BY_FOLD
    map_category(rows, raw, "category", table, "category slug")
    pid = col(raw, "persistent_id")
    ids = pid.where(pid != "", None)
    if "id" in raw.cells:
        api_id = col(raw, "id")
        ids = ids.fillna(("policeuk-api:" + api_id).where(api_id != "", None))
    rows.ids = ids.to_numpy(object)
    if "street_name" in raw.cells:
        loc = col(raw, "street_name")
        rows.location = loc.where((loc != "") & (loc != "On or near"), None).to_numpy(object)
    return None


def read_generic(raw: RawTable, rows: Rows, m: GenericMapping) -> list[str] | None:
    """Any CSV through a column mapping (:class:`~.mappings.GenericMapping`)."""
    missing = [c for c in m.columns() if c not in raw.header and c not in raw.cells]
    if missing:
        raise MappingError(f"{raw.name}: mapping {m.name!r} needs column(s) {missing} which the file lacks")
    if m.lon_col:
        lonlat(rows, coord(raw, m.lon_col), coord(raw, m.lat_col or ""))
    else:
        xy(rows, coord(raw, m.x_col or ""), coord(raw, m.y_col or ""), geo.parse_crs(m.coord_crs).to_string())
    if m.datetime_col:
        timestamps(rows, col(raw, m.datetime_col), m.datetime_format)
    else:
        date_time(rows, col(raw, m.date_col or ""), m.date_format,
                  col(raw, m.time_col) if m.time_col else None, m.time_format)
    if m.category_col:
        table = dict(CATEGORY_BY_FOLD) | dict(m.category_map)
        map_category(rows, raw, m.category_col, table, m.category_col)
    else:
        rows.category = filled(rows.n, m.default_category)
    if m.id_col:
        v = col(raw, m.id_col)
        rows.ids = (m.name + ":" + v).where(v != "", None).to_numpy(object)
    if m.location_col:
        loc = col(raw, m.location_col)
        rows.location = loc.where(loc != "", None).to_numpy(object)
    return None


def read_intel(raw: RawTable, rows: Rows) -> list[str]:
    """Intelligence reports (:mod:`.intel`): grading -> confidence; the free text is never read into anything."""
    if "lon" in raw.cells and "lat" in raw.cells:
        lonlat(rows, coord(raw, "lon"), coord(raw, "lat"))
    else:
        xy(rows, coord(raw, "easting"), coord(raw, "northing"), geo.BNG)
    timestamps(rows, col(raw, "reported_at"), None)
    table = dict(POLICE_UK_API_SLUGS) | CATEGORY_BY_FOLD
    map_category(rows, raw, "subject_category", table, "subject_category")
    conf, diss, handling, ok = _intel.grade(raw.cells["source_evaluation"], raw.cells["intelligence_assessment"],
                                            raw.cells["handling_code"])
    rows.flag(~ok, "bad_grading",
              "source_evaluation/intelligence_assessment/handling_code not a valid 3x5x2 or 5x5x5 grading")
    rows.confidence = np.where(ok, conf, np.nan)
    rows.disseminate = diss
    rows.handling = np.where(handling == "", None, handling)
    v = col(raw, "intel_id")
    rows.ids = ("intel:" + v).where(v != "", None).to_numpy(object)
    # Only the known, non-free-text columns may ever be shown (quarantine raw values), and of those only the
    # cells that were read as what they should be.
    rows.shown_raw = _intel.quarantine_view(raw.cells, raw.header, _parsed_intel_cells(raw, rows),
                                            _shape_ok(raw), diss & ok, raw.raw_row)
    return [c for c in _intel.SHOWN_COLUMNS if c in raw.cells]


def _shape_ok(raw: RawTable) -> np.ndarray:
    ok = raw.nfields == len(raw.header)
    return ok & ~raw.malformed if raw.malformed is not None else ok


def _parsed_intel_cells(raw: RawTable, rows: Rows) -> dict[str, np.ndarray]:
    """Per column, where an intelligence cell was read as a number in range, a date or a known category."""
    out: dict[str, np.ndarray] = {"reported_at": ~np.isnat(rows.t0),
                                  "subject_category": np.array([c is not None for c in rows.category], dtype=bool)}
    limits = {"lon": 180.0, "lat": 90.0, "easting": 1e7, "northing": 1e7}
    for c, limit in limits.items():
        if c in raw.cells:
            v, _empty = numbers(coord(raw, c))
            with np.errstate(invalid="ignore"):
                out[c] = np.isfinite(v) & (np.abs(v) <= limit)
    return out

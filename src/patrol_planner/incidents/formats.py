"""Input formats: which reader a CSV needs (detected from its header) and which columns that reader uses."""

from __future__ import annotations

from patrol_planner.errors import FormatError, MappingError
from patrol_planner.incidents import intel as _intel
from patrol_planner.incidents.csvbytes import RawTable
from patrol_planner.incidents.mappings import GenericMapping, detect_builtin

FORMATS: tuple[str, ...] = ("police_uk_street", "police_uk_api", "generic", "intelligence",
                            "police_uk_stop_search", "police_uk_api_stop_search")

STREET_COLUMNS = ("Crime ID", "Month", "Longitude", "Latitude", "Crime type")
API_COLUMNS = ("category", "persistent_id", "date", "lat")
# What tells two id-less (ASB) reports apart: the LSOA follows from the snap point, force names and the
# outcome (always empty for ASB) repeat; identical rows are told apart by their occurrence number.
STREET_HASH_COLUMNS = ("Month", "Longitude", "Latitude", "Location", "Crime type")
_OUTCOMES_COLUMNS = ("Crime ID", "Month", "Outcome type")

#: data.police.uk stop-and-search download CSV: the columns read. The personal ones (gender, age range,
#: self- and officer-defined ethnicity) are never parsed, kept or shown, and do not enter the ids.
STOP_SEARCH_COLUMNS = ("Type", "Date", "Part of a policing operation", "Policing operation", "Latitude",
                       "Longitude", "Legislation", "Object of search", "Outcome", "Outcome linked to object of search")
_STOP_SEARCH_KEY = ("Type", "Date", "Latitude", "Longitude", "Object of search")
#: police.uk stop-and-search API records flattened to CSV (``location.latitude``...): the columns read.
API_STOP_SEARCH_COLUMNS = ("type", "datetime", "location.latitude", "location.longitude", "location.street.name",
                           "legislation", "object_of_search", "outcome", "outcome_linked_to_object_of_search",
                           "operation", "operation_name")
_API_STOP_SEARCH_KEY = ("type", "datetime", "location.latitude", "location.longitude", "object_of_search")

#: Coordinate columns of every format: parsed straight to float64 where possible.
COORD_COLUMNS = frozenset({"Longitude", "Latitude", "lat", "long", "lng", "lon", "easting", "northing",
                           "location.latitude", "location.longitude"})


def detect_format(header: list[str]) -> tuple[str, GenericMapping | None]:
    """Guess the format (and built-in mapping for ``generic``) from a header, or raise :class:`FormatError`."""
    h = [c.strip() for c in header]
    hs = set(h)
    if set(STREET_COLUMNS) <= hs:
        return "police_uk_street", None
    if set(API_COLUMNS) <= hs and ("long" in hs or "lng" in hs):
        return "police_uk_api", None
    if set(_STOP_SEARCH_KEY) <= hs:
        return "police_uk_stop_search", None
    if set(_API_STOP_SEARCH_KEY) <= hs:
        return "police_uk_api_stop_search", None
    if _intel.is_intel_header(h):
        return "intelligence", None
    m = detect_builtin(h)
    if m is not None:
        return "generic", m
    if set(_OUTCOMES_COLUMNS) <= hs:
        raise FormatError("a police.uk outcomes file: outcomes are not incidents (read the -street.csv files)")
    raise FormatError(
        # The header's text is not echoed: the file may be anything a scenario points at (/etc/shadow...).
        f"unknown format: the header's {len(h)} column name(s) match no known format; expected a police.uk "
        "street, stop-and-search or API CSV, an intelligence CSV, or pass --format generic with --mapping "
        "(built-in mappings: nyc-vehicle-thefts, us-homicides-2015, cambs-rtc)"
    )


def resolve_format(raw: RawTable, fmt: str | None,
                   mapping: GenericMapping | None) -> tuple[str, GenericMapping | None]:
    """The format of ``raw`` (``fmt`` if given and consistent with the header) and its mapping, if generic."""
    if fmt is not None and fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r}: use one of {list(FORMATS)}")
    header = [h.strip() for h in raw.header]
    # A mapping given without --format applies to the files whose header has its columns; the others
    # (e.g. police.uk files in the same call) are still detected from their header.
    mapping_fits = mapping is not None and set(mapping.columns()) <= set(header)
    if fmt is None and mapping is not None and not mapping_fits:
        try:
            return detect_format(header)
        except FormatError:
            pass  # neither: report the mapping's missing columns (below, in the generic reader)
    if fmt == "generic" or (fmt is None and mapping is not None):
        if mapping is None:
            m = detect_builtin(raw.header)
            if m is None:
                raise MappingError(f"{raw.name}: format 'generic' needs a mapping (--mapping NAME or FILE)")
            return "generic", m
        return "generic", mapping
    try:
        detected, m = detect_format(raw.header)
    except FormatError as exc:
        raise FormatError(f"{raw.name}: {exc}") from None
    if fmt is not None and fmt != detected:
        raise FormatError(f"{raw.name}: asked to read it as {fmt!r} but the header looks like {detected!r}")
    return detected, m


def needed_columns(header: list[str], fmt: str | None, mapping: GenericMapping | None) -> list[str] | None:
    """Columns a format's reader uses (None = all, e.g. when the format cannot be told yet)."""
    h = [c.strip() for c in header]
    if fmt is None or fmt == "generic":
        try:
            fits = mapping is not None and set(mapping.columns()) <= set(h)
            fmt, m = (("generic", mapping) if fits or fmt == "generic" else detect_format(h))
        except FormatError:
            return None
        mapping = m if m is not None else mapping
    if fmt == "police_uk_street":
        return ["Crime ID", *STREET_HASH_COLUMNS]
    if fmt == "police_uk_api":
        return ["category", "persistent_id", "date", "lat", "long", "lng", "id", "street_name"]
    if fmt == "intelligence":
        return list(_intel.SHOWN_COLUMNS)
    if fmt == "police_uk_stop_search":
        return list(STOP_SEARCH_COLUMNS)
    if fmt == "police_uk_api_stop_search":
        return list(API_STOP_SEARCH_COLUMNS)
    if fmt == "generic" and mapping is not None:
        return list(mapping.columns())
    return None

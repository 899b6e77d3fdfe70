"""Column mappings for generic timestamped incident CSVs.

A :class:`GenericMapping` says which columns hold the id, the location (lon/lat, or x/y in a named CRS),
the time (one datetime column, or a date column plus an optional time-of-day column) and the category,
and how source categories map onto the 14 police.uk types. Ready-made mappings live in
:data:`BUILTIN_MAPPINGS`; others are read from a small TOML or JSON file with :func:`load_mapping`.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from patrol_planner.errors import MappingError
from patrol_planner.incidents.schema import POLICE_UK_CATEGORIES

#: Allowed ``time_format`` values for a separate time-of-day column.
TIME_FORMATS: tuple[str, ...] = ("hhmm", "hh:mm", "hh:mm:ss")
_ENCODINGS: tuple[str, ...] = ("utf-8", "cp1252")


@dataclass(frozen=True)
class GenericMapping:
    """How to read one kind of generic incident CSV.

    Parameters
    ----------
    name : str
        Short name, used in reports and by ``--mapping NAME``.
    id_col : str or None
        Column with a stable record id; None (or an empty cell) gives a content hash id.
    lon_col, lat_col : str or None
        Longitude / latitude columns [deg, EPSG:4326].
    x_col, y_col : str or None
        Easting / northing columns in ``coord_crs`` (use instead of lon/lat).
    coord_crs : str or None
        CRS of ``x_col``/``y_col``, e.g. ``EPSG:27700``.
    datetime_col : str or None
        One column holding date and time; parsed with ``datetime_format`` (strftime codes), or ISO 8601
        when the format is None.
    date_col : str or None
        Date-only column (instead of ``datetime_col``), parsed with ``date_format``.
    time_col : str or None
        Optional time-of-day column next to ``date_col``; ``time_format`` one of :data:`TIME_FORMATS`
        (``hhmm`` = integer such as ``725`` for 07:25). An empty time gives a whole-day interval.
    category_col : str or None
        Column with the source's category; values are matched case-insensitively against
        ``category_map`` keys and then against the police.uk type names themselves.
    category_map : Mapping[str, str]
        Source category -> police.uk type. Unmatched values are quarantined as ``unknown_category``.
    default_category : str or None
        Police.uk type for every row when the source has one kind of incident (no ``category_col``).
    location_col : str or None
        Public location text kept in the ``location`` column.
    encoding : str
        ``utf-8`` (default) or ``cp1252``: the fallback used when the bytes are not UTF-8.
    stray_check : bool
        Quarantine points far from the file's other points (``outside_area``). Switch off for
        files that deliberately span several distant cities.
    detect_columns : tuple[str, ...]
        Extra header columns that identify this source when the format is auto-detected.
    note : str
        Free documentation (e.g. why collisions map to "Other crime").
    """

    name: str
    id_col: str | None = None
    lon_col: str | None = None
    lat_col: str | None = None
    x_col: str | None = None
    y_col: str | None = None
    coord_crs: str | None = None
    datetime_col: str | None = None
    datetime_format: str | None = None
    date_col: str | None = None
    date_format: str | None = None
    time_col: str | None = None
    time_format: str | None = None
    category_col: str | None = None
    category_map: Mapping[str, str] = field(default_factory=dict)
    default_category: str | None = None
    location_col: str | None = None
    encoding: str = "utf-8"
    stray_check: bool = True
    detect_columns: tuple[str, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        def bad(msg: str) -> MappingError:
            return MappingError(f"mapping {self.name!r}: {msg}")

        lonlat = self.lon_col is not None or self.lat_col is not None
        xy = self.x_col is not None or self.y_col is not None
        if lonlat == xy:
            raise bad("give either lon_col+lat_col or x_col+y_col (+ coord_crs)")
        if lonlat and not (self.lon_col and self.lat_col):
            raise bad("lon_col and lat_col go together")
        if xy and not (self.x_col and self.y_col and self.coord_crs):
            raise bad("x_col, y_col and coord_crs go together")
        if (self.datetime_col is None) == (self.date_col is None):
            raise bad("give exactly one of datetime_col or date_col")
        if self.time_col is not None:
            if self.date_col is None:
                raise bad("time_col needs date_col")
            if self.time_format not in TIME_FORMATS:
                raise bad(f"time_format must be one of {list(TIME_FORMATS)}, not {self.time_format!r}")
        if (self.category_col is None) == (self.default_category is None):
            raise bad("give exactly one of category_col (+ category_map) or default_category")
        cats = set(POLICE_UK_CATEGORIES)
        if self.default_category is not None and self.default_category not in cats:
            raise bad(f"default_category {self.default_category!r} is not a police.uk crime type")
        wrong = sorted({v for v in self.category_map.values() if v not in cats})
        if wrong:
            raise bad(f"category_map targets {wrong} are not police.uk crime types {list(POLICE_UK_CATEGORIES)}")
        if self.encoding.lower().replace("_", "-") not in _ENCODINGS:
            raise bad(f"encoding must be one of {list(_ENCODINGS)}, not {self.encoding!r}")
        # A read-only, case-folded view: lookups are case-insensitive and the frozen object stays frozen.
        folded = {str(k).strip().casefold(): v for k, v in self.category_map.items()}
        object.__setattr__(self, "category_map", MappingProxyType(folded))
        object.__setattr__(self, "detect_columns", tuple(self.detect_columns))

    def columns(self) -> tuple[str, ...]:
        """Every source column the mapping reads (all must be in the file's header)."""
        names = (self.id_col, self.lon_col, self.lat_col, self.x_col, self.y_col, self.datetime_col,
                 self.date_col, self.time_col, self.category_col, self.location_col)
        return tuple(n for n in names if n is not None)

    def matches(self, header: list[str]) -> bool:
        """True when ``header`` has every column this mapping reads plus its ``detect_columns``."""
        have = set(header)
        return set(self.columns()) <= have and set(self.detect_columns) <= have

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str | None = None) -> GenericMapping:
        """Build a mapping from plain values (a parsed TOML/JSON table)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        label = name or str(data.get("name", "?"))
        if unknown:
            raise MappingError(f"mapping {label!r}: unknown keys {unknown}; allowed: {sorted(known)}")
        kw = dict(data)
        kw.setdefault("name", name or "custom")
        if "detect_columns" in kw:
            kw["detect_columns"] = tuple(kw["detect_columns"])
        if not isinstance(kw.get("category_map", {}), Mapping):
            raise MappingError(f"mapping {label!r}: category_map must be a table of source value -> police.uk type")
        try:
            return cls(**kw)
        except TypeError as exc:
            raise MappingError(f"mapping {label!r}: {exc}") from None


COLLISION_NOTE = (
    "Road traffic collisions are not police.uk crimes. They map to 'Other crime' so that they can share the "
    "pipeline; every severity (Slight/Serious/Fatal) is listed explicitly so that an unexpected value is "
    "quarantined rather than guessed. Severity itself is not kept in the incident table."
)

BUILTIN_MAPPINGS: dict[str, GenericMapping] = {
    m.name: m
    for m in (
        GenericMapping(
            name="nyc-vehicle-thefts",
            id_col="uid",
            lon_col="longitude",
            lat_col="latitude",
            datetime_col="date_single",
            datetime_format="%Y-%m-%d %H:%M",
            default_category="Vehicle crime",
            detect_columns=("date_start", "date_end", "census_block"),
            note="Crime Open Database NYC motor-vehicle thefts; date_single is the midpoint of the theft window.",
        ),
        GenericMapping(
            name="us-homicides-2015",
            id_col="uid",
            lon_col="longitude",
            lat_col="latitude",
            datetime_col="date_single",
            datetime_format="%Y-%m-%d %H:%M",
            category_col="offense_type",
            category_map={
                "murder and nonnegligent manslaughter": "Violence and sexual offences",
                "negligent manslaughter": "Violence and sexual offences",
            },
            location_col="address",
            stray_check=False,
            detect_columns=("city_name", "offense_code"),
            note="Nine US cities in one file, so the stray-point check is off (the cities are far apart by design).",
        ),
        GenericMapping(
            name="cambs-rtc",
            id_col="Reference",
            x_col="Easting",
            y_col="Northing",
            coord_crs="EPSG:27700",
            date_col="Date",
            date_format="%Y%m%d",
            time_col="Time",
            time_format="hhmm",
            category_col="Severity",
            category_map={"Slight": "Other crime", "Serious": "Other crime", "Fatal": "Other crime"},
            location_col="Location",
            encoding="cp1252",
            detect_columns=("Road_Class", "Number_Vehicles"),
            note=COLLISION_NOTE,
        ),
    )
}


def load_mapping(spec: str | Path | GenericMapping) -> GenericMapping:
    """Return a mapping from a built-in name, a ``.toml``/``.json`` file path, or a mapping itself.

    Raises
    ------
    MappingError
        Unknown name, unreadable file, or invalid content.
    """
    if isinstance(spec, GenericMapping):
        return spec
    s = str(spec)
    if s in BUILTIN_MAPPINGS:
        return BUILTIN_MAPPINGS[s]
    p = Path(s)
    if p.suffix.lower() not in (".toml", ".json"):
        raise MappingError(
            f"unknown mapping {s!r}: use one of {sorted(BUILTIN_MAPPINGS)} or a .toml/.json mapping file"
        )
    data = read_mapping_file(p, what="mapping file")
    return GenericMapping.from_dict(data, name=str(data.get("name", p.stem)))


def read_mapping_file(p: Path, *, what: str) -> dict[str, Any]:
    """The one table of a ``.toml`` or ``.json`` mapping file; :class:`MappingError` naming ``what`` if not."""
    if not p.is_file():
        raise MappingError(f"{what} {p} not found")
    try:
        raw = p.read_bytes()
        data = tomllib.loads(raw.decode("utf-8")) if p.suffix.lower() == ".toml" else json.loads(raw)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise MappingError(f"{what} {p.name} cannot be parsed: {exc}") from None
    if not isinstance(data, dict):
        raise MappingError(f"{what} {p.name} must hold one table/object")
    return data


def detect_builtin(header: list[str]) -> GenericMapping | None:
    """The built-in mapping whose columns all appear in ``header``, or None."""
    hits = [m for m in BUILTIN_MAPPINGS.values() if m.matches(header)]
    return hits[0] if len(hits) == 1 else None

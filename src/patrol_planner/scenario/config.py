"""Scenario files: TOML validated into typed, frozen parameter objects, then resolved once for the pipeline.

A scenario says which data to read, which area and night to plan for, how to score hotspots, which
units are on duty and how long the solver may think. Every table maps onto one pydantic model below;
unknown keys are errors (a typo must not silently fall back to a default). Times of day are parsed here
(``"22:00-06:00"`` becomes a pair of :class:`datetime.time`), so a bad time is a validation error naming
its field. :meth:`Scenario.resolved` then hands the pipeline everything it needs in one value:
absolute paths, the timezone object, durations in seconds, the hotspot model's keyword arguments and
the solver's. Overrides (``--seconds``, ``--seed``, ``compare --units``) go through :meth:`Scenario.replace`,
which validates like a file does. See ``docs/scenarios.md``.
"""

from __future__ import annotations

import glob
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from patrol_planner.errors import ScenarioError
from patrol_planner.hotspots.backtest import DEFAULT_BUDGETS
from patrol_planner.incidents.fields import check_date_range
from patrol_planner.scenario.programme_table import ProgrammeParams, normalise_programme_table
from patrol_planner.scenario.timetext import parse_hhmm, parse_window


def _hhmm(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


#: A time of day: written ``"HH:MM"`` in TOML and JSON, a :class:`datetime.time` in Python.
ClockTime = Annotated[time, BeforeValidator(lambda v: parse_hhmm(v) if isinstance(v, str) else v),
                      PlainSerializer(_hhmm, when_used="json")]
#: A window of the day: written ``"HH:MM-HH:MM"`` (the end may be on the next day), a (start, end) pair in Python.
Window = Annotated[tuple[time, time], BeforeValidator(lambda v: parse_window(v) if isinstance(v, str) else v),
                   PlainSerializer(lambda w: f"{_hhmm(w[0])}-{_hhmm(w[1])}", when_used="json")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Model):
    """One incident or intelligence file (or a glob of files) and how to read it."""

    path: str
    format: Literal["auto", "police_uk_street", "police_uk_api", "generic", "intelligence"] = "auto"
    mapping: str | None = None  # a named generic mapping or a mapping file, for format = "generic"


class DataConfig(_Model):
    incidents: list[Source] = Field(min_length=1)
    osm: str | None = None  # .osm.pbf; required when units are planned
    crs: str | None = None  # working CRS override; default: BNG in GB, else UTM
    # ONS folder with lsoa11_lsoa21_lookup.csv (districts of spots); default: the bundled Leicestershire subset
    ons: str | None = None

    @field_validator("incidents", mode="before")
    @classmethod
    def _plain_paths(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [{"path": s} if isinstance(s, str) else s for s in v]
        return v


class AreaConfig(_Model):
    """Area of interest as a lon/lat box [deg]; incidents outside are quarantined as ``outside_area``."""

    bbox: tuple[float, float, float, float] | None = None

    @field_validator("bbox")
    @classmethod
    def _bbox_ok(cls, v: tuple[float, float, float, float] | None) -> Any:
        if v is None:
            return v
        w, s, e, n = v
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            raise ValueError("bbox must be [west, south, east, north] in degrees with west < east, south < north")
        return v


class HotspotConfig(_Model):
    """``[hotspots]``: the hotspot model's parameters (same names as ``HotspotModel``) and the selection.

    A field named like a :class:`~patrol_planner.hotspots.HotspotModel` parameter goes to the model
    unchanged when set (unset keeps the model's default); ``weights`` overrides single categories of the
    harm table; ``top``, ``use_intelligence`` and ``exclude_locations`` choose what is planned.
    """

    cell_size_m: float | None = Field(default=None, gt=0)
    half_life_days: float | None = Field(default=None, gt=0)
    harm: Literal["cchi", "ons_css"] = "cchi"
    asb_weight: float | None = Field(default=None, ge=0)
    enforcement_weight: float | None = Field(default=None, ge=0)
    volume_weight: float | None = Field(default=None, ge=0)
    smoothing: float | None = Field(default=None, ge=0)
    grid: Literal["square", "hex"] | None = None
    ranker: Literal["blend", "auto", "weighted", "harm", "shrunk", "learned"] | None = None  # docs/hotspots.md
    auto_folds: int | None = Field(default=None, ge=1, le=12)  # months the "auto" ranker judges on
    weights: dict[str, float] = Field(default_factory=dict)  # per-category overrides
    top: int = Field(default=20, ge=1, le=500)
    use_intelligence: bool = True
    # Records at these police.uk location texts are set aside before scoring (in addition to institutions).
    exclude_locations: list[str] = Field(default_factory=list)
    # Institutions (hospitals, prisons, police stations, colleges: police.uk texts, and OSM amenity areas where
    # data.osm is given) are set aside by default, with a reason (places/institutions.py); keep some by name
    # (location text, place label, OSM name) or by cell id.
    set_aside_institutions: bool = True
    keep_institutions: list[str] = Field(default_factory=list)

    def model_params(self) -> dict[str, Any]:
        """Keyword arguments for ``HotspotModel``: every set field whose name is one of its parameters."""
        from patrol_planner.hotspots import HotspotModel, resolve_harm

        names = set(HotspotModel().get_params())
        kw = {k: v for k, v in self.model_dump(exclude_none=True).items() if k in names}
        if self.weights:
            from patrol_planner.incidents import POLICE_UK_CATEGORIES

            bad = sorted(set(self.weights) - set(POLICE_UK_CATEGORIES))
            if bad:
                raise ScenarioError(f"hotspots.weights names unknown categories {bad}; "
                                    f"use the police.uk types, e.g. {POLICE_UK_CATEGORIES[2]!r}")
            kw["harm"] = {**dict(resolve_harm(self.harm).weights), **self.weights}
        return kw


class VisitConfig(_Model):
    """``[visits]``: how long and how often a hotspot is visited (minutes in the file)."""

    dwell_min: float = Field(default=15, gt=0, le=240)
    max_visits: int = Field(default=2, ge=1, le=6)
    min_gap_min: float = Field(default=120, ge=0)
    repeat_factor: float = Field(default=0.5, gt=0, le=1)
    use_time_profile: bool = True


class PlaceConfig(_Model):
    name: str
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class UnitConfig(_Model):
    """``[[units]]``: one unit on duty. Times of day are local wall-clock times in the scenario's timezone."""

    id: str = Field(min_length=1, max_length=40)
    mode: Literal["drive", "walk"] = "drive"
    station: str | PlaceConfig  # a police station name from the extract, or an explicit place
    end_station: str | PlaceConfig | None = None
    shift: Window  # "22:00-06:00"
    earliest_leave: ClockTime | None = None  # "22:30": after the briefing
    break_min: float = Field(default=0, ge=0)
    break_window: Window | None = None  # "01:00-03:00"
    radius_m: float | None = Field(default=None, gt=0)  # foot patrols stay within this of their station
    sector: str | None = None  # a [[sectors]] name: the unit visits only spots and tasks inside it

    @model_validator(mode="after")
    def _break_fits(self) -> UnitConfig:
        a, b = self.shift
        shift_min = ((b.hour * 60 + b.minute) - (a.hour * 60 + a.minute)) % (24 * 60)
        if self.break_min >= shift_min:
            raise ValueError(f"break_min {self.break_min:g} is not shorter than the shift ({shift_min} min)")
        if self.break_min > 0 and self.break_window is None:
            raise ValueError("break_min is set but break_window is missing (e.g. '01:00-03:00')")
        return self


#: A lon/lat ring [deg, EPSG:4326]: at least three corners; the first need not be repeated at the end.
Ring = Annotated[list[tuple[float, float]], Field(min_length=3)]


def _ring_ok(ring: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
    if ring is None:
        return ring
    for lon, lat in ring:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"corner ({lon}, {lat}) is not a lon/lat pair in degrees")
    from shapely.geometry import Polygon

    poly = Polygon(ring)
    if not poly.is_valid or poly.area <= 0:
        raise ValueError("the polygon crosses itself or has no area (list its corners in order)")
    return ring


class TaskConfig(_Model):
    """``[[tasks]]``: a must-do visit (bail check, reassurance visit, licensed premises at closing time...).

    The plan serves it once, on scene for ``dwell_min`` wholly inside ``window`` (local time on the
    scenario's night), or the command stops naming it.
    """

    id: str = Field(min_length=1, max_length=60)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    address: str = Field(default="", max_length=200)  # shown to officers; the coordinates are what is routed
    window: Window
    dwell_min: float = Field(default=15, gt=0, le=240)
    unit: str | None = None  # only this unit may do it
    mode: Literal["drive", "walk"] | None = None  # only units of this mode may do it
    kind: Literal["bail_check", "reassurance", "premises", "other"] = "other"

    @model_validator(mode="after")
    def _one_of_unit_mode(self) -> TaskConfig:
        if self.unit and self.mode:
            raise ValueError("give unit or mode, not both")
        a, b = self.window
        win = ((b.hour * 60 + b.minute) - (a.hour * 60 + a.minute)) % (24 * 60)
        if win < self.dwell_min:
            raise ValueError(f"window {_hhmm(a)}-{_hhmm(b)} is shorter than dwell_min {self.dwell_min:g}")
        return self


class IntelVisitConfig(_Model):
    """``[[intel_visits]]``: a graded intelligence record with a time window, as an optional visit.

    ``ref`` is the record's ``intel_id`` in the scenario's intelligence file; its place, grading and
    category come from there (the free text never does). Its prize is its confidence times the harm of
    its category; a record whose handling code restricts it is routed but shown as "intelligence-led visit".
    """

    ref: str = Field(min_length=1, max_length=60)
    window: Window
    dwell_min: float | None = Field(default=None, gt=0, le=240)  # default: [visits] dwell_min


class ExclusionConfig(_Model):
    """``[[exclusions]]``: a no-go area (cordon, separately policed event). No stop inside while active;
    with ``avoid_roads`` no route through it either (for the whole night: see docs/scenarios.md)."""

    name: str = Field(min_length=1, max_length=60)
    polygon: Ring
    window: Window | None = None  # None: all night
    avoid_roads: bool = False

    _ring = field_validator("polygon")(classmethod(lambda cls, v: _ring_ok(v)))


class SectorConfig(_Model):
    """``[[sectors]]``: a named area units can be kept to: a lon/lat ``polygon``."""

    name: str = Field(min_length=1, max_length=60)
    polygon: Ring

    _ring = field_validator("polygon")(classmethod(lambda cls, v: _ring_ok(v)))


class CoverConfig(_Model):
    """``[cover]``: response cover. In each listed sector, at every minute of the shift, at least
    ``min_units`` units can reach the sector's cover point(s) within ``within_min`` minutes by road."""

    within_min: float = Field(gt=0, le=240)
    min_units: int = Field(default=1, ge=1, le=20)
    sectors: list[str] | None = None  # default: every [[sectors]] table
    points: dict[str, list[tuple[float, float]]] = Field(default_factory=dict)  # sector -> [[lon, lat], ...]


class SolverConfig(_Model):
    """``[solver]``: how long and how the router searches; maps field for field onto ``routing.SolveParams``.

    ``deterministic`` (default) stops the search on work counts (``restarts`` ruin-and-recreate rounds
    after the first search), so the same scenario and seed give the same plan on any machine;
    ``time_limit_s`` then only caps a runaway search (the plan's metrics say if the cap was hit, and
    then the plan may not be reproducible). With ``deterministic = false`` the search uses the whole
    ``time_limit_s``: often a little better, never reproducible.
    """

    time_limit_s: float = Field(default=30, gt=0, le=3600)
    seed: int = Field(default=0, ge=0, le=2**32 - 2)  # PyVRP takes unsigned 32-bit seeds, and seed + 1 is used too
    deterministic: bool = True
    restarts: int = Field(default=10, ge=0, le=1000)
    workers: int = Field(default=2, ge=1, le=2)  # processes searching in parallel (2 cores)
    search: Literal["auto", "lns", "ortools"] = "auto"  # docs/routing.md: which search improves the plan
    lns_iterations: int | None = Field(default=None, ge=1, le=1_000_000)  # None: grows with the possible visits

    def solve_params(self) -> Any:
        """The equivalent :class:`patrol_planner.routing.SolveParams`."""
        from patrol_planner.routing import SolveParams

        return SolveParams(**self.model_dump())


class BacktestConfig(_Model):
    """``[backtest]``: maps field for field onto ``hotspots.backtest.backtest`` (unset: its defaults)."""

    budgets: list[float] = Field(default_factory=lambda: list(DEFAULT_BUDGETS))
    folds: int | None = Field(default=None, ge=1, le=36)  # score the last N months; None: the backtest's default

    @field_validator("budgets")
    @classmethod
    def _budgets(cls, v: list[float]) -> list[float]:
        if not v or any(not 0 < b < 1 for b in v):
            raise ValueError("budgets are shares of the study area, each between 0 and 1")
        return v


@dataclass(frozen=True)
class IncidentGroup:
    """Incident files read in one ``ingest`` call: absolute paths, the format (None = sniff) and mapping."""

    paths: tuple[Path, ...]
    fmt: str | None
    mapping: str | None


@dataclass(frozen=True)
class ResolvedScenario:
    """A scenario resolved once for the pipeline: nothing left to parse, look up or convert.

    Attributes
    ----------
    scenario : Scenario
        The validated file it came from (recorded in the plan's provenance).
    tz : ZoneInfo
        The scenario's timezone; shift times become aware datetimes in it.
    incident_groups : tuple of IncidentGroup
        Incident files (absolute paths), grouped by format and mapping.
    osm : Path or None
        The road network extract (absolute), required to plan routes.
    ons : Path or None
        ONS folder with the LSOA -> district lookup (absolute); None: the bundled subset.
    as_of : datetime or None
        Only records before this count; naive local wall-clock time, the incident table's convention.
        None: the end of the newest record.
    night : date or None
        The date the shifts start on; None: the date of ``as_of``.
    hotspot_params : dict
        Keyword arguments of ``HotspotModel`` (see :meth:`HotspotConfig.model_params`).
    dwell_s, min_gap_s : float
        Time on scene per visit and least time between visits to one hotspot [s].
    solve_params : routing.SolveParams
        The solver's parameters.
    """

    scenario: Scenario
    tz: ZoneInfo
    incident_groups: tuple[IncidentGroup, ...]
    osm: Path | None
    as_of: datetime | None
    night: date | None
    hotspot_params: dict[str, Any]
    dwell_s: float
    min_gap_s: float
    solve_params: Any
    ons: Path | None = None

    @property
    def name(self) -> str:
        return self.scenario.name


class Scenario(_Model):
    """A whole scenario file."""

    name: str
    description: str = ""
    timezone: str = "Europe/London"
    night: date | None = None  # the date the shift starts; default: the day of as_of
    as_of: datetime | None = None  # only data before this is used; default: end of the newest record
    data: DataConfig
    area: AreaConfig = AreaConfig()
    hotspots: HotspotConfig = HotspotConfig()
    visits: VisitConfig = VisitConfig()
    units: list[UnitConfig] = Field(default_factory=list)
    solver: SolverConfig = SolverConfig()
    backtest: BacktestConfig | None = None
    programme: ProgrammeParams | None = None  # a hot-spot programme's design (docs/programme.md)
    tasks: list[TaskConfig] = Field(default_factory=list)
    intel_visits: list[IntelVisitConfig] = Field(default_factory=list)
    exclusions: list[ExclusionConfig] = Field(default_factory=list)
    sectors: list[SectorConfig] = Field(default_factory=list)
    cover: CoverConfig | None = None
    base_dir: Path = Path(".")  # set by load_scenario: where relative paths start

    @field_validator("night", "as_of")
    @classmethod
    def _date_in_range(cls, v: date | None, info: Any) -> date | None:
        return check_date_range(v, info.field_name) if v is not None else v

    @field_validator("programme", mode="before")
    @classmethod
    def _programme_table(cls, v: Any) -> Any:
        return normalise_programme_table(v) if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _units_unique(self) -> Scenario:
        ids = [u.id for u in self.units]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"unit ids must be unique; repeated: {', '.join(dup)}")
        if self.units and not self.data.osm:
            raise ValueError("units are listed but data.osm (the road network .osm.pbf) is missing")
        return self

    @model_validator(mode="after")
    def _tasking_refs(self) -> Scenario:
        """Names that refer to each other exist: unit sectors, task units, cover sectors; ids are unique."""
        sectors = [x.name for x in self.sectors]
        units = {u.id for u in self.units}
        for label, names in (("sector", sectors), ("task", [t.id for t in self.tasks]),
                             ("exclusion", [e.name for e in self.exclusions])):
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"{label} names must be unique; repeated: {', '.join(dup)}")
        for u in self.units:
            if u.sector is not None and u.sector not in sectors:
                raise ValueError(f"unit {u.id!r}: sector {u.sector!r} is not a [[sectors]] name "
                                 f"(known: {', '.join(sectors) or 'none'})")
        for t in self.tasks:
            if t.unit is not None and t.unit not in units:
                raise ValueError(f"task {t.id!r}: unit {t.unit!r} is not on duty (known: {', '.join(sorted(units))})")
        if self.cover is not None:
            if not self.sectors:
                raise ValueError("[cover] needs [[sectors]]: cover is kept per sector")
            for name in [*(self.cover.sectors or []), *self.cover.points]:
                if name not in sectors:
                    raise ValueError(f"cover: {name!r} is not a [[sectors]] name (known: {', '.join(sectors)})")
        return self

    def resolve(self, path: str) -> list[Path]:
        """Absolute paths (globs allowed) relative to the scenario file, sorted; raise if nothing matches."""
        p = Path(path).expanduser()
        if not p.is_absolute():
            p = self.base_dir / p
        p = Path(os.path.normpath(p.absolute()))  # no "scenarios/../data" in what the pipeline reports
        if any(ch in str(p) for ch in "*?["):
            hits = sorted(Path(h) for h in glob.glob(str(p)))
        else:
            hits = [p] if p.exists() else []
        if not hits:
            raise ScenarioError(f"scenario {self.name!r}: no file matches {path!r} (looked at {p})")
        return hits

    def resolved(self) -> ResolvedScenario:
        """Resolve paths, timezone, durations and parameter objects once (see :class:`ResolvedScenario`)."""
        try:
            tz = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScenarioError(f"scenario {self.name!r}: timezone {self.timezone!r} is unknown "
                                "(e.g. Europe/London)") from None
        groups: dict[tuple[str, str | None], list[Path]] = {}
        for src in self.data.incidents:
            mapping = src.mapping
            if mapping and Path(mapping).suffix != "":  # a mapping file, not a named mapping
                mapping = str(self.resolve(mapping)[0])
            groups.setdefault((src.format, mapping), []).extend(self.resolve(src.path))
        try:
            hotspot_params = self.hotspots.model_params()
        except ScenarioError as exc:
            raise ScenarioError(f"scenario {self.name!r}: {exc}") from None
        return ResolvedScenario(
            scenario=self, tz=tz,
            incident_groups=tuple(IncidentGroup(tuple(ps), None if fmt == "auto" else fmt, mapping)
                                  for (fmt, mapping), ps in groups.items()),
            osm=self.resolve(self.data.osm)[0] if self.data.osm else None,
            ons=self.resolve(self.data.ons)[0] if self.data.ons else None,
            as_of=self.as_of, night=self.night, hotspot_params=hotspot_params,
            dwell_s=self.visits.dwell_min * 60.0, min_gap_s=self.visits.min_gap_min * 60.0,
            solve_params=self.solver.solve_params())

    def replace(self, **changes: Any) -> Scenario:
        """A validated copy with ``changes`` merged in (tables as dicts merge key by key).

        ``s.replace(solver={"time_limit_s": 5})`` checks the new value as a scenario file would, so an
        override can never produce a scenario that a file could not.
        """
        def merge(base: dict[str, Any], upd: Mapping[str, Any]) -> dict[str, Any]:
            out = dict(base)
            for k, v in upd.items():
                out[k] = merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
            return out

        return scenario_from_dict(merge(self.model_dump(exclude={"base_dir"}), changes),
                                  base_dir=self.base_dir, source=f"{self.name!r} with overrides")

    def with_units(self, n: int) -> Scenario:
        """A copy with ``n`` units: the first ``n`` listed, or the listed ones repeated (ids suffixed)."""
        if not self.units:
            raise ScenarioError(f"scenario {self.name!r} has no units to vary")
        units = []
        for i in range(n):
            u = self.units[i % len(self.units)].model_dump()
            units.append(u if i < len(self.units) else {**u, "id": f"{u['id']}-{i + 1}"})
        return self.replace(units=units)


def _format_errors(err: ValidationError, source: str) -> str:
    lines = [f"scenario {source} is invalid:"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"  {loc}: {e['msg']}")
    return "\n".join(lines)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file; raise :class:`ScenarioError` naming each bad field."""
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"scenario file not found: {p}")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"scenario {p} is not valid TOML: {exc}") from None
    return scenario_from_dict(raw, base_dir=p.resolve().parent, source=str(p))


def scenario_from_dict(raw: dict[str, Any], *, base_dir: Path, source: str = "<dict>") -> Scenario:
    """Validate a scenario given as a dict (e.g. built in a notebook); relative paths start at ``base_dir``."""
    try:
        return Scenario.model_validate({**raw, "base_dir": Path(base_dir).absolute()})
    except ValidationError as exc:
        raise ScenarioError(_format_errors(exc, source)) from None

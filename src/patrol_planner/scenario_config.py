"""Scenario files: TOML validated into typed, frozen parameter objects.

A scenario says which data to read, which area and night to plan for, how to score hotspots, which
units are on duty and how long the solver may think. Every table maps onto one pydantic model below;
unknown keys are errors (a typo must not silently fall back to a default). Paths are relative to the
scenario file. See ``docs/scenarios.md``.
"""

from __future__ import annotations

import glob
import re
import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from patrol_planner.errors import ScenarioError

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(text: str) -> time:
    """``"22:00"`` -> :class:`datetime.time`."""
    m = _HHMM.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a time of day HH:MM")
    return time(int(m.group(1)), int(m.group(2)))


def parse_window(text: str) -> tuple[time, time]:
    """``"22:00-06:00"`` -> (start, end); the end may be on the next day."""
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not a window HH:MM-HH:MM")
    a, b = parse_hhmm(parts[0]), parse_hhmm(parts[1])
    if a == b:
        raise ValueError(f"window {text!r} has zero length")
    return a, b


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
    stations_from_osm: bool = True  # amenity=police in the extract can be named as unit stations

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
    cell_size_m: float | None = Field(default=None, gt=0)
    half_life_days: float | None = Field(default=None, gt=0)
    harm: Literal["cchi", "ons_css"] = "cchi"
    asb_weight: float | None = Field(default=None, ge=0)
    enforcement_weight: float | None = Field(default=None, ge=0)
    volume_weight: float | None = Field(default=None, ge=0)
    smoothing: float | None = Field(default=None, ge=0)
    grid: Literal["square", "hex"] | None = None
    weights: dict[str, float] = Field(default_factory=dict)  # per-category overrides
    top: int = Field(default=20, ge=1, le=500)
    use_intelligence: bool = True
    # police.uk places crimes recorded at a police station (custody, reports at the front desk) or inside a
    # prison at those buildings: no street patrol prevents them, so by default they do not make hotspots.
    exclude_locations: list[str] = Field(default_factory=lambda: ["On or near Police Station",
                                                                   "On or near Prison"])


class VisitConfig(_Model):
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
    id: str = Field(min_length=1, max_length=40)
    mode: Literal["drive", "walk"] = "drive"
    station: str | PlaceConfig  # a police station name from the extract, or an explicit place
    end_station: str | PlaceConfig | None = None
    shift: str  # "22:00-06:00"
    earliest_leave: str | None = None  # "22:30": after the briefing
    break_min: float = Field(default=0, ge=0)
    break_window: str | None = None  # "01:00-03:00"
    radius_m: float | None = Field(default=None, gt=0)  # foot patrols stay within this of their station

    @field_validator("shift", "break_window")
    @classmethod
    def _window(cls, v: str | None) -> str | None:
        if v is not None:
            parse_window(v)
        return v

    @field_validator("earliest_leave")
    @classmethod
    def _hhmm(cls, v: str | None) -> str | None:
        if v is not None:
            parse_hhmm(v)
        return v

    @model_validator(mode="after")
    def _break_fits(self) -> UnitConfig:
        a, b = parse_window(self.shift)
        shift_min = ((b.hour * 60 + b.minute) - (a.hour * 60 + a.minute)) % (24 * 60)
        if self.break_min >= shift_min:
            raise ValueError(f"break_min {self.break_min:g} is not shorter than the shift ({shift_min} min)")
        if self.break_min > 0 and self.break_window is None:
            raise ValueError("break_min is set but break_window is missing (e.g. '01:00-03:00')")
        return self


class SolverConfig(_Model):
    """How long and how the router searches.

    ``deterministic`` (default) stops the search on work counts (``restarts`` ruin-and-recreate rounds
    after the first search), so the same scenario and seed give the same plan on any machine;
    ``time_limit_s`` then only caps a runaway search (the plan's metrics say if the cap was hit, and
    then the plan may not be reproducible). With ``deterministic = false`` the search uses the whole
    ``time_limit_s``: often a little better, never reproducible.
    """

    time_limit_s: float = Field(default=30, gt=0, le=3600)
    seed: int = 0
    deterministic: bool = True
    restarts: int = Field(default=10, ge=0, le=1000)
    workers: int = Field(default=2, ge=1, le=2)  # processes searching in parallel (2 cores)


class BacktestConfig(_Model):
    budgets: list[float] = Field(default_factory=lambda: [0.001, 0.01, 0.05])

    @field_validator("budgets")
    @classmethod
    def _budgets(cls, v: list[float]) -> list[float]:
        if not v or any(not 0 < b < 1 for b in v):
            raise ValueError("budgets are shares of the study area, each between 0 and 1")
        return v


class Scenario(_Model):
    """A whole scenario file."""

    name: str
    description: str = ""
    timezone: str = "Europe/London"
    night: date | None = None  # the date the shift starts; default: the day of as_of
    as_of: datetime | None = None  # only data before this is used; default: end of the newest month
    data: DataConfig
    area: AreaConfig = AreaConfig()
    hotspots: HotspotConfig = HotspotConfig()
    visits: VisitConfig = VisitConfig()
    units: list[UnitConfig] = Field(default_factory=list)
    solver: SolverConfig = SolverConfig()
    backtest: BacktestConfig | None = None
    base_dir: Path = Path(".")  # set by load_scenario: where relative paths start

    @model_validator(mode="after")
    def _units_unique(self) -> Scenario:
        ids = [u.id for u in self.units]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"unit ids must be unique; repeated: {', '.join(dup)}")
        if self.units and not self.data.osm:
            raise ValueError("units are listed but data.osm (the road network .osm.pbf) is missing")
        return self

    def resolve(self, path: str) -> list[Path]:
        """Paths (globs allowed) relative to the scenario file, sorted; raise if nothing matches."""
        p = Path(path).expanduser()
        if not p.is_absolute():
            p = self.base_dir / p
        if any(ch in str(p) for ch in "*?["):
            hits = sorted(Path(h) for h in glob.glob(str(p)))
        else:
            hits = [p] if p.exists() else []
        if not hits:
            raise ScenarioError(f"scenario {self.name!r}: no file matches {path!r} (looked at {p})")
        return hits

    def with_units(self, n: int) -> Scenario:
        """A copy with ``n`` units: the first ``n`` listed, or the listed ones repeated (ids suffixed)."""
        if not self.units:
            raise ScenarioError(f"scenario {self.name!r} has no units to vary")
        units = []
        for i in range(n):
            u = self.units[i % len(self.units)]
            units.append(u if i < len(self.units) else u.model_copy(update={"id": f"{u.id}-{i + 1}"}))
        return self.model_copy(update={"units": units})


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
    """Validate a scenario given as a dict (e.g. built in a notebook)."""
    try:
        return Scenario.model_validate({**raw, "base_dir": base_dir})
    except ValidationError as exc:
        raise ScenarioError(_format_errors(exc, source)) from None

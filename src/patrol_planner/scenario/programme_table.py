"""The ``[programme]`` table of a scenario: a hot-spot programme's design as a validated parameter object.

It lives with the other scenario tables so that a scenario holding a programme validates in one pass; the
programme stage (:mod:`patrol_planner.programme`) turns it into spots and a schedule.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from patrol_planner.incidents.fields import check_date_range
from patrol_planner.scenario.timetext import parse_hhmm, parse_window


class SpotPoint(BaseModel):
    """A user-listed hot spot given by a point [deg, EPSG:4326]: the grid cell holding it becomes the spot."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    name: str | None = Field(default=None, max_length=120)


class ProgrammeParams(BaseModel):
    """A hot-spot programme design (the ``[programme]`` table).

    Attributes
    ----------
    start_date : date
        First programme day (local calendar date).
    days : int
        Length of the programme [days], 1..730.
    day_starts_at : str
        ``"HH:MM"``: a programme day runs from this local time to the same time the next day.
    patrol_window : str
        ``"HH:MM-HH:MM"`` local; may cross midnight (``"15:00-00:00"``).
    spots : int
        Number of hot spots chosen by the hotspot model (ignored when ``spot_ids``/``spot_points`` list them).
    spot_size_m : float
        Side of a square spot cell [m] (150 in the Southend pilot).
    separation_cells : int
        Chosen spots are more than this many cells apart (1: no two spots touch, diagonals included).
    spot_ids, spot_points
        Spots listed by the user: grid cell ids at ``spot_size_m``, or points whose cell is the spot.
    visits, minutes
        Dose per treated day: ``visits`` patrols of ``minutes`` [min] each (Koper 1995: 10-15 min).
    randomisation : {"equal", "harm"}
        ``equal``: exactly ``treated_per_day`` spots a day, each with the same probability;
        ``harm``: a per-spot probability rising with the spot's harm score between ``p_floor`` and ``p_cap``,
        scaled so the expected number treated a day is ``treated_per_day``.
    treated_per_day : int
        K: spots treated per day (exact for ``equal``, expected for ``harm``).
    p_floor, p_cap : float
        Bounds of the per-spot probability for ``harm`` [-].
    block_days : int, optional
        Permuted-block length [days]; default the shortest whole block of at least 7 days.
    max_consecutive_treated, max_consecutive_control : int, optional
        Longest allowed run of treated (control) days at one spot.
    history_days : int, optional
        Days of history before the start date used for the spot rates and scores; default all.
    dispersion : float
        Variance / mean of spot-day counts assumed by the power calculation (1 = Poisson) [-].
    power, alpha : float
        Target power and two-sided level of the minimum detectable effect [-].
    seed : int
        Seed of the numpy Generator that draws the schedule.
    unreachable : {"refuse", "warn"}
        With ``[[units]]`` and ``data.osm``: a spot no unit can reach, patrol for ``minutes`` and leave in
        time within the patrol window (and its ``radius_m``) refuses the design (``refuse``) or is only
        reported (``warn``); see :mod:`patrol_planner.programme.reach`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    start_date: date
    days: int = Field(ge=1, le=730)
    day_starts_at: str = "06:00"
    patrol_window: str
    spots: int = Field(default=20, ge=2, le=500)
    spot_size_m: float = Field(default=150.0, ge=100, le=1000)
    separation_cells: int = Field(default=1, ge=0, le=10)
    spot_ids: list[str] | None = None
    spot_points: list[SpotPoint] | None = None
    visits: int = Field(default=1, ge=1, le=10)
    minutes: float = Field(default=15.0, gt=0, le=240)
    randomisation: Literal["equal", "harm"] = "equal"
    treated_per_day: int = Field(ge=1)
    p_floor: float = Field(default=0.2, gt=0, lt=1)
    p_cap: float = Field(default=0.8, gt=0, lt=1)
    block_days: int | None = Field(default=None, ge=1, le=730)
    max_consecutive_treated: int | None = Field(default=None, ge=1)
    max_consecutive_control: int | None = Field(default=None, ge=1)
    history_days: int | None = Field(default=None, ge=7)
    dispersion: float = Field(default=1.0, ge=1.0, le=50.0)
    power: float = Field(default=0.8, gt=0.05, lt=1)
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    seed: int = Field(default=0, ge=0)
    unreachable: Literal["refuse", "warn"] = "refuse"

    @field_validator("start_date")
    @classmethod
    def _start_in_range(cls, v: date) -> date:
        return check_date_range(v, "start_date")

    @field_validator("day_starts_at")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        parse_hhmm(v)
        return v

    @field_validator("patrol_window")
    @classmethod
    def _window(cls, v: str) -> str:
        parse_window(v)
        return v

    @field_validator("spot_ids")
    @classmethod
    def _ids_unique(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and (len(v) < 2 or len(set(v)) != len(v)):
            raise ValueError("list at least two distinct cell ids")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ProgrammeParams:
        if self.spot_ids is not None and self.spot_points is not None:
            raise ValueError("give spot_ids or spot_points, not both")
        n = self.n_spots
        if self.treated_per_day >= n:
            raise ValueError(f"treated_per_day ({self.treated_per_day}) must be below the number of spots ({n}): "
                             "a programme needs control spots every day")
        if self.p_floor > self.p_cap:
            raise ValueError(f"p_floor ({self.p_floor:g}) is above p_cap ({self.p_cap:g})")
        if self.randomisation == "harm" and not self.p_floor * n <= self.treated_per_day <= self.p_cap * n:
            raise ValueError(f"treated_per_day ({self.treated_per_day}) cannot be met with p_floor "
                             f"{self.p_floor:g} and p_cap {self.p_cap:g} over {n} spots")
        return self

    @property
    def n_spots(self) -> int:
        """Number of spots the programme will hold."""
        if self.spot_ids is not None:
            return len(self.spot_ids)
        if self.spot_points is not None:
            return len(self.spot_points)
        return self.spots

    def window_times(self) -> tuple[str, str]:
        """``(start, end)`` of the patrol window as ``"HH:MM"`` strings."""
        a, b = parse_window(self.patrol_window)
        return a.strftime("%H:%M"), b.strftime("%H:%M")


def normalise_programme_table(table: dict[str, Any]) -> dict[str, Any]:
    """The table as TOML gives it, made fit for the strict model (dates as text, whole-number floats).

    Raises ``ValueError`` for a start date that is not YYYY-MM-DD.
    """
    table = dict(table)
    if isinstance(table.get("start_date"), str):
        try:
            table["start_date"] = date.fromisoformat(table["start_date"])
        except ValueError:
            raise ValueError(f"programme.start_date: not a date YYYY-MM-DD ({table['start_date']!r})") from None
    for k in ("spot_size_m", "minutes", "p_floor", "p_cap", "dispersion", "power", "alpha"):
        if isinstance(table.get(k), int) and not isinstance(table.get(k), bool):
            table[k] = float(table[k])  # TOML writes 150 for 150.0; strict mode would refuse the int
    if isinstance(table.get("spot_points"), list):
        table["spot_points"] = [
            {k: float(v) if k in ("lon", "lat") and isinstance(v, int) else v for k, v in p.items()}
            if isinstance(p, dict) else p for p in table["spot_points"]]
    return table

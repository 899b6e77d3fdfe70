"""The events a live night takes in, as one pydantic model (``docs/live.md`` lists the fields per kind).

Times are aware datetimes; positions lon/lat [deg, EPSG:4326]; ``accuracy_m`` [m]; ``dwell_min`` [min];
``prize`` [harm]. An event's ``kind`` decides which fields it needs; :meth:`Event.check_fields` says which
one is missing in one line, so the file reader can quarantine the row with that reason.
"""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Every event kind, in the order docs/live.md describes them.
EVENT_KINDS: tuple[str, ...] = ("position", "status", "arrive", "leave", "task_added", "task_cancelled",
                                "intel_added", "spot_cancelled")
#: Fields each kind needs besides ``time`` and ``kind``.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "position": ("unit", "lon", "lat"),
    "status": ("unit", "status"),
    "arrive": ("unit", "site_id"),
    "leave": ("unit", "site_id"),
    "task_added": ("site_id", "lon", "lat", "window", "dwell_min"),
    "task_cancelled": ("site_id",),
    "intel_added": ("site_id", "lon", "lat", "window", "dwell_min", "prize"),
    "spot_cancelled": ("site_id",),
}
#: Kinds that change what the units should do: a re-plan is due after each.
REPLAN_KINDS = frozenset({"status", "task_added", "task_cancelled", "intel_added", "spot_cancelled"})


class UnitStatus(StrEnum):
    """A unit's status: free to patrol, committed to a call (until a time or until cleared), or gone home."""

    available = "available"
    committed = "committed"
    off_duty = "off_duty"


class Event(BaseModel):
    """One event of the night. ``seq`` is its row in the file (or its arrival order through the API)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time: datetime
    kind: str
    unit: str | None = None
    device: str | None = None
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    accuracy_m: float | None = Field(None, ge=0, le=10_000)
    status: UnitStatus | None = None
    #: a committed unit's expected clear time; None = until cleared by an ``available`` status
    until: datetime | None = None
    site_id: str | None = None
    #: a task's or intelligence item's window, local wall-clock times
    window: tuple[time, time] | None = None
    dwell_min: float | None = Field(None, gt=0, le=240)
    prize: float | None = Field(None, ge=0)
    seq: int = 0

    @field_validator("time", "until")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("needs a UTC offset (e.g. 2022-09-02T23:10:00+01:00)")
        return v

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        if v not in EVENT_KINDS:
            raise ValueError(f"unknown kind {v!r}; one of {', '.join(EVENT_KINDS)}")
        return v

    @model_validator(mode="after")
    def check_fields(self) -> Event:
        missing = [f for f in REQUIRED_FIELDS[self.kind] if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.kind} event needs {', '.join(missing)}")
        if self.until is not None and self.until <= self.time:
            raise ValueError("until is not after the event's time")
        return self

    @property
    def t_key(self) -> tuple[float, int]:
        """Sort key: time [s since epoch], then file order."""
        return (self.time.timestamp(), self.seq)

"""Local wall-clock times and real instants across clock changes (daylight saving time).

Python subtracts and compares two datetimes that share one ``tzinfo`` by their wall-clock readings, so a
22:00-06:00 shift "lasts" 8 h on the night the clocks go forward (it lasts 7 h) or back (9 h). Every
duration and comparison here goes through UTC; local times are for reading and display only.

A local time that is not exactly one instant is resolved by one rule (``docs/scenarios.md``):

* **gap** (spring: 01:00-02:00 in Europe/London does not happen): a shift start or end there is refused;
  any other time (a break window, the earliest leave, a programme's patrol window or day start) is moved
  to the moment the clocks change (01:30 becomes 02:00 BST);
* **fold** (autumn: 01:00-02:00 happens twice): the first occurrence (``fold=0``, still summer time).

This module imports nothing from the package but its errors, so every stage can use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Literal

from patrol_planner.errors import ScenarioError

#: A scan for clock changes steps this far [s]; no zone changes its offset twice within it.
_SCAN_STEP_S = 900


def kind(day: date, t: time, tz: tzinfo) -> Literal["normal", "gap", "fold"]:
    """Whether the wall-clock time ``t`` on ``day`` in ``tz`` happens once, never (gap) or twice (fold)."""
    d0 = datetime.combine(day, t, tzinfo=tz)
    off0, off1 = d0.utcoffset(), d0.replace(fold=1).utcoffset()
    if off0 == off1:
        return "normal"
    # PEP 495: in a gap fold=0 takes the offset before the change (the smaller when clocks go forward),
    # in a fold fold=0 is the first occurrence (the larger offset, summer time).
    return "gap" if off0 < off1 else "fold"  # type: ignore[operator]


def real_s(a: datetime, b: datetime) -> float:
    """Real seconds from ``a`` to ``b`` (both aware), whatever their tzinfo or wall-clock readings [s]."""
    return (b.astimezone(UTC) - a.astimezone(UTC)).total_seconds()


def instant_key(t: datetime) -> datetime:
    """Sort/compare key: the UTC instant (``min(..., key=instant_key)`` is the real earliest)."""
    return t.astimezone(UTC)


def plus_s(t: datetime, seconds: float, tz: tzinfo | None = None) -> datetime:
    """The instant ``seconds`` [s] after ``t``, as a local time in ``tz`` (default: ``t``'s zone)."""
    return (t.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(tz or t.tzinfo)


def fixed_offset(t: datetime) -> datetime:
    """The same instant with a fixed-offset tzinfo named like the zone's (``BST``).

    Arithmetic between such values is real time, as it is for values read back from ISO 8601 text, so a
    plan's stop times subtract correctly across a clock change.
    """
    off = t.utcoffset()
    if off is None:
        raise ValueError("fixed_offset needs a timezone-aware datetime")
    return t.replace(tzinfo=timezone(off, t.tzname()), fold=0)


def _transition(lo: datetime, hi: datetime, tz: tzinfo) -> datetime:
    """The first instant (to the second) in ``(lo, hi]`` (UTC) whose offset in ``tz`` differs from ``lo``'s."""
    off = lo.astimezone(tz).utcoffset()
    while (hi - lo).total_seconds() > 1:
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == off:
            lo = mid
        else:
            hi = mid
    # lo < change <= hi, hi - lo <= 1 s, and offsets change on whole seconds: the change is lo's next second.
    return lo.replace(microsecond=0) + timedelta(seconds=1)


def local_moment(day: date, t: time, tz: tzinfo, *, gap: Literal["refuse", "forward"], what: str) -> datetime:
    """The instant wall-clock ``t`` on ``day`` in ``tz`` denotes, by the module's rule.

    ``what`` names the time in the refusal (``"unit 'A1': shift start"``).

    Raises
    ------
    ScenarioError
        ``t`` falls in a gap and ``gap="refuse"``.
    """
    d0 = datetime.combine(day, t, tzinfo=tz)
    k = kind(day, t, tz)
    if k != "gap":
        return d0  # fold=0: the first occurrence of a time that happens twice
    # In the gap, fold=1 reads t with the offset after the change (an instant before it), fold=0 with the
    # offset before (an instant after it): the change lies between.
    change = _transition(d0.replace(fold=1).astimezone(UTC), d0.astimezone(UTC), tz).astimezone(tz)
    before = plus_s(change, -1, tz)
    if gap == "refuse":
        raise ScenarioError(
            f"{what} {t:%H:%M} on {day.isoformat()} does not exist in {tz}: the clocks go forward from "
            f"{_wall(before, 1)} to {change:%H:%M} that night; give a time before {_wall(before, 1)} or from "
            f"{change:%H:%M}")
    return change


def _wall(before: datetime, add_s: int) -> str:
    """Wall-clock reading ``add_s`` seconds after ``before`` with ``before``'s offset (the gap's start)."""
    return f"{(before.replace(tzinfo=None) + timedelta(seconds=add_s)):%H:%M}"


@dataclass(frozen=True)
class ClockChange:
    """One change of a zone's UTC offset.

    Attributes
    ----------
    at : datetime
        The instant of the change (aware, in the zone, the new offset).
    before, after : timedelta
        UTC offsets before and after.
    name_before, name_after : str
        The zone's abbreviations (``GMT``, ``BST``).
    wall_before : datetime
        The naive wall-clock reading at which the clocks change (01:00 in spring and 02:00 in autumn, UK).
    """

    at: datetime
    before: timedelta
    after: timedelta
    name_before: str
    name_after: str
    wall_before: datetime

    @property
    def forward(self) -> bool:
        """True when the clocks go forward (an hour is lost)."""
        return self.after > self.before

    @property
    def step_s(self) -> float:
        """Size of the change [s], positive."""
        return abs((self.after - self.before).total_seconds())


def clock_changes(start: datetime, end: datetime, tz: tzinfo) -> list[ClockChange]:
    """The changes of ``tz``'s UTC offset between the instants ``start`` and ``end`` (aware), in order."""
    out = []
    t, stop = start.astimezone(UTC), end.astimezone(UTC)
    step = timedelta(seconds=_SCAN_STEP_S)
    while t < stop:
        nxt = min(t + step, stop)
        a, b = t.astimezone(tz), nxt.astimezone(tz)
        if a.utcoffset() != b.utcoffset():
            at = _transition(t, nxt, tz).astimezone(tz)
            prev = plus_s(at, -1, tz)
            out.append(ClockChange(at=at, before=prev.utcoffset(), after=at.utcoffset(),  # type: ignore[arg-type]
                                   name_before=str(prev.tzname()), name_after=str(at.tzname()),
                                   wall_before=prev.replace(tzinfo=None, fold=0) + timedelta(seconds=1)))
        t = nxt
    return out

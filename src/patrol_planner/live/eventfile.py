"""Event files (CSV) for replay: a strict reader that quarantines bad rows with a reason, and a writer.

The header must name ``time`` and ``kind``; every other column is one of :data:`EVENT_COLUMNS` (an unknown
column is an error for the whole file, so a misspelt ``untill`` never silently drops data). Empty cells are
missing values. A row is quarantined, never dropped silently, with one of :data:`QUARANTINE_REASONS`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from patrol_planner.errors import InputFileError
from patrol_planner.live.events import Event

#: Columns of an event file, in the order the writer puts them.
EVENT_COLUMNS: tuple[str, ...] = ("time", "kind", "unit", "device", "lon", "lat", "accuracy_m", "status", "until",
                                  "site_id", "window", "dwell_min", "prize")
#: Why a row is set aside.
QUARANTINE_REASONS: dict[str, str] = {
    "bad_value": "a field is missing or cannot be read",
    "out_of_order": "earlier than an event already taken from the same unit (or, without a unit, the control room)",
    "duplicate": "the same event again",
    "unknown_unit": "the unit is not on tonight's plan",
    "unknown_device": "the device is registered to another unit",
    "outside_area": "the place is far outside the force area",
}
QUARANTINE_COLUMNS: tuple[str, ...] = ("row", "reason", "detail", "time", "kind", "unit")
#: Places farther than this beyond the plan's bounding box are quarantined [km].
DEFAULT_AREA_MARGIN_KM = 20.0
_KM_PER_DEG_LAT = 111.32


@dataclass
class EventCheck:
    """The rules a stream of events is checked against, and what it has seen so far (the reader and the
    web API share it, so a position posted twice or late is treated the same way in both).

    ``bbox_lonlat`` (west, south, east, north) [deg] of the plan's places; ``margin_km`` [km] around it.
    """

    units: frozenset[str]
    bbox_lonlat: tuple[float, float, float, float]
    margin_km: float = DEFAULT_AREA_MARGIN_KM
    devices: dict[str, str] = field(default_factory=dict)  # device -> unit
    last_s: dict[str, float] = field(default_factory=dict)  # stream -> latest accepted time [s since epoch]
    seen: set[tuple[Any, ...]] = field(default_factory=set)

    def reason(self, ev: Event) -> tuple[str, str] | None:
        """``(reason, detail)`` when the event must be quarantined, else ``None`` (and it is recorded)."""
        key = (ev.kind, ev.unit, ev.time.timestamp(), ev.lon, ev.lat, ev.status, ev.until, ev.site_id)
        if key in self.seen:
            return "duplicate", f"{ev.kind} at {ev.time.isoformat()}"
        if ev.unit is not None and ev.unit not in self.units:
            return "unknown_unit", f"unit {ev.unit!r}"
        if ev.device is not None and self.devices.get(ev.device, ev.unit) != ev.unit:
            return "unknown_device", f"device {ev.device!r} belongs to {self.devices[ev.device]!r}"
        if ev.lon is not None and ev.lat is not None and not self._inside(ev.lon, ev.lat):
            return "outside_area", f"({ev.lon:.5f}, {ev.lat:.5f}) is more than {self.margin_km:g} km outside"
        stream = ev.unit or "control"
        t = ev.time.timestamp()
        if t < self.last_s.get(stream, -math.inf):
            return "out_of_order", f"{ev.time.isoformat()} after an event of {stream} at a later time"
        self.seen.add(key)
        self.last_s[stream] = t
        if ev.device is not None and ev.unit is not None:
            self.devices.setdefault(ev.device, ev.unit)
        return None

    def _inside(self, lon: float, lat: float) -> bool:
        w, s, e, n = self.bbox_lonlat
        dlat = self.margin_km / _KM_PER_DEG_LAT
        dlon = self.margin_km / (_KM_PER_DEG_LAT * max(0.1, math.cos(math.radians((s + n) / 2))))
        return w - dlon <= lon <= e + dlon and s - dlat <= lat <= n + dlat


@dataclass(frozen=True)
class EventLog:
    """Events accepted, in time order, and the rows set aside (:data:`QUARANTINE_COLUMNS`)."""

    events: tuple[Event, ...]
    quarantine: pd.DataFrame
    rows_read: int


def _cell(row: dict[str, str], name: str) -> str | None:
    v = row.get(name)
    return None if v is None or v.strip() == "" else v.strip()


def event_from_row(row: dict[str, str], seq: int) -> Event:
    """One CSV row as an :class:`Event` (pydantic validates the values and the fields the kind needs)."""
    from patrol_planner.scenario.timetext import parse_window

    data: dict[str, Any] = {k: _cell(row, k) for k in EVENT_COLUMNS if _cell(row, k) is not None}
    if "window" in data:
        data["window"] = parse_window(data["window"])
    for k in ("time", "until"):
        if k in data:
            data[k] = datetime.fromisoformat(data[k])
    return Event(**data, seq=seq)


def _header(reader: csv.DictReader, path: Path) -> None:
    cols = [c.strip() for c in (reader.fieldnames or [])]
    if not cols:
        raise InputFileError(f"{path}: empty event file (no header)")
    missing = [c for c in ("time", "kind") if c not in cols]
    unknown = [c for c in cols if c not in EVENT_COLUMNS]
    if missing or unknown:
        raise InputFileError(f"{path}: event file header " + "; ".join(
            ([f"lacks {', '.join(missing)}"] if missing else []) + ([f"has unknown column(s) {', '.join(unknown)}"]
                                                                     if unknown else []))
            + f" (columns: {', '.join(EVENT_COLUMNS)})")
    reader.fieldnames = cols


def check_event_file(path: str | Path) -> None:
    """Refuse a file that cannot be used at all (missing, not UTF-8, bad header) before any long work."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            _header(csv.DictReader(f), path)
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such event file") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: event file is not UTF-8 text") from None


def read_events(path: str | Path, check: EventCheck) -> EventLog:
    """Read an event file; bad rows go to the quarantine with a reason. Raises :class:`InputFileError` for a
    file that cannot be used at all (missing, not UTF-8, bad header)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such event file") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: event file is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    _header(reader, path)
    events: list[Event] = []
    bad: list[dict[str, Any]] = []
    n = 0
    for n, row in enumerate(reader, start=1):
        if None in row:
            bad.append(_q(n, "bad_value", "more cells than header columns", row))
            continue
        try:
            ev = event_from_row(row, n)
        except (ValidationError, ValueError, TypeError) as exc:
            bad.append(_q(n, "bad_value", _one_line(exc), row))
            continue
        why = check.reason(ev)
        if why is not None:
            bad.append(_q(n, why[0], why[1], row))
            continue
        events.append(ev)
    events.sort(key=lambda e: e.t_key)
    return EventLog(tuple(events), pd.DataFrame(bad, columns=list(QUARANTINE_COLUMNS)), n)


def _one_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        e = exc.errors()[0]
        loc = ".".join(str(x) for x in e.get("loc", ()))
        return f"{loc}: {e['msg']}" if loc else str(e["msg"])
    return str(exc).splitlines()[0]


def _q(n: int, reason: str, detail: str, row: dict[str, Any]) -> dict[str, Any]:
    return {"row": n, "reason": reason, "detail": detail, "time": row.get("time"), "kind": row.get("kind"),
            "unit": row.get("unit")}


def event_row(ev: Event) -> dict[str, str]:
    """An event as a CSV row of :data:`EVENT_COLUMNS` (empty strings for missing values)."""
    out = {}
    for c in EVENT_COLUMNS:
        v = getattr(ev, c)
        if v is None:
            out[c] = ""
        elif c == "window":
            out[c] = f"{v[0]:%H:%M}-{v[1]:%H:%M}"
        elif isinstance(v, datetime):
            out[c] = v.isoformat()
        elif hasattr(v, "value"):
            out[c] = str(v.value)
        elif isinstance(v, float):
            out[c] = f"{v:.6f}" if c in ("lon", "lat") else f"{v:g}"
        else:
            out[c] = str(v)
    return out


def events_csv(events: Iterable[Event]) -> str:
    """The events as CSV text (header first)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(EVENT_COLUMNS), lineterminator="\n")
    w.writeheader()
    for ev in events:
        w.writerow(event_row(ev))
    return buf.getvalue()


def bbox_of(points_lonlat: Sequence[tuple[float, float]]) -> tuple[float, float, float, float]:
    """(west, south, east, north) [deg] of points."""
    lons = [p[0] for p in points_lonlat]
    lats = [p[1] for p in points_lonlat]
    return (min(lons), min(lats), max(lons), max(lats))

"""A hot-spot programme on disk: the record that the schedule, the daily plans, dosage and evaluation share.

A programme folder holds

============================  ===================================================================
file                          content
============================  ===================================================================
``programme.json``            ``{"format", "design", "power", "provenance", "files"}``; ``files``
                              holds the SHA-256 of ``schedule.csv`` and ``spots.geojson`` so that a
                              hand-edited schedule is detected (a schedule in use is a record)
``schedule.csv``              one row per spot per programme day: ``date`` (YYYY-MM-DD, the
                              programme day), ``spot_id``, ``treated`` (0/1), ``p_treated``
                              (probability of treatment that day, in [0, 1]), ``visits``,
                              ``minutes`` (planned dose that day; 0 on control days)
``spots.geojson``             FeatureCollection of EPSG:4326 polygons, properties ``spot_id``,
                              ``place`` (public place name) and the score breakdown
``amendments.csv`` (optional) changes after the schedule was issued: ``recorded_at`` (ISO
                              timestamp), ``action`` (one of :data:`AMENDMENT_ACTIONS`), ``date``
                              (programme day or empty for "from now on"), ``spot_id`` (or empty for
                              all spots), ``reason`` (free text written by the force)
============================  ===================================================================

``design`` keys every consumer relies on: ``start_date`` (YYYY-MM-DD), ``days``, ``timezone`` (IANA
name), ``day_starts_at`` ("HH:MM": the programme day runs from this local time to the same time the next
calendar day), ``patrol_window`` (``{"start": "HH:MM", "end": "HH:MM"}``, may cross midnight),
``spot_size_m``, ``dose`` (``{"visits", "minutes"}``), ``seed``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from patrol_planner.atomic import atomic_write_text
from patrol_planner.errors import ProgrammeError
from patrol_planner.localtime import local_moment
from patrol_planner.provenance import sha256_file
from patrol_planner.sanitise import spreadsheet_restore, spreadsheet_safe

FORMAT = "patrol_planner.programme/1"
SCHEDULE_COLUMNS: tuple[str, ...] = ("date", "spot_id", "treated", "p_treated", "visits", "minutes")
AMENDMENT_COLUMNS: tuple[str, ...] = ("recorded_at", "action", "date", "spot_id", "reason")
#: ``cancel_day``: no patrols that day (all spots); ``cancel_spot_day``: one spot on one day;
#: ``drop_spot``: a spot leaves the programme from ``date`` on (or from the start when empty).
AMENDMENT_ACTIONS: tuple[str, ...] = ("cancel_day", "cancel_spot_day", "drop_spot")
_REQUIRED_DESIGN = ("start_date", "days", "timezone", "day_starts_at", "patrol_window", "spot_size_m", "dose", "seed")


def _hhmm(text: str, what: str) -> time:
    try:
        return datetime.strptime(str(text), "%H:%M").time()
    except ValueError:
        raise ProgrammeError(f"{what} must be HH:MM (24-hour clock), got {text!r}") from None


def patrol_window(design: Mapping[str, Any], day: date) -> tuple[datetime, datetime]:
    """The patrol window of programme day ``day`` of a ``design`` record (see :meth:`Programme.window`)."""
    w = design["patrol_window"]
    ws, we = _hhmm(w["start"], "patrol_window.start"), _hhmm(w["end"], "patrol_window.end")
    day_start = _hhmm(design["day_starts_at"], "design.day_starts_at")
    d0 = day if ws >= day_start else day + timedelta(days=1)
    tz = ZoneInfo(design["timezone"])
    # A bound the clocks skip that night is the moment they change; one that happens twice, the first.
    t0 = local_moment(d0, ws, tz, gap="forward", what="patrol_window.start")
    t1 = local_moment(d0 + timedelta(days=1) if we <= ws else d0, we, tz, gap="forward", what="patrol_window.end")
    return t0, t1


@dataclass(frozen=True)
class Programme:
    """A programme read from its folder. ``schedule`` is as issued (assigned); amendments are kept apart.

    Attributes
    ----------
    folder : Path
    design : dict
        The design as written (see module docstring for the keys every consumer uses).
    schedule : pandas.DataFrame
        :data:`SCHEDULE_COLUMNS`; ``date`` as ``datetime.date`` objects, ``treated`` int 0/1.
    spots : dict[str, shapely geometry]
        Spot polygons in EPSG:4326 [deg], by ``spot_id``, in file order.
    spot_properties : dict[str, dict]
        Each spot's GeoJSON properties (place name, score breakdown).
    amendments : pandas.DataFrame
        :data:`AMENDMENT_COLUMNS` (empty when there are none).
    raw : dict
        The whole ``programme.json`` (power, provenance...).
    """

    folder: Path
    design: dict[str, Any]
    schedule: pd.DataFrame
    spots: dict[str, BaseGeometry]
    spot_properties: dict[str, dict[str, Any]]
    amendments: pd.DataFrame
    raw: dict[str, Any]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.design["timezone"])

    @property
    def start_date(self) -> date:
        return date.fromisoformat(self.design["start_date"])

    @property
    def dates(self) -> list[date]:
        return [self.start_date + timedelta(days=i) for i in range(int(self.design["days"]))]

    def day_of(self, when: datetime) -> date:
        """The programme day a moment belongs to (local time, days start at ``day_starts_at``).

        ``when`` must be timezone-aware; it is converted to the programme's zone.
        """
        if when.tzinfo is None:
            raise ProgrammeError("day_of needs a timezone-aware datetime")
        local = when.astimezone(self.tz)
        start = _hhmm(self.design["day_starts_at"], "design.day_starts_at")
        shifted = local - timedelta(hours=start.hour, minutes=start.minute)
        return shifted.date()

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """Start and end (exclusive) of programme day ``day``, timezone-aware local times."""
        start = _hhmm(self.design["day_starts_at"], "design.day_starts_at")
        what = "design.day_starts_at"
        return (local_moment(day, start, self.tz, gap="forward", what=what),
                local_moment(day + timedelta(days=1), start, self.tz, gap="forward", what=what))

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The patrol window of programme day ``day`` as timezone-aware local datetimes.

        A window whose end is not after its start crosses midnight (15:00-00:00 ends at the next day's
        00:00). A window that starts before ``day_starts_at`` lies on the next calendar day.
        """
        return patrol_window(self.design, day)

    def check_date(self, day: date) -> None:
        """Raise :class:`ProgrammeError` when ``day`` is not a day of this programme."""
        first, last = self.dates[0], self.dates[-1]
        if not first <= day <= last:
            raise ProgrammeError(
                f"{day.isoformat()} is outside the programme ({first.isoformat()} to {last.isoformat()})")

    def delivered_schedule(self) -> pd.DataFrame:
        """The schedule with amendments applied, beside the assignment.

        Adds ``assigned`` (the issued ``treated``), ``status`` (``as_assigned``, ``cancelled`` or
        ``dropped``) and sets ``treated``/``visits``/``minutes`` to 0 where an amendment removed the patrol.
        """
        out, _ = self._apply_amendments()
        return out

    def removed_by(self, day: date) -> dict[str, dict[str, Any]]:
        """Spots of programme day ``day`` an amendment removed, each with that amendment (the first that hit it):
        ``{spot_id: {recorded_at, action, date, spot_id, reason}}``."""
        out, first = self._apply_amendments()
        today = out["date"] == day
        records = self.amendments.to_dict("records")
        return {str(out.at[i, "spot_id"]): _amendment_record(records[int(first[i])])
                for i in out.index[today & (first >= 0)]}

    def _apply_amendments(self) -> tuple[pd.DataFrame, pd.Series]:
        """The delivered schedule and, per row, the index of the amendment that removed it (-1: none)."""
        out = self.schedule.copy()
        out["assigned"] = out["treated"]
        out["status"] = "as_assigned"
        first = pd.Series(-1, index=out.index)
        for k, a in enumerate(self.amendments.itertuples(index=False)):
            hit, status = amendment_hits(out, a.action, a.date, a.spot_id)
            new = hit & (out["status"] == "as_assigned")
            out.loc[new, "status"] = status
            first[new] = k
        removed = out["status"] != "as_assigned"
        out.loc[removed, ["treated", "visits", "minutes"]] = 0
        return out, first


def _amendment_record(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"recorded_at": row["recorded_at"], "action": row["action"],
            "date": row["date"].isoformat() if isinstance(row["date"], date) else None,
            "spot_id": None if pd.isna(row["spot_id"]) else row["spot_id"], "reason": row["reason"]}


def amendment_hits(sched: pd.DataFrame, action: str, day: date | None, spot_id: str | None) -> tuple[pd.Series, str]:
    """Rows of a schedule one amendment applies to, and the status it gives them (``cancelled``/``dropped``)."""
    every = pd.Series(True, index=sched.index)
    a_date = None if day is None or pd.isna(day) else day
    a_spot = None if spot_id is None or pd.isna(spot_id) else spot_id
    on_spot = sched["spot_id"] == a_spot if a_spot is not None else every
    if action == "drop_spot":
        from_day = sched["date"] >= a_date if a_date is not None else every
        return on_spot & from_day, "dropped"
    on_day = sched["date"] == a_date if a_date is not None else every
    return on_day & on_spot, "cancelled"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProgrammeError(f"{path.parent} is not a programme folder: {path.name} is missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProgrammeError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ProgrammeError(f"{path}: not a patrol_planner programme (format {FORMAT!r} expected)")
    missing = [k for k in _REQUIRED_DESIGN if k not in raw.get("design", {})]
    if missing:
        raise ProgrammeError(f"{path}: design lacks {', '.join(missing)}")
    try:
        ZoneInfo(raw["design"]["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ProgrammeError(f"{path}: unknown timezone {raw['design']['timezone']!r}") from None
    return raw


def _check_hash(folder: Path, name: str, raw: Mapping[str, Any]) -> None:
    expected = raw.get("files", {}).get(name)
    path = folder / name
    if not path.exists():
        raise ProgrammeError(f"{folder} is not a complete programme: {name} is missing")
    if expected is not None and sha256_file(path) != expected:
        raise ProgrammeError(
            f"{path} differs from the schedule that was issued (hash mismatch); a schedule in use is a "
            "record: restore it and record changes as amendments"
        )


def _read_schedule(path: Path) -> pd.DataFrame:
    sched = pd.read_csv(path, dtype={"spot_id": str})
    missing = [c for c in SCHEDULE_COLUMNS if c not in sched.columns]
    if missing:
        raise ProgrammeError(f"{path}: missing columns {', '.join(missing)}")
    sched = spreadsheet_restore(sched[list(SCHEDULE_COLUMNS)])
    sched["date"] = pd.to_datetime(sched["date"], format="%Y-%m-%d").dt.date
    sched["treated"] = sched["treated"].astype(int)
    return sched


def _read_spots(path: Path) -> tuple[dict[str, BaseGeometry], dict[str, dict[str, Any]]]:
    fc = json.loads(path.read_text(encoding="utf-8"))
    geoms: dict[str, BaseGeometry] = {}
    props: dict[str, dict[str, Any]] = {}
    for feat in fc.get("features", []):
        sid = str(feat["properties"]["spot_id"])
        geoms[sid] = shape(feat["geometry"])
        props[sid] = dict(feat["properties"])
    if not geoms:
        raise ProgrammeError(f"{path}: no spots")
    return geoms, props


def _read_amendments(path: Path) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in AMENDMENT_COLUMNS})
    am = spreadsheet_restore(pd.read_csv(path, dtype=str, keep_default_na=False))
    missing = [c for c in AMENDMENT_COLUMNS if c not in am.columns]
    if missing:
        raise ProgrammeError(f"{path}: missing columns {', '.join(missing)}")
    bad = sorted(set(am["action"]) - set(AMENDMENT_ACTIONS))
    if bad:
        raise ProgrammeError(f"{path}: unknown action(s) {', '.join(bad)}; known: {', '.join(AMENDMENT_ACTIONS)}")
    am = am[list(AMENDMENT_COLUMNS)].copy()
    am["date"] = [date.fromisoformat(d) if d else None for d in am["date"]]
    am["spot_id"] = pd.Series([s or None for s in am["spot_id"]], index=am.index, dtype=object)
    return am


def read_programme(folder: str | Path) -> Programme:
    """Read and check a programme folder (see the module docstring for its files)."""
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise ProgrammeError(f"{folder} is not a programme folder (no such directory)")
    raw = _read_json(folder / "programme.json")
    for name in ("schedule.csv", "spots.geojson"):
        _check_hash(folder, name, raw)
    spots, props = _read_spots(folder / "spots.geojson")
    schedule = _read_schedule(folder / "schedule.csv")
    unknown = sorted(set(schedule["spot_id"]) - set(spots))
    if unknown:
        raise ProgrammeError(f"{folder / 'schedule.csv'}: spots not in spots.geojson: {', '.join(unknown[:5])}")
    return Programme(folder=folder, design=dict(raw["design"]), schedule=schedule, spots=spots,
                     spot_properties=props, amendments=_read_amendments(folder / "amendments.csv"), raw=raw)


def _text_or_empty(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _json_text(obj: Any, name: str, **kw: Any) -> str:
    """Strict JSON (NaN and infinity refused: they are not JSON and other readers reject the file)."""
    from patrol_planner.jsonsafe import strict_dumps

    return strict_dumps(obj, what=name, error=ProgrammeError, indent=1, sort_keys=True, **kw) + "\n"


def write_programme(folder: str | Path, *, design: Mapping[str, Any], schedule: pd.DataFrame,
                    spots_geojson: Mapping[str, Any], power: Mapping[str, Any] | None = None,
                    provenance: Mapping[str, Any] | None = None, replaces: str | Path | None = None) -> Path:
    """Write a new programme folder; refuse to replace a different programme already there.

    Writing the same programme again (same schedule and spots bytes) is allowed and changes nothing, so a
    rerun with the same inputs and seed is harmless; a different one must go to a new folder, because a
    schedule in use is a record (change it with amendments). ``replaces``: the folder checked for an
    earlier programme when ``folder`` is a staging folder that will take its place (``patrol_planner.atomic``).
    """
    folder = Path(folder).expanduser().resolve()
    existing = Path(replaces).expanduser().resolve() if replaces is not None else folder
    missing = [k for k in _REQUIRED_DESIGN if k not in design]
    if missing:
        raise ProgrammeError(f"programme design lacks {', '.join(missing)}")
    sched_text = spreadsheet_safe(schedule[list(SCHEDULE_COLUMNS)].assign(
        date=[d.isoformat() if hasattr(d, "isoformat") else str(d) for d in schedule["date"]]
    )).to_csv(index=False, lineterminator="\n", float_format="%.6g")
    spots_text = _json_text(spots_geojson, "spots.geojson", ensure_ascii=False)
    old = (_text_or_empty(existing / "schedule.csv"), _text_or_empty(existing / "spots.geojson"))
    same = old == (sched_text, spots_text)
    if (existing / "programme.json").exists() and not same:
        raise ProgrammeError(
            f"{existing} already holds a different programme; a schedule in use is a record: write the new "
            "design to another folder, or record changes to this one as amendments"
        )
    record = {
        "format": FORMAT,
        "design": dict(design),
        "power": dict(power or {}),
        "provenance": dict(provenance or {}),
        "files": {n: hashlib.sha256(t.encode("utf-8")).hexdigest()
                  for n, t in (("schedule.csv", sched_text), ("spots.geojson", spots_text))},
    }
    record_text = _json_text(record, "programme.json", default=str)  # refused before any file is written
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "schedule.csv").write_text(sched_text, encoding="utf-8")
    (folder / "spots.geojson").write_text(spots_text, encoding="utf-8")
    (folder / "programme.json").write_text(record_text, encoding="utf-8")
    return folder


def add_amendment(folder: str | Path, *, action: str, reason: str, day: date | None = None,
                  spot_id: str | None = None, recorded_at: datetime | None = None) -> pd.DataFrame:
    """Append one amendment to ``amendments.csv`` (created when absent); returns all amendments.

    The schedule itself is never rewritten. ``reason`` is required: an amendment without a reason is not a
    record anyone can defend later.
    """
    prog = read_programme(folder)
    if action not in AMENDMENT_ACTIONS:
        raise ProgrammeError(f"unknown amendment action {action!r}; known: {', '.join(AMENDMENT_ACTIONS)}")
    if not reason.strip():
        raise ProgrammeError("an amendment needs a reason")
    if day is not None:
        prog.check_date(day)
    if action in ("cancel_day",) and day is None:
        raise ProgrammeError("cancel_day needs a date")
    if action in ("cancel_spot_day",) and (day is None or spot_id is None):
        raise ProgrammeError("cancel_spot_day needs a date and a spot")
    if action == "cancel_day" and spot_id is not None:
        raise ProgrammeError("cancel_day cancels every spot of the day: give no spot (use cancel_spot_day for one)")
    if action == "drop_spot" and spot_id is None:
        raise ProgrammeError("drop_spot needs a spot (use cancel_day to cancel every spot of a day)")
    if spot_id is not None and spot_id not in prog.spots:
        raise ProgrammeError(f"unknown spot {spot_id!r}: the programme's spots are {_spot_range(prog)}")
    _check_amendment(prog, action, day, spot_id)
    when = (recorded_at or datetime.now(prog.tz)).isoformat(timespec="seconds")
    row = {"recorded_at": when, "action": action, "date": day.isoformat() if day else "",
           "spot_id": spot_id or "", "reason": reason.replace("\n", " ").strip()}
    path = prog.folder / "amendments.csv"
    # Appended as a whole new file put in place with os.replace: a failed write leaves the old record, and a
    # link planted at the path is replaced, not written through. Text cannot run as a spreadsheet formula.
    if path.is_symlink():
        raise ProgrammeError(f"{path} is a symbolic link, not the programme's own record; replace it with the file")
    new_row = spreadsheet_safe(pd.DataFrame([row], columns=list(AMENDMENT_COLUMNS)))
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    old += "\n" if old and not old.endswith("\n") else ""  # a hand-saved file without a final newline
    atomic_write_text(path, old + new_row.to_csv(index=False, header=not old, lineterminator="\n"))
    return read_programme(prog.folder).amendments


def _spot_range(prog: Programme) -> str:
    ids = list(prog.spots)
    return ", ".join(ids) if len(ids) <= 6 else f"{ids[0]} to {ids[-1]} ({len(ids)} spots)"


def _check_amendment(prog: Programme, action: str, day: date | None, spot_id: str | None) -> None:
    """Refuse an amendment that repeats one already recorded, or that removes no patrol (a control spot-day,
    a day or spot already cancelled or dropped): the record would claim a change that did not happen."""
    on = f"{spot_id} {'from' if action == 'drop_spot' else 'on'} {day.isoformat()}" if spot_id and day else (
        spot_id or (day.isoformat() if day else ""))
    for a in prog.amendments.to_dict("records"):
        rec = _amendment_record(a)
        if (rec["action"], rec["date"], rec["spot_id"]) == (action, day.isoformat() if day else None, spot_id):
            raise ProgrammeError(f"{action} {on} was already recorded at {rec['recorded_at']} ({rec['reason']!r}): "
                                 "an amendment is recorded once")
    sched, first = prog._apply_amendments()
    hit, _ = amendment_hits(sched, action, day, spot_id)
    if action == "cancel_spot_day" and not sched.loc[hit, "assigned"].any():
        raise ProgrammeError(f"{spot_id} is a control spot on {day.isoformat()}, not a patrol: there is nothing to "
                             "cancel (a control spot stays a control; use drop_spot if it leaves the programme)")
    live = hit & (sched["status"] == "as_assigned")
    left = live & (sched["assigned"] == 1) if action != "drop_spot" else live
    if not left.any():
        k = first[hit & (first >= 0)]
        prior = _amendment_record(prog.amendments.iloc[int(k.iloc[0])].to_dict()) if len(k) else None
        why = (f"already removed by {prior['action']} recorded at {prior['recorded_at']} ({prior['reason']!r})"
               if prior else "no patrol is assigned there")
        raise ProgrammeError(f"{action} {on} changes nothing: {why}")

"""Measure a programme's dosage from GPS files: read, clean, find presence, and line it up with the schedule.

:func:`measure_dosage` is the one call for files; :func:`measure_pings` takes a ping table directly (the
benchmark and notebooks feed arrays). :func:`write_dosage` writes ``dosage.csv``, ``dosage.json``,
``visits.csv``, ``quarantine.csv`` and ``compliance.html``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from patrol_planner.dosage.clean import clean_tracks
from patrol_planner.dosage.gpx import read_gpx
from patrol_planner.dosage.params import DosageParams
from patrol_planner.dosage.pingcsv import PingMapping, read_ping_csv
from patrol_planner.dosage.pings import FileRead, as_ping_table, empty_pings
from patrol_planner.dosage.presence import SpotZones, split_at, spot_intervals
from patrol_planner.dosage.quarantine import empty_quarantine, quarantine_rows, reason_counts
from patrol_planner.dosage.visits import daily_figures
from patrol_planner.errors import DosageError
from patrol_planner.geo import choose_working_crs
from patrol_planner.jsonsafe import finite_or_none
from patrol_planner.programme import Programme
from patrol_planner.provenance import provenance
from patrol_planner.sanitise import spreadsheet_safe

#: The first columns of ``dosage.csv``; extra columns follow (see docs/dosage.md).
DOSAGE_COLUMNS: tuple[str, ...] = ("date", "spot_id", "treated", "minutes_present", "visits")
EXTRA_COLUMNS: tuple[str, ...] = ("assigned", "status", "planned_visits", "planned_minutes", "dose_met",
                                  "unit_minutes", "units", "passing_minutes", "minutes_in_window", "gps_data")


@dataclass(frozen=True)
class DosageResult:
    """What :func:`measure_dosage` found.

    ``table``: one row per schedule row (:data:`DOSAGE_COLUMNS` + :data:`EXTRA_COLUMNS`); ``visits``: one row
    per visit or pass-through; ``quarantine``: points set aside with reasons; ``files``: per input file what
    was read; ``summary``: the headline figures (also printed by ``--json``).
    """

    table: pd.DataFrame
    visits: pd.DataFrame
    quarantine: pd.DataFrame
    files: list[dict[str, Any]]
    summary: dict[str, Any]
    params: DosageParams
    crs: str
    notes: list[str] = field(default_factory=list)


def sniff_kind(path: Path) -> str:
    """``"gpx"``, ``"csv"`` or ``"binary"`` from the first bytes of the file (the suffix is not trusted)."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if b"\x00" in head:
        return "binary"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    return "gpx" if text.startswith(b"<") else "csv"


def read_tracks(files: Iterable[str | Path], tz: Any, *, mapping: str | Path | PingMapping | None = None,
                unit_from: str = "file") -> list[FileRead]:
    """Read each GPX or CSV file; a file that cannot be used has ``error`` set (the others still count)."""
    reads = []
    for f in files:
        p = Path(f)
        if not p.is_file():
            reads.append(FileRead(p.name, "?", empty_pings(), error=f"{p}: no such file"))
            continue
        kind = sniff_kind(p)
        if kind == "binary":
            reads.append(FileRead(p.name, kind, empty_pings(), error=f"{p.name}: binary data, neither GPX nor CSV"))
        elif kind == "gpx":
            reads.append(read_gpx(p, tz, unit_from=unit_from))
        else:
            reads.append(read_ping_csv(p, tz, mapping=mapping))
    return reads


def _day_grid(prog: Programme) -> tuple[list, np.ndarray, np.ndarray]:
    """Programme dates, day boundaries [s, UTC] (n+1) and patrol windows [s, UTC] (n x 2)."""
    dates = prog.dates
    bounds = [prog.day_bounds(d)[0].timestamp() for d in dates] + [prog.day_bounds(dates[-1])[1].timestamp()]
    wins = np.array([[w.timestamp() for w in prog.window(d)] for d in dates], dtype=float)
    return dates, np.asarray(bounds, dtype=float), wins


def gps_days(t_s: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Per programme day (``bounds``: n+1 day starts [s, UTC]): True when at least one usable ping falls in it."""
    day = np.searchsorted(bounds, np.asarray(t_s, float), side="right") - 1
    ok = (day >= 0) & (day < len(bounds) - 1)
    return np.bincount(day[ok], minlength=len(bounds) - 1) > 0


def measure_pings(prog: Programme, pings: pd.DataFrame, *, params: DosageParams | None = None,
                  crs: str | None = None, reads: Sequence[FileRead] = (), up_to: date | None = None) -> DosageResult:
    """Dosage from a ping table for programme ``prog``.

    ``pings``: :data:`patrol_planner.dosage.pings.PING_COLUMNS`, or just ``unit``, ``t_s``, ``lon``, ``lat``
    (see :func:`~patrol_planner.dosage.pings.as_ping_table`). ``up_to``: last programme day measured (a
    programme still running); later days are left out of the table and the figures. A day on which no unit
    sent any usable GPS point is "no data" (``gps_data`` False): its treated spot-days are neither patrolled
    nor missed.
    """
    if up_to is not None:
        prog.check_date(up_to)
    params = params or DosageParams()
    pings = as_ping_table(pings)
    if pings.empty:
        raise DosageError("no usable GPS point: every point was quarantined or every file was unusable")
    spots = list(prog.spots.values())
    west, south, east, north = shapely.total_bounds(spots)
    tracks = clean_tracks(pings, params, (west, south, east, north))
    if len(tracks) == 0:
        raise DosageError(f"no usable GPS point: all {len(pings)} point(s) were set aside "
                          f"({reason_counts(tracks.quarantine)}); see the reasons in docs/dosage.md")
    cent = shapely.centroid(spots)
    crs = choose_working_crs(shapely.get_x(cent), shapely.get_y(cent), crs)
    zones = SpotZones.build(prog.spots, params.tolerance_m, crs)
    dates, bounds, wins = _day_grid(prog)
    iv = split_at(spot_intervals(tracks, zones, params), bounds)
    outside_days = iv[((iv["day"] < 0) | (iv["day"] >= len(dates))) & ~iv["bridge"].to_numpy(bool)]
    iv = iv[(iv["day"] >= 0) & (iv["day"] < len(dates))]
    daily, vis = daily_figures(iv, merge_gap_s=params.merge_gap_s, min_visit_s=params.min_visit_s, windows_s=wins)
    table = _table(prog, daily, zones.spot_ids, dates, gps_days(tracks.t_s, bounds), up_to)
    vis = vis.assign(spot_id=[zones.spot_ids[int(s)] for s in vis["spot"]],
                     date=[dates[int(d)].isoformat() for d in vis["day"]])
    vis = vis.assign(start=pd.to_datetime(vis["start_s"], unit="s", utc=True).dt.tz_convert(prog.tz),
                     end=pd.to_datetime(vis["end_s"], unit="s", utc=True).dt.tz_convert(prog.tz),
                     present_min=vis["present_s"] / 60)[["date", "spot_id", "start", "end", "present_min", "units",
                                                         "counted"]]
    parts = [r.quarantine for r in reads if not r.quarantine.empty]
    parts += [quarantine_rows(r.source_file, -1, "", "unusable_file", r.error, "", np.nan, np.nan)
              for r in reads if r.error]
    if not tracks.quarantine.empty:
        parts.append(tracks.quarantine)
    quarantine = pd.concat(parts, ignore_index=True) if parts else empty_quarantine()
    summary = _summary(table, quarantine, reads, len(pings), len(tracks), params, crs, prog)
    summary["up_to"] = up_to.isoformat() if up_to is not None else None
    summary["minutes_outside_programme_days"] = round(float((outside_days["b_s"] - outside_days["a_s"]).sum()) / 60, 2)
    notes = _notes(summary, prog)
    dropped = tracks.quarantine[tracks.quarantine["reason"] != "speed_jump"]["source_file"].value_counts()
    files = [{"file": r.source_file, "kind": r.kind, "naive_time_points": r.naive_points, "error": r.error,
              "points_used": len(r.pings) - int(dropped.get(r.source_file, 0)),
              "points_quarantined": len(r.quarantine) + int(dropped.get(r.source_file, 0))} for r in reads]
    return DosageResult(table, vis, quarantine, files, summary, params, crs, notes)


def measure_dosage(prog: Programme, files: Sequence[str | Path], *, params: DosageParams | None = None,
                   mapping: str | Path | PingMapping | None = None, crs: str | None = None,
                   up_to: date | None = None) -> DosageResult:
    """Read GPS files (GPX / CSV) and measure the programme's dosage.

    Raises :class:`DosageError` when no file gives a usable point; a single bad file only adds an
    ``unusable_file`` quarantine row and an error line in ``files``.
    """
    params = params or DosageParams()
    if not files:
        raise DosageError("no GPS files given")
    reads = read_tracks(files, prog.tz, mapping=mapping, unit_from=params.unit_from)
    usable = [r.pings for r in reads if not r.pings.empty]
    if not usable:
        errors = "; ".join(r.error or f"{r.source_file}: no usable point ({reason_counts(r.quarantine) or 'empty'})"
                           for r in reads)
        raise DosageError(f"no usable GPS point in {len(reads)} file(s): {errors}")
    res = measure_pings(prog, pd.concat(usable, ignore_index=True), params=params, crs=crs, reads=reads, up_to=up_to)
    spec = mapping.name if isinstance(mapping, PingMapping) else (str(mapping) if mapping is not None else "auto")
    res.summary["parameters"]["mapping"] = spec  # for CSV files; "auto" = detected from each header
    return res


def _table(prog: Programme, daily: pd.DataFrame, spot_ids: list[str], dates: list, has_gps: np.ndarray,
           up_to: date | None) -> pd.DataFrame:
    """The schedule as delivered (amendments applied) beside the measured figures, one row per spot-day (up to
    ``up_to``); ``gps_data`` says whether any unit sent GPS that day."""
    sched = prog.delivered_schedule().rename(columns={"visits": "planned_visits", "minutes": "planned_minutes"})
    if up_to is not None:
        sched = sched[sched["date"] <= up_to]
    d = daily.assign(spot_id=[spot_ids[int(s)] for s in daily["spot"]], date=[dates[int(x)] for x in daily["day"]])
    t = sched.merge(d.drop(columns=["spot", "day"]), on=["date", "spot_id"], how="left")
    for c in ("minutes_present", "unit_minutes", "passing_minutes", "minutes_in_window"):
        t[c] = t[c].fillna(0.0).astype(float).round(2)
    for c in ("visits", "units"):
        t[c] = t[c].fillna(0).astype("int64")
    met = (t["minutes_present"] >= t["planned_minutes"]) & (t["visits"] >= t["planned_visits"])
    t["dose_met"] = pd.array(met.to_numpy(), dtype="boolean")
    t["gps_data"] = t["date"].map(dict(zip(dates, has_gps.tolist(), strict=True))).astype(bool)
    t.loc[(t["treated"] != 1) | ~t["gps_data"], "dose_met"] = pd.NA
    t["date"] = [x.isoformat() for x in t["date"]]
    return t[list(DOSAGE_COLUMNS + EXTRA_COLUMNS)]


def _summary(table: pd.DataFrame, quarantine: pd.DataFrame, reads: Sequence[FileRead], n_read: int, n_used: int,
             params: DosageParams, crs: str, prog: Programme) -> dict[str, Any]:
    """Headline figures. Treated = treated as delivered (cancelled days are not missed patrols); control =
    assigned control spot-days."""
    tr = table[table["treated"] == 1]
    ctl = table[table["assigned"] == 0]
    cancelled = table[table["status"] != "as_assigned"]
    r2 = lambda v: round(float(v), 2)  # noqa: E731
    return {
        "spot_days": len(table),
        "days_with_gps": int(table.drop_duplicates("date")["gps_data"].sum()),
        "treated_days": len(tr),
        "treated_days_no_data": int((~tr["gps_data"]).sum()),
        "treated_days_patrolled": int((tr["visits"] > 0).sum()),
        "treated_days_dose_met": int(tr["dose_met"].fillna(False).sum()),
        "treated_minutes_planned": r2(tr["planned_minutes"].sum()),
        "treated_minutes_present": r2(tr["minutes_present"].sum()),
        "treated_minutes_in_window": r2(tr["minutes_in_window"].sum()),
        "control_days": len(ctl),
        "control_days_with_presence": int((ctl["minutes_present"] > 0).sum()),
        "control_minutes_present": r2(ctl["minutes_present"].sum()),
        "control_passing_minutes": r2(ctl["passing_minutes"].sum()),
        "cancelled_spot_days": len(cancelled),
        "cancelled_minutes_present": r2(cancelled["minutes_present"].sum()),
        "unit_minutes": r2(table["unit_minutes"].sum()),
        "files": len(reads),
        "files_unusable": sum(1 for r in reads if r.error),
        "points_read": int(n_read + sum(len(r.quarantine) for r in reads)),
        "points_used": int(n_used),
        "points_quarantined": int((quarantine["reason"] != "unusable_file").sum() -
                                  (quarantine["reason"] == "speed_jump").sum()),
        "intervals_not_counted_speed_jump": int((quarantine["reason"] == "speed_jump").sum()),
        "quarantine_reasons": reason_counts(quarantine),
        "naive_time_points": int(sum(r.naive_points for r in reads)),
        "timezone": prog.design["timezone"],
        "crs": crs,
        "parameters": params.to_dict(),
    }


def _notes(summary: dict[str, Any], prog: Programme) -> list[str]:
    """Plain-words caveats for the JSON, the page and the terminal."""
    notes = []
    if summary["naive_time_points"]:
        notes.append(f"{summary['naive_time_points']} point(s) had times without a zone; they were read as local "
                     f"time in {prog.design['timezone']} (the programme's timezone)")
    if summary["files_unusable"]:
        notes.append(f"{summary['files_unusable']} of {summary['files']} file(s) could not be used at all "
                     "(see quarantine.csv, reason unusable_file)")
    if summary["points_quarantined"]:
        notes.append(f"{summary['points_quarantined']} point(s) were set aside: {summary['quarantine_reasons']}")
    if summary["control_days_with_presence"]:
        notes.append(f"patrols were present on {summary['control_days_with_presence']} control spot-day(s) "
                     f"({summary['control_minutes_present']} min): this dilutes the measured effect")
    if summary["treated_days_no_data"]:
        notes.append(f"{summary['treated_days_no_data']} treated spot-day(s) fall on days with no GPS from any unit: "
                     "they are shown as no data, not as missed patrols")
    if summary["treated_days"] and not summary["treated_days_patrolled"]:
        notes.append("no treated spot-day was patrolled: check that the tracks cover the programme's dates and area")
    return notes


def write_dosage(result: DosageResult, out: str | Path, *, inputs: Sequence[str | Path], prog: Programme,
                 page: bool = True) -> dict[str, Path]:
    """Write the dosage files into folder ``out``; ``inputs`` are the GPS files (hashed for provenance)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"dosage": out / "dosage.csv", "visits": out / "visits.csv", "quarantine": out / "quarantine.csv",
             "json": out / "dosage.json"}
    spreadsheet_safe(result.table).to_csv(paths["dosage"], index=False, lineterminator="\n", float_format="%.2f")
    vis = result.visits.assign(start=result.visits["start"].map(lambda t: t.isoformat(timespec="seconds")),
                               end=result.visits["end"].map(lambda t: t.isoformat(timespec="seconds")))
    spreadsheet_safe(vis).to_csv(paths["visits"], index=False, lineterminator="\n", float_format="%.2f")
    spreadsheet_safe(result.quarantine).to_csv(paths["quarantine"], index=False, lineterminator="\n")
    prog_files = [prog.folder / n for n in ("programme.json", "schedule.csv", "spots.geojson", "amendments.csv")
                  if (prog.folder / n).exists()]
    existing = [Path(p) for p in inputs if Path(p).is_file()]
    record = {
        "format": "patrol_planner.dosage/1",
        "summary": result.summary,
        "notes": result.notes,
        "files": result.files,
        "provenance": provenance([*existing, *prog_files], {**result.summary["parameters"], "crs": result.crs}),
    }
    text = json.dumps(finite_or_none(record), indent=1, sort_keys=True, default=str, allow_nan=False)
    paths["json"].write_text(text + "\n", encoding="utf-8")
    if page:
        from patrol_planner.dosage.compliance import write_compliance_page

        paths["page"] = write_compliance_page(result, prog, out / "compliance.html")
    return paths

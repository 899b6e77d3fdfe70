"""What :func:`~patrol_planner.incidents.ingest` returns: the tables and the report of what was read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from patrol_planner.sanitise import spreadsheet_safe


def gap_advice() -> str:
    """What a month without any record means for the later stages (one sentence)."""
    return ("a month missing from the data? Scoring and backtests would read it as a month without crime; "
            "add the month's file, or choose dates after the gap")


@dataclass(frozen=True)
class IngestReport:
    """What :func:`ingest` read, loaded and quarantined.

    Attributes
    ----------
    rows_read, rows_loaded, rows_quarantined : int
        Data rows (blank lines are not rows); ``rows_read == rows_loaded + rows_quarantined``.
    quarantine_reasons : dict[str, int]
        Reason code -> rows (codes in :data:`patrol_planner.incidents.quarantine.REASONS`).
    categories : dict[str, int]
        Police.uk category -> loaded rows.
    crs : str
        Working CRS of ``x_m``/``y_m`` (``EPSG:xxxx``).
    files : tuple[dict, ...]
        Per file read: ``file`` (its name; ``archive.zip:member`` for an archive member), ``force`` (the
        police.uk force slug from the file name, or None), ``format``, ``mapping``, ``encoding``,
        ``rows_read``, ``rows_loaded``, ``rows_quarantined``.
    skipped : dict[str, int]
        Inputs found but not read, by kind: ``outcomes``, ``stop-and-search`` (unless asked for),
        ``other`` (README, SOURCE.md...), ``folder`` (archive folder entries, folders not named YYYY-MM),
        ``other_force`` (files of other forces when ``force`` is given).
    unreadable : tuple[dict, ...]
        Archive members that could not be read at all (bad CRC, corrupt data, not a usable CSV): ``file``,
        ``force``, ``error``. Their rows are in none of the counts above: nothing is loaded from them.
    forces : dict[str, dict[str, int]]
        Per force slug: ``files``, ``rows_read``, ``rows_loaded``, ``rows_quarantined`` (files whose name
        gives no force are not counted here).
    missing_months : tuple[str, ...]
        Calendar months (``YYYY-MM``) between the first and the last loaded record's month with no
        loaded record at all: most likely a month missing from the download, which recency, the learned
        ranker's lags and "last month" baselines would otherwise read as a month without crime.
    """

    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    quarantine_reasons: dict[str, int]
    categories: dict[str, int]
    crs: str
    files: tuple[dict[str, Any], ...]
    skipped: dict[str, int] = field(default_factory=dict)
    unreadable: tuple[dict[str, Any], ...] = ()
    forces: dict[str, dict[str, int]] = field(default_factory=dict)
    missing_months: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field."""
        return {
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "quarantine_reasons": dict(self.quarantine_reasons),
            "categories": dict(self.categories),
            "crs": self.crs,
            "files": [dict(f) for f in self.files],
            "skipped": dict(self.skipped),
            "unreadable": [dict(u) for u in self.unreadable],
            "forces": {k: dict(v) for k, v in self.forces.items()},
            "missing_months": list(self.missing_months),
        }

    def summary(self) -> str:
        """Human-readable lines: rows, skipped inputs and unreadable members (when any), working CRS."""
        reasons = ", ".join(f"{k} {v}" for k, v in self.quarantine_reasons.items()) or "none"
        lines = [f"{self.rows_read} rows read from {len(self.files)} file(s): {self.rows_loaded} loaded, "
                 f"{self.rows_quarantined} quarantined ({reasons})"]
        if len(self.forces) > 1:
            lines.append("forces: " + ", ".join(f"{k} {v['rows_loaded']}" for k, v in self.forces.items()))
        if self.skipped:
            lines.append("skipped: " + ", ".join(f"{k} {v}" for k, v in self.skipped.items()))
        for u in self.unreadable:
            lines.append(f"UNREADABLE {u['file']}: {u['error']}")
        if self.missing_months:
            lines.append(f"NO RECORDS AT ALL in {', '.join(self.missing_months)}: {gap_advice()}")
        lines.append(f"working CRS {self.crs}")
        return "\n".join(lines)


@dataclass(frozen=True)
class IngestResult:
    """Output of :func:`ingest`: the incident table, the quarantine table and the report."""

    incidents: pd.DataFrame
    quarantine: pd.DataFrame
    report: IngestReport


def quarantine_to_csv(quarantine: pd.DataFrame, path: str | Path) -> None:
    """Write the quarantine table as UTF-8 CSV (text cells cannot run as spreadsheet formulas)."""
    spreadsheet_safe(quarantine).to_csv(path, index=False)


def report_json(report: IngestReport) -> str:
    """The report as one JSON line."""
    from patrol_planner.jsonsafe import finite_or_none

    return json.dumps(finite_or_none(report.to_dict()), sort_keys=True, allow_nan=False)

"""Why a GPS point (or a whole file) is not used: reason codes, their meanings, and the quarantine table.

Every point read is either used or quarantined with exactly one reason (the first check it fails, in the
order of :data:`REASONS`). ``speed_jump`` is the one exception: its point is kept, and the row records that the
interval *before* it counts as nothing. A file that cannot be read at all gets one ``unusable_file`` row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Reason code -> meaning, in the order the checks run.
REASONS: dict[str, str] = {
    "unusable_file": "the whole file cannot be read (not GPX or CSV, empty, truncated XML, missing columns)",
    "no_unit": "the row has no unit id",
    "no_time": "the point has no time (a GPX <trkpt> without <time>, an empty CSV time)",
    "bad_time": "the time cannot be parsed",
    "ambiguous_time": "a time without zone falls in the repeated or skipped hour of a clock change",
    "bad_coordinate": "a coordinate is missing, not a number, or outside -180..180 / -90..90",
    "outside_area": "the point is farther than area_margin_km from the programme's spots",
    "out_of_order": "the time is earlier than the track's order allows (not in the longest time-ordered run)",
    "duplicate_time": "the unit already has a point at this time (the first one is kept)",
    "too_fast": "the point is reached and left faster than max_speed_kph (a spike; dropped)",
    "speed_jump": "the unit moved faster than max_speed_kph to this point (kept; the interval before it counts as "
                  "nothing)",
}

QUARANTINE_COLUMNS: tuple[str, ...] = ("source_file", "point", "unit", "reason", "detail", "time", "lon", "lat")


def empty_quarantine() -> pd.DataFrame:
    """A quarantine table with no rows."""
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "point" else "float64" if c in ("lon", "lat")
                                      else "string") for c in QUARANTINE_COLUMNS})


def quarantine_rows(source_file: np.ndarray | str, point: np.ndarray, unit: np.ndarray | str, reason: str,
                    detail: np.ndarray | str, time: np.ndarray | str, lon: np.ndarray, lat: np.ndarray) -> pd.DataFrame:
    """Rows of the quarantine table for one reason; scalars are repeated for every point.

    ``point`` is the point's position in its file (GPX: 0-based ``<trkpt>`` number; CSV: 1-based data line),
    ``time`` the time as written (or as an ISO string), ``lon, lat`` [deg, EPSG:4326] or NaN.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown dosage quarantine reason {reason!r}")
    n = int(np.size(point))
    if n == 0:
        return empty_quarantine()

    def col(v: object) -> np.ndarray:
        return np.full(n, v, dtype=object) if np.isscalar(v) or v is None else np.asarray(v, dtype=object)

    return pd.DataFrame({
        "source_file": pd.Series(col(source_file), dtype="string"),
        "point": pd.Series(np.broadcast_to(np.asarray(point), (n,)), dtype="int64"),
        "unit": pd.Series(col(unit), dtype="string"),
        "reason": pd.Series(col(reason), dtype="string"),
        "detail": pd.Series(col(detail), dtype="string"),
        "time": pd.Series(col(time), dtype="string"),
        "lon": pd.Series(np.broadcast_to(np.asarray(lon, dtype=float), (n,))),
        "lat": pd.Series(np.broadcast_to(np.asarray(lat, dtype=float), (n,))),
    })


def reason_counts(quarantine: pd.DataFrame) -> dict[str, int]:
    """Quarantined rows per reason, in :data:`REASONS` order, reasons with no rows left out."""
    counts = quarantine["reason"].value_counts()
    return {r: int(counts[r]) for r in REASONS if r in counts.index}

"""Intelligence reports: the CSV format, grading -> confidence, and handling code -> dissemination.

Format (one report per row, UTF-8, header required, column order free)::

    intel_id, reported_at, lon, lat, subject_category, source_evaluation, intelligence_assessment,
    handling_code, text

``easting``/``northing`` (EPSG:27700) [m] may replace ``lon``/``lat`` [deg]. ``text`` is optional; when present
it is read only to be discarded: it never reaches the incident table, the quarantine or any output.

Two grading systems are recognised per row, from the source evaluation's alphabet:

* UK **3x5x2** (College of Policing APP, current): source evaluation ``1`` reliable, ``2`` untested,
  ``3`` not reliable; intelligence assessment ``A`` known directly to the source, ``B`` known indirectly
  but corroborated, ``C`` known indirectly, ``D`` not known, ``E`` suspected to be false; handling code
  ``P`` lawful sharing permitted, ``C`` lawful sharing permitted subject to conditions.
* older **5x5x5** (NIM): source ``A`` always reliable, ``B`` mostly reliable, ``C`` sometimes reliable,
  ``D`` unreliable, ``E`` untested; intelligence ``1`` known to be true without reservation, ``2`` known
  personally to the source but not to the officer, ``3`` not personally known to the source but
  corroborated, ``4`` cannot be judged, ``5`` suspected to be false; handling ``1`` may be disseminated
  to other law-enforcement and prosecuting agencies, ``2``-``5`` restrict dissemination (non-prosecuting
  parties with authorisation, non-EEA agencies with conditions, originating agency only, no further
  dissemination).

``confidence = SOURCE_WEIGHT[system][source] * ASSESSMENT_WEIGHT[system][assessment]`` lies in (0, 1].
``disseminate`` is True only for ``P`` (3x5x2) and ``1`` (5x5x5): anything with conditions or
restrictions is treated as not shareable in outputs (the report still counts towards hotspots).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

SYSTEM_3X5X2 = "3x5x2"
SYSTEM_5X5X5 = "5x5x5"

#: Source evaluation -> weight in (0, 1].
SOURCE_WEIGHT: dict[str, dict[str, float]] = {
    SYSTEM_3X5X2: {"1": 1.0, "2": 0.6, "3": 0.3},
    SYSTEM_5X5X5: {"A": 1.0, "B": 0.8, "C": 0.6, "D": 0.3, "E": 0.6},
}
#: Intelligence assessment -> weight in (0, 1]. Equivalent meanings share a weight across the systems
#: (3x5x2 A ~ 5x5x5 2, B ~ 3, D ~ 4, E ~ 5); only 5x5x5 "1, known true without reservation" reaches 1.0.
ASSESSMENT_WEIGHT: dict[str, dict[str, float]] = {
    SYSTEM_3X5X2: {"A": 0.9, "B": 0.8, "C": 0.6, "D": 0.4, "E": 0.05},
    SYSTEM_5X5X5: {"1": 1.0, "2": 0.9, "3": 0.8, "4": 0.4, "5": 0.05},
}
#: Handling code -> may the record's details be shown in outputs?
HANDLING_DISSEMINATE: dict[str, dict[str, bool]] = {
    SYSTEM_3X5X2: {"P": True, "C": False},
    SYSTEM_5X5X5: {"1": True, "2": False, "3": False, "4": False, "5": False},
}

REQUIRED_COLUMNS: tuple[str, ...] = (
    "intel_id", "reported_at", "subject_category", "source_evaluation", "intelligence_assessment", "handling_code",
)
TEXT_COLUMN = "text"
#: Columns that are parsed and may appear in the quarantine's raw values; ``text`` is never among them.
SHOWN_COLUMNS: tuple[str, ...] = (
    "intel_id", "reported_at", "lon", "lat", "easting", "northing", "subject_category", "source_evaluation",
    "intelligence_assessment", "handling_code",
)


def is_intel_header(header: list[str]) -> bool:
    """True when ``header`` is an intelligence-report header (see module docs)."""
    h = set(header)
    return set(REQUIRED_COLUMNS) <= h and ({"lon", "lat"} <= h or {"easting", "northing"} <= h)


def grade(source: pd.Series, assessment: pd.Series, handling: pd.Series
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised grading of raw grade strings.

    Returns
    -------
    confidence : ndarray of float
        (0, 1]; NaN where the grading is invalid.
    disseminate : ndarray of bool
        True only where the handling code clearly permits sharing.
    handling_code : ndarray of object
        Normalised handling code (upper case, stripped).
    ok : ndarray of bool
        False for a missing/invalid code or a mix of the two systems.
    """
    s = source.fillna("").astype(str).str.strip().str.upper().to_numpy(object)
    a = assessment.fillna("").astype(str).str.strip().str.upper().to_numpy(object)
    h = handling.fillna("").astype(str).str.strip().str.upper().to_numpy(object)
    conf = np.full(s.size, np.nan)
    diss = np.zeros(s.size, dtype=bool)
    ok = np.zeros(s.size, dtype=bool)
    for system in (SYSTEM_3X5X2, SYSTEM_5X5X5):
        sw = pd.Series(s).map(SOURCE_WEIGHT[system]).to_numpy(float)
        aw = pd.Series(a).map(ASSESSMENT_WEIGHT[system]).to_numpy(float)
        hd = pd.Series(h).map(HANDLING_DISSEMINATE[system])
        valid = np.isfinite(sw) & np.isfinite(aw) & hd.notna().to_numpy()
        conf[valid] = sw[valid] * aw[valid]
        diss[valid] = hd[valid].astype(bool).to_numpy()
        ok |= valid
    return conf, diss, h, ok


def grade_one(source: str, assessment: str, handling: str) -> tuple[float, bool]:
    """One item's ``(confidence, disseminate)`` from its grading codes (either system, not mixed), as
    :func:`grade` reads a file's rows; ``ValueError`` (one line) for a missing, unknown or mixed code."""
    conf, diss, _, ok = grade(pd.Series([source]), pd.Series([assessment]), pd.Series([handling]))
    if not ok[0]:
        raise ValueError(f"grading {source!s}/{assessment!s}/{handling!s} is not a 3x5x2 (1-3, A-E, P/C) or a "
                         "5x5x5 (A-E, 1-5, 1-5) grading")
    return float(conf[0]), bool(diss[0])


#: An intelligence id that may be shown: a short code, no spaces (free text typed there is not shown).
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
_GRADE_CODES = {
    "source_evaluation": {k for w in SOURCE_WEIGHT.values() for k in w},
    "intelligence_assessment": {k for w in ASSESSMENT_WEIGHT.values() for k in w},
    "handling_code": {k for w in HANDLING_DISSEMINATE.values() for k in w},
}


def quarantine_view(cells: pd.DataFrame, header: list[str], parsed: dict[str, np.ndarray], shape_ok: np.ndarray,
                    disseminate: np.ndarray, raw_row: Callable[[int], dict[str, Any]]
                    ) -> Callable[[int], dict[str, Any]]:
    """What the quarantine may show of intelligence row ``i``: allow-listed cells that passed their check.

    ``parsed`` says per column where the cell was read as what it should be (a number in range, a date, a
    known category or grade code); a cell that failed may be free text typed in the wrong place, so it is
    left out. A row that may not be disseminated keeps only its id; so does a row of the wrong shape (a comma
    in the free text shifts every cell after it), and then only when the id comes before the free text
    (``raw_row`` gives that row's fields as written: its cells are left empty).
    """
    shown = [c for c in SHOWN_COLUMNS if c in cells.columns]
    text = [cells[c].to_numpy(object) for c in shown]
    ids = cells["intel_id"].astype(str).str.strip() if "intel_id" in cells else pd.Series([""] * len(cells))
    id_ok = ids.str.match(_ID.pattern).to_numpy(bool)
    names = [h.strip() for h in header]
    id_before_text = TEXT_COLUMN not in names or names.index("intel_id") < names.index(TEXT_COLUMN)
    ok = [np.asarray(parsed.get(c, np.zeros(len(cells), dtype=bool)), dtype=bool) for c in shown]
    for c in _GRADE_CODES:
        if c in shown:
            ok[shown.index(c)] = cells[c].astype(str).str.strip().str.upper().isin(_GRADE_CODES[c]).to_numpy(bool)

    def view(i: int) -> dict[str, Any]:
        if shape_ok[i]:
            rid = ids.iat[i] if id_ok[i] else None
        else:
            cell = str(raw_row(i).get("intel_id", "")).strip() if id_before_text else ""
            rid = cell if _ID.match(cell) else None
        if not (shape_ok[i] and disseminate[i]):
            return {"intel_id": rid} if rid is not None else {}
        out = {c: v[i] for c, v, good in zip(shown, text, ok, strict=True) if good[i] and c != "intel_id"}
        return ({"intel_id": rid} if rid is not None else {}) | out

    return view

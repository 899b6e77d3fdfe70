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

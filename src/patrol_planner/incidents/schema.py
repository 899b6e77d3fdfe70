"""The canonical incident table: one schema for every source.

Every reader returns a :class:`pandas.DataFrame` with exactly :data:`COLUMNS` (in that order) and
``df.attrs["crs"]`` set to the working CRS (an ``EPSG:xxxx`` string, projected, metres).

========================  ==================  =====================================================
column                    dtype               meaning
========================  ==================  =====================================================
``incident_id``           string              stable id, unique within the table (see readers)
``source_kind``           string              one of :data:`SOURCE_KINDS` (the format read)
``category``              string              one of :data:`POLICE_UK_CATEGORIES` (reference
                                              taxonomy; other sources map onto it), or
                                              :data:`STOP_AND_SEARCH` for a search
``occurred_from``         datetime64[ns]      start of the interval in which it happened, local
                                              wall-clock time of the source, no time zone
``occurred_to``           datetime64[ns]      end of that interval (exclusive for a police.uk month:
                                              2018-01 -> [2018-01-01, 2018-02-01)); equal to
                                              ``occurred_from`` for a timestamp
``time_known``            bool                True when the time of day is known (timestamps)
``lon``, ``lat``          float64             EPSG:4326 [deg]
``x_m``, ``y_m``          float64             working CRS [m]
``confidence``            float64             (0, 1]; 1.0 for recorded crimes, from the grading
                                              for intelligence
``handling_code``         string (nullable)   intelligence handling code (e.g. ``P``, ``C``), NA
                                              for crimes
``disseminate``           bool                False when the handling code forbids showing the
                                              record's details in outputs (it still scores)
``location``              string (nullable)   public location text (police.uk "On or near ...");
                                              always NA for intelligence
``source_file``           string              file name the row came from
``source_line``           int64               1-based physical line in that file (header = 1)
========================  ==================  =====================================================

Police-generated records: :data:`POLICE_GENERATED_CATEGORIES` (Drugs, Possession of weapons, Stop and search)
are found by police activity rather than reported by victims, so their counts follow where officers were
sent. :func:`is_police_generated` marks them, so that a hotspot model can leave them out of what it scores
(otherwise patrols create the "crime" that sends more patrols).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS: tuple[str, ...] = (
    "incident_id",
    "source_kind",
    "category",
    "occurred_from",
    "occurred_to",
    "time_known",
    "lon",
    "lat",
    "x_m",
    "y_m",
    "confidence",
    "handling_code",
    "disseminate",
    "location",
    "source_file",
    "source_line",
)

DTYPES: dict[str, str] = {
    "incident_id": "string",
    "source_kind": "string",
    "category": "string",
    "occurred_from": "datetime64[ns]",
    "occurred_to": "datetime64[ns]",
    "time_known": "bool",
    "lon": "float64",
    "lat": "float64",
    "x_m": "float64",
    "y_m": "float64",
    "confidence": "float64",
    "handling_code": "string",
    "disseminate": "bool",
    "location": "string",
    "source_file": "string",
    "source_line": "int64",
}

SOURCE_KINDS: tuple[str, ...] = ("police_uk_street", "police_uk_api", "generic", "intelligence",
                                 "police_uk_stop_search", "police_uk_api_stop_search")

#: The 14 data.police.uk street-level crime types: the reference taxonomy.
POLICE_UK_CATEGORIES: tuple[str, ...] = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
)

#: Category of a stop-and-search record (police.uk publishes searches apart from the 14 crime types).
STOP_AND_SEARCH = "Stop and search"

#: Every category the incident table may hold.
INCIDENT_CATEGORIES: tuple[str, ...] = (*POLICE_UK_CATEGORIES, STOP_AND_SEARCH)

#: Categories found by police activity rather than reported by victims or witnesses: drugs and weapons
#: possession offences are mostly recorded when officers search someone, and a search is police activity
#: itself. Their counts measure where police looked as much as where crime happened.
POLICE_GENERATED_CATEGORIES: frozenset[str] = frozenset({"Drugs", "Possession of weapons", STOP_AND_SEARCH})


def is_police_generated(categories: pd.Series | np.ndarray | list[str]) -> np.ndarray:
    """Boolean array: True where a category is in :data:`POLICE_GENERATED_CATEGORIES`.

    ``categories`` is the ``category`` column of an incident table (or any sequence of category names);
    missing values are False.
    """
    s = pd.Series(categories, dtype=object) if not isinstance(categories, pd.Series) else categories
    return s.isin(POLICE_GENERATED_CATEGORIES).to_numpy(bool)


#: data.police.uk API category slugs -> reference category.
POLICE_UK_API_SLUGS: dict[str, str] = {
    "anti-social-behaviour": "Anti-social behaviour",
    "bicycle-theft": "Bicycle theft",
    "burglary": "Burglary",
    "criminal-damage-arson": "Criminal damage and arson",
    "drugs": "Drugs",
    "other-crime": "Other crime",
    "other-theft": "Other theft",
    "possession-of-weapons": "Possession of weapons",
    "public-order": "Public order",
    "robbery": "Robbery",
    "shoplifting": "Shoplifting",
    "theft-from-the-person": "Theft from the person",
    "vehicle-crime": "Vehicle crime",
    "violent-crime": "Violence and sexual offences",
    # older API slugs, merged by police.uk in 2013-2014
    "violence-and-sexual-offences": "Violence and sexual offences",
    "public-disorder-weapons": "Public order",
}

#: Crime types police.uk street files used before the 2013 reclassification -> today's reference type.
#: "Public disorder and weapons" was split into Public order and Possession of weapons; its rows go to
#: Public order, the larger successor (a stated choice: weapons rows cannot be told apart).
POLICE_UK_LEGACY_NAMES: dict[str, str] = {
    "Violent crime": "Violence and sexual offences",
    "Violence against the person": "Violence and sexual offences",
    "Public disorder and weapons": "Public order",
}

QUARANTINE_COLUMNS: tuple[str, ...] = ("source_file", "source_line", "reason", "detail", "raw")
"""Quarantine table: ``raw`` is a JSON object of the row's raw values (never intelligence free text)."""


def empty_incidents(crs: str) -> pd.DataFrame:
    """An empty canonical table in ``crs``."""
    df = pd.DataFrame({c: pd.Series(dtype=DTYPES[c]) for c in COLUMNS})
    df.attrs["crs"] = crs
    return df


def validate_incidents(df: pd.DataFrame) -> pd.DataFrame:
    """Check ``df`` against the schema; return it unchanged or raise ``ValueError`` naming the problem.

    Used by stages that accept an incident table from outside (notebooks, tests) before trusting it.
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"incident table lacks columns {missing}")
    if "crs" not in df.attrs:
        raise ValueError("incident table has no attrs['crs']: project it with patrol_planner.geo first")
    bad_cat = set(df["category"].dropna().unique()) - set(INCIDENT_CATEGORIES)
    if bad_cat:
        raise ValueError(f"unknown categories {sorted(bad_cat)[:5]}: map them to the police.uk types")
    for c in ("x_m", "y_m", "lon", "lat"):
        if len(df) and not np.isfinite(df[c].to_numpy(float)).all():
            raise ValueError(f"column {c} has missing or non-finite values")
    if df["incident_id"].duplicated().any():
        raise ValueError("incident_id is not unique")
    return df

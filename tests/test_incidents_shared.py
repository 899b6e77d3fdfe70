"""Ingestion of the full third-party files in ../shared (skipped when that folder is absent)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from patrol_planner.incidents import ingest, validate_incidents

REPO = Path(__file__).resolve().parents[1]
RAW = REPO / ".." / "shared" / "data" / "raw"
pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not (REPO / ".." / "shared").is_dir(), reason="../shared data folder is not present"),
]


def test_essex_2018_all_rows_and_no_location():
    """All seven Essex months: 115,065 rows read, all 218 no-location rows quarantined, strays removed."""
    files = sorted((RAW / "policeuk-essex-2018").glob("*.csv"))
    res = ingest(files)
    rep = res.report
    assert rep.rows_read == 115_065 == rep.rows_loaded + rep.rows_quarantined
    assert rep.quarantine_reasons["no_location"] == 218
    assert 0 < rep.quarantine_reasons.get("outside_area", 0) < 100
    assert rep.categories["Anti-social behaviour"] == 28_750  # ASB rows have no Crime ID and are all kept
    validate_incidents(res.incidents)
    inc = res.incidents
    assert inc["lon"].min() > -1.0 and inc["lat"].max() < 53.0  # the -4.17, 54.96 stray is gone


def test_cambs_rtc_placeholders_quarantined():
    """Cambridgeshire RTC (cp1252, BNG, HHMM): the 5 placeholder coordinates are quarantined, times are known."""
    res = ingest(RAW / "cambs-rtc-2012-2017" / "Cambs_RTC.csv")
    rep = res.report
    assert rep.rows_read == 12_108 and rep.files[0]["mapping"] == "cambs-rtc"
    assert rep.files[0]["encoding"] == "cp1252"
    q = res.quarantine
    placeholders = q[q["detail"].str.contains("placeholder")]
    assert len(placeholders) == 5
    assert placeholders["raw"].str.contains("500000.0009|199999.9999").all()
    assert res.incidents["time_known"].mean() > 0.99
    assert set(res.incidents["category"]) == {"Other crime"}


@pytest.mark.parametrize(("name", "rows"), [("nycvehiclethefts.csv", 35_746), ("homicides15.csv", 1_922)])
def test_us_files_load_with_timestamps(name, rows):
    """NYC thefts and 2015 homicides: auto-detected mapping, every row loaded with its time of day."""
    res = ingest(RAW / "crimedata-code-us" / name)
    assert res.report.rows_read == rows == res.report.rows_loaded
    inc = res.incidents
    assert inc["time_known"].all() and (inc["occurred_from"] == inc["occurred_to"]).all()
    assert res.report.crs.startswith("EPSG:326")
    first = pd.read_csv(RAW / "crimedata-code-us" / name, nrows=1)
    assert inc["occurred_from"].iloc[0] == pd.Timestamp(first["date_single"].iloc[0])


def test_colchester_api_file():
    """The police.uk API extract: 6,878 rows, category slugs mapped, one repeated persistent_id quarantined."""
    res = ingest(RAW / "policeuk-api-colchester-2023" / "crime23.csv")
    rep = res.report
    assert rep.rows_read == 6_878 and rep.files[0]["format"] == "police_uk_api"
    assert rep.categories["Violence and sexual offences"] + rep.quarantine_reasons.get("duplicate_id", 0) >= 2_633
    assert len(rep.categories) == 14

"""Ingestion of the full third-party files in ../shared (skipped when that folder is absent)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from patrol_planner.incidents import forces_in, ingest, is_police_generated, validate_incidents

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


def test_eastern_archives_by_force():
    """The six eastern police.uk ZIPs: forces_in finds 12 street members each; one force reads as its members do."""
    import io
    import zipfile

    eastern = RAW / "policeuk-2025-eastern"
    found = forces_in(eastern)
    assert list(found) == ["bedfordshire", "cambridgeshire", "hertfordshire", "kent", "norfolk", "suffolk"]
    assert all(len(v) == 12 for v in found.values())
    assert found["suffolk"][0].endswith("suffolk-2025.zip:2025-01/2025-01-suffolk-street.csv")
    res = ingest(eastern, force="suffolk")
    rep = res.report
    with zipfile.ZipFile(eastern / "suffolk-2025.zip") as zf:
        raw = pd.concat([pd.read_csv(io.BytesIO(zf.read(i)), dtype=str, keep_default_na=False)
                         for i in zf.infolist() if not i.is_dir()])
    assert rep.rows_read == len(raw) == rep.rows_loaded + rep.rows_quarantined
    assert rep.quarantine_reasons["no_location"] == int((raw["Longitude"] == "").sum())
    assert list(rep.forces) == ["suffolk"] and rep.skipped["other_force"] == 60 and not rep.unreadable
    assert set(res.quarantine["source_file"].str.split(":").str[0]) <= {"suffolk-2025.zip"}
    validate_incidents(res.incidents)


def test_essex_2025_folder():
    """A folder of twelve monthly CSVs (and its SOURCE.md, skipped and counted): 158,217 rows, all accounted for.

    (SOURCE.md says 2,176 rows lack coordinates; the files have 2,140, counted here from the files themselves.)
    """
    folder = RAW / "policeuk-essex-2025"
    rep = ingest(folder).report
    raw = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(folder.glob("*.csv"))])
    assert rep.rows_read == 158_217 == len(raw) == rep.rows_loaded + rep.rows_quarantined
    no_coords = int(((raw["Longitude"] == "") & (raw["Latitude"] == "")).sum())
    assert rep.quarantine_reasons["no_location"] == no_coords and rep.skipped == {"other": 1}
    assert rep.forces["essex"]["files"] == 12


def test_avon_stop_and_search_api():
    """Avon and Somerset searches (API layout): 507 read, the 55 without coordinates quarantined, exact times,
    every one police-generated, no personal attribute carried."""
    res = ingest(RAW / "policeuk-api-stopsearch-avon-2023")
    inc = res.incidents
    assert res.report.rows_read == 507 and res.report.quarantine_reasons == {"no_location": 55}
    assert inc["time_known"].all() and is_police_generated(inc["category"]).all()
    assert inc["incident_id"].is_unique
    everything = inc.to_csv() + res.quarantine.to_csv()
    assert "Misuse of Drugs" not in inc.to_csv()
    for personal in ("English/Welsh/Scottish", "Male", "18-24", "over 34"):
        assert personal not in everything

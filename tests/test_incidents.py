"""Ingestion on the bundled data and on small crafted files: readers, quarantine reasons, whole-file errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patrol_planner.errors import FormatError, InputFileError, MappingError
from patrol_planner.incidents import (
    COLUMNS,
    QUARANTINE_COLUMNS,
    REASONS,
    GenericMapping,
    ingest,
    load_mapping,
    validate_incidents,
)
from patrol_planner.incidents.intel import grade
from patrol_planner.incidents.quarantine import placeholder_xy, stray_mask

REPO = Path(__file__).resolve().parents[1]
LEICS = sorted((REPO / "data" / "policeuk-leicestershire-2022").glob("*.csv"))
INTEL = REPO / "data" / "intel-rutland-synthetic" / "intel.csv"

STREET_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                 "Crime type,Last outcome category,Context")
INTEL_HEADER = ("intel_id,reported_at,lon,lat,subject_category,source_evaluation,intelligence_assessment,"
                "handling_code,text")


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return p


def _street_row(cid: str = "", month: str = "2022-07", lon: str = "-0.731", lat: str = "52.671",
                ctype: str = "Burglary", loc: str = "On or near Mill Street") -> str:
    force = "Leicestershire Police"
    return f"{cid},{month},{force},{force},{lon},{lat},{loc},E01013761,Rutland 003A,{ctype},,"


@pytest.fixture(scope="module")
def leics():
    return ingest(LEICS)


def test_leicestershire_every_row_accounted_for(leics):
    """20,429 rows read; every row without coordinates is quarantined as no_location; the table fits the schema."""
    rep = leics.report
    assert rep.rows_read == 20_429
    assert rep.rows_read == rep.rows_loaded + rep.rows_quarantined
    raw = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in LEICS])
    assert rep.quarantine_reasons["no_location"] == int((raw["Longitude"] == "").sum()) == 679
    assert list(leics.incidents.columns) == list(COLUMNS)
    assert list(leics.quarantine.columns) == list(QUARANTINE_COLUMNS)
    validate_incidents(leics.incidents)
    assert rep.crs == "EPSG:27700" == leics.incidents.attrs["crs"]
    inc = leics.incidents
    assert (inc["occurred_to"] > inc["occurred_from"]).all() and not inc["time_known"].any()
    assert set(inc["occurred_from"].dt.strftime("%Y-%m-%d")) == {"2022-07-01", "2022-08-01"}
    # Leicestershire lies within these BNG bounds [m].
    assert inc["x_m"].between(410_000, 520_000).all() and inc["y_m"].between(260_000, 370_000).all()


def test_leicestershire_provenance_points_at_the_right_line(leics):
    """source_line is the physical line of the row in its file, so an analyst can find it: the line holds the
    row's longitude and its Crime ID (empty on the line for a row whose id is a content hash)."""
    inc = leics.incidents
    lines = LEICS[0].read_text().splitlines()
    sample = inc[(inc["source_file"] == LEICS[0].name)].iloc[[0, 500, -1]]
    hashed = sample["incident_id"].str.startswith("h:")
    assert hashed.tolist() == [True, False, False]  # both kinds of id are checked
    for (_, row), is_hash in zip(sample.iterrows(), hashed, strict=True):
        text = lines[row["source_line"] - 1]
        assert f"{row['lon']:.6f}".rstrip("0") in text or str(row["lon"]) in text
        assert text.split(",", 1)[0] == ("" if is_hash else row["incident_id"])


def test_folder_input_and_all_quarantined_warning(tmp_path):
    """A folder stands for its CSV files; a file whose every row is quarantined warns (DataQualityWarning)."""
    from patrol_planner.errors import DataQualityWarning

    res = ingest(LEICS[0].parent)
    assert res.report.rows_read == 20_429 and len(res.report.files) == 2
    with pytest.raises(InputFileError, match="no .csv"):
        ingest(tmp_path)
    bad = _write(tmp_path, "bad.csv", STREET_HEADER + "\n" + _street_row("x", lon="", lat="") + "\n")
    with pytest.warns(DataQualityWarning, match="all 1 rows"):
        assert ingest(bad).report.rows_loaded == 0


def test_aoi_as_shapely_polygon(tmp_path):
    """aoi_lonlat may be a shapely polygon in EPSG:4326."""
    from shapely.geometry import box

    rows = [_street_row("p1"), _street_row("p2", lon="-1.134", lat="52.636")]
    res = ingest(_write(tmp_path, "s.csv", STREET_HEADER + "\n" + "\n".join(rows) + "\n"),
                 aoi_lonlat=box(-0.9, 52.5, -0.4, 52.8))
    assert res.incidents["incident_id"].tolist() == ["p1"]


def test_ids_stable_and_unique(leics):
    """Ids do not depend on file order; ASB rows (no Crime ID) get content hashes and are not quarantined."""
    again = ingest(list(reversed(LEICS)))
    a = leics.incidents.set_index(["source_file", "source_line"])["incident_id"]
    b = again.incidents.set_index(["source_file", "source_line"])["incident_id"]
    assert a.sort_index().equals(b.sort_index())
    assert leics.incidents["incident_id"].is_unique
    asb = leics.incidents[leics.incidents["category"] == "Anti-social behaviour"]
    assert len(asb) > 1000 and asb["incident_id"].str.startswith("h:").all()
    assert "duplicate_id" not in leics.report.quarantine_reasons


def test_strays_are_quarantined_but_county_points_kept(leics):
    """Points 100+ km from the force (Lincolnshire coast) are outside_area; Rutland and Leicester stay."""
    q = leics.quarantine[leics.quarantine["reason"] == "outside_area"]
    assert 0 < len(q) < 30
    inc = leics.incidents
    assert inc["lon"].between(-1.7, -0.4).all() and inc["lat"].between(52.3, 53.2).all()
    assert ((inc["lon"] > -0.8) & (inc["lat"] < 52.7)).sum() > 100  # Rutland kept


def test_stray_rule_floor_and_far_point():
    """A 60-km-wide cloud keeps all its points; one point 400 km away is a stray."""
    rng = np.random.default_rng(0)
    lon = np.r_[rng.uniform(-1.5, -0.7, 500), -4.17]
    lat = np.r_[rng.uniform(52.3, 52.8, 500), 54.96]
    m = stray_mask(lon, lat)
    assert m[-1] and not m[:-1].any()


def test_placeholder_detection():
    """Round 100-km BNG values (Cambridgeshire's 500000.0009 / 199999.9999) are placeholders; real ones are not."""
    x = np.array([500000.0009, 506230.0021, 539615.1862, 0.0])
    y = np.array([256930.0038, 199999.9999, 263046.6829, 0.0])
    assert placeholder_xy(x, y).tolist() == [True, True, False, True]


def test_every_street_quarantine_reason(tmp_path):
    """Crafted police.uk street rows: each bad row gets its own reason, on its own line."""
    rows = [
        _street_row("aa01"),                                    # 2 ok
        _street_row("aa02")[:-30],                              # 3 truncated_row
        _street_row("aa03") + ",extra,cells",                   # 4 extra_fields
        _street_row("aa04", lon="", lat="", loc="No Location"),  # 5 no_location
        _street_row("aa05", lon="abc"),                         # 6 bad_coordinate
        _street_row("aa06", lon="-0.73"[:0] + "-0.731", lat=""),  # 7 bad_coordinate (one of the pair)
        _street_row("aa07", month="2022-13"),                   # 8 bad_date
        _street_row("aa08", ctype="Jaywalking"),                # 9 unknown_category
        _street_row("aa09", lon="0", lat="0"),                  # 10 outside_area (null island)
        _street_row("aa01"),                                    # 11 duplicate_id
        _street_row("", ctype="Anti-social behaviour"),         # 12 ok (ASB, no id)
        _street_row("", ctype="Anti-social behaviour"),         # 13 ok (identical ASB row, 2nd occurrence)
        _street_row("aa10", lon="1e400"),                       # 14 bad_coordinate (not finite)
    ]
    p = _write(tmp_path, "street.csv", STREET_HEADER + "\n" + "\n".join(rows) + "\n")
    res = ingest(p)
    got = dict(zip(res.quarantine["source_line"], res.quarantine["reason"], strict=True))
    assert got == {3: "truncated_row", 4: "extra_fields", 5: "no_location", 6: "bad_coordinate",
                   7: "bad_coordinate", 8: "bad_date", 9: "unknown_category", 10: "outside_area",
                   11: "duplicate_id", 14: "bad_coordinate"}
    assert res.incidents["source_line"].tolist() == [2, 12, 13]
    ids = res.incidents["incident_id"].tolist()
    assert ids[0] == "aa01" and ids[1] != ids[2] and ids[2].endswith("#1")
    assert set(res.quarantine["reason"]) <= set(REASONS)
    over = res.quarantine[res.quarantine["reason"] == "extra_fields"]["raw"].iloc[0]
    assert json.loads(over)["_extra"] == ["extra", "cells"]


def test_aoi_and_whole_degree_placeholders(tmp_path):
    """Points outside aoi_lonlat are outside_area; so are typed-in whole-degree positions."""
    rows = [_street_row("b1"), _street_row("b2", lon="-1.134", lat="52.636"), _street_row("b3", lon="-1", lat="52")]
    p = _write(tmp_path, "s.csv", STREET_HEADER + "\n" + "\n".join(rows) + "\n")
    res = ingest(p, aoi_lonlat=(-0.9, 52.5, -0.4, 52.8))
    assert res.incidents["incident_id"].tolist() == ["b1"]
    assert res.quarantine["reason"].tolist() == ["outside_area", "outside_area"]


def test_quoted_fields_multiline_and_line_numbers(tmp_path):
    """Quoted commas and newlines are read as data; line numbers stay physical; the csv fallback agrees."""
    rows = [_street_row("q1", loc='"On or near High Street, Oakham"'),
            _street_row("q2", loc='"On or near\nthe Market"'),
            _street_row("q3")]
    p = _write(tmp_path, "quoted.csv", STREET_HEADER + "\r\n" + "\r\n".join(rows) + "\r\n")
    res = ingest(p)
    assert res.incidents["location"].tolist() == ["On or near High Street, Oakham", "On or near\nthe Market",
                                                  "On or near Mill Street"]
    assert res.incidents["source_line"].tolist() == [2, 3, 5]
    # A quote in the middle of an unquoted cell sends the file through the csv module path.
    rows2 = [_street_row("r1", loc='On or near "The" Green'), _street_row("r2", loc='"x\ny"'), _street_row("r3")]
    p2 = _write(tmp_path, "midquote.csv", STREET_HEADER + "\n" + "\n".join(rows2) + "\n")
    res2 = ingest(p2)
    assert res2.incidents["source_line"].tolist() == [2, 3, 5]
    assert res2.incidents["location"].iloc[0] == 'On or near "The" Green'


def test_hash_ids_do_not_depend_on_parser_path(tmp_path):
    """The same ASB rows get the same ids whether the file takes the fast path or the csv-module path."""
    asb = [_street_row("", ctype="Anti-social behaviour", lon="-0.7301"),
           _street_row("", ctype="Anti-social behaviour", lon="-0.7302")]
    fast = ingest(_write(tmp_path, "fast.csv", STREET_HEADER + "\n" + "\n".join(asb) + "\n"))
    odd = _street_row("o1", loc='On or near "The" Green')  # a mid-cell quote forces the csv-module path
    slow = ingest(_write(tmp_path, "slow.csv", STREET_HEADER + "\n" + "\n".join([*asb, odd]) + "\n"))
    assert fast.incidents["incident_id"].tolist() == slow.incidents["incident_id"].tolist()[:2]


def test_hash_id_copies_are_numbered_per_file(tmp_path):
    """Identical id-less rows are numbered within their own file (all files are hashed in one batch): a copy
    in a second file gets the first file's id again and is quarantined as duplicate_id, not renumbered."""
    asb = _street_row("", ctype="Anti-social behaviour")
    a = _write(tmp_path, "a.csv", STREET_HEADER + "\n" + asb + "\n" + asb + "\n")
    b = _write(tmp_path, "b.csv", STREET_HEADER + "\n" + asb + "\n" + _street_row("", lon="-0.7302") + "\n")
    both = ingest([a, b])
    ids = both.incidents["incident_id"].tolist()
    assert ids[1] == ids[0] + "#1" and both.report.quarantine_reasons == {"duplicate_id": 1}
    alone_a, alone_b = ingest(a).incidents["incident_id"].tolist(), ingest(b).incidents["incident_id"].tolist()
    assert ids == alone_a + alone_b[1:] and alone_b[0] == alone_a[0]


def test_distinct_points_match_exact_pairs():
    """Projection dedup groups rows by exact (lon, lat) pairs, including repeats and signed zeros."""
    from patrol_planner.incidents.table import distinct_points as _distinct_points

    rng = np.random.default_rng(3)
    lon = np.round(rng.uniform(-1, 1, 5000), 2)
    lat = np.round(rng.uniform(51, 52, 5000), 2)
    lon[:10], lat[:10] = -0.0, 51.5
    lon[10:20], lat[10:20] = 0.0, 51.5
    codes, first = _distinct_points(lon, lat)
    assert (lon[first][codes] == lon).all() and (lat[first][codes] == lat).all()
    pairs = pd.Series(list(zip(lon.tolist(), lat.tolist(), np.signbit(lon).tolist(), strict=True)))
    assert len(first) == pairs.nunique() and (first == np.sort(first)).all()


def test_blank_lines_and_padding(tmp_path):
    """Blank lines are not rows; cells with stray spaces are stripped."""
    rows = [_street_row("c1", lon=" -0.731 ", ctype=" Burglary"), "", _street_row("c2"), ""]
    p = _write(tmp_path, "pad.csv", STREET_HEADER + "\n" + "\n".join(rows) + "\n\n")
    res = ingest(p)
    assert res.report.rows_read == 2 and res.report.rows_loaded == 2
    assert res.incidents["source_line"].tolist() == [2, 4]


def test_police_uk_api_reader(tmp_path):
    """API slugs map onto the 14 types; ASB rows without persistent_id use the API id; unknown slug quarantined."""
    text = (
        "category,persistent_id,date,lat,long,street_id,street_name,context,id,location_type,location_subtype,"
        "outcome_status\n"
        "anti-social-behaviour,,2023-01,51.883063,0.909136,2153366,On or near Military Road,,107596596,Force,,NA\n"
        "violent-crime,abc123,2023-02,51.890100,0.901681,2153173,On or near ,,107596646,Force,,NA\n"
        "teleportation,def456,2023-02,51.890100,0.901681,2153173,On or near X,,107596647,Force,,NA\n"
    )
    res = ingest(_write(tmp_path, "crime23.csv", text))
    inc = res.incidents
    assert inc["category"].tolist() == ["Anti-social behaviour", "Violence and sexual offences"]
    assert inc["incident_id"].tolist() == ["policeuk-api:107596596", "abc123"]
    assert inc["source_kind"].unique().tolist() == ["police_uk_api"]
    assert inc["location"].isna().iloc[1]  # "On or near " carries no street
    assert res.quarantine["reason"].tolist() == ["unknown_category"]


def test_intel_bundled_grading_and_no_free_text(tmp_path):
    """The synthetic Rutland file loads; confidence in (0,1]; only P/1 disseminate; text never appears."""
    res = ingest(INTEL)
    inc = res.incidents
    assert res.report.rows_read == res.report.rows_loaded == 48
    assert (inc["confidence"] > 0).all() and (inc["confidence"] <= 1).all()
    assert set(inc.loc[inc["disseminate"], "handling_code"]) <= {"P", "1"}
    assert set(inc.loc[~inc["disseminate"], "handling_code"]) <= {"C", "2", "3", "4", "5"}
    assert inc["location"].isna().all() and inc["time_known"].all()
    assert (inc["source_kind"] == "intelligence").all()
    out = tmp_path / "i.csv"
    inc.to_csv(out)
    dumped = out.read_text() + res.quarantine.to_csv() + json.dumps(res.report.to_dict())
    assert "FICTIONAL" not in dumped and "heron" not in dumped


def test_intel_bad_rows_never_leak_text(tmp_path):
    """Crafted bad intelligence rows are quarantined with their reason, and their free text is not kept."""
    secret = "SECRET-TEXT-do-not-show"
    rows = [
        f"I1,2022-07-01T10:00:00,-0.73,52.67,Drugs,1,A,P,{secret} one",
        f"I2,2022-07-01T10:00:00,-0.731,52.671,Drugs,1,3,P,{secret} two",        # mixes 3x5x2 and 5x5x5
        f"I3,2022-07-01T10:00:00,-0.732,52.672,Drugs,,A,P,{secret} three",       # no source evaluation
        f"I4,2022-07-01T10:00:00,-0.733,52.673,Drugs,2,B,X,{secret} four",       # unknown handling code
        f"I5,yesterday,-0.734,52.674,Drugs,2,B,C,{secret} five",                 # bad_date
        f"I6,2022-07-01T10:00:00,-0.735,52.675,Smuggling,2,B,C,{secret} six",   # unknown_category
        f"I1,2022-07-02T10:00:00,-0.736,52.676,burglary,B,2,1,{secret} seven",  # duplicate_id
        f'I8,2022-07-02,-0.737,52.677,vehicle-crime,e,4,5,"{secret}, eight"',   # ok: date only, 5x5x5, slug
    ]
    p = _write(tmp_path, "intel_bad.csv", INTEL_HEADER + "\n" + "\n".join(rows) + "\n")
    res = ingest(p)
    assert res.quarantine["reason"].tolist() == ["bad_grading", "bad_grading", "bad_grading", "bad_date",
                                                 "unknown_category", "duplicate_id"]
    inc = res.incidents.set_index("incident_id")
    assert inc.loc["intel:I1", "confidence"] == pytest.approx(0.9)
    assert inc.loc["intel:I8", "confidence"] == pytest.approx(0.6 * 0.4)
    assert not inc.loc["intel:I8", "time_known"] and inc.loc["intel:I8", "category"] == "Vehicle crime"
    assert inc.loc["intel:I8", "occurred_to"] - inc.loc["intel:I8", "occurred_from"] == pd.Timedelta(days=1)
    everything = res.incidents.to_csv() + res.quarantine.to_csv() + json.dumps(res.report.to_dict())
    assert "SECRET" not in everything


def test_intel_time_offsets_become_uk_local_time(tmp_path):
    """ISO times with Z or an offset are converted to UK local time; naive times are kept; 25:00 is bad_date."""
    rows = ["a,2022-07-01T12:00:00Z,-0.73,52.67,Drugs,1,A,P,x",
            "b,2022-07-01T12:00:00,-0.731,52.671,Drugs,1,A,P,x",
            "c,2022-12-01T12:00:00+02:00,-0.732,52.672,Drugs,1,A,P,x",
            "d,2022-07-01T25:00:00,-0.733,52.673,Drugs,1,A,P,x"]
    res = ingest(_write(tmp_path, "tz.csv", INTEL_HEADER + "\n" + "\n".join(rows) + "\n"))
    got = res.incidents.set_index("incident_id")["occurred_from"]
    assert got["intel:a"] == pd.Timestamp("2022-07-01 13:00")  # BST
    assert got["intel:b"] == pd.Timestamp("2022-07-01 12:00")
    assert got["intel:c"] == pd.Timestamp("2022-12-01 10:00")  # GMT
    assert res.quarantine["reason"].tolist() == ["bad_date"]


def test_grade_table():
    """Grading: 3x5x2 and 5x5x5 codes give documented confidences; mixes are invalid."""
    s = pd.Series(["1", "3", "A", "e", "1", "B"])
    a = pd.Series(["A", "E", "1", "4", "1", "A"])
    h = pd.Series(["P", "C", "1", "2", "P", "1"])
    conf, diss, codes, ok = grade(s, a, h)
    assert ok.tolist() == [True, True, True, True, False, False]
    assert conf[:4] == pytest.approx([0.9, 0.3 * 0.05, 1.0, 0.6 * 0.4])
    assert diss[:4].tolist() == [True, False, True, False]
    assert codes.tolist() == ["P", "C", "1", "2", "P", "1"]


def test_generic_mapping_file_cp1252_bng_and_hhmm(tmp_path):
    """A TOML mapping reads a Windows-1252 file with BNG coordinates and HHMM times; bad cells quarantined."""
    mapping = tmp_path / "rtc.toml"
    mapping.write_text(
        'name = "my-rtc"\nid_col = "Ref"\nx_col = "E"\ny_col = "N"\ncoord_crs = "EPSG:27700"\n'
        'date_col = "Date"\ndate_format = "%Y%m%d"\ntime_col = "Time"\ntime_format = "hhmm"\n'
        'category_col = "Severity"\nlocation_col = "Where"\nencoding = "cp1252"\n'
        '[category_map]\nSlight = "Other crime"\nSerious = "Other crime"\n'
    )
    text = ("Ref,Date,Time,Severity,Where,E,N\n"
            "1,20160106,725,Slight,Caf\xe9 \u2013 A14,539615.1862,263046.6829\n"
            "2,20160107,,Serious,Road,539715.1,263146.2\n"
            "3,20160108,2460,Slight,Road,539815.1,263246.2\n"
            "4,20160109,1200,Fatal,Road,539915.1,263346.2\n"
            "5,20160110,1200,Slight,Road,500000.0009,256930.0038\n"
            "6,2016011x,1200,Slight,Road,539915.1,263346.2\n")
    p = _write(tmp_path, "rtc.csv", text.encode("cp1252"))
    res = ingest(p, mapping=mapping)
    inc = res.incidents.set_index("incident_id")
    assert inc.loc["my-rtc:1", "occurred_from"] == pd.Timestamp("2016-01-06 07:25")
    assert inc.loc["my-rtc:1", "time_known"] and inc.loc["my-rtc:1", "location"] == "Caf\xe9 \u2013 A14"
    assert not inc.loc["my-rtc:2", "time_known"]
    assert inc.loc["my-rtc:2", "occurred_to"] - inc.loc["my-rtc:2", "occurred_from"] == pd.Timedelta(days=1)
    assert res.quarantine["reason"].tolist() == ["bad_date", "unknown_category", "outside_area", "bad_date"]
    assert res.report.files[0]["encoding"] == "cp1252"
    assert inc["x_m"].between(539_000, 540_000).all()  # BNG in, BNG out


def test_generic_json_mapping_default_category_and_iso(tmp_path):
    """A JSON mapping with a default category and ISO timestamps; US points get a UTM working CRS."""
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"name": "thefts", "lon_col": "x", "lat_col": "y", "datetime_col": "when",
                             "default_category": "Vehicle crime"}))
    text = "x,y,when\n-73.93,40.81,2014-01-01T01:25:00\n-73.87,40.74,2014-01-02 13:05\n-73.90,40.70,\n"
    res = ingest(_write(tmp_path, "t.csv", text), mapping=m)
    assert res.report.crs == "EPSG:32618"
    assert res.incidents["time_known"].all() and len(res.incidents) == 2
    assert res.incidents["incident_id"].str.startswith("h:").all()
    assert res.quarantine["reason"].tolist() == ["bad_date"]


def test_mapping_applies_only_to_files_it_fits(tmp_path):
    """With --mapping and no --format, police.uk files in the same call are still read as police.uk."""
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"name": "t", "lon_col": "x", "lat_col": "y", "datetime_col": "when",
                             "default_category": "Drugs"}))
    g = _write(tmp_path, "g.csv", "x,y,when\n-0.7301,52.6701,2022-07-01 10:00\n")
    s = _write(tmp_path, "s.csv", STREET_HEADER + "\n" + _street_row("s1") + "\n")
    res = ingest([g, s], mapping=m)
    assert [f["format"] for f in res.report.files] == ["generic", "police_uk_street"]
    assert res.report.rows_loaded == 2


def test_mapping_validation_errors(tmp_path):
    """Bad mappings fail with MappingError naming the problem."""
    with pytest.raises(MappingError, match="police.uk crime type"):
        GenericMapping(name="x", lon_col="a", lat_col="b", datetime_col="t", default_category="Theft")
    with pytest.raises(MappingError, match="either lon_col"):
        GenericMapping(name="x", datetime_col="t", default_category="Drugs")
    with pytest.raises(MappingError, match="unknown mapping"):
        load_mapping("no-such-mapping")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "b"\nlon_col = "a"\nlat_col = "b"\nwhen = "t"\n')
    with pytest.raises(MappingError, match="unknown keys"):
        load_mapping(bad)
    p = _write(tmp_path, "g.csv", "a,b\n1,2\n")
    with pytest.raises(MappingError, match="lacks"):
        ingest(p, mapping=GenericMapping(name="x", lon_col="a", lat_col="c", datetime_col="t",
                                         default_category="Drugs"))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "not found"),
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"foo,bar\n1,2\n", "unknown format"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "NUL"),
        (bytes(range(0x80, 0x100)) * 20, "cannot decode"),
        ((STREET_HEADER + "\n" + _street_row("z1") + "\n" + "zz,2022-07,Leic").encode(), "truncated"),
        ((STREET_HEADER + "\n" + _street_row("z1", loc='"On or near')).encode(), "never closed"),
    ],
)
def test_whole_file_problems(tmp_path, content, match):
    """Whole-file problems raise InputFileError with one clear message, never a traceback."""
    p = tmp_path / "f.csv"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(InputFileError, match=match):
        ingest(p)


def test_header_only_and_format_override(tmp_path):
    """A header-only file is 0 rows, not an error; forcing the wrong format is a FormatError."""
    p = _write(tmp_path, "h.csv", STREET_HEADER + "\n")
    res = ingest(p)
    assert res.report.rows_read == 0 and len(res.incidents) == 0 and res.incidents.attrs["crs"]
    with pytest.raises(FormatError, match="looks like"):
        ingest(p, fmt="intelligence")
    with pytest.raises(FormatError, match="unknown format"):
        ingest(p, fmt="shapefile")
    res2 = ingest(_write(tmp_path, "nonl.csv", STREET_HEADER + "\n" + _street_row("n1")), crs="EPSG:32630")
    assert res2.report.rows_loaded == 1 and res2.report.crs == "EPSG:32630"


_JUNK = st.text(alphabet=st.sampled_from(list(',"\n\r ab01.-:Z\xe9')), max_size=300)


@pytest.mark.filterwarnings("ignore::patrol_planner.errors.DataQualityWarning")
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_JUNK, header=st.sampled_from([STREET_HEADER, INTEL_HEADER, "uid,date_single,date_start,date_end,"
                                           "longitude,latitude,location_type,location_category,census_block"]))
def test_random_junk_never_loses_a_row(tmp_path, body, header):
    """Random junk under a valid header: either a clear InputFileError, or every row is loaded or quarantined."""
    p = tmp_path / "junk.csv"
    p.write_bytes((header + "\n" + body).encode("utf-8"))
    try:
        res = ingest(p)
    except InputFileError:
        return
    rep = res.report
    assert rep.rows_read == rep.rows_loaded + rep.rows_quarantined
    assert rep.rows_read == len(res.incidents) + len(res.quarantine)
    assert sum(rep.quarantine_reasons.values()) == rep.rows_quarantined
    assert set(res.quarantine["reason"]) <= set(REASONS)


def test_cli_json_out_quarantine_and_errors(tmp_path):
    """CLI: one JSON object, both tables written, a warning when all is quarantined, exit 3 on a bad file."""
    from typer.testing import CliRunner

    from patrol_planner.cli import app

    runner = CliRunner()
    out, quar = tmp_path / "inc.csv", tmp_path / "q.csv"
    r = runner.invoke(app, ["ingest", *map(str, LEICS), "--json", "--out", str(out), "--quarantine", str(quar)])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    assert {"rows_read", "rows_loaded", "rows_quarantined", "quarantine_reasons", "categories", "crs"} <= set(rep)
    assert len(pd.read_csv(out)) == rep["rows_loaded"] and len(pd.read_csv(quar)) == rep["rows_quarantined"]
    bad = _write(tmp_path, "allbad.csv", STREET_HEADER + "\n" + _street_row("x", lon="", lat="") + "\n")
    r = runner.invoke(app, ["ingest", str(bad)])
    assert r.exit_code == 0 and "all 1 rows were quarantined" in r.output
    r = runner.invoke(app, ["ingest", str(tmp_path / "missing.csv")])
    assert r.exit_code == 3 and r.output.strip().startswith("error:") and "Traceback" not in r.output
    r = runner.invoke(app, ["ingest", str(bad), "--mapping", "nope"])
    assert r.exit_code == 3 and "unknown mapping" in r.output


def test_pre_2013_police_uk_crime_types_map_to_today(tmp_path: Path) -> None:
    """Old street files say "Violent crime" and "Public disorder and weapons": mapped, not quarantined."""
    src = (Path(__file__).resolve().parents[1] / "data" / "policeuk-leicestershire-2022"
           / "2022-08-leicestershire-street.csv").read_text(encoding="utf-8").splitlines()
    old = [src[0]] + [ln.replace("Violence and sexual offences", "Violent crime")
                      .replace("Public order", "Public disorder and weapons") for ln in src[1:300]]
    p = tmp_path / "2012-08-old-street.csv"
    p.write_text("\n".join(old) + "\n", encoding="utf-8")
    new = tmp_path / "2022-08-new-street.csv"
    new.write_text("\n".join(src[:300]) + "\n", encoding="utf-8")
    a, b = ingest([p]), ingest([new])
    assert "unknown_category" not in a.report.quarantine_reasons
    assert a.report.categories == b.report.categories

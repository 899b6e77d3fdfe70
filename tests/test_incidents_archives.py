"""Inputs as data.police.uk publishes them: ZIP archives of YYYY-MM folders, gzip'd CSVs, folders, spreadsheet
exports; plus stop-and-search records and the police-generated marker. Archives are built in each test from the
bundled Leicestershire files."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patrol_planner.errors import ArchiveError, DataQualityWarning, InputFileError
from patrol_planner.incidents import (
    POLICE_GENERATED_CATEGORIES,
    STOP_AND_SEARCH,
    forces_in,
    ingest,
    is_police_generated,
    validate_incidents,
)

REPO = Path(__file__).resolve().parents[1]
LEICS = sorted((REPO / "data" / "policeuk-leicestershire-2022").glob("*.csv"))  # 2022-07, 2022-08
STREET_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                 "Crime type,Last outcome category,Context")
STOP_HEADER = ("Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,Age range,"
               "Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,Outcome,"
               "Outcome linked to object of search,Removal of more than just outer clothing")
OUTCOMES = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Outcome type\n"
            "abc,2022-07,Leicestershire Police,Leicestershire Police,-1.1,52.6,On or near X,E0,L,Under investigation\n")
STOPS = STOP_HEADER + "\n" + "\n".join([
    "Person search,2022-07-01T23:30:00+00:00,False,,52.636,-1.139,Male,18-24,SecretEthnicityA,SecretEthnicityB,"
    "Misuse of Drugs Act 1971 (section 23),Controlled drugs,Arrest,True,False",
    "Person search,2022-07-01T23:30:00+00:00,False,,52.636,-1.139,Female,25-34,SecretEthnicityC,White,"
    "Misuse of Drugs Act 1971 (section 23),Controlled drugs,Arrest,True,False",
    "Vehicle search,2022-12-02T10:00:00+00:00,False,,,,Male,over 34,SecretEthnicityD,White,"
    "Police and Criminal Evidence Act 1984 (section 1),Stolen goods,A no further action disposal,,False",
]) + "\n"


def _zip(path: Path, members: dict[str, bytes | str | None], *, stored: bool = False) -> Path:
    """A ZIP at ``path`` with ``members`` (name -> content; None = a folder entry)."""
    comp = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", compression=comp) as zf:
        for name, data in members.items():
            if data is None:
                zf.writestr(zipfile.ZipInfo(name), b"")
            else:
                zf.writestr(name, data.encode() if isinstance(data, str) else data)
    return path


def _police_uk_zip(path: Path, force: str = "leicestershire", *, extra: bool = True) -> Path:
    """The two bundled months laid out as a police.uk download (plus outcomes, stop-and-search, README)."""
    members: dict[str, bytes | str | None] = {}
    for p in LEICS:
        month = p.name[:7]
        members[f"{month}/"] = None
        members[f"{month}/{month}-{force}-street.csv"] = p.read_bytes()
        if extra:
            members[f"{month}/{month}-{force}-outcomes.csv"] = OUTCOMES
    if extra:
        members["2022-07/2022-07-leicestershire-stop-and-search.csv"] = STOPS
        members["README.txt"] = "police.uk download\n"
    return _zip(path, members)


@pytest.fixture(scope="module")
def leics():
    return ingest(LEICS)


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.drop(columns="source_file"), b.drop(columns="source_file"))


def test_zip_reads_like_the_csvs_and_counts_what_it_skips(tmp_path, leics):
    """A police.uk ZIP is read in place: same rows as the CSVs, member names as sources, other members counted."""
    z = _police_uk_zip(tmp_path / "leics.zip")
    res = ingest(z)
    _same_rows(res.incidents, leics.incidents)
    _same_rows(res.quarantine, leics.quarantine)
    rep = res.report
    assert rep.rows_read == leics.report.rows_read == 20_429
    assert rep.skipped == {"folder": 2, "other": 1, "outcomes": 2, "stop-and-search": 1}
    names = [f["file"] for f in rep.files]
    assert names == ["leics.zip:2022-07/2022-07-leicestershire-street.csv",
                     "leics.zip:2022-08/2022-08-leicestershire-street.csv"]
    assert set(res.quarantine["source_file"]) <= set(names) and set(res.incidents["source_file"]) == set(names)
    assert rep.forces == {"leicestershire": {"files": 2, "rows_read": 20_429, "rows_loaded": rep.rows_loaded,
                                             "rows_quarantined": rep.rows_quarantined}}


def test_force_filter_and_forces_in(tmp_path):
    """forces_in lists each force's street sources; force= reads only those; the strings go back into ingest."""
    a = _police_uk_zip(tmp_path / "a.zip", "leicestershire")
    b = _police_uk_zip(tmp_path / "b.zip", "rutland", extra=False)
    found = forces_in([a, b])
    assert list(found) == ["leicestershire", "rutland"]
    assert found["rutland"] == [f"{b}:2022-07/2022-07-rutland-street.csv", f"{b}:2022-08/2022-08-rutland-street.csv"]
    only = ingest([a, b], force="rutland")
    assert {f["force"] for f in only.report.files} == {"rutland"} and only.report.rows_read == 20_429
    assert only.report.skipped["other_force"] == 2 and list(only.report.forces) == ["rutland"]
    again = ingest(found["rutland"])
    pd.testing.assert_frame_equal(only.incidents, again.incidents)
    with pytest.raises(InputFileError, match="no files of force 'kent'.*forces found: leicestershire, rutland"):
        ingest([a, b], force="kent")
    assert ingest([a, b], force=" Rutland ").report.rows_read == 20_429  # slugs are lower case
    with pytest.raises(InputFileError, match="has no member 'nope.csv'"):
        ingest(f"{a}:nope.csv")


def test_folder_of_month_folders_and_gzip(tmp_path, leics):
    """A folder of YYYY-MM folders, and .csv.gz files, read as the plain CSVs would be."""
    root = tmp_path / "download"
    for p in LEICS:
        (root / p.name[:7]).mkdir(parents=True)
        (root / p.name[:7] / p.name).write_bytes(p.read_bytes())
    (root / "notes").mkdir()
    (root / "SOURCE.md").write_text("x")
    res = ingest(root)
    _same_rows(res.incidents, leics.incidents)
    assert res.report.skipped == {"folder": 1, "other": 1}
    gz = tmp_path / LEICS[0].with_suffix(".csv.gz").name
    gz.write_bytes(gzip.compress(LEICS[0].read_bytes()))
    one = ingest(LEICS[0])
    res_gz = ingest(gz)
    _same_rows(res_gz.incidents, one.incidents)
    assert res_gz.report.files[0]["file"] == gz.name and res_gz.report.files[0]["force"] == "leicestershire"
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(gz.read_bytes()[:2000])
    with pytest.raises(ArchiveError, match="truncated"):
        ingest(cut)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p.write_bytes(b""), "empty \\(0 bytes\\)"),
        (lambda p: p.write_bytes(b"this is not a zip file at all" * 10), "not a ZIP archive"),
        (lambda p: p.write_bytes(_police_uk_zip(p.with_name("full.zip")).read_bytes()[:50_000]), "truncated"),
        (lambda p: _zip(p, {}), "no members"),
        (lambda p: _zip(p, {"2022-07/": None, "2022-07/2022-07-leicestershire-outcomes.csv": OUTCOMES}),
         "no police.uk street files.*outcomes 1"),
    ],
    ids=["zero-bytes", "not-a-zip", "truncated", "no-members", "only-outcomes"],
)
def test_bad_archives_are_one_line_errors(tmp_path, make, match):
    """Corrupt, truncated and empty archives, or one without street files: one clear ArchiveError line."""
    p = tmp_path / "bad.zip"
    make(p)
    with pytest.raises(ArchiveError, match=match) as exc:
        ingest(p)
    assert "\n" not in str(exc.value)


def test_corrupt_member_is_reported_not_lost(tmp_path):
    """A member with a bad CRC is in report.unreadable (with a warning); the other member still loads."""
    z = _zip(tmp_path / "crc.zip", {"2022-07/2022-07-leicestershire-street.csv": LEICS[0].read_bytes(),
                                    "2022-08/2022-08-leicestershire-street.csv": LEICS[1].read_bytes()}, stored=True)
    data = bytearray(z.read_bytes())
    pos = data.find(b"2022-08-leicestershire-street.csv") + 4000  # inside the stored second member
    data[pos] = ord("9") if data[pos] != ord("9") else ord("8")
    z.write_bytes(bytes(data))
    with pytest.warns(DataQualityWarning, match="2022-08-leicestershire-street.csv was not read"):
        res = ingest(z)
    assert [u["file"] for u in res.report.unreadable] == ["crc.zip:2022-08/2022-08-leicestershire-street.csv"]
    assert "CRC" in res.report.unreadable[0]["error"]
    assert res.report.rows_read == ingest(LEICS[0]).report.rows_read
    assert "UNREADABLE" in res.report.summary()


def test_semicolon_bom_crlf_quoted_decimal_comma_export(tmp_path):
    """A spreadsheet export (BOM, CRLF, every field quoted, ';' separator, decimal comma) reads like the CSV."""
    rows = pd.read_csv(LEICS[0], dtype=str, keep_default_na=False).head(300)
    plain = tmp_path / "2022-07-leicestershire-street.csv"
    rows.to_csv(plain, index=False)
    export = rows.copy()
    for c in ("Longitude", "Latitude"):
        export[c] = export[c].str.replace(".", ",", regex=False)
    text = export.to_csv(index=False, sep=";", quoting=1, lineterminator="\r\n")
    exp = tmp_path / "export.csv"
    exp.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    a, b = ingest(plain), ingest(exp)
    assert b.report.rows_read == 300 and b.report.files[0]["encoding"] == "utf-8-sig"
    _same_rows(a.incidents, b.incidents)
    assert list(a.quarantine["reason"]) == list(b.quarantine["reason"])


def test_stop_and_search_download_layout(tmp_path):
    """Searches become 'Stop and search' incidents at their UK local time; no personal attribute goes anywhere."""
    p = tmp_path / "2022-07-leicestershire-stop-and-search.csv"
    p.write_text(STOPS)
    res = ingest(p)
    inc = res.incidents
    assert list(inc["category"]) == [STOP_AND_SEARCH] * 2 and inc["time_known"].all()
    assert list(inc["source_kind"]) == ["police_uk_stop_search"] * 2
    assert inc["occurred_from"].iloc[0] == pd.Timestamp("2022-07-02 00:30")  # 23:30 UTC = 00:30 BST
    assert (inc["occurred_to"] == inc["occurred_from"]).all()
    assert inc["incident_id"].is_unique  # two people searched together: h:<hash>, h:<hash>#1
    assert list(res.quarantine["reason"]) == ["no_location"]
    validate_incidents(inc)
    out = inc.to_csv() + res.quarantine.to_csv() + json.dumps(res.report.to_dict())
    for secret in ("SecretEthnicity", "Female", "18-24", "over 34"):
        assert secret not in out
    # Inside a download archive they are read only when asked for.
    z = _police_uk_zip(tmp_path / "l.zip")
    with_stops = ingest(z, stop_and_search=True)
    assert with_stops.report.categories[STOP_AND_SEARCH] == 2 and "stop-and-search" not in with_stops.report.skipped


def test_stop_and_search_api_layout(tmp_path):
    """The API's flattened records: timestamp, street name as location, personal columns never read."""
    p = tmp_path / "ss.csv"
    p.write_text("age_range,outcome,self_defined_ethnicity,gender,legislation,datetime,officer_defined_ethnicity,"
                 "type,object_of_search,location.latitude,location.street.id,location.street.name,location.longitude\n"
                 "18-24,Arrest,SecretA,Male,Misuse of Drugs Act 1971 (section 23),2023-01-01T00:05:22+00:00,White,"
                 "Person search,Controlled drugs,50.883462,2272197.0,On or near Market Street,-2.795848\n"
                 "over 34,,SecretB,Male,,2023-01-01T00:06:00+00:00,White,Person search,,,,,\n")
    res = ingest(p)
    inc = res.incidents
    assert res.report.files[0]["format"] == "police_uk_api_stop_search"
    assert list(inc["location"]) == ["On or near Market Street"]
    assert inc["occurred_from"].iloc[0] == pd.Timestamp("2023-01-01 00:05:22")
    assert "Secret" not in res.quarantine.to_csv() + inc.to_csv()


def test_is_police_generated():
    """Drugs, weapons possession and searches are police-generated; victim-reported crimes and NA are not."""
    cats = pd.Series(["Drugs", "Burglary", STOP_AND_SEARCH, "Possession of weapons", None], dtype="string")
    assert is_police_generated(cats).tolist() == [True, False, True, True, False]
    assert is_police_generated(np.array(["Robbery"], dtype=object)).tolist() == [False]
    assert {"Drugs", "Possession of weapons", STOP_AND_SEARCH} == POLICE_GENERATED_CATEGORIES


def test_outcomes_file_given_by_name_is_a_clear_format_error(tmp_path):
    """An outcomes file named on its own is not guessed at: the error says what it is."""
    p = tmp_path / "2022-07-leicestershire-outcomes.csv"
    p.write_text(OUTCOMES)
    with pytest.raises(InputFileError, match="outcomes file"):
        ingest(p)


def test_cli_reads_archives_and_fails_cleanly(tmp_path):
    """CLI: an archive with --force gives per-force JSON; a corrupt archive is one error line, exit 3."""
    from typer.testing import CliRunner

    from patrol_planner.cli import app

    runner = CliRunner()
    z = _police_uk_zip(tmp_path / "l.zip")
    r = runner.invoke(app, ["ingest", str(z), "--force", "leicestershire", "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    assert rep["forces"]["leicestershire"]["rows_read"] == 20_429 and rep["skipped"]["outcomes"] == 2
    r = runner.invoke(app, ["ingest", str(z), "--list-forces"])
    assert r.exit_code == 0 and r.stdout.splitlines()[0].startswith("leicestershire")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    r = runner.invoke(app, ["ingest", str(bad)])
    assert r.exit_code == 3 and r.output.strip().startswith("error:") and "truncated" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_zip_member_bytes_match_disk_bytes(tmp_path):
    """Reading a member in place gives the very bytes of the file (no newline or encoding change)."""
    from patrol_planner.incidents.sources import find_sources

    z = _police_uk_zip(tmp_path / "l.zip")
    src = find_sources(z).sources[0]
    assert src.name == "l.zip:2022-07/2022-07-leicestershire-street.csv"
    assert src.read_bytes() == LEICS[0].read_bytes()


_JUNK = st.text(alphabet=st.sampled_from(list(';,"\n\r ab01.-:\xe9')), max_size=300)


@pytest.mark.filterwarnings("ignore::patrol_planner.errors.DataQualityWarning")
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_JUNK)
def test_random_junk_under_a_semicolon_header_never_loses_a_row(tmp_path, body):
    """';'-separated junk: either a clear InputFileError, or every row is loaded or quarantined."""
    p = tmp_path / "junk.csv"
    p.write_bytes((STREET_HEADER.replace(",", ";") + "\n" + body).encode("utf-8"))
    try:
        res = ingest(p)
    except InputFileError:
        return
    rep = res.report
    assert rep.rows_read == rep.rows_loaded + rep.rows_quarantined == len(res.incidents) + len(res.quarantine)


def test_a_month_missing_from_a_download_is_reported(tmp_path):
    """July and September without August: August is reported (report, summary, warning); a quiet area
    whose empty month is plausible at its volume, and the complete download, are not flagged."""
    from patrol_planner.incidents.pipeline import missing_months

    july, aug = LEICS
    sept = aug.read_text(encoding="utf-8").replace(",2022-08,", ",2022-09,")
    gap = _zip(tmp_path / "gap.zip", {"2022-07/2022-07-leicestershire-street.csv": july.read_bytes(),
                                     "2022-09/2022-09-leicestershire-street.csv": sept})
    with pytest.warns(DataQualityWarning, match="no records at all in 2022-08"):
        rep = ingest([gap]).report
    assert rep.missing_months == ("2022-08",)
    assert "NO RECORDS AT ALL in 2022-08" in rep.summary()
    assert rep.to_dict()["missing_months"] == ["2022-08"]
    assert ingest(LEICS).report.missing_months == ()
    with pytest.warns(DataQualityWarning):
        inc = ingest([gap]).incidents
    month = inc["occurred_from"].dt.month
    quiet = pd.concat([inc[month == 7].head(2), inc[month == 9].head(2)])
    assert missing_months(quiet) == ()  # two crimes a month: an empty month is nothing unusual


def test_cli_prints_data_warnings_as_one_line(tmp_path):
    """The backtest command shows the missing month as a plain ``warning:`` line, not Python's warning form."""
    from typer.testing import CliRunner

    from patrol_planner.cli import app

    july, aug = LEICS
    sept = aug.read_text(encoding="utf-8").replace(",2022-08,", ",2022-09,")
    gap = _zip(tmp_path / "gap.zip", {"2022-07/2022-07-leicestershire-street.csv": july.read_bytes(),
                                     "2022-09/2022-09-leicestershire-street.csv": sept})
    res = CliRunner().invoke(app, ["backtest", str(gap), "--folds", "1"])
    assert res.exit_code == 0, res.output
    assert "warning: no records at all in 2022-08" in res.output
    assert "DataQualityWarning" not in res.output


def test_utf16_spreadsheet_export_reads_like_the_original(tmp_path, leics):
    """A spreadsheet's "Unicode Text" export (UTF-16 with BOM, tab-separated) loads the same incidents as
    the police.uk original; a UTF-16 file cut mid-character is a one-line error."""
    import csv
    import io

    july = LEICS[0]
    rows = list(csv.reader(io.StringIO(july.read_text(encoding="utf-8"))))
    p = tmp_path / july.name
    p.write_text("\n".join("\t".join(r) for r in rows) + "\n", encoding="utf-16")
    res = ingest([p])
    assert res.report.files[0]["encoding"] == "utf-16"
    want = ingest([july])
    _same_rows(res.incidents, want.incidents)
    assert res.report.quarantine_reasons == want.report.quarantine_reasons
    bad = tmp_path / "cut.csv"
    bad.write_bytes(p.read_bytes()[:-1])
    with pytest.raises(InputFileError, match="UTF-16"):
        ingest([bad])

"""Hostile and odd input to ingestion: dates out of range, free text in intelligence, decompression bombs,
archives of many members, and error messages that must not echo a file's contents."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from patrol_planner.errors import DecompressionLimitError, InputFileError, ScenarioError
from patrol_planner.incidents import ingest, sources
from patrol_planner.scenario.config import load_scenario

REPO = Path(__file__).resolve().parents[1]
STREET_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                 "Crime type,Last outcome category,Context")
INTEL_HEADER = ("intel_id,reported_at,lon,lat,subject_category,source_evaluation,intelligence_assessment,"
                "handling_code,text")


def _street_row(cid: str, month: str = "2022-07", lon: str = "-0.731", lat: str = "52.671") -> str:
    force = "Leicestershire Police"
    return f"{cid},{month},{force},{force},{lon},{lat},On or near Mill Street,E01013761,Rutland 003A,Burglary,,"


def _ingest(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ingest(path)


# --- dates out of range ------------------------------------------------------------------------------------------


def test_months_out_of_range_are_quarantined_not_wrapped(tmp_path: Path):
    """9999-12 used to become 1816 and -2022-07 2070; now they (and 1899, 2200) are quarantined as bad_date."""
    months = ["2022-07", "9999-12", "-2022-07", "1899-12", "2200-01", "2199-12", "1900-01"]
    p = tmp_path / "s.csv"
    p.write_text("\n".join([STREET_HEADER, *(_street_row(f"c{i}", m) for i, m in enumerate(months))]) + "\n")
    res = _ingest(p)
    assert sorted(res.incidents["incident_id"]) == ["c0", "c5", "c6"]
    t = res.incidents["occurred_from"]
    assert t.min() >= np.datetime64("1900-01-01") and t.max() < np.datetime64("2200-01-01")
    q = res.quarantine.set_index("source_line")
    assert set(q.index) == {3, 4, 5, 6}
    assert (q["reason"] == "bad_date").all()
    assert q["detail"].str.contains("outside the accepted range").all()


def test_timestamps_out_of_range_are_quarantined_not_wrapped(tmp_path: Path):
    """Intelligence reported_at in year 9999, -2022 or 1000 is quarantined instead of wrapping round."""
    rows = ["i1,2022-07-01T10:00,-0.731,52.671,burglary,1,A,P,x",
            "i2,9999-07-01T10:00,-0.731,52.671,burglary,1,A,P,x",
            "i3,-2022-07-01,-0.731,52.671,burglary,1,A,P,x",
            "i4,1000-07-01T10:00+01:00,-0.731,52.671,burglary,1,A,P,x"]
    p = tmp_path / "i.csv"
    p.write_text("\n".join([INTEL_HEADER, *rows]) + "\n")
    res = _ingest(p)
    assert res.incidents["incident_id"].tolist() == ["intel:i1"]
    assert res.quarantine["reason"].tolist() == ["bad_date"] * 3


@pytest.mark.parametrize(("key", "value"), [("night", "9999-12-31"), ("night", "0001-01-01"),
                                            ("as_of", "9999-12-31T22:00:00")])
def test_scenario_night_far_out_is_one_line(tmp_path: Path, key: str, value: str):
    """A scenario night (or as_of) in year 9999 or 1 is refused as a scenario error, not an OverflowError later."""
    text = (REPO / "scenarios" / "rutland-night.toml").read_text()
    lines = [f"{key} = {value}" if ln.startswith(f"{key} =") else ln for ln in text.splitlines()]
    p = tmp_path / "n.toml"
    p.write_text("\n".join(lines).replace('"../data', f'"{REPO}/data'))
    with pytest.raises(ScenarioError, match=f"{key} .* is outside the accepted range"):
        load_scenario(p)


def test_programme_start_date_far_out_is_one_line(tmp_path: Path):
    """A programme start_date in year 9999 is refused when the scenario is read."""
    text = (REPO / "scenarios" / "rutland-programme.toml").read_text()
    lines = ["start_date = 9999-12-30" if ln.startswith("start_date =") else ln for ln in text.splitlines()]
    p = tmp_path / "p.toml"
    p.write_text("\n".join(lines).replace('"../data', f'"{REPO}/data'))
    with pytest.raises(ScenarioError, match="start_date 9999-12-30 is outside the accepted range"):
        load_scenario(p)


# --- intelligence free text ---------------------------------------------------------------------------------------

SECRET = "Zq7SECRETinformantJones"
#: Text first, then the parsed columns: an unquoted comma in it shifts every cell after it.
INTEL_TEXT_FIRST = ("intel_id,text,reported_at,lon,lat,subject_category,source_evaluation,intelligence_assessment,"
                    "handling_code")


def _intel_rows() -> list[str]:
    return [
        f"i01,{SECRET} seen at, {SECRET},2022-07-01T10:00,-0.731,52.671,burglary,1,A,P",  # comma in text: shifted
        f"i02,ok,2022-07-01T10:00,-0.731,52.671,{SECRET},1,A,P",                          # free text as category
        f"i03,ok,2022-07-01T10:00,{SECRET},52.671,burglary,1,A,P",                        # free text as lon
        f"i04,ok,{SECRET},-0.731,52.671,burglary,1,A,P",                                  # free text as date
        f"i05,ok,2022-07-01T10:00,-0.731,52.671,burglary,{SECRET},A,P",                   # free text as grading
        f"i06,ok,2022-07-01T10:00,-0.731,52.671,{SECRET},1,A,C",                          # restricted, bad category
        f"{SECRET} x,ok,2022-07-01T10:00,-0.731,52.671,nonsense,1,A,P",                   # free text as the id
        f'i08,"{SECRET},2022-07-01T10:00,-0.731,52.671,burglary,1,A,P',                   # quote never closed
        "i09,fine,2022-07-01T10:00,-0.732,52.672,burglary,1,A,P",                         # loaded
    ]


def test_intelligence_free_text_never_reaches_any_output(tmp_path: Path):
    """A planted secret in the free text (with an unquoted comma), the category, a coordinate, the date, the
    grading, the id and a broken quote: it appears in no output of ingest, the CLI's files included, while
    validated fields are still shown and a restricted row keeps its id only."""
    from typer.testing import CliRunner

    from patrol_planner.cli import app

    p = tmp_path / "intel.csv"
    p.write_text("\n".join([INTEL_TEXT_FIRST, *_intel_rows()]) + "\n")
    res = _ingest(p)
    assert res.incidents["incident_id"].tolist() == ["intel:i09"]
    everything = (res.incidents.astype(str).to_csv() + res.quarantine.astype(str).to_csv() + repr(res.report))
    assert SECRET not in everything
    raws = {line: json.loads(r) for line, r in zip(res.quarantine["source_line"], res.quarantine["raw"],
                                                    strict=True)}
    assert raws[2] == {"intel_id": "i01"}                   # shifted row: its id only
    assert float(raws[3]["lon"]) == -0.731 and "subject_category" not in raws[3]
    assert float(raws[4]["lat"]) == 52.671 and "lon" not in raws[4]
    assert raws[5]["subject_category"] == "burglary" and "reported_at" not in raws[5]
    assert raws[6] == {"intel_id": "i05"}                   # grading unreadable: may not be shared, id only
    assert raws[7] == {"intel_id": "i06"}                   # restricted: its id only
    assert "intel_id" not in raws[8]
    assert raws[9] == {}                                    # broken quoting: no cell can be trusted
    out, quarantine = tmp_path / "out.csv", tmp_path / "q.csv"
    run = CliRunner().invoke(app, ["ingest", str(p), "--out", str(out), "--quarantine", str(quarantine), "--json"])
    assert run.exit_code == 0, run.output
    assert SECRET not in run.output + out.read_text() + quarantine.read_text()


# --- archives: decompression bombs, many members -------------------------------------------------------------------


def _bomb_zip(path: Path, member: str, payload_mib: int, text: bool) -> None:
    """A zip whose one member expands to ``payload_mib`` MiB: zeros, or one street row repeated."""
    block = (b"\0" * 2**20) if not text else ((STREET_HEADER + "\n").encode() + (
        (_street_row("") + "\n").encode() * (2**20 // (len(_street_row("")) + 1))))
    with (zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
          zf.open(member, "w", force_zip64=True) as fh):
        for _ in range(payload_mib):
            fh.write(block)


@pytest.mark.parametrize("text", [False, True])
def test_a_zip_bomb_is_refused_without_expanding_it(tmp_path: Path, text: bool):
    """A 120 MiB member (zeros, or repeated street rows) in a small zip is refused in one line, and reading it
    stops at the cap: Python's peak memory stays far below the expanded size."""
    z = tmp_path / "bomb.zip"
    _bomb_zip(z, "2022-07/2022-07-leicestershire-street.csv", 120, text)
    assert z.stat().st_size < 2 * 2**20
    tracemalloc.start()
    try:
        with pytest.raises(DecompressionLimitError, match="decompression bomb"):
            _ingest(z)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * sources.RATIO_FLOOR_BYTES + 8 * 2**20


def test_a_gzip_bomb_is_refused(tmp_path: Path):
    """The same cap holds for a .csv.gz."""
    p = tmp_path / "s.csv.gz"
    with gzip.open(p, "wb", compresslevel=9) as fh:
        fh.write((STREET_HEADER + "\n").encode())
        for _ in range(100):
            fh.write(b"\0" * 2**20)
    with pytest.raises(DecompressionLimitError, match="decompression bomb"):
        _ingest(p)


def test_member_and_total_caps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Past the per-member or the total cap the read is refused too (caps lowered to keep the test small)."""
    z = tmp_path / "big.zip"
    rows = [_street_row(f"c{i}", lon=f"-0.7{i:04d}") for i in range(3000)]
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for m in ("07", "08"):
            zf.writestr(f"2022-{m}/2022-{m}-leicestershire-street.csv", "\n".join([STREET_HEADER, *rows]) + "\n")
    size = len("\n".join([STREET_HEADER, *rows])) + 1
    assert _ingest(z).report.rows_read == 6000  # within the default caps: read
    monkeypatch.setattr(sources, "MAX_TOTAL_BYTES", int(1.5 * size))
    with pytest.raises(DecompressionLimitError, match="in all"):
        _ingest(z)
    monkeypatch.setattr(sources, "MAX_MEMBER_BYTES", size // 2)
    with pytest.raises(DecompressionLimitError, match="MiB decompressed"):
        _ingest(z)


def test_an_archive_is_opened_once_for_all_its_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A zip of 300 members is opened once to list it and once to read them all (it used to be opened per
    member, reading the whole directory each time: 185 s for 5,000 members)."""
    z = tmp_path / "many.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(300):
            zf.writestr(f"2022-07/part{i:03d}.csv", "\n".join([STREET_HEADER, _street_row(f"c{i}")]) + "\n")
    opened: list[str] = []
    real_init = zipfile.ZipFile.__init__

    def counting_init(self, file, *args, **kw):
        opened.append(str(file))
        real_init(self, file, *args, **kw)

    monkeypatch.setattr(zipfile.ZipFile, "__init__", counting_init)
    res = _ingest(z)
    assert res.report.rows_read == 300
    assert len(opened) <= 2


# --- error messages never echo a file's contents ------------------------------------------------------------------

SHADOW = "root:$6$Zq7PASSWORDHASHxyz:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"


def test_errors_name_the_file_not_its_contents(tmp_path: Path):
    """A scenario (or a user) pointing at a file like /etc/shadow gets one line naming the file and the problem;
    no byte of the file is echoed, whether read as incidents, as a ping CSV or as a GPX track."""
    from typer.testing import CliRunner

    from patrol_planner.cli import app
    from patrol_planner.dosage.gpx import read_gpx
    from patrol_planner.dosage.pingcsv import read_ping_csv

    shadow = tmp_path / "shadow"
    shadow.write_text(SHADOW)
    csv_copy = tmp_path / "shadow.csv"
    csv_copy.write_text(SHADOW)
    messages = []
    for p in (shadow, csv_copy):
        for fmt in (None, "police_uk_street", "intelligence"):
            with pytest.raises(InputFileError) as err:
                ingest(p, fmt=fmt)
            messages.append(str(err.value))
    messages += [read_ping_csv(csv_copy, "Europe/London").error, read_gpx(shadow, "Europe/London").error]
    text = (REPO / "scenarios" / "rutland-night.toml").read_text().replace('"../data', f'"{REPO}/data')
    scenario = tmp_path / "s.toml"
    scenario.write_text(text.replace(f"{REPO}/data/policeuk-leicestershire-2022/2022-07-leicestershire-street.csv",
                                     str(shadow)))
    run = CliRunner().invoke(app, ["plan", str(scenario), "--out", str(tmp_path / "out")])
    assert run.exit_code != 0 and "Traceback" not in run.output
    messages.append(run.output)
    for m in messages:
        assert m and "shadow" in m, m
        assert "PASSWORDHASH" not in m and "daemon" not in m and "99999" not in m, m

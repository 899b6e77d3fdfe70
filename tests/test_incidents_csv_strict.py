"""One strict CSV grammar on both paths of :mod:`patrol_planner.incidents.csvbytes`.

A broken record (a quote never closed, text after a closing quote) must never swallow the records after it,
whatever the line ends (LF, CRLF, CR), and the vectorised path and the record-by-record path must read every
file alike, row for row. Property tests over random quoting, line ends, encodings, stray quotes and
truncation.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patrol_planner.errors import InputFileError
from patrol_planner.incidents import ingest
from patrol_planner.incidents.csvbytes import RawTable, read_raw_bytes

ENDS = ("\n", "\r\n", "\r")
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1")
CELL = st.text(alphabet='ab1 ,";\n\r\u00e9\u00a3\u2019-', max_size=6)
_BREAK = re.compile(r"\r\n|\r|\n")


def _field(value: str, quote_all: bool) -> str:
    if quote_all or any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _serialise(rows: list[list[str]], quote_all: bool, end: str, final_end: bool) -> str:
    lines = [",".join(_field(v, quote_all) for v in r) for r in rows]
    return end.join(lines) + (end if final_end else "")


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]], str, str]:
    """(header, data rows, CSV text, encoding): a clean file of 2-4 columns."""
    ncols = draw(st.integers(2, 4))
    header = [f"c{i}" for i in range(ncols)]
    rows = draw(st.lists(st.lists(CELL, min_size=ncols, max_size=ncols), max_size=10))
    text = _serialise([header, *rows], draw(st.booleans()), draw(st.sampled_from(ENDS)), draw(st.booleans()))
    encoding = draw(st.sampled_from(ENCODINGS))
    if encoding == "latin-1" and "\u2019" in text:
        encoding = "cp1252"  # latin-1 has no curly quote
    return header, rows, text, encoding


def _read(data: bytes, engine: str) -> RawTable | str:
    try:
        return read_raw_bytes(data, "f.csv", allow_cp1252=True, engine=engine)
    except InputFileError as exc:
        return f"refused: {exc}"


def _records(raw: RawTable) -> list[tuple]:
    mal = raw.malformed
    return [(int(raw.line[i]), int(raw.nfields[i]), bool(mal is not None and mal[i]), raw.raw_row(i),
             tuple(raw.cells.iloc[i])) for i in range(len(raw.cells))]


def _span(rec: dict) -> int:
    """Physical lines a record covers: one for a malformed record, else one plus the line breaks in its fields."""
    if "_line" in rec:
        return 1
    values = [str(v) for k, v in rec.items() if k != "_extra"] + list(rec.get("_extra", []))
    return 1 + sum(len(_BREAK.findall(v)) for v in values)


def _check_accounted(text: str, raw: RawTable) -> None:
    """Every non-blank physical line lies in exactly one record (the header's included); none in two."""
    phys = io.StringIO(text.lstrip("\ufeff").rstrip("\r\n"), newline="").readlines()
    covered = list(range(1, 1 + _span(dict(enumerate(raw.header)))))  # a quoted header name may hold a break
    for i in range(len(raw.cells)):
        covered.extend(range(int(raw.line[i]), int(raw.line[i]) + _span(raw.raw_row(i))))
    assert len(covered) == len(set(covered)), "two records claim the same physical line"
    assert set(covered) <= set(range(1, len(phys) + 1))
    for k, line in enumerate(phys, start=1):
        assert k in covered or not line.strip("\r\n"), f"line {k} ({line!r}) is in no record"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_clean_files_round_trip_on_both_paths(table):
    """A clean file reads back cell for cell, on the line it starts, by the fast and the strict path alike."""
    header, rows, text, encoding = table
    data = text.encode(encoding)
    expected_line, line = [], 2
    for r in rows:
        expected_line.append(line)
        line += 1 + sum(len(_BREAK.findall(v)) for v in r)
    for engine in ("auto", "python"):
        raw = read_raw_bytes(data, "f.csv", allow_cp1252=True, engine=engine)
        assert raw.header == header
        assert raw.cells.to_numpy().tolist() == rows, engine
        assert raw.line.tolist() == expected_line, engine
        assert raw.nfields.tolist() == [len(header)] * len(rows)
        assert raw.malformed is None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.lists(st.floats(0, 1), max_size=3), st.one_of(st.none(), st.floats(0, 1)))
def test_stray_quotes_and_truncation_agree_and_account_for_every_line(table, quotes_at, cut_at):
    """Stray quotes and a cut anywhere: both paths refuse alike or read the same records, row for row, and
    every non-blank physical line is in exactly one record (none merged into another's cell)."""
    _header, _rows, text, encoding = table
    for q in quotes_at:
        pos = int(q * len(text))
        text = text[:pos] + '"' + text[pos:]
    if cut_at is not None:
        text = text[: int(cut_at * len(text))]
    data = text.encode(encoding)
    fast, strict = _read(data, "auto"), _read(data, "python")
    if isinstance(fast, str) or isinstance(strict, str):
        assert fast == strict
        return
    assert fast.header == strict.header
    assert _records(fast) == _records(strict)
    _check_accounted(text, strict)


def test_cr_line_ends_and_a_stray_quote_do_not_merge_records():
    """The reported case: CR line ends and a quote never closed used to read as ['c', 'd\\re,f\\rg,h']."""
    for end in ENDS:
        data = end.join(["a,b", 'c,"d', "e,f", "g,h", ""]).encode()
        for engine in ("auto", "python"):
            raw = read_raw_bytes(data, "f.csv", engine=engine)
            assert raw.cells.to_numpy().tolist() == [["", ""], ["e", "f"], ["g", "h"]]
            assert raw.line.tolist() == [2, 3, 4]
            assert raw.malformed.tolist() == [True, False, False]
            assert raw.raw_row(0) == {"_line": 'c,"d'}


STREET_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                 "Crime type,Last outcome category,Context")


def _street_rows(n: int) -> list[str]:
    force = "Leicestershire Police"
    return [f"id{i:03d},2022-07,{force},{force},-0.7{i:02d},52.6{i:02d},On or near Mill Street,E01013761,"
            f"Rutland 003A,Burglary,," for i in range(n)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 8), end=st.sampled_from(ENDS), encoding=st.sampled_from(ENCODINGS),
       quotes_at=st.lists(st.floats(0, 1), max_size=3), cut_at=st.one_of(st.none(), st.floats(0.3, 1)))
def test_ingest_rows_read_are_loaded_or_quarantined(tmp_path: Path, n, end, encoding, quotes_at, cut_at):
    """ingest(): rows read == loaded + quarantined, and each record's line is in exactly one of the two."""
    text = end.join([STREET_HEADER, *_street_rows(n)]) + end
    for q in quotes_at:
        pos = len(STREET_HEADER) + 1 + int(q * (len(text) - len(STREET_HEADER) - 1))
        text = text[:pos] + '"' + text[pos:]
    if cut_at is not None:
        text = text[: int(cut_at * len(text))]
    p = tmp_path / "f.csv"
    p.write_bytes(text.encode(encoding))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = ingest(p)
        except InputFileError:
            return
    rep = res.report
    assert rep.rows_read == rep.rows_loaded + rep.rows_quarantined
    lines = sorted(res.incidents["source_line"].tolist() + res.quarantine["source_line"].tolist())
    raw = read_raw_bytes(p.read_bytes(), "f.csv", allow_cp1252=True)
    assert lines == raw.line.tolist()


def test_ingest_quarantines_a_broken_quote_with_its_reason(tmp_path: Path):
    """A row with a quote never closed is quarantined as bad_quoting; the rows after it load (CR line ends)."""
    rows = _street_rows(3)
    rows[0] = rows[0].replace("On or near", '"On or near')
    p = tmp_path / "f.csv"
    p.write_bytes("\r".join([STREET_HEADER, *rows, ""]).encode())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ingest(p)
    assert res.report.rows_read == 3 and res.report.rows_loaded == 2
    assert res.quarantine["reason"].tolist() == ["bad_quoting"]
    assert res.quarantine["source_line"].tolist() == [2]


@pytest.mark.parametrize("header", ["a,b,a\n", "Crime ID,Month, Month\n"])
def test_a_column_named_twice_is_refused(header):
    """A header naming a column twice is refused, naming the column (which of the two would be read?)."""
    for engine in ("auto", "python"):
        with pytest.raises(InputFileError, match=r"names column '(a|Month)' twice"):
            read_raw_bytes((header + "1,2,3\n").encode(), "f.csv", engine=engine)


def test_a_repeated_column_nobody_reads_is_let_be(tmp_path: Path):
    """Only a repeated column that is read is refused: the Cambridgeshire RTC export repeats an unused ``Day``."""
    for engine in ("auto", "python"):
        raw = read_raw_bytes(b"a,b,b\n1,2,3\n", "f.csv", columns=["a"], engine=engine)
        assert raw.cells["a"].tolist() == ["1"]
        with pytest.raises(InputFileError, match="names column 'b' twice"):
            read_raw_bytes(b"a,b,b\n1,2,3\n", "f.csv", columns=["a", "b"], engine=engine)
    p = tmp_path / "s.csv"
    p.write_text(STREET_HEADER + ",Context\n" + _street_rows(1)[0] + ",\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ingest(p).report.rows_loaded == 1
    p.write_text(STREET_HEADER + ",Month\n" + _street_rows(1)[0] + ",2022-08\n")
    with pytest.raises(InputFileError, match="names column 'Month' twice"):
        ingest(p)

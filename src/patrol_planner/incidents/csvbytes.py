"""The byte-level CSV engine: bytes -> :class:`RawTable` (cells as text, fields per record, physical lines).

No interpretation happens here: a format reader (:mod:`.readers`) decides what the cells mean. Hand-written on
top of numpy and pandas' C parser because neither ``csv`` nor ``pandas.read_csv`` alone reports, per record,
how many fields it had and on which physical line it started (needed to quarantine short/long rows with their
line numbers) at close to the speed of a plain ``read_csv``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.errors import InputFileError

#: Field separators recognised from the header line (spreadsheet exports in some locales use ``;``).
SEPARATORS: tuple[str, ...] = (",", ";", "\t")


@dataclass(frozen=True)
class RawTable:
    """A CSV file split into cells, before any interpretation.

    ``cells`` has one string column per header field that was asked for (duplicate/empty names made
    unique; all fields when none were named) and one row per non-blank record after the header;
    ``nfields`` is how many fields each record really had and ``line`` its 1-based physical line
    (header = 1). ``padded`` is False when no cell can have leading or trailing whitespace (checked on the
    bytes), so parsers may skip stripping. ``sep`` is the field separator found on the header line.
    ``malformed`` (None: none) marks records whose quoting is broken (see :func:`read_raw_bytes`): each is
    its one physical line, with empty cells. :meth:`raw_row` gives every field of one record, for the
    quarantine (a malformed record: its line's text under ``_line``).
    """

    name: str
    header: list[str]
    cells: pd.DataFrame
    nfields: np.ndarray
    line: np.ndarray
    encoding: str
    padded: bool = True
    sep: str = ","
    _data: bytes | None = field(default=None, repr=False)
    _spans: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)  # (starts, ends) of records
    _rows: list[list[str] | str] | None = field(default=None, repr=False)  # a str: the line of a malformed record
    malformed: np.ndarray | None = None
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def factorized(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(codes, distinct values) of the raw (unstripped) text of column ``name``; computed once per file.

        Month, category, location and the content-hash ids all work on the few distinct values of a column
        (a police.uk month file has one month and 14 crime types) instead of on every row.
        """
        hit = self._cache.get(("factorized", name))
        if hit is None:
            s = self.cells[name]
            values = s.to_numpy(object) if s.dtype == object else s.astype(str).to_numpy(object)
            codes, uniq = pd.factorize(values)
            hit = self._cache[("factorized", name)] = (codes, np.asarray(uniq, dtype=object))
        return hit

    def raw_row(self, i: int) -> dict[str, Any]:
        """Every field of data row ``i`` by column name; fields beyond the header go under ``_extra``."""
        if self._rows is not None:
            row = self._rows[i]
            if isinstance(row, str):
                return {"_line": row}
            fields_ = row
        else:
            assert self._data is not None and self._spans is not None
            s, e = int(self._spans[0][i]), int(self._spans[1][i])
            text = self._data[s:e].decode("utf-8").rstrip("\r")
            try:  # a record may hold quoted line breaks: read it as a stream, not as one line
                fields_ = next(csv.reader(io.StringIO(text, newline=""), delimiter=self.sep), [])
            except csv.Error:
                fields_ = [text]
        names = self._cache.get("names")  # worked out once per file
        if names is None:
            names = self._cache["names"] = unique_names(self.header)
        out: dict[str, Any] = {n: v for n, v in zip(names, fields_, strict=False)}
        if len(fields_) > len(names):
            out["_extra"] = fields_[len(names):]
        return out


def unique_names(header: list[str]) -> list[str]:
    """Header names stripped, empty ones named ``_col<i>``, repeats suffixed ``.1``, ``.2``... (as pandas does)."""
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(header):
        name = h.strip() or f"_col{i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


def detect_separator(data: bytes) -> str:
    """The separator of a CSV from its header line: ``,`` unless ``;`` or a tab occurs more often there."""
    end = data.find(b"\n", 0, 65536)
    first = data[: end if end >= 0 else 65536]
    counts = {s: first.count(s.encode()) for s in SEPARATORS}
    best = max(SEPARATORS, key=lambda s: (counts[s], s == ","))
    return best if counts[best] > counts[","] else ","


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def bom_encoding(head: bytes) -> str | None:
    """The encoding a file's byte-order mark shows (``utf-16``, ``utf-8-sig``), from its first bytes; None
    without one. Spreadsheet "Unicode Text" exports and some device logs are UTF-16 with a BOM."""
    if head.startswith(_UTF16_BOMS):
        return "utf-16"
    return "utf-8-sig" if head.startswith(b"\xef\xbb\xbf") else None


def _utf16_as_utf8(data: bytes, name: str) -> bytes | None:
    """UTF-8 bytes of a UTF-16 file (Excel's "Unicode Text" export starts with a byte-order mark); None
    for anything else. Its NUL bytes would otherwise make it look binary."""
    if bom_encoding(data[:4]) != "utf-16":
        return None
    try:
        return data.decode("utf-16").encode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{name}: starts as UTF-16 but cannot be decoded (byte {exc.start}); "
                             "save it as UTF-8 CSV") from None


def peek_header(data: bytes) -> list[str]:
    """The header fields of a CSV from its first bytes (any encoding, BOM dropped); [] if unreadable.

    A first look, used to pick the columns to parse before the file is decoded; the real header has the
    final word.
    """
    if data.startswith(_UTF16_BOMS):
        data = data[:65536].decode("utf-16", errors="replace").encode("utf-8")
    first = data[:65536].split(b"\n", 1)[0]
    line = first.decode("latin-1").lstrip("\ufeff").lstrip("ï»¿").replace("\r", "\n").split("\n", 1)[0]
    try:
        return next(csv.reader([line], delimiter=detect_separator(first)), [])
    except csv.Error:
        return []


def _decode(data: bytes, name: str, allow_cp1252: bool) -> tuple[str, str]:
    """Return (encoding, text). UTF-8 first; Windows-1252 only when allowed or clearly shown by the bytes."""
    try:
        return "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8", data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    high = sum(data.count(bytes([b])) for b in range(0x80, 0x100)) if len(data) < 4096 else None
    if high is None:
        arr = np.frombuffer(data, np.uint8)
        high = int((arr >= 0x80).sum())
    # Text in a Western code page has a few accented letters or curly quotes; binary junk has lots.
    shows_cp1252 = high <= max(8, len(data) // 20)
    if allow_cp1252 or shows_cp1252:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            return "cp1252", text
    raise InputFileError(
        f"{name}: cannot decode the file as UTF-8 (byte {utf8_error.start}) or Windows-1252; "
        "save it as UTF-8 CSV"
    )


def _layout(b: np.ndarray, has_quotes: bool, sep: int) -> tuple[np.ndarray, np.ndarray, bool, bool]:
    """Split bytes ``b`` (LF line ends) into records; ``sep`` is the separator's byte value.

    Returns (record-end positions, separator positions, quotes_ok, unterminated).
    """
    if not has_quotes:
        return np.flatnonzero(b == 10), np.flatnonzero(b == sep), True, False
    isq = b == 34
    after = np.bitwise_xor.accumulate(isq.view(np.uint8))
    before = after ^ isq.view(np.uint8)
    qpos = np.flatnonzero(isq)
    opening = qpos[before[qpos] == 0]
    closing = qpos[before[qpos] == 1]
    prev = np.where(opening > 0, b[np.maximum(opening - 1, 0)], 10)
    nxt = np.where(closing + 1 < b.size, b[np.minimum(closing + 1, b.size - 1)], 10)
    # Quotes that open or close mid-field are read differently by different CSV parsers: leave to csv module.
    ok = bool(np.isin(prev, (10, sep, 34)).all() and np.isin(nxt, (10, sep, 34)).all())
    outside = before == 0
    return (np.flatnonzero((b == 10) & outside), np.flatnonzero((b == sep) & outside), ok,
            bool(after[-1]) if after.size else False)


def read_raw(path: str | Path, *, allow_cp1252: bool = False, columns: Iterable[str] | None = None,
             float_columns: Iterable[str] = ()) -> RawTable:
    """Read the CSV file ``path`` into a :class:`RawTable`; see :func:`read_raw_bytes` for the rest.

    Raises
    ------
    InputFileError
        Missing or not a file, or any problem :func:`read_raw_bytes` raises for.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: file not found")
    if not p.is_file():
        raise InputFileError(f"{p}: not a file")
    return read_raw_bytes(p.read_bytes(), p.name, allow_cp1252=allow_cp1252, columns=columns,
                          float_columns=float_columns)


def read_raw_bytes(data: bytes, name: str, *, allow_cp1252: bool = False, columns: Iterable[str] | None = None,
                   float_columns: Iterable[str] = (), engine: str = "auto") -> RawTable:
    """Split the CSV bytes ``data`` (of the file or archive member ``name``) into a :class:`RawTable`.

    Only ``columns`` are kept as cells (all when None). Parsing only the columns a reader needs, and
    coordinates straight to float64 in pandas' C parser (``float_columns``: empty cell -> NaN; if any cell
    is not a number the file is re-read with every cell as text), is what keeps ingestion close to a plain
    ``read_csv``. Readers accept both. The separator (``,``, ``;`` or tab) is taken from the header line.
    UTF-8 (with or without BOM), UTF-16 with a BOM (spreadsheet "Unicode Text") and Windows-1252 are read.

    Records follow RFC 4180: a field that starts with a quote runs to the matching closing quote (``""`` is a
    quote inside it) and may hold line breaks; a quote inside an unquoted field is an ordinary character.
    Line ends are LF, CRLF or CR. A record whose quoting is broken (a quote that is never closed, or text
    after a closing quote) is not allowed to swallow the lines after it: it is marked ``malformed``, stands
    for its one physical line, and reading goes on with the next line. Clean files take a vectorised path;
    anything else (and ``engine="python"``) the strict record-by-record one, which reads clean files alike.

    Raises
    ------
    InputFileError
        Empty, undecodable, contains NUL bytes, a header that is not CSV or names a column twice, or its last
        line is cut short (no final newline and fewer fields than the header, or broken quoting).
    """
    columns = list(columns) if columns is not None else None  # looked at more than once
    utf16 = _utf16_as_utf8(data, name)
    if utf16 is not None:
        data = utf16
    if b"\x00" in data:
        raise InputFileError(f"{name}: contains NUL bytes: not a text CSV (compressed or binary?)")
    if data.isascii():
        # Pure ASCII is valid UTF-8: skip decoding the whole file (the common police.uk case).
        encoding, text = "utf-8", None
    else:
        encoding, text = _decode(data, name, allow_cp1252)
        if encoding != "utf-8":
            # pandas and the layout work on UTF-8 bytes; recode once (BOM dropped, cp1252 -> UTF-8).
            data = text.encode("utf-8")
    if utf16 is not None:
        encoding = "utf-16"
    ends_with_newline = data.endswith(b"\n")
    # Trailing line ends are left out of the layout by a shorter view (no copy of the file).
    n_end = len(data)
    while n_end and data[n_end - 1] in b"\r\n":
        n_end -= 1
    b = np.frombuffer(data, np.uint8, count=n_end)
    # Cheap look at the head first; the whole file only when the head is all blank/control bytes.
    if not (b[:4096] > 32).any() and not (b > 32).any():
        raise InputFileError(f"{name}: file is empty (no header line)")
    sep = detect_separator(data)
    has_quotes = b'"' in data
    layout = None
    lone_cr = False
    if b"\r" in data:  # bytes search (memchr) instead of a full numpy pass for the usual LF-only file
        if has_quotes:
            cr = np.flatnonzero(b == 13)
            lone_cr = bool(cr.size) and bool((b[np.minimum(cr + 1, b.size - 1)] != 10).any())
        else:
            # Every CR is part of a CRLF <=> as many CRs as line ends with a CR before them.
            layout = _layout(b, has_quotes, ord(sep))
            before_lf = layout[0][layout[0] > 0] - 1
            lone_cr = int(np.count_nonzero(b == 13)) != int(np.count_nonzero(b[before_lf] == 13))
    if lone_cr or engine == "python":
        # Old-Mac line ends (CR alone) are left to the strict record-by-record reader.
        return _raw_strict(data.decode("utf-8"), name, encoding, ends_with_newline, columns, sep)
    rec_end, seps, quotes_ok, unterminated = layout if layout is not None else _layout(b, has_quotes, ord(sep))
    if quotes_ok and not unterminated:
        padded = _has_padding(b, ord(sep)) if has_quotes else _has_padding_unquoted(b, seps, rec_end)
        return _raw_fast(data, b, (rec_end, seps), name, encoding, ends_with_newline, padded, has_quotes, columns,
                         tuple(float_columns), sep)
    # A quote mid-field, or one never closed: the strict reader confines a broken record to its line.
    return _raw_strict(data.decode("utf-8"), name, encoding, ends_with_newline, columns, sep)


def _has_padding(b: np.ndarray, sep: int = 44) -> bool:
    """True when some cell may have leading/trailing whitespace (a space or tab next to sep " CR LF or an end)."""
    if b.size == 0:
        return False
    if (b == 9).any():
        return True
    sp = np.flatnonzero(b == 32)
    if sp.size == 0:
        return False
    if sp[0] == 0 or sp[-1] == b.size - 1:
        return True
    edge = np.array([sep, 34, 13, 10], dtype=np.uint8)
    return bool(np.isin(b[sp - 1], edge).any() or np.isin(b[sp + 1], edge).any())


def _has_padding_unquoted(b: np.ndarray, seps: np.ndarray, rec_end: np.ndarray) -> bool:
    """:func:`_has_padding` for a file without quotes: look only next to separators and line ends."""
    if b.size == 0:
        return False
    if (b == 9).any():
        return True
    if b[0] == 32 or b[-1] == 32:
        return True
    # Separators are never the first byte of a file (the header is non-blank) and never the last one of b
    # (trailing line ends are cut off): a separator at either end only means an empty first/last cell.
    s = seps[int(seps.size > 0 and seps[0] == 0): np.searchsorted(seps, b.size - 1)]  # sorted: slice, no mask
    before = s - 1
    if (b[before] == 32).any() or (b[2:][before] == 32).any():  # b[2:][i - 1] is b[i + 1]
        return True
    last = rec_end - 1
    last = np.where(b[np.maximum(last, 0)] == 13, last - 1, last)  # CRLF: the byte before the CR
    nxt = rec_end + 1
    return bool((b[last[last >= 0]] == 32).any() or (b[nxt[nxt < b.size]] == 32).any())


def _raw_fast(data: bytes, b: np.ndarray, layout: tuple[np.ndarray, np.ndarray], name: str, encoding: str,
              ends_with_newline: bool, padded: bool, has_quotes: bool, columns: Iterable[str] | None,
              float_columns: tuple[str, ...], sep: str) -> RawTable:
    """Records from the byte layout (record ends, separator positions); cells from pandas' C parser."""
    rec_end, seps = layout
    n_rec = rec_end.size + 1  # the last record runs to the end of data (trailing newlines were stripped)
    ends = np.append(rec_end, b.size)
    starts = np.concatenate(([0], rec_end + 1))
    nf = np.diff(np.searchsorted(seps, ends), prepend=0) + 1
    length = ends - starts
    nf[(length == 0) | ((length == 1) & (b[np.minimum(starts, b.size - 1)] == 13))] = 0  # blank lines
    try:
        header = next(csv.reader([data[: ends[0]].decode("utf-8").rstrip("\r")], delimiter=sep))
    except (csv.Error, StopIteration, UnicodeDecodeError) as exc:
        raise InputFileError(f"{name}: the header line is not readable CSV ({exc}); not a CSV file?") from None
    check_header(name, header, columns)
    ncols = len(header)
    nf_data, st_data = nf[1:], starts[1:]
    # 1-based physical line = newlines before the record's first byte + 1 (quoted newlines count too).
    line = (np.searchsorted(np.flatnonzero(b == 10), st_data) + 1 if has_quotes
            else np.arange(2, n_rec + 1, dtype=np.int64))
    names = unique_names(header)
    use = _use_indices(names, columns)
    keep_rows = nf_data <= ncols  # pandas skips the overlong ones; they are put back below
    # pandas reads the whole buffer (BytesIO shares the bytes) and drops the header row itself; more than one
    # trailing line end would read as blank rows, so then it gets the trimmed bytes.
    body = data if len(data) - b.size <= 2 else data[: b.size]
    parsed = _parse_cells(body, names, use, float_columns, sep) if n_rec > 1 else (
        pd.DataFrame({i: pd.Series(dtype=str) for i in use}))
    if parsed is None or len(parsed) != int(keep_rows.sum()):
        # e.g. a short first row with usecols: the slower csv-module path reads anything csv can.
        return _raw_strict(data.decode("utf-8"), name, encoding, ends_with_newline, columns, sep)
    parsed.columns = [names[i] for i in use]
    nonblank = nf_data > 0
    if not keep_rows.all():
        full = pd.DataFrame("", index=range(nf_data.size), columns=parsed.columns, dtype=object)
        full.iloc[np.flatnonzero(keep_rows)] = parsed.to_numpy(object)
        parsed = full.astype(str)  # text again (a float column becomes text too; readers accept both)
    cells = parsed.iloc[np.flatnonzero(nonblank)].reset_index(drop=True) if not nonblank.all() else parsed
    _check_last(name, ends_with_newline, nf_data[nonblank], ncols)
    spans = (st_data, ends[1:]) if nonblank.all() else (st_data[nonblank], ends[1:][nonblank])
    return RawTable(name, header, cells, nf_data[nonblank].astype(np.int64), line[nonblank].astype(np.int64),
                    encoding, padded, sep, data, spans)


def _parse_cells(body: bytes, names: list[str], use: list[int], float_columns: tuple[str, ...],
                 sep: str) -> pd.DataFrame | None:
    """The ``use`` columns of ``body`` by pandas' C parser (floats where asked and possible); None if it fails."""
    ncols = len(names)
    floats = [i for i in use if names[i] in float_columns]
    kw: dict[str, Any] = dict(header=0, names=list(range(ncols)), usecols=use, skip_blank_lines=False,
                              index_col=False, on_bad_lines="skip", engine="c", encoding="utf-8", sep=sep)
    parsed = None
    if floats:
        try:
            parsed = pd.read_csv(io.BytesIO(body), dtype={i: ("float64" if i in floats else object) for i in use},
                                 keep_default_na=False, na_values={i: [""] for i in floats}, **kw)
        except (pd.errors.ParserError, ValueError, OverflowError, IndexError):
            parsed = None  # a coordinate cell is not a number: read it as text, the reader will flag it
    if parsed is None:
        try:
            parsed = pd.read_csv(io.BytesIO(body), dtype=object, na_filter=False, **kw)
        except (pd.errors.ParserError, ValueError, IndexError):
            return None
    if list(parsed.columns) != use:
        parsed = parsed[use]
    return parsed


def _use_indices(names: list[str], columns: Iterable[str] | None) -> list[int]:
    if columns is None:
        return list(range(len(names)))
    want = set(columns)
    return [i for i, n in enumerate(names) if n in want]


class _Lines:
    """The physical lines of a text, handed one at a time to ``csv.reader``; ``pos`` can be set back."""

    def __init__(self, lines: list[str]):
        self.lines, self.pos = lines, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


def _raw_strict(text: str, name: str, encoding: str, ends_with_newline: bool,
                columns: Iterable[str] | None = None, sep: str = ",") -> RawTable:
    """The record-by-record reader: ``csv`` in strict mode, a broken record confined to its physical line."""
    # StringIO with newline="" splits at LF, CRLF and CR only (str.splitlines would also split at \v, \f...).
    lines = _Lines(io.StringIO(text.rstrip("\r\n"), newline="").readlines())
    reader = csv.reader(lines, delimiter=sep, strict=True)
    try:
        header = next(reader)
    except csv.Error:
        raise InputFileError(f"{name}: the header line is not readable CSV (broken quoting); not a CSV file?") from None
    except StopIteration:
        raise InputFileError(f"{name}: file is empty (no header line)") from None
    check_header(name, header, columns)
    ncols = len(header)
    rows: list[list[str] | str] = []
    starts: list[int] = []
    while True:
        start = lines.pos
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error:
            # Never closed, or text after a closing quote: this line alone is the (malformed) record.
            lines.pos = start + 1
            reader = csv.reader(lines, delimiter=sep, strict=True)
            rows.append(lines.lines[start].rstrip("\r\n"))
            starts.append(start)
            continue
        if rec:
            rows.append(rec)
            starts.append(start)
    bad = np.fromiter((isinstance(r, str) for r in rows), dtype=bool, count=len(rows))
    nf = np.fromiter((r.count(sep) + 1 if isinstance(r, str) else len(r) for r in rows), dtype=np.int64,
                     count=len(rows))
    names = unique_names(header)
    use = _use_indices(names, columns)
    # Cells of a record the readers will quarantine for its shape are left empty (as on the fast path).
    fits = [not isinstance(r, str) and len(r) <= ncols for r in rows]
    cols = {names[j]: [r[j] if ok and j < len(r) else "" for r, ok in zip(rows, fits, strict=True)] for j in use}
    cells = pd.DataFrame(cols, columns=[names[j] for j in use], dtype=object).astype(str)
    _check_last(name, ends_with_newline, nf, ncols, bad)
    return RawTable(name, header, cells, nf, np.asarray(starts, dtype=np.int64) + 1, encoding, True, sep,
                    _rows=rows, malformed=bad if bad.any() else None)


def check_header(name: str, header: list[str], columns: Iterable[str] | None = None) -> None:
    """Refuse a blank header, or one that names a column to be read (``columns``; None: any) twice: which of
    the two would be read? A repeated column nobody reads (the Cambridgeshire RTC file has two ``Day``) is let be.
    """
    if not any(h.strip() for h in header):
        raise InputFileError(f"{name}: the first line is blank: a CSV needs its header on line 1")
    wanted = None if columns is None else set(columns)
    seen: set[str] = set()
    for h in header:
        key = h.strip()
        if key and key in seen and (wanted is None or key in wanted):
            raise InputFileError(f"{name}: the header names column {key!r} twice: rename or remove one of them")
        seen.add(key)


def _check_last(name: str, ends_with_newline: bool, nf: np.ndarray, ncols: int,
                malformed: np.ndarray | None = None) -> None:
    """Refuse a file whose last record is cut short: no final newline, and too few fields or broken quoting."""
    if not ends_with_newline and nf.size and malformed is not None and malformed[-1]:
        raise InputFileError(f"{name}: the last line has a quoted field that is never closed and no final newline: "
                             "the file looks truncated (re-download it, or remove the partial last line)")
    if not ends_with_newline and nf.size and nf[-1] < ncols:
        raise InputFileError(
            f"{name}: the last line has {int(nf[-1])} of {ncols} fields and no final newline: the file looks "
            "truncated (re-download it, or remove the partial last line)"
        )

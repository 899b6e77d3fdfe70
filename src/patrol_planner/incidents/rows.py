"""Per-file working arrays of a reader (:class:`Rows`) and the cell helpers every reader shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.incidents import quarantine as _q
from patrol_planner.incidents.csvbytes import RawTable


def filled(n: int, value: Any) -> np.ndarray:
    """Object array of ``n`` references to ``value``.

    ``np.full(n, "text", dtype=object)`` goes through a fixed-width string array and makes a new string
    object per cell; ``fill`` stores the one object.
    """
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


class Rows:
    """Per-file working arrays: parsed values plus the first-failure reason of each row."""

    def __init__(self, n: int):
        self.n = n
        self.ok = np.ones(n, dtype=bool)  # no reason yet (kept in step with ``reason``)
        self.reason = filled(n, "")
        self.detail = filled(n, "")
        self.ids = np.full(n, None, dtype=object)
        self.no_id: np.ndarray | None = None  # where ids is None, when a reader knows it (else pd.isna)
        self.category = np.full(n, None, dtype=object)
        # (codes, values) with category == values[codes], when the reader mapped distinct values
        self.category_coded: tuple[np.ndarray, np.ndarray] | None = None
        self.t0 = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        self.t1 = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        self.time_known = np.zeros(n, dtype=bool)
        self.lon = np.full(n, np.nan)
        self.lat = np.full(n, np.nan)
        self.confidence = np.ones(n)
        self.handling = np.full(n, None, dtype=object)
        self.disseminate = np.ones(n, dtype=bool)
        self.location = np.full(n, None, dtype=object)
        # What the quarantine may show of row i (None: the reader's shown columns of the raw row)
        self.shown_raw: Callable[[int], dict[str, Any]] | None = None

    def flag(self, mask: np.ndarray, code: str, text: str) -> None:
        """Give ``code`` to the rows in ``mask`` that have no reason yet (first failure wins)."""
        if code not in _q.REASONS:
            raise ValueError(f"unknown quarantine reason {code!r}")
        m = np.asarray(mask, dtype=bool) & self.ok
        if m.any():
            self.reason[m] = code
            self.detail[m] = text
            self.ok[m] = False


def col(raw: RawTable, name: str) -> pd.Series:
    """Column ``name`` of ``raw``, stripped of surrounding spaces unless the bytes showed none."""
    s = raw.cells[name]
    if s.dtype.kind == "f":
        return s
    return s.str.strip() if raw.padded else s


def coord(raw: RawTable, name: str) -> pd.Series:
    """Coordinate column ``name``: as :func:`col`, and a decimal comma read as a point in ``;``/tab files.

    Spreadsheets in locales that write ``51,5`` save CSV with ``;`` between fields; in a comma-separated
    file an unquoted decimal comma cannot occur, so only those files are rewritten.
    """
    s = col(raw, name)
    if raw.sep != "," and s.dtype.kind != "f":
        s = s.str.replace(",", ".", regex=False)
    return s


def numbers(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(values [float], empty [bool]) of a coordinate column given as float64 or as text."""
    if s.dtype.kind == "f":
        v = s.to_numpy(float)
        return v, np.isnan(v)
    return pd.to_numeric(s, errors="coerce").to_numpy(float), (s == "").to_numpy()


def shape_checks(raw: RawTable, rows: Rows) -> None:
    """Flag records with broken quoting (bad_quoting), fewer (truncated_row) or more (extra_fields) fields
    than the header."""
    ncols = len(raw.header)
    if raw.malformed is not None:
        rows.flag(raw.malformed, "bad_quoting", "a quote never closed, or text after a closing quote")
    rows.flag(raw.nfields < ncols, "truncated_row", f"fewer fields than the {ncols} in the header")
    rows.flag(raw.nfields > ncols, "extra_fields", f"more fields than the {ncols} in the header")

"""Text from received files made safe for the two places it is shown: spreadsheets and terminals.

* Spreadsheets: a CSV cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read
  by Excel, LibreOffice and Google Sheets as a formula (OWASP "CSV injection"). :func:`spreadsheet_safe`
  prefixes such text cells with a single quote ``'``, which the spreadsheet shows as plain text. Numbers are
  never touched: numeric columns are not text, and a text cell that is a plain number (``-0.7``) is not a
  formula. Cells that already start with quotes followed by a trigger get one more quote, so
  :func:`spreadsheet_restore` undoes the rule exactly: writing then reading gives the original text back.
* Terminals: :func:`terminal_safe` shows control characters (ESC, CR, backspace, bidi overrides...) as
  visible escapes like ``\\x1b``, so a place name cannot clear the screen, move the cursor or hide text.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
#: Unicode format characters that reorder text on screen (bidi embeddings, overrides and isolates).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def _needs_quote(text: str) -> bool:
    core = text.lstrip("'")
    return core.startswith(FORMULA_START) and _NUMBER.fullmatch(core) is None


def spreadsheet_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula; else unchanged."""
    return "'" + value if isinstance(value, str) and _needs_quote(value) else value


def restore_cell(value: Any) -> Any:
    """Undo :func:`spreadsheet_cell` on a cell read back from a CSV this package wrote."""
    if isinstance(value, str) and value.startswith("'") and _needs_quote(value[1:]):
        return value[1:]
    return value


def _text_columns(frame: pd.DataFrame) -> list[Any]:
    return [c for c in frame.columns if frame[c].dtype == object or str(frame[c].dtype) in ("string", "str")]


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot run as spreadsheet formulas."""
    out = frame.copy()
    for c in _text_columns(out):
        out[c] = out[c].map(spreadsheet_cell, na_action="ignore")
    return out.rename(columns=spreadsheet_cell)


def spreadsheet_restore(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`spreadsheet_safe` on a frame read back with ``pandas.read_csv``."""
    out = frame.rename(columns=restore_cell)
    for c in _text_columns(out):
        out[c] = out[c].map(restore_cell, na_action="ignore")
    return out


def _visible(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: Any) -> str:
    """``str(text)`` with every control character except newline and tab shown as an escape (``\\x1b``)."""
    s = str(text)
    if s.isprintable():
        return s
    return "".join(_visible(ch) if (ch not in "\n\t" and unicodedata.category(ch) == "Cc") or ch in _BIDI else ch
                   for ch in s)

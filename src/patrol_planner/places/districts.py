"""Which district (local authority) a spot lies in: police.uk LSOA codes through the ONS LSOA -> LAD lookup.

police.uk street files carry each crime's LSOA (2011 codes before 2022, 2021 codes since); the ONS lookup
``lsoa11_lsoa21_lookup.csv`` names the local authority district (``LAD22CD``, ``LAD22NM``) of both. A spot's
district is that of the **most common LSOA among its own records**; a spot with no coded record takes the
LSOA of the **nearest coded record** (within :data:`MAX_LINK_M`). When the lookup does not know a code (a
force outside the lookup's rows), the district's name is read from police.uk's ``LSOA name``
(``"Chelmsford 012A"`` -> ``"Chelmsford"``: ONS names LSOAs after their district) and its code is the
lookup's code for that name, or "" when the lookup does not know the district either.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

#: File of the ONS LSOA 2011 -> 2021 lookup with LAD columns (in an ONS folder).
LOOKUP_FILE = "lsoa11_lsoa21_lookup.csv"
#: Prefix of the lookup's district-name keys (never an LSOA code).
_NAME_KEY = "name:"
#: A spot with no coded record of its own is linked to the nearest coded record within this distance [m].
MAX_LINK_M = 2000.0


def bundled_ons_folder() -> Path:
    """The ONS subset shipped with the package's data (Leicestershire and Rutland)."""
    return Path(__file__).resolve().parents[3] / "data" / "ons-lsoa-leicestershire"


@lru_cache(maxsize=4)
def _lookup(path: str, mtime: float) -> dict[str, tuple[str, str]]:
    lk = pd.read_csv(path, usecols=["LSOA11CD", "LSOA21CD", "LAD22CD", "LAD22NM"], dtype=str, encoding="utf-8-sig")
    out: dict[str, tuple[str, str]] = {}
    for col in ("LSOA11CD", "LSOA21CD"):
        # 2011 codes of split LSOAs appear on several rows, all in one district (LSOAs nest in LADs)
        d = lk.dropna(subset=[col]).drop_duplicates(col)
        out.update(zip(d[col], zip(d["LAD22CD"], d["LAD22NM"], strict=True), strict=True))
    # District names -> codes, for 2021 LSOAs the best-fit lookup omits (found by police.uk's LSOA name)
    d = lk.dropna(subset=["LAD22NM"]).drop_duplicates("LAD22NM")
    out.update({_NAME_KEY + n: (c, n) for n, c in zip(d["LAD22NM"], d["LAD22CD"], strict=True)})
    return out


def lad_lookup(folder: str | Path | None = None) -> dict[str, tuple[str, str]]:
    """LSOA code (2011 or 2021) -> ``(lad_code, lad_name)`` from ``folder`` (default: the bundled subset);
    empty when the folder has no lookup (district names then come from police.uk's LSOA names)."""
    p = Path(folder).expanduser().resolve() if folder is not None else bundled_ons_folder()
    f = p / LOOKUP_FILE
    if not f.is_file():
        return {}
    return _lookup(str(f), f.stat().st_mtime)


def record_lsoas(incidents: pd.DataFrame, paths: list[str | Path] | tuple[Path, ...]) -> pd.Series:
    """LSOA code per record (NA when unknown) from the raw police.uk street files' ``LSOA code`` column,
    matched on ``source_file``/``source_line`` and checked on the coordinates. ``attrs["lsoa_names"]``: code ->
    police.uk ``LSOA name``."""
    frames = []
    wanted = set(incidents["source_file"].astype(str))
    for p in map(Path, paths):
        for f in sorted(p.glob("*.csv")) if p.is_dir() else [p]:
            if f.name not in wanted:
                continue
            try:
                raw = pd.read_csv(f, usecols=["Longitude", "Latitude", "LSOA code", "LSOA name"], dtype=str)
            except (ValueError, pd.errors.ParserError, UnicodeDecodeError, OSError):
                continue  # not a police.uk street file: no LSOA codes there
            raw["source_file"] = f.name
            raw["source_line"] = np.arange(len(raw)) + 2  # header is line 1; police.uk rows are one line each
            frames.append(raw)
    out = pd.Series(pd.NA, index=incidents.index, dtype="string")
    out.attrs["lsoa_names"] = {}
    if not frames:
        return out
    raw = pd.concat(frames, ignore_index=True)
    key = incidents[["source_file", "source_line", "lon", "lat"]].astype({"source_file": str})
    m = key.merge(raw, on=["source_file", "source_line"], how="left")
    ok = (np.abs(pd.to_numeric(m["Longitude"], errors="coerce").to_numpy() - m["lon"].to_numpy()) < 1e-5) & \
         (np.abs(pd.to_numeric(m["Latitude"], errors="coerce").to_numpy() - m["lat"].to_numpy()) < 1e-5)
    out[:] = m["LSOA code"].where(ok).astype("string").to_numpy()
    named = raw.dropna(subset=["LSOA code", "LSOA name"]).drop_duplicates("LSOA code")
    out.attrs["lsoa_names"] = dict(zip(named["LSOA code"], named["LSOA name"], strict=True))
    return out


@dataclass(frozen=True)
class District:
    """A spot's local authority district: ``code`` (ONS ``LAD22CD``, "" when only the name is known),
    ``name`` and how it was found (``link``: ``records in spot``, ``nearest record`` or ``unknown``)."""

    code: str
    name: str
    link: str
    lsoa: str = ""


def district_of(code: str, lookup: dict[str, tuple[str, str]], lsoa_names: dict[str, str]) -> tuple[str, str]:
    """``(lad_code, lad_name)`` of an LSOA code: the ONS lookup, else the police.uk LSOA name's district."""
    if code in lookup:
        return lookup[code]
    name = lsoa_names.get(code, "")
    name = name.rsplit(" ", 1)[0] if " " in name else ""
    return lookup.get(_NAME_KEY + name, ("", name)) if name else ("", "")


def spot_districts(spot_cells: list[str], spot_xy: np.ndarray, record_cells: np.ndarray, record_xy: np.ndarray,
                   lsoa: pd.Series, lookup: dict[str, tuple[str, str]]) -> list[District]:
    """The district of each spot (see the module docstring).

    ``spot_cells``/``spot_xy`` [m]: the spots' cell ids and centres; ``record_cells``/``record_xy`` [m]: each
    record's cell id and position, aligned with ``lsoa`` (:func:`record_lsoas`).
    """
    names = lsoa.attrs.get("lsoa_names", {})
    have = lsoa.notna().to_numpy()
    codes = lsoa.to_numpy()[have]
    cells = np.asarray(record_cells)[have]
    xy = np.asarray(record_xy, float).reshape(-1, 2)[have]
    mine = np.isin(cells, list(spot_cells))
    counts = pd.DataFrame({"cell": cells[mine], "code": codes[mine]}).value_counts().reset_index(name="n")
    # the most common LSOA per spot; ties to the smallest code, so the answer is deterministic
    counts = counts.sort_values(["cell", "n", "code"], ascending=[True, False, True]).drop_duplicates("cell")
    by_cell = counts.set_index("cell")["code"]
    out = []
    for cid, (x, y) in zip(spot_cells, np.asarray(spot_xy, float).reshape(-1, 2), strict=True):
        if cid in by_cell.index:
            code, link = str(by_cell[cid]), "records in spot"
        elif len(codes):
            d = np.hypot(xy[:, 0] - x, xy[:, 1] - y)
            j = int(np.argmin(d))
            if d[j] > MAX_LINK_M:
                out.append(District("", "", "unknown"))
                continue
            code, link = str(codes[j]), "nearest record"
        else:
            out.append(District("", "", "unknown"))
            continue
        lad_code, lad_name = district_of(code, lookup, names)
        out.append(District(lad_code, lad_name, link if lad_name else "unknown", code))
    return out

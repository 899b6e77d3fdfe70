"""Who bore the patrols: minutes and spots by deprivation decile and per 1,000 residents, against harm.

Spots are linked to LSOAs through the ``LSOA code`` that police.uk puts on every street-crime row. The
incident table does not keep that code, so it is read here from the raw police.uk CSVs themselves (only
the ``Longitude``, ``Latitude``, ``LSOA code`` and ``LSOA name`` columns, with pandas) and joined to
incidents by ``source_file`` and ``source_line``; a row whose coordinates do not agree is left unlinked.

**One geography: LSOA 2021.** Deprivation is the English Indices of Deprivation 2025 (IoD 2025) overall IMD
decile (1 = most deprived 10% of LSOAs in England), residents are Census 2021 usual residents, both keyed by
2021 LSOA codes. police.uk used 2011 codes until about 2023; a file coded by 2011 LSOAs (detected per file,
:func:`file_vintages`) is mapped through the ONS 2011 -> 2021 lookup (:func:`to_lsoa21`):

* unchanged or merged (one 2011 LSOA -> one 2021 LSOA, which may hold several 2011 LSOAs): exact;
* split (one 2011 LSOA -> several 2021 LSOAs, in a lookup with one row per part): the part with the most
  Census 2021 residents. A police.uk point is snapped and anonymised, so it cannot place a crime in one part
  reliably; the ONS best-fit lookup (one row per 2011 LSOA, the shared file) applies the same population rule
  when it was built, so both lookup forms give the same answer. Records whose split parts have different
  deciles are counted (``records_split_deciles_differ``).

The force area is read from the data: the local authority districts (LADs) holding at least
:data:`AREA_MIN_SHARE` of the coded records. Tables that do not cover every one of them are refused
(:func:`check_coverage`), never used silently. A spot's district is named from the lookup's LAD columns
(2021 LSOAs nest in LADs; a 2021 LSOA the best-fit lookup does not list is placed by its name, which starts
with the LAD's name).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from patrol_planner.bundled import ons_sample_folder
from patrol_planner.errors import EvaluationError
from patrol_planner.evaluation.placeday import victim_harm

IOD_FILE, POP_FILE, LOOKUP_FILE = "iod2025_eng.csv", "census21_pop.csv", "lsoa11_lsoa21_lookup.csv"
ONS_FILES: tuple[str, ...] = (IOD_FILE, POP_FILE, LOOKUP_FILE)
DECILE_COL = "IMD_decile"
#: A district is part of the force area when it holds at least this share of the records with an LSOA code
#: (police.uk files carry a few crimes just over the border; those stay in the table, as their own districts).
AREA_MIN_SHARE = 0.01
#: Tables must give a decile and residents for at least this share of an area district's coded records.
AREA_MIN_COVERAGE = 0.95
EQUITY_COLUMNS: tuple[str, ...] = (
    "imd_decile", "spots", "planned_minutes", "delivered_minutes", "lsoas", "residents", "harm_days",
    "harm_share", "planned_minutes_share", "planned_minutes_per_1000_residents", "delivered_minutes_share",
)
SPOT_COLUMNS: tuple[str, ...] = ("spot_id", "lsoa21_code", "lsoa21_name", "lad_code", "lad_name", "imd_decile",
                                 "link", "planned_minutes", "delivered_minutes")


def bundled_ons_folder() -> Path:
    """The small ONS subset shipped for the bundled Leicestershire/Rutland default."""
    return ons_sample_folder()


@dataclass(frozen=True)
class OnsTables:
    """All keyed by LSOA **2021** code except ``lookup``.

    ``deciles``: IMD 2025 decile; ``residents``: usual residents; ``lsoa21``: ``lsoa21_name, lad_code,
    lad_name`` of every 2021 LSOA the tables know; ``lookup``: ``lsoa11_code, lsoa21_code`` (one row per 2011
    LSOA and 2021 part); ``sha256``: fingerprint of the three files (:func:`ons_fingerprint`).
    """

    deciles: pd.Series
    residents: pd.Series
    lsoa21: pd.DataFrame
    lookup: pd.DataFrame
    folder: str = ""
    sha256: str = ""


def ons_folder(folder: str | Path | None) -> Path:
    """``folder`` as a path, or the bundled subset when ``None``."""
    return Path(folder).expanduser().resolve() if folder is not None else bundled_ons_folder()


def ons_fingerprint(folder: str | Path | None = None) -> str:
    """SHA-256 over the three tables' own SHA-256 (so equal tables in two folders are equal inputs)."""
    folder = ons_folder(folder)
    h = hashlib.sha256()
    for name in ONS_FILES:
        try:
            h.update(hashlib.sha256((folder / name).read_bytes()).digest())
        except OSError:
            raise EvaluationError(f"ONS tables not found: {folder / name} (a folder needs {', '.join(ONS_FILES)})") \
                from None
    return h.hexdigest()


def load_ons(folder: str | Path | None = None) -> OnsTables:
    """Read IoD 2025, Census 2021 and the 2011 -> 2021 lookup from ``folder`` (default: the bundled subset)."""
    folder = ons_folder(folder)
    if not (folder / IOD_FILE).exists() and (folder / "iod2019_eng.csv").exists():
        raise EvaluationError(f"{folder}: holds IoD 2019 (2011 LSOA codes) but no {IOD_FILE}; equity is on 2021 "
                              f"LSOAs only: give a folder with {', '.join(ONS_FILES)}")
    sha = ons_fingerprint(folder)
    try:
        iod = pd.read_csv(folder / IOD_FILE, usecols=["lsoa21_code", DECILE_COL])
        pop = pd.read_csv(folder / POP_FILE, usecols=["lsoa21_code", "lsoa21_name", "usual_residents"])
        lk = pd.read_csv(folder / LOOKUP_FILE, usecols=["LSOA11CD", "LSOA21CD", "LAD22CD", "LAD22NM"], dtype=str,
                         encoding="utf-8-sig")
    except ValueError as exc:
        raise EvaluationError(f"{folder}: not the ONS LSOA tables ({exc})") from None
    lsoa21 = _lsoa21_districts(pop, lk)
    return OnsTables(deciles=iod.dropna().set_index("lsoa21_code")[DECILE_COL].astype(int),
                     residents=pop.groupby("lsoa21_code")["usual_residents"].sum(), lsoa21=lsoa21,
                     lookup=lk.rename(columns={"LSOA11CD": "lsoa11_code", "LSOA21CD": "lsoa21_code"})[
                         ["lsoa11_code", "lsoa21_code"]].drop_duplicates(),
                     folder=str(folder), sha256=sha)


def _lsoa21_districts(pop: pd.DataFrame, lk: pd.DataFrame) -> pd.DataFrame:
    """District of every 2021 LSOA: the lookup's LAD columns, else the LAD whose name starts the LSOA's name
    (ONS names 2021 LSOAs ``<LAD name> <MSOA number><letter>``; the best-fit lookup omits split parts)."""
    names = pop.drop_duplicates("lsoa21_code").set_index("lsoa21_code")["lsoa21_name"]
    by_code = lk.drop_duplicates("LSOA21CD").set_index("LSOA21CD")[["LAD22CD", "LAD22NM"]]
    lad_code_of_name = lk.drop_duplicates("LAD22NM").set_index("LAD22NM")["LAD22CD"]
    codes = names.index.union(by_code.index)
    out = pd.DataFrame(index=pd.Index(codes, name="lsoa21_code"))
    out["lsoa21_name"] = names.reindex(codes)
    out["lad_name"] = by_code["LAD22NM"].reindex(codes)
    guess = out["lsoa21_name"].str.rsplit(" ", n=1).str[0]
    out["lad_name"] = out["lad_name"].fillna(guess.where(guess.isin(lad_code_of_name.index)))
    out["lad_code"] = by_code["LAD22CD"].reindex(codes).fillna(out["lad_name"].map(lad_code_of_name))
    return out[["lsoa21_name", "lad_code", "lad_name"]]


def incident_lsoas(incidents: pd.DataFrame, paths: list[str | Path]) -> pd.Series:
    """LSOA code per incident (NA when unknown), as written in the raw police.uk files' ``LSOA code`` column
    (2011 or 2021 codes: see :func:`to_lsoa21`). ``attrs["lsoa_names"]``: code -> police.uk ``LSOA name``.
    The same reader that names spots' districts (:func:`patrol_planner.places.record_lsoas`)."""
    from patrol_planner.places.districts import record_lsoas

    return record_lsoas(incidents, list(paths))


def file_vintages(lsoa: pd.Series, source_file: pd.Series, ons: OnsTables) -> pd.Series:
    """``2011`` or ``2021`` per source file: which vintage its codes belong to.

    A code found only among 2011 codes (the lookup's 2011 column, not a 2021 LSOA) votes 2011, one found
    only among 2021 codes votes 2021; codes in both (most: unchanged areas) do not vote. The majority wins;
    a file with no vote is 2021 (every code it holds means the same area in both).
    """
    only11 = set(ons.lookup["lsoa11_code"]) - set(ons.lsoa21.index)
    only21 = set(ons.lsoa21.index) - set(ons.lookup["lsoa11_code"])
    frame = pd.DataFrame({"f": source_file.astype(str).to_numpy(), "c": lsoa.to_numpy()})
    frame["v11"] = frame["c"].isin(only11)
    frame["v21"] = frame["c"].isin(only21)
    votes = frame.groupby("f")[["v11", "v21"]].sum()
    return pd.Series(np.where(votes["v11"] > votes["v21"], 2011, 2021), index=votes.index, name="vintage")


def to_lsoa21(lsoa: pd.Series, source_file: pd.Series, ons: OnsTables) -> pd.DataFrame:
    """Per incident: ``lsoa21_code`` (NA when unknown), ``vintage`` of its file and ``change`` (``2021 code``,
    ``unchanged``, ``merged``, ``split`` (several parts: the one with most residents), ``best fit`` (a changed
    code in a one-row-per-2011-LSOA lookup), ``not in lookup``) and ``split_deciles_differ``."""
    vint = source_file.astype(str).map(file_vintages(lsoa, source_file, ons)).to_numpy()
    lk = ons.lookup.assign(residents=ons.lookup["lsoa21_code"].map(ons.residents).fillna(0.0))
    parts = lk.groupby("lsoa11_code")["lsoa21_code"].transform("size")
    parents = lk.groupby("lsoa21_code")["lsoa11_code"].transform("size")
    lk["change"] = np.select([parts > 1, parents > 1, lk["lsoa11_code"] == lk["lsoa21_code"]],
                             ["split", "merged", "unchanged"], "best fit")
    dec = lk["lsoa21_code"].map(ons.deciles)
    lk["differ"] = lk["lsoa11_code"].map(dec.groupby(lk["lsoa11_code"]).nunique(dropna=False) > 1)
    best = lk.sort_values(["lsoa11_code", "residents", "lsoa21_code"], ascending=[True, False, True]) \
        .drop_duplicates("lsoa11_code").set_index("lsoa11_code")
    codes = lsoa.astype("string")
    is11 = (vint == 2011) & codes.notna().to_numpy()
    c11 = codes[is11]
    # copy: a "string" array's to_numpy() can share memory with the caller's ``lsoa``
    out = pd.DataFrame({"lsoa21_code": codes.to_numpy(dtype=object, copy=True), "vintage": vint, "change": "2021 code",
                        "split_deciles_differ": False}, index=lsoa.index)
    out.loc[codes.isna().to_numpy(), "change"] = "no code"
    out.loc[is11, "lsoa21_code"] = c11.map(best["lsoa21_code"]).to_numpy()
    out.loc[is11, "change"] = c11.map(best["change"]).fillna("not in lookup").to_numpy()
    out.loc[is11, "split_deciles_differ"] = c11.map(best["differ"]).fillna(False).astype(bool).to_numpy()
    out["lsoa21_code"] = out["lsoa21_code"].astype("string")
    return out


def districts_of(lsoa21: pd.Series, ons: OnsTables, names: dict[str, str] | None = None) -> pd.DataFrame:
    """``lad_code, lad_name`` per 2021 code; for a code the tables do not know, the district name from
    police.uk's ``LSOA name`` (``names``; code ``?``), so a refusal can still say where the crimes are."""
    d = ons.lsoa21.reindex(lsoa21.to_numpy())[["lad_code", "lad_name"]].reset_index(drop=True)
    if names:
        guess = pd.Series([names.get(c) if isinstance(c, str) else None for c in lsoa21], dtype=object)
        guess = guess.str.rsplit(" ", n=1).str[0]
        miss = d["lad_name"].isna() & guess.notna()
        d.loc[miss, "lad_name"] = guess[miss]
        d.loc[miss, "lad_code"] = "?"
    d.index = lsoa21.index
    return d


def force_area(lsoa21: pd.Series, ons: OnsTables, names: dict[str, str] | None = None) -> pd.DataFrame:
    """Districts of the records, one row each: ``lad_code, lad_name, records, share, covered`` (share of its
    records whose 2021 LSOA has a decile and residents) and ``in_area`` (``share`` >= :data:`AREA_MIN_SHARE`)."""
    have = lsoa21.notna()
    d = districts_of(lsoa21[have], ons, names).fillna({"lad_code": "?", "lad_name": "unknown district"})
    code = lsoa21[have]
    d["covered"] = (code.isin(ons.deciles.index) & code.isin(ons.residents.index)).to_numpy()
    g = d.groupby(["lad_code", "lad_name"]).agg(records=("covered", "size"), covered=("covered", "mean"))
    g = g.reset_index().sort_values(["records", "lad_name"], ascending=[False, True], ignore_index=True)
    g["share"] = g["records"] / max(1, int(have.sum()))
    g["in_area"] = g["share"] >= AREA_MIN_SHARE
    return g[["lad_code", "lad_name", "records", "share", "covered", "in_area"]]


def check_coverage(area: pd.DataFrame, ons: OnsTables) -> None:
    """Refuse tables that leave a force-area district (mostly) without deciles or residents: one line."""
    a = area[area["in_area"]]
    bad = a[a["covered"] < AREA_MIN_COVERAGE]
    if bad.empty:
        return
    names = ", ".join(bad["lad_name"].head(6)) + (f" and {len(bad) - 6} more" if len(bad) > 6 else "")
    raise EvaluationError(
        f"the ONS tables in {ons.folder} do not cover the crimes' area: {len(bad)} of its {len(a)} districts "
        f"({names}) lack IoD 2025 deciles or Census 2021 residents; give --ons a folder with {', '.join(ONS_FILES)} "
        "covering them (e.g. ../shared/data/raw/ons-lsoa)")


def spot_lsoas(spots_xy: dict[str, BaseGeometry], incidents: pd.DataFrame, lsoa: pd.Series, *,
               max_link_m: float = 500.0) -> pd.DataFrame:
    """``spot_id, lsoa_code, link`` (``crimes in spot``, ``nearest crime`` or ``unlinked``); ``lsoa`` should be
    the 2021 codes (:func:`to_lsoa21`) so every spot is on one geography."""
    have = lsoa.notna().to_numpy()
    pts = shapely.points(incidents["x_m"].to_numpy(float)[have], incidents["y_m"].to_numpy(float)[have])
    codes = lsoa.to_numpy()[have]
    tree = shapely.STRtree(pts) if len(pts) else None
    rows = []
    for sid, poly in spots_xy.items():
        inside = tree.query(poly, predicate="intersects") if tree is not None else []
        if len(inside):
            rows.append((sid, pd.Series(codes[inside]).mode().iloc[0], "crimes in spot"))
            continue
        near = tree.query_nearest(poly, max_distance=max_link_m) if tree is not None else []
        if len(near):
            rows.append((sid, codes[near[0]], "nearest crime"))
        else:
            rows.append((sid, pd.NA, "unlinked"))
    return pd.DataFrame(rows, columns=["spot_id", "lsoa_code", "link"])


@dataclass(frozen=True)
class EquityReport:
    """``table`` (:data:`EQUITY_COLUMNS`, one row per IMD decile plus ``unknown``), ``spots``
    (:data:`SPOT_COLUMNS`, each spot's 2021 LSOA, district and decile), ``area`` (:func:`force_area`) and
    counts."""

    table: pd.DataFrame
    spots: pd.DataFrame
    counts: dict = field(default_factory=dict)
    area: pd.DataFrame = field(default_factory=pd.DataFrame)


def _decile_of(codes: pd.Series, ons: OnsTables) -> pd.Series:
    d = codes.map(ons.deciles)
    return pd.Series([int(v) if not pd.isna(v) else "unknown" for v in d], index=codes.index, dtype=object)


def equity_report(schedule: pd.DataFrame, spots_xy: dict[str, BaseGeometry], incidents: pd.DataFrame,
                  lsoa: pd.Series, ons: OnsTables, *, delivered: pd.DataFrame | None = None,
                  max_link_m: float = 500.0) -> EquityReport:
    """Minutes and spots by IMD 2025 decile against each decile's share of victim harm, all on 2021 LSOAs.

    ``spots_xy``: projected spot polygons, linked to 2021 LSOAs by :func:`spot_lsoas` on the mapped codes;
    ``lsoa``: the incidents' codes as police.uk wrote them (:func:`incident_lsoas`, 2011 or 2021). The area's
    residents and LSOAs per decile are every 2021 LSOA of the force-area districts (:func:`force_area`); tables
    that do not cover them raise :class:`EvaluationError` (:func:`check_coverage`). ``delivered``: spot-days
    with ``minutes_present`` [min].
    """
    names = lsoa.attrs.get("lsoa_names", {})
    m = to_lsoa21(lsoa, incidents["source_file"], ons)
    area = force_area(m["lsoa21_code"], ons, names)
    check_coverage(area, ons)
    # Spots link to their crimes' 2021 codes, so a spot takes one vintage whatever files its crimes came from.
    sp = spot_lsoas(spots_xy, incidents, m["lsoa21_code"], max_link_m=max_link_m).rename(
        columns={"lsoa_code": "lsoa21_code"})
    sp["lsoa21_code"] = sp["lsoa21_code"].astype("string")
    sp = sp.join(districts_of(sp["lsoa21_code"], ons)).assign(
        lsoa21_name=sp["lsoa21_code"].map(ons.lsoa21["lsoa21_name"]), imd_decile=_decile_of(sp["lsoa21_code"], ons))
    planned = schedule.groupby(schedule["spot_id"].astype(str))["minutes"].sum()
    sp["planned_minutes"] = sp["spot_id"].map(planned).fillna(0.0)
    if delivered is not None:
        dm = delivered.groupby(delivered["spot_id"].astype(str))["minutes_present"].sum()
        sp["delivered_minutes"] = sp["spot_id"].map(dm).fillna(0.0)
    else:
        sp["delivered_minutes"] = np.nan
    harm = pd.Series(victim_harm(incidents["category"]), index=incidents.index)
    inc_dec = _decile_of(m["lsoa21_code"], ons)
    in_area = area.loc[area["in_area"], "lad_code"]
    area_lsoas = ons.lsoa21.index[ons.lsoa21["lad_code"].isin(in_area)].to_series()
    area_dec = _decile_of(area_lsoas, ons)
    keys = [*range(1, 11), "unknown"]
    t = pd.DataFrame({"imd_decile": keys})
    t["spots"] = t["imd_decile"].map(sp.groupby("imd_decile").size()).fillna(0).astype(int)
    t["planned_minutes"] = t["imd_decile"].map(sp.groupby("imd_decile")["planned_minutes"].sum()).fillna(0.0)
    t["delivered_minutes"] = (t["imd_decile"].map(sp.groupby("imd_decile")["delivered_minutes"].sum()).fillna(0.0)
                              if delivered is not None else np.nan)
    t["lsoas"] = t["imd_decile"].map(area_dec.value_counts()).fillna(0).astype(int)
    res = area_lsoas.map(ons.residents).fillna(0.0)
    t["residents"] = t["imd_decile"].map(res.groupby(area_dec.to_numpy()).sum()).fillna(0.0)
    t["harm_days"] = t["imd_decile"].map(harm.groupby(inc_dec.to_numpy()).sum()).fillna(0.0)
    tot_h, tot_m = t["harm_days"].sum(), t["planned_minutes"].sum()
    t["harm_share"] = t["harm_days"] / tot_h if tot_h else np.nan
    t["planned_minutes_share"] = t["planned_minutes"] / tot_m if tot_m else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        t["planned_minutes_per_1000_residents"] = np.where(
            t["residents"] > 0, t["planned_minutes"] / (t["residents"] / 1000.0), np.nan)
    tot_d = t["delivered_minutes"].sum()
    t["delivered_minutes_share"] = t["delivered_minutes"] / tot_d if delivered is not None and tot_d else np.nan
    coded = m["change"] != "no code"
    counts = {
        "geography": "LSOA 2021 (IoD 2025 deciles, Census 2021 residents)",
        "area_districts": [f"{n} ({c})" for c, n in zip(area.loc[area["in_area"], "lad_code"],
                                                         area.loc[area["in_area"], "lad_name"], strict=True)],
        "area_lsoas": len(area_lsoas),
        "lsoas_without_imd_decile": int((area_dec == "unknown").sum()),
        "lsoas_without_population": int((~area_lsoas.isin(ons.residents.index)).sum()),
        "incidents_without_lsoa": int((~coded).sum()),
        "incidents_2011_coded": int((m["vintage"] == 2011)[coded].sum()),
        "incidents_2011_by_change": {k: int(v) for k, v in
                                     m.loc[coded & (m["vintage"] == 2011), "change"].value_counts().items()},
        "records_split_deciles_differ": int(m["split_deciles_differ"].sum()),
        "incidents_without_decile": int((inc_dec == "unknown").sum()),
        "harm_share_unknown": float(t.loc[t["imd_decile"] == "unknown", "harm_share"].iloc[0])
        if tot_h else 0.0,
        "spots_unlinked": int((sp["link"] == "unlinked").sum()),
        "spots_without_decile": int((sp["imd_decile"] == "unknown").sum()),
        "ons_folder": ons.folder,
        "ons_sha256": ons.sha256,
    }
    return EquityReport(table=t[list(EQUITY_COLUMNS)], spots=sp[list(SPOT_COLUMNS)].reset_index(drop=True),
                        counts=counts, area=area)


def equity_for_programme(programme: Any, crime_paths: list[str | Path], *, ons: str | Path | None = None,
                         dosage: pd.DataFrame | None = None) -> EquityReport:
    """One call for a page (e.g. the programme calendar): read the police.uk crimes, link spots to LSOAs and
    build the report. ``programme`` is a :class:`patrol_planner.programme.Programme`; ``dosage`` a frame with
    ``date, spot_id, minutes_present`` [min] (optional)."""
    from patrol_planner.incidents import ingest

    incidents = ingest(crime_paths).incidents
    return equity_from_incidents(programme, incidents, list(crime_paths), ons=ons, dosage=dosage)


def equity_from_incidents(programme: Any, incidents: pd.DataFrame, crime_paths: list[str | Path], *,
                          ons: str | Path | OnsTables | None = None,
                          dosage: pd.DataFrame | None = None) -> EquityReport:
    """:func:`equity_for_programme` on incidents already ingested from ``crime_paths``."""
    from patrol_planner.evaluation.placeday import project_spots

    lsoa = incident_lsoas(incidents, list(crime_paths))
    if not lsoa.notna().any():
        raise EvaluationError("the crimes carry no LSOA codes (only police.uk street files do): no equity report")
    tables = ons if isinstance(ons, OnsTables) else load_ons(ons)
    spots_xy = project_spots(programme.spots, incidents.attrs["crs"])
    return equity_report(programme.schedule, spots_xy, incidents, lsoa, tables, delivered=dosage)


# --- never replace an equity table made from other ONS tables without saying so --------------------------

def previous_equity_source(folder: str | Path) -> dict | None:
    """The ONS source (``ons_folder``, ``ons_sha256``) recorded for ``folder/equity.csv``: ``equity.json``
    (programme folders) or ``evaluation.json``'s ``equity`` (evaluation folders); ``{}`` when the table
    exists but no source was recorded (an older version); ``None`` when there is no table."""
    folder = Path(folder).expanduser()
    if not (folder / "equity.csv").is_file():
        return None
    for name, key in (("equity.json", None), ("evaluation.json", "equity")):
        try:
            js = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        js = js.get(key) if key and isinstance(js, dict) else js
        if isinstance(js, dict) and js.get("ons_sha256"):
            return {"ons_folder": js.get("ons_folder", ""), "ons_sha256": js["ons_sha256"]}
    return {}


def guard_equity_table(folder: str | Path, ons: str | Path | None) -> str:
    """Before a run that rewrites ``folder``: refuse (one line) when its ``equity.csv`` was made from other ONS
    tables than ``ons`` (so a re-run that forgot ``--ons`` cannot replace a good table); return a warning
    line when the old table's source is not recorded, else ``""``."""
    prev = previous_equity_source(folder)
    if prev is None:
        return ""
    if not prev:
        return (f"warning: {Path(folder) / 'equity.csv'} is replaced; the ONS tables it was made with were not "
                "recorded")
    if prev["ons_sha256"] == ons_fingerprint(ons):
        return ""
    now = str(ons_folder(ons)) + (" (the bundled subset)" if ons is None else "")
    raise EvaluationError(
        f"{Path(folder) / 'equity.csv'} was made with the ONS tables in {prev['ons_folder']}; this run would use "
        f"{now}: pass --ons {prev['ons_folder']} to keep them, or delete equity.csv to replace it")


def write_equity_files(report: EquityReport, folder: str | Path) -> dict[str, Path]:
    """``equity.csv`` (by decile), ``equity-spots.csv`` (each spot's LSOA 2021, district and decile) and
    ``equity.json`` (counts, including the ONS source) into ``folder``."""
    from patrol_planner.sanitise import spreadsheet_safe

    folder = Path(folder)
    paths = {"equity": folder / "equity.csv", "equity_spots": folder / "equity-spots.csv",
             "equity_json": folder / "equity.json"}
    spreadsheet_safe(report.table).to_csv(paths["equity"], index=False, lineterminator="\n")
    spreadsheet_safe(report.spots).to_csv(paths["equity_spots"], index=False, lineterminator="\n")
    text = json.dumps(report.counts, indent=1, sort_keys=True, allow_nan=False) + "\n"
    paths["equity_json"].write_text(text, encoding="utf-8")
    return paths

"""Who bore the patrols: minutes and spots by deprivation decile and per 1,000 residents, against harm.

Spots are linked to LSOAs through the ``LSOA code`` that police.uk puts on every street-crime row. The
incident table does not keep that code, so it is read here from the raw police.uk CSVs themselves (only
the ``Longitude``, ``Latitude`` and ``LSOA code`` columns, with pandas) and joined to incidents by
``source_file`` and ``source_line``; a row whose coordinates do not agree is left unlinked. A spot takes
the most common LSOA of the crimes inside it, else that of the nearest crime within ``max_link_m``.

Deprivation: English Indices of Deprivation 2019 (IoD), overall IMD decile (1 = most deprived 10% of
LSOAs in England), keyed by LSOA **2011** codes. Residents: Census 2021 usual residents, keyed by LSOA
**2021** codes. police.uk used 2011 codes until about 2023 and 2021 codes since; most codes did not change,
the others need the ONS lookup, which is not bundled, so the report counts the codes it could not match.
"""

from __future__ import annotations

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

DECILE_COL = "index_of_multiple_deprivation_imd_decile"
EQUITY_COLUMNS: tuple[str, ...] = (
    "imd_decile", "spots", "planned_minutes", "delivered_minutes", "lsoas", "residents", "harm_days",
    "harm_share", "planned_minutes_share", "planned_minutes_per_1000_residents", "delivered_minutes_share",
)


def bundled_ons_folder() -> Path:
    """The small ONS subset shipped for the bundled Leicestershire/Rutland default."""
    return ons_sample_folder()


@dataclass(frozen=True)
class OnsTables:
    """``deciles``: LSOA 2011 code -> IMD decile; ``residents``: LSOA 2021 code -> usual residents."""

    deciles: pd.Series
    residents: pd.Series
    folder: str = ""


def load_ons(folder: str | Path | None = None) -> OnsTables:
    """Read ``iod2019_eng.csv`` and ``census21_pop.csv`` from ``folder`` (default: the bundled subset)."""
    folder = Path(folder) if folder is not None else bundled_ons_folder()
    try:
        iod = pd.read_csv(folder / "iod2019_eng.csv", usecols=["lsoa11_code", DECILE_COL])
        pop = pd.read_csv(folder / "census21_pop.csv", usecols=["lsoa21_code", "usual_residents"])
    except FileNotFoundError as exc:
        raise EvaluationError(f"ONS tables not found: {exc.filename}") from None
    except ValueError as exc:
        raise EvaluationError(f"{folder}: not the ONS LSOA tables ({exc})") from None
    return OnsTables(deciles=iod.set_index("lsoa11_code")[DECILE_COL].astype(int),
                     residents=pop.groupby("lsoa21_code")["usual_residents"].sum(), folder=str(folder))


def incident_lsoas(incidents: pd.DataFrame, paths: list[str | Path]) -> pd.Series:
    """LSOA code per incident (NA when unknown), read from the raw police.uk files' ``LSOA code`` column."""
    frames = []
    for p in paths:
        p = Path(p)
        for f in sorted(p.glob("*.csv")) if p.is_dir() else [p]:
            try:
                raw = pd.read_csv(f, usecols=["Longitude", "Latitude", "LSOA code"], dtype=str)
            except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
                continue  # not a police.uk street file: no LSOA codes there
            raw["source_file"] = f.name
            raw["source_line"] = np.arange(len(raw)) + 2  # header is line 1; police.uk rows are one line each
            frames.append(raw)
    out = pd.Series(pd.NA, index=incidents.index, dtype="string")
    if not frames:
        return out
    raw = pd.concat(frames, ignore_index=True)
    key = incidents[["source_file", "source_line", "lon", "lat"]].astype({"source_file": str})
    m = key.merge(raw, on=["source_file", "source_line"], how="left")
    ok = (np.abs(pd.to_numeric(m["Longitude"], errors="coerce").to_numpy() - m["lon"].to_numpy()) < 1e-5) & \
         (np.abs(pd.to_numeric(m["Latitude"], errors="coerce").to_numpy() - m["lat"].to_numpy()) < 1e-5)
    codes = m["LSOA code"].where(ok).astype("string")
    out[:] = codes.to_numpy()
    return out


def spot_lsoas(spots_xy: dict[str, BaseGeometry], incidents: pd.DataFrame, lsoa: pd.Series, *,
               max_link_m: float = 500.0) -> pd.DataFrame:
    """``spot_id, lsoa_code, link`` (``crimes in spot``, ``nearest crime`` or ``unlinked``)."""
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
    """``table`` (:data:`EQUITY_COLUMNS`, one row per IMD decile plus ``unknown``) and match counts."""

    table: pd.DataFrame
    spots: pd.DataFrame
    counts: dict = field(default_factory=dict)


def _nearby_deciles(sp: pd.DataFrame, spots_xy: dict[str, BaseGeometry], incidents: pd.DataFrame,
                    inc_dec: pd.Series, max_link_m: float) -> pd.DataFrame:
    """For spots whose own LSOA has no IoD 2019 decile (a 2021 code from a boundary change), take the most common
    decile of the crimes within ``max_link_m`` [m] whose LSOA has one; flagged in ``decile_source``."""
    known = (inc_dec != "unknown").to_numpy()
    pts = shapely.points(incidents["x_m"].to_numpy(float)[known], incidents["y_m"].to_numpy(float)[known])
    decs = inc_dec.to_numpy()[known]
    tree = shapely.STRtree(pts) if len(pts) else None
    sp = sp.copy()
    sp["decile_source"] = np.where(sp["imd_decile"] == "unknown", "none", "own LSOA")
    for i in sp.index[sp["imd_decile"] == "unknown"]:
        geom = spots_xy.get(sp.at[i, "spot_id"])
        if tree is None or geom is None:
            continue
        near = tree.query(geom.buffer(max_link_m), predicate="intersects")
        if len(near):
            sp.at[i, "imd_decile"] = int(pd.Series(decs[near]).astype(int).mode().iloc[0])
            sp.at[i, "decile_source"] = "nearby LSOAs"
    return sp


def equity_report(schedule: pd.DataFrame, spots: pd.DataFrame, incidents: pd.DataFrame, lsoa: pd.Series,
                  ons: OnsTables, *, delivered: pd.DataFrame | None = None,
                  spots_xy: dict[str, BaseGeometry] | None = None, max_link_m: float = 500.0) -> EquityReport:
    """Minutes and spots by IMD decile against each decile's share of victim harm.

    ``spots`` from :func:`spot_lsoas`; ``lsoa`` the incidents' codes (:func:`incident_lsoas`); the area
    is every LSOA named on the crimes given. ``delivered``: spot-days with ``minutes_present`` [min].
    With ``spots_xy`` (projected spot polygons), a spot whose LSOA code has no IoD 2019 decile takes the
    most common decile of crimes within ``max_link_m`` [m] (``decile_source`` = ``nearby LSOAs``).
    """
    area = pd.Series(lsoa.dropna().unique(), dtype=str)
    dec_of = area.map(ons.deciles)
    res_of = area.map(ons.residents)
    lsoa_dec = dict(zip(area, dec_of, strict=True))

    def decile(code: object) -> object:
        d = lsoa_dec.get(code) if isinstance(code, str) else None
        if d is None or pd.isna(d):
            d = ons.deciles.get(code) if isinstance(code, str) else None
        return int(d) if d is not None and not pd.isna(d) else "unknown"

    sp = spots.assign(imd_decile=[decile(c) for c in spots["lsoa_code"]])
    planned = schedule.groupby(schedule["spot_id"].astype(str))["minutes"].sum()
    sp["planned_minutes"] = sp["spot_id"].map(planned).fillna(0.0)
    if delivered is not None:
        dm = delivered.groupby(delivered["spot_id"].astype(str))["minutes_present"].sum()
        sp["delivered_minutes"] = sp["spot_id"].map(dm).fillna(0.0)
    harm = pd.Series(victim_harm(incidents["category"]), index=incidents.index)
    inc_dec = lsoa.map(lambda c: decile(c) if isinstance(c, str) else "unknown")
    if spots_xy is not None:
        sp = _nearby_deciles(sp, spots_xy, incidents, inc_dec, max_link_m)
    keys = [*range(1, 11), "unknown"]
    t = pd.DataFrame({"imd_decile": keys})
    t["spots"] = t["imd_decile"].map(sp.groupby("imd_decile").size()).fillna(0).astype(int)
    t["planned_minutes"] = t["imd_decile"].map(sp.groupby("imd_decile")["planned_minutes"].sum()).fillna(0.0)
    t["delivered_minutes"] = (t["imd_decile"].map(sp.groupby("imd_decile")["delivered_minutes"].sum()).fillna(0.0)
                              if delivered is not None else np.nan)
    area_dec = pd.Series([d if not pd.isna(d) else "unknown" for d in dec_of], dtype=object)
    t["lsoas"] = t["imd_decile"].map(area_dec.value_counts()).fillna(0).astype(int)
    t["residents"] = t["imd_decile"].map(pd.Series(res_of.to_numpy()).groupby(area_dec).sum()).fillna(0.0)
    t["harm_days"] = t["imd_decile"].map(harm.groupby(inc_dec.to_numpy()).sum()).fillna(0.0)
    tot_h, tot_m = t["harm_days"].sum(), t["planned_minutes"].sum()
    t["harm_share"] = t["harm_days"] / tot_h if tot_h else np.nan
    t["planned_minutes_share"] = t["planned_minutes"] / tot_m if tot_m else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        t["planned_minutes_per_1000_residents"] = np.where(
            t["residents"] > 0, t["planned_minutes"] / (t["residents"] / 1000.0), np.nan)
    tot_d = t["delivered_minutes"].sum()
    t["delivered_minutes_share"] = t["delivered_minutes"] / tot_d if delivered is not None and tot_d else np.nan
    counts = {
        "area_lsoas": len(area),
        "lsoas_without_imd_decile": int(dec_of.isna().sum()),
        "lsoas_without_population": int(res_of.isna().sum()),
        "incidents_without_lsoa": int(lsoa.isna().sum()),
        "spots_unlinked": int((sp["link"] == "unlinked").sum()),
        "spots_without_decile": int((sp["imd_decile"] == "unknown").sum()),
        "spots_decile_from_nearby_lsoas": int((sp.get("decile_source") == "nearby LSOAs").sum())
        if "decile_source" in sp else 0,
        "ons_folder": ons.folder,
    }
    return EquityReport(table=t[list(EQUITY_COLUMNS)], spots=sp, counts=counts)


def equity_for_programme(programme: Any, crime_paths: list[str | Path], *, ons: str | Path | None = None,
                         dosage: pd.DataFrame | None = None) -> EquityReport:
    """One call for a page (e.g. the programme calendar): read the police.uk crimes, link spots to LSOAs and
    build the report. ``programme`` is a :class:`patrol_planner.programme.Programme`; ``dosage`` a frame with
    ``date, spot_id, minutes_present`` [min] (optional)."""
    from patrol_planner.evaluation.placeday import project_spots
    from patrol_planner.incidents import ingest

    incidents = ingest(crime_paths).incidents
    lsoa = incident_lsoas(incidents, list(crime_paths))
    if not lsoa.notna().any():
        raise EvaluationError("the crimes carry no LSOA codes (only police.uk street files do): no equity report")
    spots_xy = project_spots(programme.spots, incidents.attrs["crs"])
    return equity_report(programme.schedule, spot_lsoas(spots_xy, incidents, lsoa), incidents, lsoa, load_ons(ons),
                         delivered=dosage, spots_xy=spots_xy)

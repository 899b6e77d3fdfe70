"""The spot-day table: crimes and victim harm per spot (and per surrounding ring) per programme day.

Crimes are placed in spots by polygon in the incidents' projected working CRS (``attrs["crs"]``, metres).
A ring is the band from the spot's edge out to ``ring_m`` [m]; points inside any spot are not ring crimes,
and a point in two spots' rings counts for both (rings of close spots overlap; the ring analysis is a
displacement check, not a partition).

Programme days: incident times are local wall-clock times of the source (schema of
:mod:`patrol_planner.incidents.schema`), taken to be in the programme's timezone; a crime belongs to the
programme day that started at the last ``day_starts_at`` before it (as :meth:`Programme.day_of`).
Crimes whose time is not known (police.uk months) cannot be placed on a day: they are refused here
(use the month-level analysis, :mod:`patrol_planner.evaluation.wdd`).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from patrol_planner import geo
from patrol_planner.errors import EvaluationError
from patrol_planner.hotspots.harm import target_harm_weights
from patrol_planner.incidents.schema import POLICE_UK_CATEGORIES
from patrol_planner.programme import Programme

SPOT_DAY_COLUMNS: tuple[str, ...] = (
    "date", "spot_id", "treated", "p_treated", "dow", "after_treated",
    "crimes", "harm_days", "ring_crimes", "ring_harm_days",
)


def project_spots(spots_lonlat: dict[str, BaseGeometry], crs: str) -> dict[str, BaseGeometry]:
    """Spot polygons from EPSG:4326 [deg] into the projected ``crs`` [m]."""
    crs = geo.check_projected(crs)
    out = {}
    for sid, g in spots_lonlat.items():
        out[sid] = shapely.transform(g, lambda xy: np.column_stack(geo.to_xy(xy[:, 0], xy[:, 1], crs)))
    return out


def victim_harm(categories: pd.Series) -> np.ndarray:
    """Victim harm per record [days of custody, CCHI], ASB and enforcement types at 0 (as backtests)."""
    codes = pd.Categorical(categories, categories=list(POLICE_UK_CATEGORIES)).codes
    vec = target_harm_weights()
    return np.where(codes >= 0, vec[np.maximum(codes, 0)], 0.0)


def locate(incidents: pd.DataFrame, spots_xy: dict[str, BaseGeometry], *, ring_m: float) -> pd.DataFrame:
    """Pairs (incident row position, spot_id, area) for incidents in a spot (``spot``) or its ring (``ring``)."""
    if ring_m <= 0:
        raise EvaluationError(f"ring_m must be > 0 m, got {ring_m}")
    ids = list(spots_xy)
    polys = [spots_xy[s] for s in ids]
    pts = shapely.points(incidents["x_m"].to_numpy(float), incidents["y_m"].to_numpy(float))
    in_pt, in_sp = shapely.STRtree(polys).query(pts, predicate="intersects")
    inside_any = np.zeros(len(pts), dtype=bool)
    inside_any[in_pt] = True
    rings = [shapely.difference(p.buffer(ring_m), p) for p in polys]
    r_pt, r_sp = shapely.STRtree(rings).query(pts, predicate="intersects")
    keep = ~inside_any[r_pt]
    spot_ids = np.array(ids, dtype=object)
    return pd.DataFrame({
        "row": np.concatenate([in_pt, r_pt[keep]]),
        "spot_id": np.concatenate([spot_ids[in_sp], spot_ids[r_sp[keep]]]),
        "area": ["spot"] * len(in_pt) + ["ring"] * int(keep.sum()),
    })


def programme_day(occurred: pd.Series, day_starts_at: str) -> pd.Series:
    """Programme day (``datetime.date``) of local wall-clock times: the day starts at ``day_starts_at``."""
    t = datetime.strptime(day_starts_at, "%H:%M")
    shift = pd.Timedelta(hours=t.hour, minutes=t.minute)
    return (pd.to_datetime(occurred) - shift).dt.date


def spot_day_table(programme: Programme, incidents: pd.DataFrame, *, ring_m: float = 100.0,
                   schedule: pd.DataFrame | None = None) -> pd.DataFrame:
    """Counts and victim harm per spot per programme day, in spots and in rings (:data:`SPOT_DAY_COLUMNS`).

    ``schedule`` defaults to the programme's assigned schedule. Rows: every programme day x every spot
    (zeros where nothing happened), ordered by date then spot in ``programme.spots`` order.
    ``after_treated`` is 1 on a control day whose previous day was a treated day for that spot.
    """
    if "crs" not in incidents.attrs:
        raise EvaluationError("incident table has no attrs['crs']; read crimes with patrol_planner.incidents.ingest")
    if len(incidents) and not incidents["time_known"].all():
        raise EvaluationError(
            "some crimes have no time of day (police.uk months): a place-day analysis needs timestamps; "
            "use the month-level analysis")
    sched = programme.schedule if schedule is None else schedule
    spots_xy = project_spots(programme.spots, incidents.attrs["crs"])
    days = programme_day(incidents["occurred_from"], programme.design["day_starts_at"])
    hits = locate(incidents, spots_xy, ring_m=ring_m)
    hits["date"] = days.to_numpy()[hits["row"].to_numpy()]
    hits["harm_days"] = victim_harm(incidents["category"])[hits["row"].to_numpy()]
    dates = programme.dates
    hits = hits[hits["date"].isin(set(dates))]
    index = pd.MultiIndex.from_product([dates, list(spots_xy)], names=["date", "spot_id"])
    out = pd.DataFrame(index=index).reset_index()
    for area, prefix in (("spot", ""), ("ring", "ring_")):
        sub = hits[hits["area"] == area].groupby(["date", "spot_id"])
        agg = pd.DataFrame({f"{prefix}crimes": sub.size(), f"{prefix}harm_days": sub["harm_days"].sum()})
        out = out.join(agg, on=["date", "spot_id"])
    s = sched.assign(spot_id=sched["spot_id"].astype(str)).set_index(["date", "spot_id"])
    out = out.join(s[["treated", "p_treated"]], on=["date", "spot_id"])
    if out["treated"].isna().any():
        raise EvaluationError("the schedule does not cover every spot-day of the programme")
    out = out.fillna({"crimes": 0, "harm_days": 0.0, "ring_crimes": 0, "ring_harm_days": 0.0})
    out["treated"] = out["treated"].astype(int)
    out["dow"] = pd.to_datetime(out["date"]).dt.day_of_week
    out["after_treated"] = after_treated(out)
    for c in ("crimes", "ring_crimes"):
        out[c] = out[c].astype(int)
    return out[list(SPOT_DAY_COLUMNS)]


def after_treated(table: pd.DataFrame, column: str = "treated") -> np.ndarray:
    """1 on a control spot-day whose previous programme day was treated for the same spot."""
    prev = table.groupby("spot_id", sort=False)[column].shift(1).fillna(0).to_numpy(int)
    return ((prev == 1) & (table[column].to_numpy(int) == 0)).astype(int)

"""Designing a programme: spots from the hotspot model, a randomised blocked schedule, its power, its record.

:func:`design_programme` takes a validated scenario and its :class:`ProgrammeParams` and returns a
:class:`ProgrammeDesign`; :meth:`ProgrammeDesign.write` writes the programme folder through
:func:`patrol_planner.programme.record.write_programme`. Same inputs and seed give byte-identical files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.errors import ProgrammeError
from patrol_planner.programme import randomise as rz
from patrol_planner.programme._scenario import Scenario, parse_hhmm
from patrol_planner.programme.params import ProgrammeParams
from patrol_planner.programme.power import minimum_detectable_effect, month_level_mde
from patrol_planner.programme.record import write_programme
from patrol_planner.programme.spots import choose_separated, listed_cells, touching_pairs

#: Re-draws of the design used to estimate day-level probabilities when limits make them uneven.
PROBABILITY_DRAWS = 400


@dataclass(frozen=True)
class ProgrammeDesign:
    """A designed programme, not yet written.

    Attributes
    ----------
    design : dict
        The ``design`` record (keys of :mod:`patrol_planner.programme.record` plus the randomisation).
    schedule : pandas.DataFrame
        :data:`~patrol_planner.programme.record.SCHEDULE_COLUMNS`, one row per day per spot.
    spots : pandas.DataFrame
        One row per spot: ``spot_id, cell_id, place, rank, score, rate_per_day, p_target, treated_days,
        control_days, lon, lat`` (centre [deg, EPSG:4326]).
    spots_geojson : dict
        EPSG:4326 polygons with ``spot_id``, ``place`` and the score breakdown.
    power : dict
        Minimum detectable effect and its method (:func:`~patrol_planner.programme.power.minimum_detectable_effect`).
    provenance : dict
        Input hashes, parameters, seed, package versions.
    """

    design: dict[str, Any]
    schedule: pd.DataFrame
    spots: pd.DataFrame
    spots_geojson: dict[str, Any]
    power: dict[str, Any]
    provenance: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """Figures for a terminal or ``--json``: spots, days, treated/control spot-days, MDE."""
        treated = int(self.schedule["treated"].sum())
        return {
            "spots": int(len(self.spots)),
            "days": int(self.design["days"]),
            "start_date": self.design["start_date"],
            "treated_spot_days": treated,
            "control_spot_days": int(len(self.schedule) - treated),
            "treated_per_day_min": int(self.schedule.groupby("date")["treated"].sum().min()),
            "treated_per_day_max": int(self.schedule.groupby("date")["treated"].sum().max()),
            "mde_at_80_power": self.power.get("mde_at_80_power"),
            "mde_rate_ratio": self.power.get("mde_rate_ratio"),
            "mde_reduction_pct": self.power.get("mde_reduction_pct"),
            "expected_records_without_effect": self.power.get("expected_records_without_effect"),
            "note": self.power.get("note"),
            "month_level_mde_rate_ratio": (self.power.get("month_level") or {}).get("month_mde_rate_ratio"),
            "month_level_patrol_day_mde_rate_ratio": (self.power.get("month_level") or {}).get(
                "patrol_day_mde_rate_ratio"),
        }

    def write(self, folder: str | Path, *, replaces: str | Path | None = None) -> Path:
        """Write the programme folder (refuses to replace a different programme, in ``replaces`` when the
        folder is a staging folder that will take its place)."""
        return write_programme(folder, design=self.design, schedule=self.schedule, spots_geojson=self.spots_geojson,
                               power=self.power, provenance=self.provenance, replaces=replaces)


def _as_of(s: Scenario, p: ProgrammeParams) -> pd.Timestamp:
    """Local naive moment the programme starts: only records before it choose spots and rates."""
    start = pd.Timestamp(datetime.combine(p.start_date, parse_hhmm(p.day_starts_at)))
    if s.as_of is not None:
        given = pd.Timestamp(s.as_of).tz_localize(None) if pd.Timestamp(s.as_of).tzinfo else pd.Timestamp(s.as_of)
        if given > start:
            raise ProgrammeError(f"scenario as_of {given} is after the programme start {start}: a programme can "
                                 "only be designed from data recorded before it starts")
        return given
    return start


def _history(incidents: pd.DataFrame, as_of: pd.Timestamp,
             history_days: int | None) -> tuple[pd.DataFrame, float, tuple[str, ...]]:
    """Records that end by ``as_of`` (within ``history_days``), the days they cover, and months missing.

    History ends strictly before the start: a record counts only when its whole interval does, so a
    police.uk month that holds the start (its crimes before and after the start cannot be told apart, and
    it is published weeks after it ends) is not history. Months with no record at all between the first
    and last (:func:`patrol_planner.incidents.pipeline.missing_months`) are missing, not months without
    crime: their days are taken off the span the rates are divided by.
    """
    from patrol_planner.incidents.pipeline import missing_months

    keep = incidents["occurred_to"] <= as_of
    if history_days is not None:
        keep &= incidents["occurred_from"] >= as_of - pd.Timedelta(days=history_days)
    hist = incidents[keep]
    if hist.empty:
        begun = incidents.loc[incidents["occurred_from"] < as_of, "occurred_from"]
        if len(begun):
            month = begun.min().to_period("M")
            raise ProgrammeError(f"no records end before the programme start {as_of}: {len(begun)} records of "
                                 f"{month} run past it (a police.uk month counts as history only when it ends "
                                 "before the start); add earlier months or start on the 1st of the next month")
        raise ProgrammeError(f"no records before the programme start {as_of}: nothing to choose spots from")
    t0 = hist["occurred_from"].min()
    t1 = min(as_of, hist["occurred_to"].max())
    gaps = missing_months(hist)
    gap_days = sum(pd.Period(m, "M").days_in_month for m in gaps)
    span = max((t1 - t0) / pd.Timedelta(days=1) - gap_days, 1.0)
    out = hist.copy()
    out.attrs = dict(incidents.attrs)
    return out, float(span), gaps


def _spot_rates(model: Any, hist: pd.DataFrame, cell_ids: list[str], span_days: float) -> np.ndarray:
    """Recorded crimes per spot-day in the history (intelligence is not an outcome) [records/day]."""
    crimes = hist[hist["source_kind"] != "intelligence"]
    ix, iy = model.grid_.index(crimes["x_m"].to_numpy(float), crimes["y_m"].to_numpy(float))
    counts = pd.Series(model.grid_.cell_ids(ix, iy)).value_counts()
    return np.array([counts.get(c, 0) for c in cell_ids], float) / span_days


def _month_level_power(p: ProgrammeParams, model: Any, hist: pd.DataFrame, cell_ids: list[str]) -> dict[str, Any]:
    """Month-level detectable effect (police.uk months): the spots' crimes in the last ``Q`` months of history
    against the (up to 6) months before them, ``Q`` the programme's length in months (fewer if history is short)."""
    crimes = hist[hist["source_kind"] != "intelligence"]
    ix, iy = model.grid_.index(crimes["x_m"].to_numpy(float), crimes["y_m"].to_numpy(float))
    month = crimes["occurred_from"].dt.to_period("M").to_numpy()
    counts = pd.crosstab(pd.Series(model.grid_.cell_ids(ix, iy)), pd.Series(month))
    counts = counts.reindex(index=cell_ids, fill_value=0)
    months = list(counts.columns)  # months present only: a missing month is not a month without crime
    share = p.treated_per_day / p.n_spots
    q = min(max(round(p.days / 30.44), 1), len(months) // 2)
    if q == 0:
        return month_level_mde([], [], treated_share=share, power=p.power, alpha=p.alpha) | {
            "note": "fewer than 2 whole months of history: no month-level detectable effect"}
    pre_m = months[:-q][-6:]
    out = month_level_mde(counts[pre_m].sum(axis=1).to_numpy(float), counts[months[-q:]].sum(axis=1).to_numpy(float),
                          treated_share=share, power=p.power, alpha=p.alpha)
    return out | {"windows_months": [len(pre_m), q]}


def _choose(p: ProgrammeParams, cells: pd.DataFrame, model: Any) -> pd.DataFrame:
    if p.spot_ids is None and p.spot_points is None:
        return choose_separated(cells, p.spots, separation_cells=p.separation_cells)
    pts = [(q.lon, q.lat) for q in p.spot_points] if p.spot_points is not None else None
    chosen = listed_cells(cells, model.grid_, spot_ids=p.spot_ids, points_lonlat=pts)
    pairs = touching_pairs(chosen, separation_cells=p.separation_cells)
    if pairs:
        a, b = pairs[0]
        raise ProgrammeError(f"listed spots {a} and {b} lie within {p.separation_cells} cell(s) of each other: a "
                             f"patrol in one would also cover the other ({len(pairs)} such pair(s))")
    return chosen


def _draw(p: ProgrammeParams, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Schedule (days x spots), its day-level probabilities, target p per spot, and the method record."""
    n, days = p.n_spots, p.days
    k = p.treated_per_day
    block = p.block_days or rz.default_block_days(n, k, days)
    limits = rz.Limits(p.max_consecutive_treated, p.max_consecutive_control)
    rng = np.random.default_rng(p.seed)
    method: dict[str, Any] = {"block_days": block, "generator": "numpy.random.default_rng(seed)"}
    if p.randomisation == "equal":
        sched = rz.draw_equal(n, k, days, block, rng, limits)
        target = np.full(n, k / n)
        probs = np.full((days, n), k / n)
        method["p_treated"] = "exact: k / n (spots are exchangeable in the draw)"
    else:
        target = rz.harm_probabilities(scores, float(k), p.p_floor, p.p_cap)
        sched = rz.draw_harm(target, days, block, rng, limits)
        if limits.active:
            probs = rz.simulated_probabilities(lambda g: rz.draw_harm(target, days, block, g, limits), p.seed,
                                               PROBABILITY_DRAWS)
            method["p_treated"] = (f"estimated: share of {PROBABILITY_DRAWS} re-draws of the design treating "
                                   "the spot-day")
        else:
            probs = rz.exact_harm_probabilities(target, days, block)
            method["p_treated"] = "exact: the spot's treated days in the block / days in the block"
    return sched, probs, target, method


def _schedule_frame(p: ProgrammeParams, sched: np.ndarray, probs: np.ndarray, spot_ids: list[str]) -> pd.DataFrame:
    days, n = sched.shape
    dates = [p.start_date + timedelta(days=i) for i in range(days)]
    treated = sched.ravel().astype(int)
    return pd.DataFrame({
        "date": np.repeat(np.array(dates, dtype=object), n),
        "spot_id": np.tile(np.array(spot_ids, dtype=object), days),
        "treated": treated,
        "p_treated": np.round(probs.ravel(), 6),
        "visits": treated * p.visits,
        "minutes": treated * p.minutes,
    })


def _number(row: pd.Series, key: str, default: float = 0.0) -> float:
    """``row[key]`` as a float; missing or NaN (a listed cell with no record) is ``default``."""
    v = row.get(key, default)
    return float(v) if v is not None and pd.notna(v) else default


def _breakdown(row: pd.Series) -> dict[str, Any]:
    """Why a cell is a spot: its score, record count and the shares by crime type of the part of its own
    score from records that may be shown (restricted intelligence only as 3 or more: ``hotspots.disclosure``)."""
    from patrol_planner.hotspots.disclosure import published_breakdown

    own = _number(row, "score_own", _number(row, "score"))
    pub = published_breakdown(row)
    return {"score": round(_number(row, "score"), 3), "rank": int(_number(row, "rank")),
            "score_own": round(own, 3), "score_neighbours": round(_number(row, "score_neighbours"), 3),
            "n_incidents": pub["n_incidents"], "n_restricted_intelligence": pub["n_restricted_intelligence"],
            "by_category": dict(sorted(pub["by_category"].items(), key=lambda kv: (-kv[1], kv[0])))}


def _geojson(chosen: pd.DataFrame, spots: pd.DataFrame) -> dict[str, Any]:
    from patrol_planner.hotspots import cell_polygons_lonlat

    rings = cell_polygons_lonlat(chosen)
    feats = []
    for ring, (_, row), (_, spot) in zip(rings, chosen.iterrows(), spots.iterrows(), strict=True):
        props = {"spot_id": spot["spot_id"], "cell_id": spot["cell_id"], "place": spot["place"],
                 "rate_per_day": round(float(spot["rate_per_day"]), 6), "p_target": round(float(spot["p_target"]), 6),
                 "treated_days": int(spot["treated_days"]), "control_days": int(spot["control_days"]),
                 "breakdown": _breakdown(row)}
        feats.append({"type": "Feature", "properties": props,
                      "geometry": {"type": "Polygon", "coordinates": [[list(pt) for pt in ring]]}})
    return {"type": "FeatureCollection", "features": feats}


def _design_record(s: Scenario, p: ProgrammeParams, as_of: pd.Timestamp, span_days: float,
                   method: dict[str, Any], model: Any) -> dict[str, Any]:
    w0, w1 = p.window_times()
    return {
        "name": s.name, "start_date": p.start_date.isoformat(), "days": p.days, "timezone": s.timezone,
        "day_starts_at": p.day_starts_at, "patrol_window": {"start": w0, "end": w1},
        "spot_size_m": p.spot_size_m, "separation_cells": p.separation_cells, "grid": model.grid,
        "crs": model.crs_, "dose": {"visits": p.visits, "minutes": p.minutes}, "seed": p.seed,
        "randomisation": {"design": p.randomisation, "treated_per_day": p.treated_per_day,
                          "p_floor": p.p_floor if p.randomisation == "harm" else None,
                          "p_cap": p.p_cap if p.randomisation == "harm" else None,
                          "max_consecutive_treated": p.max_consecutive_treated,
                          "max_consecutive_control": p.max_consecutive_control, **method},
        "spots_chosen": "listed by the user" if (p.spot_ids or p.spot_points) else
                        f"top {p.spots} cells of the hotspot model as of {as_of.isoformat()}, "
                        f"more than {p.separation_cells} cell(s) apart",
        "history": {"as_of": as_of.isoformat(), "span_days": round(span_days, 3), "history_days": p.history_days},
    }


def design_programme(s: Scenario, p: ProgrammeParams, *, scenario_file: str | Path | None = None) -> ProgrammeDesign:
    """Design the programme of scenario ``s`` (see the module docstring and ``docs/programme.md``).

    Raises
    ------
    ProgrammeError
        No history before the start, too few separated cells, touching listed spots, infeasible limits.
    """
    from patrol_planner.hotspots.ranking import ranking_record
    from patrol_planner.programme import _scenario as sc
    from patrol_planner.provenance import provenance

    as_of = _as_of(s, p)
    incidents, files = sc.ingest(s)
    hist, span_days, gaps = _history(sc.usable_records(incidents, s), as_of, p.history_days)
    model = sc.hotspot_model(s, cell_size_m=p.spot_size_m).fit(hist)
    cells = model.score(as_of)
    chosen = _choose(p, cells, model)
    cell_ids = chosen["cell_id"].astype(str).tolist()
    labels = sc.place_labels(model, hist, cell_ids, as_of)
    rates = _spot_rates(model, hist, cell_ids, span_days)
    sched, probs, target, method = _draw(p, chosen["score"].to_numpy(float))
    width = max(2, len(str(len(cell_ids))))
    spot_ids = [f"S{i + 1:0{width}d}" for i in range(len(cell_ids))]
    treated_days = sched.sum(axis=0).astype(int)
    names = [q.name for q in p.spot_points] if p.spot_points is not None else [None] * len(cell_ids)
    spots = pd.DataFrame({
        "spot_id": spot_ids, "cell_id": cell_ids,
        "place": [nm or labels.get(c, "unnamed place") for nm, c in zip(names, cell_ids, strict=True)],
        "rank": chosen["rank"].astype(int).to_numpy(), "score": chosen["score"].to_numpy(float),
        "rate_per_day": rates, "p_target": target, "treated_days": treated_days,
        "control_days": p.days - treated_days, "lon": chosen["lon"].to_numpy(float),
        "lat": chosen["lat"].to_numpy(float)})
    power = minimum_detectable_effect(rates, treated_days, p.days - treated_days, power=p.power, alpha=p.alpha,
                                      dispersion=p.dispersion)
    at80 = power if p.power == 0.8 else minimum_detectable_effect(
        rates, treated_days, p.days - treated_days, power=0.8, alpha=p.alpha, dispersion=p.dispersion)
    power["mde_at_80_power"] = at80["mde_rate_ratio"]
    power["rates_from"] = (f"recorded crimes (not intelligence) in each spot over the {span_days:.0f} days of "
                           f"history before {as_of.date().isoformat()}; police.uk months spread evenly over days"
                           + (f"; months missing from the data ({', '.join(gaps)}) are not counted" if gaps else ""))
    power["month_level"] = _month_level_power(p, model, hist, cell_ids)
    inputs = [*files] + ([Path(scenario_file)] if scenario_file else [])
    prov = provenance(inputs, {"programme": p.model_dump(mode="json"), "hotspots": {
        k: v for k, v in model.get_params().items() if k != "harm"} | {"harm": model.harm_.name},
        "scenario": s.name, "seed": p.seed})
    prov["ran"] = {"ranking": ranking_record(model)}
    design = _design_record(s, p, as_of, span_days, method, model)
    design["history"]["months_missing"] = list(gaps)
    return ProgrammeDesign(design=design, schedule=_schedule_frame(p, sched, probs, spot_ids), spots=spots,
                           spots_geojson=_geojson(chosen, spots), power=power, provenance=prov)

"""The stages as the scenario runs them: read its incidents, score its hotspots, build its road networks.

Each function takes resolved scenario values (:class:`~patrol_planner.scenario.config.ResolvedScenario`)
or plain frames and returns plain frames or values; the adapters between stages are in
:mod:`patrol_planner.scenario.adapters`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.errors import ScenarioError
from patrol_planner.scenario.config import HotspotConfig, ResolvedScenario


@dataclass(frozen=True)
class Ingested:
    """Incidents of a scenario: the table (working CRS in ``attrs["crs"]``), the quarantine, a merged report
    and the files read (absolute paths)."""

    incidents: pd.DataFrame
    quarantine: pd.DataFrame
    report: dict[str, Any]
    files: tuple[Path, ...]


def ingest_scenario(r: ResolvedScenario) -> Ingested:
    """Read every incident source of ``r`` into one table in one working CRS (the first group's)."""
    from patrol_planner.incidents import ingest

    crs = r.scenario.data.crs
    results = []
    for g in r.incident_groups:
        res = ingest(list(g.paths), fmt=g.fmt, crs=crs, mapping=g.mapping, aoi_lonlat=r.scenario.area.bbox)
        crs = res.report.crs  # every later group in the same working CRS
        results.append(res)
    incidents = pd.concat([x.incidents for x in results], ignore_index=True)
    quarantine = pd.concat([x.quarantine for x in results], ignore_index=True)
    report: dict[str, Any] = {"rows_read": 0, "rows_loaded": 0, "rows_quarantined": 0,
                              "quarantine_reasons": {}, "categories": {}, "crs": crs, "files": []}
    for x in results:
        d = x.report.to_dict()
        for k in ("rows_read", "rows_loaded", "rows_quarantined"):
            report[k] += d[k]
        for k in ("quarantine_reasons", "categories"):
            for kk, v in d[k].items():
                report[k][kk] = report[k].get(kk, 0) + v
        report["files"].extend(d["files"])
    dup = incidents["incident_id"].duplicated()
    if dup.any():  # ids are unique within one ingest call; across groups keep the first
        incidents = incidents[~dup].reset_index(drop=True)
    incidents.attrs["crs"] = crs
    files = tuple(p for g in r.incident_groups for p in g.paths)
    return Ingested(incidents=incidents, quarantine=quarantine, report=report, files=files)


def patrol_relevant(incidents: pd.DataFrame, hotspots: HotspotConfig) -> tuple[pd.DataFrame, dict[str, int]]:
    """The records that can make a patrol hotspot, and how many of each kind were set aside.

    Records at institutions' police.uk location texts ("On or near Hospital", "Prison", "Police Station",
    "Further/Higher Educational Building": :data:`patrol_planner.places.institutions.INSTITUTION_TEXTS`; unless
    ``hotspots.set_aside_institutions`` is false or the text is in ``hotspots.keep_institutions``), at
    ``hotspots.exclude_locations``, and, when ``hotspots.use_intelligence`` is false, intelligence are left out.
    """
    from patrol_planner.places.institutions import institution_texts

    keep = np.ones(len(incidents), dtype=bool)
    dropped: dict[str, int] = {}
    texts = list(hotspots.exclude_locations)
    if hotspots.set_aside_institutions:
        texts += list(institution_texts(hotspots.keep_institutions))
    if texts:
        names = {n.strip().casefold() for n in texts}
        loc = incidents["location"].astype("string").str.strip().str.casefold()
        hit = loc.isin(names).fillna(False).to_numpy(bool)
        for name, n in incidents.loc[hit, "location"].value_counts().sort_index().items():
            dropped[str(name)] = int(n)
        keep &= ~hit
    if not hotspots.use_intelligence:
        intel = (incidents["source_kind"] == "intelligence").to_numpy(bool)
        if intel.any():
            dropped["intelligence"] = int((intel & keep).sum())
        keep &= ~intel
    out = incidents[keep].reset_index(drop=True)
    out.attrs = dict(incidents.attrs)
    return out, dropped


def institution_cells(cells: pd.DataFrame, model: Any, incidents: pd.DataFrame, hotspots: HotspotConfig,
                      osm: Path | None, as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scored ``cells`` less those an OSM institution sets aside, and every institution cell found.

    The second frame has ``cell_id, kind, source`` (``police.uk`` or ``OSM``), ``name`` (OSM name or police.uk
    text), ``reason``, ``records``, ``harm_days`` (police.uk: the set-aside records and their harm; OSM: the
    cell's own), ``score``, ``rank`` (OSM cells: the model's; NaN for police.uk cells, whose records were never
    scored), ``x_m``, ``y_m`` (cell centre [m]). Empty when ``hotspots.set_aside_institutions`` is false.
    A cell kept by ``hotspots.keep_institutions`` (cell id, OSM name or its police.uk place text) stays.
    """
    from patrol_planner.places import institutions as inst

    cols = ["cell_id", "kind", "source", "name", "reason", "records", "harm_days", "score", "rank", "x_m", "y_m"]
    if not hotspots.set_aside_institutions:
        return cells, pd.DataFrame(columns=cols)
    keep = inst.keep_set(hotspots.keep_institutions)
    before = incidents[incidents["occurred_from"] < as_of]
    harm = dict(model.harm_.weights)
    by_text = inst.institution_record_cells(before, model.grid_, harm, inst.institution_texts(
        hotspots.keep_institutions))
    rows = [{"cell_id": r.cell_id, "kind": r.kind, "source": "police.uk", "name": r.location,
             "reason": inst.reason_text(r.kind, location=r.location), "records": int(r.records),
             "harm_days": float(r.harm_days), "score": np.nan, "rank": np.nan, "x_m": r.x_m, "y_m": r.y_m}
            for r in by_text.itertuples(index=False)]
    out = cells
    if osm is not None:
        from patrol_planner.network.landmarks import INSTITUTION_AMENITIES, osm_landmarks

        _, found = osm_landmarks(osm)
        flagged = inst.osm_institution_cells(found, model.grid_, model.crs_)
        near = flagged["near"].to_numpy(bool)
        if near.any():  # near, not inside: only a cell whose records sit on one snapped point
            one = inst.one_point_cells(before, model.grid_, flagged.loc[near, "cell_id"])
            flagged = flagged[~near | flagged["cell_id"].isin(one)]
        labels = cell_labels(model, incidents, list(flagged["cell_id"]), as_of) if len(flagged) else {}
        flagged = flagged[[not inst.is_kept(keep, c, n, labels.get(c)) for c, n in
                           zip(flagged["cell_id"], flagged["name"], strict=True)]]
        hit = cells["cell_id"].isin(set(flagged["cell_id"]))
        info = flagged.set_index("cell_id")
        for r in cells[hit & (cells["score"] > 0)].itertuples(index=False):
            kind = INSTITUTION_AMENITIES.get(info.at[r.cell_id, "kind"], info.at[r.cell_id, "kind"])
            rows.append({"cell_id": r.cell_id, "kind": kind, "source": "OSM", "name": info.at[r.cell_id, "name"],
                         "reason": inst.reason_text(kind, name=info.at[r.cell_id, "name"]),
                         "records": int(getattr(r, "n_incidents", 0)), "harm_days": float(getattr(r, "score_own",
                         r.score)), "score": float(r.score), "rank": int(r.rank), "x_m": r.x_m, "y_m": r.y_m})
        out = cells[~hit].copy()
        out.attrs = dict(cells.attrs)
    return out, pd.DataFrame(rows, columns=cols)


def default_as_of(incidents: pd.DataFrame) -> pd.Timestamp:
    """Latest end of any record's interval: plan for the night after the data ends."""
    if incidents.empty:
        raise ScenarioError("no incidents were loaded, so there is nothing to plan for (see the quarantine)")
    return pd.Timestamp(incidents["occurred_to"].max())


@dataclass(frozen=True)
class Scored:
    """The hotspot step's output: the fitted model, all scored cells, the selected ones and their profiles.

    ``selected`` rows are in rank order (``cell_id``, ``rank``, ``score`` [harm], ``lon``/``lat`` [deg],
    ``x_m``/``y_m`` [m]); ``profile`` is (n_selected, 168) hour-of-week relative risk, or None when the
    scenario does not use time profiles. ``as_of`` is naive local wall-clock time. ``institutions`` are the
    institution cells found (:func:`institution_cells`); OSM ones are not in ``cells``.
    """

    model: Any
    usable: pd.DataFrame
    set_aside: dict[str, int]
    cells: pd.DataFrame
    selected: pd.DataFrame
    profile: np.ndarray | None
    as_of: pd.Timestamp
    institutions: pd.DataFrame = field(default_factory=pd.DataFrame)


def score_hotspots(incidents: pd.DataFrame, r: ResolvedScenario) -> Scored:
    """Fit the scenario's hotspot model on the patrol-relevant records and select the top cells at ``as_of``."""
    from patrol_planner.hotspots import HotspotModel, select_hotspots

    s = r.scenario
    as_of = pd.Timestamp(r.as_of) if r.as_of else default_as_of(incidents)
    usable, set_aside = patrol_relevant(incidents, s.hotspots)
    if usable.empty:
        raise ScenarioError(f"scenario {s.name!r}: every record was set aside ({set_aside}); "
                            "check hotspots.exclude_locations and hotspots.use_intelligence")
    model = HotspotModel(**r.hotspot_params).fit(usable)
    cells, institutions = institution_cells(model.score(as_of), model, incidents, s.hotspots, r.osm, as_of)
    selected = select_hotspots(cells, top=s.hotspots.top)
    if selected.empty:
        raise ScenarioError(f"scenario {s.name!r}: no hotspot scored above zero before {as_of} "
                            "(check as_of and the area of interest)")
    profile = (model.hour_of_week_profile(list(selected["cell_id"]), as_of=as_of)
               if s.visits.use_time_profile else None)
    return Scored(model=model, usable=usable, set_aside=set_aside, cells=cells, selected=selected,
                  profile=profile, as_of=as_of, institutions=institutions)


#: Readable names of the hotspot model's age bands (record age at as-of).
_AGE_LABELS = {"lt7d": "under 7 days", "7_30d": "7-30 days", "30_90d": "30-90 days", "gt90d": "over 90 days"}
#: How many record ids a hotspot's breakdown lists.
BREAKDOWN_TOP_IDS = 5


def score_breakdown(row: pd.Series) -> dict[str, Any]:
    """A cell's score explanation for the briefing: shares by category and by age band of the part from
    records that may be shown, public ids only; restricted intelligence only as a count and share of 3 or
    more reports (``hotspots.disclosure``)."""
    from patrol_planner.hotspots.disclosure import published_breakdown

    pub = published_breakdown(row)
    ages = {_AGE_LABELS.get(k, k): v for k, v in pub["by_age"].items()}
    ids = row.get("top_incident_ids", [])
    if isinstance(ids, str):
        ids = [i for i in ids.split(";") if i]
    return {
        "score_own": round(float(row.get("score_own", row["score"])), 3),
        "score_neighbours": round(float(row.get("score_neighbours", 0.0)), 3),
        "n_incidents": pub["n_incidents"],
        "n_intelligence": pub["n_intelligence"],
        "n_restricted_intelligence": pub["n_restricted_intelligence"],
        "restricted_share": pub["restricted_share"],
        "by_category": dict(sorted(pub["by_category"].items(), key=lambda kv: -kv[1])),
        "by_age": ages,
        "top_incident_ids": list(ids)[:BREAKDOWN_TOP_IDS],
    }


def cell_labels(model: Any, incidents: pd.DataFrame, cell_ids: Sequence[str], as_of: pd.Timestamp) -> dict[str, str]:
    """The commonest public location text of each cell's records before ``as_of`` (intelligence excluded)."""
    inc = incidents[(incidents["source_kind"] != "intelligence") & incidents["location"].notna()
                    & (incidents["occurred_from"] < as_of)]
    if inc.empty:
        return {}
    ix, iy = model.grid_.index(inc["x_m"].to_numpy(float), inc["y_m"].to_numpy(float))
    ids = pd.Series(model.grid_.cell_ids(ix, iy), index=inc.index)
    want = ids.isin(set(cell_ids))
    sub = pd.DataFrame({"cell": ids[want], "loc": inc.loc[want, "location"].astype(str).str.strip()})
    sub = sub[sub["loc"] != ""]
    if sub.empty:
        return {}
    # Most frequent text per cell; ties broken alphabetically so the label is deterministic.
    counts = sub.groupby(["cell", "loc"]).size().reset_index(name="n").sort_values(
        ["cell", "n", "loc"], ascending=[True, False, True])
    return dict(counts.drop_duplicates("cell").set_index("cell")["loc"])


def crime_files(r: ResolvedScenario) -> list[Path]:
    """The scenario's incident files that may be police.uk street CSVs (their rows carry LSOA codes)."""
    return [p for g in r.incident_groups for p in g.paths if g.fmt in (None, "police_uk_street")]


def name_cells(ids: Sequence[str], x_m: np.ndarray, y_m: np.ndarray, places: Sequence[str], r: ResolvedScenario,
               incidents: pd.DataFrame, model: Any, networks: dict[str, Any] | None = None) -> list[Any]:
    """:class:`~patrol_planner.places.SpotName` of each cell (centre [m, working CRS]): police.uk place, district
    (ONS lookup in ``data.ons``), nearest street (drive network, else any given) and OS grid reference."""
    from patrol_planner.places import describe_spots

    net = None
    if networks:
        net = networks["drive"] if "drive" in networks else next(iter(networks.values()))
    return describe_spots(list(ids), x_m, y_m, list(places), crs=incidents.attrs["crs"], records=incidents,
                          grid=model.grid_, crime_files=crime_files(r), ons=r.ons, network=net)


#: Institution cells listed in a plan or programme at most (the count covers them all).
MAX_INSTITUTIONS_LISTED = 30


def institutions_set_aside(institutions: pd.DataFrame, selected: pd.DataFrame, names: Sequence[Any]) -> dict[str, Any]:
    """What the institution rule set aside, for ``plan.json`` metrics and the briefing: OSM cells that ranked
    above the last selected cell (they would have been chosen), and the police.uk institution points (their
    records never scored), each with its label, kind and reason; ``names`` align with ``institutions``."""
    if institutions.empty:
        return {"count": 0, "records": 0, "cells": []}
    last = float(selected["rank"].max()) if len(selected) else float("inf")
    inst = institutions.assign(label=[n.label for n in names], district=[n.district for n in names],
                               grid_ref=[n.grid_ref for n in names])
    would = (inst["source"] == "police.uk") | (inst["rank"] <= last)
    inst = inst[would].sort_values(["source", "harm_days"], ascending=[True, False])
    cells = [{"cell_id": str(x.cell_id), "kind": x.kind, "source": x.source, "name": str(x.name),
              "label": x.label, "district": x.district, "grid_ref": x.grid_ref, "reason": x.reason,
              "records": int(x.records), "harm_days": round(float(x.harm_days), 1),
              "rank": None if pd.isna(x.rank) else int(x.rank)} for x in inst.itertuples(index=False)]
    return {"count": len(cells), "records": int(inst.loc[inst["source"] == "police.uk", "records"].sum()),
            "cells": cells[:MAX_INSTITUTIONS_LISTED]}


def build_networks(osm: Path, modes: Sequence[str], *, crs: str,
                   cache_dir: str | Path | None = None) -> dict[str, Any]:
    """One road network per travel mode (sorted), in ``crs``, from the extract ``osm`` (cached)."""
    from patrol_planner import network as nw

    return {m: nw.build_network(osm, mode=m, crs=crs, cache_dir=cache_dir) for m in sorted(set(modes))}


#: Decimal places of the base map's road lines [deg]: about 1 m, enough to draw, and half the file size.
BASE_MAP_DECIMALS = 5


def base_map(networks: dict[str, Any]) -> dict[str, Any]:
    """Road lines for the offline briefing map: the drive network's (else the first), ``(lon, lat)`` [deg]."""
    from patrol_planner import network as nw

    nd = BASE_MAP_DECIMALS
    lines = nw.base_map_lines(networks["drive"] if "drive" in networks else next(iter(networks.values())))
    return {"lines": [[(round(float(x), nd), round(float(y), nd)) for x, y in line] for line in lines]}

"""Institutions: places where police.uk records crimes that no street patrol prevents.

Two signs, both on by default (``[hotspots] set_aside_institutions``):

* **police.uk location text.** police.uk snaps crimes recorded inside some buildings to an anonymous point
  named after the building's kind: ``On or near Hospital``, ``Prison``, ``Police Station`` (custody, the
  front desk) and ``Further/Higher Educational Building`` (:data:`INSTITUTION_TEXTS`). Those records are set
  aside before scoring, counted by text, and the cells they sit in are listed with their count and harm.
* **OSM** (where the scenario gives an extract): a cell that overlaps an ``amenity=hospital|prison|police``
  area by at least :data:`MIN_OVERLAP_SHARE` of its area, or holds such a node, is set aside from the
  selection with a reason naming the institution. This catches a prison whose crimes police.uk places on
  the nearest street ("On or near Stocken Hall Mews" is HMP Stocken).

Either can be kept by name: ``keep_institutions`` entries are matched, ignoring case and a leading
"On or near ", against the location text, the cell's place label, the OSM name, or the cell id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

#: police.uk location texts of institutions, and the kind a reason names.
INSTITUTION_TEXTS: dict[str, str] = {
    "On or near Hospital": "hospital",
    "On or near Prison": "prison",
    "On or near Police Station": "police station",
    "On or near Further/Higher Educational Building": "college or university",
}
#: Share of a cell's area an OSM institution area must cover to set the cell aside [-]: a cell that only
#: grazes a hospital's grounds is mostly street.
MIN_OVERLAP_SHARE = 0.2
#: How far outside an OSM institution's area a cell may lie and still be set aside, by amenity [m]. police.uk
#: moves each crime to the nearest of its anonymous map points; a prison standing in fields has none inside
#: its fence, so its crimes land on the nearest street (HMP Stocken's on "Stocken Hall Mews", 320 m from the
#: fence). Such a cell is set aside only when most of its records sit on one point (:data:`ONE_POINT_SHARE`).
MARGIN_M = {"prison": 500.0}
#: Share of a cell's records at a single map point that marks it as an institution's snapped point [-].
ONE_POINT_SHARE = 0.8
#: Sampling step used to measure overlaps on any grid shape [m].
_SAMPLE_M = 10.0
#: Cells with fewer set-aside institution records than this are not listed (a stray record is not a place).
MIN_LISTED_RECORDS = 3


def _norm(text: object) -> str:
    t = str(text).strip().casefold()
    return t[len("on or near "):].strip() if t.startswith("on or near ") else t


def keep_set(keep: Iterable[str]) -> set[str]:
    """Normalised ``keep_institutions`` names (case and a leading "On or near " ignored)."""
    return {_norm(k) for k in keep}


def is_kept(keep: set[str], *names: object) -> bool:
    """True when any of ``names`` (a text, label, OSM name or cell id) is in ``keep`` (:func:`keep_set`)."""
    return any(_norm(n) in keep for n in names if n is not None and str(n))


def institution_texts(keep: Iterable[str] = ()) -> dict[str, str]:
    """:data:`INSTITUTION_TEXTS` less those kept by name."""
    ks = keep_set(keep)
    return {t: k for t, k in INSTITUTION_TEXTS.items() if not is_kept(ks, t)}


def institution_record_cells(records: pd.DataFrame, grid: Any, harm: dict[str, float],
                             texts: dict[str, str]) -> pd.DataFrame:
    """Cells holding records at institution texts: ``cell_id, kind, location, records, harm_days, x_m, y_m``
    (the cell centre [m]), most records first; cells with fewer than :data:`MIN_LISTED_RECORDS` left out."""
    cols = ["cell_id", "kind", "location", "records", "harm_days", "x_m", "y_m"]
    loc = records["location"].astype("string").str.strip()
    hit = loc.isin(list(texts)).fillna(False).to_numpy(bool)
    r = records[hit]
    if r.empty:
        return pd.DataFrame(columns=cols)
    ix, iy = grid.index(r["x_m"].to_numpy(float), r["y_m"].to_numpy(float))
    d = pd.DataFrame({"cell_id": grid.cell_ids(ix, iy), "location": loc[hit].to_numpy(), "ix": ix, "iy": iy,
                      "harm": r["category"].map(harm).fillna(0.0).to_numpy(float)})
    g = d.groupby(["cell_id", "location"]).agg(records=("harm", "size"), harm_days=("harm", "sum"),
                                                ix=("ix", "first"), iy=("iy", "first")).reset_index()
    g = g[g["records"] >= MIN_LISTED_RECORDS]
    if g.empty:
        return pd.DataFrame(columns=cols)
    x, y = grid.centre(g["ix"].to_numpy(np.int64), g["iy"].to_numpy(np.int64))
    g["x_m"], g["y_m"] = x, y
    g["kind"] = g["location"].map(texts)
    g["harm_days"] = g["harm_days"].round(1)
    return g.sort_values(["records", "cell_id"], ascending=[False, True], ignore_index=True)[cols]


def osm_institution_cells(institutions: pd.DataFrame, grid: Any, crs: str) -> pd.DataFrame:
    """Cells an OSM institution may set aside: ``cell_id, kind, name, share, near`` (``share``: of the cell the
    area covers, 1 for a node; ``near``: only within the kind's :data:`MARGIN_M` of it, to be confirmed by
    :func:`one_point_cells`), one row per cell (inside before near, then the largest share), by cell id."""
    import shapely

    from patrol_planner.geo import to_xy

    rows: list[tuple[str, str, str, float, bool]] = []
    cell_area = float(grid.area_m2)
    for inst in institutions.itertuples(index=False):
        g = shapely.transform(inst.geometry, lambda c: np.column_stack(to_xy(c[:, 0], c[:, 1], crs)))
        if g.geom_type == "Point":
            ix, iy = grid.index(np.array([g.x]), np.array([g.y]))
            rows.append((str(grid.cell_ids(ix, iy)[0]), inst.kind, inst.name, 1.0, False))
            continue
        margin = MARGIN_M.get(inst.kind, 0.0)
        if margin > 0:
            rows.extend((c, inst.kind, inst.name, s, True) for c, s in _covered(g.buffer(margin), grid, cell_area))
        rows.extend((c, inst.kind, inst.name, s, False) for c, s in _covered(g, grid, cell_area))
    out = pd.DataFrame(rows, columns=["cell_id", "kind", "name", "share", "near"])
    out = out.sort_values(["cell_id", "near", "share"], ascending=[True, True, False]).drop_duplicates("cell_id")
    return out.reset_index(drop=True)


def _covered(g: Any, grid: Any, cell_area: float) -> list[tuple[str, float]]:
    """Cells covering at least :data:`MIN_OVERLAP_SHARE` of their area inside polygon ``g`` [m], with the share."""
    import shapely

    # Sample the area on a fine lattice and count samples per cell: works for square and hex grids alike.
    x0, y0, x1, y1 = g.bounds
    xs = np.arange(x0 + _SAMPLE_M / 2, x1, _SAMPLE_M)
    ys = np.arange(y0 + _SAMPLE_M / 2, y1, _SAMPLE_M)
    if not len(xs) or not len(ys):
        return []
    gx, gy = np.meshgrid(xs, ys)
    inside = shapely.contains_xy(g, gx.ravel(), gy.ravel())
    if not inside.any():
        return []
    ix, iy = grid.index(gx.ravel()[inside], gy.ravel()[inside])
    ids, n = np.unique(grid.cell_ids(ix, iy), return_counts=True)
    share = n * _SAMPLE_M ** 2 / cell_area
    return [(str(c), float(min(s, 1.0))) for c, s in zip(ids, share, strict=True) if s >= MIN_OVERLAP_SHARE]


def one_point_cells(records: pd.DataFrame, grid: Any, cell_ids: Iterable[str]) -> set[str]:
    """Those of ``cell_ids`` with at least :data:`MIN_LISTED_RECORDS` records, :data:`ONE_POINT_SHARE` of them
    at one map point (the mark of police.uk moving a building's crimes to its nearest point)."""
    want = set(cell_ids)
    if not want or records.empty:
        return set()
    ix, iy = grid.index(records["x_m"].to_numpy(float), records["y_m"].to_numpy(float))
    d = pd.DataFrame({"cell": grid.cell_ids(ix, iy), "lon": records["lon"].round(6).to_numpy(),
                      "lat": records["lat"].round(6).to_numpy()})
    d = d[d["cell"].isin(want)]
    if d.empty:
        return set()
    n = d.groupby("cell").size()
    top = d.groupby(["cell", "lon", "lat"]).size().groupby(level=0).max()
    ok = (n >= MIN_LISTED_RECORDS) & (top / n >= ONE_POINT_SHARE)
    return set(ok[ok].index)


def reason_text(kind: str, name: str = "", location: str = "") -> str:
    """The plain-English reason a cell is set aside, e.g. "prison (HM Prison Stocken, OSM amenity=prison)"."""
    if location:
        return f"{kind}: crimes recorded at police.uk's \"{location}\" point; no street patrol prevents them"
    label = f" ({name})" if name and name.casefold() != kind.casefold() else ""
    return f"{kind}{label} in OpenStreetMap: its crimes happen inside, out of reach of a street patrol"

"""Choosing hotspots from scored cells: the top N or an area budget, with adjacent cells grouped into areas."""

from __future__ import annotations

import numpy as np
import pandas as pd

from patrol_planner.errors import HotspotError
from patrol_planner.hotspots.grid import Grid, pack


def select_hotspots(
    cells: pd.DataFrame,
    *,
    top: int | None = None,
    area_budget: float | None = None,
    study_area_m2: float | None = None,
    min_score: float = 0.0,
    group_adjacent: bool = False,
) -> pd.DataFrame:
    """Pick the highest-scoring cells, by count and/or by area budget.

    Parameters
    ----------
    cells : pandas.DataFrame
        Output of :meth:`HotspotModel.score`.
    top : int, optional
        At most this many cells.
    area_budget : float, optional
        At most this share of the study area [-], e.g. 0.01 for 1%.
    study_area_m2 : float, optional
        Study area [m²]; default the area of all scored (non-empty) cells.
    min_score : float
        Drop cells scoring at or below this [harm-days].
    group_adjacent : bool
        Join touching selected cells into hot-spot areas: adds ``hotspot_id`` (``A001`` = area holding the
        best cell), ``hotspot_score`` (area total) and ``hotspot_n_cells``.

    Returns
    -------
    pandas.DataFrame
        The selected rows in rank order, ``attrs`` kept.
    """
    if top is None and area_budget is None:
        raise HotspotError("select_hotspots needs top=N or area_budget=share (or both)")
    if "score" not in cells.columns or "rank" not in cells.columns:
        raise HotspotError("select_hotspots needs the table returned by HotspotModel.score")
    sel = cells.sort_values("rank")
    sel = sel[sel["score"] > min_score]
    if top is not None:
        if int(top) < 1:
            raise HotspotError(f"top must be >= 1, got {top}")
        sel = sel.head(int(top))
    if area_budget is not None:
        if not 0 < float(area_budget) <= 1:
            raise HotspotError(f"area_budget is a share of the study area in (0, 1], got {area_budget}")
        area = float(study_area_m2) if study_area_m2 else float(cells["area_m2"].sum())
        sel = sel[sel["area_m2"].cumsum().to_numpy() <= float(area_budget) * area + 1e-6]
    sel = sel.copy()
    sel.attrs = dict(cells.attrs)
    if group_adjacent:
        sel = _group_adjacent(sel)
    return sel.reset_index(drop=True)


def _group_adjacent(sel: pd.DataFrame) -> pd.DataFrame:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(sel)
    ix = sel["ix"].to_numpy(np.int64)
    iy = sel["iy"].to_numpy(np.int64)
    keys = pack(ix, iy)
    order = np.argsort(keys)
    sk = keys[order]
    grid = Grid(cell_size_m=sel.attrs.get("cell_size_m", 100.0), kind=sel.attrs.get("grid", "square"))
    rows, cols = [], []
    for dx, dy in grid.neighbour_offsets():
        k = pack(ix + dx, iy + dy)
        pos = np.minimum(np.searchsorted(sk, k), max(n - 1, 0))
        hit = sk[pos] == k if n else np.zeros(0, bool)
        rows.append(np.flatnonzero(hit))
        cols.append(order[pos[hit]])
    r = np.concatenate(rows) if rows else np.zeros(0, int)
    c = np.concatenate(cols) if cols else np.zeros(0, int)
    _, lab = connected_components(coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n)), directed=False)
    # number areas by their best cell's rank so ids are stable for a given scoring
    best = pd.Series(sel["rank"].to_numpy()).groupby(lab).min().sort_values()
    area_no = {lab_: i + 1 for i, lab_ in enumerate(best.index)}
    sel["hotspot_id"] = [f"A{area_no[v]:03d}" for v in lab]
    sel["hotspot_score"] = sel.groupby("hotspot_id")["score"].transform("sum")
    sel["hotspot_n_cells"] = sel.groupby("hotspot_id")["score"].transform("size").astype(np.int64)
    return sel

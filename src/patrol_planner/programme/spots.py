"""Choosing a programme's hot spots: the best-scoring cells kept apart, or cells listed by the user.

A foot patrol in one spot is seen from its neighbours, so two touching spots would not be independent
treated/control units (spill-over; Weisburd & Telep 2014, "Hot spots policing: what we know and what we need
to know", J. Contemporary Criminal Justice 30:200). Spots are therefore kept more than
``separation_cells`` cells apart: with 1, no two spots touch, diagonals included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patrol_planner.errors import HotspotError, ProgrammeError
from patrol_planner.geo import to_lonlat, to_xy
from patrol_planner.hotspots import Grid


def _hex_distance(dq: np.ndarray, dr: np.ndarray) -> np.ndarray:
    return (np.abs(dq) + np.abs(dr) + np.abs(dq + dr)) // 2


def cell_distance(kind: str, ix: np.ndarray, iy: np.ndarray, jx: int, jy: int) -> np.ndarray:
    """Cell-step distance from cells ``(ix, iy)`` to cell ``(jx, jy)``."""
    dq = np.asarray(ix, np.int64) - jx
    dr = np.asarray(iy, np.int64) - jy
    if kind == "square":
        return np.maximum(np.abs(dq), np.abs(dr))
    return _hex_distance(dq, dr)


def choose_separated(cells: pd.DataFrame, n: int, *, separation_cells: int = 1) -> pd.DataFrame:
    """The ``n`` best-ranked cells of ``cells`` no two of which are within ``separation_cells`` steps.

    Greedy in rank order: the best cell is taken, its neighbourhood closed, and so on; the ranking is the
    hotspot model's (ties already broken by cell id), so the choice is deterministic.
    """
    kind = str(cells.attrs.get("grid", "square"))
    pool = cells[cells["score"] > 0].sort_values("rank")
    ix = pool["ix"].to_numpy(np.int64)
    iy = pool["iy"].to_numpy(np.int64)
    open_ = np.ones(len(pool), dtype=bool)
    chosen: list[int] = []
    for i in range(len(pool)):
        if not open_[i]:
            continue
        chosen.append(i)
        if len(chosen) == n:
            break
        open_ &= cell_distance(kind, ix, iy, ix[i], iy[i]) > separation_cells
    if len(chosen) < n:
        raise ProgrammeError(f"only {len(chosen)} cells with any recorded harm lie more than {separation_cells} "
                             f"cell(s) apart, {n} spots were asked for: ask for fewer spots or more history")
    out = pool.iloc[chosen].copy()
    out.attrs = dict(cells.attrs)
    return out.reset_index(drop=True)


def listed_cells(cells: pd.DataFrame, grid: Grid, *, spot_ids: list[str] | None = None,
                 points_lonlat: list[tuple[float, float]] | None = None) -> pd.DataFrame:
    """Rows for user-listed spots (by grid cell id or by a lon/lat point [deg]) in the order given.

    Cells that scored are taken from ``cells``; a listed cell with no record gets score 0.
    """
    if spot_ids is not None:
        try:
            idx = [grid.parse_id(c) for c in spot_ids]
        except HotspotError as exc:
            raise ProgrammeError(f"programme.spot_ids: {exc}") from None
        ix = np.array([i for i, _ in idx], np.int64)
        iy = np.array([j for _, j in idx], np.int64)
    else:
        lon = np.array([p[0] for p in points_lonlat or []], float)
        lat = np.array([p[1] for p in points_lonlat or []], float)
        x, y = to_xy(lon, lat, grid.crs)
        ix, iy = grid.index(x, y)
    ids = grid.cell_ids(ix, iy)
    if len(set(ids)) != len(ids):
        raise ProgrammeError("programme.spot_points: two points fall in the same cell")
    by_id = cells.set_index("cell_id")
    rows = []
    for cid, a, b in zip(ids, ix, iy, strict=True):
        if cid in by_id.index:
            rows.append(by_id.loc[cid].to_dict() | {"cell_id": cid})
        else:
            x_m, y_m = grid.centre(np.array([a]), np.array([b]))
            lo, la = to_lonlat(x_m, y_m, grid.crs)
            rows.append({"cell_id": cid, "ix": int(a), "iy": int(b), "x_m": float(x_m[0]), "y_m": float(y_m[0]),
                         "lon": float(lo[0]), "lat": float(la[0]), "score": 0.0, "rank": 0, "n_incidents": 0})
    out = pd.DataFrame(rows)
    # a cell with no record has none of the score parts (own, neighbours, by category) the scored cells
    # carry: each is 0, not missing (NaN here once reached spots.geojson as invalid JSON)
    parts = [c for c in cells.columns if c.startswith(("score", "n_")) and c in out.columns]
    out[parts] = out[parts].fillna(0.0)
    out.attrs = dict(cells.attrs)
    return out


def touching_pairs(spots: pd.DataFrame, *, separation_cells: int = 1) -> list[tuple[str, str]]:
    """Pairs of spot cell ids within ``separation_cells`` steps of each other."""
    kind = str(spots.attrs.get("grid", "square"))
    ix = spots["ix"].to_numpy(np.int64)
    iy = spots["iy"].to_numpy(np.int64)
    ids = spots["cell_id"].tolist()
    pairs = []
    for i in range(len(spots)):
        d = cell_distance(kind, ix[i + 1:], iy[i + 1:], ix[i], iy[i])
        pairs.extend((ids[i], ids[i + 1 + j]) for j in np.flatnonzero(d <= separation_cells))
    return pairs

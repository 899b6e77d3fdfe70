"""GeoJSON output of scored or selected cells (EPSG:4326 polygons; shapely only for those cells)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.errors import HotspotError
from patrol_planner.geo import check_projected, to_lonlat
from patrol_planner.hotspots.grid import Grid

_COORD_COLS = ("ix", "iy", "x_m", "y_m")


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.integer | np.bool_):
        return v.item()
    if isinstance(v, np.floating):
        return None if not np.isfinite(v) else round(float(v), 6)
    if isinstance(v, float):
        return None if not np.isfinite(v) else round(v, 6)
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def cell_polygons_lonlat(cells: pd.DataFrame, crs: str | None = None) -> list[list[tuple[float, float]]]:
    """Outline of each cell as ``(lon, lat)`` pairs [deg, EPSG:4326], closed, in row order."""
    crs = check_projected(crs or cells.attrs.get("crs", ""))
    grid = Grid(
        cell_size_m=float(cells.attrs.get("cell_size_m", 100.0)),
        kind=cells.attrs.get("grid", "square"),
        crs=crs,
        origin=tuple(cells.attrs.get("origin", (0.0, 0.0))),
    )
    ring = grid.corners(cells["ix"].to_numpy(np.int64), cells["iy"].to_numpy(np.int64))
    lon, lat = to_lonlat(ring[..., 0].ravel(), ring[..., 1].ravel(), crs)
    lon = lon.reshape(ring.shape[:2])
    lat = lat.reshape(ring.shape[:2])
    return [list(zip(lo.round(7).tolist(), la.round(7).tolist(), strict=True)) for lo, la in zip(lon, lat, strict=True)]


def cells_to_geojson(cells: pd.DataFrame, crs: str | None = None) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``cells`` (from ``score`` or ``select_hotspots``) in EPSG:4326.

    Parameters
    ----------
    cells : pandas.DataFrame
        Rows with ``ix, iy`` and ``attrs`` ``cell_size_m``, ``grid``, ``origin`` and ``crs``.
    crs : str, optional
        Working CRS of ``ix, iy``; default ``cells.attrs["crs"]``.

    Returns
    -------
    dict
        ``{"type": "FeatureCollection", "features": [...]}``: one Polygon per cell, properties
        ``cell_id, score, rank`` and every breakdown column (lon/lat of the centre included), as
        :func:`~patrol_planner.hotspots.disclosure.published_cells` allows them to be shown; the
        collection's ``properties`` carry ``as_of``, ``cell_size_m`` and the model parameters.
    """
    from shapely.geometry import Polygon, mapping

    if not {"ix", "iy", "cell_id", "score"} <= set(cells.columns):
        raise HotspotError("cells_to_geojson needs the table from HotspotModel.score / select_hotspots")
    if not (crs or cells.attrs.get("crs")):
        raise HotspotError("cells_to_geojson needs the working CRS: pass crs= or keep the table's attrs")
    from patrol_planner.hotspots.disclosure import published_cells

    rings = cell_polygons_lonlat(cells, crs)
    cells = published_cells(cells)  # restricted intelligence only in aggregates of 3 or more
    props_cols = [c for c in cells.columns if c not in _COORD_COLS]
    records = cells[props_cols].to_dict("records")
    features = []
    for ring, props in zip(rings, records, strict=True):
        features.append(
            {
                "type": "Feature",
                "id": props["cell_id"],
                "geometry": mapping(Polygon(ring)),
                "properties": {k: _jsonable(v) for k, v in props.items()},
            }
        )
    meta = {k: cells.attrs[k] for k in ("as_of", "cell_size_m", "grid", "params") if k in cells.attrs}
    meta["working_crs"] = crs or cells.attrs.get("crs")
    return {"type": "FeatureCollection", "properties": _deep_jsonable(meta), "features": features}


def _deep_jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _deep_jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_deep_jsonable(x) for x in v]
    if isinstance(v, str | int | float | bool) or v is None:
        return _jsonable(v)
    return str(v)

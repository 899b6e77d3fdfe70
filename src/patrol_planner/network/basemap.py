"""Road polylines of a :class:`~patrol_planner.network.graph.RoadNetwork` for an offline base map."""

from __future__ import annotations

import numpy as np

from patrol_planner.errors import NetworkError
from patrol_planner.network.graph import RoadNetwork
from patrol_planner.network.tags import DRIVE_CLASSES

#: The main classes (motorway .. tertiary) whose ``*_link`` roads are kept along with them.
_MAIN_CLASSES = DRIVE_CLASSES[:5]
#: Decimals kept in lon/lat [deg]: 6 is ~0.1 m, far below what a map shows, and keeps the HTML small.
_LONLAT_DECIMALS = 6


def base_map_lines(
    net: RoadNetwork,
    *,
    max_class: str = "tertiary",
    include: tuple[str, ...] = ("residential", "unclassified"),
    simplify_m: float = 10.0,
) -> list[list[tuple[float, float]]]:
    """Road polylines for an offline base map, thinned to keep an HTML file small.

    Parameters
    ----------
    net
        The network (either mode; classes outside :data:`~patrol_planner.network.tags.DRIVE_CLASSES` are
        skipped).
    max_class
        Keep classes ranked at or above this one in ``DRIVE_CLASSES`` (``motorway`` first, then
        ``trunk``, ``primary``, ``secondary``, ``tertiary``, the ``*_link`` classes, ...). Links of the
        kept classes are kept too.
    include
        Extra classes always kept (default residential and unclassified streets, so towns show).
    simplify_m
        Douglas-Peucker tolerance [m, ``net.crs``]; 0 keeps every vertex.

    Returns
    -------
    list of list of (lon, lat)
        One polyline per road edge (two-way roads once) [deg, EPSG:4326], coordinates rounded to
        6 decimals (~0.1 m), in deterministic order.
    """
    from shapely import LineString, simplify

    from patrol_planner.geo import to_lonlat

    if max_class not in DRIVE_CLASSES:
        raise NetworkError(f"unknown max_class {max_class!r}; use one of {', '.join(DRIVE_CLASSES)}")
    rank = DRIVE_CLASSES.index(max_class)
    keep = set(DRIVE_CLASSES[: rank + 1]) | set(include)
    keep |= {f"{c}_link" for c in _MAIN_CLASSES if c in keep}
    geoms: list[np.ndarray] = []
    for u, v, d in net.graph.edges(data=True):
        if d["highway"] not in keep:
            continue
        if not d["oneway"] and u > v:  # the reverse twin carries the same line
            continue
        g = d["geometry"]
        if simplify_m > 0 and len(g) > 2:
            g = np.asarray(simplify(LineString(g), simplify_m).coords)
        geoms.append(g)
    if not geoms:
        return []
    sizes = [len(g) for g in geoms]
    allxy = np.concatenate(geoms)
    lon, lat = to_lonlat(allxy[:, 0], allxy[:, 1], net.crs)
    lon, lat = np.round(lon, _LONLAT_DECIMALS), np.round(lat, _LONLAT_DECIMALS)
    out: list[list[tuple[float, float]]] = []
    start = 0
    for s in sizes:
        out.append(list(zip(lon[start:start + s].tolist(), lat[start:start + s].tolist(), strict=True)))
        start += s
    return out

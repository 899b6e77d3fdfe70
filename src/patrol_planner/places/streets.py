"""The nearest named street of a point, from a road network's edge names (OSM ``name``, else ``ref``)."""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

#: A street farther than this from a spot's centre does not name it [m]: it would send an officer elsewhere.
STREET_MAX_M = 120.0

_TREES: weakref.WeakKeyDictionary[Any, tuple[Any, list[str]]] = weakref.WeakKeyDictionary()


def _tree(net: Any) -> tuple[Any, list[str]]:
    """An STRtree of the network's named edges (one per name and segment) and their names, cached per network."""
    import shapely

    if net in _TREES:
        return _TREES[net]
    geoms, names = [], []
    for _u, _v, d in net.graph.edges(data=True):
        name = str(d.get("name") or "").strip()
        g = d.get("geometry")
        if not name or g is None or len(g) < 2:
            continue
        geoms.append(shapely.linestrings(np.asarray(g, float)))
        names.append(name)
    out = (shapely.STRtree(geoms) if geoms else None, names)
    _TREES[net] = out
    return out


def nearest_streets(net: Any, x_m: np.ndarray, y_m: np.ndarray, *, max_m: float = STREET_MAX_M) -> list[str]:
    """The name of the nearest named road of ``net`` to each point [m, ``net.crs``], "" beyond ``max_m``."""
    import shapely

    tree, names = _tree(net)
    x = np.asarray(x_m, float)
    y = np.asarray(y_m, float)
    if tree is None or not len(x):
        return [""] * len(x)
    pts = shapely.points(x, y)
    idx = tree.query_nearest(pts, max_distance=max_m, all_matches=False)
    out = [""] * len(x)
    for i, j in zip(idx[0], idx[1], strict=True):
        out[int(i)] = names[int(j)]
    return out

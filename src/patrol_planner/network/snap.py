"""Snapping points to a :class:`~patrol_planner.network.graph.RoadNetwork`: which node each point joins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from patrol_planner.errors import NetworkError, SnapError
from patrol_planner.network.graph import RoadNetwork

#: Default largest distance [m] from a point to the road it joins. A judgment value, not a measured
#: one: a point to be visited is normally on or beside a road, so a few hundred metres allows for large
#: sites set back from the road, while a point in the wrong CRS or outside the extract lands kilometres
#: off and is caught. (``scenario.MAX_SNAP_M`` = 400 m is a separate, looser limit the scenario stage
#: passes for stations and hotspot centres.)
DEFAULT_MAX_SNAP_M = 250.0
#: How many far points a :class:`SnapError` message lists before "and N more".
_SHOWN_IN_ERROR = 10


@dataclass(frozen=True)
class SnapResult:
    """Where each input point joins the network.

    Attributes
    ----------
    node_ids
        Node id per point (int64); ``-1`` where the input was not finite.
    dist_m
        Straight-line distance from the point to the road it joins [m, working CRS] (``to="edge"``), or
        to the node itself (``to="node"``); ``inf`` for non-finite input.
    ok
        ``dist_m <= max_snap_m`` (bool array).
    along_m
        Distance along the road from where the point joins it to ``node_ids`` [m] (0 for
        ``to="node"``). A visit's access cost is ``dist_m`` off-road plus ``along_m`` on-road.
    """

    node_ids: np.ndarray
    dist_m: np.ndarray
    ok: np.ndarray
    along_m: np.ndarray


def snap_points(
    net: RoadNetwork,
    x_m: Any,
    y_m: Any,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    raise_on_far: bool = False,
    to: str = "edge",
) -> SnapResult:
    """Snap points to the network.

    With ``to="edge"`` (default) each point joins its nearest road (nearest point on any edge's
    geometry) and is assigned the end of that edge nearer along the road; ``dist_m`` is then the
    distance to the road, so a point beside a long country lane is not rejected just because the
    next junction is far away. With ``to="node"`` it snaps to the nearest node (a KD-tree query).

    Parameters
    ----------
    net
        The network.
    x_m, y_m
        Point coordinates [m, ``net.crs``]; scalars or 1-D arrays.
    max_snap_m
        Largest acceptable straight-line distance to a node [m]; default :data:`DEFAULT_MAX_SNAP_M`.
    raise_on_far
        If true, raise :class:`SnapError` naming the points farther than ``max_snap_m`` (or not
        finite); otherwise report them with ``ok=False`` and let the caller decide.
    to
        ``"edge"`` or ``"node"``, see above.

    Returns
    -------
    SnapResult
    """
    x = np.atleast_1d(np.asarray(x_m, dtype=float))
    y = np.atleast_1d(np.asarray(y_m, dtype=float))
    if x.shape != y.shape or x.ndim != 1:
        raise NetworkError(f"x_m and y_m must be 1-D arrays of the same length, got {x.shape} and {y.shape}")
    if not (np.isfinite(max_snap_m) and max_snap_m >= 0):
        raise NetworkError(f"max_snap_m must be a non-negative number [m], got {max_snap_m!r}")
    if to not in ("edge", "node"):
        raise NetworkError(f"unknown snap target to={to!r}: use 'edge' or 'node'")
    finite = np.isfinite(x) & np.isfinite(y)
    node_ids = np.full(len(x), -1, np.int64)
    dist = np.full(len(x), np.inf)
    along = np.zeros(len(x))
    if finite.any() and to == "node":
        d, i = net.routing.kdtree.query(np.column_stack([x[finite], y[finite]]))
        node_ids[finite] = net.node_ids[i]
        dist[finite] = d
    elif finite.any():
        node_ids[finite], along[finite], dist[finite] = _snap_to_edges(net, x[finite], y[finite])
    ok = dist <= max_snap_m
    if raise_on_far and not ok.all():
        raise SnapError(_far_message(net, x, y, dist, ok, max_snap_m))
    return SnapResult(node_ids=node_ids, dist_m=dist, ok=ok, along_m=along)


def _snap_to_edges(net: RoadNetwork, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per finite point: node id at the nearer end of its nearest road, distance along [m], distance off [m]."""
    import shapely

    rt = net.routing
    pts = shapely.points(x, y)
    (_, hit), d = rt.edge_tree.query_nearest(pts, return_distance=True, all_matches=False)
    lines = rt.edge_lines[hit]
    at = shapely.line_locate_point(lines, pts)
    total = shapely.length(lines)
    to_v = at > total - at
    node_ids = np.where(to_v, rt.edge_ends[hit, 1], rt.edge_ends[hit, 0])
    return node_ids, np.where(to_v, total - at, at), d


def _far_message(net: RoadNetwork, x: np.ndarray, y: np.ndarray, dist: np.ndarray, ok: np.ndarray,
                 max_snap_m: float) -> str:
    """One-line :class:`SnapError` text naming the first far (or non-finite) points."""
    bad = np.flatnonzero(~ok)
    shown = ", ".join(
        f"#{i} ({x[i]:.0f}, {y[i]:.0f}): " + ("not finite" if not np.isfinite(dist[i]) else f"{dist[i]:.0f} m")
        for i in bad[:_SHOWN_IN_ERROR]
    )
    more = f" and {len(bad) - _SHOWN_IN_ERROR} more" if len(bad) > _SHOWN_IN_ERROR else ""
    return (
        f"{len(bad)} point(s) are more than {max_snap_m:.0f} m from the {net.mode} network "
        f"({net.crs}): {shown}{more}; check the coordinates' CRS or use a larger extract"
    )

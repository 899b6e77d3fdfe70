"""Fastest-path queries on a :class:`~patrol_planner.network.graph.RoadNetwork`: travel matrices and paths.

All shortest paths are *fastest* paths (by ``travel_time_s``); distances reported alongside are the
road length of that fastest path, not the shortest possible distance. Parallel edges between two
nodes are reduced to the fastest one (see :class:`~patrol_planner.network.graph.RoutingIndex`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from patrol_planner.errors import NetworkError
from patrol_planner.network.graph import RoadNetwork

#: Origins per Dijkstra batch; bounds memory to about ``batch x nodes x 12`` bytes.
_BATCH = 256


def _dijkstra(net: RoadNetwork, origin_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.sparse.csgraph import dijkstra

    t, pred = dijkstra(net.routing.csr, directed=True, indices=origin_pos, return_predecessors=True)
    return np.atleast_2d(t), np.atleast_2d(pred)


def _tree_lengths(net: RoadNetwork, pred: np.ndarray, *, reverse: bool = False) -> np.ndarray:
    """Road length [m] from each row's origin to every node along the predecessor tree.

    ``reverse``: the tree was grown on the reversed graph (``pred[v]`` is the next node on the way *to* the
    row's root), so each tree edge is ``v -> pred[v]`` in the network.

    Pointer jumping on the flattened forest: each pass adds the ancestor's accumulated length and
    doubles the jump, so the cost is O(rows x nodes x log(depth)) in numpy rather than a Python walk
    per pair. Roots and unreachable nodes point to themselves with length 0, so adding through them
    is harmless and needs no mask.
    """
    rows, n = pred.shape
    idx_t = np.int32 if rows * n < 2**31 - 1 else np.int64
    flat = pred.ravel()
    has = flat >= 0
    node = np.tile(np.arange(n, dtype=idx_t), rows)
    acc = np.zeros(rows * n)
    acc[has] = (net.routing.length_of(node[has], flat[has]) if reverse
                else net.routing.length_of(flat[has], node[has]))
    base = np.repeat(np.arange(rows, dtype=idx_t) * n, n)
    parent = np.where(has, flat + base, node + base).astype(idx_t, copy=False)
    while True:
        acc += np.take(acc, parent)
        nxt = np.take(parent, parent)
        if np.array_equal(nxt, parent):
            break
        parent = nxt
    return acc.reshape(rows, n)


def travel_matrix(
    net: RoadNetwork,
    origin_nodes: Any,
    dest_nodes: Any | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fastest-path travel times and road distances between network nodes.

    Parameters
    ----------
    net
        The network.
    origin_nodes
        Node ids (e.g. ``SnapResult.node_ids[ok]``).
    dest_nodes
        Node ids; default the origins.

    Returns
    -------
    T_s, D_m
        ``(len(origins), len(dest))`` float arrays: travel time [s] and road distance [m] along the
        fastest path; ``inf`` where the destination cannot be reached (both arrays), 0 on the
        diagonal of identical nodes.
    """
    o = net.index_of(origin_nodes)
    d = o if dest_nodes is None else net.index_of(dest_nodes)
    T = np.empty((len(o), len(d)))
    D = np.empty((len(o), len(d)))
    if len(o) == 0 or len(d) == 0:
        return T, D
    # Solve each distinct origin once, in batches, and only keep the destination columns.
    uo, inv = np.unique(o, return_inverse=True)
    for b in range(0, len(uo), _BATCH):
        rows = uo[b:b + _BATCH]
        t, pred = _dijkstra(net, rows)
        dist = _tree_lengths(net, pred)
        dist[~np.isfinite(t)] = np.inf
        sel = (inv >= b) & (inv < b + len(rows))
        local = inv[sel] - b
        T[sel] = t[local][:, d]
        D[sel] = dist[local][:, d]
    return T, D


def travel_matrix_to(net: RoadNetwork, origin_nodes: Any, dest_nodes: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`travel_matrix` from many origins to few destinations, solved backwards from each destination.

    One Dijkstra per destination on the reversed graph, instead of one per origin: the way back from many
    spots to a few stations costs as much as the way out.

    Returns
    -------
    T_s, D_m
        ``(len(origins), len(dest))`` as :func:`travel_matrix` (fastest path; ties may pick another path of
        the same time, so a distance can differ from the forward one by such a tie).
    """
    from scipy.sparse.csgraph import dijkstra

    o, d = net.index_of(origin_nodes), net.index_of(dest_nodes)
    T = np.empty((len(o), len(d)))
    D = np.empty((len(o), len(d)))
    if len(o) == 0 or len(d) == 0:
        return T, D
    rev = net.routing.csr.T.tocsr()
    ud, inv = np.unique(d, return_inverse=True)
    for b in range(0, len(ud), _BATCH):
        rows = ud[b:b + _BATCH]
        t, pred = dijkstra(rev, directed=True, indices=rows, return_predecessors=True)
        t, pred = np.atleast_2d(t), np.atleast_2d(pred)
        dist = _tree_lengths(net, pred, reverse=True)
        dist[~np.isfinite(t)] = np.inf
        sel = (inv >= b) & (inv < b + len(rows))
        local = inv[sel] - b
        T[:, sel] = t[local][:, o].T
        D[:, sel] = dist[local][:, o].T
    return T, D


def route_nodes(net: RoadNetwork, u: int, v: int) -> list[int]:
    """Node ids of the fastest path from ``u`` to ``v``, both included.

    Raises
    ------
    NetworkError
        An id is not in the network, or ``v`` cannot be reached from ``u``.
    """
    pu, pv = (int(i) for i in net.index_of([u, v]))
    if pu == pv:
        return [int(u)]
    _, pred = _dijkstra(net, np.array([pu]))
    return _path_from_tree(net, pred[0], pu, pv)


def _path_from_tree(net: RoadNetwork, pred: np.ndarray, pu: int, pv: int) -> list[int]:
    """Node ids of the path from position ``pu`` to ``pv`` along the predecessor tree ``pred`` rooted at ``pu``."""
    if pu == pv:
        return [int(net.node_ids[pu])]
    if pred[pv] < 0:
        raise NetworkError(f"node {int(net.node_ids[pv])} cannot be reached from node {int(net.node_ids[pu])} "
                           f"in the {net.mode} network")
    path = [pv]
    while path[-1] != pu:
        path.append(int(pred[path[-1]]))
    return [int(net.node_ids[i]) for i in reversed(path)]


def route_geometry(net: RoadNetwork, u: int, v: int) -> list[tuple[float, float]]:
    """The fastest road path from node ``u`` to node ``v`` as ``(x_m, y_m)`` points [m, ``net.crs``].

    Follows each edge's geometry, so the line can be drawn along the roads. ``u == v`` gives one point.
    """
    return _geometry(net, route_nodes(net, u, v))


def route_geometries(net: RoadNetwork, pairs: list[tuple[int, int]]) -> list[list[tuple[float, float]]]:
    """:func:`route_geometry` of many ``(u, v)`` node pairs: the same lines, with one shortest-path tree per
    distinct origin, grown in batches (a plan's legs share their origins, and one search per leg costs
    most of the time of drawing a big plan)."""
    if not pairs:
        return []
    pu = net.index_of([u for u, _ in pairs])
    pv = net.index_of([v for _, v in pairs])
    origins, inv = np.unique(pu, return_inverse=True)
    out: list[list[tuple[float, float]]] = [[] for _ in pairs]
    for b in range(0, len(origins), _BATCH):
        _, pred = _dijkstra(net, origins[b:b + _BATCH])
        for j in np.flatnonzero((inv >= b) & (inv < b + _BATCH)).tolist():
            out[j] = _geometry(net, _path_from_tree(net, pred[inv[j] - b], int(pu[j]), int(pv[j])))
    return out


def _geometry(net: RoadNetwork, nodes: list[int]) -> list[tuple[float, float]]:
    """The road line through ``nodes`` (ids of a path), edge geometry by edge geometry [m, ``net.crs``]."""
    if len(nodes) == 1:
        d = net.graph.nodes[nodes[0]]
        return [(d["x_m"], d["y_m"])]
    rt = net.routing
    n = len(net.node_ids)
    pos = net.index_of(nodes)
    keys = pos[:-1].astype(np.int64) * n + pos[1:]
    idx = np.searchsorted(rt.pair_keys, keys)
    out: list[tuple[float, float]] = []
    for j, i in enumerate(idx.tolist()):
        a, b, k = rt.pair_edge[i]
        geom = net.graph.edges[a, b, k]["geometry"]
        pts = geom if j == 0 else geom[1:]
        out.extend((float(px), float(py)) for px, py in pts)
    return out

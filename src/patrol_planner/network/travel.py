"""Queries on a :class:`~patrol_planner.network.osm.RoadNetwork`: snapping, travel matrices, paths.

All shortest paths are *fastest* paths (by ``travel_time_s``); distances reported alongside are the
road length of that fastest path, not the shortest possible distance. Parallel edges between two
nodes are reduced to the fastest one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from patrol_planner.errors import NetworkError, SnapError
from patrol_planner.network.osm import DRIVE_CLASSES, RoadNetwork

#: Origins per Dijkstra batch; bounds memory to about ``batch x nodes x 12`` bytes.
_BATCH = 256


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


@dataclass(frozen=True)
class _RoutingTables:
    """CSR of the fastest edge per node pair, plus lookups for lengths and geometries."""

    csr: Any  # scipy.sparse.csr_matrix of travel_time_s, node positions as indices
    pair_keys: np.ndarray  # sorted u_pos * n + v_pos
    pair_edge: list[tuple[int, int, int]]  # (u_id, v_id, key) aligned with pair_keys
    kdtree: Any
    edge_tree: Any  # shapely STRtree over one line per road (two-way twins once)
    edge_lines: np.ndarray  # shapely LineStrings, aligned with edge_tree
    edge_ends: np.ndarray  # (n, 2) node ids (u, v) of each line
    in_src: np.ndarray  # (nodes, max in-degree) int32: predecessor positions per node, -1 padded
    in_len: np.ndarray  # (nodes, max in-degree) float: length [m] of the fastest edge from in_src

    @classmethod
    def from_network(cls, net: RoadNetwork) -> _RoutingTables:
        import shapely
        from scipy.sparse import csr_matrix
        from scipy.spatial import cKDTree

        n = len(net.node_ids)
        lines, ends = [], []
        for u, v, d in net.graph.edges(data=True):
            if d["oneway"] or u <= v:
                lines.append(d["geometry"])
                ends.append((u, v))
        if lines:
            owner = np.repeat(np.arange(len(lines)), [len(g) for g in lines])
            edge_lines = shapely.linestrings(np.concatenate(lines), indices=owner)
        else:
            edge_lines = np.empty(0, dtype=object)
        best: dict[tuple[int, int], tuple[float, float, int]] = {}
        for u, v, k, d in net.graph.edges(keys=True, data=True):
            t = d["travel_time_s"]
            cur = best.get((u, v))
            if cur is None or (t, d["length_m"], k) < cur:
                best[(u, v)] = (t, d["length_m"], k)
        pairs = sorted(best)
        uu = net.index_of([p[0] for p in pairs])
        vv = net.index_of([p[1] for p in pairs])
        tt = np.array([best[p][0] for p in pairs], float)
        ll = np.array([best[p][1] for p in pairs], float)
        keys = uu.astype(np.int64) * n + vv
        order = np.argsort(keys, kind="stable")
        csr = csr_matrix((tt, (uu, vv)), shape=(n, n))
        # Self-loops never lie on a shortest path; dropping them keeps the predecessor tree clean.
        csr.setdiag(0)
        csr.eliminate_zeros()
        # Per-node table of incoming edges: looking up the tree edge (pred[v], v) is then a handful of
        # vectorised compares instead of a binary search per pair.
        by_v = np.lexsort((uu, vv))
        counts = np.bincount(vv, minlength=n)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        slot = np.arange(len(by_v)) - first[vv[by_v]]
        width = max(int(counts.max()) if n else 0, 1)
        in_src = np.full((n, width), -1, np.int32)
        in_len = np.zeros((n, width))
        in_src[vv[by_v], slot] = uu[by_v]
        in_len[vv[by_v], slot] = ll[by_v]
        return cls(
            csr=csr,
            in_src=in_src,
            in_len=in_len,
            pair_keys=keys[order],
            pair_edge=[(pairs[i][0], pairs[i][1], best[pairs[i]][2]) for i in order.tolist()],
            kdtree=cKDTree(np.column_stack([net.x_m, net.y_m])),
            edge_tree=shapely.STRtree(edge_lines),
            edge_lines=edge_lines,
            edge_ends=np.asarray(ends, np.int64).reshape(-1, 2),
        )

    def length_of(self, u_pos: np.ndarray, v_pos: np.ndarray) -> np.ndarray:
        """Length [m] of the fastest edge u->v for aligned position arrays (pairs must exist)."""
        out = np.zeros(len(u_pos))
        u_pos = u_pos.astype(np.int32, copy=False)
        for k in range(self.in_src.shape[1]):
            hit = self.in_src[v_pos, k] == u_pos
            out[hit] = self.in_len[v_pos[hit], k]
        return out


def snap_points(
    net: RoadNetwork,
    x_m: Any,
    y_m: Any,
    *,
    max_snap_m: float = 250.0,
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
        Largest acceptable straight-line distance to a node [m].
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
    rt = net._routing
    if finite.any() and to == "node":
        d, i = rt.kdtree.query(np.column_stack([x[finite], y[finite]]))
        node_ids[finite] = net.node_ids[i]
        dist[finite] = d
    elif finite.any():
        import shapely

        pts = shapely.points(x[finite], y[finite])
        (_, hit), d = rt.edge_tree.query_nearest(pts, return_distance=True, all_matches=False)
        lines = rt.edge_lines[hit]
        at = shapely.line_locate_point(lines, pts)
        total = shapely.length(lines)
        to_v = at > total - at
        node_ids[finite] = np.where(to_v, rt.edge_ends[hit, 1], rt.edge_ends[hit, 0])
        along[finite] = np.where(to_v, total - at, at)
        dist[finite] = d
    ok = dist <= max_snap_m
    if raise_on_far and not ok.all():
        bad = np.flatnonzero(~ok)
        shown = ", ".join(
            f"#{i} ({x[i]:.0f}, {y[i]:.0f}): " + ("not finite" if not np.isfinite(dist[i]) else f"{dist[i]:.0f} m")
            for i in bad[:10]
        )
        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
        raise SnapError(
            f"{len(bad)} point(s) are more than {max_snap_m:.0f} m from the {net.mode} network "
            f"({net.crs}): {shown}{more}; check the coordinates' CRS or use a larger extract"
        )
    return SnapResult(node_ids=node_ids, dist_m=dist, ok=ok, along_m=along)


def _dijkstra(net: RoadNetwork, origin_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.sparse.csgraph import dijkstra

    t, pred = dijkstra(net._routing.csr, directed=True, indices=origin_pos, return_predecessors=True)
    return np.atleast_2d(t), np.atleast_2d(pred)


def _tree_lengths(net: RoadNetwork, pred: np.ndarray) -> np.ndarray:
    """Road length [m] from each row's origin to every node along the predecessor tree.

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
    acc[has] = net._routing.length_of(flat[has], node[has])
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
    pred = pred[0]
    if pred[pv] < 0:
        raise NetworkError(f"node {v} cannot be reached from node {u} in the {net.mode} network")
    path = [pv]
    while path[-1] != pu:
        path.append(int(pred[path[-1]]))
    return [int(net.node_ids[i]) for i in reversed(path)]


def route_geometry(net: RoadNetwork, u: int, v: int) -> list[tuple[float, float]]:
    """The fastest road path from node ``u`` to node ``v`` as ``(x_m, y_m)`` points [m, ``net.crs``].

    Follows each edge's geometry, so the line can be drawn along the roads. ``u == v`` gives one point.
    """
    nodes = route_nodes(net, u, v)
    if len(nodes) == 1:
        d = net.graph.nodes[nodes[0]]
        return [(d["x_m"], d["y_m"])]
    rt = net._routing
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
        The network (either mode; classes outside :data:`DRIVE_CLASSES` are skipped).
    max_class
        Keep classes ranked at or above this one in :data:`DRIVE_CLASSES` (``motorway`` first, then
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
    main = DRIVE_CLASSES[:5]
    rank = DRIVE_CLASSES.index(max_class)
    keep = set(DRIVE_CLASSES[: rank + 1]) | set(include)
    keep |= {f"{c}_link" for c in main if c in keep}
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
    lon, lat = np.round(lon, 6), np.round(lat, 6)
    out: list[list[tuple[float, float]]] = []
    start = 0
    for s in sizes:
        out.append(list(zip(lon[start:start + s].tolist(), lat[start:start + s].tolist(), strict=True)))
        start += s
    return out

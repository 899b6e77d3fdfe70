"""The road graph type (:class:`RoadNetwork`) and its routing index (:class:`RoutingIndex`).

This is the bottom of the ``network`` package: it imports nothing else from it. The builder
(:mod:`.build`) produces a :class:`RoadNetwork`; the queries (:mod:`.snap`, :mod:`.travel`,
:mod:`.basemap`) read it and its :attr:`RoadNetwork.routing` index, built once per network object.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from patrol_planner.errors import NetworkError


@dataclass(frozen=True, eq=False)  # eq on graphs and arrays would be meaningless
class RoadNetwork:
    """A routable road graph in a projected working CRS.

    Attributes
    ----------
    graph
        ``networkx.MultiDiGraph``. Node keys are OSM node ids (int). Node attributes: ``x_m``, ``y_m``
        [m, working CRS], ``lon``, ``lat`` [deg, EPSG:4326]. Edge attributes: ``length_m`` [m],
        ``travel_time_s`` [s], ``speed_kph`` [km/h] (length over time), ``highway`` (OSM class),
        ``name`` (may be ""), ``oneway`` (bool), ``osm_way_ids`` (tuple of int), and ``geometry``: an
        ``(n, 2)`` float array of ``x_m, y_m`` [m, working CRS] from ``u`` to ``v``.
    crs
        The working CRS, e.g. ``"EPSG:27700"``.
    mode
        ``"drive"`` or ``"walk"``.
    stats
        ``nodes``, ``edges``, ``scc_nodes`` (nodes of the kept component before chain merging),
        ``dropped_nodes`` (junction nodes outside it), ``raw_nodes``, ``build_s`` [s] (time this call
        took: the build, or the cache load when ``cached``), ``cached``, ``source`` (file name),
        ``sha256``, ``options``.
    node_ids, x_m, y_m
        Node ids in ascending order and their coordinates [m, working CRS], aligned arrays.
    """

    graph: Any
    crs: str
    mode: str
    stats: dict[str, Any]
    node_ids: np.ndarray = field(repr=False)
    x_m: np.ndarray = field(repr=False)
    y_m: np.ndarray = field(repr=False)

    def index_of(self, node_ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Positions of ``node_ids`` in :attr:`node_ids`; raises :class:`NetworkError` for unknown ids."""
        ids = np.atleast_1d(np.asarray(node_ids, dtype=np.int64))
        pos = np.searchsorted(self.node_ids, ids)
        pos = np.clip(pos, 0, len(self.node_ids) - 1)
        bad = self.node_ids[pos] != ids
        if bad.any():
            shown = ", ".join(str(int(i)) for i in ids[bad][:5])
            hint = ""
            if (ids[bad] == -1).any():
                hint = " (-1 marks a point that could not be snapped: filter with SnapResult.ok)"
            raise NetworkError(
                f"{int(bad.sum())} node id(s) are not in this {self.mode} network: {shown}{hint}"
            )
        return pos

    @cached_property
    def routing(self) -> RoutingIndex:
        """The routing index of this network, built on first use and kept on the object."""
        return RoutingIndex.from_network(self)

    def __getstate__(self) -> dict[str, Any]:
        # The routing index is cheap to rebuild; keep caches small and free of scipy/shapely objects.
        state = dict(self.__dict__)
        state.pop("routing", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


@dataclass(frozen=True)
class RoutingIndex:
    """CSR of the fastest edge per node pair, plus lookups for lengths, geometries and nearest roads.

    Parallel edges between two nodes are reduced to the fastest one (ties: shorter, then lower key).
    """

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
    def from_network(cls, net: RoadNetwork) -> RoutingIndex:
        """Build the index of ``net`` (CSR, KD-tree over nodes, STRtree over road lines)."""
        import shapely
        from scipy.spatial import cKDTree

        edge_lines, ends = _road_lines(net)
        pairs, best = _fastest_pairs(net)
        n = len(net.node_ids)
        uu = net.index_of([p[0] for p in pairs])
        vv = net.index_of([p[1] for p in pairs])
        tt = np.array([best[p][0] for p in pairs], float)
        ll = np.array([best[p][1] for p in pairs], float)
        keys = uu.astype(np.int64) * n + vv
        order = np.argsort(keys, kind="stable")
        in_src, in_len = _incoming_table(uu, vv, ll, n)
        return cls(
            csr=_time_csr(uu, vv, tt, n),
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


def _road_lines(net: RoadNetwork) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """One shapely LineString per road (a two-way road's reverse twin skipped) and its end node ids."""
    import shapely

    lines, ends = [], []
    for u, v, d in net.graph.edges(data=True):
        if d["oneway"] or u <= v:
            lines.append(d["geometry"])
            ends.append((u, v))
    if not lines:
        return np.empty(0, dtype=object), ends
    owner = np.repeat(np.arange(len(lines)), [len(g) for g in lines])
    return shapely.linestrings(np.concatenate(lines), indices=owner), ends


def _fastest_pairs(
    net: RoadNetwork,
) -> tuple[list[tuple[int, int]], dict[tuple[int, int], tuple[float, float, int]]]:
    """Sorted node-id pairs joined by an edge, and per pair the fastest edge's (time [s], length [m], key)."""
    best: dict[tuple[int, int], tuple[float, float, int]] = {}
    for u, v, k, d in net.graph.edges(keys=True, data=True):
        t = d["travel_time_s"]
        cur = best.get((u, v))
        if cur is None or (t, d["length_m"], k) < cur:
            best[(u, v)] = (t, d["length_m"], k)
    return sorted(best), best


def _time_csr(uu: np.ndarray, vv: np.ndarray, tt: np.ndarray, n: int) -> Any:
    """``n x n`` CSR of travel times [s] by node position, self-loops removed."""
    from scipy.sparse import csr_matrix

    csr = csr_matrix((tt, (uu, vv)), shape=(n, n))
    # Self-loops never lie on a shortest path; dropping them keeps the predecessor tree clean.
    csr.setdiag(0)
    csr.eliminate_zeros()
    return csr


def _incoming_table(uu: np.ndarray, vv: np.ndarray, ll: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per node, its predecessors' positions (``-1`` padded) and the lengths [m] of those edges.

    Looking up the tree edge (pred[v], v) is then a handful of vectorised compares instead of a
    binary search per pair.
    """
    by_v = np.lexsort((uu, vv))
    counts = np.bincount(vv, minlength=n)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(len(by_v)) - first[vv[by_v]]
    width = max(int(counts.max()) if n else 0, 1)
    in_src = np.full((n, width), -1, np.int32)
    in_len = np.zeros((n, width))
    in_src[vv[by_v], slot] = uu[by_v]
    in_len[vv[by_v], slot] = ll[by_v]
    return in_src, in_len

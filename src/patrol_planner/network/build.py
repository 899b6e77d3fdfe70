"""Raw OSM ways -> simplified, strongly connected road graph (:class:`~.graph.RoadNetwork`).

The build runs in five steps:

1. read the ways with a ``highway`` tag (and their node locations) with pyosmium (:mod:`.reader`);
2. keep the ways usable in the requested mode (``drive`` or ``walk``), resolve one-way rules and
   speeds (:mod:`.tags`);
3. cut every way at the nodes shared with another way (and at its ends), giving one segment per piece
   of road between junctions, with its geometry, length [m] and travel time [s];
4. keep the largest strongly connected component, so every kept node can reach every other;
5. merge chains through degree-2 nodes (a node joining exactly two segments of the same class and the
   same one-way-ness), summing length and time and concatenating geometry.

Node ids are OSM node ids, so they are stable across builds of the same file. Lengths are planar
lengths in the working CRS (British National Grid in Great Britain, scale error < 0.1 %).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from patrol_planner.errors import EmptyNetworkError
from patrol_planner.geo import choose_working_crs, to_xy
from patrol_planner.network.graph import RoadNetwork
from patrol_planner.network.reader import RawWays, read_ways
from patrol_planner.network.tags import Mode, drive_speed_kph, oneway_direction

#: km/h per m/s.
KPH_PER_M_S = 3.6
#: Floor on an edge's travel time [s]: a zero weight would vanish from the sparse routing matrices.
MIN_EDGE_TIME_S = 1e-3

Chain = tuple[int, int, list[tuple[int, bool]]]


@dataclass
class _Segments:
    """Pieces of road between split nodes. ``direction``: 1 forward only, 0 both ways."""

    u: np.ndarray  # raw node index
    v: np.ndarray
    start: np.ndarray  # position range [start, stop] into the flat ref array, inclusive
    stop: np.ndarray
    reverse: np.ndarray  # bool: walk the range backwards (oneway=-1 made forward)
    direction: np.ndarray
    length_m: np.ndarray
    speed_kph: np.ndarray
    way: np.ndarray  # index into RawWays lists


@dataclass
class _Nodes:
    """Unique raw nodes: sorted OSM ids, and per id its coordinates in EPSG:4326 and the working CRS."""

    uniq: np.ndarray  # sorted unique OSM node ids
    raw_idx: np.ndarray  # per position in RawWays.refs, index into uniq
    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    crs: str


def build_graph(path: Path, mode: Mode, crs: str | None, walk_speed_kph: float, speed_factor: float) -> RoadNetwork:
    """Build the ``mode`` road graph of the OSM file ``path`` (no cache, options already checked).

    ``crs`` is the working CRS or ``None`` for the default (see :func:`patrol_planner.geo.choose_working_crs`).
    ``stats`` holds ``nodes``, ``edges``, ``raw_nodes``, ``scc_nodes``, ``dropped_nodes``, ``build_s``
    and ``cached=False``.
    """
    t0 = time.perf_counter()
    raw = read_ways(path, mode)
    if len(raw.way_ids) == 0:
        raise EmptyNetworkError(f"{path.name} has no roads usable for mode={mode!r}")
    nodes = _unique_nodes(raw, crs)
    seg = _segments(raw, mode, nodes.x, nodes.y, nodes.raw_idx, walk_speed_kph, speed_factor)
    if len(seg.u) == 0:
        raise EmptyNetworkError(f"{path.name} has no road segments usable for mode={mode!r}")
    n_raw = len(nodes.uniq)
    keep = _largest_scc(seg, n_raw)
    junctions = np.zeros(n_raw, bool)
    junctions[seg.u] = True
    junctions[seg.v] = True
    scc_nodes = int(keep.sum())
    if scc_nodes < 2:
        raise EmptyNetworkError(
            f"{path.name}: no two {mode} road junctions are mutually reachable (largest strongly "
            "connected component has fewer than 2 nodes)"
        )
    edges, used = _edges(_merge_chains(seg, keep, raw), seg, raw, nodes)
    net = _assemble(edges, used, nodes, mode)
    stats = dict(net.stats, raw_nodes=n_raw, scc_nodes=scc_nodes, dropped_nodes=int(junctions.sum()) - scc_nodes,
                 build_s=round(time.perf_counter() - t0, 3), cached=False)
    return replace(net, stats=stats)


def _unique_nodes(raw: RawWays, crs: str | None) -> _Nodes:
    """Deduplicate the raw node refs and project them into the working CRS."""
    uniq, raw_idx = np.unique(raw.refs, return_inverse=True)
    # Coordinates per unique node (first occurrence wins; all occurrences carry the same location).
    first = np.zeros(len(uniq), np.int64)
    first[raw_idx[::-1]] = np.arange(len(raw_idx))[::-1]
    lon_u, lat_u = raw.lon[first], raw.lat[first]
    work_crs = choose_working_crs(lon_u, lat_u, crs)
    x_u, y_u = to_xy(lon_u, lat_u, work_crs)
    return _Nodes(uniq=uniq, raw_idx=raw_idx, lon=lon_u, lat=lat_u, x=x_u, y=y_u, crs=work_crs)


def _segments(raw: RawWays, mode: Mode, x: np.ndarray, y: np.ndarray, raw_idx: np.ndarray,
              walk_speed_kph: float, speed_factor: float) -> _Segments:
    """Cut every way at split nodes (shared nodes and way ends) into segments with length and speed."""
    n_ways = len(raw.way_ids)
    starts, ends = raw.offsets[:-1], raw.offsets[1:] - 1
    # A node is a split point if used more than once (by any ways, or twice by one) or ends a way.
    counts = np.bincount(raw_idx, minlength=int(raw_idx.max()) + 1)
    split = counts[raw_idx] >= 2
    split[starts] = True
    split[ends] = True
    # Planar step lengths along the flat array; steps across way boundaries are masked out.
    px, py = x[raw_idx], y[raw_idx]
    step = np.hypot(np.diff(px), np.diff(py))
    step[ends[:-1]] = 0.0
    cum = np.concatenate([[0.0], np.cumsum(step)])

    split_pos = np.flatnonzero(split)
    way_of_pos = np.repeat(np.arange(n_ways), np.diff(raw.offsets))
    seg_start = split_pos[:-1]
    seg_stop = split_pos[1:]
    same_way = way_of_pos[seg_start] == way_of_pos[seg_stop]
    seg_start, seg_stop = seg_start[same_way], seg_stop[same_way]
    seg_way = way_of_pos[seg_start]

    direction = np.empty(n_ways, np.int8)
    speed = np.empty(n_ways, float)
    for i, tags in enumerate(raw.tags):
        direction[i] = oneway_direction(tags, mode)
        speed[i] = walk_speed_kph if mode == "walk" else drive_speed_kph(
            tags["highway"], tags.get("maxspeed"), speed_factor)
    seg_dir = direction[seg_way]
    rev = seg_dir == -1
    u = np.where(rev, raw_idx[seg_stop], raw_idx[seg_start])
    v = np.where(rev, raw_idx[seg_start], raw_idx[seg_stop])
    return _Segments(u=u, v=v, start=seg_start, stop=seg_stop, reverse=rev,
                     direction=np.where(seg_dir != 0, 1, 0).astype(np.int8),
                     length_m=cum[seg_stop] - cum[seg_start], speed_kph=speed[seg_way], way=seg_way)


def _largest_scc(seg: _Segments, n_raw: int) -> np.ndarray:
    """Boolean mask over raw nodes: members of the largest strongly connected component."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    two = seg.direction == 0
    rows = np.concatenate([seg.u, seg.v[two]])
    cols = np.concatenate([seg.v, seg.u[two]])
    adj = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(n_raw, n_raw)).tocsr()
    _, labels = connected_components(adj, directed=True, connection="strong")
    used = np.zeros(n_raw, bool)
    used[seg.u] = True
    used[seg.v] = True
    if not used.any():
        return used
    sizes = np.bincount(labels[used])
    # Ties broken by the smallest label, which follows node order, so the choice is deterministic.
    best = int(np.argmax(sizes))
    return used & (labels == best)


def _merge_chains(seg: _Segments, keep: np.ndarray, raw: RawWays) -> list[Chain]:
    """Group kept segments into chains through degree-2 nodes.

    Returns ``(u, v, [(segment index, forward), ...])`` per merged edge, in deterministic order. A
    two-way chain is returned once (the graph adds both directions).
    """
    idx = np.flatnonzero(keep[seg.u] & keep[seg.v])
    incident: dict[int, list[int]] = {}
    for s in idx.tolist():
        incident.setdefault(int(seg.u[s]), []).append(s)
        incident.setdefault(int(seg.v[s]), []).append(s)
    hw = [t["highway"] for t in raw.tags]
    is_interior = {n: _is_interior(seg, hw, incident[n], n) for n in incident}
    used = np.zeros(len(seg.u), bool)
    chains: list[Chain] = []
    for n in sorted(incident):
        if is_interior[n]:
            continue
        for s in incident[n]:
            if not used[s]:
                chains.append(_walk_chain(seg, incident, is_interior, used, n, s))
    # Whatever is left forms closed loops of interior nodes; cut each at its smallest node.
    for n in sorted(incident):
        for s in incident[n]:
            if not used[s]:
                chains.append(_walk_chain(seg, incident, is_interior, used, n, s))
    return chains


def _is_interior(seg: _Segments, hw: list[str], inc: list[int], n: int) -> bool:
    """Whether node ``n`` (with incident segments ``inc``) is inside a chain and can be merged away."""
    if len(inc) != 2:
        return False
    a, b = inc
    if a == b or seg.u[a] == seg.v[a] or seg.u[b] == seg.v[b]:
        return False
    if seg.direction[a] != seg.direction[b] or hw[seg.way[a]] != hw[seg.way[b]]:
        return False
    if seg.direction[a] == 1:  # one-way: one must enter n and the other leave it
        return (seg.v[a] == n) != (seg.v[b] == n)
    return True


def _walk_chain(seg: _Segments, incident: dict[int, list[int]], is_interior: dict[int, bool],
                used: np.ndarray, start: int, s: int) -> Chain:
    """Follow segments from node ``start`` along segment ``s`` through interior nodes; marks them ``used``."""
    parts: list[tuple[int, bool]] = []
    cur = start
    while True:
        used[s] = True
        fwd = bool(seg.u[s] == cur)
        parts.append((s, fwd))
        cur = int(seg.v[s] if fwd else seg.u[s])
        if cur == start or not is_interior[cur]:
            break
        a, b = incident[cur]
        s = b if a == s else a
        if used[s]:
            break
    if seg.direction[parts[0][0]] == 1 and not parts[0][1]:
        # A one-way chain walked against its direction: flip it.
        parts = [(p, not f) for p, f in reversed(parts)]
        start, cur = cur, start
    return start, cur, parts


def _edges(chains: list[Chain], seg: _Segments, raw: RawWays,
           nodes: _Nodes) -> tuple[list[tuple[int, int, dict[str, Any]]], set[int]]:
    """Graph edges ``(u_id, v_id, attrs)`` of the merged chains (two-way chains in both directions),
    sorted deterministically, and the raw indices of their end nodes."""
    edges: list[tuple[int, int, dict[str, Any]]] = []
    node_set: set[int] = set()
    for a, b, parts in chains:
        attrs = _chain_attrs(parts, seg, raw, nodes)
        ua, ub = int(nodes.uniq[a]), int(nodes.uniq[b])
        node_set.update((a, b))
        edges.append((ua, ub, attrs))
        if not attrs["oneway"]:
            back = dict(attrs)
            back["geometry"] = attrs["geometry"][::-1].copy()
            edges.append((ub, ua, back))
    edges.sort(key=lambda e: (e[0], e[1], e[2]["osm_way_ids"], e[2]["length_m"]))
    return edges, node_set


def _chain_attrs(parts: list[tuple[int, bool]], seg: _Segments, raw: RawWays, nodes: _Nodes) -> dict[str, Any]:
    """Edge attributes of one merged chain: summed length and time, concatenated geometry, first way's tags."""
    pos: list[np.ndarray] = []
    length = 0.0
    time_s = 0.0
    ways: list[int] = []
    for k, (s, fwd) in enumerate(parts):
        rng = np.arange(seg.start[s], seg.stop[s] + 1)
        # Segment s in its own travel direction runs stop->start when reverse; flip again if
        # the chain passes it backwards (two-way chains only).
        if bool(seg.reverse[s]) == fwd:
            rng = rng[::-1]
        pos.append(rng if k == 0 else rng[1:])
        length += float(seg.length_m[s])
        time_s += float(seg.length_m[s]) / (float(seg.speed_kph[s]) / KPH_PER_M_S)
        wid = raw.way_ids[seg.way[s]]
        if not ways or ways[-1] != wid:
            ways.append(wid)
    ri = nodes.raw_idx[np.concatenate(pos)]
    first = parts[0][0]
    t0w = raw.tags[seg.way[first]]
    time_s = max(time_s, MIN_EDGE_TIME_S)
    return {
        "length_m": length,
        "travel_time_s": time_s,
        "speed_kph": length / time_s * KPH_PER_M_S if length > 0 else float(seg.speed_kph[first]),
        "highway": t0w["highway"],
        "name": t0w.get("name", "") or t0w.get("ref", ""),
        "oneway": bool(seg.direction[first] == 1),
        "osm_way_ids": tuple(ways),
        "geometry": np.column_stack([nodes.x[ri], nodes.y[ri]]),
    }


def _assemble(edges: list[tuple[int, int, dict[str, Any]]], used: set[int], nodes: _Nodes, mode: Mode) -> RoadNetwork:
    """The networkx graph and :class:`RoadNetwork` of ``edges``; ``stats`` holds ``nodes`` and ``edges``."""
    import networkx as nx

    keep = np.array(sorted(used), np.int64)  # raw indices; uniq is sorted so ids ascend too
    g = nx.MultiDiGraph(crs=nodes.crs, mode=mode)
    g.add_nodes_from(
        (int(nodes.uniq[i]), {"x_m": float(nodes.x[i]), "y_m": float(nodes.y[i]), "lon": float(lo), "lat": float(la)})
        for i, lo, la in zip(keep.tolist(), nodes.lon[keep].tolist(), nodes.lat[keep].tolist(), strict=True)
    )
    g.add_edges_from(edges)
    stats = {"nodes": g.number_of_nodes(), "edges": g.number_of_edges()}
    return RoadNetwork(graph=g, crs=nodes.crs, mode=mode, stats=stats, node_ids=nodes.uniq[keep],
                       x_m=nodes.x[keep].copy(), y_m=nodes.y[keep].copy())


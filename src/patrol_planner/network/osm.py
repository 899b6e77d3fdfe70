"""OpenStreetMap extract (``.osm.pbf`` or ``.osm`` XML) -> routable road graph, with an on-disk cache.

pyosmium is used only in this module. The build runs in five steps:

1. read the ways with a ``highway`` tag (and their node locations) with pyosmium;
2. keep the ways usable in the requested mode (``drive`` or ``walk``), resolve one-way rules and speeds;
3. cut every way at the nodes shared with another way (and at its ends), giving one segment per piece
   of road between junctions, with its geometry, length [m] and travel time [s];
4. keep the largest strongly connected component, so every kept node can reach every other;
5. merge chains through degree-2 nodes (a node joining exactly two segments of the same class and the
   same one-way-ness), summing length and time and concatenating geometry.

Node ids are OSM node ids, so they are stable across builds of the same file. Lengths are planar
lengths in the working CRS (British National Grid in Great Britain, scale error < 0.1 %).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import pickle
import re
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from patrol_planner import __version__
from patrol_planner.errors import EmptyNetworkError, NetworkError
from patrol_planner.geo import check_projected, choose_working_crs, to_xy
from patrol_planner.provenance import sha256_file

Mode = Literal["drive", "walk"]

#: Bump whenever the pickled layout or the build logic changes, so old caches are rebuilt.
CACHE_FORMAT_VERSION = 1

MPH_TO_KPH = 1.609344

#: Default walking speed [km/h] for ``mode="walk"``.
DEFAULT_WALK_SPEED_KPH = 5.0

#: Drivable ``highway`` classes, most important first (this order is also the ``max_class`` ranking).
DRIVE_CLASSES: tuple[str, ...] = (
    "motorway", "trunk", "primary", "secondary", "tertiary",
    "motorway_link", "trunk_link", "primary_link", "secondary_link", "tertiary_link",
    "unclassified", "road", "residential", "living_street", "service",
)

#: Classes a pedestrian may use (trunk only where foot access is tagged, motorways never).
WALK_CLASSES: frozenset[str] = frozenset({
    "primary", "primary_link", "secondary", "secondary_link", "tertiary", "tertiary_link",
    "unclassified", "road", "residential", "living_street", "service", "pedestrian", "footway",
    "path", "steps", "track", "bridleway", "cycleway", "corridor",
})

#: Speed limit assumed [mph] when ``maxspeed`` is missing or unusable, by class: UK limits, with a
#: middle value for classes that are 30 mph in towns and 60 mph outside.
DEFAULT_SPEED_MPH: dict[str, float] = {
    "motorway": 70, "motorway_link": 40, "trunk": 60, "trunk_link": 40,
    "primary": 50, "primary_link": 30, "secondary": 40, "secondary_link": 30,
    "tertiary": 40, "tertiary_link": 30, "unclassified": 30, "road": 30,
    "residential": 30, "living_street": 10, "service": 15,
}

#: Share of the speed limit actually driven on average (bends, junctions, traffic). OSRM's car
#: profile uses the same idea; 0.8 puts Oakham -> Uppingham (10 km of A6003) at about 10 minutes.
DEFAULT_SPEED_FACTOR = 0.8

#: Upper bound [mph] on the speed used for minor classes, whatever the sign says: a single-track lane
#: signed "national" (60 mph) is not driven at 60 mph.
MAX_SPEED_MPH: dict[str, float] = {
    "unclassified": 40, "road": 40, "residential": 30, "living_street": 15, "service": 15,
}

# service=* values that are not through roads for a patrol car.
_EXCLUDED_SERVICE = frozenset({"parking_aisle", "driveway", "emergency_access", "drive-through"})
_NO = frozenset({"no", "private"})
_YES = frozenset({"yes", "designated", "permissive", "destination"})

# Symbolic UK limits [mph]; "national" depends on the class (see parse_maxspeed).
_SYMBOLIC_MPH = {
    "gb:nsl_single": 60.0, "uk:nsl_single": 60.0,
    "gb:nsl_dual": 70.0, "uk:nsl_dual": 70.0,
    "gb:motorway": 70.0, "uk:motorway": 70.0,
    "gb:nsl_restricted": 30.0, "uk:nsl_restricted": 30.0,
}
_ZONE = re.compile(r"^(?:gb|uk):zone(\d+)$")
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph|knots)?$")


def parse_maxspeed(value: str | None, highway: str = "") -> float | None:
    """Parse an OSM ``maxspeed`` value into km/h.

    Parameters
    ----------
    value
        The raw tag, e.g. ``"30 mph"``, ``"50"``, ``"national"``, ``"GB:nsl_single"``, ``"GB:zone20"``,
        ``"30;40"``.
    highway
        The way's ``highway`` class; ``national`` means 70 mph on motorways and 60 mph elsewhere.

    Returns
    -------
    float or None
        Speed [km/h], or ``None`` when the value is missing or carries no number (``none``,
        ``signals``, ``variable``, garbage), so the class default applies. Bare numbers are km/h (the
        OSM convention); ``mph`` and ``knots`` are converted. For a list (``"30;40"``) the lowest value
        is taken, because an ETA that is too optimistic is worse for tasking than one that is too slow.
    """
    if value is None:
        return None
    parts = [p.strip().lower() for p in str(value).split(";") if p.strip()]
    speeds: list[float] = []
    for p in parts:
        kph: float | None = None
        if p in ("national", "gb:national", "uk:national"):
            kph = (70.0 if highway.startswith("motorway") else 60.0) * MPH_TO_KPH
        elif p in _SYMBOLIC_MPH:
            kph = _SYMBOLIC_MPH[p] * MPH_TO_KPH
        elif (m := _ZONE.match(p)) is not None:
            kph = float(m.group(1)) * MPH_TO_KPH
        elif p == "walk":
            kph = DEFAULT_WALK_SPEED_KPH
        elif (m := _NUMBER.match(p)) is not None:
            num, unit = float(m.group(1)), m.group(2)
            if unit == "mph":
                kph = num * MPH_TO_KPH
            elif unit == "knots":
                kph = num * 1.852
            else:
                kph = num
        if kph is not None and kph > 0:
            speeds.append(kph)
    return min(speeds) if speeds else None


def drive_speed_kph(highway: str, maxspeed: str | None, speed_factor: float = DEFAULT_SPEED_FACTOR) -> float:
    """Speed used for a drivable way [km/h].

    The parsed ``maxspeed`` (else the class default of :data:`DEFAULT_SPEED_MPH`) times
    ``speed_factor``, then capped for minor classes (:data:`MAX_SPEED_MPH`).
    """
    kph = parse_maxspeed(maxspeed, highway)
    if kph is None:
        kph = DEFAULT_SPEED_MPH.get(highway, 30.0) * MPH_TO_KPH
    kph *= speed_factor
    cap = MAX_SPEED_MPH.get(highway)
    if cap is not None:
        kph = min(kph, cap * MPH_TO_KPH)
    return kph


def oneway_direction(tags: dict[str, str], mode: Mode) -> int:
    """Allowed direction of travel along a way: ``1`` forward only, ``-1`` backward only, ``0`` both.

    Walking is always both ways. For driving: ``oneway=yes|true|1`` is forward, ``oneway=-1|reverse``
    backward, ``oneway=no`` both; ``junction=roundabout|circular`` and ``highway=motorway`` imply
    forward unless ``oneway=no``. ``oneway=reversible|alternating`` is treated as two-way.
    """
    if mode == "walk":
        return 0
    ow = tags.get("oneway", "").strip().lower()
    if ow in ("yes", "true", "1"):
        return 1
    if ow in ("-1", "reverse"):
        return -1
    if ow in ("no", "false", "0", "reversible", "alternating"):
        return 0
    if tags.get("junction", "") in ("roundabout", "circular") or tags.get("highway") == "motorway":
        return 1
    return 0


def way_usable(tags: dict[str, str], mode: Mode) -> bool:
    """Whether a way with these tags is part of the ``mode`` network (see ``docs/network.md``)."""
    hw = tags.get("highway", "")
    if tags.get("area") == "yes":
        return False
    access = tags.get("access", "")
    if mode == "drive":
        if hw not in DRIVE_CLASSES:
            return False
        if hw == "service" and tags.get("service", "") in _EXCLUDED_SERVICE:
            return False
        motor = tags.get("motor_vehicle", tags.get("motorcar", tags.get("vehicle", "")))
        if motor in _NO:
            return False
        return not (access in _NO and motor not in _YES)
    foot = tags.get("foot", "")
    if foot == "no":
        return False
    if hw in ("trunk", "trunk_link"):
        # Walking along a trunk road is allowed in law but only sensible with a pavement.
        return foot in _YES or tags.get("sidewalk", "none") not in ("none", "no", "")
    if hw not in WALK_CLASSES:
        return False
    return not (access in _NO and foot not in _YES)


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
    def _routing(self) -> Any:  # built once per network object, see travel._RoutingTables
        from patrol_planner.network.travel import _RoutingTables

        return _RoutingTables.from_network(self)

    def __getstate__(self) -> dict[str, Any]:
        # The routing tables are cheap to rebuild; keep caches small and independent of travel.py.
        state = dict(self.__dict__)
        state.pop("_routing", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


# ----------------------------------------------------------------------------------------------------
# Reading


def _sniff(path: Path) -> str:
    """Return ``"pbf"`` or ``"xml"``, or raise :class:`NetworkError` if the file is neither."""
    if not path.exists():
        raise NetworkError(f"OSM file not found: {path}")
    if path.is_dir():
        raise NetworkError(f"{path} is a directory, expected an .osm.pbf file")
    with open(path, "rb") as fh:
        head = fh.read(64)
    if not head:
        raise NetworkError(f"{path} is empty, expected an .osm.pbf file")
    # A PBF starts with a 4-byte big-endian header length, then a BlobHeader naming "OSMHeader".
    if len(head) > 8 and b"OSMHeader" in head[4:32]:
        return "pbf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<?xml") or text.startswith(b"<osm"):
        return "xml"
    raise NetworkError(
        f"{path.name} is not an OpenStreetMap PBF file (no OSMHeader block); "
        "download an extract ending in .osm.pbf, e.g. from download.geofabrik.de"
    )


def _osmium_path(path: Path, kind: str) -> Any:
    """A path or ``osmium.io.File`` with the format forced, so odd file names still read."""
    import osmium

    return osmium.io.File(str(path), "pbf" if kind == "pbf" else "osm")


@dataclass
class _RawWays:
    """Ways as flat arrays: ``refs`` (OSM node ids) split by ``offsets``; one tag dict per way."""

    way_ids: list[int]
    tags: list[dict[str, str]]
    offsets: np.ndarray
    refs: np.ndarray
    lon: np.ndarray
    lat: np.ndarray


_KEEP_TAGS = ("highway", "oneway", "junction", "maxspeed", "name", "ref", "access", "motor_vehicle",
              "motorcar", "vehicle", "foot", "service", "area", "sidewalk")


def _read_ways(path: Path, mode: Mode) -> _RawWays:
    import osmium
    from osmium.filter import EntityFilter, KeyFilter

    kind = _sniff(path)
    way_ids: list[int] = []
    tags_l: list[dict[str, str]] = []
    offsets = [0]
    refs: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    try:
        fp = (
            osmium.FileProcessor(_osmium_path(path, kind), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(EntityFilter(osmium.osm.WAY))
            .with_filter(KeyFilter("highway"))
        )
        for w in fp:
            tags = {k: w.tags.get(k) for k in _KEEP_TAGS if k in w.tags}
            if not way_usable(tags, mode):
                continue
            # A way whose nodes are partly outside the extract is split where locations are missing.
            run_refs: list[int] = []
            run_lon: list[float] = []
            run_lat: list[float] = []
            pieces: list[tuple[list[int], list[float], list[float]]] = []
            for nd in w.nodes:
                loc = nd.location
                if loc.valid():
                    run_refs.append(nd.ref)
                    run_lon.append(loc.lon)
                    run_lat.append(loc.lat)
                else:
                    pieces.append((run_refs, run_lon, run_lat))
                    run_refs, run_lon, run_lat = [], [], []
            pieces.append((run_refs, run_lon, run_lat))
            for r, lo, la in pieces:
                if len(r) < 2:
                    continue
                way_ids.append(w.id)
                tags_l.append(tags)
                refs.extend(r)
                lons.extend(lo)
                lats.extend(la)
                offsets.append(len(refs))
    except RuntimeError as exc:  # libosmium reports corrupt or truncated input as RuntimeError
        raise NetworkError(f"cannot read OSM file {path.name}: {exc}") from exc
    return _RawWays(way_ids, tags_l, np.asarray(offsets, np.int64), np.asarray(refs, np.int64),
                    np.asarray(lons, float), np.asarray(lats, float))


# ----------------------------------------------------------------------------------------------------
# Building


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
    way: np.ndarray  # index into _RawWays lists


def _segments(raw: _RawWays, mode: Mode, x: np.ndarray, y: np.ndarray, raw_idx: np.ndarray,
              walk_speed_kph: float, speed_factor: float) -> _Segments:
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


def _merge_chains(seg: _Segments, keep: np.ndarray, raw: _RawWays) -> list[tuple[int, int, list[tuple[int, bool]]]]:
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

    def interior(n: int) -> bool:
        inc = incident[n]
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

    is_interior = {n: interior(n) for n in incident}
    used = np.zeros(len(seg.u), bool)
    chains: list[tuple[int, int, list[tuple[int, bool]]]] = []

    def walk(start: int, s: int) -> None:
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
        chains.append((start, cur, parts))

    for n in sorted(incident):
        if is_interior[n]:
            continue
        for s in incident[n]:
            if not used[s]:
                walk(n, s)
    # Whatever is left forms closed loops of interior nodes; cut each at its smallest node.
    for n in sorted(incident):
        for s in incident[n]:
            if not used[s]:
                walk(n, s)
    return chains


def _build(path: Path, mode: Mode, crs: str | None, walk_speed_kph: float, speed_factor: float) -> RoadNetwork:
    import networkx as nx

    t0 = time.perf_counter()
    raw = _read_ways(path, mode)
    if len(raw.way_ids) == 0:
        raise EmptyNetworkError(f"{path.name} has no roads usable for mode={mode!r}")
    uniq, raw_idx = np.unique(raw.refs, return_inverse=True)
    # Coordinates per unique node (first occurrence wins; all occurrences carry the same location).
    first = np.zeros(len(uniq), np.int64)
    first[raw_idx[::-1]] = np.arange(len(raw_idx))[::-1]
    lon_u, lat_u = raw.lon[first], raw.lat[first]
    work_crs = choose_working_crs(lon_u, lat_u, crs)
    x_u, y_u = to_xy(lon_u, lat_u, work_crs)

    seg = _segments(raw, mode, x_u, y_u, raw_idx, walk_speed_kph, speed_factor)
    if len(seg.u) == 0:
        raise EmptyNetworkError(f"{path.name} has no road segments usable for mode={mode!r}")
    keep = _largest_scc(seg, len(uniq))
    junctions = np.zeros(len(uniq), bool)
    junctions[seg.u] = True
    junctions[seg.v] = True
    scc_nodes = int(keep.sum())
    if scc_nodes < 2:
        raise EmptyNetworkError(
            f"{path.name}: no two {mode} road junctions are mutually reachable (largest strongly "
            "connected component has fewer than 2 nodes)"
        )

    chains = _merge_chains(seg, keep, raw)
    edges: list[tuple[int, int, dict[str, Any]]] = []
    node_set: set[int] = set()
    for a, b, parts in chains:
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
            time_s += float(seg.length_m[s]) / (float(seg.speed_kph[s]) / 3.6)
            wid = raw.way_ids[seg.way[s]]
            if not ways or ways[-1] != wid:
                ways.append(wid)
        p = np.concatenate(pos)
        ri = raw_idx[p]
        geom = np.column_stack([x_u[ri], y_u[ri]])
        t0w = raw.tags[seg.way[parts[0][0]]]
        time_s = max(time_s, 1e-3)  # zero-length edges would vanish from sparse matrices
        attrs = {
            "length_m": length,
            "travel_time_s": time_s,
            "speed_kph": length / time_s * 3.6 if length > 0 else float(seg.speed_kph[parts[0][0]]),
            "highway": t0w["highway"],
            "name": t0w.get("name", "") or t0w.get("ref", ""),
            "oneway": bool(seg.direction[parts[0][0]] == 1),
            "osm_way_ids": tuple(ways),
            "geometry": geom,
        }
        ua, ub = int(uniq[a]), int(uniq[b])
        node_set.update((a, b))
        edges.append((ua, ub, attrs))
        if not attrs["oneway"]:
            back = dict(attrs)
            back["geometry"] = geom[::-1].copy()
            edges.append((ub, ua, back))

    edges.sort(key=lambda e: (e[0], e[1], e[2]["osm_way_ids"], e[2]["length_m"]))
    nodes = np.array(sorted(node_set), np.int64)  # raw indices; uniq is sorted so ids ascend too
    lon_n, lat_n = lon_u[nodes], lat_u[nodes]
    g = nx.MultiDiGraph(crs=work_crs, mode=mode)
    g.add_nodes_from(
        (int(uniq[i]), {"x_m": float(x_u[i]), "y_m": float(y_u[i]), "lon": float(lo), "lat": float(la)})
        for i, lo, la in zip(nodes.tolist(), lon_n.tolist(), lat_n.tolist(), strict=True)
    )
    g.add_edges_from(edges)
    stats = {
        "nodes": g.number_of_nodes(),
        "edges": g.number_of_edges(),
        "raw_nodes": int(len(uniq)),
        "scc_nodes": scc_nodes,
        "dropped_nodes": int(junctions.sum()) - scc_nodes,
        "build_s": round(time.perf_counter() - t0, 3),
        "cached": False,
    }
    return RoadNetwork(graph=g, crs=work_crs, mode=mode, stats=stats, node_ids=uniq[nodes],
                       x_m=x_u[nodes].copy(), y_m=y_u[nodes].copy())


# ----------------------------------------------------------------------------------------------------
# Cache


def default_cache_dir() -> Path:
    """``$PATROL_PLANNER_CACHE`` if set, else ``~/.cache/patrol_planner``."""
    env = os.environ.get("PATROL_PLANNER_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "patrol_planner"


def cache_key(sha256: str, options: dict[str, Any]) -> str:
    """Hex key of a cached network: input hash, build options, package and cache-format versions."""
    blob = json.dumps({"sha256": sha256, "options": options, "version": __version__,
                       "format": CACHE_FORMAT_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _load_cache(path: Path, key: str) -> RoadNetwork | None:
    """The cached network if ``path`` holds one for ``key``; ``None`` for missing, stale or corrupt."""
    try:
        with open(path, "rb") as fh:
            payload = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:  # a truncated or foreign file is rebuilt, never trusted
        return None
    if not isinstance(payload, dict) or payload.get("key") != key or payload.get("format") != CACHE_FORMAT_VERSION:
        return None
    net = payload.get("network")
    if not isinstance(net, RoadNetwork) or net.graph.number_of_nodes() != len(net.node_ids):
        return None
    return net


def _save_cache(path: Path, key: str, net: RoadNetwork) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump({"key": key, "format": CACHE_FORMAT_VERSION, "network": net}, fh,
                        protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # atomic, so a concurrent reader never sees half a file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_network(
    pbf_path: str | Path,
    *,
    mode: Mode = "drive",
    crs: str | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    walk_speed_kph: float = DEFAULT_WALK_SPEED_KPH,
    speed_factor: float = DEFAULT_SPEED_FACTOR,
) -> RoadNetwork:
    """Build (or load from cache) the road graph of an OSM extract.

    Parameters
    ----------
    pbf_path
        An ``.osm.pbf`` file (OSM XML ``.osm`` also works) [EPSG:4326 inside].
    mode
        ``"drive"`` (car, one-way rules, speed limits) or ``"walk"`` (foot, both directions,
        ``walk_speed_kph``).
    crs
        Working CRS, projected in metres; default British National Grid in Great Britain, else the UTM
        zone of the extract's median road node (see :func:`patrol_planner.geo.choose_working_crs`).
    cache_dir
        Where cached graphs live; default :func:`default_cache_dir`.
    use_cache
        Read and write the cache. A cache entry is keyed by the file's SHA-256, the build options, the
        package version and :data:`CACHE_FORMAT_VERSION`; a stale or unreadable entry is rebuilt.
    walk_speed_kph
        Walking speed [km/h] for ``mode="walk"``.
    speed_factor
        Share of the speed limit driven on average for ``mode="drive"`` [-], in (0, 1.5].

    Returns
    -------
    RoadNetwork

    Raises
    ------
    NetworkError
        The file is missing or not an OSM file, or an option is invalid.
    EmptyNetworkError
        No usable roads for ``mode``.
    """
    path = Path(pbf_path)
    if mode not in ("drive", "walk"):
        raise NetworkError(f"unknown mode {mode!r}: use 'drive' or 'walk'")
    if not (isinstance(walk_speed_kph, int | float) and math.isfinite(walk_speed_kph) and walk_speed_kph > 0):
        raise NetworkError(f"walk_speed_kph must be a positive number, got {walk_speed_kph!r}")
    if not (isinstance(speed_factor, int | float) and 0 < speed_factor <= 1.5):
        raise NetworkError(f"speed_factor must be in (0, 1.5], got {speed_factor!r}")
    if crs is not None:
        crs = check_projected(crs)
    _sniff(path)
    t0 = time.perf_counter()
    sha = sha256_file(path)
    options = {"mode": mode, "crs": crs,
               "walk_speed_kph": float(walk_speed_kph) if mode == "walk" else None,
               "speed_factor": float(speed_factor) if mode == "drive" else None}
    key = cache_key(sha, options)
    cdir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    cpath = cdir / f"network-{mode}-{key[:40]}.pkl"
    if use_cache:
        net = _load_cache(cpath, key)
        if net is not None:
            stats = dict(net.stats, cached=True, build_s=round(time.perf_counter() - t0, 3),
                         source=path.name)
            return replace(net, stats=stats)
    net = _build(path, mode, crs, float(walk_speed_kph), float(speed_factor))
    stats = dict(net.stats, sha256=sha, source=path.name, options=options,
                 build_s=round(time.perf_counter() - t0, 3))
    net = replace(net, stats=stats)
    if use_cache:
        # A read-only or full disk must not stop tonight's plan; the next run simply rebuilds.
        with contextlib.suppress(OSError):
            _save_cache(cpath, key, net)
    return net


# ----------------------------------------------------------------------------------------------------
# Police stations


def police_stations(pbf_path: str | Path) -> Any:
    """Police stations mapped in an OSM extract (``amenity=police`` nodes, closed ways and multipolygons).

    Parameters
    ----------
    pbf_path
        An ``.osm.pbf`` (or ``.osm``) file.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``lon``, ``lat`` [deg, EPSG:4326] (areas: centroid of the outer rings),
        ``osm_type`` (``node``/``way``/``relation``), ``osm_id``, ``place`` (the nearest named town,
        village or suburb, "" if none within 5 km); sorted by ``osm_type``, ``osm_id``. Unnamed stations
        (common in OSM) are named after that place, ``"Oakham police station"``, or
        ``"police (<type> <id>)"`` when no place is near. May be empty.
    """
    import osmium
    import pandas as pd
    from osmium.filter import KeyFilter
    from shapely.geometry import MultiPolygon, Polygon

    path = Path(pbf_path)
    kind = _sniff(path)
    rows: list[dict[str, Any]] = []
    places: list[tuple[str, int, float, float]] = []
    try:
        fp = osmium.FileProcessor(_osmium_path(path, kind)).with_areas().with_filter(KeyFilter("amenity", "place"))
        for o in fp:
            if o.is_node() and o.tags.get("place") in _PLACE_RANK and o.tags.get("name"):
                places.append((o.tags["name"], _PLACE_RANK[o.tags["place"]], o.location.lon, o.location.lat))
            if o.tags.get("amenity") != "police":
                continue
            if o.is_node():
                lon, lat, otype, oid = o.location.lon, o.location.lat, "node", o.id
            elif o.is_area():
                polys = [Polygon([(n.lon, n.lat) for n in ring]) for ring in o.outer_rings()]
                polys = [p for p in polys if p.is_valid and not p.is_empty]
                if not polys:
                    continue
                # Centroid in lon/lat is fine at station scale (tens of metres).
                c = MultiPolygon(polys).centroid
                lon, lat = c.x, c.y
                otype, oid = ("way" if o.from_way() else "relation"), o.orig_id()
            else:
                continue
            name = o.tags.get("name") or o.tags.get("operator") or ""
            rows.append({"name": name, "lon": float(lon), "lat": float(lat), "osm_type": otype, "osm_id": int(oid)})
    except RuntimeError as exc:
        raise NetworkError(f"cannot read OSM file {path.name}: {exc}") from exc
    df = pd.DataFrame(rows, columns=["name", "lon", "lat", "osm_type", "osm_id"])
    df["place"] = [_nearest_place(places, lon, lat) for lon, lat in zip(df["lon"], df["lat"], strict=True)]
    if len(df):
        df = df.sort_values(["osm_type", "osm_id"], kind="stable").reset_index(drop=True)
        unnamed = df["name"] == ""
        label = df["osm_type"] + " " + df["osm_id"].astype(str)
        by_place = df["place"] + " police station"
        df.loc[unnamed, "name"] = by_place.where(df["place"] != "", "police (" + label + ")")[unnamed]
        dup = df["name"].duplicated(keep="first")
        df.loc[dup, "name"] = df.loc[dup, "name"] + " (" + label[dup] + ")"
    return df


#: OSM place classes used to name stations, by preference (lower = a better-known name).
_PLACE_RANK = {"city": 0, "town": 0, "suburb": 1, "village": 1, "quarter": 2, "neighbourhood": 2, "hamlet": 3}
_PLACE_MAX_M = 5000.0


def _nearest_place(places: list[tuple[str, int, float, float]], lon: float, lat: float) -> str:
    """Name of the place nearest to (lon, lat) [deg], preferring towns over hamlets at similar distance."""
    best, best_cost = "", float("inf")
    k = math.cos(math.radians(lat))
    for name, rank, plon, plat in places:
        d_m = math.hypot((plon - lon) * k, plat - lat) * 111_320.0
        # A hamlet must be much nearer than a town to win: 1 km of handicap per rank step.
        cost = d_m + 1000.0 * rank
        if d_m <= _PLACE_MAX_M and cost < best_cost:
            best, best_cost = name, cost
    return best

"""On-disk cache of built road graphs, keyed by input file hash, build options and versions.

A cache entry is one ``.npz`` file of plain arrays (numbers and fixed-width text, no Python objects)
and a JSON header, written atomically and read with ``allow_pickle=False``. A cache file's name can be
predicted, so whoever can write to the cache folder could plant one: this format holds data only, and
loading it cannot run code (a pickle can). Anything that does not match (truncated, foreign, other key
or format, inconsistent arrays) is rebuilt with a one-line warning, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from patrol_planner import __version__
from patrol_planner.errors import CacheWarning
from patrol_planner.jsonsafe import finite_or_none
from patrol_planner.network.graph import RoadNetwork

#: Bump whenever the stored layout or the build logic changes, so old caches are rebuilt.
CACHE_FORMAT_VERSION = 2

#: Edge attributes the cache stores (exactly those the builder writes; see :class:`RoadNetwork`).
EDGE_FLOATS = ("length_m", "travel_time_s", "speed_kph")
EDGE_TEXTS = ("highway", "name")
EDGE_ATTRS = frozenset((*EDGE_FLOATS, *EDGE_TEXTS, "oneway", "osm_way_ids", "geometry"))
NODE_ATTRS = ("x_m", "y_m", "lon", "lat")


def default_cache_dir() -> Path:
    """``$PATROL_PLANNER_CACHE`` if set, else ``~/.cache/patrol_planner``."""
    env = os.environ.get("PATROL_PLANNER_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "patrol_planner"


def cache_key(sha256: str, options: dict[str, Any]) -> str:
    """Hex key of a cached network: input hash, build options, package and cache-format versions."""
    blob = json.dumps({"sha256": sha256, "options": options, "version": __version__,
                       "format": CACHE_FORMAT_VERSION}, sort_keys=True, allow_nan=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def cache_path(cache_dir: Path, mode: str, key: str) -> Path:
    """File of the cache entry for ``key`` in ``cache_dir``."""
    return cache_dir / f"network-{mode}-{key[:40]}.npz"


def load_cache(path: Path, key: str) -> RoadNetwork | None:
    """The cached network if ``path`` holds one for ``key``; ``None`` if missing, and ``None`` with a
    :class:`~patrol_planner.errors.CacheWarning` for a stale, corrupt or foreign file (rebuilt by the caller)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
        net = _decode(arrays, key)
    except FileNotFoundError:
        return None
    except Exception as exc:  # anything unreadable is rebuilt, never trusted
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        warnings.warn(f"ignored the road network cache {path.name} ({reason[:120]}); rebuilding it",
                      CacheWarning, stacklevel=3)
        return None
    return net


def save_cache(path: Path, key: str, net: RoadNetwork) -> None:
    """Write ``net`` under ``key`` to ``path`` atomically (creating the folder)."""
    arrays = _encode(net, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)  # atomic, so a concurrent reader never sees half a file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _encode(net: RoadNetwork, key: str) -> dict[str, np.ndarray]:
    """Plain arrays of ``net``: nodes, edges in the graph's own order (so keys and iteration order
    survive), ragged way ids and geometries as flat arrays with offsets, texts as codes into a table."""
    g = net.graph
    nodes = list(g.nodes(data=True))
    edges = list(g.edges(keys=True, data=True))
    for _, _, _, d in edges:
        if set(d) != EDGE_ATTRS:
            raise ValueError(f"edge attributes {sorted(d)} differ from the cached set {sorted(EDGE_ATTRS)}")
    header = {"key": key, "format": CACHE_FORMAT_VERSION, "crs": net.crs, "mode": net.mode,
              "stats": net.stats, "graph": g.graph}
    out: dict[str, np.ndarray] = {
        "header": np.frombuffer(json.dumps(finite_or_none(header), default=_plain, allow_nan=False).encode(), np.uint8),
        "node": np.array([n for n, _ in nodes], np.int64),
        "node_ids": np.asarray(net.node_ids, np.int64), "x_m": np.asarray(net.x_m, float),
        "y_m": np.asarray(net.y_m, float),
        "uvk": np.array([(u, v, k) for u, v, k, _ in edges], np.int64).reshape(-1, 3),
        "oneway": np.array([d["oneway"] for *_, d in edges], bool),
    }
    for a in NODE_ATTRS:
        out[f"node_{a}"] = np.array([d[a] for _, d in nodes], float)
    for a in EDGE_FLOATS:
        out[a] = np.array([d[a] for *_, d in edges], float)
    for a in EDGE_TEXTS:
        table, codes = np.unique(np.array([d[a] for *_, d in edges], dtype=str), return_inverse=True)
        out[f"{a}_table"], out[f"{a}_code"] = table, codes.astype(np.int64)
    ways = [d["osm_way_ids"] for *_, d in edges]
    out["way_ids"] = np.array([w for ws in ways for w in ws], np.int64)
    out["way_offsets"] = np.cumsum([0, *map(len, ways)]).astype(np.int64)
    geoms = [np.asarray(d["geometry"], float).reshape(-1, 2) for *_, d in edges]
    out["geometry"] = np.concatenate(geoms) if geoms else np.zeros((0, 2))
    out["geometry_offsets"] = np.cumsum([0, *map(len, geoms)]).astype(np.int64)
    return out


def _plain(value: Any) -> Any:
    """JSON for numpy scalars and tuples in ``stats`` (nothing else is expected there)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in the cache header")


def _decode(z: dict[str, np.ndarray], key: str) -> RoadNetwork:
    """The network stored by :func:`_encode`; raises ``ValueError`` on any mismatch or inconsistency."""
    import networkx as nx

    header = json.loads(z["header"].tobytes().decode())
    if header.get("key") != key or header.get("format") != CACHE_FORMAT_VERSION:
        raise ValueError("written for another input, version or format")
    uvk, n_edges = z["uvk"], len(z["uvk"])
    way_off, geo_off = z["way_offsets"], z["geometry_offsets"]
    if len(way_off) != n_edges + 1 or len(geo_off) != n_edges + 1 or geo_off[-1] != len(z["geometry"]):
        raise ValueError("edge arrays disagree in length")
    g = nx.MultiDiGraph(**header["graph"])
    node_cols = [z[f"node_{a}"].tolist() for a in NODE_ATTRS]
    g.add_nodes_from((n, dict(zip(NODE_ATTRS, vals, strict=True)))
                     for n, *vals in zip(z["node"].tolist(), *node_cols, strict=True))
    texts = {a: z[f"{a}_table"][z[f"{a}_code"]].tolist() for a in EDGE_TEXTS}
    floats = {a: z[a].tolist() for a in EDGE_FLOATS}
    way_ids, geometry = z["way_ids"].tolist(), z["geometry"]
    wo, go, oneway = way_off.tolist(), geo_off.tolist(), z["oneway"].tolist()
    g.add_edges_from(
        (u, v, k, {**{a: floats[a][i] for a in EDGE_FLOATS}, **{a: texts[a][i] for a in EDGE_TEXTS},
                   "oneway": oneway[i], "osm_way_ids": tuple(way_ids[wo[i]:wo[i + 1]]),
                   "geometry": geometry[go[i]:go[i + 1]].copy()})
        for i, (u, v, k) in enumerate(uvk.tolist())
    )
    net = RoadNetwork(graph=g, crs=str(header["crs"]), mode=str(header["mode"]), stats=header["stats"],
                      node_ids=z["node_ids"], x_m=z["x_m"], y_m=z["y_m"])
    if g.number_of_nodes() != len(net.node_ids) or g.number_of_edges() != n_edges:
        raise ValueError("graph and node arrays disagree")
    return net

"""On-disk cache of built road graphs, keyed by input file hash, build options and versions.

A cache entry is a pickle of ``{"key", "format", "network"}`` written atomically. Anything that does
not match (missing, truncated, foreign, other key or format) is rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from patrol_planner import __version__
from patrol_planner.network.graph import RoadNetwork

#: Bump whenever the pickled layout or the build logic changes, so old caches are rebuilt. (Moving
#: classes between modules needs no bump: an entry that no longer unpickles is rebuilt anyway.)
CACHE_FORMAT_VERSION = 1


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
    return cache_dir / f"network-{mode}-{key[:40]}.pkl"


def load_cache(path: Path, key: str) -> RoadNetwork | None:
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


def save_cache(path: Path, key: str, net: RoadNetwork) -> None:
    """Write ``net`` under ``key`` to ``path`` atomically (creating the folder)."""
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

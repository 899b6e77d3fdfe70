"""OpenStreetMap extract (``.osm.pbf`` or ``.osm`` XML) -> routable road graph, through the on-disk cache.

:func:`build_network` is the stage's entry point: it checks the options, looks the graph up in the
cache (:mod:`.cache`) and otherwise builds it (:mod:`.build`, reading with :mod:`.reader` and the tag
rules of :mod:`.tags`).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from patrol_planner.errors import NetworkError
from patrol_planner.geo import check_projected
from patrol_planner.network.build import build_graph
from patrol_planner.network.cache import cache_key, cache_path, default_cache_dir, load_cache, save_cache

# RoadNetwork is imported by name (not only for annotations): code written when it was defined here
# imports it as patrol_planner.network.osm.RoadNetwork.
from patrol_planner.network.graph import RoadNetwork
from patrol_planner.network.reader import sniff
from patrol_planner.network.tags import DEFAULT_SPEED_FACTOR, DEFAULT_WALK_SPEED_KPH, Mode
from patrol_planner.provenance import sha256_file

#: Largest accepted ``speed_factor`` [-]: above the limit on average is implausible for patrol driving.
MAX_SPEED_FACTOR = 1.5

__all__ = ["RoadNetwork", "build_network"]


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
        Where cached graphs live; default :func:`~patrol_planner.network.cache.default_cache_dir`.
    use_cache
        Read and write the cache. A cache entry is keyed by the file's SHA-256, the build options, the
        package version and :data:`~patrol_planner.network.cache.CACHE_FORMAT_VERSION`; a stale or
        unreadable entry is rebuilt.
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
    crs = _check_options(mode, crs, walk_speed_kph, speed_factor)
    sniff(path)
    t0 = time.perf_counter()
    sha = sha256_file(path)
    options = {"mode": mode, "crs": crs,
               "walk_speed_kph": float(walk_speed_kph) if mode == "walk" else None,
               "speed_factor": float(speed_factor) if mode == "drive" else None}
    key = cache_key(sha, options)
    cdir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    cpath = cache_path(cdir, mode, key)
    if use_cache:
        net = load_cache(cpath, key)
        if net is not None:
            stats = dict(net.stats, cached=True, build_s=round(time.perf_counter() - t0, 3),
                         source=path.name)
            return replace(net, stats=stats)
    net = build_graph(path, mode, crs, float(walk_speed_kph), float(speed_factor))
    stats = dict(net.stats, sha256=sha, source=path.name, options=options,
                 build_s=round(time.perf_counter() - t0, 3))
    net = replace(net, stats=stats)
    if use_cache:
        # A read-only or full disk must not stop tonight's plan; the next run simply rebuilds.
        with contextlib.suppress(OSError):
            save_cache(cpath, key, net)
    return net


def _check_options(mode: Any, crs: str | None, walk_speed_kph: Any, speed_factor: Any) -> str | None:
    """Raise :class:`NetworkError` for an invalid option; return the checked ``crs`` (or ``None``)."""
    if mode not in ("drive", "walk"):
        raise NetworkError(f"unknown mode {mode!r}: use 'drive' or 'walk'")
    if not (isinstance(walk_speed_kph, int | float) and math.isfinite(walk_speed_kph) and walk_speed_kph > 0):
        raise NetworkError(f"walk_speed_kph must be a positive number, got {walk_speed_kph!r}")
    if not (isinstance(speed_factor, int | float) and 0 < speed_factor <= MAX_SPEED_FACTOR):
        raise NetworkError(f"speed_factor must be in (0, {MAX_SPEED_FACTOR:g}], got {speed_factor!r}")
    return check_projected(crs) if crs is not None else None

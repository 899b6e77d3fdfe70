"""network stage: OSM extract -> routable road graph, and queries on it.

Modules, bottom up: :mod:`.graph` (the :class:`RoadNetwork` type and its routing index), :mod:`.tags`
(OSM tag rules: classes, one-way, speeds), :mod:`.reader` (pyosmium), :mod:`.build` (graph building
and simplification), :mod:`.cache` (on-disk cache), :mod:`.osm` (:func:`build_network`, the entry
point), :mod:`.stations` (police stations), and the queries :mod:`.snap`, :mod:`.travel` (matrices,
paths) and :mod:`.basemap`. See ``docs/network.md``.
"""

from patrol_planner.network.basemap import base_map_lines
from patrol_planner.network.cache import CACHE_FORMAT_VERSION, default_cache_dir
from patrol_planner.network.graph import RoadNetwork
from patrol_planner.network.osm import build_network
from patrol_planner.network.snap import DEFAULT_MAX_SNAP_M, SnapResult, snap_points
from patrol_planner.network.stations import police_stations
from patrol_planner.network.tags import DEFAULT_SPEED_FACTOR, DEFAULT_WALK_SPEED_KPH, parse_maxspeed
from patrol_planner.network.travel import (
    route_geometries,
    route_geometry,
    route_nodes,
    travel_matrix,
    travel_matrix_to,
)

__all__ = [
    "CACHE_FORMAT_VERSION",
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_SPEED_FACTOR",
    "DEFAULT_WALK_SPEED_KPH",
    "RoadNetwork",
    "SnapResult",
    "base_map_lines",
    "build_network",
    "default_cache_dir",
    "parse_maxspeed",
    "police_stations",
    "route_geometries",
    "route_geometry",
    "route_nodes",
    "snap_points",
    "travel_matrix",
    "travel_matrix_to",
]

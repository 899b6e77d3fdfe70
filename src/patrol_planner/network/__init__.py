"""network stage: OSM extract -> routable road graph (:mod:`.osm`), and queries on it (:mod:`.travel`).

See ``docs/network.md``.
"""

from patrol_planner.network.osm import (
    CACHE_FORMAT_VERSION,
    DEFAULT_SPEED_FACTOR,
    DEFAULT_WALK_SPEED_KPH,
    RoadNetwork,
    build_network,
    default_cache_dir,
    parse_maxspeed,
    police_stations,
)
from patrol_planner.network.travel import (
    SnapResult,
    base_map_lines,
    route_geometry,
    route_nodes,
    snap_points,
    travel_matrix,
)

__all__ = [
    "CACHE_FORMAT_VERSION",
    "DEFAULT_SPEED_FACTOR",
    "DEFAULT_WALK_SPEED_KPH",
    "RoadNetwork",
    "SnapResult",
    "base_map_lines",
    "build_network",
    "default_cache_dir",
    "parse_maxspeed",
    "police_stations",
    "route_geometry",
    "route_nodes",
    "snap_points",
    "travel_matrix",
]

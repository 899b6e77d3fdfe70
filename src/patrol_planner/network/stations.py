"""Police stations mapped in an OSM extract (``amenity=police``), named after the nearest place."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from patrol_planner.errors import NetworkError
from patrol_planner.network.reader import osmium_file, sniff

#: OSM place classes used to name stations, by preference (lower = a better-known name).
_PLACE_RANK = {"city": 0, "town": 0, "suburb": 1, "village": 1, "quarter": 2, "neighbourhood": 2, "hamlet": 3}
#: A place farther than this [m] from a station does not name it: it would mislead more than help.
_PLACE_MAX_M = 5000.0
#: Handicap [m] per rank step: a hamlet must be much nearer than a town to name a station.
_RANK_HANDICAP_M = 1000.0
#: Metres per degree of latitude (and of longitude at the equator); enough for a nearest-place pick.
_M_PER_DEG = 111_320.0


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
    import pandas as pd

    rows, places = _read_stations(Path(pbf_path))
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


def _read_stations(path: Path) -> tuple[list[dict[str, Any]], list[tuple[str, int, float, float]]]:
    """Station rows (name, lon, lat, osm_type, osm_id) and named places (name, rank, lon, lat) in ``path``."""
    import osmium
    from osmium.filter import KeyFilter
    from shapely.geometry import MultiPolygon, Polygon

    kind = sniff(path)
    rows: list[dict[str, Any]] = []
    places: list[tuple[str, int, float, float]] = []
    try:
        fp = osmium.FileProcessor(osmium_file(path, kind)).with_areas().with_filter(KeyFilter("amenity", "place"))
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
    return rows, places


def _nearest_place(places: list[tuple[str, int, float, float]], lon: float, lat: float) -> str:
    """Name of the place nearest to (lon, lat) [deg], preferring towns over hamlets at similar distance."""
    best, best_cost = "", float("inf")
    k = math.cos(math.radians(lat))
    for name, rank, plon, plat in places:
        d_m = math.hypot((plon - lon) * k, plat - lat) * _M_PER_DEG
        cost = d_m + _RANK_HANDICAP_M * rank
        if d_m <= _PLACE_MAX_M and cost < best_cost:
            best, best_cost = name, cost
    return best

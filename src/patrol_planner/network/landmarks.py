"""Named places (towns, villages, suburbs) and institutions (hospitals, prisons, police stations) in an OSM extract.

Places label the programme calendar's map; institutions are where police.uk crimes are recorded but no street
patrol prevents them (custody, wards, cells), so the hotspot step sets cells on them aside
(:mod:`patrol_planner.places.institutions`). Both are read in one pass over the extract's ``place`` and
``amenity`` keys, cached per file (path, size and modification time).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from patrol_planner.errors import NetworkError
from patrol_planner.network.reader import osmium_file, sniff

#: OSM ``place`` values drawn on maps, biggest first (the order is the drawing priority).
PLACE_KINDS = ("city", "town", "suburb", "village")
#: OSM ``amenity`` values that mark an institution, and the word a reason uses.
INSTITUTION_AMENITIES = {"hospital": "hospital", "prison": "prison", "police": "police station"}


def osm_landmarks(pbf_path: str | Path) -> tuple[Any, Any]:
    """``(places, institutions)`` of an extract.

    ``places``: DataFrame ``name, kind, lon, lat`` [deg, EPSG:4326] of named ``place`` nodes of
    :data:`PLACE_KINDS`, sorted by kind then name. ``institutions``: DataFrame ``name, kind, osm_type, osm_id,
    geometry`` (shapely, EPSG:4326: a point for a node, a (multi)polygon for an area) of ``amenity`` in
    :data:`INSTITUTION_AMENITIES` (``kind`` is the amenity value; an unnamed one is named by its kind).
    """
    p = Path(pbf_path)
    st = p.stat()
    return _read(str(p.resolve()), st.st_size, st.st_mtime)


@lru_cache(maxsize=4)
def _read(path: str, _size: int, _mtime: float) -> tuple[Any, Any]:
    import osmium
    import pandas as pd
    from osmium.filter import KeyFilter
    from shapely.geometry import MultiPolygon, Point, Polygon

    places: list[dict[str, Any]] = []
    inst: list[dict[str, Any]] = []
    p = Path(path)
    try:
        fp = osmium.FileProcessor(osmium_file(p, sniff(p))).with_areas().with_filter(KeyFilter("amenity", "place"))
        for o in fp:
            kind = o.tags.get("place")
            if kind in PLACE_KINDS and o.is_node() and o.tags.get("name"):
                places.append({"name": o.tags["name"], "kind": kind, "lon": o.location.lon, "lat": o.location.lat})
            amenity = o.tags.get("amenity")
            if amenity not in INSTITUTION_AMENITIES:
                continue
            if o.is_node():
                geom, otype, oid = Point(o.location.lon, o.location.lat), "node", o.id
            elif o.is_area():
                polys = [Polygon([(n.lon, n.lat) for n in ring]) for ring in o.outer_rings()]
                polys = [g for g in polys if g.is_valid and not g.is_empty]
                if not polys:
                    continue
                geom = MultiPolygon(polys) if len(polys) > 1 else polys[0]
                otype, oid = ("way" if o.from_way() else "relation"), o.orig_id()
            else:
                continue  # the way itself; its area comes separately
            name = o.tags.get("name") or o.tags.get("operator") or INSTITUTION_AMENITIES[amenity]
            inst.append({"name": name, "kind": amenity, "osm_type": otype, "osm_id": int(oid), "geometry": geom})
    except RuntimeError as exc:
        raise NetworkError(f"cannot read OSM file {p.name}: {exc}") from exc
    rank = {k: i for i, k in enumerate(PLACE_KINDS)}
    pl = pd.DataFrame(places, columns=["name", "kind", "lon", "lat"])
    pl = pl.sort_values(["kind", "name"], key=lambda s: s.map(rank) if s.name == "kind" else s, ignore_index=True)
    ins = pd.DataFrame(inst, columns=["name", "kind", "osm_type", "osm_id", "geometry"])
    ins = ins.sort_values(["osm_type", "osm_id"], ignore_index=True)
    return pl, ins

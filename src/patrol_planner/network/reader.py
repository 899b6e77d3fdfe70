"""Reading an OpenStreetMap extract (``.osm.pbf`` or ``.osm`` XML) with pyosmium.

pyosmium is imported only here and in :mod:`.stations`. :func:`read_ways` returns the ways a mode
may use (see :func:`.tags.way_usable`) as flat arrays, with their node locations [deg, EPSG:4326].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from patrol_planner.errors import NetworkError
from patrol_planner.network.tags import Mode, way_usable

#: The tags :mod:`.tags` and the builder read; the rest are dropped at read time to keep memory low.
KEEP_TAGS = ("highway", "oneway", "junction", "maxspeed", "name", "ref", "access", "motor_vehicle",
             "motorcar", "vehicle", "foot", "service", "area", "sidewalk")


def sniff(path: Path) -> str:
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


def osmium_file(path: Path, kind: str) -> Any:
    """An ``osmium.io.File`` with the format (``kind`` from :func:`sniff`) forced, so odd file names still read."""
    import osmium

    return osmium.io.File(str(path), "pbf" if kind == "pbf" else "osm")


@dataclass
class RawWays:
    """Ways as flat arrays: ``refs`` (OSM node ids) split by ``offsets``; one tag dict per way.

    ``lon``, ``lat`` [deg, EPSG:4326] are aligned with ``refs``. A way cut by missing node locations
    appears once per piece, with the same id and tags.
    """

    way_ids: list[int]
    tags: list[dict[str, str]]
    offsets: np.ndarray
    refs: np.ndarray
    lon: np.ndarray
    lat: np.ndarray


def read_ways(path: Path, mode: Mode) -> RawWays:
    """The ``highway`` ways of ``path`` usable in ``mode``, each cut where node locations are missing.

    Raises
    ------
    NetworkError
        The file is missing, not an OSM file, or corrupt/truncated.
    """
    import osmium
    from osmium.filter import EntityFilter, KeyFilter

    kind = sniff(path)
    way_ids: list[int] = []
    tags_l: list[dict[str, str]] = []
    offsets = [0]
    refs: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    try:
        fp = (
            osmium.FileProcessor(osmium_file(path, kind), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(EntityFilter(osmium.osm.WAY))
            .with_filter(KeyFilter("highway"))
        )
        for w in fp:
            tags = {k: w.tags.get(k) for k in KEEP_TAGS if k in w.tags}
            if not way_usable(tags, mode):
                continue
            for r, lo, la in _located_pieces(w.nodes):
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
    return RawWays(way_ids, tags_l, np.asarray(offsets, np.int64), np.asarray(refs, np.int64),
                   np.asarray(lons, float), np.asarray(lats, float))


def _located_pieces(nodes: Any) -> list[tuple[list[int], list[float], list[float]]]:
    """A way's node list as runs of ``(refs, lons, lats)`` with valid locations.

    A way whose nodes are partly outside the extract is split where locations are missing.
    """
    run_refs: list[int] = []
    run_lon: list[float] = []
    run_lat: list[float] = []
    pieces: list[tuple[list[int], list[float], list[float]]] = []
    for nd in nodes:
        loc = nd.location
        if loc.valid():
            run_refs.append(nd.ref)
            run_lon.append(loc.lon)
            run_lat.append(loc.lat)
        else:
            pieces.append((run_refs, run_lon, run_lat))
            run_refs, run_lon, run_lat = [], [], []
    pieces.append((run_refs, run_lon, run_lat))
    return pieces

"""Read GPX 1.0 / 1.1 track files (handheld radios and phones) into a ping table.

Each ``<trkpt lat=".." lon="..">`` with a ``<time>`` is a ping. Every ``<trkseg>`` (and every ``<trk>``)
starts a new segment: the device says it lost the fix, so no interval joins two segments. The unit id is
the file name (stem), or with ``unit_from="name"`` the ``<trk><name>`` (the file name when empty). Routes
(``<rte>``) and waypoints (``<wpt>``) carry no patrol times and are ignored. The file is streamed with
:func:`xml.etree.ElementTree.iterparse` and each point is cleared once read, so memory stays flat.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from patrol_planner.dosage.pings import FileRead, empty_pings, split_bad
from patrol_planner.errors import DosageError
from patrol_planner.incidents.csvbytes import bom_encoding

#: GPX namespaces read (any other namespace on the root is refused).
GPX_NAMESPACES: tuple[str, ...] = ("http://www.topografix.com/GPX/1/0", "http://www.topografix.com/GPX/1/1")


def _local(tag: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag."""
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _float(text: str | None) -> float:
    try:
        return float(text) if text is not None else float("nan")
    except ValueError:
        return float("nan")


def _open(path: Path) -> IO[Any]:
    """The file for the XML parser: bytes, or text for UTF-16 with a BOM.

    A UTF-16 file re-saved by a Windows tool often keeps a declaration saying UTF-8, which expat then trusts;
    handed decoded text, the parser ignores the declared encoding. Still streamed, not read whole.
    """
    with open(path, "rb") as fh:
        head = fh.read(4)
    if bom_encoding(head) == "utf-16":
        return open(path, encoding="utf-16", newline="")
    return open(path, "rb")


def _root(path: Path) -> str:
    """The namespace of the root element; :class:`DosageError` when the root is not a GPX ``<gpx>``."""
    with _open(path) as fh:
        for _event, elem in ET.iterparse(fh, events=("start",)):
            ns, name = _local(elem.tag)
            if name != "gpx" or ns not in (*GPX_NAMESPACES, ""):
                raise DosageError(f"{path.name}: not a GPX file (root element <{name}>{' in ' + ns if ns else ''})")
            return ns
    raise DosageError(f"{path.name}: no XML element")


def _walk(path: Path, unit_from: str) -> tuple[list, list, list, list, list, list]:
    """Stream the file's track points: units, segment ids, point numbers, time texts, lon, lat.

    Only "end" events are handled (half the callbacks of start+end): a point's time is its ``<time>`` child,
    a segment id moves on at each ``</trkseg>`` and ``</trk>``, and a track's ``<name>`` is applied to its
    points when the track ends.
    """
    q = f"{{{ns}}}" if (ns := _root(path)) else ""
    tag_pt, tag_time, tag_seg, tag_trk, tag_name = (q + n for n in ("trkpt", "time", "trkseg", "trk", "name"))
    drop = {q + n for n in ("rte", "wpt", "metadata")}
    units: list[str] = []
    segs: list[int] = []
    times: list[str | None] = []
    lons: list[float] = []
    lats: list[float] = []
    seg = 0
    trk_start = 0
    with _open(path) as fh:
        for _event, elem in ET.iterparse(fh, events=("end",)):
            tag = elem.tag
            if tag == tag_pt:
                t = elem.findtext(tag_time)
                times.append(t.strip() or None if t else None)
                segs.append(seg)
                lons.append(_float(elem.get("lon")))
                lats.append(_float(elem.get("lat")))
                elem.clear()  # the parent keeps an empty shell until its segment ends
            elif tag == tag_seg:
                seg += 1
                elem.clear()
            elif tag == tag_trk:
                name = (elem.findtext(tag_name) or "").strip()
                units.extend([name if unit_from == "name" and name else path.stem] * (len(times) - len(units)))
                trk_start = len(times)
                seg += 1
                elem.clear()
            elif tag in drop:
                elem.clear()
    units.extend([path.stem] * (len(times) - trk_start))  # points outside any <trk> (malformed, still read)
    return units, segs, list(range(len(times))), times, lons, lats


def read_gpx(path: str | Path, tz: ZoneInfo | str, *, unit_from: str = "file") -> FileRead:
    """Read one GPX file; a file that cannot be used comes back with ``error`` set, never an exception.

    Times without a zone are read in ``tz`` (the programme's timezone) and counted in ``naive_points``.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise DosageError(f"{path.name}: empty file")
        units, segs, points, times, lons, lats = _walk(path, unit_from)
    except (ET.ParseError, UnicodeError) as exc:
        return FileRead(path.name, "gpx", empty_pings(), error=f"{path.name}: not well-formed XML ({exc}); "
                        "the file is truncated or corrupt, so none of it is used")
    except (DosageError, OSError) as exc:
        return FileRead(path.name, "gpx", empty_pings(), error=str(exc) if isinstance(exc, DosageError)
                        else f"{path.name}: cannot read ({exc.strerror})")
    if not points:
        return FileRead(path.name, "gpx", empty_pings(), error=f"{path.name}: GPX file with no track points")
    return split_bad(path.name, np.asarray(units, dtype=object), np.asarray(segs), np.asarray(points),
                     pd.Series(times, dtype=object), np.asarray(lons), np.asarray(lats), tz, kind="gpx")

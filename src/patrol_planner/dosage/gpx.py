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
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from patrol_planner.dosage.pings import FileRead, empty_pings, split_bad
from patrol_planner.errors import DosageError

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


def _drop(elem: ET.Element, stack: list[ET.Element]) -> None:
    """Forget a finished element so a long track does not pile up in memory (it is its parent's last child)."""
    elem.clear()
    if stack and len(stack[-1]) and stack[-1][-1] is elem:
        del stack[-1][-1]


def _walk(path: Path, unit_from: str) -> tuple[list, list, list, list, list, list]:
    """Stream the file's track points: units, segment ids, point numbers, time texts, lon, lat."""
    units: list[str] = []
    segs: list[int] = []
    times: list[str | None] = []
    lons: list[float] = []
    lats: list[float] = []
    seg = -1
    trk_name = ""
    depth_names: list[str] = []
    stack: list[ET.Element] = []
    root_seen = False
    pt_time: str | None = None
    for event, elem in ET.iterparse(path, events=("start", "end")):
        ns, name = _local(elem.tag)
        if event == "start":
            if not root_seen:
                root_seen = True
                if name != "gpx" or ns not in (*GPX_NAMESPACES, ""):
                    raise DosageError(f"{path.name}: not a GPX file (root element <{name}>"
                                      f"{' in ' + ns if ns else ''})")
            if name in ("trk", "trkseg"):
                seg += 1
                if name == "trk":
                    trk_name = ""
            elif name == "trkpt":
                pt_time = None
            depth_names.append(name)
            stack.append(elem)
            continue
        depth_names.pop()
        stack.pop()
        parent = depth_names[-1] if depth_names else ""
        if name == "time" and parent == "trkpt":
            pt_time = elem.text.strip() or None if elem.text else None
        elif name == "name" and parent == "trk":
            trk_name = (elem.text or "").strip()
        elif name == "trkpt":
            units.append(trk_name if unit_from == "name" and trk_name else path.stem)
            segs.append(seg)
            times.append(pt_time)
            lons.append(_float(elem.get("lon")))
            lats.append(_float(elem.get("lat")))
            _drop(elem, stack)
        elif name in ("trk", "rte", "wpt", "metadata"):
            _drop(elem, stack)
    return units, segs, list(range(len(units))), times, lons, lats


def read_gpx(path: str | Path, tz: ZoneInfo | str, *, unit_from: str = "file") -> FileRead:
    """Read one GPX file; a file that cannot be used comes back with ``error`` set, never an exception.

    Times without a zone are read in ``tz`` (the programme's timezone) and counted in ``naive_points``.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise DosageError(f"{path.name}: empty file")
        units, segs, points, times, lons, lats = _walk(path, unit_from)
    except ET.ParseError as exc:
        return FileRead(path.name, "gpx", empty_pings(), error=f"{path.name}: not well-formed XML ({exc}); "
                        "the file is truncated or corrupt, so none of it is used")
    except (DosageError, OSError) as exc:
        return FileRead(path.name, "gpx", empty_pings(), error=str(exc) if isinstance(exc, DosageError)
                        else f"{path.name}: cannot read ({exc.strerror})")
    if not points:
        return FileRead(path.name, "gpx", empty_pings(), error=f"{path.name}: GPX file with no track points")
    return split_bad(path.name, np.asarray(units, dtype=object), np.asarray(segs), np.asarray(points),
                     pd.Series(times, dtype=object), np.asarray(lons), np.asarray(lats), tz, kind="gpx")

"""The programme calendar: one offline HTML page for the tasking team (map of spots, days x spots grid).

The page is rendered by Jinja2 with autoescaping from ``programme/templates/calendar.html.j2`` (package
data). Everything is inline: the map is plain SVG (no tiles, no script), and a Content-Security-Policy of
``default-src 'none'`` allows only the page's one ``<style>`` block, by hash, so the page cannot fetch
anything. It prints on A4 (portrait; the grid's header repeats on each page). Cancelled or dropped
spot-days (amendments) are marked, so re-rendering after an amendment shows the schedule as delivered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from patrol_planner.atomic import atomic_write_text
from patrol_planner.programme.record import Programme
from patrol_planner.sanitise import spreadsheet_restore

#: Drawing area of the SVG map [px].
MAP_W, MAP_H, MAP_PAD = 640.0, 420.0, 24.0


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


#: Place kinds labelled before the spots (the rest only where room is left).
BIG_PLACES = ("city", "town", "district")
#: Approximate text box of the map's 11 px labels [px]: width per character and height.
CHAR_W, TEXT_H = 6.2, 12.0


def _map_layers(prog: Programme) -> dict[str, Any]:
    """``map.json`` beside the schedule (towns and roads), else towns at the centre of each district's spots."""
    path = prog.folder / "map.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    by: dict[str, list[tuple[float, float]]] = {}
    for sid, g in prog.spots.items():
        d = prog.spot_properties[sid].get("district", "")
        if d:
            by.setdefault(d, []).append((g.centroid.x, g.centroid.y))
    towns = [{"name": d, "kind": "district", "lon": sum(p[0] for p in pts) / len(pts),
              "lat": sum(p[1] for p in pts) / len(pts)} for d, pts in sorted(by.items())]
    return {"source": "districts of the spots", "towns": towns, "roads": []}


class _Boxes:
    """Greedy label placement: a label takes the first free position around its anchor, or none."""

    def __init__(self) -> None:
        self.taken: list[tuple[float, float, float, float]] = []

    def free(self, box: tuple[float, float, float, float]) -> bool:
        x0, y0, x1, y1 = box
        inside = x0 >= 0 and x1 <= MAP_W and y0 >= 0 and y1 <= MAP_H
        return inside and all(x1 <= a0 or a1 <= x0 or y1 <= b0 or b1 <= y0 for a0, b0, a1, b1 in self.taken)

    def place(self, x: float, y: float, text: str, gap: float) -> tuple[float, float] | None:
        """Lower-left corner of the text, or None when every position collides."""
        w = len(text) * CHAR_W
        for dx, dy in ((gap, TEXT_H / 3), (-gap - w, TEXT_H / 3), (-w / 2, -gap), (-w / 2, gap + TEXT_H),
                       (gap, -gap), (gap, gap + TEXT_H), (-gap - w, -gap), (-gap - w, gap + TEXT_H)):
            box = (x + dx, y + dy - TEXT_H, x + dx + w, y + dy)
            if self.free(box):
                self.taken.append(box)
                return round(x + dx, 1), round(y + dy, 1)
        return None


def _svg_map(prog: Programme) -> dict[str, Any]:
    """Spot outlines, towns, roads and labels in SVG pixels (equirectangular, x scaled by cos(latitude)).

    Labels never overlap: spot ids are placed first, then towns (cities and towns before villages); a label
    with no free position around its point is left off the map and listed under it (``unplaced``).
    """
    layers = _map_layers(prog)
    pts = [(x, y) for g in prog.spots.values() for x, y in g.exterior.coords]
    lon0 = min(p[0] for p in pts)
    lon1 = max(p[0] for p in pts)
    lat0 = min(p[1] for p in pts)
    lat1 = max(p[1] for p in pts)
    kx = math.cos(math.radians((lat0 + lat1) / 2))
    span_x = max((lon1 - lon0) * kx, 1e-6)
    span_y = max(lat1 - lat0, 1e-6)
    scale = min((MAP_W - 2 * MAP_PAD) / span_x, (MAP_H - 2 * MAP_PAD) / span_y)

    def px(lon: float, lat: float) -> tuple[float, float]:
        return (round(MAP_PAD + (lon - lon0) * kx * scale, 1), round(MAP_H - MAP_PAD - (lat - lat0) * scale, 1))

    boxes = _Boxes()
    for g in prog.spots.values():
        c = px(g.centroid.x, g.centroid.y)
        boxes.taken.append((c[0] - 6, c[1] - 6, c[0] + 6, c[1] + 6))  # the marker itself
    unplaced: list[dict[str, str]] = []
    towns: list[dict[str, Any]] = []

    def town_labels(big: bool) -> None:
        for t in layers.get("towns", []):
            if (t.get("kind") in BIG_PLACES) != big:
                continue
            x, y = px(t["lon"], t["lat"])
            if not (0 <= x <= MAP_W and 0 <= y <= MAP_H):
                continue
            at = boxes.place(x, y, t["name"], 4)
            if at is None:
                unplaced.append({"name": t["name"], "what": t.get("kind", "place")})
                continue
            towns.append({"name": t["name"], "x": x, "y": y, "tx": at[0], "ty": at[1], "big": big})

    town_labels(True)  # towns first: they say where the spots are; then the spots; villages where room is left
    spots = []
    for sid, g in prog.spots.items():
        ring = [px(x, y) for x, y in g.exterior.coords]
        c = px(g.centroid.x, g.centroid.y)
        at = boxes.place(c[0], c[1], sid, 8)
        if at is None:
            unplaced.append({"name": sid, "what": "spot"})
        # a 150 m cell is a speck on a county map: draw at least a 6 px marker around it
        spots.append({"id": sid, "points": " ".join(f"{x},{y}" for x, y in ring), "cx": c[0], "cy": c[1],
                      "tx": at[0] if at else None, "ty": at[1] if at else None})
    town_labels(False)
    roads = [" ".join(f"{a},{b}" for a, b in (px(x, y) for x, y in line)) for line in layers.get("roads", [])]
    km = (lon1 - lon0) * kx * 111.32
    return {"w": MAP_W, "h": MAP_H, "spots": spots, "towns": towns, "roads": roads, "unplaced": unplaced,
            "source": layers.get("source", ""), "width_km": round(km, 1)}


def _grid(prog: Programme) -> tuple[list[str], list[dict[str, Any]]]:
    sched = prog.delivered_schedule()
    spot_ids = list(prog.spots)
    rows = []
    by_day = {d: g.set_index("spot_id") for d, g in sched.groupby("date")}
    for d in prog.dates:
        g = by_day[d]
        cells = []
        for sid in spot_ids:
            r = g.loc[sid]
            # P: patrol; x: a patrol an amendment cancelled; -: a control spot dropped; blank: control
            if r["status"] != "as_assigned":
                cells.append("x" if r["assigned"] else "-")
            else:
                cells.append("P" if r["treated"] else "")
        rows.append({"date": d.isoformat(), "dow": d.strftime("%a"), "week_start": d.weekday() == 0,
                     "cells": cells, "n": int(g["treated"].sum())})
    return spot_ids, rows


def calendar_grid(prog: Programme) -> tuple[list[str], list[dict[str, Any]]]:
    """The calendar's data: spot ids in file order and one row per programme day (``date``, ``dow``,
    ``week_start``, ``cells``: per spot ``P`` patrol, ``""`` control, ``x`` patrol cancelled by an amendment,
    ``-`` control spot dropped; ``n`` patrols delivered). The tasking room draws its page from this."""
    return _grid(prog)


def render_calendar(prog: Programme) -> str:
    """The calendar page of programme ``prog`` (see module docstring)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("patrol_planner.programme", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    css = env.get_template("calendar.css").render()
    spot_ids, rows = _grid(prog)
    power = prog.raw.get("power", {})
    sched = prog.delivered_schedule()
    per_spot = sched.groupby("spot_id")["treated"].sum()
    spots = [{"id": sid, "place": prog.spot_properties[sid].get("label") or prog.spot_properties[sid].get("place", ""),
              "district": prog.spot_properties[sid].get("district", ""), "treated": int(per_spot.get(sid, 0)),
              "p": prog.spot_properties[sid].get("p_target", "")} for sid in prog.spots]
    spots.sort(key=lambda d: (d["district"] == "", d["district"], d["id"]))  # grouped by district
    w = prog.design["patrol_window"]
    return env.get_template("calendar.html.j2").render(
        css=css, csp=f"default-src 'none'; style-src {_csp_hash(css)}; base-uri 'none'; form-action 'none'",
        design=prog.design, window=f"{w['start']}-{w['end']}", power=power, spots=spots, spot_ids=spot_ids,
        rows=rows, map=_svg_map(prog), amendments=prog.amendments.to_dict("records"),
        first=prog.dates[0].isoformat(), last=prog.dates[-1].isoformat(),
        version=prog.raw.get("provenance", {}).get("versions", {}).get("patrol-planner"),
        schedule_sha=prog.raw.get("files", {}).get("schedule.csv", "")[:16],
        treated_total=int(sched["treated"].sum()), spot_days=len(sched), **_equity(prog))


def _equity(prog: Programme) -> dict[str, Any]:
    """The equity table the programme command wrote beside the schedule (``equity.csv``), if any."""
    path = prog.folder / "equity.csv"
    note_path = prog.folder / "equity-note.txt"
    note = note_path.read_text(encoding="utf-8").strip() if note_path.exists() else ""
    if not path.exists():
        return {"equity": [], "equity_note": note or "No equity table: the programme was designed without "
                "police.uk street files (their LSOA codes link spots to deprivation deciles)."}
    table = spreadsheet_restore(pd.read_csv(path)).fillna(0)
    return {"equity": table.to_dict("records"), "equity_note": note}


def write_calendar(prog: Programme, path: str | Path | None = None) -> Path:
    """Write the calendar page (default ``calendar.html`` in the programme folder); returns its path."""
    out = Path(path) if path else prog.folder / "calendar.html"
    return atomic_write_text(out, render_calendar(prog))  # rewritten after each amendment: whole or not at all

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


def _svg_map(prog: Programme) -> dict[str, Any]:
    """Spot outlines and label points in SVG pixels (equirectangular, x scaled by cos(latitude))."""
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

    spots = []
    for sid, g in prog.spots.items():
        ring = [px(x, y) for x, y in g.exterior.coords]
        c = px(g.centroid.x, g.centroid.y)
        # a 150 m cell is a speck on a county map: draw at least a 6 px marker around it
        spots.append({"id": sid, "points": " ".join(f"{x},{y}" for x, y in ring), "cx": c[0], "cy": c[1]})
    km = (lon1 - lon0) * kx * 111.32
    return {"w": MAP_W, "h": MAP_H, "spots": spots, "width_km": round(km, 1)}


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
    spots = [{"id": sid, "place": prog.spot_properties[sid].get("place", ""),
              "treated": int(per_spot.get(sid, 0)),
              "p": prog.spot_properties[sid].get("p_target", "")} for sid in prog.spots]
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

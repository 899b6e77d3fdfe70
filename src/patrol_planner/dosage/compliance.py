"""The compliance page: planned against delivered patrol time, per day and per spot, as one offline HTML file.

Rendered with Jinja2 (autoescaping on) from the template shipped in ``dosage/templates``; charts are inline
SVG drawn from numbers computed here; a Content-Security-Policy forbids every fetch (``default-src 'none'``)
and allows only the page's own style block, by hash. Cancelled and dropped spot-days are shown as such and
never count as missed patrols; presence in control spots is highlighted.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from patrol_planner.programme import Programme

_BAR_W = 14
_CHART_H = 160


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("patrol_planner.dosage", "templates"),
                              autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _per_day(table: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for d, g in table.groupby("date", sort=True):
        tr = g[g["treated"] == 1]
        ctl = g[g["assigned"] == 0]
        rows.append({
            "date": d, "planned": float(tr["planned_minutes"].sum()), "present": float(tr["minutes_present"].sum()),
            "control": float(ctl["minutes_present"].sum()), "cancelled": int((g["status"] != "as_assigned").sum()),
            "treated": len(tr), "patrolled": int((tr["visits"] > 0).sum()),
            "all_cancelled": bool((g["status"] != "as_assigned").all()),
        })
    return rows


def _day_chart(days: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars per day: planned (outline), delivered in treated spots, presence in control spots (highlight).

    Bars narrow as days are added so a 90-day programme still fits about 1,000 px.
    """
    bar = max(3, min(_BAR_W, 950 // max(3 * len(days) + len(days) // 2, 1)))
    step = 3 * bar + max(bar // 2, 2)
    top = max([1.0] + [max(r["planned"], r["present"], r["control"]) for r in days])
    scale = (_CHART_H - 20) / top
    bars = []
    for i, r in enumerate(days):
        x = 40 + i * step
        for j, key in enumerate(("planned", "present", "control")):
            h = r[key] * scale
            bars.append({"x": x + j * bar, "y": _CHART_H - h, "w": max(bar - 1, 1), "h": h, "cls": key,
                         "title": f"{r['date']}: {key} {r[key]:.1f} min"})
        if r["all_cancelled"]:
            bars.append({"x": x, "y": 10, "w": 3 * bar - 1, "h": _CHART_H - 10, "cls": "cancelled",
                         "title": f"{r['date']}: cancelled (not a missed patrol)"})
    ticks = [{"y": _CHART_H - v * scale, "label": f"{v:.0f}"} for v in (0, top / 2, top)]
    return {"bars": bars, "width": 60 + len(days) * step, "height": _CHART_H + 10, "ticks": ticks}


def per_spot_compliance(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Per spot, from a dosage table (``dosage.csv``'s columns): treated spot-days, those patrolled, with no GPS,
    with the dose met; planned and present minutes on treated days; control days, those with presence and
    their minutes (contamination); cancelled or dropped spot-days. The compliance page's table."""
    rows = []
    for sid, g in table.groupby("spot_id", sort=True):
        tr = g[g["treated"] == 1]
        ctl = g[g["assigned"] == 0]
        rows.append({"spot_id": sid, "treated": len(tr), "patrolled": int((tr["visits"] > 0).sum()),
                     "no_data": int((~tr["gps_data"].astype(bool)).sum()),
                     "dose_met": int(tr["dose_met"].fillna(False).sum()),
                     "planned": float(tr["planned_minutes"].sum()), "present": float(tr["minutes_present"].sum()),
                     "control_days": len(ctl), "control_presence": int((ctl["minutes_present"] > 0).sum()),
                     "control_minutes": float(ctl["minutes_present"].sum()),
                     "cancelled": int((g["status"] != "as_assigned").sum())})
    return rows


def _grid(table: pd.DataFrame) -> dict[str, Any]:
    """Day x spot cells classed by what happened (dose met, short, missed, control, control with presence,
    cancelled, no GPS data that day)."""
    dates = sorted(table["date"].unique())
    spots = sorted(table["spot_id"].unique())
    cells = []
    for r in table.itertuples(index=False):
        if r.status != "as_assigned":
            cls = "cancelled"
        elif not r.gps_data:
            cls = "nodata"  # no unit sent GPS that day: nothing is known, so not a missed patrol
        elif r.treated == 1:
            cls = "met" if r.dose_met else ("short" if r.visits > 0 else "missed")
        else:
            cls = "ctlhit" if r.minutes_present > 0 else "ctl"
        cells.append({"x": 70 + spots.index(r.spot_id) * 22, "y": 10 + dates.index(r.date) * 14, "cls": cls,
                      "title": f"{r.date} {r.spot_id}: {cls}, {r.minutes_present:.1f} of {r.planned_minutes:.0f} "
                               f"min, {r.visits} visit(s)"})
    return {"cells": cells, "dates": [{"y": 20 + i * 14, "label": d} for i, d in enumerate(dates)],
            "spots": [{"x": 80 + i * 22, "label": s} for i, s in enumerate(spots)],
            "width": 90 + len(spots) * 22, "height": 20 + len(dates) * 14}


def render_compliance_page(result: Any, prog: Programme) -> str:
    """The page as a string (``result``: a :class:`~patrol_planner.dosage.measure.DosageResult`)."""
    env = _env()
    style = env.get_template("compliance.css").render()
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    csp = f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; base-uri 'none'; form-action 'none'"
    days = _per_day(result.table)
    am = prog.amendments
    return env.get_template("compliance.html.j2").render(
        title=f"Patrol dosage: {prog.folder.name}", csp=csp, style=style, summary=result.summary,
        notes=result.notes, design=prog.design, params=result.params.to_dict(), crs=result.crs, days=days,
        day_chart=_day_chart(days), spots=per_spot_compliance(result.table), grid=_grid(result.table),
        amendments=[{"action": a.action, "date": a.date.isoformat() if a.date else "from the start",
                     "spot_id": a.spot_id or "all spots"} for a in am.itertuples(index=False)],
        files=result.files,
    )


def write_compliance_page(result: Any, prog: Programme, path: str | Path) -> Path:
    """Write :func:`render_compliance_page` to ``path``."""
    path = Path(path)
    path.write_text(render_compliance_page(result, prog), encoding="utf-8")
    return path

"""One programme day's tasking: its patrol window, the spots to patrol and the control spots to avoid."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from patrol_planner.programme.record import Programme, read_programme


def day_tasking(programme: Programme | str | Path, day: date) -> dict[str, Any]:
    """The tasking of programme day ``day``, amendments applied.

    Returns
    -------
    dict
        ``date``, ``window_start``/``window_end`` (ISO local times with offset), ``visits``, ``minutes``
        (dose per treated spot), ``treated`` and ``control`` (lists of ``{spot_id, place, label, district,
        grid_ref, lon, lat}``, centre [deg, EPSG:4326], by district then spot id), ``districts`` (the same spot
        ids grouped: ``[{district, treated, control, cancelled}]``) and ``cancelled`` (spots an amendment
        removed, each with that ``amendment``: ``{recorded_at, action, date, spot_id, reason}``; neither patrol
        them nor count them as controls).

        A control spot stays in ``control`` on a cancelled day: officers are still out, and a patrol there would
        still contaminate the comparison. Only a control spot dropped from the programme leaves the list.
    """
    prog = programme if isinstance(programme, Programme) else read_programme(programme)
    prog.check_date(day)
    sched = prog.delivered_schedule()
    today = sched[sched["date"] == day]
    t0, t1 = prog.window(day)

    def spot(sid: str) -> dict[str, Any]:
        c = prog.spots[sid].centroid
        props = prog.spot_properties[sid]
        place = props.get("place", "")
        return {"spot_id": sid, "place": place, "label": props.get("label") or place,
                "district": props.get("district", ""), "grid_ref": props.get("grid_ref", ""),
                "lon": round(c.x, 6), "lat": round(c.y, 6)}

    def grouped(ids: Any) -> list[dict[str, Any]]:
        # by district, then spot id: a sergeant tasks a district's spots together
        return sorted((spot(s) for s in ids), key=lambda d: (d["district"], d["spot_id"]))

    treated = grouped(today.loc[today["treated"] == 1, "spot_id"])
    keep_away = (today["assigned"] == 0) & (today["status"] != "dropped")
    control = grouped(today.loc[keep_away, "spot_id"])
    removed_by = prog.removed_by(day)
    cancelled = [d | {"amendment": removed_by[d["spot_id"]]}
                 for d in grouped(today.loc[(today["status"] != "as_assigned") & ~keep_away, "spot_id"])]
    return {"date": day.isoformat(), "window_start": t0.isoformat(), "window_end": t1.isoformat(),
            "visits": int(prog.design["dose"]["visits"]), "minutes": float(prog.design["dose"]["minutes"]),
            "treated": treated, "control": control, "cancelled": cancelled,
            "districts": _districts(treated, control, cancelled)}


def _districts(treated: list[dict[str, Any]], control: list[dict[str, Any]],
               cancelled: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``[{district, treated, control, cancelled}]`` (spot ids), districts in name order ("" last)."""
    out: dict[str, dict[str, Any]] = {}
    for key, rows in (("treated", treated), ("control", control), ("cancelled", cancelled)):
        for r in rows:
            d = out.setdefault(r["district"], {"district": r["district"], "treated": [], "control": [],
                                               "cancelled": []})
            d[key].append(r["spot_id"])
    return [out[k] for k in sorted(out, key=lambda k: (k == "", k))]

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
        (dose per treated spot), ``treated`` and ``control`` (lists of ``{spot_id, place, lon, lat}``, centre
        [deg, EPSG:4326]) and ``cancelled`` (spots an amendment removed, each with that ``amendment``:
        ``{recorded_at, action, date, spot_id, reason}``; neither patrol them nor count them as controls).

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
        return {"spot_id": sid, "place": prog.spot_properties[sid].get("place", ""),
                "lon": round(c.x, 6), "lat": round(c.y, 6)}

    treated = [spot(s) for s in today.loc[today["treated"] == 1, "spot_id"]]
    keep_away = (today["assigned"] == 0) & (today["status"] != "dropped")
    control = [spot(s) for s in today.loc[keep_away, "spot_id"]]
    removed_by = prog.removed_by(day)
    cancelled = [spot(s) | {"amendment": removed_by[s]}
                 for s in today.loc[(today["status"] != "as_assigned") & ~keep_away, "spot_id"]]
    return {"date": day.isoformat(), "window_start": t0.isoformat(), "window_end": t1.isoformat(),
            "visits": int(prog.design["dose"]["visits"]), "minutes": float(prog.design["dose"]["minutes"]),
            "treated": treated, "control": control, "cancelled": cancelled}

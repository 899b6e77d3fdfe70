"""Reachability at design time: can some unit reach each spot, patrol it and be back within its window?

A programme promises a dose at every spot on its treated days. A spot that none of the scenario's units can
reach (a foot patrol's radius, a walk too long for the window, no road of its mode near the spot) would be
reported day after day as "not covered" once the schedule is in use, so :func:`check_reachability` finds it
when the programme is designed.

For each unit on duty in the patrol window of the first programme day (its shift cut to the window, as a
day plan does: :func:`patrol_planner.programme.dayplan.clip_to_window`), a spot is within reach when

- the spot has a node of the unit's mode network inside it, or is within ``MAX_SNAP_M`` of its roads;
- the road distance from the unit's start station to the spot and back is within its ``radius_m`` (as the
  routing model's radius: both ways, from the start station);
- leaving no earlier than the window opens (or its ``earliest_leave``), it can travel there, stay the dose's
  ``minutes`` and travel to its end station before its cut shift ends, with its break (one visit: the day
  plan decides how the full dose is shared between units).

Travel times come from one backward and one forward Dijkstra per station per mode (stations x spots), so
the check costs about as much as building the networks' indexes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry import shape

from patrol_planner import localtime as lt
from patrol_planner.errors import ProgrammeError
from patrol_planner.programme.record import patrol_window
from patrol_planner.scenario import adapters as ad
from patrol_planner.scenario.config import Scenario

#: Spots named in full in the one-line refusal or warning; more are counted.
SHOWN = 8


def check_reachability(s: Scenario, design: Mapping[str, Any], spots: pd.DataFrame, spots_geojson: dict[str, Any],
                       nets: Mapping[str, Any], *, action: str = "refuse") -> dict[str, Any]:
    """The ``design.reachability`` record of a programme; refuses when a spot is out of every unit's reach.

    Parameters
    ----------
    s : Scenario
        The scenario (its ``[[units]]`` and ``data.osm``).
    design : mapping
        The design record so far (``start_date``, ``timezone``, ``day_starts_at``, ``patrol_window``,
        ``dose``, ``crs``).
    spots : DataFrame
        ``spot_id`` and ``label`` of each spot, in the order of ``spots_geojson``'s features.
    spots_geojson : dict
        The spots' EPSG:4326 polygons.
    nets : mapping of mode -> RoadNetwork
        The units' networks in the design's CRS (empty without ``data.osm``).
    action : {"refuse", "warn"}
        What a spot no unit can reach does.

    Returns
    -------
    dict
        ``checked`` (False with ``reason`` when there are no units or no network); else ``date``, ``window``,
        ``dwell_min``, ``modes``, ``units`` (each unit considered: mode, stations, shift in the window, radius,
        spots reached), ``spots`` (per spot: ``reached_by`` and, per unit that cannot, ``why`` with its
        figures), ``unreachable`` (no unit), ``partly_reachable`` (some units only), ``action``.

    Raises
    ------
    ProgrammeError
        ``action == "refuse"`` and some spot is out of every unit's reach: one line naming the spots, the
        nearest unit's figures, and the units considered.
    """
    if not s.units:
        return {"checked": False, "reason": "the scenario has no [[units]]"}
    if not nets:
        return {"checked": False, "reason": "the scenario has no road network (data.osm)"}
    from datetime import date

    from patrol_planner import network as nw
    from patrol_planner.programme.dayplan import _units_covering

    r = s.resolved()
    day = date.fromisoformat(design["start_date"])
    window = patrol_window(design, day)
    units = _units_covering(s, r, window, nw.police_stations(r.osm))
    dwell_s = float(design["dose"]["minutes"]) * 60.0
    polys = [shape(f["geometry"]) for f in spots_geojson["features"]]
    table = {m: _mode_table(units, m, net, polys, str(design["crs"])) for m, net in nets.items()
             if any(u.mode == m for u in units)}
    verdicts = [_unit_verdicts(u, window, dwell_s, table[u.mode]) for u in units]
    rec = _record(spots, units, window, verdicts, dwell_s, sorted(table), action)
    if rec["unreachable"] and action == "refuse":
        raise ProgrammeError(refusal_text(rec))
    return rec


def _mode_table(units: Sequence[ad.UnitShift], mode: str, net: Any, polys: list[Any],
                crs: str) -> dict[str, Any]:
    """Travel out (station -> spot) and back (spot -> station) on one mode's network [s, m]."""
    from patrol_planner import network as nw
    from patrol_planner.geo import to_xy
    from patrol_planner.programme.dayplan import point_inside

    stations = ad._distinct_stations([u for u in units if u.mode == mode])
    st_x, st_y = to_xy(np.array([q.lon for q in stations]), np.array([q.lat for q in stations]), crs)
    st_snap = nw.snap_points(net, st_x, st_y, max_snap_m=ad.MAX_SNAP_M)
    far = [q.name for q, ok in zip(stations, st_snap.ok, strict=True) if not ok]
    if far:
        raise ProgrammeError(f"station(s) {far} are more than {ad.MAX_SNAP_M:g} m from any {mode} road of the "
                             "extract: check the station position or the OSM file")
    pts = np.array([point_inside(p, net, crs)[:2] for p in polys], float).reshape(-1, 2)
    sp_snap = nw.snap_points(net, pts[:, 0], pts[:, 1], max_snap_m=ad.MAX_SNAP_M)
    on_map = np.asarray(sp_snap.ok, bool)
    t_out, d_out = nw.travel_matrix(net, st_snap.node_ids, sp_snap.node_ids)
    t_back, d_back = nw.travel_matrix_to(net, sp_snap.node_ids, st_snap.node_ids)
    for a in (t_out, d_out):
        a[:, ~on_map] = np.inf
    for a in (t_back, d_back):
        a[~on_map, :] = np.inf
    return {"index": {q.name: i for i, q in enumerate(stations)}, "on_map": on_map, "t_out": t_out,
            "d_out": d_out, "t_back": t_back.T, "d_back": d_back.T}


def _cut(u: ad.UnitShift, window: tuple[datetime, datetime]) -> ad.UnitShift | None:
    """The unit's shift cut to the window (as a day plan cuts it); None when it is off duty in the window."""
    from patrol_planner.programme.dayplan import clip_to_window

    try:
        return clip_to_window((u,), window)[0]
    except ProgrammeError:
        return None


def _unit_verdicts(u: ad.UnitShift, window: tuple[datetime, datetime], dwell_s: float,
                   tab: dict[str, Any]) -> dict[str, Any]:
    """Whether ``u`` reaches each spot, and why not, with its figures [min, m]."""
    n = len(tab["on_map"])
    cut = _cut(u, window)
    if cut is None:
        return {"shift": None, "ok": np.zeros(n, bool), "why": ["not on duty in the patrol window"] * n}
    a, b = tab["index"][u.start.name], tab["index"][u.end.name]
    out_s, back_s = tab["t_out"][a], tab["t_back"][b]
    road_m = np.maximum(tab["d_out"][a], tab["d_back"][a])
    leave = max(cut.earliest_leave or cut.shift_start, cut.shift_start, key=lt.instant_key)
    have_s = lt.real_s(leave, cut.shift_end)
    need_s = out_s + dwell_s + back_s + cut.break_s
    in_radius = road_m <= u.radius_m if u.radius_m is not None else np.ones(n, bool)
    ok = tab["on_map"] & np.isfinite(need_s) & (need_s <= have_s) & in_radius
    why = []
    for j in range(n):
        if ok[j]:
            why.append("")
        elif not tab["on_map"][j]:
            why.append(f"no {u.mode} road within {ad.MAX_SNAP_M:g} m")
        elif not np.isfinite(need_s[j]):
            why.append(f"not joined to its station on the {u.mode} network")
        elif not in_radius[j]:
            why.append(f"{road_m[j] / 1000:.1f} km by road ({out_s[j] / 60:.0f} min there), beyond its "
                       f"{u.radius_m:g} m radius")
        else:
            why.append(f"{out_s[j] / 60:.0f} min there, {dwell_s / 60:g} on scene, {back_s[j] / 60:.0f} back"
                       + (f" and a {cut.break_s / 60:g} min break" if cut.break_s else "")
                       + f": over the {have_s / 60:.0f} min it has")
    return {"shift": (leave, cut.shift_end), "ok": ok, "why": why, "out_min": out_s / 60, "back_min": back_s / 60,
            "road_m": road_m, "have_min": have_s / 60, "need_min": need_s / 60}


def _num(x: float, nd: int = 1) -> float | None:
    return round(float(x), nd) if np.isfinite(x) else None


def _record(spots: pd.DataFrame, units: Sequence[ad.UnitShift], window: tuple[datetime, datetime],
            verdicts: list[dict[str, Any]], dwell_s: float, modes: list[str], action: str) -> dict[str, Any]:
    ids = spots["spot_id"].astype(str).tolist()
    labels = spots["label"].astype(str).tolist() if "label" in spots else spots["place"].astype(str).tolist()
    unit_rows = [{"unit_id": u.unit_id, "mode": u.mode, "station": u.start.name, "end_station": u.end.name,
                  "radius_m": u.radius_m,
                  "in_window": None if v["shift"] is None else f"{v['shift'][0]:%H:%M}-{v['shift'][1]:%H:%M}",
                  "spots_reached": int(v["ok"].sum())} for u, v in zip(units, verdicts, strict=True)]
    rows = []
    for j, sid in enumerate(ids):
        by = [u.unit_id for u, v in zip(units, verdicts, strict=True) if v["ok"][j]]
        nots = []
        for u, v in zip(units, verdicts, strict=True):
            if v["ok"][j]:
                continue
            row: dict[str, Any] = {"unit_id": u.unit_id, "why": v["why"][j]}
            if v["shift"] is not None:
                row |= {"out_min": _num(v["out_min"][j]), "back_min": _num(v["back_min"][j]),
                        "road_km": _num(v["road_m"][j] / 1000, 2), "need_min": _num(v["need_min"][j]),
                        "have_min": _num(v["have_min"])}
            nots.append(row)
        rows.append({"spot_id": sid, "label": labels[j], "reached_by": by, "not_reached_by": nots})
    return {"checked": True, "date": window[0].date().isoformat(),
            "window": {"start": window[0].isoformat(), "end": window[1].isoformat()},
            "dwell_min": dwell_s / 60, "modes": modes, "units": unit_rows, "spots": rows,
            "unreachable": [r["spot_id"] for r in rows if not r["reached_by"]],
            "partly_reachable": [r["spot_id"] for r in rows if r["reached_by"] and r["not_reached_by"]],
            "action": action}


def _nearest(row: dict[str, Any]) -> str:
    """The unit that comes closest to reaching a spot, with its reason (off-duty units last)."""
    def key(n: dict[str, Any]) -> tuple[float, float]:
        return (n.get("need_min") or np.inf, n.get("road_km") or np.inf)

    best = min(row["not_reached_by"], key=key)
    return f"{best['unit_id']}: {best['why']}"


def _units_text(rec: dict[str, Any]) -> str:
    def one(u: dict[str, Any]) -> str:
        bits = [u["mode"], u["station"] + (f"->{u['end_station']}" if u["end_station"] != u["station"] else ""),
                u["in_window"] or "off duty in the window"]
        if u["radius_m"] is not None:
            bits.append(f"radius {u['radius_m']:g} m")
        return f"{u['unit_id']} ({', '.join(bits)})"

    return ", ".join(one(u) for u in rec["units"])


def _spots_text(rec: dict[str, Any], ids: list[str], *, with_reason: bool) -> str:
    rows = {r["spot_id"]: r for r in rec["spots"]}
    parts = []
    for sid in ids[:SHOWN]:
        r = rows[sid]
        tail = f"nearest {_nearest(r)}" if with_reason else "only " + ", ".join(r["reached_by"])
        parts.append(f"{sid} {r['label']!r} ({tail})")
    more = f"; and {len(ids) - SHOWN} more" if len(ids) > SHOWN else ""
    return "; ".join(parts) + more


def _window_text(rec: dict[str, Any]) -> str:
    a, b = (datetime.fromisoformat(rec["window"][k]) for k in ("start", "end"))
    return f"{a:%H:%M}-{b:%H:%M}"


def refusal_text(rec: dict[str, Any]) -> str:
    """The one line of a design refused for spots no unit can reach."""
    bad = rec["unreachable"]
    return (f"{len(bad)} of {len(rec['spots'])} spot(s) cannot be reached by any unit, patrolled for "
            f"{rec['dwell_min']:g} min and left in time in the patrol window {_window_text(rec)}: "
            f"{_spots_text(rec, bad, with_reason=True)}; units considered: {_units_text(rec)}; list other spots "
            "(spot_ids/spot_points), change the units, or set [programme] unreachable = \"warn\"")


def warning_text(rec: dict[str, Any]) -> str | None:
    """The one warning line of a design with spots only some units (or, when warned, none) can reach."""
    if not rec.get("checked") or not (rec["unreachable"] or rec["partly_reachable"]):
        return None
    parts = []
    if rec["unreachable"]:
        parts.append(f"{len(rec['unreachable'])} spot(s) no unit can reach in the window {_window_text(rec)}: "
                     + _spots_text(rec, rec["unreachable"], with_reason=True))
    if rec["partly_reachable"]:
        parts.append(f"{len(rec['partly_reachable'])} of {len(rec['spots'])} spot(s) only some units can reach: "
                     + _spots_text(rec, rec["partly_reachable"], with_reason=False))
    return "; ".join(parts) + " (programme.json: design.reachability)"

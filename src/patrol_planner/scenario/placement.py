"""Where the routing problem's places lie on each mode's roads: positions, snapping, travel matrices.

Split from :func:`patrol_planner.scenario.adapters.problem_from_sites`, which calls these in order.
Positions [m] in the working CRS; matrices in seconds [s] and metres [m].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.errors import RoutingError


def all_positions_xy(stations: Sequence[Any], sites: pd.DataFrame, extra_points: Sequence[tuple[float, float]],
                     crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Stations, then sites, then extra points, as x/y [m, ``crs``]; a site's own ``x_m``/``y_m`` wins over
    its lon/lat [deg] where given (rows without them, tasks, use lon/lat)."""
    from patrol_planner.geo import to_xy

    st_x, st_y = to_xy(np.array([s.lon for s in stations]), np.array([s.lat for s in stations]), crs)
    sx, sy = to_xy(sites["lon"].to_numpy(float), sites["lat"].to_numpy(float), crs)
    if {"x_m", "y_m"} <= set(sites.columns):
        gx, gy = sites["x_m"].to_numpy(float), sites["y_m"].to_numpy(float)
        has = np.isfinite(gx) & np.isfinite(gy)
        sx, sy = np.where(has, gx, sx), np.where(has, gy, sy)
    ex = np.array([p[0] for p in extra_points], float), np.array([p[1] for p in extra_points], float)
    ex_x, ex_y = to_xy(ex[0], ex[1], crs) if len(extra_points) else (np.zeros(0), np.zeros(0))
    return np.concatenate([st_x, sx, ex_x]), np.concatenate([st_y, sy, ex_y])


def snapped_matrices(networks: Mapping[str, Any], xs: np.ndarray, ys: np.ndarray, station_names: Sequence[str],
                     n_sites: int, max_snap_m: float) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray],
                                                               dict[str, np.ndarray], np.ndarray]:
    """Per mode: the travel-time [s] and distance [m] matrices and the network node of every place; and which
    sites every mode reaches. A station or extra point off the roads is a :class:`RoutingError`."""
    from patrol_planner import network as nw

    n_st = len(station_names)
    site_ok = np.ones(n_sites, dtype=bool)
    T: dict[str, np.ndarray] = {}
    D: dict[str, np.ndarray] = {}
    nodes: dict[str, np.ndarray] = {}
    for m, net in networks.items():
        snap = nw.snap_points(net, xs, ys, max_snap_m=max_snap_m)
        far = [station_names[i] for i in range(n_st) if not snap.ok[i]]
        if far:
            raise RoutingError(f"station(s) {far} are more than {max_snap_m:g} m from any {m} road of the "
                               "extract: check the station position or the OSM file")
        site_ok &= np.asarray(snap.ok[n_st:n_st + n_sites], dtype=bool)
        if not np.asarray(snap.ok[n_st + n_sites:], dtype=bool).all():
            raise RoutingError(f"a cover point is more than {max_snap_m:g} m from any {m} road of the extract: "
                               "move it onto a road")
        nodes[m] = np.asarray(snap.node_ids)
        tm, dm = nw.travel_matrix(net, nodes[m])
        bad = ~np.asarray(snap.ok, dtype=bool)
        tm[bad, :] = np.inf
        tm[:, bad] = np.inf
        np.fill_diagonal(tm, 0.0)
        T[m], D[m] = tm, dm
    return T, D, nodes, site_ok


def refuse_tasks_off_road(sites: pd.DataFrame, site_ok: np.ndarray, max_snap_m: float) -> None:
    """A task (``required``) that no mode's roads reach is named in a :class:`TaskInfeasibleError`, never
    dropped."""
    if "required" not in sites:
        return
    far_tasks = [str(sid) for sid, req, ok in zip(sites["site_id"], sites["required"], site_ok, strict=True)
                 if isinstance(req, bool | np.bool_) and bool(req) and not ok]
    if far_tasks:
        from patrol_planner.errors import TaskInfeasibleError

        raise TaskInfeasibleError("\n".join(f"task {t!r} cannot be served: it is more than {max_snap_m:g} m from "
                                             "any road of the extract for its units' mode" for t in far_tasks))

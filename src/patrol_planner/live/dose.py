"""Live dosage: minutes present per spot, accumulated from positions as they arrive, by the dosage rules of
:mod:`patrol_planner.dosage.presence` (zones buffered by ``tolerance_m``; an interval between two pings
counts when at most ``max_gap_s`` long, fractionally when one end is outside; stretches closer than
``merge_gap_s`` are one visit; less than ``min_visit_s`` is a pass-through).

Each batch of positions is measured with the unit's previous ping put in front, so every interval between
consecutive pings is counted exactly once, whatever the batch size. A spot's dose is spot-time: the union of
every unit's presence (two units together for 10 minutes give 10 minutes). Times [s since epoch, UTC].
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.dosage import DosageParams


@dataclass
class Stay:
    """One unit's time at one spot: first presence, last presence [s since epoch], presence [s]."""

    site_id: str
    unit: str
    start_s: float
    end_s: float
    presence_s: float
    manual: bool = False  # opened by an arrive event


@dataclass
class DoseMeter:
    """Dose per spot and each unit's stays, from positions (and arrive/leave events)."""

    crs: str
    params: DosageParams = field(default_factory=DosageParams)
    zones_lonlat: dict[str, Any] = field(default_factory=dict)
    dose_s: dict[str, float] = field(default_factory=dict)
    open: dict[tuple[str, str], Stay] = field(default_factory=dict)  # (unit, site) -> stay
    closed: list[Stay] = field(default_factory=list)
    _covered_to: dict[str, float] = field(default_factory=dict)
    _last: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # unit -> (t_s, lon, lat)
    _zones: Any = None

    def add_zones(self, zones_lonlat: Mapping[str, Any]) -> None:
        """Spots to measure (site id -> lon/lat polygon); new ones join, known ones are kept."""
        new = {k: v for k, v in zones_lonlat.items() if k not in self.zones_lonlat}
        if new:
            self.zones_lonlat.update(new)
            self._zones = None

    def _built(self) -> Any:
        from patrol_planner.dosage.presence import SpotZones

        if self._zones is None:
            self._zones = SpotZones.build(self.zones_lonlat, self.params.tolerance_m, self.crs)
        return self._zones

    def add_positions(self, unit: np.ndarray, t_s: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> None:
        """Positions of one or more units, in time order within each unit."""
        from patrol_planner.dosage.clean import CleanTracks
        from patrol_planner.dosage.presence import spot_intervals

        if len(t_s) == 0 or not self.zones_lonlat:
            return
        frame = pd.DataFrame({"unit": np.asarray(unit, dtype=object), "t_s": t_s, "lon": lon, "lat": lat,
                              "first": False})
        prev = [{"unit": u, "t_s": p[0], "lon": p[1], "lat": p[2], "first": False}
                for u, p in self._last.items() if u in set(frame["unit"])]
        frame = pd.concat([pd.DataFrame(prev, columns=frame.columns), frame], ignore_index=True) if prev else frame
        frame = frame.sort_values(["unit", "t_s"], kind="stable").reset_index(drop=True)
        names = sorted(frame["unit"].unique())
        code = frame["unit"].map({u: i for i, u in enumerate(names)}).to_numpy(np.int64)
        brk = np.r_[True, code[1:] != code[:-1]]
        tracks = CleanTracks(units=names, unit_code=code, t_s=frame["t_s"].to_numpy(float),
                             lon=frame["lon"].to_numpy(float), lat=frame["lat"].to_numpy(float), brk=brk,
                             quarantine=pd.DataFrame())
        iv = spot_intervals(tracks, self._built(), self.params)
        iv = iv[~iv["bridge"]].sort_values("a_s", kind="stable")
        ids = self._built().spot_ids
        for spot, uc, a, b in zip(iv["spot"], iv["unit"], iv["a_s"], iv["b_s"], strict=True):
            self._count(ids[int(spot)], names[int(uc)], float(a), float(b))
        last = frame.groupby("unit").tail(1)
        for u, t, lo, la in zip(last["unit"], last["t_s"], last["lon"], last["lat"], strict=True):
            self._last[str(u)] = (float(t), float(lo), float(la))

    def _count(self, sid: str, unit: str, a: float, b: float) -> None:
        cov = self._covered_to.get(sid, -math.inf)
        self.dose_s[sid] = self.dose_s.get(sid, 0.0) + max(0.0, b - max(a, cov))
        self._covered_to[sid] = max(cov, b)
        st = self.open.get((unit, sid))
        if st is not None and a - st.end_s > self.params.merge_gap_s and not st.manual:
            self._close(unit, sid)
            st = None
        if st is None:
            self.open[(unit, sid)] = Stay(sid, unit, a, b, b - a)
        else:
            st.end_s, st.presence_s = max(st.end_s, b), st.presence_s + (b - a)

    def _close(self, unit: str, sid: str) -> None:
        st = self.open.pop((unit, sid))
        if st.presence_s >= self.params.min_visit_s:
            self.closed.append(st)

    def close_stale(self, now_s: float) -> None:
        """Close the stays whose unit has been away longer than ``merge_gap_s`` (an arrive keeps one open)."""
        for (unit, sid), st in list(self.open.items()):
            if not st.manual and now_s - st.end_s > self.params.merge_gap_s:
                self._close(unit, sid)

    def arrive(self, unit: str, sid: str, t_s: float) -> None:
        """An officer says the unit is at the stop ("My route"): the stay is open until a leave."""
        st = self.open.get((unit, sid))
        if st is None:
            self.open[(unit, sid)] = Stay(sid, unit, t_s, t_s, 0.0, manual=True)
        else:
            st.manual = True

    def leave(self, unit: str, sid: str, t_s: float) -> None:
        """The unit left the stop: its stay ends, with at least the time since the arrive as presence."""
        st = self.open.get((unit, sid))
        if st is None:
            return
        st.presence_s = max(st.presence_s, t_s - st.start_s)
        st.end_s = max(st.end_s, t_s)
        st.manual = False
        self._close(unit, sid)

    def stays(self) -> list[Stay]:
        """Every visit so far (closed, then still open with enough presence), in start order."""
        out = self.closed + [s for s in self.open.values() if s.presence_s >= self.params.min_visit_s or s.manual]
        return sorted(out, key=lambda s: (s.start_s, s.unit))

    def last_position(self, unit: str) -> tuple[float, float, float] | None:
        """(t_s, lon, lat) of the unit's latest position, if any."""
        return self._last.get(unit)

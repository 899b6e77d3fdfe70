"""``benchmarks/live.py --http --night-now``: the HTTP load with the positions IN the night being re-planned.

Without it the load's fixes carry the wall-clock time while the scenario's night is in 2022, so the worker holds
them as later than the night and its dose check stops ("the latest positions are outside the night"). With it:

1. :func:`night_now_scenario` writes a copy of the scenario whose night is now: ``night`` = the local date
   the night starts on, every unit's ``shift``, ``earliest_leave`` and ``break_window`` (and the windows of
   ``[[tasks]]``, ``[[intel_visits]]`` and ``[[exclusions]]``) moved by one offset so that the earliest shift
   started :data:`LEAD_MIN` minutes before now (each shift keeps its length, the breaks their offsets), data
   paths made absolute. ``as_of`` is left at the data's own date: the scenario's validation does not tie
   ``as_of`` to ``night`` (``as_of`` only says which records are scored), so the hot spots are the same;
2. :class:`RouteKeeper` follows the published plan as the worker re-plans it (the newest published version,
   read from the database every :data:`REFRESH_S`): each unit's route as timed polylines (its stops'
   ``path_lonlat`` and ``arrive``/``depart``, the way home);
3. :func:`follow_route` posts a unit's position every 5 s at the wall time, the point its route has it at
   then with a few metres of GPS noise; a unit committed to a call drives there in a straight line and stays;
   a unit not on the plan stays near its station.
"""

from __future__ import annotations

import http.client
import math
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import web as web_bench

#: The night starts this long before the scenario is written (the load starts after plan and warm-up) [min].
LEAD_MIN = 30
#: How often the route keeper looks for a newer published version [s].
REFRESH_S = 2.0
#: GPS noise per axis [m] and the accuracy the devices report [m].
GPS_SIGMA_M = 4.0
GPS_ACCURACY_M = 8.0
#: A committed unit's speed to its call (straight line) [m/s].
CALL_SPEED_MS = 13.0
M_PER_DEG_LAT = 111_320.0


# --- the scenario copy whose night is now ------------------------------------------------------------------
def _moved(hhmm: str, delta_min: int) -> str:
    h, m = (int(x) for x in hhmm.split(":"))
    t = (h * 60 + m + delta_min) % (24 * 60)
    return f"{t // 60:02d}:{t % 60:02d}"


def _moved_window(w: str, delta_min: int) -> str:
    a, b = w.split("-")
    return f"{_moved(a, delta_min)}-{_moved(b, delta_min)}"


def _minute_of_day(hhmm: str) -> int:
    h, m = (int(x) for x in hhmm.split(":"))
    return h * 60 + m


def _absolute(s: Any, p: str) -> str:
    """``p`` relative to the scenario's folder made absolute (a glob stays a glob)."""
    import os

    q = Path(p).expanduser()
    return p if q.is_absolute() else os.path.normpath((s.base_dir / q).absolute())


def _absolute_data(s: Any, data: dict[str, Any]) -> None:
    for src in data["incidents"]:
        src["path"] = _absolute(s, src["path"])
        if src.get("mapping") and Path(src["mapping"]).suffix != "":  # a mapping file, not a named mapping
            src["mapping"] = _absolute(s, src["mapping"])
    for key in ("osm", "ons"):
        if data.get(key):
            data[key] = _absolute(s, data[key])


def night_now_content(s: Any, now: datetime, lead_min: int = LEAD_MIN) -> tuple[dict[str, Any], dict[str, Any]]:
    """The scenario ``s`` as a dict whose night started ``lead_min`` minutes before ``now``, and what was moved.

    Raises ``ValueError`` (one line) for a scenario without units, one with a ``[programme]`` (its days are
    dated) and a night whose moved shifts would start on two dates (a unit starting after midnight)."""
    from zoneinfo import ZoneInfo

    if not s.units:
        raise ValueError(f"scenario {s.name!r} has no [[units]]: --night-now moves their shifts")
    if s.programme is not None:
        raise ValueError(f"scenario {s.name!r} follows a [programme] (dated days): --night-now cannot move it")
    c = s.model_dump(mode="json", exclude={"base_dir"}, exclude_none=True)
    start = (now.astimezone(ZoneInfo(s.timezone)) - timedelta(minutes=lead_min)).replace(second=0, microsecond=0)
    first = min(_minute_of_day(u["shift"].split("-")[0]) for u in c["units"])
    delta = start.hour * 60 + start.minute - first
    for u in c["units"]:
        own = _minute_of_day(u["shift"].split("-")[0]) - first  # this unit's start after the earliest [min]
        if start.hour * 60 + start.minute + own >= 24 * 60:
            raise ValueError(f"unit {u['id']!r} would start after midnight of the moved night: run --night-now "
                             f"when the night's first {own} min fit before 24:00")
        u["shift"] = _moved_window(u["shift"], delta)
        if u.get("earliest_leave"):
            u["earliest_leave"] = _moved(u["earliest_leave"], delta)
        if u.get("break_window"):
            u["break_window"] = _moved_window(u["break_window"], delta)
    for table in ("tasks", "intel_visits", "exclusions"):
        for row in c.get(table, []):
            if row.get("window"):
                row["window"] = _moved_window(row["window"], delta)
    was = s.night.isoformat() if s.night else None
    c["night"] = start.date().isoformat()
    c["name"] = f"{s.name} (night now)"
    _absolute_data(s, c["data"])
    info = {"source": s.name, "night_was": was, "night": c["night"], "moved_by_min": delta % (24 * 60),
            "first_shift_start": start.isoformat(), "shifts": sorted({u["shift"] for u in c["units"]}),
            "as_of": c.get("as_of"),
            "as_of_note": "kept at the data's own date: the scenario's validation does not tie as_of to night "
                          "(only records before as_of are scored), so the hot spots are the original night's"}
    return c, info


def night_now_scenario(src: Path, out_dir: Path, now: datetime | None = None) -> tuple[Path, dict[str, Any]]:
    """Write ``src``'s night-now copy into ``out_dir`` (validated as a scenario file is; written atomically);
    its path and what was moved."""
    import tomli_w

    from patrol_planner.atomic import atomic_write_text
    from patrol_planner.scenario import load_scenario, scenario_from_dict

    s = load_scenario(src)
    content, info = night_now_content(s, now or datetime.now(UTC))
    scenario_from_dict(content, base_dir=out_dir, source=f"{src} with its night moved to now")
    path = out_dir / "night-now.toml"
    head = (f"# {src} with its night moved to now (benchmarks/live.py --http --night-now): shifts, breaks and "
            f"windows moved by {info['moved_by_min']} min, data paths absolute, as_of unchanged.\n")
    atomic_write_text(path, head + tomli_w.dumps(content))
    info["file"] = str(path)
    return path, info


# --- following the published routes ------------------------------------------------------------------------
@dataclass(frozen=True)
class Leg:
    """From ``t0_s`` to ``t1_s`` along ``pts`` ([lon, lat] [deg]) at constant speed; one point: staying."""

    t0_s: float
    t1_s: float
    pts: tuple[tuple[float, float], ...]


def _ts(text: str | None) -> float | None:
    return None if not text else datetime.fromisoformat(text).timestamp()


def _line(path: list[Any] | None, a: tuple[float, float], b: tuple[float, float]) -> tuple[tuple[float, float], ...]:
    pts = tuple((float(p[0]), float(p[1])) for p in path or [])
    return pts if len(pts) >= 2 else (a, b)


def track_of(unit: dict[str, Any]) -> list[Leg]:
    """A plan unit's route (``plan.json`` Unit) as legs in time order: at the station until it leaves, each
    leg driven at its travel time so as to arrive at the stop's ``arrive`` (no sooner than the previous
    ``depart``: a re-plan's first leg starts where the unit is, now), on scene until ``depart``, home the same
    way; at the end station after."""
    here = (float(unit["start"]["lon"]), float(unit["start"]["lat"]))
    legs: list[Leg] = []
    t = _ts(unit.get("leave")) or _ts(unit.get("shift_start")) or 0.0
    for s in unit.get("stops", []):
        arrive, depart = _ts(s["arrive"]) or t, _ts(s["depart"]) or t
        at = (float(s["lon"]), float(s["lat"]))
        t0 = max(t, arrive - float(s.get("travel_s") or 0.0))
        legs.append(Leg(t, t0, (here,)))
        legs.append(Leg(t0, arrive, _line(s.get("path_lonlat"), here, at)))
        legs.append(Leg(arrive, depart, (at,)))
        here, t = at, depart
    end = (float(unit["end"]["lon"]), float(unit["end"]["lat"]))
    back = _ts(unit.get("return_arrive"))
    if back is not None and back > t:
        t0 = max(t, back - float(unit.get("return_travel_s") or 0.0))
        legs.append(Leg(t, t0, (here,)))
        legs.append(Leg(t0, back, _line(unit.get("return_path_lonlat"), here, end)))
    return [leg for leg in legs if leg.t1_s >= leg.t0_s]


def _along(pts: tuple[tuple[float, float], ...], f: float) -> tuple[float, float]:
    """The point a share ``f`` (0..1) of the way along ``pts`` (lengths on a local flat approximation)."""
    if len(pts) == 1:
        return pts[0]
    k = math.cos(math.radians(pts[0][1]))
    seg = [math.hypot((b[0] - a[0]) * k, b[1] - a[1]) for a, b in zip(pts, pts[1:], strict=False)]
    goal, run = max(0.0, min(1.0, f)) * sum(seg), 0.0
    for (a, b), d in zip(zip(pts, pts[1:], strict=False), seg, strict=True):
        if run + d >= goal and d > 0:
            g = (goal - run) / d
            return a[0] + g * (b[0] - a[0]), a[1] + g * (b[1] - a[1])
        run += d
    return pts[-1]


def where(legs: list[Leg], t_s: float, home: tuple[float, float]) -> tuple[float, float]:
    """Where a unit following ``legs`` is at ``t_s``: ``home`` before the route, its end after it."""
    if not legs or t_s < legs[0].t0_s:
        return legs[0].pts[0] if legs else home
    for leg in legs:
        if leg.t0_s <= t_s <= leg.t1_s:
            span = leg.t1_s - leg.t0_s
            return _along(leg.pts, (t_s - leg.t0_s) / span if span > 0 else 1.0)
    return legs[-1].pts[-1]


def with_noise(lonlat: tuple[float, float], rng: random.Random, sigma_m: float = GPS_SIGMA_M) -> tuple[float, float]:
    lon, lat = lonlat
    return (lon + rng.gauss(0, sigma_m) / (M_PER_DEG_LAT * math.cos(math.radians(lat))),
            lat + rng.gauss(0, sigma_m) / M_PER_DEG_LAT)


@dataclass
class Call:
    """A unit committed to a call: from ``origin`` at ``t0_s`` straight to ``place``."""

    t0_s: float
    origin: tuple[float, float]
    place: tuple[float, float]

    def at(self, t_s: float) -> tuple[float, float]:
        k = math.cos(math.radians(self.origin[1]))
        d_m = math.hypot((self.place[0] - self.origin[0]) * k, self.place[1] - self.origin[1]) * M_PER_DEG_LAT
        f = 1.0 if d_m <= 0 else (t_s - self.t0_s) * CALL_SPEED_MS / d_m
        return _along((self.origin, self.place), f)


@dataclass
class RouteKeeper:
    """The published routes the devices follow, refreshed from the database as the worker re-plans."""

    homes: dict[str, tuple[float, float]]  # call sign -> its station [lon, lat]
    tracks: dict[str, list[Leg]] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)
    cleared: set[str] = field(default_factory=set)  # units made available: at their call until the next version
    version: int | None = None
    versions_followed: list[int] = field(default_factory=list)
    check_notes: dict[str, int] = field(default_factory=dict)  # the dose check's outcome, sampled
    lock: threading.Lock = field(default_factory=threading.Lock)

    def position(self, unit: str, t_s: float) -> tuple[float, float]:
        with self.lock:
            call, legs = self.calls.get(unit), self.tracks.get(unit)
        if call is not None:
            return call.at(t_s)
        home = self.homes.get(unit) or next(iter(self.homes.values()))
        return where(legs, t_s, home) if legs else home

    def commit(self, unit: str, place: tuple[float, float]) -> None:
        t = time.time()
        origin = self.position(unit, t)
        with self.lock:
            self.calls[unit] = Call(t, origin, place)

    def clear(self, unit: str) -> None:
        """The unit is available again: it stays at its call until a newer version routes it from there (the
        version it was committed in has it at its call only from its clear time)."""
        with self.lock:
            if unit in self.calls:
                self.cleared.add(unit)

    def load(self, version: int, plan: dict[str, Any]) -> None:
        tracks = {u["id"]: track_of(u) for u in plan.get("units", [])}
        with self.lock:
            if version != self.version:
                for unit in self.cleared:
                    self.calls.pop(unit, None)
                self.cleared.clear()
            self.tracks, self.version = tracks, version
            self.versions_followed.append(version)

    def refresh_loop(self, stop: float) -> None:
        """Until ``stop`` (monotonic): load the newest published version when it changes; sample the dose
        check's outcome (its row's note: "checked to ..." or "... outside the night")."""
        from django.db import connections

        from patrol_planner.web.models import LiveReplan, PlanVersion, Status

        while time.monotonic() < stop:
            v = (PlanVersion.objects.filter(status=Status.PUBLISHED).order_by("-created_at", "-pk")
                 .values_list("pk", flat=True).first())
            if v is not None and v != self.version:
                self.load(v, PlanVersion.objects.get(pk=v).plan())
            notes = LiveReplan.objects.filter(kind="check").order_by("-id").values_list("notes", flat=True).first()
            if notes:
                key = "checked" if notes[0].startswith("checked to") else notes[0][:60]
                self.check_notes[key] = self.check_notes.get(key, 0) + 1
            time.sleep(REFRESH_S)
        connections.close_all()


def homes_of(call_signs: list[str], plan: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Each unit's station [lon, lat]: the plan's start for its units, else its roster station placed by the
    plan's station of that name (the roster's may have no coordinates), else the plan's first station."""
    from django.db import connections

    from patrol_planner.web.models import Unit

    by_name = {u["start"]["name"]: (float(u["start"]["lon"]), float(u["start"]["lat"])) for u in plan["units"]}
    first = next(iter(by_name.values()))
    out = {u["id"]: (float(u["start"]["lon"]), float(u["start"]["lat"])) for u in plan["units"]}
    for u in Unit.objects.filter(call_sign__in=call_signs).select_related("station"):
        if u.call_sign not in out:
            st = u.station
            out[u.call_sign] = ((st.lon, st.lat) if st.lon is not None and st.lat is not None
                                else by_name.get(st.name, first))
    connections.close_all()
    return out


def follow_route(c: Any, call_sign: str, rec: Any, stop: float, acked: set[tuple[str, str]], rng: random.Random,
                 keeper: RouteKeeper) -> None:
    """A device posting its unit's position every 5 s at the wall time (``benchmarks/web.py``'s retries: a
    failed post is retried with the same id, so it is stored at most once)."""
    n = 0
    time.sleep(rng.uniform(0, web_bench.POSITION_EVERY_S))
    nxt = time.monotonic()
    while time.monotonic() < stop:
        n += 1
        now = datetime.now(UTC)
        lon, lat = with_noise(keeper.position(call_sign, now.timestamp()), rng)
        fix = {"id": f"{call_sign}-{n}-{secrets.token_hex(4)}", "time": now.isoformat(), "lon": round(lon, 6),
               "lat": round(lat, 6), "accuracy_m": GPS_ACCURACY_M}
        _post(c, call_sign, fix, rec, acked)
        nxt += web_bench.POSITION_EVERY_S
        time.sleep(max(0.0, nxt - time.monotonic()))


def _post(c: Any, call_sign: str, fix: dict[str, Any], rec: Any, acked: set[tuple[str, str]]) -> None:
    for _attempt in range(3):
        t = time.monotonic()
        try:
            status, body, dt = c.api("POST", f"/api/device/units/{call_sign}/positions", fix)
        except (OSError, http.client.HTTPException) as exc:
            rec.add(web_bench.Sample("api", "POST positions", t, time.monotonic() - t, False), f"position: {exc!r}")
            time.sleep(1)
            continue
        ok = status in (200, 201)
        rec.add(web_bench.Sample("api", "POST positions", t, dt, ok), None if ok else f"position: HTTP {status} {body}")
        if ok:
            with rec.lock:
                acked.add((call_sign, fix["id"]))
            return
        if status < 500:
            return
        time.sleep(1)


# --- what the worker did with them -------------------------------------------------------------------------
def checks_summary() -> dict[str, Any]:
    """The worker's dose checks (each a ``live_check_job`` task run on the one ``check`` row), their
    duration, the re-plans a spot's dose caused, the alerts raised and the positions quarantined by reason."""
    from django.db import connections
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    from patrol_planner.web.models import LiveAlert, LiveReplan, QuarantinedEvent

    runs = list(DBTaskResult.objects.filter(task_path__endswith="live_check_job")
                .values_list("status", "started_at", "finished_at"))
    took = sorted((b - a).total_seconds() for s, a, b in runs if a is not None and b is not None)
    row = LiveReplan.objects.filter(kind="check").order_by("-id").values("state", "notes", "error").first()
    out = {"runs": len(runs), "by_status": {s: sum(r[0] == s for r in runs) for s in {r[0] for r in runs}},
           "seconds_p50": _q(took, 0.5), "seconds_p95": _q(took, 0.95),
           "seconds_max": round(took[-1], 3) if took else None,
           "last": row or {},
           "dose_replans": LiveReplan.objects.filter(kind="replan", trigger__contains="has had its").count(),
           "alerts": LiveAlert.objects.count(),
           "quarantined": {r["reason"]: r["n"] for r in QuarantinedEvent.objects.values("reason")
                           .annotate(n=Count("id"))}}
    connections.close_all()
    return out


def _q(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    return round(xs[min(len(xs) - 1, max(0, int(q * len(xs) + 0.999999) - 1))], 3)

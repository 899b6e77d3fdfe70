"""The web layer's calls into the package and its state changes; views and the API stay thin over these.

Planning is :func:`patrol_planner.scenario.run_plan` and :meth:`patrol_planner.plan.Plan.to_json`; nothing
here scores, routes or edits a plan.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from patrol_planner.web import audit
from patrol_planner.web.candidates import candidates, candidates_path  # noqa: F401  (candidates: used by views)
from patrol_planner.web.models import (
    Approval,
    DeviceToken,
    ImmutableError,
    PlanJob,
    PlanVersion,
    Position,
    Status,
    StoredScenario,
    Unit,
    Visit,
)

T = TypeVar("T")


class ActionRefused(Exception):
    """A request the rules refuse (wrong state, wrong unit): one line, shown to the user (HTTP 409/403)."""


# --- planning -------------------------------------------------------------------------------------------
def request_plan(stored: StoredScenario, user: Any) -> PlanJob:
    """Queue a plan of ``stored`` with tonight's units on duty; the worker runs :func:`run_plan_job`."""
    from patrol_planner.web.tasks import plan_job

    units = [u.as_config() for u in Unit.objects.filter(on_duty=True).select_related("station", "end_station")]
    if not units:
        raise ActionRefused("no unit is on duty tonight: mark at least one unit available")
    parent = stored.versions.order_by("-number").first()
    with transaction.atomic():
        job = PlanJob.objects.create(scenario=stored, requested_by=user, units=units, parent=parent)
        audit.record("plan_requested", actor=user, target=f"job:{job.pk}",
                     detail={"scenario": stored.name, "units": [u["id"] for u in units]})
    # Enqueued after the commit: the worker must find the job row when it picks the task up.
    transaction.on_commit(lambda: _enqueue(job.pk, plan_job))
    return job


def _enqueue(job_id: int, task: Any) -> None:
    result = task.enqueue(job_id)
    PlanJob.objects.filter(pk=job_id).update(task_id=str(result.id))


# --- sign-off -------------------------------------------------------------------------------------------
#: Which role may move a version to each status.
SIGN_OFF_ROLE = {Status.SUBMITTED: "tasking", Status.APPROVED: "supervisor", Status.REJECTED: "supervisor",
                 Status.PUBLISHED: "supervisor"}


def sign_off(version_id: int, to: str, user: Any, reason: str = "") -> PlanVersion:
    """Move a version to ``to`` with a named, timestamped :class:`Approval`, all or nothing.

    Raises :class:`ActionRefused` for a change the rules do not allow (e.g. publishing an unapproved plan).
    """
    reason = reason.strip()
    if to == Status.REJECTED and not reason:
        raise ActionRefused("a rejection needs a reason")
    with transaction.atomic():
        v = PlanVersion.objects.select_for_update().get(pk=version_id)
        before = v.status
        v.status = to
        try:
            v.save()
        except ImmutableError:
            raise ActionRefused(f"a {before} plan cannot be {to}") from None
        Approval.objects.create(version=v, decision=to, by=user, reason=reason[:2000])
        audit.record(f"plan_{to}", actor=user, target=f"version:{v.pk}",
                     detail={"from": before, "reason_given": bool(reason)})
        _fault_pause()
    return v


#: Test-only hook (tests/web/test_web_faults.py): when set to a file path, a sign-off that has written its
#: status, approval row and audit event creates that file and waits, before its transaction commits, so that
#: a test can kill the server at exactly that point. Unset in any real deployment.
FAULT_PAUSE_ENV = "PATROL_PLANNER_TEST_PAUSE_IN_SIGN_OFF"


def _fault_pause() -> None:
    import os
    import time
    from pathlib import Path

    marker = os.environ.get(FAULT_PAUSE_ENV)
    if marker:
        Path(marker).write_text(str(os.getpid()), encoding="ascii")
        time.sleep(120)


# --- the officer's view ---------------------------------------------------------------------------------
def published_for_unit(unit: Unit) -> PlanVersion | None:
    """The newest published version that routes ``unit``."""
    return (PlanVersion.objects.filter(status=Status.PUBLISHED, routed_units__call_sign=unit.call_sign)
            .order_by("-created_at", "-pk").first())


def officer_route(version: PlanVersion, unit: Unit) -> dict[str, Any]:
    """One unit's route as an officer may see it: a whitelist of fields, nothing from intelligence.

    "Why this place" is the public place name, its rank and the number of police-recorded crimes in the
    cell; intelligence counts and categories (which intelligence records shape) are never copied.
    """
    plan = version.plan_shared()
    unit_plan = next(u for u in plan["units"] if u["id"] == unit.call_sign)
    spots = {h["hotspot_id"]: h for h in plan["hotspots"]}
    from patrol_planner.web.live_replan import route_chain

    # a live re-plan keeps the stops already started with their numbers: what was recorded on them still counts
    done = {(v.stop_seq, v.kind): v for v in Visit.objects.filter(unit=unit, version_id__in=route_chain(version))
            if next((s for s in unit_plan["stops"] if s["seq"] == v.stop_seq), {}).get("hotspot_id") == v.hotspot_id}
    stops = []
    for s in unit_plan["stops"]:
        h = spots.get(s["hotspot_id"], {})
        b = h.get("breakdown", {})
        crimes = max(0, int(b.get("n_incidents", 0)) - int(b.get("n_intelligence", 0)))
        state = ("not_attended" if (s["seq"], "not_attended") in done else "left" if (s["seq"], "leave") in done
                 else "arrived" if (s["seq"], "arrive") in done else "to_do")
        # a task or an intelligence-led visit reads the same: nothing tells an officer which one it is
        why = (f"ranked {h.get('rank', '?')} of {len(spots)} places tonight; "
               f"{crimes} police-recorded crime{'s' if crimes != 1 else ''} here recently") if h \
            else "a visit the tasking room asked for"
        stops.append({"seq": s["seq"], "hotspot_id": s["hotspot_id"], "visit_no": s["visit_no"],
                      "arrive": s["arrive"], "depart": s["depart"], "lon": s["lon"], "lat": s["lat"],
                      "place": h.get("label") or ("Patrol area" if h else "Tasking room visit"), "rank": h.get("rank"),
                      "why": why, "state": state, "path_lonlat": s.get("path_lonlat", [])})
    nxt = next((s for s in stops if s["state"] in ("to_do", "arrived")), None)
    return {"version": version.pk, "unit": unit.call_sign, "mode": unit_plan["mode"],
            "shift_start": unit_plan["shift_start"], "shift_end": unit_plan["shift_end"],
            "start": unit_plan["start"], "end": unit_plan["end"], "stops": stops,
            "next_seq": nxt["seq"] if nxt else None,
            "return_path_lonlat": unit_plan.get("return_path_lonlat", [])}


def record_visit(version: PlanVersion, unit: Unit, seq: int, kind: str, user: Any, reason: str = "", *,
                 device: DeviceToken | None = None) -> Visit:
    """Record an arrival, departure or could-not-attend at stop ``seq`` of ``unit``'s published route,
    by an officer (``user``) or by the unit's device (``device``, ``user`` None)."""
    if version.status != Status.PUBLISHED:
        raise ActionRefused("visits are recorded on published plans only")
    unit_plan = next((u for u in version.plan_shared()["units"] if u["id"] == unit.call_sign), None)
    stop = next((s for s in (unit_plan or {}).get("stops", []) if s["seq"] == seq), None)
    if stop is None:
        raise ActionRefused(f"stop {seq} is not on {unit.call_sign}'s route")
    if kind not in Visit.Kind.values:
        raise ActionRefused(f"unknown visit kind {kind!r}")
    reason = reason.strip()
    if kind == Visit.Kind.NOT_ATTENDED and not reason:
        raise ActionRefused("say why the stop could not be attended")
    with transaction.atomic():
        visit = Visit.objects.create(version=version, unit=unit, stop_seq=seq, hotspot_id=stop["hotspot_id"],
                                     kind=kind, reason=reason[:300], recorded_by=user, device=device)
        audit.record(f"visit_{kind}", actor=user or f"device:{device.pk}", target=f"version:{version.pk}",
                     detail={"unit": unit.call_sign, "seq": seq, "hotspot_id": stop["hotspot_id"]})
    return visit


# --- exports -------------------------------------------------------------------------------------------
#: Files a stored version can be downloaded as, with their media types (the CLI's ``plan --out`` files).
EXPORTS = {"plan.json": "application/json", "plan.geojson": "application/geo+json", "schedule.csv": "text/csv",
           "briefing.html": "text/html"}


def export(version: PlanVersion, name: str, user: Any) -> bytes:
    """One of the version's files, made by the package's ``report.write_outputs`` from the stored plan.json
    (``plan.json`` itself is the stored text, byte for byte). Audited."""
    import tempfile
    from pathlib import Path

    from patrol_planner.plan import Plan
    from patrol_planner.report import write_outputs

    if name == "plan.json":
        data = version.plan_json.encode("utf-8")
    else:
        with tempfile.TemporaryDirectory(prefix="patrol-export-") as tmp:
            data = Path(write_outputs(Plan.from_dict(version.plan_shared()), tmp)[name]).read_bytes()
    audit.record("export", actor=user, target=f"version:{version.pk}", detail={"file": name})
    return data


# --- device tokens -------------------------------------------------------------------------------------
#: Prefix of every device token, so a leaked one is recognisable (e.g. by secret scanners).
TOKEN_PREFIX = "ppd_"


def issue_device_token(unit: Unit, name: str, actor: Any = "cli") -> tuple[DeviceToken, str]:
    """A new token for ``unit``'s device; returns the row and the token, which is never stored or shown again."""
    import secrets

    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        dev = DeviceToken.objects.create(unit=unit, name=name[:80], token_sha256=DeviceToken.digest(token))
        audit.record("device_added", actor=actor, target=f"device:{dev.pk}", detail={"unit": unit.call_sign})
    return dev, token


def device_for(token: str) -> DeviceToken | None:
    """The active device a presented token belongs to, or None (unknown or revoked)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    return (DeviceToken.objects.select_related("unit")
            .filter(token_sha256=DeviceToken.digest(token), revoked_at__isnull=True).first())


#: A position older than this, or further ahead than the clock skew allowed, is refused as absurd.
POSITION_MAX_AGE = timedelta(hours=24)
POSITION_MAX_AHEAD = timedelta(minutes=5)


class InvalidPosition(ActionRefused):
    """A position the rules refuse (time absurd): HTTP 422 with this reason."""


class PositionConflict(ActionRefused):
    """The client id was already used for a different position: HTTP 409."""


def position_stored(device: DeviceToken, client_id: str) -> bool:
    """Whether the device's unit already has a position under ``client_id`` (a retry)."""
    return Position.objects.filter(unit_id=device.unit_id, client_id=client_id).exists()


def record_position(device: DeviceToken, client_id: str, at: datetime, lon: float, lat: float,
                    accuracy_m: float) -> tuple[Position, bool]:
    """Store one GPS fix from ``device`` for its unit; return it and whether it is new.

    Idempotent on ``client_id``: a retried post with the same id and content returns the stored row (the
    unique constraint makes this hold under concurrent retries too); the same id with other content is a
    :class:`PositionConflict`. Positions are not audited one by one (40 units every 5 s would drown the
    log); a device's first position is (``device_positions_started``).
    """
    if at.tzinfo is None:
        raise InvalidPosition("time must carry its UTC offset")
    now = timezone.now()
    if at > now + POSITION_MAX_AHEAD:
        raise InvalidPosition(f"time is more than {POSITION_MAX_AHEAD} ahead of the server clock")
    if at < now - POSITION_MAX_AGE:
        raise InvalidPosition(f"time is more than {POSITION_MAX_AGE} old")

    def same(p: Position) -> tuple[Position, bool]:
        if (p.at, p.lon, p.lat, p.accuracy_m) != (at, lon, lat, accuracy_m):
            raise PositionConflict(f"client id {client_id!r} was already used for another position")
        return p, False

    found = Position.objects.filter(unit_id=device.unit_id, client_id=client_id).first()
    if found is not None:
        return same(found)
    try:
        with transaction.atomic():
            pos = Position.objects.create(unit_id=device.unit_id, device=device, client_id=client_id, at=at,
                                          lon=lon, lat=lat, accuracy_m=accuracy_m)
            if device.first_position_at is None and DeviceToken.objects.filter(
                    pk=device.pk, first_position_at__isnull=True).update(first_position_at=now):
                audit.record("device_positions_started", actor=f"device:{device.pk}",
                             target=f"unit:{device.unit.call_sign}")
    except IntegrityError:  # the same id posted twice at once: the other request stored it
        return same(Position.objects.get(unit_id=device.unit_id, client_id=client_id))
    return pos, True


def revoke_device(device_id: int, actor: Any = "cli") -> DeviceToken:
    from django.utils import timezone

    with transaction.atomic():
        dev = DeviceToken.objects.select_for_update().get(pk=device_id)
        if dev.revoked_at is None:
            dev.revoked_at = timezone.now()
            dev.save(update_fields=["revoked_at"])
            audit.record("device_revoked", actor=actor, target=f"device:{dev.pk}", detail={"unit": dev.unit.call_sign})
    return dev


# --- figures for the pages ------------------------------------------------------------------------------
def per_version(fn: Callable[[PlanVersion], T]) -> Callable[[PlanVersion], T]:
    """Memoise a READ-ONLY figure of a version: its content never changes, so each process computes it once
    (the newest 64 versions kept). Every page showing a plan computed these on every request."""
    kept: OrderedDict[tuple[int, str], T] = OrderedDict()
    lock = threading.Lock()

    @functools.wraps(fn)
    def wrapper(version: PlanVersion) -> T:
        key = (version.pk, version.plan_sha256)
        with lock:
            if key in kept:
                kept.move_to_end(key)
                return kept[key]
        value = fn(version)
        with lock:
            kept[key] = value
            while len(kept) > 64:
                kept.popitem(last=False)
        return value

    return wrapper


@per_version
def plan_summary(version: PlanVersion) -> dict[str, Any]:
    """What the Tonight and Approve pages show of a version: metrics, per-unit timelines, left-out places."""
    plan = version.plan_shared()
    m = plan.get("metrics", {})
    units = [{"id": u["id"], "mode": u["mode"], "leave": u.get("leave"), "back": u.get("return_arrive"),
              "stops": [{"seq": s["seq"], "hotspot_id": s["hotspot_id"], "arrive": s["arrive"],
                         "depart": s["depart"]} for s in u["stops"]],
              "road_km": round(u.get("road_m", 0) / 1000, 1)} for u in plan["units"]]
    for u, raw in zip(units, plan["units"], strict=True):
        u["bars"] = _timeline(raw)
    left_out = [{"rank": h["rank"], "place": h.get("label") or h["hotspot_id"], "reason": h.get("reason", "")}
                for h in plan["hotspots"] if h["status"] != "visited"]
    return {"metrics": {k: m.get(k) for k in ("hotspots_offered", "hotspots_visited", "visits", "road_km",
                                              "travel_min", "idle_min")},
            "units": units, "left_out": left_out, "title": plan.get("title", "")}


def _timeline(u: dict[str, Any]) -> list[dict[str, Any]]:
    """A unit's shift as bars for the inline SVG timeline: x and width in % of the shift, one bar per stop."""
    from datetime import datetime

    try:
        t0, t1 = datetime.fromisoformat(u["shift_start"]), datetime.fromisoformat(u["shift_end"])
    except (KeyError, TypeError, ValueError):
        return []
    span = (t1 - t0).total_seconds() or 1.0

    def pct(t: str) -> float:
        return round(min(100.0, max(0.0, (datetime.fromisoformat(t) - t0).total_seconds() / span * 100)), 2)

    return [{"x": pct(s["arrive"]), "w": max(0.6, round(pct(s["depart"]) - pct(s["arrive"]), 2)), "seq": s["seq"],
             "label": f"#{s['seq']} {s['arrive'][11:16]}-{s['depart'][11:16]} {s.get('label') or ''}".strip(),
             "task": s.get("kind", "hotspot") != "hotspot"} for s in u["stops"]]


@per_version
def institutions(version: PlanVersion) -> list[dict[str, Any]]:
    """Institutions the plan set aside (hospitals, stations...): label, kind and the reason (``plan.json``)."""
    inst = version.plan_shared().get("metrics", {}).get("institutions_set_aside") or {}
    return [{"place": c.get("label") or c.get("name", ""), "kind": c.get("kind", ""), "reason": c.get("reason", "")}
            for c in inst.get("cells", [])]


def plan_diff(old: PlanVersion, new: PlanVersion) -> dict[str, Any]:
    """What changed from ``old`` to ``new``: places now visited or dropped, each unit's stops, the figures."""
    a, b = old.plan_shared(), new.plan_shared()

    def visited(p: dict[str, Any]) -> dict[str, str]:
        return {h["hotspot_id"]: h.get("label") or h["hotspot_id"] for h in p["hotspots"] if h["status"] == "visited"}

    def stops(p: dict[str, Any]) -> dict[str, int]:
        return {u["id"]: len(u["stops"]) for u in p["units"]}

    va, vb, sa, sb = visited(a), visited(b), stops(a), stops(b)
    keys = ("hotspots_visited", "visits", "road_km", "travel_min", "idle_min")
    return {
        "added": sorted(vb[k] for k in vb.keys() - va.keys()),
        "dropped": sorted(va[k] for k in va.keys() - vb.keys()),
        "units": [{"id": u, "before": sa.get(u), "after": sb.get(u)} for u in sorted(sa.keys() | sb.keys())
                  if sa.get(u) != sb.get(u)],
        "metrics": [{"name": k, "before": a["metrics"].get(k), "after": b["metrics"].get(k)} for k in keys
                    if a["metrics"].get(k) != b["metrics"].get(k)],
    }


@per_version
def map_features(version: PlanVersion) -> dict[str, Any]:
    """The version's hot spots and routes as GeoJSON for the Tonight map (analyst and tasking roles only)."""
    plan = version.plan_shared()
    feats: list[dict[str, Any]] = []
    for h in plan["hotspots"]:
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [h["lon"], h["lat"]]},
                      "properties": {"kind": "spot", "rank": h["rank"], "status": h["status"],
                                     "place": h.get("label", "")}})
    for u in plan["units"]:
        pts = [[u["start"]["lon"], u["start"]["lat"]]]
        for s in u["stops"]:
            pts.extend(s.get("path_lonlat") or [])
            pts.append([s["lon"], s["lat"]])
        pts.extend(u.get("return_path_lonlat") or [])
        pts.append([u["end"]["lon"], u["end"]["lat"]])
        feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": pts},
                      "properties": {"kind": "route", "unit": u["id"]}})
    return {"type": "FeatureCollection", "features": feats}


def route_features(route: dict[str, Any]) -> dict[str, Any]:
    """An officer route (from :func:`officer_route`) as GeoJSON."""
    pts = [[route["start"]["lon"], route["start"]["lat"]]]
    feats: list[dict[str, Any]] = []
    for s in route["stops"]:
        pts.extend(s["path_lonlat"])
        pts.append([s["lon"], s["lat"]])
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                      "properties": {"kind": "stop", "seq": s["seq"], "place": s["place"], "state": s["state"],
                                     "next": s["seq"] == route["next_seq"]}})
    pts.extend(route["return_path_lonlat"])
    pts.append([route["end"]["lon"], route["end"]["lat"]])
    feats.insert(0, {"type": "Feature", "geometry": {"type": "LineString", "coordinates": pts},
                     "properties": {"kind": "route", "unit": route["unit"]}})
    return {"type": "FeatureCollection", "features": feats}



# --- GPX per unit ------------------------------------------------------------------------------------------
def export_gpx(version: PlanVersion, unit_id: str, user: Any) -> bytes:
    """One unit's route as GPX 1.1, made by the package's ``report.exports.unit_gpx`` (the file ``plan --out``
    writes under ``gpx/``). Audited like the other exports. Raises ``KeyError`` for a unit not in the plan."""
    from patrol_planner.plan import Plan
    from patrol_planner.report.exports import unit_gpx

    plan = Plan.from_dict(version.plan_shared())
    unit = next((u for u in plan.units if u.unit_id == unit_id), None)
    if unit is None:
        raise KeyError(unit_id)
    data = unit_gpx(plan, unit).encode("utf-8")
    audit.record("export", actor=user, target=f"version:{version.pk}", detail={"file": f"gpx/{unit_id}.gpx"})
    return data


# --- scenario TOML export ----------------------------------------------------------------------------------
def scenario_toml(stored: StoredScenario, user: Any) -> str:
    """The stored scenario as a TOML file that ``plan`` reads back to the same model (paths absolute, as stored).

    Audited (``scenario_exported``)."""
    import tomli_w

    content = stored.scenario().model_dump(mode="json", exclude={"base_dir"}, exclude_none=True)
    text = (f"# {stored.name}: exported from the tasking room. Relative paths start at {stored.base_dir}\n"
            + tomli_w.dumps(content))
    audit.record("scenario_exported", actor=user, target=f"scenario:{stored.pk}", detail={"name": stored.name})
    return text


# --- tonight's parameters and tasks ------------------------------------------------------------------------
#: The parameters the Tonight page edits: form field -> (scenario table, key, type).
PARAMETERS = {"seconds": ("solver", "time_limit_s", float), "top": ("hotspots", "top", int),
              "dwell_min": ("visits", "dwell_min", float), "max_visits": ("visits", "max_visits", int)}


def parameters_of(stored: StoredScenario) -> dict[str, Any]:
    c = stored.content
    return {name: c.get(table, {}).get(key) for name, (table, key, _t) in PARAMETERS.items()}


def _store_changed(stored: StoredScenario, changes: dict[str, Any], user: Any, what: dict[str, Any]) -> StoredScenario:
    """Validate ``changes`` through the package's pydantic model (``Scenario.replace``) and store the result as
    the scenario's content, audited. Versions keep the scenario they were planned from, so nothing made
    before changes. Raises ``ScenarioError`` (one line per bad field) and stores nothing when invalid."""
    new = stored.scenario().replace(**changes)
    with transaction.atomic():
        s = StoredScenario.objects.select_for_update().get(pk=stored.pk)
        s.content = StoredScenario.content_of(new)
        s.save(update_fields=["content"])
        audit.record("scenario_edited", actor=user, target=f"scenario:{s.pk}", detail=what)
    return s


def set_parameters(stored: StoredScenario, form: dict[str, str], user: Any) -> StoredScenario:
    """Tonight's solver seconds, number of spots, dwell and visits from a form (strings); bad values raise
    ``ScenarioError`` with the field named."""
    from patrol_planner.errors import ScenarioError

    changes: dict[str, dict[str, Any]] = {}
    for name, (table, key, typ) in PARAMETERS.items():
        raw = (form.get(name) or "").strip()
        if not raw:
            continue
        try:
            changes.setdefault(table, {})[key] = typ(raw)
        except ValueError:
            raise ScenarioError(f"{name}: {raw!r} is not a {'whole ' if typ is int else ''}number") from None
    return _store_changed(stored, changes, user, {"parameters": {k: v for t in changes.values() for k, v in t.items()}})


TASK_FIELDS = ("id", "lon", "lat", "window", "dwell_min", "kind", "address")


def add_task(stored: StoredScenario, form: dict[str, str], user: Any) -> StoredScenario:
    """Add one ``[[tasks]]`` entry (id, lon/lat, window ``HH:MM-HH:MM``, dwell_min, kind, address) from a form,
    validated by the package's ``TaskConfig``; raises ``ScenarioError`` naming the bad field."""
    task: dict[str, Any] = {k: (form.get(k) or "").strip() for k in TASK_FIELDS}
    task = {k: v for k, v in task.items() if v != ""}
    tasks = [*stored.content.get("tasks", []), task]
    return _store_changed(stored, {"tasks": tasks}, user, {"task_added": task.get("id", "")})


def remove_task(stored: StoredScenario, task_id: str, user: Any) -> StoredScenario:
    from patrol_planner.errors import ScenarioError

    tasks = stored.content.get("tasks", [])
    kept = [t for t in tasks if t.get("id") != task_id]
    if len(kept) == len(tasks):
        raise ScenarioError(f"no task {task_id!r} in this scenario")
    return _store_changed(stored, {"tasks": kept}, user, {"task_removed": task_id})


# --- candidate hot spots before the first plan --------------------------------------------------------------
def request_candidates(stored: StoredScenario) -> bool:
    """Queue :func:`score_candidates` unless its cache exists or a task for it is already waiting; True if
    queued."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from patrol_planner.web.tasks import candidates_job

    if candidates_path(stored).is_file():
        return False
    waiting = DBTaskResult.objects.filter(task_path=candidates_job.module_path,
                                          status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING])
    if any(t.args_kwargs.get("args") == [stored.pk] for t in waiting):
        return False
    candidates_job.enqueue(stored.pk)
    return True


# --- two versions side by side -------------------------------------------------------------------------------
def compare(a: PlanVersion, b: PlanVersion) -> dict[str, Any]:
    """Two versions of one scenario side by side: each one's summary and what changed from ``a`` to ``b``."""
    if a.scenario_id != b.scenario_id:
        raise ActionRefused("compare two versions of the same night")
    return {"a": a, "b": b, "sa": plan_summary(a), "sb": plan_summary(b), "diff": plan_diff(a, b)}

"""Control-spot alerts (``docs/web.md``, "Live dose and control-spot alerts"): when tonight is a day of a stored
programme, a unit inside one of that day's CONTROL spots (a spot to keep away from: a patrol there
contaminates the comparison) raises an alert to the supervisor, one per unit x spot x visit, stored
(:class:`~patrol_planner.web.models.LiveAlert`), audited, listed for the tasking room and acknowledged by a
supervisor. Never shown to officers.

Presence is the dosage package's (:class:`patrol_planner.live.dose.DoseMeter`: the spot's polygon buffered
by the GPS tolerance, each interval between two pings counted once, absences up to ``merge_gap_s`` joined into
one visit), with no minimum stay: any presence alerts. The worker's dose check runs it on the positions stored
since the last check (``web.live_check``), so the ingest pays nothing for it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from patrol_planner.web import audit
from patrol_planner.web.models import LiveAlert, PlanVersion, Position, ProgrammeRecord, Unit

#: Nights whose control-spot watch a worker process keeps.
WATCHES_KEPT = 2


@dataclass
class _Watch:
    """One night's control spots and the presence measured in them so far (in this process)."""

    meter: Any  # live.dose.DoseMeter over the control zones; zone key "<programme id>:<spot id>"
    windows: dict[int, tuple[float, float]]  # programme id -> its patrol window that day [s since epoch]
    day: date
    last_id: int = 0
    written: dict[tuple[str, str, float], tuple[float, float]] = field(default_factory=dict)


_WATCHES: OrderedDict[tuple[int, str], _Watch] = OrderedDict()
_LOCK = threading.Lock()


def control_zones(day: date) -> tuple[dict[str, Any], dict[int, tuple[float, float]]]:
    """Tonight's control spots (zone key -> lon/lat polygon) of every stored programme with ``day`` as a
    programme day (the package's ``day_tasking``, amendments applied), and each programme's patrol window.
    Read once a night per worker (each record laid out as a folder and checked by the package's reader)."""
    from patrol_planner.errors import PatrolPlannerError
    from patrol_planner.programme import day_tasking, read_programme
    from patrol_planner.web.programme_folder import laid_out

    zones, windows = {}, {}
    for rec in ProgrammeRecord.objects.order_by("pk"):
        try:
            with laid_out(rec) as folder:
                prog = read_programme(folder)
        except PatrolPlannerError:  # a record the package refuses shows its error on its own page
            continue
        if not prog.dates[0] <= day <= prog.dates[-1]:
            continue
        d = day_tasking(prog, day)
        for s in d["control"]:
            zones[f"{rec.pk}:{s['spot_id']}"] = prog.spots[s["spot_id"]]
        windows[rec.pk] = (datetime.fromisoformat(d["window_start"]).timestamp(),
                           datetime.fromisoformat(d["window_end"]).timestamp())
    return zones, windows


def _watch(key: tuple[int, str], day: date, crs: str) -> _Watch:
    from patrol_planner.dosage import DosageParams
    from patrol_planner.live.dose import DoseMeter

    with _LOCK:
        w = _WATCHES.get(key)
    if w is None:
        zones, windows = control_zones(day)
        meter = DoseMeter(crs, DosageParams(min_visit_s=0.0))
        meter.add_zones(zones)
        w = _Watch(meter, windows, day)
        with _LOCK:
            _WATCHES[key] = w
            while len(_WATCHES) > WATCHES_KEPT:
                _WATCHES.popitem(last=False)
    return w


def watch_positions(root: PlanVersion, key: tuple[int, str], night: tuple[datetime, datetime], crs: str) -> int:
    """Measure the positions stored since the last call (inside the night) in tonight's control spots and raise
    or update their alerts; returns how many alerts were raised now. ``crs``: the night's working CRS."""
    import numpy as np

    w = _watch(key, night[0].date(), crs)
    if not w.meter.zones_lonlat:  # no programme day tonight, or no control spot on it
        return 0
    rows = list(Position.objects.filter(id__gt=w.last_id, at__gte=night[0], at__lte=night[1])
                .order_by("id").values_list("id", "unit__call_sign", "at", "lon", "lat"))
    if not rows:
        return 0
    w.last_id = rows[-1][0]
    _, unit, at, lon, lat = zip(*rows, strict=True)
    w.meter.add_positions(np.array(unit, dtype=object), np.array([t.timestamp() for t in at]), np.array(lon, float),
                          np.array(lat, float))
    return _write_alerts(root, w)


def _write_alerts(root: PlanVersion, w: _Watch) -> int:
    """Store each visit in a control spot inside its programme's window that is new or changed since last
    written; audit the new ones."""
    stays = w.meter.closed + list(w.meter.open.values())
    units: dict[str, Unit] = {}
    raised = 0
    for st in stays:
        pid, spot = st.site_id.split(":", 1)
        a, b = w.windows[int(pid)]
        key = (st.unit, st.site_id, st.start_s)
        if st.presence_s <= 0 or st.end_s < a or st.start_s > b or w.written.get(key) == (st.end_s, st.presence_s):
            continue
        unit = units.get(st.unit) or Unit.objects.filter(call_sign=st.unit).first()
        if unit is None:
            continue
        units[st.unit] = unit
        with transaction.atomic():
            alert, created = LiveAlert.objects.update_or_create(
                programme_id=int(pid), unit=unit, spot_id=spot, first_at=datetime.fromtimestamp(st.start_s, UTC),
                defaults={"last_at": datetime.fromtimestamp(st.end_s, UTC), "minutes": round(st.presence_s / 60, 2),
                          "day": w.day, "authorised_by": root})
            if created:
                raised += 1
                audit.record("control_spot_alert", actor="system", target=f"unit:{unit.pk}",
                             detail={"alert": alert.pk, "programme": int(pid), "spot": spot, "day": w.day.isoformat()})
        w.written[key] = (st.end_s, st.presence_s)
    return raised


def alerts(limit: int = 100) -> list[dict[str, Any]]:
    """The latest alerts, newest first, for the tasking room (ids, unit, spot, times, minutes, acknowledgement)."""
    rows = LiveAlert.objects.select_related("unit", "acknowledged_by", "programme").order_by("-first_at", "-id")
    return [shown(a) for a in rows[:limit]]


def shown(a: LiveAlert) -> dict[str, Any]:
    """One alert as the tasking room sees it."""
    return {"id": a.pk, "kind": a.kind, "unit": a.unit.call_sign, "programme": a.programme.name,
            "programme_id": a.programme_id, "day": a.day, "spot": a.spot_id, "first_at": a.first_at,
            "last_at": a.last_at, "minutes": a.minutes,
            "acknowledged_by": a.acknowledged_by.get_username() if a.acknowledged_by else None,
            "acknowledged_at": a.acknowledged_at}


def acknowledge(alert_id: int, user: Any) -> LiveAlert:
    """A supervisor acknowledges an alert (audited ``live_alert_acknowledged``); acknowledging it again
    changes nothing."""
    with transaction.atomic():
        a = LiveAlert.objects.select_for_update().get(pk=alert_id)
        if a.acknowledged_at is None:
            a.acknowledged_by, a.acknowledged_at = user, timezone.now()
            a.save(update_fields=["acknowledged_by", "acknowledged_at"])
            audit.record("live_alert_acknowledged", actor=user, target=f"alert:{a.pk}",
                         detail={"unit": a.unit_id, "spot": a.spot_id, "programme": a.programme_id})
    return a

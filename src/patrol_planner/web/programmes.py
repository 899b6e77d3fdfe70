"""Programme records in the database over the package's programme record (``patrol_planner.programme``).

The issued files are stored byte for byte; every read or amendment lays them out in a temporary folder with
the stored amendments and calls the package itself (:func:`read_programme`, :func:`add_amendment`), so the
web application applies exactly the package's checks and messages: unknown action, missing reason, a day
outside the programme, an unknown spot, a duplicate, an amendment that changes nothing.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from django.db import transaction

from patrol_planner.errors import ProgrammeError
from patrol_planner.programme import read_programme
from patrol_planner.programme.calendar import calendar_grid
from patrol_planner.web import audit
from patrol_planner.web.models import EvaluationRecord, ProgrammeAmendment, ProgrammeRecord
from patrol_planner.web.programme_folder import FILES, laid_out, lay_out
from patrol_planner.web.services import ActionRefused


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")  # bytes as issued: no newline translation, the hashes hold


def import_programme(folder: str | Path, *, name: str | None = None, actor: Any = "cli") -> ProgrammeRecord:
    """Check a programme folder with :func:`read_programme` and store it with its amendments, all or nothing.

    A programme of the same name is never replaced (a schedule in use is a record); importing the same
    schedule again under its name is refused with that reason too.
    """
    try:
        prog = read_programme(folder)
    except ProgrammeError as exc:
        raise ActionRefused(str(exc)) from None
    name = name or prog.folder.name
    texts = {field: _text(prog.folder / fname) for fname, field in FILES}
    sha = hashlib.sha256(texts["schedule_csv"].encode("utf-8")).hexdigest()
    user = actor if hasattr(actor, "get_username") else None
    with transaction.atomic():
        old = ProgrammeRecord.objects.filter(name=name).first()
        if old is not None:
            same = "the same schedule" if old.schedule_sha256 == sha else "a different schedule"
            raise ActionRefused(f"a programme named {name!r} is stored already ({same}); a schedule in use is "
                                "a record: record changes as amendments, or import a new design under another name")
        rec = ProgrammeRecord.objects.create(name=name, source_folder=str(prog.folder), schedule_sha256=sha,
                                             imported_by=user, **texts)
        for k, a in enumerate(prog.amendments.to_dict("records"), start=1):
            _store(rec, k, a, None)
        audit.record("programme_imported", actor=actor, target=f"programme:{rec.pk}",
                     detail={"name": name, "days": int(prog.design["days"]), "spots": len(prog.spots),
                             "amendments": len(prog.amendments), "schedule_sha256": sha})
    return rec


def _store(rec: ProgrammeRecord, seq: int, a: dict[str, Any], user: Any) -> ProgrammeAmendment:
    day = a["date"] if isinstance(a["date"], date) else None
    spot = a["spot_id"] if isinstance(a["spot_id"], str) and a["spot_id"] else ""
    return ProgrammeAmendment.objects.create(programme=rec, seq=seq, recorded_at=str(a["recorded_at"]),
                                             action=a["action"], date=day, spot_id=spot, reason=str(a["reason"]),
                                             by=user)


def programme(rec: ProgrammeRecord) -> Any:
    """The package's :class:`~patrol_planner.programme.Programme` of a stored record, amendments included."""
    with laid_out(rec) as folder:
        return read_programme(folder)


def record_amendment(rec_id: int, user: Any, *, action: str, reason: str, day: date | None,
                     spot_id: str | None) -> ProgrammeAmendment:
    """Record one amendment through the package's :func:`add_amendment` (its checks, its messages), then
    store it with who recorded it and audit it, in one transaction; the programme row is locked meanwhile so
    that two people cannot record the same amendment at once."""
    from patrol_planner.programme import add_amendment

    with transaction.atomic():
        rec = ProgrammeRecord.objects.select_for_update().get(pk=rec_id)
        with tempfile.TemporaryDirectory(prefix="patrol-programme-") as tmp:
            lay_out(rec, Path(tmp))
            try:
                all_rows = add_amendment(tmp, action=action, reason=reason, day=day, spot_id=spot_id or None)
            except ProgrammeError as exc:
                raise ActionRefused(str(exc)) from None
        seq = rec.amendments.count() + 1
        row = _store(rec, seq, all_rows.to_dict("records")[-1], user)
        audit.record("programme_amended", actor=user, target=f"programme:{rec.pk}",
                     detail={"amendment": seq, "action": row.action, "date": row.date, "spot_id": row.spot_id,
                             "reason": row.reason, "recorded_at": row.recorded_at})
    return row


def page_data(rec: ProgrammeRecord, today: date | None = None) -> dict[str, Any]:
    """What the Programme page shows: the calendar (the package's grid), spots, amendments with who/when/why,
    and the planned patrols so far (the schedule, not what was delivered: see ``compliance``)."""
    prog = programme(rec)
    spot_ids, rows = calendar_grid(prog)
    today = today or date.today()
    sched = prog.delivered_schedule()
    so_far = sched[sched["date"] <= today]
    places = [{"id": s, "place": prog.spot_properties[s].get("label") or prog.spot_properties[s].get("place", "")}
              for s in spot_ids]
    return {
        "design": prog.design, "spot_ids": spot_ids, "rows": rows, "spots": places,
        "first": prog.dates[0], "last": prog.dates[-1], "power": prog.raw.get("power", {}),
        "assigned_total": int(sched["assigned"].sum()), "delivered_total": int(sched["treated"].sum()),
        "so_far_days": int(so_far["date"].nunique()), "so_far_planned": int(so_far["treated"].sum()),
        "amendments": rec.amendments.select_related("by").order_by("seq"),
        "actions": ("cancel_day", "cancel_spot_day", "drop_spot"),
        "compliance": compliance(rec),
        "evaluations": rec.evaluations.select_related("made_by", "dosage")[:20],
    }


def compliance(rec: ProgrammeRecord) -> dict[str, Any] | None:
    """Compliance so far from the newest stored dosage (None when none is stored: the page says "No data").

    The headline figures are the package's own summary (``dosage.json``); per spot, the package's
    :func:`~patrol_planner.dosage.compliance.per_spot_compliance` on the stored ``dosage.csv``."""
    from patrol_planner.dosage.compliance import per_spot_compliance

    d = rec.dosage_records.select_related("made_by").first()
    if d is None:
        return None
    table = pd.read_csv(io.StringIO(d.dosage_csv), dtype={"spot_id": str})
    s = d.record["summary"]
    days = sorted(table["date"].astype(str).unique())
    return {"record": d, "summary": s, "notes": d.record.get("notes", []),
            "files": d.record.get("files", []), "spots": per_spot_compliance(table),
            "first": days[0] if days else "", "last": days[-1] if days else ""}


def compliance_json(rec: ProgrammeRecord) -> dict[str, Any] | None:
    """:func:`compliance` as plain JSON values (the API's answer)."""
    c = compliance(rec)
    if c is None:
        return None
    d = c["record"]
    return {"dosage_id": d.pk, "made_by": d.made_by.get_username(), "made_at": d.made_at.isoformat(),
            "up_to": d.up_to.isoformat() if d.up_to else None, "first_day": c["first"], "last_day": c["last"],
            "summary": c["summary"], "notes": c["notes"], "spots": c["spots"]}


def evaluation_json(ev: EvaluationRecord) -> dict[str, Any]:
    """The stored evaluation as the package gave it: method, headline summary (estimate, interval, p-value ...),
    verdicts, caveats, estimates table, delivery figures, equity counts (no HTML)."""
    r = ev.record
    return {"id": ev.pk, "programme": ev.programme_id, "method": ev.method, "made_by": ev.made_by.get_username(),
            "made_at": ev.made_at.isoformat(), "dosage_id": ev.dosage_id, "summary": r.get("summary", {}),
            "verdicts": r.get("verdicts", []), "caveats": r.get("caveats", []),
            "estimates": r.get("estimates", []), "delivery": r.get("delivery"), "equity": r.get("equity")}


# --- tonight --------------------------------------------------------------------------------------------
def tonight_date(scenario: Any) -> date:
    """The date tonight's shift starts: the scenario's ``night``, else the date of its ``as_of``, else today in
    its timezone (a scenario without either plans for the coming night)."""
    from zoneinfo import ZoneInfo

    if scenario.night is not None:
        return scenario.night
    if scenario.as_of is not None:
        return scenario.as_of.date()
    return datetime.now(ZoneInfo(scenario.timezone)).date()


def tonight_programme_days(day: date) -> list[dict[str, Any]]:
    """Each stored programme that has ``day`` as a programme day, with the package's :func:`day_tasking` for it
    (treated spots to patrol, control spots to keep away from, spots an amendment cancelled)."""
    from patrol_planner.programme import day_tasking

    out = []
    for rec in ProgrammeRecord.objects.order_by("pk"):
        if not _covers(rec, day):  # the cheap test first: reading a programme checks its files' hashes
            continue
        prog = programme(rec)
        if prog.dates[0] <= day <= prog.dates[-1]:
            out.append({"programme_id": rec.pk, "name": rec.name, **day_tasking(prog, day)})
    return out


def _covers(rec: ProgrammeRecord, day: date) -> bool:
    """Whether the stored design's days (start_date and days, checked by read_programme at import) include
    ``day``; a design this cannot read is left to the package (True)."""
    import json
    from datetime import timedelta

    try:
        design = json.loads(rec.programme_json)["design"]
        first = date.fromisoformat(str(design["start_date"]))
        return first <= day < first + timedelta(days=int(design["days"]))
    except (ValueError, KeyError, TypeError):
        return True


def programme_features(days: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Map points (GeoJSON, EPSG:4326) of tonight's programme spots: ``status`` treated (patrol) or control
    (keep away)."""
    feats = []
    for d in days:
        for status in ("treated", "control"):
            feats += [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                       "properties": {"kind": "programme", "status": status, "spot": s["spot_id"],
                                      "place": s["label"], "programme": d["name"]}} for s in d[status]]
    return feats


def tonight(stored: Any) -> tuple[list[dict[str, Any]], date | None]:
    """Tonight's programme days for a stored scenario and the date they are for; a scenario the package refuses
    has no date (the Tonight page shows that error elsewhere)."""
    from patrol_planner.errors import PatrolPlannerError

    try:
        day = tonight_date(stored.scenario())
    except PatrolPlannerError:
        return [], None
    return tonight_programme_days(day), day


def with_programme_spots(features: dict[str, Any] | None, days: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The page's map data with tonight's programme spots added (a new collection; the input is not changed)."""
    extra = programme_features(days)
    if not extra:
        return features
    base = dict(features or {"type": "FeatureCollection", "features": []})
    base["features"] = [*base.get("features", []), *extra]
    return base


#: The evaluation's headline figures, in the order the page shows them (the package's summary keys).
HEADLINE = (("method", "Method"), ("estimand", "Estimand"), ("rate_ratio", "Estimate (rate ratio)"),
            ("ci_low", "Interval low"), ("ci_high", "Interval high"), ("interval_kind", "Interval"),
            ("p_value", "p-value"), ("p_value_kind", "p-value from"), ("calibrated", "Calibrated"),
            ("treated_spot_days", "Treated spot-days"), ("control_spot_days", "Control spot-days"))


def shown(v: Any) -> str:
    """A figure as the page shows it: 3 significant digits (the stored record keeps every digit)."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}"
    return "" if v is None else str(v)


def evaluation_page(ev: EvaluationRecord) -> dict[str, Any]:
    """What the evaluation page shows: the headline keys the package's summary holds (label, value), the
    estimates table and the delivery figures, numbers to 3 significant digits."""
    r = ev.record
    s = r.get("summary", {})
    est = r.get("estimates") or []
    cols = list(est[0]) if est else []
    return {"headline": [(label, shown(s[k])) for k, label in HEADLINE if s.get(k) is not None],
            "estimate_cols": cols, "estimate_rows": [[shown(row.get(c)) for c in cols] for row in est],
            "delivery": [(k, shown(v)) for k, v in (r.get("delivery") or {}).items()],
            "verdicts": r.get("verdicts", []), "caveats": r.get("caveats", [])}

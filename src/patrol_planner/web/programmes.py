"""Programme records in the database over the package's programme record (``patrol_planner.programme``).

The issued files are stored byte for byte; every read or amendment lays them out in a temporary folder with
the stored amendments and calls the package itself (:func:`read_programme`, :func:`add_amendment`), so the
web application applies exactly the package's checks and messages: unknown action, missing reason, a day
outside the programme, an unknown spot, a duplicate, an amendment that changes nothing.
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from django.db import transaction

from patrol_planner.errors import ProgrammeError
from patrol_planner.programme import read_programme
from patrol_planner.programme.calendar import calendar_grid
from patrol_planner.programme.record import AMENDMENT_COLUMNS
from patrol_planner.sanitise import spreadsheet_safe
from patrol_planner.web import audit
from patrol_planner.web.models import ProgrammeAmendment, ProgrammeRecord
from patrol_planner.web.services import ActionRefused

FILES = (("programme.json", "programme_json"), ("schedule.csv", "schedule_csv"), ("spots.geojson", "spots_geojson"))


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


def _lay_out(rec: ProgrammeRecord, folder: Path) -> None:
    for fname, field in FILES:
        (folder / fname).write_bytes(getattr(rec, field).encode("utf-8"))
    rows = [{"recorded_at": a.recorded_at, "action": a.action, "date": a.date.isoformat() if a.date else "",
             "spot_id": a.spot_id, "reason": a.reason} for a in rec.amendments.order_by("seq")]
    if rows:
        text = spreadsheet_safe(pd.DataFrame(rows, columns=list(AMENDMENT_COLUMNS))).to_csv(
            index=False, lineterminator="\n")
        (folder / "amendments.csv").write_text(text, encoding="utf-8")


def programme(rec: ProgrammeRecord) -> Any:
    """The package's :class:`~patrol_planner.programme.Programme` of a stored record, amendments included."""
    with tempfile.TemporaryDirectory(prefix="patrol-programme-") as tmp:
        _lay_out(rec, Path(tmp))
        return read_programme(tmp)


def record_amendment(rec_id: int, user: Any, *, action: str, reason: str, day: date | None,
                     spot_id: str | None) -> ProgrammeAmendment:
    """Record one amendment through the package's :func:`add_amendment` (its checks, its messages), then
    store it with who recorded it and audit it, in one transaction; the programme row is locked meanwhile so
    that two people cannot record the same amendment at once."""
    from patrol_planner.programme import add_amendment

    with transaction.atomic():
        rec = ProgrammeRecord.objects.select_for_update().get(pk=rec_id)
        with tempfile.TemporaryDirectory(prefix="patrol-programme-") as tmp:
            _lay_out(rec, Path(tmp))
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
        # Dosage (visits measured at spots) is not stored in the tasking room yet: say so, invent nothing.
        "compliance": None,
    }

"""The worker's side of the programme jobs (see :mod:`.programme_jobs`): the stored programme laid out as a
folder, the package's dosage or evaluation on the uploaded files, and the result stored with the job's ``done``
state and its audit event in one transaction. A package error (bad input) fails the job with its one line."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from patrol_planner.web import audit
from patrol_planner.web.models import DosageRecord, EvaluationRecord, ProgrammeJob
from patrol_planner.web.programme_folder import laid_out


def inputs_dir(job_id: int) -> Path:
    """Where a job's uploaded files are kept: ``<data dir>/programme-inputs/<job id>/<role>/``."""
    return Path(settings.DATA_DIR) / "programme-inputs" / str(job_id)


def _files(job: ProgrammeJob, role: str) -> list[Path]:
    return [inputs_dir(job.pk) / role / i["name"] for i in job.inputs if i["role"] == role]


def _run(job_id: int, body: Callable[[ProgrammeJob, Callable[[str], None]], int]) -> int:
    """Mark the job running, run ``body``; a package error (bad input) marks it failed with its one line."""
    from patrol_planner.errors import PatrolPlannerError

    job = ProgrammeJob.objects.select_related("programme", "requested_by").get(pk=job_id)
    if job.state == ProgrammeJob.State.DONE:  # stored and committed before the worker died: never store twice
        return job.dosage_id or job.evaluation_id or 0
    ProgrammeJob.objects.filter(pk=job_id).update(state=ProgrammeJob.State.RUNNING, progress="starting", error="")

    def progress(msg: str) -> None:
        ProgrammeJob.objects.filter(pk=job_id).update(progress=msg[:200])

    try:
        return body(job, progress)
    except PatrolPlannerError as exc:
        _failed(job, str(exc).splitlines()[0] if str(exc) else type(exc).__name__, type(exc).__name__)
        raise
    except Exception as exc:  # not bad input: the reason names the kind of failure, the worker logs the rest
        _failed(job, f"the job stopped on an internal error ({type(exc).__name__})", type(exc).__name__)
        raise


def _failed(job: ProgrammeJob, reason: str, kind: str) -> None:
    with transaction.atomic():
        ProgrammeJob.objects.filter(pk=job.pk).update(state=ProgrammeJob.State.FAILED, error=reason[:2000])
        audit.record(f"programme_{job.kind}_failed", actor=job.requested_by, target=f"programme:{job.programme_id}",
                     detail={"job": job.pk, "error": kind})


def so_far(prog: Any, today: date | None = None) -> date | None:
    """The last programme day to measure: today's programme day while the programme runs, else None (all)."""
    day = today or prog.day_of(timezone.now())
    if day < prog.dates[0]:
        from patrol_planner.errors import DosageError

        raise DosageError(f"the programme starts on {prog.dates[0].isoformat()}: there is nothing to measure yet")
    return day if day < prog.dates[-1] else None


def run_dosage_job(job_id: int) -> int:
    """The queued dosage task's body: the package measures the tracks; return the stored record's id."""
    return _run(job_id, _dosage)


def _dosage(job: ProgrammeJob, progress: Callable[[str], None]) -> int:
    from patrol_planner.dosage import DosageParams, measure_dosage, write_dosage
    from patrol_planner.programme import read_programme

    files = _files(job, "tracks")
    with laid_out(job.programme) as folder, tempfile.TemporaryDirectory(prefix="patrol-dosage-") as out:
        prog = read_programme(folder)
        up_to = so_far(prog)
        progress(f"measuring {len(files)} track file(s)")
        res = measure_dosage(prog, files, params=DosageParams(), up_to=up_to)
        paths = write_dosage(res, out, inputs=files, prog=prog, page=False)
        table = paths["dosage"].read_text(encoding="utf-8")
        record = json.loads(paths["json"].read_text(encoding="utf-8"))
    s = record["summary"]
    with transaction.atomic():
        d = DosageRecord.objects.create(programme=job.programme, up_to=up_to, dosage_csv=table, record=record,
                                        made_by=job.requested_by)
        ProgrammeJob.objects.filter(pk=job.pk).update(state=ProgrammeJob.State.DONE, progress="done", dosage=d)
        audit.record("programme_dosage_stored", actor=job.requested_by, target=f"programme:{job.programme_id}",
                     detail={"job": job.pk, "dosage": d.pk, "up_to": up_to, "spot_days": s["spot_days"],
                             "points_used": s["points_used"], "points_quarantined": s["points_quarantined"],
                             "files_unusable": s["files_unusable"]})
    return d.pk


def run_evaluation_job(job_id: int) -> int:
    """The queued evaluation task's body: the package's evaluation; return the stored record's id."""
    return _run(job_id, _evaluation)


def _evaluation(job: ProgrammeJob, progress: Callable[[str], None]) -> int:
    from patrol_planner.evaluation.files import evaluate_files, write_evaluation

    crimes = _files(job, "crimes")
    mapping = next(iter(_files(job, "mapping")), None)
    dosage = job.with_dosage
    with laid_out(job.programme) as folder, tempfile.TemporaryDirectory(prefix="patrol-evaluation-") as tmp:
        dose_path = None
        if dosage is not None:
            dose_path = Path(tmp) / "dosage.csv"
            dose_path.write_text(dosage.dosage_csv, encoding="utf-8")
        progress(f"evaluating on {len(crimes)} crime file(s)")
        run = evaluate_files(folder, crimes, dosage=dose_path, mapping=str(mapping) if mapping else None)
        paths = write_evaluation(run, Path(tmp) / "out")
        record = json.loads(paths["json"].read_text(encoding="utf-8"))
        html = paths["html"].read_text(encoding="utf-8")
    s = record["summary"]
    with transaction.atomic():
        ev = EvaluationRecord.objects.create(programme=job.programme, dosage=dosage, method=run.evaluation.method,
                                             record=record, html=html, made_by=job.requested_by)
        ProgrammeJob.objects.filter(pk=job.pk).update(state=ProgrammeJob.State.DONE, progress="done", evaluation=ev)
        audit.record("programme_evaluated", actor=job.requested_by, target=f"programme:{job.programme_id}",
                     detail={"job": job.pk, "evaluation": ev.pk, "method": ev.method, "dosage": dosage.pk if dosage
                             else None, "rate_ratio": s.get("rate_ratio"), "ci_low": s.get("ci_low"),
                             "ci_high": s.get("ci_high")})
    return ev.pk


"""Dosage and evaluation of a stored programme, run as queued jobs over the package's adapters.

An analyst uploads GPS tracks (the files ``patrol-planner dosage --tracks`` reads) or outcome crime files (the
files ``patrol-planner evaluate --crimes`` reads) on the Programme page; :func:`request_dosage` and
:func:`request_evaluation` keep the files in the data folder and queue the job. The worker lays the stored
programme out as a folder and calls the package: :func:`patrol_planner.dosage.measure_dosage` and
:func:`~patrol_planner.dosage.write_dosage`, or :func:`patrol_planner.evaluation.files.evaluate_files` (the
evaluate command's call) and its writer; the files they write are stored, with the job's ``done`` state and the
audit event, in one transaction. Bad input is the package's one-line error, kept as the job's reason.

This module is the request side (it enqueues, so it imports the tasks); the worker's side, which the tasks
import, is :mod:`.programme_work`.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.db import transaction

from patrol_planner.web import audit
from patrol_planner.web.models import DosageRecord, ProgrammeJob, ProgrammeRecord
from patrol_planner.web.programme_work import inputs_dir
from patrol_planner.web.services import ActionRefused

#: What the tracks upload accepts (the suffixes ``dosage --tracks`` takes from a folder).
TRACK_SUFFIXES = (".gpx", ".csv")
CRIME_SUFFIXES = (".csv",)
MAX_FILES = 50
MAX_FILE_BYTES = 200 * 1024 * 1024


def _safe_name(name: str) -> str:
    # the dosage reader names a GPX unit after its file: keep the stem readable, drop anything path-like
    base = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name).lstrip(".")[:100]
    return base or "upload"


def _check_files(files: list[Any], suffixes: tuple[str, ...], what: str) -> None:
    if not files:
        raise ActionRefused(f"choose at least one {what} file ({' or '.join(suffixes)})")
    if len(files) > MAX_FILES:
        raise ActionRefused(f"{len(files)} files: at most {MAX_FILES} in one upload")
    for f in files:
        if Path(f.name).suffix.lower() not in suffixes:
            raise ActionRefused(f"{f.name}: only {' and '.join(suffixes)} {what} files are read")
        if f.size is not None and f.size > MAX_FILE_BYTES:
            raise ActionRefused(f"{f.name}: {f.size} bytes, more than the {MAX_FILE_BYTES} an upload may hold")
        if not f.size:
            raise ActionRefused(f"{f.name}: the file is empty")


def _keep(job: ProgrammeJob, files: Iterable[Any], role: str) -> list[dict[str, Any]]:
    """Write the uploads into the job's folder (hashed as written); return their records."""
    folder = inputs_dir(job.pk) / role
    folder.mkdir(parents=True, exist_ok=True)
    kept = []
    for f in files:
        name = _safe_name(f.name)
        while (folder / name).exists():
            name = f"{len(kept)}-{name}"
        h = hashlib.sha256()
        with open(folder / name, "xb") as out:
            for chunk in f.chunks():
                h.update(chunk)
                out.write(chunk)
        kept.append({"role": role, "name": name, "uploaded_as": str(f.name)[:200], "sha256": h.hexdigest(),
                     "bytes": (folder / name).stat().st_size})
    return kept


def _request(rec: ProgrammeRecord, kind: str, user: Any, uploads: dict[str, list[Any]], task: Any,
             dosage: DosageRecord | None = None) -> ProgrammeJob:
    try:
        with transaction.atomic():
            job = ProgrammeJob.objects.create(programme=rec, kind=kind, requested_by=user, with_dosage=dosage)
            # files under this id can only be left by a transaction rolled back after writing them (SQLite may
            # hand the same id out again): they belong to no job
            shutil.rmtree(inputs_dir(job.pk), ignore_errors=True)
            inputs = [r for role, files in uploads.items() for r in _keep(job, files, role)]
            job.inputs = inputs
            job.save(update_fields=["inputs"])
            audit.record(f"programme_{kind}_requested", actor=user, target=f"programme:{rec.pk}",
                                  detail={"job": job.pk, "dosage": dosage.pk if dosage else None,
                                 "files": [{"name": i["name"], "sha256": i["sha256"]} for i in inputs]})
    except BaseException:
        if "job" in locals():
            shutil.rmtree(inputs_dir(job.pk), ignore_errors=True)
        raise
    # after the commit: the worker must find the job row and its files
    transaction.on_commit(lambda: _enqueue(job.pk, task))
    return job


def _enqueue(job_id: int, task: Any) -> None:
    result = task.enqueue(job_id)
    ProgrammeJob.objects.filter(pk=job_id).update(task_id=str(result.id))


def request_dosage(rec: ProgrammeRecord, files: list[Any], user: Any) -> ProgrammeJob:
    """Keep the uploaded GPS tracks and queue the dosage job (:func:`run_dosage_job`)."""
    from patrol_planner.web.tasks import programme_dosage_job

    _check_files(files, TRACK_SUFFIXES, "track")
    return _request(rec, ProgrammeJob.Kind.DOSAGE, user, {"tracks": files}, programme_dosage_job)


def request_evaluation(rec: ProgrammeRecord, crimes: list[Any], user: Any, *, mapping: Any = None,
                       use_dosage: bool = True) -> ProgrammeJob:
    """Keep the uploaded outcome crime files (and a column mapping, for generic CSVs) and queue the evaluation
    job (:func:`run_evaluation_job`); the newest stored dosage is used when ``use_dosage`` and one exists."""
    from patrol_planner.web.tasks import programme_evaluation_job

    _check_files(crimes, CRIME_SUFFIXES, "crime")
    uploads = {"crimes": crimes}
    if mapping is not None:
        _check_files([mapping], (".toml", ".json"), "column mapping")
        uploads["mapping"] = [mapping]
    dosage = rec.dosage_records.first() if use_dosage else None
    return _request(rec, ProgrammeJob.Kind.EVALUATION, user, uploads, programme_evaluation_job, dosage)

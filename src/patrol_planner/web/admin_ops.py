"""What ``patrol-planner serve / users / db`` do once Django is configured (see :func:`.runtime.configure`)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction

from patrol_planner.web import audit
from patrol_planner.web.models import ROLES, PlanJob, Profile, Station, StoredScenario, Unit
from patrol_planner.web.runtime import WebConfigError

#: A task claimed by this many workers that all died is marked failed instead of being retried again.
MAX_ATTEMPTS = 3


def migrate() -> None:
    """Bring the schema up to date, then anchor the audit chain outside the database if it is not yet."""
    call_command("migrate", interactive=False, verbosity=0)
    audit.ensure_anchor()


def recover_interrupted() -> int:
    """Requeue plan jobs whose worker died mid-run (none runs while ``serve`` starts); return how many.

    A version is written in one transaction at the end of a job, so a rerun cannot duplicate half a plan.
    After :data:`MAX_ATTEMPTS` claims the task and its job are marked failed with the reason.
    """
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from patrol_planner.web.tasks import plan_job, programme_dosage_job, programme_evaluation_job

    n = 0
    programme_tasks = (programme_dosage_job.module_path, programme_evaluation_job.module_path)
    with transaction.atomic():
        running = DBTaskResult.objects.select_for_update().filter(status=TaskResultStatus.RUNNING)
        n += _recover_programme_jobs(running.filter(task_path__in=programme_tasks))
        # other work (scoring candidate spots) only writes a cache file: put it back, or drop it when it
        # keeps killing its worker; it has no job row and no audit event
        for t in running.exclude(task_path__in=(plan_job.module_path, *programme_tasks)):
            DBTaskResult.objects.filter(pk=t.pk).update(
                status=TaskResultStatus.FAILED if len(t.worker_ids) >= MAX_ATTEMPTS else TaskResultStatus.READY,
                started_at=None)
        for t in running.filter(task_path=plan_job.module_path):
            job_id = (t.args_kwargs.get("args") or [None])[0]
            if len(t.worker_ids) >= MAX_ATTEMPTS:
                DBTaskResult.objects.filter(pk=t.pk).update(status=TaskResultStatus.FAILED)
                PlanJob.objects.filter(pk=job_id).update(
                    state=PlanJob.State.FAILED, error=f"the worker stopped {MAX_ATTEMPTS} times during this job")
                audit.record("plan_failed", actor="system", target=f"job:{job_id}", detail={"error": "worker died"})
            else:
                DBTaskResult.objects.filter(pk=t.pk).update(status=TaskResultStatus.READY, started_at=None)
                PlanJob.objects.filter(pk=job_id).update(state=PlanJob.State.QUEUED,
                                                         progress="requeued after a restart")
                audit.record("plan_requeued", actor="system", target=f"job:{job_id}")
            n += 1
    return n


def _recover_programme_jobs(running: Any) -> int:
    """Dosage and evaluation jobs a dead worker held: requeued, or failed after :data:`MAX_ATTEMPTS` claims.
    Their record is written in one transaction at the end, so a rerun cannot store half a result."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from patrol_planner.web.models import ProgrammeJob

    n = 0
    for t in running:
        job = ProgrammeJob.objects.filter(pk=(t.args_kwargs.get("args") or [None])[0]).first()
        give_up = len(t.worker_ids) >= MAX_ATTEMPTS
        DBTaskResult.objects.filter(pk=t.pk).update(
            status=TaskResultStatus.FAILED if give_up else TaskResultStatus.READY,
            **({} if give_up else {"started_at": None}))
        if job is None:
            continue
        if give_up:
            ProgrammeJob.objects.filter(pk=job.pk).update(
                state=ProgrammeJob.State.FAILED, error=f"the worker stopped {MAX_ATTEMPTS} times during this job")
            audit.record(f"programme_{job.kind}_failed", actor="system", target=f"programme:{job.programme_id}",
                         detail={"job": job.pk, "error": "worker died"})
        else:
            ProgrammeJob.objects.filter(pk=job.pk).update(state=ProgrammeJob.State.QUEUED,
                                                          progress="requeued after a restart")
            audit.record(f"programme_{job.kind}_requeued", actor="system", target=f"programme:{job.programme_id}",
                         detail={"job": job.pk})
        n += 1
    return n


#: The worker's niceness: a plan job (seconds of CPU) yields to the pages and API calls served meanwhile.
WORKER_NICENESS = 10


def _worker_preexec() -> None:
    """In the worker before exec: a lower CPU priority than the server, and (Linux) SIGTERM when the server
    process dies, even by kill -9, so no worker is left running on its own; elsewhere the server's shutdown
    path stops it."""
    os.nice(WORKER_NICENESS)
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


#: How often an idle worker looks for a queued task [s]: a live re-plan waits at most this before it starts
#: (one indexed query each time).
WORKER_POLL_S = 0.25


def start_worker() -> subprocess.Popen[bytes]:
    """The django-tasks database worker as a child process (same environment, same database)."""
    return subprocess.Popen([sys.executable, "-m", "patrol_planner.web.manage", "db_worker", "--no-reload",
                             "--interval", str(WORKER_POLL_S), "--no-startup-delay"], env=os.environ.copy(),
                            preexec_fn=_worker_preexec)  # noqa: PLW1509  (called before the server starts threads)


def add_user(name: str, role: str, password: str, unit: str | None = None, *, admin: bool = False) -> Any:
    """Create a user with one role (an officer needs ``unit``, a call sign); password checked by Django's
    validators. Raises :class:`WebConfigError` with one line for anything refused."""
    User = get_user_model()
    if role not in ROLES:
        raise WebConfigError(f"--role must be one of {', '.join(ROLES)}, got {role!r}")
    if User.objects.filter(username=name).exists():
        raise WebConfigError(f"user {name!r} already exists")
    the_unit = None
    if unit is not None:
        the_unit = Unit.objects.filter(call_sign=unit).first()
        if the_unit is None:
            known = ", ".join(Unit.objects.values_list("call_sign", flat=True)) or "none yet"
            raise WebConfigError(f"--unit {unit!r} is not in the roster (known: {known})")
    if role == "officer" and the_unit is None:
        raise WebConfigError("an officer needs --unit CALL_SIGN (the unit whose route they see)")
    try:
        validate_password(password, User(username=name))
    except ValidationError as exc:
        raise WebConfigError("password refused: " + " ".join(exc.messages)) from None
    with transaction.atomic():
        user = User.objects.create_user(username=name, password=password, is_staff=admin, is_superuser=admin)
        Profile.objects.create(user=user, role=role, unit=the_unit)
        audit.record("user_added", actor="cli", target=f"user:{name}", detail={"role": role, "unit": unit,
                                                                               "admin": admin})
    return user


def enrol_totp(name: str) -> tuple[Any, str]:
    """Give a supervisor a confirmed TOTP device (django-otp); returns it and its ``otpauth://`` URI, shown
    once (the key is stored for verification, as TOTP requires). From then on each sign-off by this user
    needs the OTP step. A user who has a device already is refused: remove it in /admin/ first."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        raise WebConfigError(f"no user {name!r}")
    if getattr(getattr(user, "profile", None), "role", None) != "supervisor":
        raise WebConfigError("TOTP is for supervisors (the sign-off step); this user is not one")
    if TOTPDevice.objects.filter(user=user).exists():
        raise WebConfigError(f"user {name!r} has a TOTP device already")
    with transaction.atomic():
        dev = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        audit.record("totp_enrolled", actor="cli", target=f"user:{name}", detail={"device": dev.pk})
    return dev, dev.config_url


#: The demo's users, one per role; the officer crews the first unit.
DEMO_USERS = ("analyst", "tasking", "supervisor", "officer", "auditor")


def load_demo(scenario_path: Path | None = None) -> dict[str, str]:
    """Load the bundled Rutland night (scenario, stations, units) and one user per role.

    Returns ``{username: password}``: new random passwords, printed once by ``serve --demo``; a demo
    user that already exists gets a new password too (the old one was only ever shown once).
    """
    from patrol_planner.scenario import default_scenario_path, load_scenario

    s = load_scenario(scenario_path or default_scenario_path())
    User = get_user_model()
    out: dict[str, str] = {}
    with transaction.atomic():
        stored = import_scenario(s, replace=False)
        first_unit = Unit.objects.order_by("call_sign").first()
        for role in DEMO_USERS:
            password = secrets.token_urlsafe(12)
            user = User.objects.filter(username=role).first()
            if user is None:
                user = User.objects.create_user(username=role, password=password)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            Profile.objects.update_or_create(user=user, defaults={
                "role": role, "unit": first_unit if role == "officer" else None})
            out[role] = password
        audit.record("demo_loaded", actor="cli", target=f"scenario:{stored.pk}", detail={"users": list(out)})
    return out


def import_scenario(s: Any, *, replace: bool) -> StoredScenario:
    """Store a validated scenario (``load_scenario``) and add its units to the roster where missing.

    A scenario of the same name is kept unless ``replace``; plan versions keep the scenario they were made
    from, so replacing it changes only future plans.
    """
    with transaction.atomic():
        content = StoredScenario.content_of(s)
        stored = StoredScenario.objects.filter(name=s.name).first()
        if stored is None:
            stored = StoredScenario.objects.create(name=s.name, content=content, base_dir=str(s.base_dir))
            audit.record("scenario_imported", actor="cli", target=f"scenario:{stored.pk}", detail={"name": s.name})
        elif replace:
            stored.content, stored.base_dir = content, str(s.base_dir)
            stored.save(update_fields=["content", "base_dir"])
            audit.record("scenario_replaced", actor="cli", target=f"scenario:{stored.pk}", detail={"name": s.name})
        for u in s.units:
            station = _station(u.station)
            end = _station(u.end_station) if u.end_station else None
            a, b = u.shift
            Unit.objects.get_or_create(call_sign=u.id, defaults={
                "station": station, "end_station": end, "mode": u.mode,
                "usual_shift": f"{a:%H:%M}-{b:%H:%M}",
                "earliest_leave": f"{u.earliest_leave:%H:%M}" if u.earliest_leave else "",
                "break_min": u.break_min,
                "break_window": f"{u.break_window[0]:%H:%M}-{u.break_window[1]:%H:%M}" if u.break_window else "",
                "sector": station.name})
    return stored


def _station(place: Any) -> Station:
    if isinstance(place, str):
        return Station.objects.get_or_create(name=place)[0]
    return Station.objects.get_or_create(name=place.name, defaults={"lon": place.lon, "lat": place.lat})[0]


#: Left out of a backup: rebuilt by ``migrate`` (content types, permissions) or short-lived (sessions).
BACKUP_EXCLUDE = ("contenttypes", "auth.permission", "sessions", "admin.logentry")


def backup(path: Path) -> None:
    """Write every table as Django fixtures JSON (database-neutral: a SQLite backup restores into PostgreSQL)."""
    path = Path(path)
    if path.parent and not path.parent.is_dir():
        raise WebConfigError(f"backup folder {path.parent} does not exist")
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "w", encoding="utf-8") as fh:
        call_command("dumpdata", natural_foreign=True, natural_primary=True, exclude=list(BACKUP_EXCLUDE),
                     indent=1, stdout=fh)
    os.chmod(tmp, 0o600)
    tmp.replace(path)  # never a half-written backup under the final name
    audit.record("backup", actor="cli", detail={"file": path.name})


def restore(path: Path) -> None:
    """Replace the whole database with a backup (in one transaction: all or nothing)."""
    path = Path(path)
    if not path.is_file():
        raise WebConfigError(f"backup file not found: {path}")
    with transaction.atomic():
        call_command("flush", interactive=False, verbosity=0)
        call_command("loaddata", str(path), verbosity=0)
    audit.reanchor()
    audit.record("restore", actor="cli", detail={"file": path.name})


def prune_positions(keep_days: int) -> tuple[int, Any]:
    """Delete positions whose fix is older than ``keep_days`` days; return (count, cut-off time).

    Positions are written once and the ORM refuses to delete them (``WriteOnceQuerySet``); retention is the
    one sanctioned deletion, done here in SQL through Django's delete collector on the base queryset, in one
    transaction with its audit event."""
    from datetime import timedelta

    from django.db import models, transaction
    from django.utils import timezone

    from patrol_planner.web.models import Position

    cutoff = timezone.now() - timedelta(days=keep_days)
    with transaction.atomic():
        old = models.QuerySet(model=Position).filter(at__lt=cutoff)
        n, _ = old.delete()
        audit.record("positions_pruned", actor="cli", detail={"deleted": n, "before": cutoff.isoformat(),
                                                              "keep_days": keep_days})
    return n, cutoff

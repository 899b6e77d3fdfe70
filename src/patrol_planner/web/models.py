"""What the tasking room stores: roles, the unit roster, scenarios, immutable plan versions, sign-offs,
officers' visits and the append-only audit log (its HMAC chain is in :mod:`.audit`).

Immutability is enforced in ``save``/``delete`` and in the querysets' ``update``/``delete``: a plan
version's content never changes (only its status moves forward, see :data:`TRANSITIONS`), and sign-offs,
visits and audit events are written once. Raw SQL can still change a row; the audit chain detects that.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

ROLES = ("analyst", "tasking", "supervisor", "officer", "auditor")


class ImmutableError(Exception):
    """An attempt to change or delete a row that is written once."""


class Role(models.TextChoices):
    ANALYST = "analyst", "Analyst"
    TASKING = "tasking", "Tasking officer"
    SUPERVISOR = "supervisor", "Supervisor"
    OFFICER = "officer", "Officer"
    AUDITOR = "auditor", "Auditor"


class WriteOnceQuerySet(models.QuerySet):
    """A queryset that refuses bulk ``update`` and ``delete`` (they would bypass ``save``/``delete``)."""

    def update(self, **kwargs: Any) -> int:
        raise ImmutableError(f"{self.model.__name__} rows are written once; bulk update refused")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableError(f"{self.model.__name__} rows are written once; delete refused")


class WriteOnce(models.Model):
    """Base of rows that are inserted once and never updated or deleted through the ORM."""

    objects = WriteOnceQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableError(f"{type(self).__name__} {self.pk} is written once; update refused")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableError(f"{type(self).__name__} {self.pk} is written once; delete refused")


# --- roster ---------------------------------------------------------------------------------------------
class Station(models.Model):
    """A police station: a name the road extract maps, or an explicit place (lon/lat [deg, EPSG:4326])."""

    name = models.CharField(max_length=100, unique=True)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (self.lon is None) != (self.lat is None):
            raise ValidationError("give both lon and lat, or neither (then the name is looked up in the map)")

    def as_config(self) -> str | dict[str, Any]:
        """The scenario file's form: a name, or ``{name, lon, lat}``."""
        return self.name if self.lon is None else {"name": self.name, "lon": self.lon, "lat": self.lat}


class Unit(models.Model):
    """A unit of the roster; ``on_duty`` is tonight's availability (edited on the Tonight page)."""

    call_sign = models.CharField(max_length=40, unique=True)
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="units")
    end_station = models.ForeignKey(Station, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    mode = models.CharField(max_length=5, choices=[("drive", "drive"), ("walk", "walk")], default="drive")
    usual_shift = models.CharField(max_length=11, default="22:00-06:00", help_text="HH:MM-HH:MM, local time")
    earliest_leave = models.CharField(max_length=5, blank=True, help_text="HH:MM, after the briefing")
    break_min = models.FloatField(default=0)
    break_window = models.CharField(max_length=11, blank=True, help_text="HH:MM-HH:MM")
    sector = models.CharField(max_length=80, blank=True)
    on_duty = models.BooleanField(default=True)

    class Meta:
        ordering = ["call_sign"]

    def __str__(self) -> str:
        return self.call_sign

    def as_config(self) -> dict[str, Any]:
        """The ``[[units]]`` table of this unit (validated by the scenario's pydantic model when planned)."""
        cfg: dict[str, Any] = {"id": self.call_sign, "mode": self.mode, "station": self.station.as_config(),
                               "shift": self.usual_shift, "break_min": self.break_min}
        if self.end_station_id:
            cfg["end_station"] = self.end_station.as_config()
        if self.earliest_leave:
            cfg["earliest_leave"] = self.earliest_leave
        if self.break_window:
            cfg["break_window"] = self.break_window
        return cfg

    def clean(self) -> None:
        from pydantic import ValidationError as PydanticError

        from patrol_planner.scenario import UnitConfig

        try:
            UnitConfig.model_validate(self.as_config())
        except PydanticError as exc:
            raise ValidationError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                            for e in exc.errors())) from None


class Profile(models.Model):
    """A user's one role; an officer is linked to the unit whose route they may see."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField(max_length=12, choices=Role.choices)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="officers")

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"

    def clean(self) -> None:
        if self.role == Role.OFFICER and self.unit_id is None:
            raise ValidationError("an officer must be linked to a unit")


# --- scenarios and plans --------------------------------------------------------------------------------
class StoredScenario(models.Model):
    """A scenario as the package's pydantic model dumps it (JSON mode); relative paths start at ``base_dir``."""

    name = models.CharField(max_length=200, unique=True)
    content = models.JSONField()
    base_dir = models.CharField(max_length=1000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def scenario(self) -> Any:
        """The validated :class:`patrol_planner.scenario.Scenario` (raises ``ScenarioError`` if invalid)."""
        from patrol_planner.scenario import scenario_from_dict

        return scenario_from_dict(self.content, base_dir=Path(self.base_dir), source=f"stored scenario {self.name!r}")

    @staticmethod
    def content_of(scenario: Any) -> dict[str, Any]:
        return scenario.model_dump(mode="json", exclude={"base_dir"})


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted for approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    PUBLISHED = "published", "Published"


#: The only status changes a plan version may make; rejected and published are final.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.DRAFT: (Status.SUBMITTED,),
    Status.SUBMITTED: (Status.APPROVED, Status.REJECTED),
    Status.APPROVED: (Status.PUBLISHED,),
    Status.REJECTED: (),
    Status.PUBLISHED: (),
}


class PlanVersion(models.Model):
    """One plan, immutable: its ``plan.json``, the input hashes, who made it from which parent version."""

    scenario = models.ForeignKey(StoredScenario, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    plan_json = models.TextField()
    plan_sha256 = models.CharField(max_length=64)
    input_hashes = models.JSONField(default=list)
    scenario_content = models.JSONField(help_text="the scenario as planned, tonight's units included")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)

    objects = WriteOnceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-number"]
        constraints = [models.UniqueConstraint(fields=["scenario", "number"], name="one_number_per_scenario")]

    def __str__(self) -> str:
        return f"{self.scenario.name} v{self.number} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding:
            self.plan_sha256 = hashlib.sha256(self.plan_json.encode("utf-8")).hexdigest()
            super().save(*args, **kwargs)
            RoutedUnit.objects.bulk_create(RoutedUnit(version=self, call_sign=u["id"])
                                           for u in self.plan_shared().get("units", []))
            return
        before = PlanVersion.objects.get(pk=self.pk)
        for f in self._meta.concrete_fields:
            if f.name != "status" and f.value_from_object(before) != f.value_from_object(self):
                raise ImmutableError(f"plan version {self.pk}: {f.name} cannot change (make a new version)")
        if self.status != before.status and self.status not in TRANSITIONS[before.status]:
            raise ImmutableError(f"plan version {self.pk}: {before.status} cannot become {self.status}")
        super().save(update_fields=["status"])

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableError(f"plan version {self.pk} is kept for ever; delete refused")

    def plan(self) -> dict[str, Any]:
        """The parsed ``plan.json``, a fresh copy the caller may change."""
        return json.loads(self.plan_json)

    def plan_shared(self) -> dict[str, Any]:
        """The parsed ``plan.json``: READ-ONLY, shared between requests (pages use this one).

        A version's text never changes, so each process parses it once (a plan of 150 spots is ~1 MB of JSON
        and parsing it was most of an officer's page time); the newest :data:`PARSED_PLANS_KEPT` are kept.
        """
        key = (self.pk, self.plan_sha256)
        with _PARSED_LOCK:
            hit = _PARSED.get(key) if self.pk is not None else None
            if hit is not None:
                _PARSED.move_to_end(key)
                return hit
        parsed = json.loads(self.plan_json)
        if self.pk is not None:
            with _PARSED_LOCK:
                _PARSED[key] = parsed
                while len(_PARSED) > PARSED_PLANS_KEPT:
                    _PARSED.popitem(last=False)
        return parsed


#: Parsed plans kept per process (see :meth:`PlanVersion.plan_shared`): tonight's versions and a few before them.
PARSED_PLANS_KEPT = 24
_PARSED: OrderedDict[tuple[int, str], dict[str, Any]] = OrderedDict()
_PARSED_LOCK = threading.Lock()


class RoutedUnit(WriteOnce):
    """A unit a plan version routes (written with the version): finds an officer's published route with one
    indexed query instead of reading every published plan."""

    version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="routed_units")
    call_sign = models.CharField(max_length=40, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "call_sign"], name="one_row_per_routed_unit")]

    def __str__(self) -> str:
        return f"{self.call_sign} in version {self.version_id}"


class PlanJob(models.Model):
    """A plan requested from the Tonight page; the queued task fills ``progress`` and then ``version``."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    scenario = models.ForeignKey(StoredScenario, on_delete=models.PROTECT, related_name="jobs")
    parent = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    units = models.JSONField(default=list, help_text="the [[units]] tables planned")
    task_id = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    progress = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    version = models.OneToOneField(PlanVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="job")

    class Meta:
        ordering = ["-requested_at"]


class Approval(WriteOnce):
    """A named, timestamped sign-off that moved a plan version: submitted, approved, rejected or published."""

    version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="approvals")
    decision = models.CharField(max_length=10, choices=[(s, s) for s in
                                                        ("submitted", "approved", "rejected", "published")])
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at"]


class Visit(WriteOnce):
    """What an officer recorded at a stop of their published route."""

    class Kind(models.TextChoices):
        ARRIVE = "arrive", "Arrived"
        LEAVE = "leave", "Left"
        NOT_ATTENDED = "not_attended", "Could not attend"

    version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="visits")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="visits")
    stop_seq = models.PositiveIntegerField()
    hotspot_id = models.CharField(max_length=80)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    device = models.ForeignKey("DeviceToken", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(recorded_by__isnull=False)
                                              | models.Q(device__isnull=False), name="visit_has_a_recorder")]


class DeviceToken(models.Model):
    """A machine client's bearer token (a unit's car terminal): only its SHA-256 is stored, it reaches only
    its unit's published route, and revoking it is immediate. The token itself is shown once, when issued."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="devices")
    name = models.CharField(max_length=80)
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    #: When the device first posted a position (audited once then; positions themselves are not audited).
    first_position_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["unit", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})"

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Position(WriteOnce):
    """One GPS fix posted by a unit's device. ``client_id`` is chosen by the device, so a retried post
    (same id) is stored once: the pair (unit, client_id) is unique."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="positions")
    device = models.ForeignKey(DeviceToken, on_delete=models.PROTECT, related_name="positions")
    client_id = models.CharField(max_length=64)
    at = models.DateTimeField()
    lon = models.FloatField()
    lat = models.FloatField()
    accuracy_m = models.FloatField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["unit", "client_id"], name="position_once_per_client_id")]
        indexes = [models.Index(fields=["unit", "at"], name="position_unit_at")]


# --- audit ----------------------------------------------------------------------------------------------
class AuditEvent(WriteOnce):
    """One audited event; ``hash`` = HMAC-SHA256(audit key, ``prev_hash`` + canonical content)."""

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]


class AuditHead(models.Model):
    """The chain's last hash and length, one row (pk 1): locking it serialises appends on any database."""

    count = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)


# --- programmes -----------------------------------------------------------------------------------------
class ProgrammeRecord(WriteOnce):
    """A hot-spot programme imported from its folder (``patrol_planner.programme.read_programme``): the three
    files of the issued schedule kept byte for byte, so the package's hash checks still hold. Written once: a
    schedule in use is amended (:class:`ProgrammeAmendment`), never regenerated or replaced."""

    name = models.CharField(max_length=200, unique=True)
    source_folder = models.CharField(max_length=1000)
    programme_json = models.TextField()
    schedule_csv = models.TextField()
    spots_geojson = models.TextField()
    schedule_sha256 = models.CharField(max_length=64)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProgrammeAmendment(WriteOnce):
    """One amendment as the package records it (``amendments.csv``: recorded_at, action, date, spot_id,
    reason) and who recorded it (``by`` is empty for amendments imported with the folder)."""

    programme = models.ForeignKey(ProgrammeRecord, on_delete=models.PROTECT, related_name="amendments")
    seq = models.PositiveIntegerField()
    recorded_at = models.CharField(max_length=40, help_text="ISO time in the programme's zone, as the package writes")
    action = models.CharField(max_length=20)
    date = models.DateField(null=True, blank=True)
    spot_id = models.CharField(max_length=80, blank=True)
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                           related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["programme", "seq"]
        constraints = [models.UniqueConstraint(fields=["programme", "seq"], name="one_seq_per_programme")]


class UnitStatusEvent(WriteOnce):
    """A unit's live status as set during the night (``docs/live.md``): ``available``, ``committed`` (until a
    time, or until cleared when ``until`` is empty; at a call's place) or ``off_duty``; by its device or from
    the tasking room. Written once: the night's statuses are their sequence (the id orders them)."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="status_events")
    status = models.CharField(max_length=10, choices=[(s, s) for s in ("available", "committed", "off_duty")])
    at = models.DateTimeField()
    until = models.DateTimeField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    actor = models.CharField(max_length=150)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class DosageRecord(WriteOnce):
    """Dosage measured from GPS tracks by the package (``patrol_planner.dosage.measure_dosage``), stored with the
    programme: ``dosage_csv`` is ``dosage.csv`` as the package writes it (minutes and visits per spot per
    programme day, the evaluation's input), ``record`` is ``dosage.json`` (summary, notes, what each track file
    gave, provenance with the files' SHA-256). Written once; a new upload makes a new record."""

    programme = models.ForeignKey(ProgrammeRecord, on_delete=models.PROTECT, related_name="dosage_records")
    up_to = models.DateField(null=True, blank=True, help_text="last programme day measured (None: all)")
    dosage_csv = models.TextField()
    record = models.JSONField()
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    made_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-made_at", "-pk"]


class EvaluationRecord(WriteOnce):
    """An evaluation made by the package (``patrol_planner.evaluation.files.evaluate_files``, the call of
    ``patrol-planner evaluate``): ``record`` is ``evaluation.json`` (summary with the estimate, interval and
    method, verdicts, caveats, estimates, delivery, equity counts, provenance), ``html`` the offline report.
    ``dosage`` is the stored dosage it used, if any. Written once."""

    programme = models.ForeignKey(ProgrammeRecord, on_delete=models.PROTECT, related_name="evaluations")
    dosage = models.ForeignKey(DosageRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    method = models.CharField(max_length=80)
    record = models.JSONField()
    html = models.TextField()
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    made_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-made_at", "-pk"]


class ProgrammeJob(models.Model):
    """A dosage measurement or an evaluation requested from the Programme page; the queued task fills
    ``progress`` and then ``dosage`` or ``evaluation``. ``inputs``: the uploaded files ({name, sha256, bytes}),
    kept in ``<data dir>/programme-inputs/<job id>/``."""

    class Kind(models.TextChoices):
        DOSAGE = "dosage", "Dosage from GPS tracks"
        EVALUATION = "evaluation", "Evaluation"

    State = PlanJob.State  # queued, running, done, failed: the same states as a plan job

    programme = models.ForeignKey(ProgrammeRecord, on_delete=models.PROTECT, related_name="jobs")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    inputs = models.JSONField(default=list)
    #: an evaluation job: the stored dosage it reads (the newest when it was requested), if any
    with_dosage = models.ForeignKey(DosageRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    task_id = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=8, choices=PlanJob.State.choices, default=PlanJob.State.QUEUED)
    progress = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    dosage = models.OneToOneField(DosageRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="job")
    evaluation = models.OneToOneField(EvaluationRecord, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="job")

    class Meta:
        ordering = ["-requested_at", "-pk"]


# --- live re-tasking (docs/web.md, "Live re-plans") ------------------------------------------------
class LiveReplan(models.Model):
    """A re-plan of tonight's published plan asked for by an event (a unit's status, ...), run by the worker.

    ``warm`` rows load the night's morning context into the worker when a plan is published (no version).
    ``check`` rows (one per database, re-queued by new positions) run the worker's dose check and control-spot
    alerts (``web.live_check``); a check that finds a spot's dose newly delivered asks for a ``replan``.
    ``event_stored_at`` is when the triggering event was stored: ``latency_s`` runs from it to the new
    version's publication."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=6, choices=[("replan", "replan"), ("warm", "warm"), ("check", "check")],
                            default="replan")
    scenario = models.ForeignKey(StoredScenario, on_delete=models.PROTECT, related_name="+")
    authorised_by = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="+",
                                      help_text="the version a supervisor published that authorises this re-plan")
    parent = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    version = models.OneToOneField(PlanVersion, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="live_replan")
    trigger = models.CharField(max_length=200)
    trigger_at = models.DateTimeField(help_text="the event's time (the night's clock)")
    event_stored_at = models.DateTimeField()
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    #: where the time went [s]: request (event stored -> re-plan asked), queued (-> the worker starts it),
    #: context, state, replan, plan (the new plan.json), store
    steps_s = models.JSONField(default=dict)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    changes = models.JSONField(default=list)
    notes = models.JSONField(default=list)
    wall_s = models.FloatField(null=True, blank=True)
    cpu_s = models.FloatField(null=True, blank=True)
    latency_s = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        app_label = "tasking"
        ordering = ["-id"]
        indexes = [models.Index(fields=["kind", "state"], name="livereplan_kind_state")]


class LiveStop(WriteOnce):
    """A supervisor stopped live re-tasking under a published version: no more automatic re-plans of it."""

    version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="live_stops")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        app_label = "tasking"


class QuarantinedEvent(WriteOnce):
    """An event set aside with its reason (``patrol_planner.live.eventfile.QUARANTINE_REASONS``): never
    dropped silently, counted for supervisors."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    device = models.ForeignKey(DeviceToken, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=20)
    reason = models.CharField(max_length=20)
    detail = models.CharField(max_length=300)
    payload = models.JSONField(default=dict)
    at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "tasking"
        ordering = ["-id"]


class LiveTaskingEvent(WriteOnce):
    """A tasking room's event of the night (``docs/live.md``): a task added or cancelled, an intelligence-led
    visit added, a hot spot cancelled for the day. The live state takes them in as ``live.events.Event``s.

    An intelligence item is stored as its grading, handling code, place, window and value only: its text never
    leaves ingestion, so there is no field for it. ``window_start``/``window_end`` are the night's local
    wall-clock times (as ``[[tasks]]``); ``prize`` [harm] is what the routing gets (the value times the
    grading's confidence). ``replan`` is the re-plan the event asked for. Written once."""

    class Kind(models.TextChoices):
        TASK_ADDED = "task_added", "task added"
        TASK_CANCELLED = "task_cancelled", "task cancelled"
        INTEL_ADDED = "intel_added", "intelligence-led visit added"
        SPOT_CANCELLED = "spot_cancelled", "hot spot cancelled"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField(help_text="the event's time (the night's clock)")
    night_start = models.DateTimeField(help_text="the first shift start of the night it belongs to")
    site_id = models.CharField(max_length=64)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    window_start = models.TimeField(null=True, blank=True)
    window_end = models.TimeField(null=True, blank=True)
    dwell_min = models.FloatField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True, help_text="an intelligence item's harm if true [harm]")
    prize = models.FloatField(null=True, blank=True, help_text="value x the grading's confidence [harm]")
    source_evaluation = models.CharField(max_length=1, blank=True)
    intelligence_assessment = models.CharField(max_length=1, blank=True)
    handling_code = models.CharField(max_length=1, blank=True)
    disseminate = models.BooleanField(null=True, blank=True, help_text="False: the handling code restricts it")
    reason = models.CharField(max_length=300, blank=True)
    replan = models.ForeignKey(LiveReplan, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="tasking_events")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "tasking"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(
            fields=["night_start", "site_id"], condition=models.Q(kind__in=["task_added", "intel_added"]),
            name="one_added_site_per_night")]
class LiveAlert(models.Model):
    """A unit inside one of tonight's programme CONTROL spots (a spot to keep away from: a patrol there
    contaminates the comparison), raised to the supervisor: one per unit x spot x visit (a stay by the dosage
    rules), its first and last time there and minutes present; a supervisor acknowledges it."""

    kind = models.CharField(max_length=20, default="control_spot")
    authorised_by = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="+",
                                      help_text="the published plan of the night the alert was raised in")
    programme = models.ForeignKey(ProgrammeRecord, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    spot_id = models.CharField(max_length=80)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    minutes = models.FloatField(default=0.0)
    raised_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "tasking"
        ordering = ["-first_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["programme", "unit", "spot_id", "first_at"],
                                               name="one_alert_per_unit_spot_visit")]

"""What the tasking room stores of live re-tasking (``docs/web.md``, "Live re-plans"): each re-plan asked for
and what became of it, a supervisor's stop of live re-tasking, and events set aside with a reason. Imported by
:mod:`.models` (app label ``tasking``); kept apart so the live work touches the shared models module once."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from patrol_planner.web.models import DeviceToken, PlanVersion, StoredScenario, Unit, WriteOnce


class LiveReplan(models.Model):
    """A re-plan of tonight's published plan asked for by an event (a unit's status, ...), run by the worker.

    ``warm`` rows load the night's morning context into the worker when a plan is published (no version).
    ``event_stored_at`` is when the triggering event was stored: ``latency_s`` runs from it to the new
    version's publication."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=6, choices=[("replan", "replan"), ("warm", "warm")], default="replan")
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

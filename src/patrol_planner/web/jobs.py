"""The plan job's body, run by the task worker (:mod:`.tasks`): the package's pipeline, stored as a version."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from patrol_planner.web import audit
from patrol_planner.web.models import PlanJob, PlanVersion, StoredScenario


def run_plan_job(job_id: int) -> int:
    """The queued task's body: run the pipeline and store the plan as a new draft version; return its id.

    The version and the job's ``done`` state are written in one transaction, so a worker killed while
    planning leaves no half-written version.
    """
    from patrol_planner.errors import PatrolPlannerError
    from patrol_planner.scenario import PIPELINE_STEPS, run_plan

    job = PlanJob.objects.select_related("scenario", "requested_by").get(pk=job_id)
    PlanJob.objects.filter(pk=job_id).update(state=PlanJob.State.RUNNING, progress="starting", error="")

    def progress(msg: str) -> None:
        n = PIPELINE_STEPS.index(msg) + 1 if msg in PIPELINE_STEPS else 0
        PlanJob.objects.filter(pk=job_id).update(progress=f"{n}/{len(PIPELINE_STEPS)} {msg}"[:200])

    try:
        scenario = job.scenario.scenario().replace(units=job.units)
        run = run_plan(scenario, progress=progress)
    except PatrolPlannerError as exc:
        PlanJob.objects.filter(pk=job_id).update(state=PlanJob.State.FAILED, error=str(exc)[:2000])
        audit.record("plan_failed", actor=job.requested_by, target=f"job:{job_id}",
                     detail={"error": type(exc).__name__})
        raise
    plan_json = run.plan.to_json()
    with transaction.atomic():
        number = (job.scenario.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        version = PlanVersion.objects.create(
            scenario=job.scenario, number=number, parent=job.parent, plan_json=plan_json,
            input_hashes=run.plan.provenance.get("inputs", []),
            scenario_content=StoredScenario.content_of(scenario), created_by=job.requested_by)
        PlanJob.objects.filter(pk=job_id).update(state=PlanJob.State.DONE, progress="done", version=version)
        audit.record("plan_created", actor=job.requested_by, target=f"version:{version.pk}",
                     detail={"scenario": job.scenario.name, "number": number, "sha256": version.plan_sha256,
                             "parent": job.parent_id})
    return version.pk

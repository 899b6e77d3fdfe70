"""Queued jobs (django-tasks, database backend: they survive a restart and run in ``db_worker``)."""

from __future__ import annotations

from django_tasks import task


@task()
def plan_job(job_id: int) -> int:
    """Run the plan pipeline for :class:`~patrol_planner.web.models.PlanJob` ``job_id``; return the version id."""
    from patrol_planner.web.jobs import run_plan_job

    return run_plan_job(job_id)


@task()
def candidates_job(scenario_id: int) -> str:
    """Score tonight's candidate hot spots of a stored scenario (cached per scenario content)."""
    from patrol_planner.web.candidates import score_candidates

    return score_candidates(scenario_id)


@task()
def programme_dosage_job(job_id: int) -> int:
    """Measure dosage from the uploaded tracks of :class:`~patrol_planner.web.models.ProgrammeJob` ``job_id``."""
    from patrol_planner.web.programme_work import run_dosage_job

    return run_dosage_job(job_id)


@task()
def programme_evaluation_job(job_id: int) -> int:
    """Evaluate a programme on the uploaded crime files of :class:`~patrol_planner.web.models.ProgrammeJob`."""
    from patrol_planner.web.programme_work import run_evaluation_job

    return run_evaluation_job(job_id)


@task()
def live_replan_job(row_id: int) -> int | None:
    """Re-plan tonight's published plan from the live state (:class:`~patrol_planner.web.models.LiveReplan`
    ``row_id``); return the new version's id."""
    from patrol_planner.web.live_replan import run_live_replan

    return run_live_replan(row_id)


@task()
def live_check_job(row_id: int) -> int | None:
    """The dose check and control-spot alerts on the positions stored since the last check
    (:class:`~patrol_planner.web.models.LiveReplan` ``row_id``, kind ``check``); the version a re-plan for a
    spot's dose delivered published, if any."""
    from patrol_planner.web.live_check import run_dose_check

    return run_dose_check(row_id)

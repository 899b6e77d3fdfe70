"""Server-rendered pages. Each view checks the role (``role_required``) and calls :mod:`.services`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from patrol_planner.web import audit, services
from patrol_planner.web.models import AuditEvent, PlanJob, PlanVersion, StoredScenario, Unit
from patrol_planner.web.roles import otp_step_needed, role_of, role_required

PLANNERS = ("analyst", "tasking", "supervisor")  # who may see plans, spots and the map
HOME = {"analyst": "tonight", "tasking": "tonight", "supervisor": "plans", "officer": "my_route",
        "auditor": "audit"}


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    role = role_of(request.user)
    if role is None:
        raise PermissionDenied
    return redirect(HOME[role])


def _scenario(request: HttpRequest) -> StoredScenario | None:
    """The scenario chosen on the page (``scenario`` in the query or form), else the first stored."""
    chosen = request.POST.get("scenario") or request.GET.get("scenario")
    qs = StoredScenario.objects.order_by("pk")
    if chosen and chosen.isdigit():
        return qs.filter(pk=int(chosen)).first()
    return qs.first()


@require_GET
@role_required(*PLANNERS)
def tonight(request: HttpRequest) -> HttpResponse:
    stored = _scenario(request)
    return render(request, "web/tonight.html", _tonight_context(stored))


def _tonight_context(stored: StoredScenario | None, **extra: Any) -> dict[str, Any]:
    latest = stored.versions.order_by("-number").first() if stored else None
    cands = None
    if stored is not None and latest is None:
        cands = services.candidates(stored)
        if cands is None:
            services.request_candidates(stored)  # scored by the worker; the page is reloaded to show them
    features = services.map_features(latest) if latest else cands
    days, tonight_day = [], None
    if stored is not None:
        from patrol_planner.web import programmes as progs

        days, tonight_day = progs.tonight(stored)
        features = progs.with_programme_spots(features, days)
    return {
        "scenario": stored, "units": Unit.objects.select_related("station"), "latest": latest,
        "summary": services.plan_summary(latest) if latest else None,
        "features": features, "programme_days": days, "tonight_day": tonight_day,
        "candidates": cands, "scoring": stored is not None and latest is None and cands is None,
        "params": services.parameters_of(stored) if stored else {},
        "tasks": stored.content.get("tasks", []) if stored else [],
        "jobs": PlanJob.objects.filter(scenario=stored)[:5] if stored else [],
        "scenarios": StoredScenario.objects.order_by("pk"), **extra,
    }


def _edit(request: HttpRequest, change: Any) -> HttpResponse:
    """Apply a scenario change for tonight; a validation error is shown on the page as a form error (400)."""
    from patrol_planner.errors import ScenarioError

    stored = _scenario(request)
    if stored is None:
        raise Http404("no scenario")
    try:
        change(stored)
    except ScenarioError as exc:
        return render(request, "web/tonight.html", _tonight_context(stored, form_error=str(exc)), status=400)
    messages.success(request, "Saved for tonight.")
    return redirect(f"{reverse('tonight')}?scenario={stored.pk}")


@require_POST
@role_required("tasking")
def tonight_parameters(request: HttpRequest) -> HttpResponse:
    return _edit(request, lambda s: services.set_parameters(s, request.POST.dict(), request.user))


@require_POST
@role_required("tasking")
def tonight_task_add(request: HttpRequest) -> HttpResponse:
    return _edit(request, lambda s: services.add_task(s, request.POST.dict(), request.user))


@require_POST
@role_required("tasking")
def tonight_task_remove(request: HttpRequest) -> HttpResponse:
    return _edit(request, lambda s: services.remove_task(s, request.POST.get("task_id", ""), request.user))


@require_GET
@role_required("analyst")
def scenario_export(request: HttpRequest, scenario_id: int) -> HttpResponse:
    stored = get_object_or_404(StoredScenario, pk=scenario_id)
    resp = HttpResponse(services.scenario_toml(stored, request.user), content_type="application/toml")
    resp["Content-Disposition"] = f'attachment; filename="scenario-{stored.pk}.toml"'
    return resp


@require_GET
@role_required(*PLANNERS)
def plan_gpx(request: HttpRequest, version_id: int, unit: str) -> HttpResponse:
    v = get_object_or_404(PlanVersion, pk=version_id)
    try:
        data = services.export_gpx(v, unit, request.user)
    except KeyError:
        raise Http404("no such unit in this plan") from None
    resp = HttpResponse(data, content_type="application/gpx+xml")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in unit)
    resp["Content-Disposition"] = f'attachment; filename="v{v.number}-{safe}.gpx"'
    return resp


@require_GET
@role_required(*PLANNERS)
def plan_compare(request: HttpRequest) -> HttpResponse:
    versions = PlanVersion.objects.select_related("scenario").order_by("scenario", "number")
    a_id, b_id = request.GET.get("a", ""), request.GET.get("b", "")
    ctx: dict[str, Any] = {"versions": versions, "a_id": a_id, "b_id": b_id}
    if a_id.isdigit() and b_id.isdigit():
        a = get_object_or_404(PlanVersion, pk=int(a_id))
        b = get_object_or_404(PlanVersion, pk=int(b_id))
        try:
            ctx.update(services.compare(a, b))
        except services.ActionRefused as exc:
            ctx["error"] = str(exc)
    return render(request, "web/compare.html", ctx, status=400 if "error" in ctx else 200)


@require_POST
@role_required("tasking")
def unit_availability(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit = get_object_or_404(Unit, pk=unit_id)
    unit.on_duty = request.POST.get("on_duty") == "1"
    unit.save(update_fields=["on_duty"])
    audit.record("unit_availability", actor=request.user, target=f"unit:{unit.call_sign}",
                 detail={"on_duty": unit.on_duty})
    return redirect("tonight")


@require_POST
@role_required("tasking")
def plan_start(request: HttpRequest) -> HttpResponse:
    stored = _scenario(request)
    if stored is None:
        messages.error(request, "No scenario is loaded: start with --demo or import one.")
        return redirect("tonight")
    try:
        job = services.request_plan(stored, request.user)
    except services.ActionRefused as exc:
        messages.error(request, str(exc))
        return redirect("tonight")
    return redirect("job", job_id=job.pk)


@require_GET
@role_required(*PLANNERS)
def job(request: HttpRequest, job_id: int) -> HttpResponse:
    return render(request, "web/job.html", {"job": get_object_or_404(PlanJob, pk=job_id)})


@require_GET
@role_required(*PLANNERS)
def plans(request: HttpRequest) -> HttpResponse:
    return render(request, "web/plans.html", {"versions": PlanVersion.objects.select_related("scenario",
                                                                                              "created_by")[:50]})


@require_GET
@role_required(*PLANNERS)
def plan_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    v = get_object_or_404(PlanVersion.objects.select_related("scenario", "created_by", "parent"), pk=version_id)
    return render(request, "web/plan.html", {
        "v": v, "summary": services.plan_summary(v), "features": services.map_features(v),
        "approvals": v.approvals.select_related("by"), "role": role_of(request.user),
        "diff": services.plan_diff(v.parent, v) if v.parent_id else None, "exports": list(services.EXPORTS),
        "gpx_units": [u["id"] for u in v.plan_shared()["units"]], "institutions": services.institutions(v)})


@require_GET
@role_required(*PLANNERS)
def plan_export(request: HttpRequest, version_id: int, name: str) -> HttpResponse:
    v = get_object_or_404(PlanVersion, pk=version_id)
    if name not in services.EXPORTS:
        raise Http404("no such export")
    resp = HttpResponse(services.export(v, name, request.user), content_type=services.EXPORTS[name])
    # a download, never rendered here: the briefing carries its own CSP for opening offline
    resp["Content-Disposition"] = f'attachment; filename="v{v.number}-{name}"'
    return resp


@require_POST
@role_required("tasking", "supervisor")
def plan_sign_off(request: HttpRequest, version_id: int, to: str) -> HttpResponse:
    if to not in services.SIGN_OFF_ROLE or services.SIGN_OFF_ROLE[to] != role_of(request.user):
        raise PermissionDenied
    if otp_step_needed(request, to):
        messages.error(request, "Enter the code from your authenticator app first; then sign off again.")
        return redirect(f"{reverse('otp')}?next={reverse('plan', args=[version_id])}")
    try:
        services.sign_off(version_id, to, request.user, request.POST.get("reason", ""))
        messages.success(request, f"Plan {to}.")
    except services.ActionRefused as exc:
        messages.error(request, str(exc))
    except PlanVersion.DoesNotExist:
        messages.error(request, "No such plan.")
        return redirect("plans")
    return redirect("plan", version_id=version_id)


def _officer_unit(request: HttpRequest) -> Unit:
    unit = request.user.profile.unit
    if unit is None:
        raise PermissionDenied
    return unit


@require_GET
@role_required("officer")
def my_route(request: HttpRequest) -> HttpResponse:
    from patrol_planner.web import live  # live re-tasking (docs/web.md): its own module

    unit = _officer_unit(request)
    v = services.published_for_unit(unit)
    route = services.officer_route(v, unit) if v else None
    if v is not None:
        audit.record("route_viewed", actor=request.user, target=f"version:{v.pk}", detail={"unit": unit.call_sign})
    return render(request, "web/my_route.html", {
        "unit": unit, "route": route, "features": services.route_features(route) if route else None,
        "live": live.route_page(unit),
        "next": next((s for s in route["stops"] if s["seq"] == route["next_seq"]), None) if route else None})


@require_POST
@role_required("officer")
def my_route_visit(request: HttpRequest) -> HttpResponse:
    unit = _officer_unit(request)
    v = services.published_for_unit(unit)
    if v is None:
        messages.error(request, "No published route for your unit.")
        return redirect("my_route")
    try:
        seq = int(request.POST.get("seq", ""))
        services.record_visit(v, unit, seq, request.POST.get("kind", ""), request.user, request.POST.get("reason", ""))
        messages.success(request, "Recorded.")
    except ValueError:
        messages.error(request, "No stop given.")
    except services.ActionRefused as exc:
        messages.error(request, str(exc))
    return redirect("my_route")


@require_GET
@role_required("auditor")
def audit_log(request: HttpRequest) -> HttpResponse:
    check = audit.verify() if request.GET.get("verify") == "1" else None
    events = AuditEvent.objects.order_by("-seq")
    before = request.GET.get("before", "")
    if before.isdigit():
        events = events.filter(seq__lt=int(before))
    page = list(events[:AUDIT_PAGE_ROWS + 1])  # one more: is there an older page?
    older = page[AUDIT_PAGE_ROWS - 1].seq if len(page) > AUDIT_PAGE_ROWS else None
    return render(request, "web/audit.html", {"events": page[:AUDIT_PAGE_ROWS], "check": check, "older": older})


#: Audit events per page, newest first; "Older" pages back by sequence number (a stable cursor while events
#: are being added, unlike page numbers).
AUDIT_PAGE_ROWS = 100


def forbidden(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return render(request, "web/403.html", status=403)



# --- programmes -----------------------------------------------------------------------------------------
PROGRAMME_VIEWERS = ("analyst", "tasking", "supervisor", "auditor")  # the auditor reads, never amends
PROGRAMME_AMENDERS = ("analyst", "tasking")


@require_GET
@role_required(*PROGRAMME_VIEWERS)
def programmes(request: HttpRequest) -> HttpResponse:
    from patrol_planner.web.models import ProgrammeRecord

    return render(request, "web/programmes.html", {"programmes": ProgrammeRecord.objects.all()})


@require_GET
@role_required(*PROGRAMME_VIEWERS)
def programme_detail(request: HttpRequest, programme_id: int) -> HttpResponse:
    from patrol_planner.web import programmes as progs
    from patrol_planner.web.models import ProgrammeRecord

    rec = get_object_or_404(ProgrammeRecord, pk=programme_id)
    from patrol_planner.web.models import ProgrammeJob

    role = role_of(request.user)
    return render(request, "web/programme.html", {"p": rec, **progs.page_data(rec),
                                                   "may_amend": role in PROGRAMME_AMENDERS,
                                                   "may_measure": role == "analyst",
                                                   "jobs": ProgrammeJob.objects.filter(programme=rec)[:5]})


@require_POST
@role_required("analyst")
def programme_tracks(request: HttpRequest, programme_id: int) -> HttpResponse:
    """Upload GPS tracks; a queued job measures the dosage (the package's) and stores it with the programme."""
    from patrol_planner.web import programme_jobs
    from patrol_planner.web.models import ProgrammeRecord

    rec = get_object_or_404(ProgrammeRecord, pk=programme_id)
    try:
        job = programme_jobs.request_dosage(rec, request.FILES.getlist("tracks"), request.user)
    except services.ActionRefused as exc:
        messages.error(request, str(exc))
        return redirect("programme", programme_id=programme_id)
    return redirect("programme_job", job_id=job.pk)


@require_POST
@role_required("analyst")
def programme_evaluate(request: HttpRequest, programme_id: int) -> HttpResponse:
    """Upload outcome crime files; a queued job evaluates the programme (the package's evaluation)."""
    from patrol_planner.web import programme_jobs
    from patrol_planner.web.models import ProgrammeRecord

    rec = get_object_or_404(ProgrammeRecord, pk=programme_id)
    try:
        job = programme_jobs.request_evaluation(rec, request.FILES.getlist("crimes"), request.user,
                                                mapping=request.FILES.get("mapping"),
                                                use_dosage=request.POST.get("use_dosage") == "1")
    except services.ActionRefused as exc:
        messages.error(request, str(exc))
        return redirect("programme", programme_id=programme_id)
    return redirect("programme_job", job_id=job.pk)


@require_GET
@role_required(*PROGRAMME_VIEWERS)
def programme_job(request: HttpRequest, job_id: int) -> HttpResponse:
    from patrol_planner.web.models import ProgrammeJob

    return render(request, "web/programme_job.html",
                  {"job": get_object_or_404(ProgrammeJob.objects.select_related("programme"), pk=job_id)})


@require_GET
@role_required(*PROGRAMME_VIEWERS)
def programme_evaluation(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    from patrol_planner.web import programmes as progs
    from patrol_planner.web.models import EvaluationRecord

    ev = get_object_or_404(EvaluationRecord.objects.select_related("programme", "made_by"), pk=evaluation_id)
    return render(request, "web/evaluation.html", {"ev": ev, "e": progs.evaluation_page(ev)})


@require_GET
@role_required(*PROGRAMME_VIEWERS)
def programme_evaluation_report(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    from patrol_planner.web.models import EvaluationRecord

    ev = get_object_or_404(EvaluationRecord, pk=evaluation_id)
    audit.record("export", actor=request.user, target=f"evaluation:{ev.pk}", detail={"file": "evaluation.html"})
    resp = HttpResponse(ev.html, content_type="text/html; charset=utf-8")
    # a download, never rendered here: the report carries its own CSP for opening offline
    resp["Content-Disposition"] = f'attachment; filename="evaluation-{ev.pk}.html"'
    return resp


@require_POST
@role_required(*PROGRAMME_AMENDERS)
def programme_amend(request: HttpRequest, programme_id: int) -> HttpResponse:
    from datetime import date

    from patrol_planner.web import programmes as progs
    from patrol_planner.web.models import ProgrammeRecord

    get_object_or_404(ProgrammeRecord, pk=programme_id)
    raw_day = request.POST.get("date", "").strip()
    try:
        day = date.fromisoformat(raw_day) if raw_day else None
    except ValueError:
        messages.error(request, f"{raw_day!r} is not a date (YYYY-MM-DD)")
        return redirect("programme", programme_id=programme_id)
    try:
        a = progs.record_amendment(programme_id, request.user, action=request.POST.get("action", ""),
                                   reason=request.POST.get("reason", ""), day=day,
                                   spot_id=request.POST.get("spot_id", "").strip() or None)
        messages.success(request, f"Amendment {a.seq} recorded.")
    except services.ActionRefused as exc:
        messages.error(request, str(exc))
    return redirect("programme", programme_id=programme_id)


# --- the supervisor's OTP step --------------------------------------------------------------------------
@role_required("supervisor")
def otp(request: HttpRequest) -> HttpResponse:
    """Verify this session with a code from the supervisor's TOTP device (django-otp checks the code,
    its drift window, replays and throttling)."""
    import django_otp

    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        nxt = reverse("plans")
    if request.method == "POST":
        device = django_otp.match_token(request.user, request.POST.get("token", "").strip())
        if device is not None:
            django_otp.login(request, device)
            audit.record("otp_verified", actor=request.user, target=f"user:{request.user.get_username()}")
            return redirect(nxt)
        audit.record("otp_failed", actor=request.user, target=f"user:{request.user.get_username()}")
        messages.error(request, "That code is not valid (or was used already). Try the next one.")
    elif request.method != "GET":
        return HttpResponse(status=405)
    from django_otp import user_has_device

    return render(request, "web/otp.html", {"next": nxt, "has_device": user_has_device(request.user, confirmed=True),
                                            "verified": request.user.is_verified()})

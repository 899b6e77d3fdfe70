"""The tasking room's live page (``/tonight/live/``): tonight's current version, the live re-plans with what
each changed, events set aside, the units' latest positions on a map; a supervisor stops live re-tasking
there. Pages only: the re-plans are :mod:`.live_replan`'s (the package's re-plan)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from patrol_planner.web import live_replan, live_tasking
from patrol_planner.web.roles import role_required
from patrol_planner.web.services import ActionRefused


@require_GET
@role_required("tasking", "supervisor")
def live_room(request: HttpRequest) -> HttpResponse:
    from patrol_planner.web import live_alerts
    from patrol_planner.web.services import map_features

    current = live_replan.current_published()
    night = live_tasking.tonight() if current else None
    return render(request, "web/live.html", {
        "live": live_tasking.room_overview(), "current": current,
        "features": map_features(current) if current else None,
        "choices": live_tasking.choices(night) if night else None,
        "events": [live_tasking.as_dict(ev) for ev in live_tasking.tonight_events(night)] if night else [],
        "alerts": live_alerts.alerts()})


@require_POST
@role_required("tasking", "supervisor")
def live_event(request: HttpRequest, kind: str) -> HttpResponse:
    """A task, intelligence-led visit or cancellation from the page's forms: the API's service does the rest."""
    data = request.POST.dict()
    data.pop("csrfmiddlewaretoken", None)
    site = data.pop("site_id", None) if kind in ("task_cancelled", "spot_cancelled") else None
    try:
        ev = live_tasking.submit(kind, data, request.user, site_id=site)
    except ActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Recorded: {live_tasking.explain(ev, room=True)}. The night is being re-planned.")
    return redirect("live_room")


@require_POST
@role_required("supervisor")
def live_stop(request: HttpRequest) -> HttpResponse:
    current = live_replan.current_published()
    if current is None:
        messages.error(request, "No published plan.")
    else:
        live_replan.stop_live(current, request.user, request.POST.get("reason", ""))
        messages.success(request, "Live re-tasking stopped: events are still recorded, nothing is re-planned "
                                  "until a supervisor publishes a plan again.")
    return redirect("live_room")


@require_POST
@role_required("supervisor")
def live_alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    from django.shortcuts import get_object_or_404

    from patrol_planner.web import live_alerts
    from patrol_planner.web.models import LiveAlert

    get_object_or_404(LiveAlert, pk=alert_id)
    live_alerts.acknowledge(alert_id, request.user)
    messages.success(request, "Alert acknowledged.")
    return redirect("live_room")

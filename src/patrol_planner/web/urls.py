"""URL map of the tasking room."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from patrol_planner.web import live_api, live_views, views
from patrol_planner.web.api import api

live_api.register(api)  # live statuses and "My route" changes (docs/live.md), in their own module

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tonight/", views.tonight, name="tonight"),
    path("tonight/plan/", views.plan_start, name="plan_start"),
    path("tonight/live/", live_views.live_room, name="live_room"),  # live re-tasking (docs/web.md)
    path("tonight/live/stop/", live_views.live_stop, name="live_stop"),
    path("tonight/live/events/<str:kind>/", live_views.live_event, name="live_event"),
    path("tonight/live/alerts/<int:alert_id>/acknowledge/", live_views.live_alert_acknowledge,
         name="live_alert_acknowledge"),
    path("tonight/units/<int:unit_id>/availability/", views.unit_availability, name="unit_availability"),
    path("tonight/parameters/", views.tonight_parameters, name="tonight_parameters"),
    path("tonight/tasks/add/", views.tonight_task_add, name="tonight_task_add"),
    path("tonight/tasks/remove/", views.tonight_task_remove, name="tonight_task_remove"),
    path("scenarios/<int:scenario_id>/scenario.toml", views.scenario_export, name="scenario_export"),
    path("jobs/<int:job_id>/", views.job, name="job"),
    path("plans/", views.plans, name="plans"),
    path("plans/compare/", views.plan_compare, name="plan_compare"),
    path("plans/<int:version_id>/gpx/<str:unit>", views.plan_gpx, name="plan_gpx"),
    path("plans/<int:version_id>/", views.plan_detail, name="plan"),
    path("plans/<int:version_id>/export/<str:name>", views.plan_export, name="plan_export"),
    path("plans/<int:version_id>/<str:to>/", views.plan_sign_off, name="plan_sign_off"),
    path("my-route/", views.my_route, name="my_route"),
    path("my-route/visit/", views.my_route_visit, name="my_route_visit"),
    path("programmes/", views.programmes, name="programmes"),
    path("programmes/<int:programme_id>/", views.programme_detail, name="programme"),
    path("programmes/<int:programme_id>/amend/", views.programme_amend, name="programme_amend"),
    path("programmes/<int:programme_id>/tracks/", views.programme_tracks, name="programme_tracks"),
    path("programmes/<int:programme_id>/evaluate/", views.programme_evaluate, name="programme_evaluate"),
    path("programmes/jobs/<int:job_id>/", views.programme_job, name="programme_job"),
    path("programmes/evaluations/<int:evaluation_id>/", views.programme_evaluation, name="programme_evaluation"),
    path("programmes/evaluations/<int:evaluation_id>/evaluation.html", views.programme_evaluation_report,
         name="programme_evaluation_report"),
    path("otp/", views.otp, name="otp"),
    path("audit/", views.audit_log, name="audit"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]

handler403 = "patrol_planner.web.views.forbidden"

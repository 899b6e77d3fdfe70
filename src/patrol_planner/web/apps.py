"""The Django app of the tasking room (label ``tasking``)."""

from __future__ import annotations

from django.apps import AppConfig


class TaskingConfig(AppConfig):
    name = "patrol_planner.web"
    label = "tasking"
    verbose_name = "Tasking room"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from patrol_planner.web import live_queue, signals  # noqa: F401  (login audit receivers)

        live_queue.connect()  # a published plan warms the worker for live re-plans (docs/web.md)

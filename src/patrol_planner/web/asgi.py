"""ASGI entry point for uvicorn (``patrol-planner serve``)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patrol_planner.web.settings")
application = get_asgi_application()

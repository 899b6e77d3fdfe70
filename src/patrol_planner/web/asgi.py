"""ASGI entry point for uvicorn (``patrol-planner serve``)."""

from __future__ import annotations

import os

from patrol_planner.web.runtime import SERVE_PID_ENV


def _stop_with_serve() -> None:
    """In an answering process that ``serve`` started, ask the kernel to stop it when ``serve`` dies, even by
    ``kill -9``: uvicorn's supervisor stops its children only when it exits cleanly, and an orphan would keep
    answering on the port after a crash. Linux only; elsewhere a crash of ``serve`` leaves them running."""
    want = os.environ.get(SERVE_PID_ENV, "")
    if not want.isdigit() or os.getppid() != int(want):
        return
    try:
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux
        return
    if os.getppid() != int(want):  # serve died before the request above: nobody would stop this process
        os._exit(1)


_stop_with_serve()

from django.core.asgi import get_asgi_application  # noqa: E402  (after the parent-death request)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patrol_planner.web.settings")
application = get_asgi_application()

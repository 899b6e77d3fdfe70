"""Audit receivers: every login, failed login, logout and lock-out."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from patrol_planner.web.audit import record


def _ip(request: Any) -> str:
    return (getattr(request, "META", None) or {}).get("REMOTE_ADDR", "") if request is not None else ""


@receiver(user_logged_in)
def _login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("login", actor=user, detail={"ip": _ip(request)})


@receiver(user_logged_out)
def _logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record("logout", actor=user, detail={"ip": _ip(request)})


@receiver(user_login_failed)
def _failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    # The username tried is logged (it names the account under attack); the password never is.
    record("login_failed", actor="", target=str(credentials.get("username", ""))[:150], detail={"ip": _ip(request)})


@receiver(user_locked_out)
def _locked(sender: Any, request: Any = None, username: str | None = None, ip_address: str | None = None,
            **kwargs: Any) -> None:
    record("locked_out", actor="", target=str(username or "")[:150], detail={"ip": ip_address or ""})

"""Role checks, on the server, for every page and API call."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from patrol_planner.web.models import Profile


def role_of(user: Any) -> str | None:
    """The user's role, or None (anonymous, inactive, or no profile: such a user may open nothing)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    try:
        return user.profile.role
    except Profile.DoesNotExist:
        return None


def allowed(user: Any, roles: tuple[str, ...]) -> bool:
    return role_of(user) in roles


def role_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """View decorator: anonymous users go to the login page; other roles get 403."""

    def deco(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not allowed(request.user, roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapper.roles = roles  # type: ignore[attr-defined]  # read by the tests' route table
        return wrapper

    return deco


def role_context(request: HttpRequest) -> dict[str, Any]:
    """Template context: the signed-in user's role (menus show only what the role may open)."""
    return {"role": role_of(getattr(request, "user", None))}


#: Sign-offs that need the OTP step from a supervisor who has a confirmed TOTP device.
OTP_DECISIONS = ("approved", "rejected", "published")


def otp_step_needed(request: HttpRequest, decision: str) -> bool:
    """True when this sign-off must wait for the OTP step: the user has a confirmed TOTP device (django-otp)
    and this session has not been verified with a code from it."""
    from django_otp import user_has_device

    user = request.user
    return (decision in OTP_DECISIONS and user_has_device(user, confirmed=True)
            and not (hasattr(user, "is_verified") and user.is_verified()))

"""The JSON API fuzzed by schemathesis from its own ``/api/openapi.json``, as signed-in users with a valid
CSRF token: no 5xx, every response in the schema (status code, content type, body)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis (a dev dependency) is not installed")
from django.core.wsgi import get_wsgi_application  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

#: What the issue asks: no 5xx and no response outside the schema. (Schemathesis's auth and negative-data
#: checks assume one fixed credential per call; the role table in test_web_roles.py covers refusals.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
CSRF = "x" * 32  # an unmasked CSRF secret: cookie and header must match, as Django checks


@pytest.fixture
def same_connection() -> Iterator[None]:
    """As Django's test client does: requests keep the test's database connection (and its transaction)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def sessions(roster: dict[str, Any], make_version: Any, same_connection: None) -> dict[str, dict[str, str]]:
    """Session and CSRF cookies of a signed-in user for each role, over a published and a submitted plan."""
    from django.test import Client

    make_version("published")
    make_version("submitted")
    from patrol_planner.web.services import issue_device_token

    out = {"device": {"token": issue_device_token(roster["units"]["RU-A1"], "terminal")[1]}}
    for role in ("tasking", "supervisor", "officer", "auditor"):
        c = Client()
        c.force_login(roster["users"][role])
        out[role] = {"sessionid": c.cookies["sessionid"].value, "csrftoken": CSRF}
    return out


@pytest.mark.slow
@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case: Any, sessions: dict[str, dict[str, str]]):
    # Data outside the schema (negative mode) must be refused with a 4xx, not crash: only the 5xx check then.
    checks = CHECKS if case.meta.generation.mode == "positive" else [not_a_server_error]
    if case.path.startswith("/device/"):  # the device endpoints take a bearer token, not a session
        case.call_and_validate(headers={"Authorization": f"Bearer {sessions['device']['token']}"}, checks=checks)
        return
    for role, cookies in sessions.items():
        if role != "device":
            case.call_and_validate(cookies=cookies, headers={"X-CSRFToken": CSRF}, checks=checks)

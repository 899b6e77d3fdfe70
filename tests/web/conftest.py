"""Django settings for the tasking-room tests only (this folder): a throwaway data folder, the package's
settings module, and the roster, users and plans the tests share.

``PATROL_PLANNER_DB=postgresql://...`` runs the same tests on PostgreSQL (pytest-django creates ``test_<name>``).
The plan is made once per session by the real pipeline on the bundled Rutland night.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("django", reason="the web extra is not installed")
pytest.importorskip("pytest_django", reason="pytest-django is not installed")

os.environ.setdefault("PATROL_PLANNER_DATA_DIR", tempfile.mkdtemp(prefix="patrol-web-test-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patrol_planner.web.settings")
# pytest-django read the environment before this conftest set it; set Django up here, once.
import django  # noqa: E402

django.setup()

ROLES = ("analyst", "tasking", "supervisor", "officer", "auditor")
PASSWORD = "correct-horse-battery-staple-7"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Django's advice for tests: a fast hasher (Argon2 costs ~1 s a hash on this shared machine);
    ``test_web_security.py`` checks that the real settings store Argon2 hashes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_audit_anchor(settings: Any) -> None:
    """Each test's database is rolled back but a file in the data folder is not: the anchor outside the
    database is off here, and on in the tests of it (``test_web_security.py``) and in every live server."""
    settings.AUDIT_ANCHOR_FILE = None


@pytest.fixture(scope="session")
def real_plan_json() -> str:
    """plan.json of the bundled Rutland night with its three units, made by the package's pipeline."""
    from patrol_planner.scenario import default_scenario_path, load_scenario, run_plan

    s = load_scenario(default_scenario_path())
    return run_plan(s).plan.to_json()


@pytest.fixture
def roster(db: Any) -> dict[str, Any]:
    """The demo roster (stations, the scenario's three units) and one user per role; ``officer`` crews RU-A1,
    ``officer_b`` crews RU-B1."""
    from django.contrib.auth import get_user_model

    from patrol_planner.web.admin_ops import load_demo
    from patrol_planner.web.models import Profile, StoredScenario, Unit

    passwords = load_demo()
    User = get_user_model()
    users = {role: User.objects.get(username=role) for role in ROLES}
    b = User.objects.create_user("officer_b", password=PASSWORD)
    Profile.objects.create(user=b, role="officer", unit=Unit.objects.get(call_sign="RU-B1"))
    users["officer_b"] = b
    return {"users": users, "passwords": {**passwords, "officer_b": PASSWORD},
            "scenario": StoredScenario.objects.get(), "units": {u.call_sign: u for u in Unit.objects.all()}}


@pytest.fixture
def make_version(roster: dict[str, Any], real_plan_json: str) -> Callable[..., Any]:
    """Store the real plan as a version and move it to ``status`` through the sign-off rules."""
    from patrol_planner.web import services
    from patrol_planner.web.models import PlanVersion

    def make(status: str = "draft") -> Any:
        n = PlanVersion.objects.filter(scenario=roster["scenario"]).count() + 1
        v = PlanVersion.objects.create(scenario=roster["scenario"], number=n, plan_json=real_plan_json,
                                       scenario_content=roster["scenario"].content,
                                       created_by=roster["users"]["tasking"])
        steps = {"draft": [], "submitted": ["submitted"], "approved": ["submitted", "approved"],
                 "published": ["submitted", "approved", "published"]}[status]
        for to in steps:
            who = roster["users"]["tasking" if to == "submitted" else "supervisor"]
            v = services.sign_off(v.pk, to, who)
        return v

    return make

"""Optional TOTP for supervisors (django-otp): with a confirmed device, approving, rejecting and publishing
wait for the OTP step (page and API); a real code computed here from the device's key passes it once."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from .test_web_cli import _one_line_error, _pp


def _code(dev: Any, at: float | None = None) -> str:
    """The device's current code, computed with django-otp's own TOTP implementation."""
    from django_otp.oath import TOTP

    totp = TOTP(dev.bin_key, step=dev.step, t0=dev.t0, digits=dev.digits, drift=0)
    totp.time = at if at is not None else time.time()
    return f"{totp.token():0{dev.digits}d}"


@pytest.fixture
def device(roster: dict[str, Any]) -> Any:
    from patrol_planner.web.admin_ops import enrol_totp

    dev, uri = enrol_totp("supervisor")
    assert uri.startswith("otpauth://totp/") and "secret=" in uri
    return dev


def test_without_a_device_no_step(client: Any, roster: dict[str, Any], make_version: Any) -> None:
    v = make_version("submitted")
    client.force_login(roster["users"]["supervisor"])
    assert client.post(f"/plans/{v.pk}/approved/", {"reason": "ok"}).status_code == 302
    v.refresh_from_db()
    assert v.status == "approved"


def test_the_otp_step_before_a_sign_off(client: Any, roster: dict[str, Any], make_version: Any,
                                        device: Any) -> None:
    from patrol_planner.web.models import Approval, AuditEvent

    v = make_version("submitted")
    client.force_login(roster["users"]["supervisor"])
    r = client.post(f"/plans/{v.pk}/approved/", {"reason": "ok"})
    assert r.status_code == 302 and r["Location"] == f"/otp/?next=/plans/{v.pk}/"
    r = client.post(f"/api/versions/{v.pk}/approved", data=json.dumps({"reason": "ok"}),
                    content_type="application/json")
    assert r.status_code == 403 and "/otp/" in r.json()["detail"]
    v.refresh_from_db()
    assert v.status == "submitted" and not Approval.objects.filter(version=v, decision="approved").exists()

    good = _code(device)
    wrong = f"{(int(good) + 1) % 10 ** device.digits:0{device.digits}d}"
    page = client.post("/otp/", {"token": wrong, "next": f"/plans/{v.pk}/"}, follow=True).content.decode()
    assert "not valid" in page
    assert AuditEvent.objects.filter(action="otp_failed", actor="supervisor").count() == 1
    device.refresh_from_db()
    device.throttle_reset()  # django-otp's throttling delays the next try after a failure; not under test here
    r = client.post("/otp/", {"token": good, "next": f"/plans/{v.pk}/"})
    assert r.status_code == 302 and r["Location"] == f"/plans/{v.pk}/"
    assert AuditEvent.objects.filter(action="otp_verified", actor="supervisor").count() == 1
    assert client.post(f"/plans/{v.pk}/approved/", {"reason": "ok"}).status_code == 302
    r = client.post(f"/api/versions/{v.pk}/published", data=json.dumps({"reason": ""}),
                    content_type="application/json")
    assert r.status_code == 200, r.content
    v.refresh_from_db()
    assert v.status == "published"


def test_a_code_is_used_once_and_an_outside_next_is_ignored(client: Any, roster: dict[str, Any],
                                                            device: Any) -> None:
    from django.test import Client

    client.force_login(roster["users"]["supervisor"])
    code = _code(device)
    r = client.post("/otp/", {"token": code, "next": "https://elsewhere.example/"})
    assert r.status_code == 302 and r["Location"] == "/plans/"
    other = Client()
    other.force_login(roster["users"]["supervisor"])
    page = other.post("/otp/", {"token": code}, follow=True).content.decode()
    assert "not valid" in page  # replayed in another session: refused


@pytest.mark.parametrize("role", ["analyst", "tasking", "officer", "auditor"])
def test_only_supervisors_reach_the_otp_page(client: Any, roster: dict[str, Any], role: str) -> None:
    client.force_login(roster["users"][role])
    assert client.get("/otp/").status_code == 403


def test_enrol_refuses_non_supervisors_and_a_second_device(roster: dict[str, Any], device: Any) -> None:
    from patrol_planner.web.admin_ops import enrol_totp
    from patrol_planner.web.runtime import WebConfigError

    with pytest.raises(WebConfigError, match="not one"):
        enrol_totp("tasking")
    with pytest.raises(WebConfigError, match="already"):
        enrol_totp("supervisor")


def test_users_add_totp_from_the_command_line(tmp_path: Any) -> None:
    d = ["--data-dir", str(tmp_path / "data")]
    r = _pp("users", "add", "insp", "--role", "supervisor", "--totp", *d, stdin="a-long-enough-passphrase-42\n")
    assert r.returncode == 0, r.stderr
    secret = re.search(r"secret \(base32\): ([A-Z2-7]+)", r.stdout)
    assert secret and re.search(r"otpauth://totp/[^\s]*secret=" + secret.group(1), r.stdout), r.stdout
    _one_line_error(_pp("users", "add", "ann", "--role", "tasking", "--totp", *d,
                        stdin="a-long-enough-passphrase-42\n"), "for supervisors")
    _one_line_error(_pp("users", "totp", "insp", *d), "already")

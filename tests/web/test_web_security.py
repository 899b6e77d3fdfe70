"""The audit chain detects tampering; settings hold the security choices (checked, not assumed)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _events(n: int) -> None:
    from patrol_planner.web import audit

    for i in range(n):
        audit.record("test_event", actor="tester", target=f"thing:{i}", detail={"i": i, "note": "ünïcode"})


@pytest.mark.django_db
def test_chain_verifies_then_detects_an_altered_row():
    from patrol_planner.web import audit

    _events(5)
    assert audit.verify().ok
    with connection.cursor() as cur:  # what someone with database access, but not the key, can do
        cur.execute("UPDATE tasking_auditevent SET actor = %s WHERE seq = 3", ["someone-else"])
    check = audit.verify()
    assert not check.ok and "event 3 was altered" in check.problem


@pytest.mark.django_db
def test_chain_detects_a_deleted_row_in_the_middle_and_at_the_end():
    from patrol_planner.web import audit

    _events(5)
    with connection.cursor() as cur:
        cur.execute("DELETE FROM tasking_auditevent WHERE seq = 2")
    assert "event 2 is missing" in audit.verify().problem
    _events(0)
    with connection.cursor() as cur:
        cur.execute("DELETE FROM tasking_auditevent WHERE seq >= 2")
    check = audit.verify()
    assert not check.ok and "removed at the end" in check.problem


@pytest.mark.django_db
def test_chain_detects_a_row_recomputed_without_the_key():
    """Rewriting a row and its sha256 (but not the HMAC key) is caught."""
    import hashlib

    from patrol_planner.web import audit
    from patrol_planner.web.models import AuditEvent

    _events(3)
    ev = AuditEvent.objects.get(seq=2)
    forged = hashlib.sha256((ev.prev_hash + audit.canonical(2, ev.at, "x", ev.action, ev.target,
                                                            ev.detail)).encode()).hexdigest()
    with connection.cursor() as cur:
        cur.execute("UPDATE tasking_auditevent SET actor = 'x', hash = %s WHERE seq = 2", [forged])
    assert not audit.verify().ok


@pytest.mark.django_db
def test_audit_rows_refuse_update_and_delete_through_the_orm():
    from patrol_planner.web.models import AuditEvent, ImmutableError

    _events(2)
    ev = AuditEvent.objects.get(seq=1)
    ev.actor = "changed"
    with pytest.raises(ImmutableError):
        ev.save()
    with pytest.raises(ImmutableError):
        ev.delete()
    with pytest.raises(ImmutableError):
        AuditEvent.objects.filter(seq=1).update(actor="changed")
    with pytest.raises(ImmutableError):
        AuditEvent.objects.all().delete()


@pytest.mark.django_db
def test_auditor_page_shows_the_chain_check(client: Any, roster: dict[str, Any]):
    client.force_login(roster["users"]["auditor"])
    assert "Chain intact" in client.get("/audit/?verify=1").content.decode()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM tasking_auditevent WHERE seq = 1")
    assert "Chain broken" in client.get("/audit/?verify=1").content.decode()
    assert client.get("/api/audit/verify").json()["ok"] is False


@pytest.mark.django_db
def test_passwords_are_stored_with_argon2(settings: Any):
    from django.conf import settings as real
    from django.contrib.auth import get_user_model

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    assert real.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    u = get_user_model().objects.create_user("argon", password="a-long-enough-passphrase-42")
    assert u.password.startswith("argon2$")


def test_secrets_are_generated_once_with_mode_0600(tmp_path: Path):
    from patrol_planner.web.runtime import secret

    a = secret("k", tmp_path)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    assert secret("k", tmp_path) == a and len(a) >= 64
    (tmp_path / "k").chmod(0o644)
    assert secret("k", tmp_path) == a
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


def _manage(tmp_path: Path, *args: str, tls: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC, "PATROL_PLANNER_DATA_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "patrol_planner.web.settings", "PATROL_PLANNER_TLS_PROXY": "1" if tls else ""}
    return subprocess.run([sys.executable, "-m", "patrol_planner.web.manage", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_is_clean_in_production_settings(tmp_path: Path):
    r = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", tls=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # and it is not vacuous: on plain HTTP (a laptop) it names the missing HTTPS settings
    r = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", tls=False)
    assert r.returncode != 0 and "SECURE_SSL_REDIRECT" in r.stdout + r.stderr


@pytest.mark.django_db
def test_headers_forbid_inline_script_framing_and_external_origins(client: Any, settings: Any):
    r = client.get("/login/")
    csp = r["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "http" not in csp
    assert r["X-Frame-Options"] == "DENY"
    assert settings.DEBUG is False and settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    assert "<script>" not in r.content.decode()  # no inline script on any template (see test below)


def test_templates_have_no_inline_script_or_style():
    tpl = Path(SRC) / "patrol_planner" / "web" / "templates" / "web"
    for p in tpl.glob("*.html"):
        text = p.read_text()
        assert "<script>" not in text and " style=" not in text and "<style" not in text, p.name
        assert "http://" not in text and "https://" not in text, p.name


def test_bad_db_url_is_one_line_and_non_zero(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": SRC}
    r = subprocess.run([sys.executable, "-m", "patrol_planner", "serve", "--db", "mysql://u:secret@h/x",
                        "--data-dir", str(tmp_path)], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "secret" not in r.stderr
    assert r.stderr.strip().count("\n") == 0


@pytest.mark.django_db
def test_audit_pages_back_through_every_event_once(client: Any, roster: dict[str, Any]):
    """The log is shown 100 events a page, newest first; following "Older events" reaches every event once."""
    import re

    from patrol_planner.web.models import AuditEvent

    _events(230)
    client.force_login(roster["users"]["auditor"])
    seen: list[int] = []
    url = "/audit/"
    for _ in range(10):
        html = client.get(url).content.decode()
        seen += [int(s) for s in re.findall(r"<tr><td>(\d+)</td>", html)]
        older = re.search(r'href="\?before=(\d+)" id="older-link"', html)
        if older is None:
            break
        url = f"/audit/?before={older.group(1)}"
    every = list(AuditEvent.objects.order_by("-seq").values_list("seq", flat=True))
    assert seen == every and len(every) > 230


@pytest.mark.django_db
def test_anchor_outside_the_database_catches_a_truncated_chain_with_a_rewound_head(
        settings: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any):
    """Removing the last events and setting the head to the new last event is invisible inside the database;
    the anchor in the data folder still records the true newest event."""
    from patrol_planner.web import audit

    settings.AUDIT_ANCHOR_FILE = tmp_path / "audit-anchor.json"
    audit.ensure_anchor()
    with django_capture_on_commit_callbacks(execute=True):
        _events(5)
    assert audit.verify().ok
    assert stat.S_IMODE(os.stat(settings.AUDIT_ANCHOR_FILE).st_mode) == 0o600
    with connection.cursor() as cur:  # what someone with the database, but not the data folder, can do
        cur.execute("DELETE FROM tasking_auditevent WHERE seq >= 5")
        cur.execute("UPDATE tasking_audithead SET count = 4, last_hash = "
                    "(SELECT hash FROM tasking_auditevent WHERE seq = 4) WHERE id = 1")
    settings.AUDIT_ANCHOR_FILE = None
    assert audit.verify().ok  # the database alone no longer shows it
    settings.AUDIT_ANCHOR_FILE = tmp_path / "audit-anchor.json"
    check = audit.verify()
    assert not check.ok and "anchor outside the database records 6" in check.problem, check


@pytest.mark.django_db
def test_anchor_that_disagrees_or_is_missing_is_reported(settings: Any, tmp_path: Path,
                                                        django_capture_on_commit_callbacks: Any):
    import json

    from patrol_planner.web import audit

    anchor = tmp_path / "audit-anchor.json"
    settings.AUDIT_ANCHOR_FILE = anchor
    audit.ensure_anchor()
    with django_capture_on_commit_callbacks(execute=True):
        _events(3)
    data = json.loads(anchor.read_text())
    anchor.write_text(json.dumps({"seq": data["seq"], "hash": "f" * 64}))
    assert "differs from the anchor" in audit.verify().problem
    anchor.write_text("not json")
    assert "unreadable" in audit.verify().problem
    anchor.unlink()
    assert "missing from the data folder" in audit.verify().problem
    audit.ensure_anchor()  # a new anchor is itself an audited event
    from patrol_planner.web.models import AuditEvent

    assert AuditEvent.objects.filter(action="audit_anchored").count() == 2
    assert audit.verify().ok

"""kill -9 of the server and its worker in the middle of a plan job: no half-written version, and after a
restart the job is requeued and finishes with exactly one version (live ``serve`` on SQLite)."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .test_web_browser import SRC, _free_port, _login, _page

pytestmark = pytest.mark.slow


def _start(data: Path, port: int, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    env = {**os.environ, "PYTHONPATH": SRC}
    for k in ("DJANGO_SETTINGS_MODULE", "PATROL_PLANNER_DATA_DIR", "PATROL_PLANNER_DB"):
        env.pop(k, None)
    path = data / f"serve-{time.monotonic_ns()}.log"
    log = open(path, "w")  # noqa: SIM115  (the child writes to it)
    # one answering process unless a test asks for more: each one loads Django (CPU the suite can spare)
    workers = () if "--workers" in extra else ("--workers", "1")
    return subprocess.Popen([sys.executable, "-m", "patrol_planner", "serve", "--data-dir", str(data), "--port",
                             str(port), *workers, *extra], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True), path


def _wait_log(log: Path, text: str, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> str:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        logs = log.read_text()
        if text in logs:
            return logs
        if proc.poll() is not None:
            pytest.fail("serve exited:\n" + logs)
        time.sleep(0.5)
    pytest.fail(f"no {text!r} in the log after {timeout_s} s")


def _query(data: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(data / "patrol.sqlite3", timeout=20) as db:
        return db.execute(sql).fetchall()


def _short_plans(page: Any, url: str) -> None:
    """A 4 s cap on the plan's search (the Tonight parameters form): these tests are about the kill, not the
    plan."""
    page.fill("input[name=seconds]", "4")
    page.click("#params-button")
    assert "Saved for tonight" in page.inner_text("body")
    page.goto(url + "/tonight/")


def test_kill_9_during_a_plan_then_restart(browser: Any, tmp_path: Path):
    port = _free_port()
    proc, log = _start(tmp_path, port, "--demo")
    logs = _wait_log(log, "tasking room ready", proc)
    passwords = dict(re.findall(r"^  (\w+)\s+(\S+)$", logs, re.M))
    live = {"url": f"http://127.0.0.1:{port}", "passwords": passwords}
    page, _ = _page(browser)
    _login(page, live, "tasking")
    _short_plans(page, live["url"])
    page.click("#plan-button")
    end = time.monotonic() + 240
    while time.monotonic() < end:  # wait until the worker is inside the pipeline
        rows = _query(tmp_path, "SELECT state, progress FROM tasking_planjob")
        if rows and rows[0][0] == "running" and rows[0][1][:1] in "2345":
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the job never ran: {rows}")
    os.killpg(proc.pid, signal.SIGKILL)  # the server and its worker, at once, mid-plan
    proc.wait(timeout=30)
    assert _query(tmp_path, "SELECT count(*) FROM tasking_planversion") == [(0,)]
    assert _query(tmp_path, "SELECT state FROM tasking_planjob") == [("running",)]

    proc, log = _start(tmp_path, port)
    try:
        assert "1 interrupted job(s) (plans, dosage, evaluations) requeued" in _wait_log(log, "tasking room ready",
                                                                                          proc)
        end = time.monotonic() + 300
        while time.monotonic() < end:
            rows = _query(tmp_path, "SELECT state, version_id, error FROM tasking_planjob")
            if rows[0][0] in ("done", "failed"):
                break
            time.sleep(1)
        assert rows[0][0] == "done", rows
        assert _query(tmp_path, "SELECT count(*), min(status) FROM tasking_planversion") == [(1, "draft")]
        actions = [a for (a,) in _query(tmp_path, "SELECT action FROM tasking_auditevent ORDER BY seq")]
        assert actions.count("plan_requeued") == 1 and actions.count("plan_created") == 1
        page, _ = _page(browser)
        _login(page, live, "auditor")
        page.goto(live["url"] + "/audit/?verify=1")
        assert "Chain intact" in page.inner_text("#chain-result")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_kill_9_inside_an_approval_then_restart(browser: Any, tmp_path: Path, monkeypatch: Any):
    """The supervisor's approval has written the status, the approval row and the audit event, uncommitted,
    when the server is killed: after a restart none of the three exists, the chain verifies, and the same
    approval then goes through whole."""
    from patrol_planner.web.services import FAULT_PAUSE_ENV

    marker = tmp_path / "inside-sign-off"
    monkeypatch.setenv(FAULT_PAUSE_ENV, str(marker))
    port = _free_port()
    proc, log = _start(tmp_path, port, "--demo")
    logs = _wait_log(log, "tasking room ready", proc)
    passwords = dict(re.findall(r"^  (\w+)\s+(\S+)$", logs, re.M))
    live = {"url": f"http://127.0.0.1:{port}", "passwords": passwords}
    try:
        page, _ = _page(browser)
        _login(page, live, "tasking")
        _short_plans(page, live["url"])
        page.click("#plan-button")
        page.wait_for_selector("#version-link", timeout=300_000)
        page.click("#version-link")
        plan_url = page.url
        # the submission pauses too (the hook is in every sign-off): wait for it, then let it go on by
        # restarting without the hook; kill it first, which is itself a kill inside a sign-off
        page.click("#submit-button", no_wait_after=True)
        _wait_marker(marker, proc)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert _query(tmp_path, "SELECT status FROM tasking_planversion") == [("draft",)]
        assert _query(tmp_path, "SELECT count(*) FROM tasking_approval") == [(0,)]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    events_before = _query(tmp_path, "SELECT count(*) FROM tasking_auditevent")[0][0]
    assert _query(tmp_path, "SELECT count(*) FROM tasking_auditevent WHERE action LIKE 'plan_submitted'") == [(0,)]

    # submit without the hook, then approve with it and kill inside the approval
    monkeypatch.delenv(FAULT_PAUSE_ENV)
    proc, log = _start(tmp_path, port)
    try:
        _wait_log(log, "tasking room ready", proc)
        page, _ = _page(browser)
        _login(page, live, "tasking")
        page.goto(plan_url)
        page.click("#submit-button")
        assert _query(tmp_path, "SELECT status FROM tasking_planversion") == [("submitted",)]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    marker.unlink()
    monkeypatch.setenv(FAULT_PAUSE_ENV, str(marker))
    proc, log = _start(tmp_path, port)
    try:
        _wait_log(log, "tasking room ready", proc)
        page, _ = _page(browser)
        _login(page, live, "supervisor")
        page.goto(plan_url)
        page.fill("#approve-reason", "checked against tonight's briefing")
        page.click("#approve-button", no_wait_after=True)
        _wait_marker(marker, proc)
        os.killpg(proc.pid, signal.SIGKILL)  # server and worker, inside the approval's transaction
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert _query(tmp_path, "SELECT status FROM tasking_planversion") == [("submitted",)]
    assert _query(tmp_path, "SELECT decision FROM tasking_approval") == [("submitted",)]
    assert _query(tmp_path, "SELECT count(*) FROM tasking_auditevent WHERE action = 'plan_approved'") == [(0,)]
    assert events_before < _query(tmp_path, "SELECT count(*) FROM tasking_auditevent")[0][0]

    monkeypatch.delenv(FAULT_PAUSE_ENV)
    proc, log = _start(tmp_path, port)
    try:
        _wait_log(log, "tasking room ready", proc)
        page, _ = _page(browser)
        _login(page, live, "auditor")
        page.goto(live["url"] + "/audit/?verify=1")
        assert "Chain intact" in page.inner_text("#chain-result")
        page, _ = _page(browser)
        _login(page, live, "supervisor")
        page.goto(plan_url)
        page.fill("#approve-reason", "checked again after the restart")
        page.click("#approve-button")
        assert _query(tmp_path, "SELECT status FROM tasking_planversion") == [("approved",)]
        assert _query(tmp_path, "SELECT decision FROM tasking_approval ORDER BY id") == [("submitted",),
                                                                                         ("approved",)]
        assert _query(tmp_path, "SELECT count(*) FROM tasking_auditevent WHERE action = 'plan_approved'") == [(1,)]
        page, _ = _page(browser)
        _login(page, live, "auditor")
        page.goto(live["url"] + "/audit/?verify=1")
        assert "Chain intact" in page.inner_text("#chain-result")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _wait_marker(marker: Path, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if marker.exists():
            return
        if proc.poll() is not None:
            pytest.fail("serve exited before the sign-off paused")
        time.sleep(0.1)
    pytest.fail("the sign-off never reached the test hook")


def test_answering_processes_stop_when_serve_is_killed(tmp_path: Path):
    """``serve`` runs two uvicorn answering processes by default; ``kill -9`` of ``serve`` alone (not its process
    group) must not leave them answering on the port, or a restart could not take it."""
    import http.client

    port = _free_port()
    proc, log = _start(tmp_path, port, "--workers", "2")
    try:
        logs = _wait_log(log, "tasking room ready", proc)
        children = [int(p) for p in re.findall(r"Started server process \[(\d+)\]", logs)]
        assert len(children) == 2, logs
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        end = time.monotonic() + 30
        while time.monotonic() < end and any(Path(f"/proc/{c}").exists() and
                                             "Z" not in Path(f"/proc/{c}/stat").read_text().split()[2]
                                             for c in children):
            time.sleep(0.2)
        with pytest.raises(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login/")
            conn.getresponse()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)

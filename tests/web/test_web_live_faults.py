"""kill -9 of the server and its worker in the middle of a live night: after a restart the live state is
rebuilt from the database and the next re-plan takes in every event stored before the kill, the interrupted
re-plan is run again, and no re-plan is published twice (live ``serve`` on SQLite)."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from .test_web_browser import _free_port, _login, _page
from .test_web_faults import _query, _start, _wait_log
from .test_web_live_browser import _api, _published_plan

pytestmark = pytest.mark.slow


def _status(page: Any, live: dict[str, Any], unit_id: int, body: dict[str, Any]) -> None:
    r = _api(page, live, "POST", f"/api/units/{unit_id}/status", body)
    assert r.status == 201, r.text()


def _wait_done(data: Path, n: int, timeout_s: float = 180) -> list[tuple[Any, ...]]:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        rows = _query(data, "SELECT state, version_id, error FROM tasking_livereplan WHERE kind = 'replan' "
                            "ORDER BY id")
        if len(rows) >= n and all(r[0] in ("done", "skipped", "failed") for r in rows):
            return rows
        time.sleep(0.5)
    pytest.fail(f"re-plans not finished: {rows}")


def test_kill_9_mid_night_then_restart_loses_no_event(browser: Any, tmp_path: Path):
    port = _free_port()
    proc, log = _start(tmp_path, port, "--demo")
    logs = _wait_log(log, "tasking room ready", proc)
    live = {"url": f"http://127.0.0.1:{port}", "passwords": dict(re.findall(r"^  (\w+)\s+(\S+)$", logs, re.M))}
    try:
        _published_plan(browser, live)
        page, _ = _page(browser)
        _login(page, live, "tasking")
        units = {u["call_sign"]: u["id"] for u in _api(page, live, "GET", "/api/units").json()}
        _status(page, live, units["RU-A1"], {"status": "committed", "time": "2022-09-02T23:10:00+01:00",
                                              "until": "2022-09-03T03:30:00+01:00", "lon": -0.7265, "lat": 52.6703})
        assert _wait_done(tmp_path, 1)[0][0] == "done"
        _status(page, live, units["RU-B1"], {"status": "off_duty", "time": "2022-09-02T23:20:00+01:00"})
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the server and its worker at once: the second re-plan is lost
        proc.wait(timeout=30)
    assert _query(tmp_path, "SELECT count(*) FROM tasking_unitstatusevent") == [(2,)]
    proc, log = _start(tmp_path, port)
    try:
        _wait_log(log, "tasking room ready", proc)
        rows = _wait_done(tmp_path, 2, timeout_s=300)  # requeued (or still queued): the worker runs it now
        assert [r[0] for r in rows] == ["done", "done"], rows
        versions = _query(tmp_path, "SELECT id, parent_id, status, plan_json FROM tasking_planversion ORDER BY id")
        assert [(v[2]) for v in versions] == ["published"] * 3  # the plan and one version per re-plan
        assert versions[2][1] == versions[1][0] and versions[1][1] == versions[0][0]
        units_now = json.loads(versions[2][3])["rules"]["live"]["units"]
        assert units_now["RU-A1"] == "committed to a call until 03:30"  # stored before the kill, rebuilt after
        assert units_now["RU-B1"] == "off duty"
        actions = [a for (a,) in _query(tmp_path, "SELECT action FROM tasking_auditevent ORDER BY seq")]
        assert actions.count("plan_replanned") == 2 and actions.count("unit_status") == 2
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)

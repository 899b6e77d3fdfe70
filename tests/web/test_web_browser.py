"""The journey in a real browser against a live ``patrol-planner serve --demo`` (SQLite, loopback):
the tasking officer plans tonight, the supervisor approves and publishes, the officer opens "My route" at
phone width and records an arrival; tonight's programme spots on the map; an analyst uploads GPS tracks and
crime files on the Programme page, sees compliance so far and the evaluation, which the auditor reads and the
officer cannot. Any console error (a CSP violation included) fails the test."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def database() -> Iterator[list[str]]:
    """``--db`` for the server: SQLite in its data folder, or with ``PATROL_PLANNER_DB`` a fresh PostgreSQL
    database made for this run (the server must not share the test runner's database) and dropped after."""
    url = os.environ.get("PATROL_PLANNER_DB")
    if not url:
        yield []
        return
    from urllib.parse import urlsplit

    import psycopg

    name = f"patrol_browser_{os.getpid()}"
    admin = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield ["--db", urlsplit(url)._replace(path=f"/{name}").geturl()]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def live(tmp_path_factory: Any, database: list[str]) -> Iterator[dict[str, Any]]:
    """A live server with the demo loaded; yields its URL and the printed passwords."""
    port, data, db = _free_port(), tmp_path_factory.mktemp("serve"), database
    env = {**os.environ, "PYTHONPATH": SRC}
    for k in ("DJANGO_SETTINGS_MODULE", "PATROL_PLANNER_DATA_DIR", "PATROL_PLANNER_DB"):
        env.pop(k, None)
    log = open(data / "serve.log", "w+")  # noqa: SIM115  (closed below)
    proc = subprocess.Popen([sys.executable, "-m", "patrol_planner", "serve", "--demo", "--workers", "1",
                             "--data-dir", str(data), "--port", str(port), *db], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        passwords: dict[str, str] = {}
        for _ in range(240):
            text = (data / "serve.log").read_text()
            passwords = dict(re.findall(r"^  (\w+)\s+(\S+)$", text, re.M))
            if "tasking room ready" in text and len(passwords) == 5:
                break
            if proc.poll() is not None:
                pytest.fail("serve exited:\n" + text)
            time.sleep(0.5)
        else:
            pytest.fail("serve did not start in 120 s:\n" + (data / "serve.log").read_text())
        yield {"url": f"http://127.0.0.1:{port}", "passwords": passwords, "log": data / "serve.log", "data": data,
               "db": db, "env": env}
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        log.close()


def _page(browser: Any, width: int = 1280) -> tuple[Any, list[str]]:
    ctx = browser.new_context(viewport={"width": width, "height": 800})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def _login(page: Any, live: dict[str, Any], who: str) -> None:
    page.goto(live["url"] + "/login/")
    page.fill("#id_username", who)
    page.fill("#id_password", live["passwords"][who])
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login/" not in page.url, f"{who} could not sign in"


def _shot(page: Any, name: str) -> None:
    """With PATROL_PLANNER_SCREENSHOTS=DIR, keep a full-page screenshot of each step for a person to look at."""
    folder = os.environ.get("PATROL_PLANNER_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_plan_approve_publish_and_record_a_visit(browser: Any, live: dict[str, Any]):
    page, errors = _page(browser)
    _login(page, live, "tasking")
    assert "/tonight/" in page.url
    for _ in range(120):  # before the first plan the worker scores the candidate spots; the page says so
        if page.locator("#scoring").count() == 0:
            break
        page.wait_for_timeout(1000)
        page.reload()
    assert "Candidate hot spots" in page.inner_text("body")
    assert page.locator("path.leaflet-interactive").count() > 3  # candidates drawn
    _shot(page, "tonight-1280")
    page.fill("input[name=seconds]", "4")
    page.click("#params-button")
    assert "Saved for tonight" in page.inner_text("body")
    page.fill("input[name=seconds]", "-1")  # a refused value is a form error, not a 500
    page.click("#params-button")
    assert "time_limit_s" in page.inner_text("#form-error")
    assert len(errors) == 1 and "400" in errors[0], errors  # the browser logs the refused form's status
    errors.clear()
    page.goto(live["url"] + "/tonight/")
    page.click("#plan-button")
    page.wait_for_selector("#version-link", timeout=300_000)  # the worker runs the real pipeline
    page.click("#version-link")
    page.wait_for_selector("path.leaflet-interactive", timeout=10_000)  # the map script runs after the DOM
    assert page.locator(".leaflet-container").count() == 1
    assert page.locator("path.leaflet-interactive").count() > 3  # routes and spots drawn
    assert page.locator("svg.tl rect.tl-stop").count() > 3  # per-unit timelines
    _shot(page, "plan-1280")
    page.click("#submit-button")
    assert "submitted" in page.inner_text("h1")
    plan_url = page.url
    assert errors == [], errors

    page, errors = _page(browser)
    _login(page, live, "supervisor")
    page.goto(plan_url)
    page.fill("#approve-reason", "checked against tonight's briefing")
    page.click("#approve-button")
    page.click("#publish-button")
    assert "published" in page.inner_text("h1")
    assert "approved by supervisor: checked against tonight" in page.inner_text("body")
    assert errors == [], errors

    page, errors = _page(browser, width=360)
    _login(page, live, "officer")
    assert "/my-route/" in page.url
    _shot(page, "my-route-360")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling on a phone
    nxt = page.inner_text("#next-stop")
    assert "Why here" in nxt and "intelligence" not in page.content().lower()
    page.click("#arrive-button")
    page.wait_for_selector("#leave-button", timeout=10_000)  # the form posts and the page comes back
    assert "(arrived)" in page.inner_text("ol.stops")
    assert errors == [], errors

    page, errors = _page(browser)
    _login(page, live, "officer")
    assert page.goto(live["url"] + "/audit/").status == 403  # the officer may not read the audit log
    page, errors = _page(browser)
    _login(page, live, "auditor")
    page.goto(live["url"] + "/audit/?verify=1")
    assert "Chain intact" in page.inner_text("#chain-result")
    body = page.inner_text("table")
    for action in ("login", "plan_requested", "plan_created", "plan_submitted", "plan_approved", "plan_published",
                   "route_viewed", "visit_arrive"):
        assert action in body, action


def _import_programme(live: dict[str, Any], folder: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "patrol_planner", "programmes", "import", str(folder), "--data-dir",
                        str(live["data"]), *live["db"]], env=live["env"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def _follow_job(page: Any) -> None:
    """On a job page: wait for the worker (job.js polls the job's JSON) and open the result."""
    page.wait_for_selector("#version-link", timeout=300_000)
    page.click("#version-link")
    page.wait_for_load_state()


def test_programme_spots_tonight_compliance_and_evaluation(browser: Any, live: dict[str, Any], tmp_path: Path):
    from patrol_planner.programme import day_tasking

    from .test_web_programmes import LEICS, NIGHT, _leics_programme, make_tracks

    tonight = _leics_programme(tmp_path / "september", NIGHT, 5, seed=4)
    august = _leics_programme(tmp_path / "august", NIGHT.replace(month=8, day=1), 31)
    tracks = make_tracks(august, tmp_path)
    for folder in (tonight, august):
        _import_programme(live, folder)
    expected = day_tasking(tonight, NIGHT)

    page, errors = _page(browser)
    _login(page, live, "analyst")
    page.goto(live["url"] + "/tonight/")
    assert f"day {NIGHT.isoformat()}" in page.inner_text("body")
    assert page.locator(".prog-spot.prog-treated").count() == len(expected["treated"]) == 4
    assert page.locator(".prog-spot.prog-control").count() == len(expected["control"]) == 4
    _shot(page, "tonight-programme-1280")

    page.goto(live["url"] + "/programmes/")
    page.click("text=august")
    assert "No data: no dosage" in page.inner_text("body")
    page.set_input_files("#tracks-form input[name=tracks]", [str(p) for p in tracks["files"]])
    page.click("#tracks-button")
    _follow_job(page)
    # dose met on 22-23 of the 24 patrols of the 6 tracked days (one skipped), of 124 over the programme
    assert re.search(r"\b2[23] / 124\b", page.inner_text("#compliance-summary"))
    assert page.locator("#compliance-spots tbody tr").count() == 8
    _shot(page, "programme-compliance-1280")
    page.set_input_files("#evaluate-form input[name=crimes]", [str(p) for p in LEICS])
    page.click("#evaluate-button")
    _follow_job(page)
    assert "month-level panel" in page.inner_text("#headline")
    assert "Dosage was read for delivery figures only" in page.inner_text("#caveats")
    evaluation_url = page.url
    _shot(page, "programme-evaluation-1280")
    assert errors == [], errors

    page, errors = _page(browser)
    _login(page, live, "auditor")
    page.goto(evaluation_url)
    assert "month-level panel" in page.inner_text("#headline")
    assert page.locator("#evaluate-form").count() == 0
    assert errors == [], errors
    page, errors = _page(browser, width=360)
    _login(page, live, "officer")
    assert page.goto(evaluation_url).status == 403

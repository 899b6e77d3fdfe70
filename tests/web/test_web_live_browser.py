"""The live journey in a real browser against a live ``patrol-planner serve --demo``: a plan is made, approved
and published; the officer of RU-A1 has "My route" open on a phone; the tasking room commits RU-A1 to a call
through the API; within 5 s the officer's page shows the new route with the change explained. Any console
error (a CSP violation included) fails the test."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from .test_web_browser import _login, _page, _shot, database  # noqa: F401  (the server's database fixture)
from .test_web_browser import live as live  # noqa: F401, PLC0414  (fixture: a live server)

pytestmark = pytest.mark.slow


def _api(page: Any, live: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    return page.request.fetch(live["url"] + path, method=method, data=json.dumps(body) if body is not None else None,
                              headers={"Content-Type": "application/json", "X-CSRFToken": token,
                                       "Referer": live["url"] + "/"})


def _published_plan(browser: Any, live: dict[str, Any]) -> None:
    page, errors = _page(browser)
    _login(page, live, "tasking")
    page.fill("input[name=seconds]", "4")  # short: these tests are about what follows the plan
    page.click("#params-button")
    page.goto(live["url"] + "/tonight/")
    page.click("#plan-button")
    page.wait_for_selector("#version-link", timeout=300_000)  # the worker runs the real pipeline
    page.click("#version-link")
    page.click("#submit-button")
    plan_url = page.url
    page, errors = _page(browser)
    _login(page, live, "supervisor")
    page.goto(plan_url)
    page.fill("#approve-reason", "tonight's plan")
    page.click("#approve-button")
    page.click("#publish-button")
    assert "published" in page.inner_text("h1")
    for _ in range(240):  # publishing loads the night into the worker for live re-plans
        rows = _api(page, live, "GET", "/api/live").json()["replans"]
        if any(r["kind"] == "warm" and r["state"] == "done" for r in rows):
            break
        page.wait_for_timeout(500)
    else:
        pytest.fail(f"the worker did not load the night: {rows}")
    assert errors == [], errors


def test_an_officers_route_changes_within_5_s_of_a_diversion(browser: Any, live: dict[str, Any]):
    _published_plan(browser, live)
    officer, errors = _page(browser, width=360)
    _login(officer, live, "officer")
    assert "/my-route/" in officer.url and officer.locator("#route-changed").count() == 0
    version = officer.get_attribute("#route-live", "data-version")
    tasking, _ = _page(browser)
    _login(tasking, live, "tasking")
    units = {u["call_sign"]: u["id"] for u in _api(tasking, live, "GET", "/api/units").json()}
    t0 = time.monotonic()
    r = _api(tasking, live, "POST", f"/api/units/{units['RU-A1']}/status",
             {"status": "committed", "time": "2022-09-02T23:10:00+01:00", "until": "2022-09-03T03:30:00+01:00",
              "lon": -0.7265, "lat": 52.6703})
    assert r.status == 201, r.text()
    officer.wait_for_selector("#route-changed", timeout=15_000)
    took_s = time.monotonic() - t0
    text = officer.inner_text("#route-changed")
    assert "RU-A1 (committed to a call until 03:30): its stop" in text, text
    assert officer.get_attribute("#route-live", "data-version") != version
    assert "intelligence" not in officer.content().lower()
    assert officer.evaluate("document.documentElement.scrollWidth") <= 360
    assert errors == [], errors
    room, room_errors = _page(browser)
    _login(room, live, "tasking")
    room.click("#live-link")
    assert "RU-A1 (committed to a call until 03:30)" in room.inner_text("#live-replans")
    # the scripts run after the table is in the DOM: wait for Leaflet to take the map box
    room.wait_for_selector("#live-map.leaflet-container", timeout=10_000)
    room.wait_for_timeout(3500)  # one poll of the re-plans and positions, drawn without an error
    assert "RU-A1 (committed to a call until 03:30)" in room.inner_text("#live-replans")
    assert room_errors == [], room_errors
    _shot(room, "live-room-1280")
    narrow, narrow_errors = _page(browser, width=360)
    _login(narrow, live, "supervisor")
    narrow.goto(live["url"] + "/tonight/live/")
    narrow.wait_for_selector("#live-map.leaflet-container", timeout=10_000)
    _shot(narrow, "live-room-360")
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 360  # wide tables scroll in their box
    assert narrow_errors == [], narrow_errors
    done = [x for x in _api(tasking, live, "GET", "/api/live").json()["replans"] if x["kind"] == "replan"]
    assert took_s <= 5.0, f"the route changed {took_s:.1f} s after the diversion: {done}"
    print(f"route changed {took_s:.2f} s after the diversion was posted; event stored -> published "
          f"{done[0]['latency_s']:.2f} s, re-plan {done[0]['wall_s']:.2f} s; steps {done[0]['steps_s']}")

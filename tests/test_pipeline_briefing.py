"""The briefing as an officer sees it, built by the real pipeline from a crafted police.uk file whose
location names carry HTML and script: the names are shown as text and never run."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import pytest

from patrol_planner.report import write_outputs
from patrol_planner.scenario import run_plan, scenario_from_dict

REPO = Path(__file__).resolve().parents[1]
HOSTILE = "On or near <script>window.__pwned='loc'</script><img src=x onerror=\"window.__pwned='img'\">"


@pytest.fixture(scope="module")
def hostile_plan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    src = REPO / "data" / "policeuk-leicestershire-2022" / "2022-08-leicestershire-street.csv"
    with open(src, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:  # every Rutland location gets the hostile name: it must become a hotspot label
        r["Location"] = HOSTILE
    crafted = tmp / "2022-08-hostile-street.csv"
    with open(crafted, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    raw = tomllib.loads((REPO / "scenarios" / "rutland-night.toml").read_text(encoding="utf-8"))
    raw["data"]["incidents"] = [str(crafted)]
    raw["hotspots"] = {"top": 8}
    raw["solver"] = {"time_limit_s": 20, "restarts": 1}
    run = run_plan(scenario_from_dict(raw, base_dir=REPO / "scenarios"), cache_dir=tmp / "cache")
    assert any(HOSTILE in h.label for h in run.plan.hotspots)  # the label adds district and grid reference
    out = tmp / "out"
    write_outputs(run.plan, out)
    return out


@pytest.mark.slow
def test_location_names_with_script_are_inert(browser, open_offline, hostile_plan_dir: Path) -> None:
    """In Chromium, the hostile place name from the real pipeline shows as text and never runs; no request."""
    html = (hostile_plan_dir / "briefing.html").read_text(encoding="utf-8")
    assert "<script>window.__pwned" not in html and "<img src=x" not in html
    page, seen = open_offline(browser, hostile_plan_dir / "briefing.html")
    page.wait_for_function("window.ppMapReady === true", timeout=15_000)
    page.hover("#map path.pp-route >> nth=0", force=True)
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None
    assert seen["errors"] == [] and seen["requests"] == []
    assert HOSTILE in page.inner_text("body")  # shown to the officer as text
    assert page.locator("body img").count() == 0
    assert page.locator("#map path.pp-route").count() == 3  # the routes still drew


@pytest.mark.slow
def test_location_names_are_plain_text_in_device_files(hostile_plan_dir: Path) -> None:
    """schedule.csv and plan.geojson carry the name as data; GPX escapes it as XML."""
    import json
    import xml.etree.ElementTree as ET

    gj = json.loads((hostile_plan_dir / "plan.geojson").read_text(encoding="utf-8"))
    assert any(HOSTILE in (f["properties"].get("label") or "") for f in gj["features"])
    with open(hostile_plan_dir / "schedule.csv", encoding="utf-8", newline="") as fh:
        assert any(HOSTILE in row["place"] for row in csv.DictReader(fh))
    gpx_files = sorted((hostile_plan_dir / "gpx").glob("*.gpx"))
    assert len(gpx_files) == 3
    for gpx in gpx_files:
        ET.parse(gpx)  # well-formed XML whatever the names hold


@pytest.mark.slow
def test_location_names_are_escaped_in_the_briefing_markup(hostile_plan_dir: Path) -> None:
    """Without a browser: the hostile place name is in briefing.html only in escaped form."""
    import html as html_lib

    text = (hostile_plan_dir / "briefing.html").read_text(encoding="utf-8")
    assert HOSTILE not in text and "<img src=x" not in text
    assert HOSTILE in html_lib.unescape(text)  # shown, as escaped text

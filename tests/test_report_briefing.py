"""briefing.html as an officer sees it: opened offline in headless Chromium, on screen and for print.

Needs the system Chromium at /usr/bin/chromium (``.ci/run`` installs Debian's package); Playwright's
own browser download is not used. Uses the hand-made Rutland plan of ``test_report_data.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_report_data import make_plan

from patrol_planner.plan import Plan
from patrol_planner.report import render_briefing, write_outputs

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "data", "action")]
        if tag == "script":
            self.scripts.append(dict(attrs))


def test_briefing_is_self_contained() -> None:
    """No external resource is referenced: scripts and styles are inline, a CSP forbids any fetch."""
    html = render_briefing(make_plan())
    parser = _Refs()
    parser.feed(html)
    assert parser.refs and all(r.startswith("#") for r in parser.refs)  # in-page links only
    assert parser.scripts == [{"type": "application/json", "id": "plan-data"}, {}, {}]
    assert re.search(r"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#x27;none&#x27;", html)
    assert "Leaflet 1.9.4" in html and "BSD 2-Clause License" in html  # licence kept


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (apt-get install chromium); the browser tests need it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (a dev dependency) not installed")
    # Playwright gives each launch a fresh temporary profile itself (it refuses --user-data-dir).
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def _open(browser, path: Path, *, width: int = 1280):
    """Open a file offline; every request other than the file itself is refused and recorded."""
    ctx = browser.new_context(viewport={"width": width, "height": 1000}, offline=True)
    page = ctx.new_page()
    seen = {"requests": [], "errors": []}
    own = path.resolve().as_uri()

    def route(r) -> None:
        if r.request.url != own:
            seen["requests"].append(r.request.url)
            r.abort()
        else:
            r.continue_()

    page.route("**/*", route)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.goto(own)
    return page, seen


def test_briefing_renders_offline_with_map_and_tables(browser, tmp_path) -> None:
    """The map draws roads, a route per unit, every hotspot, stops and stations; tables are filled."""
    plan: Plan = make_plan()
    html = write_outputs(plan, tmp_path)["briefing.html"]
    page, seen = _open(browser, html)
    page.wait_for_function("window.ppMapReady === true", timeout=15_000)
    shot = tmp_path / "briefing.png"
    page.screenshot(path=str(shot))
    count = page.evaluate("""() => ({
        routes: document.querySelectorAll('#map path.pp-route').length,
        hotspots: document.querySelectorAll('#map path.pp-hotspot').length,
        visited: document.querySelectorAll('#map path.pp-visited').length,
        roads: document.querySelectorAll('#map path.pp-road').length,
        stops: [...document.querySelectorAll('#map .pp-stop')].map(e => e.textContent).sort(),
        ranks: [...document.querySelectorAll('#map .pp-rank')].map(e => e.textContent).sort(),
        stations: [...document.querySelectorAll('#map .pp-station-label')].map(e => e.textContent).sort(),
        units: document.querySelectorAll('section.unit').length,
        rows: [...document.querySelectorAll('section.unit table.schedule tbody')].map(b => b.rows.length),
        why: document.querySelectorAll('table.hotspots tbody tr').length,
        out: document.querySelectorAll('table.left-out tbody tr').length,
        bars: document.querySelectorAll('table.hotspots .bar').length,
        hashes: document.querySelectorAll('#provenance td.mono').length,
    })""")
    assert seen == {"requests": [], "errors": []}
    assert count["routes"] == 2 and count["hotspots"] == 5 and count["visited"] == 3 and count["roads"] == 1
    assert count["stops"] == ["1", "1\u00b73", "2"]  # Oakham 1 revisits H01 (stops 1 and 3)
    assert count["ranks"] == ["1", "2", "3", "4", "5"]
    assert count["stations"] == ["Oakham Police Station", "Uppingham Police Station"]
    assert count["units"] == 2 and count["rows"] == [6, 3]  # leave, 3 stops, break, back | leave, stop, back
    assert count["why"] == 3 and count["out"] == 2 and count["bars"] == 3 * 6 and count["hashes"] == 2
    # The route lines are visibly drawn in the unit colours (not just present in the DOM).
    from PIL import Image

    img = Image.open(shot).convert("RGB")
    px = list(img.get_flattened_data() if hasattr(img, "get_flattened_data") else img.getdata())
    blue = sum(1 for p in px if abs(p[0] - 0x00) < 30 and abs(p[1] - 0x72) < 30 and abs(p[2] - 0xB2) < 30)
    orange = sum(1 for p in px if abs(p[0] - 0xD5) < 30 and abs(p[1] - 0x5E) < 30 and abs(p[2] - 0x00) < 30)
    assert blue > 200 and orange > 100, (blue, orange)
    # "zoom" next to a unit brings its route into close view.
    z0 = page.evaluate("window.ppMap.getZoom()")
    page.locator("button[data-zoom-unit='0']").click()
    assert page.evaluate("window.ppMap.getZoom()") > z0 + 1
    # Unticking a unit in the legend hides its route.
    page.locator("input[data-unit-index='1']").uncheck()
    assert page.locator("#map path.pp-route").count() == 1


def test_briefing_prints_on_a4_with_a_page_per_unit(browser, tmp_path) -> None:
    """Print styles: no map controls, each unit starts a new page, and the PDF is A4."""
    html = write_outputs(make_plan(), tmp_path)["briefing.html"]
    page, _ = _open(browser, html, width=718)
    page.wait_for_function("window.ppMapReady === true", timeout=15_000)
    page.emulate_media(media="print")
    style = page.evaluate("""() => ({
        controls: getComputedStyle(document.querySelector('.leaflet-control-container')).display,
        breaks: [...document.querySelectorAll('section.unit')].map(s => getComputedStyle(s).breakBefore),
    })""")
    assert style == {"controls": "none", "breaks": ["page", "page"]}
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    sizes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert len(sizes) >= 4  # overview, two units, hotspots, provenance
    assert {(round(float(w)), round(float(h))) for w, h in sizes} == {(595, 842)}  # A4 in points


HOSTILE = {
    "unit": "<script>window.__pwned='unit'</script>",
    "unit2": "</script><img src=x onerror=\"window.__pwned='img'\">",
    "hotspot": "<!--<script>window.__pwned='hotspot'</script>",
    "station": "\u2028</script><svg onload=window.__pwned='station'>",
    "title": "<iframe srcdoc=\"<script>parent.__pwned='title'</script>\"></iframe>",
    "key": "<b onmouseover=window.__pwned='key'>x</b>",
}


def _hostile_plan() -> Plan:
    return make_plan(unit_ids=(HOSTILE["unit"], HOSTILE["unit2"]), hotspot_name=HOSTILE["hotspot"],
                     station_name=HOSTILE["station"], title=HOSTILE["title"],
                     breakdown_extra={HOSTILE["key"]: HOSTILE["unit"]})


@pytest.mark.parametrize("strip_csp", [False, True], ids=["as-written", "without-csp"])
def test_hostile_strings_come_out_inert(browser, tmp_path, strip_csp: bool) -> None:
    """Script in a unit id, hotspot id, station or title is shown as text and never runs.

    Run also with the Content-Security-Policy removed, so that escaping alone is what is tested.
    """
    html = render_briefing(_hostile_plan())
    for raw in HOSTILE.values():
        assert raw not in html
    assert "<script>window" not in html and "</script><img" not in html and "<!--<script>" not in html
    if strip_csp:
        html, n = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
        assert n == 1
    path = tmp_path / "briefing.html"
    path.write_text(html, encoding="utf-8")
    page, seen = _open(browser, path)
    page.wait_for_function("window.ppMapReady === true", timeout=15_000)
    page.hover("#map path.pp-route >> nth=0", force=True)
    page.locator("table.hotspots li").first.hover()
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None
    assert seen["errors"] == [] and seen["requests"] == []
    text = page.inner_text("body")
    assert HOSTILE["unit"] in text and HOSTILE["hotspot"] in text
    why = page.evaluate("document.querySelector('table.hotspots').textContent")
    assert HOSTILE["key"].replace("_", " ") in why  # breakdown keys are shown with spaces for "_"
    assert page.title() == HOSTILE["title"]
    labels = page.evaluate("[...document.querySelectorAll('.pp-station-label')].map(e => e.textContent)")
    assert HOSTILE["station"] in labels
    assert page.locator("#map img, #map svg svg, iframe, body img").count() == 0
    assert page.locator("#map path.pp-route").count() == 2  # the data still drew

"""briefing.html as an officer sees it: opened offline in headless Chromium, on screen and for print.

Needs the system Chromium at /usr/bin/chromium (``.ci/run`` installs Debian's package); Playwright's
own browser download is not used. Uses the hand-made Rutland plan of ``conftest.py``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from patrol_planner.plan import Plan
from patrol_planner.report import render_briefing, write_outputs


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "data", "action")]
        if tag == "script":
            self.scripts.append(dict(attrs))


def test_briefing_is_self_contained(plan: Plan) -> None:
    """No external resource is referenced: scripts and styles are inline, a CSP forbids any fetch."""
    html = render_briefing(plan)
    parser = _Refs()
    parser.feed(html)
    assert parser.refs and all(r.startswith("#") for r in parser.refs)  # in-page links only
    assert parser.scripts == [{"type": "application/json", "id": "plan-data"}, {}, {}]
    # The quotes of 'none' are escaped in the attribute (&#x27; or &#39;, the same character to a browser).
    assert re.search(r"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#(x27|39);none&#(x27|39);",
                     html)
    assert "Leaflet 1.9.4" in html and "BSD 2-Clause License" in html  # licence kept


def test_hostile_strings_are_escaped_in_the_markup(make_plan) -> None:
    """Without a browser: no hostile unit, hotspot, station, title or breakdown key appears unescaped."""
    html = render_briefing(_hostile_plan(make_plan))
    for raw in HOSTILE.values():
        assert raw not in html
    assert "<script>window" not in html and "</script><img" not in html and "<!--<script>" not in html
    assert html.count("<script") == 3  # the data block and the two known scripts, nothing injected


def test_base_template_makes_other_offline_pages() -> None:
    """A page extending base.html.j2 gets the CSP (hashing its own script), the marking and escaping."""
    from patrol_planner.report.page import OfflinePage, csp_hash, environment

    tpl = environment().from_string('{% extends "base.html.j2" %}{% block content %}<p>{{ who }}</p>{% endblock %}')
    page = OfflinePage(title="Calendar <b>", css="body{}", scripts=("console.log(1)",))
    html = tpl.render(page=page, who="<script>x</script>")
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "Calendar &lt;b&gt;" in html
    assert csp_hash("console.log(1)").replace("'", "&#39;") in html
    assert "leaflet" not in html.lower()  # Leaflet only when asked for


def test_briefing_renders_offline_with_map_and_tables(browser, open_offline, plan: Plan, tmp_path) -> None:
    """The map draws roads, a route per unit, every hotspot, stops and stations; tables are filled."""
    html = write_outputs(plan, tmp_path)["briefing.html"]
    page, seen = open_offline(browser, html)
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


def test_briefing_prints_on_a4_with_a_page_per_unit(browser, open_offline, plan: Plan, tmp_path) -> None:
    """Print styles: no map controls, each unit starts a new page, and the PDF is A4."""
    html = write_outputs(plan, tmp_path)["briefing.html"]
    page, _ = open_offline(browser, html, width=718)
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


def _hostile_plan(make_plan) -> Plan:  # noqa: ANN001
    return make_plan(unit_ids=(HOSTILE["unit"], HOSTILE["unit2"]), hotspot_name=HOSTILE["hotspot"],
                     station_name=HOSTILE["station"], title=HOSTILE["title"],
                     breakdown_extra={HOSTILE["key"]: HOSTILE["unit"]})


@pytest.mark.parametrize("strip_csp", [False, True], ids=["as-written", "without-csp"])
def test_hostile_strings_come_out_inert(browser, open_offline, make_plan, tmp_path, strip_csp: bool) -> None:
    """Script in a unit id, hotspot id, station or title is shown as text and never runs.

    Run also with the Content-Security-Policy removed, so that escaping alone is what is tested.
    """
    html = render_briefing(_hostile_plan(make_plan))
    for raw in HOSTILE.values():
        assert raw not in html
    assert "<script>window" not in html and "</script><img" not in html and "<!--<script>" not in html
    stripped, n = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    assert n == 1
    html = stripped if strip_csp else html
    path = tmp_path / "briefing.html"
    path.write_text(html, encoding="utf-8")
    page, seen = open_offline(browser, path)
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

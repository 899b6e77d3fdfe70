"""Shared fixtures: a small hand-made Rutland plan for the report tests, and a headless offline browser.

The plan is synthetic and clearly labelled: two units, five hotspots (three visited, two left out), a few
road lines. The real pipeline is covered end to end by ``test_scenario.py`` and ``test_cli_plan.py``.
The browser is the system Chromium at /usr/bin/chromium (``.ci/run`` installs Debian's package);
Playwright's own browser download is not used, and the browser tests skip with a reason without it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from patrol_planner.plan import Break, HotspotStatus, Plan, Station, Stop, UnitPlan

# benchmarks/benchlib (TOP instances, simulated tracks, calibration, the feedback simulation) is shared with the
# benchmark scripts and is not part of the package; appended, so it shadows nothing installed
sys.path.append(str(Path(__file__).resolve().parents[1] / "benchmarks"))

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

BST = timezone(timedelta(hours=1))
T0 = datetime(2024, 6, 14, 22, 0, tzinfo=BST)

#: Half a 150 m cell in degrees at 52.6° N.
DLAT, DLON = 75 / 111_320, 75 / 67_600

OAKHAM_STN = (-0.7270, 52.6700)
UPPINGHAM_STN = (-0.7215, 52.5880)
HOTSPOTS = {  # id -> (lon, lat, rank, score, status)
    "H01": (-0.7320, 52.6712, 1, 9.5, "visited"),
    "H02": (-0.7212, 52.6738, 2, 7.25, "visited"),
    "H03": (-0.7248, 52.5893, 3, 6.0, "visited"),
    "H04": (-0.7075, 52.6620, 4, 3.1, "no_time"),
    "H05": (-0.7600, 52.6300, 5, 1.4, "not_reachable"),
}


def cell(lon: float, lat: float) -> tuple[tuple[float, float], ...]:
    return ((lon - DLON, lat - DLAT), (lon + DLON, lat - DLAT), (lon + DLON, lat + DLAT),
            (lon - DLON, lat + DLAT), (lon - DLON, lat - DLAT))


def road_lines() -> list[list[list[float]]]:
    """A few streets: two grids (Oakham, Uppingham) and the A6003 joining them."""
    lines = []
    for cx, cy in (OAKHAM_STN, UPPINGHAM_STN):
        for k in range(-4, 5):
            lines.append([[cx - 0.012, cy + k * 0.0015], [cx + 0.012, cy + k * 0.0015]])
            lines.append([[cx + k * 0.003, cy - 0.006], [cx + k * 0.003, cy + 0.006]])
    lines.append([[-0.7270, 52.664], [-0.7240, 52.640], [-0.7200, 52.615], [-0.7215, 52.594]])
    return lines


def build_plan(*, unit_ids: tuple[str, str] = ("Oakham 1", "Uppingham 2"), hotspot_name: str = "H02",
              station_name: str = "Oakham Police Station", title: str = "Rutland night-time economy",
              breakdown_extra: dict | None = None) -> Plan:
    """The test plan; the keyword arguments let a test put hostile strings where data strings go."""
    hs = dict(HOTSPOTS)
    hs[hotspot_name] = hs.pop("H02")

    def stop(seq: int, hid: str, start_min: int, dwell_min: int, prev: tuple[float, float]) -> Stop:
        lon, lat, _, score, _ = hs[hid]
        mid = (prev[0], lat)  # an L-shaped "road" path: along a street, then across
        return Stop(seq=seq, hotspot_id=hid, visit_no=1, arrive=T0 + timedelta(minutes=start_min),
                    depart=T0 + timedelta(minutes=start_min + dwell_min), lon=lon, lat=lat, prize=score,
                    travel_s=240.0, road_m=1200.0 + 100 * seq, path_lonlat=(prev, mid, (lon, lat)))

    oak = Station(station_name, *OAKHAM_STN)
    upp = Station("Uppingham Police Station", *UPPINGHAM_STN)
    s1 = stop(1, "H01", 10, 20, OAKHAM_STN)
    s2 = stop(2, hotspot_name, 40, 20, (s1.lon, s1.lat))
    s3 = stop(3, "H01", 120, 15, (s2.lon, s2.lat))
    s3 = Stop(**{**s3.__dict__, "visit_no": 2, "prize": 2.0})
    u1 = UnitPlan(unit_id=unit_ids[0], mode="drive", shift_start=T0, shift_end=T0 + timedelta(hours=8),
                  start=oak, end=oak, stops=(s1, s2, s3),
                  breaks=(Break(T0 + timedelta(minutes=65), T0 + timedelta(minutes=110)),),
                  leave=T0 + timedelta(minutes=6), return_arrive=T0 + timedelta(minutes=145),
                  return_path_lonlat=((s3.lon, s3.lat), (OAKHAM_STN[0], s3.lat), OAKHAM_STN),
                  return_travel_s=300.0, return_road_m=900.0)
    s4 = stop(1, "H03", 12, 30, UPPINGHAM_STN)
    u2 = UnitPlan(unit_id=unit_ids[1], mode="walk", shift_start=T0, shift_end=T0 + timedelta(hours=6),
                  start=upp, end=upp, stops=(s4,), leave=T0 + timedelta(minutes=5),
                  return_arrive=T0 + timedelta(minutes=50),
                  return_path_lonlat=((s4.lon, s4.lat), UPPINGHAM_STN), return_travel_s=400.0,
                  return_road_m=350.0)
    hotspots = []
    for hid, (lon, lat, rank, score, status) in hs.items():
        bd = {"category": {"violence-and-sexual-offences": 0.55, "public-order": 0.25,
                           "anti-social-behaviour": 0.2},
              "age_band": {"0-28 d": 0.6, "29-90 d": 0.3, "91-365 d": 0.1}, "incidents": 12 + rank}
        if breakdown_extra and hid == hotspot_name:
            bd.update(breakdown_extra)
        visits = sum(1 for u in (u1, u2) for s in u.stops if s.hotspot_id == hid)
        hotspots.append(HotspotStatus(
            hotspot_id=hid, rank=rank, score=score, lon=lon, lat=lat, visits=visits, status=status,
            reason="" if status == "visited" else f"solver: {status}", breakdown=bd,
            polygon_lonlat=cell(lon, lat)))
    prov = {"inputs": [{"file": "2024-05-leicestershire-street.csv", "sha256": "ab" * 32},
                       {"file": "rutland-latest.osm.pbf", "sha256": "cd" * 32}],
            "parameters": {"hotspots": {"cell_size_m": 150, "bandwidth_m": 400},
                           "routing": {"time_limit_s": 30, "seed": 0}},
            "versions": {"patrol-planner": "0.1.0", "ortools": "9.12"}, "python": "3.11.9",
            "created": "2024-06-14T17:05:00+00:00"}
    return Plan(units=(u1, u2), hotspots=tuple(hotspots), metrics={"harm_covered": 24.75, "visits": 4},
                provenance=prov, title=title, base_map={"lines": road_lines()})



@pytest.fixture
def make_plan() -> Callable[..., Plan]:
    """The synthetic plan's factory: keyword arguments put (hostile) strings where data strings go."""
    return build_plan


@pytest.fixture
def plan() -> Plan:
    """The synthetic Rutland plan."""
    return build_plan()


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


def _open(browser, path: Path, *, width: int = 1280):  # noqa: ANN001, ANN202
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



@pytest.fixture
def open_offline() -> Callable[..., tuple[object, dict]]:
    """``open_offline(browser, path, width=1280)`` -> (page, seen): the page offline, requests recorded."""
    return _open


@pytest.fixture(scope="session")
def rutland_programme(tmp_path_factory) -> tuple[Path, dict]:
    """The bundled Rutland programme built once through the CLI: (folder, the --json summary)."""
    import json

    from typer.testing import CliRunner

    from patrol_planner.cli import app

    out = tmp_path_factory.mktemp("prog") / "rutland"
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "rutland-programme.toml"
    res = CliRunner().invoke(app, ["programme", str(scenario), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    return out, json.loads(res.stdout.strip().splitlines()[-1])


@pytest.fixture
def kill_second_search(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it to make the second ruin-and-recreate search (seed + 1, in the forked child) die by SIGKILL as
    it starts, as the kernel's out-of-memory killer or an operator would: no exception, no answer. The
    real search runs everywhere else (the parent's, and the child's where no fork is possible)."""
    import os
    import signal

    from patrol_planner.routing import portfolio

    real, parent = portfolio.lns_worker, os.getpid()

    def worker(problem, params, deadline, seed):  # noqa: ANN001, ANN202
        if seed == params.seed + 1 and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(problem, params, deadline, seed)

    return lambda: monkeypatch.setattr(portfolio, "lns_worker", worker)

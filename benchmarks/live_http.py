"""The HTTP section of ``benchmarks/live.py`` (``python benchmarks/live.py --http``): live re-tasking through
the tasking room under load.

1. starts a real ``patrol-planner serve --demo`` on 127.0.0.1 (a free port, a temporary data folder; SQLite,
   or the empty PostgreSQL database given with ``--db``), adds ``--units`` units with one device token each,
   plans, approves and publishes the demo night (which queues the worker's warm-up) and waits for the warm-up.
   With ``--scenario PATH`` (e.g. ``scenarios/rutland-scale-150.toml``) the server starts without ``--demo``
   and the night is that scenario's: ``patrol-planner scenarios import PATH`` stores it in the served room and
   adds its units and stations to the roster (the administrator's command); the scenario's units get the first
   device tokens (up to ``--units``), then extra units, off duty so the plan is the scenario's, only post
   positions; the plan job (``POST /api/plans`` with the stored scenario's id) plans it as configured (its
   ``[solver]``: deterministic, ``time_limit_s`` a cap, the same run as ``benchmarks/live.py``'s replay
   figures), then it is submitted, approved and published, and the worker's warm-up awaited;
2. for ``--seconds`` (default 600): every unit posts a position every 5 s through
   ``POST /api/device/units/{call_sign}/positions`` (a client id per fix, retried with the same id after a
   failure); every ``--replan-every`` seconds (default 30) the tasking room commits one of the night's units
   (the demo's, or the scenario's) to a call, or clears it, through ``POST /api/units/{id}/status`` (each a
   re-plan in the worker);
3. reports which night was measured (its name, the published plan's spots, units and visits, how long its
   plan job and the warm-up took), ingest latency (position post sent -> answer read: p50, p95, max),
   positions answered 2xx and stored (0 lost, 0 duplicated: the table's unique key), and the re-plans' latency
   as the server records it (event stored -> new version published: p50, p95, max, with where the time went),
   and the re-plans that did not finish; the figures, then one JSON line.

**What is compressed** (docs/live.md): the positions are real time: 40 units every 5 s is 8 posts a second,
the rate of a real night, and each carries the wall-clock time (the API refuses a fix more than 24 h old,
and the demo night is in 2022). The *night's clock* of the control events is compressed: 10 minutes of wall
time walk the night's first shift start to last shift end (the demo's 22:00-06:00, and the 150 x 12
scenario's) at 48 times real speed, so a whole night's re-plans happen during the load. The benchmark's
positions are therefore not in the night being re-planned (the re-plans read only events of the night up to
their time; later ones are held): re-plans run beside the ingest load, sharing CPU and database, but their
state has the night's units' statuses only, even where those units post positions (the scenario's).

**``--night-now``** (``benchmarks/live_night_now.py``) removes that gap: the night re-planned is a copy of the
scenario (the demo's bundled ``scenarios/rutland-night.toml`` without ``--scenario``) whose night started 30
minutes before the copy was written, imported, planned and published as with ``--scenario``; the night's units'
devices post the points their published routes (re-read as the worker re-plans) have them at the wall time,
with a few metres of GPS noise (a unit committed to a call drives to it; extra units stay near their station);
statuses go at the wall time. So the re-plans and the worker's dose check take the positions into the live
state. The figures add the dose checks (each a ``live_check_job`` run), the re-plans a spot's dose caused,
alerts, positions quarantined by reason, and the re-plans' latency by cause (status, dose, all).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import web as web_bench  # noqa: E402  (the tasking room's load benchmark: its HTTP client and setup)

NIGHT_START = datetime.fromisoformat("2022-09-02T22:00:00+01:00")
NIGHT_S = 8 * 3600.0
TARGET_INGEST_P95_MS = 100.0
TARGET_REPLAN_P95_S = 2.0
#: Where the control events put a call (Oakham), and where the load's units post their fixes round
#: (``benchmarks/web.py``): Rutland, so a scenario night must cover it.
CALL_LONLAT = (-0.7265, 52.6703)
DEMO_LABEL = "demo night (serve --demo: the bundled scenarios/rutland-night.toml)"
DEMO_TIMEOUT_S = 300.0  # plan job and warm-up of the demo night [s]
#: The scenario ``serve --demo`` plans (the bundled night): --night-now without --scenario copies it.
DEMO_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "rutland-night.toml"


@dataclass
class Night:
    """The night measured: the demo's, or a scenario file's (imported into the served room)."""

    label: str
    start: datetime
    length_s: float
    scenario: str | None = None  # the file
    units: list[str] = field(default_factory=list)  # the scenario's call signs (devices and control events)
    timeout_s: float = DEMO_TIMEOUT_S  # for its plan job, and again for the worker's warm-up [s]
    night_now: dict[str, Any] | None = None  # --night-now: what the scenario copy moved (live_night_now)


def night_of(path: Path | None) -> Night:
    """The demo night, or ``path``'s: its units' first shift start to last shift end in its timezone;
    ``PatrolPlannerError`` (one line) for a scenario that cannot be read or that has no units, and
    ``ValueError`` for one whose area leaves out Rutland (where the load's fixes are)."""
    if path is None:
        return Night(DEMO_LABEL, NIGHT_START, NIGHT_S)
    from zoneinfo import ZoneInfo

    from patrol_planner.errors import ScenarioError
    from patrol_planner.scenario import load_scenario

    s = load_scenario(path)
    if not s.units:
        raise ScenarioError(f"{path}: the scenario has no [[units]] to plan")
    bbox = s.area.bbox
    if bbox is not None and not (bbox[0] <= CALL_LONLAT[0] <= bbox[2] and bbox[1] <= CALL_LONLAT[1] <= bbox[3]):
        raise ValueError(f"{path}: its [area] leaves out Rutland, where the load's positions and calls are")
    if s.night is None and s.as_of is None:
        raise ScenarioError(f"{path}: the scenario gives neither night nor as_of: set night (the date the shifts "
                            "start on)")
    tz, day = ZoneInfo(s.timezone), s.night or s.as_of.date()
    starts, ends = [], []
    for u in s.units:
        a, b = (datetime.combine(day, t, tzinfo=tz) for t in u.shift)
        starts.append(a)
        ends.append(b if b > a else b + timedelta(days=1))
    start = min(starts)
    label = f"{s.name} ({path}, night {start:%Y-%m-%d %H:%M}-{max(ends):%H:%M})"
    # the plan job runs the scenario as configured: [solver] time_limit_s caps its search; then the pipeline
    return Night(label, start, (max(ends) - start).total_seconds(), str(path), [u.id for u in s.units],
                 s.solver.time_limit_s + 600.0)


def _q(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(q * len(s) + 0.999999) - 1))]


def start_server(a: Any, data: Path, demo: bool) -> tuple[subprocess.Popen[bytes], int]:
    port = web_bench.free_port()
    exe = _exe()
    demo_flag = ["--demo"] if demo else []  # a scenario night: an empty room, the scenario imported below
    cmd = [exe, "serve", *demo_flag, "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)]
    if a.db:
        cmd += ["--db", a.db]
    with open(data / "server.log", "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=_env(), start_new_session=True)
    web_bench.wait_up(port, proc, data / "server.log")
    return proc, port


def _exe() -> str:
    import shutil

    return shutil.which("patrol-planner", path=str(Path(sys.executable).parent)) or "patrol-planner"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PATROL_PLANNER_")}


def import_scenario(a: Any, data: Path, path: str) -> int:
    """``patrol-planner scenarios import PATH`` into the served room (the command an administrator runs: it
    stores the scenario and adds its units and stations to the roster); the stored scenario's id."""
    cmd = [_exe(), "scenarios", "import", path, "--data-dir", str(data)]
    if a.db:
        cmd += ["--db", a.db]
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300, check=False)
    m = re.match(r"scenario (\d+): ", done.stdout)
    if done.returncode != 0 or m is None:
        raise RuntimeError(f"scenarios import: exit {done.returncode}: {(done.stderr or done.stdout).strip()[:500]}")
    print(done.stdout.strip(), flush=True)
    return int(m.group(1))


def publish_and_warm(tasking: Any, supervisor: Any, scenario_id: int | None = None,
                     timeout_s: float = DEMO_TIMEOUT_S) -> tuple[int, dict[str, float]]:
    """Plan (the stored scenario ``scenario_id``, default the first), submit, approve and publish; wait for the
    worker's warm-up. The version and how long the plan job and the warm-up took [s]."""
    rec, w = web_bench.Recorder(), {}
    payload = None if scenario_id is None else {"scenario": scenario_id}
    version = web_bench.run_plan_job(tasking, rec, w, payload, timeout_s=timeout_s)
    if version is None:
        raise RuntimeError(f"the plan job did not finish: {rec.errors or w}")
    took = {"plan_job_s": round(w["end"] - w["start"], 1)}
    for who, to in ((tasking, "submitted"), (supervisor, "approved"), (supervisor, "published")):
        status, body, _ = who.api("POST", f"/api/versions/{version}/{to}", {"reason": "live benchmark"})
        if status != 200:
            raise RuntimeError(f"{to}: HTTP {status} {body}")
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        status, body, _ = supervisor.api("GET", "/api/live")
        if status == 200 and any(r["kind"] == "warm" and r["state"] == "done" for r in body["replans"]):
            took["warm_up_s"] = round(time.monotonic() - t0, 1)
            return version, took
        time.sleep(0.5)
    raise RuntimeError(f"the worker did not load the night in {timeout_s:g} s")


def diversions(tasking: Any, start: float, stop: float, every_s: float, rec: Any, sent: list[dict[str, Any]],
               seconds: float, night: Night, keeper: Any = None) -> None:
    """Statuses of the night's units (the demo's, or the scenario's) on the compressed night clock (with
    ``--night-now``: at the wall time, and ``keeper`` sends the committed unit to its call): committed for 40
    night minutes, then available, round-robin; one every ``every_s`` of wall time."""
    status, units, _ = tasking.api("GET", "/api/units")
    if night.units:
        demo = [u for u in units if u["call_sign"] in night.units]
    else:
        demo = [u for u in units if not u["call_sign"].startswith("BENCH-")]
    i, nxt = 0, start + every_s
    while nxt < stop:
        time.sleep(max(0.0, nxt - time.monotonic()))
        if night.night_now is not None:
            at = datetime.now(night.start.tzinfo)
        else:
            at = night.start + timedelta(seconds=(time.monotonic() - start) / seconds * night.length_s)
        u = demo[(i // 2) % len(demo)]
        body: dict[str, Any] = {"status": "committed" if i % 2 == 0 else "available", "time": at.isoformat()}
        if i % 2 == 0:
            body.update(until=(at + timedelta(minutes=40)).isoformat(), lon=CALL_LONLAT[0], lat=CALL_LONLAT[1])
        t = time.monotonic()
        code, got, dt = tasking.api("POST", f"/api/units/{u['id']}/status", body)
        if keeper is not None and code == 201 and i % 2 == 0:
            keeper.commit(u["call_sign"], CALL_LONLAT)
        elif keeper is not None and code == 201:
            keeper.clear(u["call_sign"])
        rec.add(web_bench.Sample("api", "POST status", t, dt, code == 201), None if code == 201 else
                f"status: HTTP {code} {got}")
        sent.append({"unit": u["call_sign"], "status": body["status"], "night": at.isoformat(), "code": code})
        i += 1
        nxt += every_s


def replan_rows(supervisor: Any, n: int) -> list[dict[str, Any]]:
    """The re-plans the server recorded (waits up to 60 s for those still queued or running)."""
    deadline = time.monotonic() + 60
    while True:
        _, body, _ = supervisor.api("GET", "/api/live?limit=500")
        rows = [r for r in body["replans"] if r["kind"] == "replan"] if isinstance(body, dict) else []
        if time.monotonic() > deadline or (len(rows) >= n
                                           and all(r["state"] not in ("queued", "running") for r in rows)):
            return rows
        time.sleep(1)


def scenario_devices(units: list[str], n: int) -> list[tuple[str, str]]:
    """One device token each for the first ``n`` of the scenario's units (imported with it), through the
    package's call (what ``patrol-planner devices add`` runs); (call sign, token)."""
    from django.db import connections

    from patrol_planner.web import services
    from patrol_planner.web.models import Unit

    out = [(cs, services.issue_device_token(Unit.objects.get(call_sign=cs), "terminal")[1]) for cs in units[:n]]
    connections.close_all()
    return out


def plan_facts(version: int) -> dict[str, Any]:
    """What the published plan holds (spots, units, visits, harm covered): the figures name the night."""
    from django.db import connections

    from patrol_planner.web.models import PlanVersion

    plan = PlanVersion.objects.get(pk=version).plan()
    connections.close_all()
    return {"spots": len(plan.get("hotspots", [])), "units": len(plan.get("units", [])),
            "visits": sum(len(u.get("stops", [])) for u in plan.get("units", [])),
            "harm_covered": _r(plan.get("metrics", {}).get("harm_covered"))}


def measure(a: Any, port: int, night: Night, scenario_id: int | None) -> dict[str, Any]:
    data = Path(os.environ["PATROL_LIVE_BENCH_DATA"])
    own = min(a.units, len(night.units))  # the scenario's units post first, then units that only post
    users, devices = web_bench.setup_django(data, a.db, 3, a.units - own)
    devices = scenario_devices(night.units, own) + devices
    people = {}
    for name, role, password in users:
        c = web_bench.Client(port)
        c.login(name, password)
        people[role] = c
    tasking, supervisor = people["tasking"], people["supervisor"]
    version, took = publish_and_warm(tasking, supervisor, scenario_id, night.timeout_s)
    facts = {**plan_facts(version), **took}
    print(f"published version {version} ({facts}); the worker has the night; {len(devices)} units posting "
          f"({own} of the night's)", flush=True)
    rec, acked, sent = web_bench.Recorder(), set(), []
    keeper = _keeper(version, [cs for cs, _ in devices]) if night.night_now is not None else None
    start, started = time.monotonic(), time.time()
    stop = start + a.seconds
    c0 = _cpu()
    threads = [_device_thread(port, cs, tok, rec, stop, acked, random.Random(a.seed + i), keeper)
               for i, (cs, tok) in enumerate(devices)]
    threads.append(threading.Thread(target=diversions, args=(tasking, start, stop, a.replan_every, rec, sent,
                                                             a.seconds, night, keeper), daemon=True))
    if keeper is not None:  # the devices follow the newest published routes as the worker re-plans
        threads.append(threading.Thread(target=keeper.refresh_loop, args=(stop,), daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=a.seconds + 120)
    wall = time.monotonic() - start
    rows = replan_rows(supervisor, sum(s["code"] == 201 for s in sent))
    time.sleep(1)
    stored = web_bench.stored_positions()
    out = {"rec": rec, "acked": acked, "stored": stored, "sent": sent, "rows": rows, "wall_s": wall,
           "cpu_s": _cpu() - c0, "version": version, "plan": facts, "units_own": own}
    if keeper is not None:
        import live_night_now

        out["night_now"] = {**live_night_now.checks_summary(), "versions_followed": len(keeper.versions_followed),
                            "check_notes_sampled": dict(keeper.check_notes),
                            "load_started": datetime.fromtimestamp(started, night.start.tzinfo).replace(
                                microsecond=0).isoformat(),
                            "load_started_min_into_night": round((started - night.start.timestamp()) / 60, 1)}
    return out


def _keeper(version: int, call_signs: list[str]) -> Any:
    """--night-now: the routes of the published ``version`` for the devices to follow (``live_night_now``)."""
    import live_night_now
    from django.db import connections

    from patrol_planner.web.models import PlanVersion

    plan = PlanVersion.objects.get(pk=version).plan()
    connections.close_all()
    keeper = live_night_now.RouteKeeper(live_night_now.homes_of(call_signs, plan))
    keeper.load(version, plan)
    return keeper


def _device_thread(port: int, cs: str, tok: str, rec: Any, stop: float, acked: set[tuple[str, str]],
                   rng: random.Random, keeper: Any) -> threading.Thread:
    """A device's thread: a random walk round Oakham (``benchmarks/web.py``), or with ``--night-now`` its
    unit's published route at the wall time."""
    c = web_bench.Client(port, bearer=tok)
    if keeper is None:
        return threading.Thread(target=web_bench.post_positions, args=(c, cs, rec, stop, acked, rng), daemon=True)
    import live_night_now

    return threading.Thread(target=live_night_now.follow_route, args=(c, cs, rec, stop, acked, rng, keeper),
                            daemon=True)


def _cpu() -> float:
    """CPU seconds of this process (the load generator's threads)."""
    return time.process_time()


def group_cpu_s(pgid: int) -> float:
    """CPU seconds used so far by the server's processes (its process group: uvicorn, the worker) [s]."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # pgrp
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
    return total


def report(a: Any, m: dict[str, Any], load: tuple[tuple[float, ...], tuple[float, ...]],
           night: Night) -> dict[str, Any]:
    rec, rows = m["rec"], m["rows"]
    ingest = [s.seconds * 1000 for s in rec.samples if s.what == "POST positions"]
    done = [r for r in rows if r["state"] == "done"]
    lat = [r["latency_s"] for r in done if r["latency_s"] is not None]
    steps = {k: round(sum(r["steps_s"].get(k, 0.0) for r in done) / max(1, len(done)), 3)
             for k in ("request", "queued", "prepare", "context", "state", "replan", "plan", "store")}
    out = {
        "benchmark": "live_http", "db": "postgresql" if a.db else "sqlite", "seconds": a.seconds, "units": a.units,
        "night": {"label": night.label, "scenario": night.scenario, "start": night.start.isoformat(),
                  "hours": round(night.length_s / 3600, 2), **m["plan"]},
        "units_of_the_night_posting": m["units_own"],
        "position_every_s": web_bench.POSITION_EVERY_S, "night_speedup":
        1.0 if night.night_now else round(night.length_s / a.seconds, 1),
        "cpus": os.cpu_count(), "load_avg_before": [round(x, 2) for x in load[0]],
        "load_avg_after": [round(x, 2) for x in load[1]],
        "positions_acknowledged": len(m["acked"]), "positions_stored": len(m["stored"]),
        "positions_lost": len(m["acked"] - m["stored"]), "positions_duplicated": 0,  # unique key: checked on read
        "ingest_ms": {"n": len(ingest), "p50": _r(_q(ingest, 0.5)), "p95": _r(_q(ingest, 0.95)),
                      "max": _r(max(ingest) if ingest else None)},
        "statuses_sent": len(m["sent"]), "status_units": sorted({x["unit"] for x in m["sent"]}),
        "replans_done": len(done),
        "replans_other": {s: sum(r["state"] == s for r in rows) for s in ("skipped", "failed", "queued", "running")},
        "replan_latency_s": {"p50": _r(_q(lat, 0.5), 3), "p95": _r(_q(lat, 0.95), 3),
                             "max": _r(max(lat) if lat else None, 3)},
        "replan_mean_steps_s": steps, "errors": len(rec.errors), "error_examples": rec.errors[:5],
        "load_generator_cpu_s": round(m["cpu_s"], 1), "wall_s": round(m["wall_s"], 1),
        "server_cpu_s": round(m.get("server_cpu_s", 0.0), 1),
    }
    if "night_now" in m:
        out["night_now"] = {**(night.night_now or {}), **m["night_now"],
                            "replan_latency_s_by_trigger": _latency_by_trigger(done)}
    out["targets_met"] = bool(out["positions_lost"] == 0 and not rec.errors
                              and (out["ingest_ms"]["p95"] or 1e9) <= TARGET_INGEST_P95_MS
                              and (out["replan_latency_s"]["p95"] or 1e9) <= TARGET_REPLAN_P95_S)
    return out


def _latency_by_trigger(done: list[dict[str, Any]]) -> dict[str, Any]:
    """Event stored -> published (p50, p95, max, n) of the re-plans a status caused, of those a spot's dose
    caused (trigger "spot X has had its N min"), and of all."""
    def fig(rows: list[dict[str, Any]]) -> dict[str, Any]:
        lat = [r["latency_s"] for r in rows if r["latency_s"] is not None]
        return {"n": len(rows), "p50": _r(_q(lat, 0.5), 3), "p95": _r(_q(lat, 0.95), 3),
                "max": _r(max(lat) if lat else None, 3)}

    dose = [r for r in done if "has had its" in (r["trigger"] or "")]
    return {"status": fig([r for r in done if r not in dose]), "dose": fig(dose), "all": fig(done)}


def _r(x: float | None, nd: int = 1) -> float | None:
    return None if x is None else round(x, nd)


def show(r: dict[str, Any]) -> None:
    i, q = r["ingest_ms"], r["replan_latency_s"]
    n = r["night"]
    print(f"\nHTTP load ({r['db']}) on the {n['label']}: published plan {n['spots']} spots x {n['units']} units, "
          f"{n['visits']} visits (plan job {n['plan_job_s']} s, worker warm-up {n['warm_up_s']} s)")
    print(f"  {r['units']} units ({r['units_of_the_night_posting']} of the night's), a position every "
          f"{r['position_every_s']:g} s each, {r['seconds']:g} s of wall time (the night's clock at "
          f"{r['night_speedup']}x); load {r['load_avg_before'][0]} before, {r['load_avg_after'][0]} after")
    print(f"  positions: {r['positions_acknowledged']} acknowledged, {r['positions_stored']} stored, "
          f"{r['positions_lost']} lost, {r['positions_duplicated']} duplicated; ingest p50 {i['p50']} ms, "
          f"p95 {i['p95']} ms (target {TARGET_INGEST_P95_MS:g}), max {i['max']} ms")
    print(f"  re-plans: {r['statuses_sent']} statuses sent (to {', '.join(r['status_units']) or 'none'}), "
          f"{r['replans_done']} published "
          f"(others {r['replans_other']}); event stored -> published p50 {q['p50']} s, p95 {q['p95']} s "
          f"(target {TARGET_REPLAN_P95_S:g}), max {q['max']} s")
    print(f"  where a re-plan's time went (mean s): {r['replan_mean_steps_s']}")
    if "night_now" in r:
        show_night_now(r["night_now"])
    print(f"  errors {r['errors']} {r['error_examples'][:3]}; CPU: server {r['server_cpu_s']} s (setup, plan and "
          f"warm-up included), load generator {r['load_generator_cpu_s']} s, in {r['wall_s']} s of load")


def show_night_now(n: dict[str, Any]) -> None:
    """The --night-now lines: which night, what the dose check did, quarantine, latency by cause."""
    print(f"  night now: {n['source']} moved by {n['moved_by_min']} min to the night of {n['night']} "
          f"(shifts {', '.join(n['shifts'])}; as_of {n['as_of']} kept); the load started "
          f"{n['load_started_min_into_night']} min into the night; the devices followed "
          f"{n['versions_followed']} published version(s)")
    print(f"  dose checks: {n['runs']} runs {n['by_status']} (p50 {n['seconds_p50']} s, p95 {n['seconds_p95']} s, "
          f"max {n['seconds_max']} s); outcomes sampled {n['check_notes_sampled']}; last {n['last']}")
    print(f"  re-plans a spot's dose caused: {n['dose_replans']}; alerts raised {n['alerts']}; "
          f"positions quarantined {n['quarantined'] or 'none'}")
    for k, f in n["replan_latency_s_by_trigger"].items():
        print(f"  re-plans ({k}): {f['n']} published, event stored -> published p50 {f['p50']} s, p95 {f['p95']} s, "
              f"max {f['max']} s")


def run_http(a: Any) -> dict[str, Any]:
    """Start the server, measure, stop it; the result record (printed by :func:`show`)."""
    import shutil
    import tempfile

    data = Path(tempfile.mkdtemp(prefix="patrol-live-bench-"))
    path, moved = a.scenario, None
    if getattr(a, "night_now", False):  # a copy of the scenario (the demo's without one) whose night is now
        import live_night_now

        try:
            path, moved = live_night_now.night_now_scenario(a.scenario or DEMO_SCENARIO, data)
        except BaseException:
            shutil.rmtree(data, ignore_errors=True)
            raise
        print(f"night now: {moved}", flush=True)
    night = night_of(path)
    night.night_now = moved
    load0 = os.getloadavg()
    proc, port = start_server(a, data, demo=path is None)
    os.environ["PATROL_LIVE_BENCH_DATA"] = str(data)
    try:
        cpu0 = group_cpu_s(proc.pid)
        scenario_id = import_scenario(a, data, str(path)) if path else None
        m = measure(a, port, night, scenario_id)
        m["server_cpu_s"] = group_cpu_s(proc.pid) - cpu0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        if not a.keep:
            shutil.rmtree(data, ignore_errors=True)
    return report(a, m, (load0, os.getloadavg()), night)

"""Load benchmark of the tasking room: 50 people browsing while 40 units post positions, and a plan job.

    python benchmarks/web.py [--seconds 300] [--users 50] [--units 40] [--db postgresql://...] [--keep]

1. starts a real ``patrol-planner serve --demo`` on 127.0.0.1 (a free port, a temporary data folder; SQLite
   there by default, or the empty PostgreSQL database given with ``--db``);
2. adds the benchmark's users (planners, officers crewing the demo's units, auditors), ``--units`` extra
   units (off duty, so the plan is the demo's) and one device token each; logs every user in through the
   login form; plans, submits, approves and publishes one version (so plan pages and "My route" have content);
3. for ``--seconds``: each user loops over the pages of their role (Tonight, plans, a plan page; My route;
   audit) with 2-6 s think time, on a keep-alive connection with its session cookie; each unit posts a
   position every 5 s (a client id per fix, retried with the same id after a failure); in the middle the
   tasking officer starts a plan job through the API (what the page's Plan button calls) and the job page's
   poll (``/api/jobs/<id>``, once a second) follows it;
4. measures latency (request sent to body read) of pages and of API calls, separately for the steady phase
   and the phase while the plan job is queued or running; errors (anything but the expected status, or no
   answer within 30 s); lost writes (positions answered 2xx that are not in the database) and duplicates.

Targets (issue 19, item 8): page p95 <= 300 ms, API p95 <= 100 ms, 0 errors, 0 lost writes, in both phases.
Loopback only; bounded in time (``--seconds``) and count (users, units). The load generator runs on the
same machine as the server: its own CPU use is part of the figures. Prints figures and one final JSON line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

TARGET_PAGE_P95_MS = 300.0
TARGET_API_P95_MS = 100.0
TIMEOUT_S = 30.0
POSITION_EVERY_S = 5.0
THINK_S = (2.0, 6.0)


# --- a minimal HTTP client: one keep-alive connection and its own cookies per simulated person -------------
class Client:
    """One person's browser or one unit's terminal. Cookies are kept by hand: the server's cookies are
    ``Secure``, which Python's cookie jar never sends over ``http://`` (browsers do, to 127.0.0.1)."""

    def __init__(self, port: int, bearer: str | None = None) -> None:
        self.port, self.bearer = port, bearer
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, float]:
        """(status, body, seconds); raises OSError/HTTPException after one reconnect attempt."""
        h = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.bearer:
            h["Authorization"] = f"Bearer {self.bearer}"
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)
            t0 = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=h)
                resp = self.conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
                continue  # a keep-alive connection the server closed: reconnect once
            dt = time.perf_counter() - t0
            for k, v in resp.getheaders():
                if k.lower() == "set-cookie":
                    name, _, rest = v.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            if resp.getheader("connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return resp.status, data, dt
        raise AssertionError("unreachable")

    def api(self, method: str, path: str, payload: Any = None) -> tuple[int, Any, float]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if "csrftoken" in self.cookies and not self.bearer:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        status, data, dt = self.request(method, path, None if payload is None else json.dumps(payload).encode(),
                                        headers)
        try:
            return status, json.loads(data) if data else None, dt
        except ValueError:
            return status, data, dt

    def login(self, name: str, password: str) -> None:
        status, page, _ = self.request("GET", "/login/")
        m = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or m is None:
            raise RuntimeError(f"login page: HTTP {status}")
        form = urlencode({"username": name, "password": password, "csrfmiddlewaretoken": m.group(1).decode()})
        status, _, _ = self.request("POST", "/login/", form.encode(),
                                    {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login of {name} failed: HTTP {status}")


# --- recording ----------------------------------------------------------------------------------------
@dataclass
class Sample:
    kind: str  # "page" or "api"
    what: str
    start: float
    seconds: float
    ok: bool


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, s: Sample, error: str | None = None) -> None:
        with self.lock:
            self.samples.append(s)
            if error:
                self.errors.append(error)


def p95(xs: list[float]) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(0.95 * len(s) + 0.999999) - 1))]  # nearest rank


def summarise(samples: list[Sample]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("page", "api"):
        xs = [s.seconds * 1000 for s in samples if s.kind == kind]
        q = p95(xs)
        out[kind] = {"n": len(xs), "p50_ms": round(sorted(xs)[len(xs) // 2], 1) if xs else None,
                     "p95_ms": None if q is None else round(q, 1), "max_ms": round(max(xs), 1) if xs else None,
                     "errors": sum(not s.ok for s in samples if s.kind == kind)}
    out["by_what"] = {}
    for what in sorted({s.what for s in samples}):
        xs = [s.seconds * 1000 for s in samples if s.what == what]
        out["by_what"][what] = {"n": len(xs), "p95_ms": round(p95(xs) or 0, 1)}
    return out


# --- the simulated people -----------------------------------------------------------------------------
PAGES = {
    "analyst": ["/tonight/", "/plans/", "/plans/{v}/"],
    "tasking": ["/tonight/", "/plans/", "/plans/{v}/"],
    "supervisor": ["/plans/", "/plans/{v}/", "/tonight/"],
    "officer": ["/my-route/"],
    "auditor": ["/audit/"],
}


def browse(c: Client, role: str, version: int, rec: Recorder, stop: float, rng: random.Random) -> None:
    pages = PAGES[role]
    i = rng.randrange(len(pages))
    time.sleep(rng.uniform(0, THINK_S[1]))  # people do not all arrive in the same second
    while time.monotonic() < stop:
        path = pages[i % len(pages)].format(v=version)
        i += 1
        t = time.monotonic()
        try:
            status, _, dt = c.request("GET", path, headers={"Accept": "text/html"})
            ok = status == 200
            rec.add(Sample("page", path.replace(str(version), "<id>"), t, dt, ok),
                    None if ok else f"GET {path}: HTTP {status}")
        except (OSError, http.client.HTTPException) as exc:
            rec.add(Sample("page", path, t, time.monotonic() - t, False), f"GET {path}: {exc!r}")
        time.sleep(rng.uniform(*THINK_S))


def post_positions(c: Client, call_sign: str, rec: Recorder, stop: float, acked: set[tuple[str, str]],
                   rng: random.Random) -> None:
    n = 0
    lon, lat = -0.72 + rng.uniform(-0.1, 0.1), 52.66 + rng.uniform(-0.08, 0.08)
    time.sleep(rng.uniform(0, POSITION_EVERY_S))
    nxt = time.monotonic()
    while time.monotonic() < stop:
        n += 1
        lon, lat = lon + rng.uniform(-0.001, 0.001), lat + rng.uniform(-0.001, 0.001)
        fix = {"id": f"{call_sign}-{n}-{secrets.token_hex(4)}", "time": datetime.now(UTC).isoformat(),
               "lon": round(lon, 6), "lat": round(lat, 6), "accuracy_m": round(rng.uniform(3, 30), 1)}
        for _attempt in range(3):  # a failed post is retried with the same id: stored at most once
            t = time.monotonic()
            try:
                status, body, dt = c.api("POST", f"/api/device/units/{call_sign}/positions", fix)
            except (OSError, http.client.HTTPException) as exc:
                rec.add(Sample("api", "POST positions", t, time.monotonic() - t, False), f"position: {exc!r}")
                time.sleep(1)
                continue
            ok = status in (200, 201)
            rec.add(Sample("api", "POST positions", t, dt, ok), None if ok else f"position: HTTP {status} {body}")
            if ok:
                with rec.lock:
                    acked.add((call_sign, fix["id"]))
                break
            if status < 500:
                break
            time.sleep(1)
        nxt += POSITION_EVERY_S
        time.sleep(max(0.0, nxt - time.monotonic()))


def run_plan_job(c: Client, rec: Recorder, window: dict[str, float], payload: dict[str, Any] | None = None,
                 timeout_s: float = 300.0) -> int | None:
    """Start a plan job as the page's Plan button does (the API; ``payload`` e.g. ``{"scenario": id}``, default
    the first stored scenario), then follow it as the job page does, for up to ``timeout_s``."""
    t = time.monotonic()
    window["start"] = t
    status, job, dt = c.api("POST", "/api/plans", payload or {})
    rec.add(Sample("api", "POST plans", t, dt, status == 202), None if status == 202 else f"plan: HTTP {status}")
    if status != 202:
        window["end"] = time.monotonic()
        return None
    while True:
        time.sleep(1)
        t = time.monotonic()
        status, job, dt = c.api("GET", f"/api/jobs/{job['id']}")
        rec.add(Sample("api", "GET job", t, dt, status == 200), None if status == 200 else f"job: HTTP {status}")
        if status == 200 and job["state"] in ("done", "failed"):
            window["end"] = time.monotonic()
            window["state"] = job["state"]  # type: ignore[assignment]
            return job.get("version")
        if t - window["start"] > timeout_s:
            window["end"] = time.monotonic()
            return None


# --- setup ----------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server stopped (exit {proc.returncode}):\n{log.read_text()[-2000:]}")
        try:
            status, _, _ = Client(port).request("GET", "/login/")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not answer within 180 s")


def roles_for(n: int) -> list[str]:
    """The mix of people: 60 % planners (analyst, tasking, supervisor), 30 % officers, 10 % auditors."""
    mix = ["analyst", "tasking", "supervisor", "officer", "tasking", "officer", "analyst", "supervisor", "officer",
           "auditor"]
    return [mix[i % len(mix)] for i in range(n)]


def setup_django(data: Path, db: str | None, n_users: int, n_units: int) -> tuple[list[tuple[str, str, str]],
                                                                                   list[tuple[str, str]]]:
    """Users (name, role, password) and devices (call sign, token), made through the package's own calls."""
    from patrol_planner.web import runtime

    runtime.configure(data, db)
    from django.contrib.auth import get_user_model
    from django.db import connections, transaction

    from patrol_planner.web import admin_ops, audit, services
    from patrol_planner.web.models import Profile, Station, Unit

    demo_units = list(Unit.objects.filter(on_duty=True).order_by("call_sign").values_list("call_sign", flat=True))
    station = Station.objects.order_by("pk").first()
    users: list[tuple[str, str, str]] = []
    password, hashed = secrets.token_urlsafe(16), ""
    for i, role in enumerate(roles_for(n_users)):
        name = f"bench-{role}-{i:02d}"
        unit = demo_units[i % len(demo_units)] if role == "officer" else None
        if not hashed:  # the first through the package's call; the others share its Argon2 hash (setup time)
            hashed = admin_ops.add_user(name, role, password, unit).password
        else:
            with transaction.atomic():
                user = get_user_model().objects.create(username=name, password=hashed)
                Profile.objects.create(user=user, role=role, unit=Unit.objects.get(call_sign=unit) if unit else None)
                audit.record("user_added", actor="cli", target=f"user:{name}", detail={"role": role, "unit": unit})
        users.append((name, role, password))
    devices = []
    for i in range(n_units):
        u = Unit.objects.create(call_sign=f"BENCH-{i + 1:02d}", station=station, on_duty=False)
        devices.append((u.call_sign, services.issue_device_token(u, "terminal")[1]))
    connections.close_all()
    return users, devices


def stored_positions() -> set[tuple[str, str]]:
    from django.db import connections

    from patrol_planner.web.models import Position

    rows = list(Position.objects.values_list("unit__call_sign", "client_id"))
    connections.close_all()
    if len(rows) != len(set(rows)):
        raise AssertionError("duplicate positions stored")
    return set(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=300.0, help="measured time (default 300)")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--units", type=int, default=40)
    ap.add_argument("--db", default=None, help="postgresql://... (an empty database); default SQLite")
    ap.add_argument("--no-plan", action="store_true", help="no plan job in the middle")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2, help="serve --workers (answering processes, default 2)")
    a = ap.parse_args(argv)
    if not (1 <= a.users <= 200 and 1 <= a.units <= 200 and 10 <= a.seconds <= 3600):
        ap.error("bounded: 1-200 users, 1-200 units, 10-3600 seconds")

    data = Path(tempfile.mkdtemp(prefix="patrol-web-bench-"))
    port = free_port()
    log = data / "server.log"
    exe = shutil.which("patrol-planner", path=str(Path(sys.executable).parent)) or "patrol-planner"
    cmd = [exe, "serve", "--demo", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(a.workers)]
    if a.db:
        cmd += ["--db", a.db]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATROL_PLANNER_")}
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} "
          f"({os.cpu_count()} CPUs, shared)", flush=True)
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_up(port, proc, log)
        t0 = time.monotonic()
        users, devices = setup_django(data, a.db, a.users, a.units)
        people = []
        for name, role, password in users:
            c = Client(port)
            c.login(name, password)
            people.append((c, role))
        print(f"setup: {len(users)} users logged in, {len(devices)} device tokens ({time.monotonic() - t0:.1f} s)",
              flush=True)
        tasking = next(c for c, r in people if r == "tasking")
        supervisor = next(c for c, r in people if r == "supervisor")
        rec0 = Recorder()
        w0: dict[str, float] = {}
        version = run_plan_job(tasking, rec0, w0)
        if version is None:
            raise RuntimeError(f"the first plan job did not finish: {rec0.errors or w0}")
        print(f"first plan: version {version} in {w0['end'] - w0['start']:.1f} s", flush=True)
        for who, to in ((tasking, "submitted"), (supervisor, "approved"), (supervisor, "published")):
            status, body, _ = who.api("POST", f"/api/versions/{version}/{to}", {"reason": "load benchmark"})
            if status != 200:
                raise RuntimeError(f"{to}: HTTP {status} {body}")

        rec, acked = Recorder(), set()
        window: dict[str, float] = {}
        start = time.monotonic()
        stop = start + a.seconds
        threads = [threading.Thread(target=browse, args=(c, role, version, rec, stop, random.Random(a.seed + i)),
                                    daemon=True) for i, (c, role) in enumerate(people)]
        threads += [threading.Thread(target=post_positions, args=(Client(port, bearer=token), cs, rec, stop, acked,
                                                                  random.Random(a.seed + 1000 + i)), daemon=True)
                    for i, (cs, token) in enumerate(devices)]
        for t in threads:
            t.start()
        print(f"running {a.users} users and {a.units} units for {a.seconds:.0f} s ...", flush=True)
        if not a.no_plan:
            time.sleep(a.seconds / 2)
            run_plan_job(tasking, rec, window)
            print(f"plan job in the middle: {window.get('state')} in {window['end'] - window['start']:.1f} s",
                  flush=True)
        for t in threads:
            t.join(timeout=max(1.0, stop - time.monotonic() + TIMEOUT_S * 2))
        load_after = os.getloadavg()
        time.sleep(1)  # the last answers are in; every acknowledged write must be in the database
        stored = stored_positions()
        lost = acked - stored
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its worker (our own process group)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        if not a.keep:
            shutil.rmtree(data, ignore_errors=True)

    def in_plan(s: Sample) -> bool:
        return window.get("start", 1e18) <= s.start <= window.get("end", -1.0)

    steady = summarise([s for s in rec.samples if not in_plan(s)])
    during = summarise([s for s in rec.samples if in_plan(s)])
    result = {
        "benchmark": "web", "workers": a.workers, "db": "postgresql" if a.db else "sqlite", "seconds": a.seconds,
        "users": a.users,
        "units": a.units, "cpus": os.cpu_count(), "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in load_after],
        "plan_job": {"state": window.get("state"), "seconds": round(window["end"] - window["start"], 1)}
        if window else None,
        "steady": steady, "during_plan": during,
        "errors": len(rec.errors), "error_examples": rec.errors[:5],
        "positions_acknowledged": len(acked), "positions_stored": len(stored), "lost_writes": len(lost),
    }

    def met(ph: dict[str, Any]) -> bool:
        return ((ph["page"]["p95_ms"] or 0) <= TARGET_PAGE_P95_MS and (ph["api"]["p95_ms"] or 0) <= TARGET_API_P95_MS
                and ph["page"]["errors"] == 0 and ph["api"]["errors"] == 0)

    result["targets_met"] = met(steady) and (not window or met(during)) and not rec.errors and not lost
    for label, ph in (("steady", steady), ("during plan job", during)):
        print(f"{label:>16}: pages n={ph['page']['n']} p50={ph['page']['p50_ms']} p95={ph['page']['p95_ms']} ms"
              f" (target {TARGET_PAGE_P95_MS:.0f}); api n={ph['api']['n']} p50={ph['api']['p50_ms']}"
              f" p95={ph['api']['p95_ms']} ms (target {TARGET_API_P95_MS:.0f});"
              f" errors {ph['page']['errors'] + ph['api']['errors']}")
        for what, f in ph["by_what"].items():
            print(f"{'':>18}{what:<22} n={f['n']:<6} p95={f['p95_ms']} ms")
    print(f"positions: {len(acked)} acknowledged, {len(stored)} stored, {len(lost)} lost; errors {len(rec.errors)}"
          f" {rec.errors[:3]}")
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print(json.dumps(result))
    return 0 if result["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())

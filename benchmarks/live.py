"""Live re-tasking benchmark: replay a night with a generated event file and time the re-plans.

    python benchmarks/live.py [SCENARIO ...] [--seed 0] [--diversions 3] [--tasks 2] [--off-early 1]
    python benchmarks/live.py --http [--scenario SCENARIO] [--night-now] [--seconds 600] [--units 40]
                                     [--replan-every 30] [--db postgresql://...] [--keep]

For each scenario (default: the bundled night ``scenarios/rutland-night.toml`` and the plan benchmark's
150 x 12 night ``scenarios/rutland-scale-150.toml``):

1. plans the night (``run_plan``, deterministic, as configured);
2. generates an event file from the plan (``patrol_planner.live.generate``: positions every 10 s along the
   routes with GPS noise, 3 calls that divert a unit, 2 new tasks, one unit off duty early; seeded);
3. replays it (``patrol_planner.live.replay``): a re-plan after every status, task, intelligence or
   cancellation event, in the live world; the static world follows the morning plan and skips what it misses;
4. prints the re-plan latencies (wall and CPU seconds of this process: p50, p95, max), harm delivered live and
   static (plain and time-weighted), tasks served, the share of stops kept per re-plan, and one JSON line per
   scenario; the run ends with one JSON line holding everything.

Latencies depend on the machine and its load; CPU seconds are the steadier figure on a shared machine.

``--http`` runs the HTTP load instead (``benchmarks/live_http.py``): units posting positions through a real
``serve`` while the tasking room's statuses make the worker re-plan; ingest and re-plan latency, lost and
duplicated positions. The night re-planned is the demo's (``serve --demo``: 30 spots x 3 cars) unless
``--scenario`` names a scenario file (e.g. ``scenarios/rutland-scale-150.toml``, the issue's 150 x 12 night),
which is imported into the served room with ``patrol-planner scenarios import`` and planned as configured;
its units post first, then extra units that only post positions. The figures and the JSON line name the night.

``--http --night-now`` (``benchmarks/live_night_now.py``) puts the positions IN the night being re-planned: the
benchmark writes a copy of the scenario (the demo's bundled ``scenarios/rutland-night.toml`` without
``--scenario``) into its temporary folder whose night is now (the first shift started 30 minutes before the
copy was written; shifts, earliest leave and break windows moved by one offset; ``as_of`` kept), imports,
plans and publishes it as with ``--scenario``; the night's units' devices post where their published routes
(re-read as the worker re-plans) have them at the wall time, with a few metres of GPS noise; statuses go at the
wall time. Reported besides: the worker's dose checks and the re-plans a spot's dose caused, alerts,
positions quarantined by reason, and re-plan latency by cause (status, dose, all).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from patrol_planner.errors import PatrolPlannerError
from patrol_planner.live.context import context_from_run
from patrol_planner.live.eventfile import EventCheck, events_csv, read_events
from patrol_planner.live.generate import generate_events
from patrol_planner.live.outputs import summary_record
from patrol_planner.live.replay import run_replay
from patrol_planner.scenario import load_scenario, run_plan

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
DEFAULTS = [SCEN / "rutland-night.toml", SCEN / "rutland-scale-150.toml"]


def bench(path: Path, seed: int, diversions: int, tasks: int, off_early: int) -> dict[str, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    run = run_plan(load_scenario(path))
    plan_s, plan_cpu = time.perf_counter() - t0, time.process_time() - c0
    ctx = context_from_run(run)
    evs = generate_events(ctx, seed=seed, diversions=diversions, new_tasks=tasks, off_early=off_early)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "events.csv"
        f.write_text(events_csv(evs))
        ctx = context_from_run(run)  # fresh: the generator's pass saw the new tasks already
        log = read_events(f, EventCheck(frozenset(u.unit_id for u in ctx.units), ctx.bbox_lonlat))
        t1 = time.perf_counter()
        res = run_replay(ctx, log, seed=seed)
        replay_s = time.perf_counter() - t1
    summ = summary_record(res, scenario=str(path), events_file="generated", seed=seed)
    return {"scenario": path.name, "sites": len(run.problem.sites), "units": len(run.problem.units),
            "events": len(evs), "positions": sum(e.kind == "position" for e in evs),
            "plan_s": round(plan_s, 1), "plan_cpu_s": round(plan_cpu, 1), "replay_s": round(replay_s, 1),
            "replan_wall_s": [round(r.wall_s, 3) for r in res.replans],
            "replan_cpu_s": [round(r.cpu_s, 3) for r in res.replans],
            "stops_kept_share": [None if r.kept_share is None else round(r.kept_share, 3) for r in res.replans],
            "load_1min": round(os.getloadavg()[0], 1), **summ}


def show(r: dict[str, Any]) -> None:
    lat = r["latency"]
    print(f"\n{r['scenario']}: {r['sites']} sites x {r['units']} units; {r['events']} events "
          f"({r['positions']} positions); plan {r['plan_s']} s ({r['plan_cpu_s']} s CPU), replay {r['replay_s']} s; "
          f"load {r['load_1min']}")
    print(f"  re-plans {r['replans']} (validated {r['replans_validated']}): wall p50 {lat['wall_s_p50']} s, "
          f"p95 {lat['wall_s_p95']} s, max {lat['wall_s_max']} s; CPU p50 {lat['cpu_s_p50']} s, "
          f"p95 {lat['cpu_s_p95']} s, max {lat['cpu_s_max']} s")
    print(f"  per re-plan CPU s {r['replan_cpu_s']}; stops kept {r['stops_kept_share']}")
    print(f"  harm delivered: live {r['harm_delivered_live']:.0f}, static {r['harm_delivered_static']:.0f} "
          f"(live - static {r['harm_live_minus_static']:+.0f}); time-weighted live "
          f"{r['harm_delivered_time_weighted_live']:.0f}, static {r['harm_delivered_time_weighted_static']:.0f}; "
          f"morning plan {r['harm_planned_morning']:.0f}")
    print(f"  tasks added {r['tasks_added']}: served live {r['tasks_served_live']}, static {r['tasks_served_static']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", type=Path, default=DEFAULTS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--diversions", type=int, default=3)
    ap.add_argument("--tasks", type=int, default=2)
    ap.add_argument("--off-early", type=int, default=1)
    ap.add_argument("--http", action="store_true", help="the HTTP load through a real serve instead "
                    "(benchmarks/live_http.py)")
    ap.add_argument("--seconds", type=float, default=600.0, help="--http: wall time (default 600)")
    ap.add_argument("--units", type=int, default=40, help="--http: units posting positions (default 40)")
    ap.add_argument("--replan-every", type=float, default=30.0, help="--http: a status every N s (default 30)")
    ap.add_argument("--scenario", type=Path, default=None, help="--http: the night to re-plan, a scenario file "
                    "imported into the served room (e.g. scenarios/rutland-scale-150.toml); default: serve --demo's")
    ap.add_argument("--night-now", action="store_true", help="--http: re-plan a copy of the night moved to now, "
                    "the devices following their published routes in real time (benchmarks/live_night_now.py)")
    ap.add_argument("--db", default=None, help="--http: postgresql://... (an empty database); default SQLite")
    ap.add_argument("--keep", action="store_true", help="--http: keep the temporary data folder")
    a = ap.parse_args(argv)
    if a.http:
        return http_main(a)
    if a.scenario is not None or a.night_now:
        ap.error("--scenario and --night-now are for --http (the replay takes its scenarios as arguments)")
    out = []
    try:
        for p in a.scenarios:
            r = bench(p, a.seed, a.diversions, a.tasks, a.off_early)
            show(r)
            print(json.dumps(r, sort_keys=True, allow_nan=False))
            out.append(r)
    except PatrolPlannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(json.dumps({"live": out}, sort_keys=True, allow_nan=False))
    return 0


def http_main(a: argparse.Namespace) -> int:
    """The HTTP load section (``--http``): see ``benchmarks/live_http.py``."""
    import live_http

    if not (1 <= a.units <= 200 and 30 <= a.seconds <= 3600 and a.replan_every >= 1):
        print("error: bounded: 1-200 units, 30-3600 seconds, --replan-every >= 1", file=sys.stderr)
        return 2
    try:  # a bad scenario is one line before any server starts
        if a.night_now:  # the copy the run will write, checked in a throwaway folder
            import tempfile

            import live_night_now

            with tempfile.TemporaryDirectory() as tmp:
                live_http.night_of(live_night_now.night_now_scenario(a.scenario or live_http.DEMO_SCENARIO,
                                                                     Path(tmp))[0])
        else:
            live_http.night_of(a.scenario)
    except (PatrolPlannerError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    r = live_http.run_http(a)
    live_http.show(r)
    print(json.dumps(r, sort_keys=True, allow_nan=False))
    return 0 if r["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())

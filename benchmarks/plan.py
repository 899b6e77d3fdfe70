"""Plan benchmark: scenarios end to end, and harm covered against solver time, new search vs today's.

    python benchmarks/plan.py [SCENARIO ...] [--budgets 1 5 15 30 60 120] [--searches lns ortools]
                              [--profile on off] [--no-curve]

For each scenario (default: the bundled night, ``scenarios/rutland-scale-60.toml`` and
``rutland-scale-150.toml``) and each time-profile setting (``[visits] use_time_profile`` on / off):

1. runs the scenario end to end as configured (deterministic by default) with the graph cache warm (a
   cold first run is repeated) and prints the time per stage (``PlanRun.timings_s``) and the total [s];
   the routing problem the scenario builds is kept for step 2;
2. solves that same problem with each search (``lns``: construction + ruin and recreate, the default for
   patrol nights; ``ortools``: the OR-Tools portfolio, today's search before the construction existed,
   which now also gets the construction as a candidate: its own objective is printed beside it)
   deterministically, then time-bounded with each budget, and prints harm covered (visit prizes with
   repeat discounts, as ``plan.metrics["harm_covered"]``), time-weighted harm (the routing prize, as
   ``harm_covered_time_weighted``), visits, solve time, the busiest search worker's CPU seconds (on a
   shared machine: about the wall time on two free cores; ruin-and-recreate workers only) and whether
   the cap cut the search.

With ``--tasking N`` each scenario also gets N must-do tasks (two-hour windows, at Rutland towns and
villages, fixed list), three sectors (west, south, east; units assigned in turn) and cover in every sector
(one car within 20 min of Oakham, Uppingham and Cottesmore at every minute): the issue's "150 x 12 night
with 20 tasks, 3 sectors and cover" is ``plan.py scenarios/rutland-scale-150.toml --tasking 20 --budgets``.

With ``--baseline REF`` (a git commit or branch of this repository) each (scenario, profile) is first run end
to end by the code of REF (its ``src`` exported to a temporary folder, this script run on it in a child
process), then by the current code, one after the other in the same run, so both see the same machine; the
script prints both (harm, visits, wall and CPU seconds, load) and the speed-up. ``--no-curve`` is implied.

CPU seconds are this process's plus its finished children's (the forked search workers): on a shared
machine a steadier figure than wall time. Each (scenario, profile) ends with one JSON line; the run ends
with one JSON line holding everything. Timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import patrol_planner.routing as rt
from patrol_planner.errors import PatrolPlannerError
from patrol_planner.scenario import load_scenario, run_plan

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"
DEFAULTS = [SCEN / "rutland-night.toml", SCEN / "rutland-scale-60.toml", SCEN / "rutland-scale-150.toml"]
COLD_NETWORK_S = 5.0  # a network stage slower than this means the graph cache was cold [s]


def _end_to_end(scen: Any) -> tuple[dict, rt.PatrolProblem]:
    """Run the scenario as configured; return its figures and the routing problem it built."""
    t0, cpu0 = time.perf_counter(), _cpu_s()
    run = run_plan(scen)
    total, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
    st = run.result.stats
    return {"total_s": round(total, 2), "cpu_s": round(cpu, 2),
            "timings_s": {k: round(v, 2) for k, v in run.timings_s.items()},
            "harm_covered": float(run.plan.metrics["harm_covered"]),
            "harm_covered_time_weighted": float(run.plan.metrics["harm_covered_time_weighted"]),
            "visits": sum(len(u.stops) for u in run.plan.units), "solver": st.get("solver"),
            "search_cut": bool(st.get("search_cut", st.get("hit_time_limit", False)))}, run.problem


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the forked search workers): under load a
    steadier figure than wall time."""
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + ch.ru_utime + ch.ru_stime


def harm_covered(problem: rt.PatrolProblem, res: rt.RoutingResult) -> float:
    """Visit prizes with repeat discounts, before time-of-day multipliers (``plan.metrics["harm_covered"]``)."""
    sites = {s.site_id: s for s in problem.sites}
    return float(sum(sites[v.site_id].prize * sites[v.site_id].repeat_factor ** (v.visit_no - 1)
                     for r in res.routes for v in r.visits))


def _solve(problem: rt.PatrolProblem, label: str, **kw: Any) -> dict:
    t0 = time.perf_counter()
    res = rt.solve(problem, rt.SolveParams(**kw))
    cpu = [v.get("cpu_s") for v in res.stats.get("portfolio", {}).values() if v.get("cpu_s") is not None]
    return {"label": label, "search": kw.get("search"), "harm_covered": round(harm_covered(problem, res), 1),
            "worker_cpu_s": round(max(cpu), 2) if cpu else None,
            "harm_time_weighted": round(res.prize, 1), "visits": sum(len(r.visits) for r in res.routes),
            "solve_s": round(time.perf_counter() - t0, 2), "solver": res.stats.get("solver"),
            # each search's own objective (prize - travel cost): "ortools" alone is today's search
            "objectives": {k: round(v["objective"], 1) for k, v in res.stats.get("portfolio", {}).items()
                           if "objective" in v},
            "search_cut": res.search_cut, "time_limit_s": kw.get("time_limit_s")}


#: Places for benchmark tasks (lon, lat) [deg]: Rutland towns and villages, near a road.
TASK_PLACES = [(-0.7287, 52.6705), (-0.7230, 52.5870), (-0.6596, 52.7120), (-0.5970, 52.6650),
               (-0.5530, 52.6280), (-0.4700, 52.6930), (-0.6330, 52.7210), (-0.7570, 52.6950),
               (-0.6450, 52.6370), (-0.7450, 52.6400), (-0.7140, 52.5650), (-0.5100, 52.6750),
               (-0.6320, 52.6930), (-0.7830, 52.6500), (-0.6250, 52.6000)]
BENCH_SECTORS = {
    "west": [[-0.83, 52.63], [-0.69, 52.63], [-0.69, 52.77], [-0.83, 52.77]],
    "south": [[-0.83, 52.52], [-0.42, 52.52], [-0.42, 52.63], [-0.83, 52.63]],
    "east": [[-0.69, 52.63], [-0.42, 52.63], [-0.42, 52.77], [-0.69, 52.77]],
}
BENCH_COVER_POINTS = {"west": [[-0.7287, 52.6705]], "south": [[-0.7230, 52.5870]], "east": [[-0.6596, 52.7120]]}


def with_tasking(scen: Any, n_tasks: int) -> Any:
    """The scenario with ``n_tasks`` tasks, three sectors (units in turn: west, east, south) and cover."""
    starts = ["22:30", "23:00", "23:30", "00:00", "00:30", "01:00", "02:00", "03:00"]
    tasks = []
    for k in range(n_tasks):
        lon, lat = TASK_PLACES[k % len(TASK_PLACES)]
        a = starts[k % len(starts)]
        h, m = (int(x) for x in a.split(":"))
        tasks.append({"id": f"bench-task-{k + 1}", "lon": lon, "lat": lat, "window": f"{a}-{(h + 2) % 24:02d}:{m:02d}",
                      "dwell_min": 10, "kind": "other"})
    order = ["west", "east", "south"]
    units = [{**u.model_dump(), "sector": order[i % 3]} for i, u in enumerate(scen.units)]
    return scen.replace(tasks=tasks, units=units,
                        sectors=[{"name": k, "polygon": v} for k, v in BENCH_SECTORS.items()],
                        cover={"within_min": 20, "min_units": 1, "points": BENCH_COVER_POINTS})


def bench(path: Path, profile: bool, searches: list[str], budgets: list[float], cap_s: float,
          n_tasks: int = 0, curve: bool = True) -> dict:
    scen = load_scenario(path)
    scen = scen.replace(visits={"use_time_profile": profile})
    if n_tasks:
        scen = with_tasking(scen, n_tasks)
    e2e, problem = _end_to_end(scen)
    if e2e["timings_s"].get("network_s", 0.0) > COLD_NETWORK_S:
        print(f"(graph cache was cold: network took {e2e['timings_s']['network_s']} s; running again)",
              file=sys.stderr)
        e2e, problem = _end_to_end(scen)
    extra = f", {n_tasks} tasks, sectors, cover" if n_tasks else ""
    tag = f"{scen.name} [time profile {'on' if profile else 'off'}{extra}]"
    print(f"\n{tag}: {len(problem.sites)} sites, {len(problem.units)} units; end to end {e2e['total_s']:.1f} s "
          f"on {os.cpu_count()} cores ({e2e['cpu_s']:.1f} s CPU, load {os.getloadavg()[0]:.1f}), "
          f"harm {e2e['harm_covered']:.0f} (time-weighted "
          f"{e2e['harm_covered_time_weighted']:.0f}), {e2e['visits']} visits, {e2e['solver']}"
          + (", SEARCH CUT" if e2e["search_cut"] else ""))
    for k, v in e2e["timings_s"].items():
        print(f"  {k:14s} {v:8.2f} s")
    rows = []
    for search in searches if curve else []:
        rows.append(_solve(problem, f"{search} deterministic", search=search, time_limit_s=cap_s))
        for sec in budgets:
            rows.append(_solve(problem, f"{search} {sec:g} s", search=search, deterministic=False,
                               time_limit_s=float(sec)))
    print(f"{'search':>24s} {'harm':>9s} {'time-w.':>9s} {'visits':>7s} {'solve s':>8s} {'cpu s':>7s}  winner")
    for r in rows:
        cpu = f"{r['worker_cpu_s']:7.1f}" if r["worker_cpu_s"] is not None else f"{'-':>7s}"
        own = {k: v for k, v in r["objectives"].items() if k in ("ortools", "ortools-2")}
        alone = f"  [OR-Tools alone: objective {max(own.values()):.0f}]" if own else ""
        print(f"{r['label']:>24s} {r['harm_covered']:9.0f} {r['harm_time_weighted']:9.0f} {r['visits']:7d} "
              f"{r['solve_s']:8.2f} {cpu}  {r['solver']}" + ("  (cut by the cap)" if r["search_cut"] else "")
              + alone, flush=True)
    out = {"scenario": scen.name, "time_profile": profile, "tasks": n_tasks, "sites": len(problem.sites),
           "units": len(problem.units), "load_avg_1min": round(os.getloadavg()[0], 2), "end_to_end": e2e,
           "curve": rows}
    print(json.dumps(out, sort_keys=True), flush=True)
    return out


def export_baseline(ref: str) -> Path:
    """The ``src`` folder of git ``ref`` of this repository, exported to a new temporary folder."""
    dest = Path(tempfile.mkdtemp(prefix="plan-baseline-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], capture_output=True, check=False)
    if archive.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        raise SystemExit(f"error: cannot export {ref!r}: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest / "src"


def baseline_run(src: Path, scenario: str, profile: str, n_tasks: int) -> dict:
    """One end-to-end run of ``scenario`` by the code in ``src``: this script in a child process."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, __file__, scenario, "--no-curve", "--profile", profile, "--tasking", str(n_tasks)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"error: the baseline run failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return json.loads(lines[0])


def side_by_side(old: dict, new: dict) -> dict:
    """Print the baseline's and the current code's end-to-end figures together; return them as a record."""
    o, n = old["end_to_end"], new["end_to_end"]
    print(f"\n{new['scenario']} (time profile {'on' if new['time_profile'] else 'off'}, {new['tasks']} tasks): "
          "baseline -> current")
    for key, unit in (("harm_covered", ""), ("harm_covered_time_weighted", ""), ("visits", ""),
                      ("total_s", " s wall"), ("cpu_s", " s CPU")):
        print(f"  {key:28s} {o[key]:>10.1f} -> {n[key]:>10.1f}{unit}")
    print(f"  {'solve_s':28s} {o['timings_s']['solve_s']:>10.1f} -> {n['timings_s']['solve_s']:>10.1f} s wall")
    print(f"  load (1 min)                 {old['load_avg_1min']:>10.1f} -> {new['load_avg_1min']:>10.1f}")
    rec = {"scenario": new["scenario"], "time_profile": new["time_profile"], "tasks": new["tasks"],
           "baseline": old, "current": new,
           "speedup_wall": round(o["total_s"] / max(n["total_s"], 1e-9), 2),
           "speedup_cpu": round(o["cpu_s"] / max(n["cpu_s"], 1e-9), 2),
           "harm_change_pct": round(100 * (n["harm_covered"] / max(o["harm_covered"], 1e-9) - 1), 2)}
    print(f"  speed-up: {rec['speedup_wall']}x wall, {rec['speedup_cpu']}x CPU; harm {rec['harm_change_pct']:+.2f} %")
    print(json.dumps(rec, sort_keys=True, allow_nan=False), flush=True)
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", nargs="*", default=[str(p) for p in DEFAULTS])
    ap.add_argument("--budgets", type=float, nargs="*", default=[1, 5, 15, 30, 60, 120],
                    help="time-bounded solver budgets of the curve [s]")
    ap.add_argument("--searches", nargs="+", default=["lns", "ortools"], choices=["lns", "ortools"])
    ap.add_argument("--profile", nargs="+", default=["on", "off"], choices=["on", "off"])
    ap.add_argument("--cap", type=float, default=600.0, help="cap of the deterministic solves [s]")
    ap.add_argument("--tasking", type=int, default=0, metavar="N",
                    help="add N tasks, three sectors and cover in every sector to each scenario")
    ap.add_argument("--no-curve", action="store_true", help="end to end only: skip the solver comparison")
    ap.add_argument("--baseline", metavar="REF", help="also run each case end to end with git REF's code, "
                    "side by side (implies --no-curve)")
    a = ap.parse_args(argv)
    try:
        if a.baseline:
            src = export_baseline(a.baseline)
            try:
                pairs = []
                for p in a.scenario:
                    for prof in a.profile:
                        old = baseline_run(src, p, prof, a.tasking)
                        new = bench(Path(p), prof == "on", a.searches, a.budgets, a.cap, a.tasking, False)
                        pairs.append(side_by_side(old, new))
            finally:
                shutil.rmtree(src.parent, ignore_errors=True)
            print(json.dumps({"cores": os.cpu_count(), "baseline_ref": a.baseline, "pairs": pairs}, sort_keys=True,
                             allow_nan=False))
            return 0
        runs = [bench(Path(p), prof == "on", a.searches, a.budgets, a.cap, a.tasking, not a.no_curve)
                for p in a.scenario for prof in a.profile]
        print(json.dumps({"cores": os.cpu_count(), "runs": runs}, sort_keys=True))
        return 0
    except PatrolPlannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())

"""Nightly plan benchmark: the bundled default scenario end to end, and plan quality against solver time.

    python benchmarks/plan.py [SCENARIO] [--quick] [--seconds 5 15 30 60]

1. Runs the scenario as configured (deterministic by default) with the graph cache warm (a cold first
   run is repeated) and prints the time per stage (``PlanRun.timings_s``) and the total [s].
2. Runs it again in NON-deterministic mode with ``time_limit_s`` = 5, 15, 30 and 60 s (``--quick``: 5
   and 15 s) and prints how the harm covered grows with solver time, next to the deterministic plan.

Ends with one JSON line holding every figure. Numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from patrol_planner.errors import PatrolPlannerError
from patrol_planner.scenario import load_scenario, run_plan

DEFAULT = Path(__file__).resolve().parents[1] / "scenarios" / "rutland-night.toml"
COLD_NETWORK_S = 5.0  # a network stage slower than this means the graph cache was cold [s]


def _run(scen, label: str) -> dict:
    t0 = time.perf_counter()
    run = run_plan(scen)
    total = time.perf_counter() - t0
    st = run.result.stats
    return {"label": label, "deterministic": scen.solver.deterministic, "time_limit_s": scen.solver.time_limit_s,
            "harm_covered": float(run.plan.metrics["harm_covered"]), "total_s": round(total, 2),
            "timings_s": {k: round(v, 2) for k, v in run.timings_s.items()},
            "solver": st.get("solver"), "processes": st.get("processes"),
            "hit_time_limit": bool(st.get("hit_time_limit", False)),
            "visits": sum(len(u.stops) for u in run.plan.units)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", nargs="?", default=str(DEFAULT))
    ap.add_argument("--quick", action="store_true", help="only 5 and 15 s in the sweep")
    ap.add_argument("--seconds", type=float, nargs="+", default=None, help="solver budgets of the sweep [s]")
    a = ap.parse_args(argv)
    budgets = a.seconds or ([5.0, 15.0] if a.quick else [5.0, 15.0, 30.0, 60.0])
    try:
        scen = load_scenario(a.scenario)
        det = _run(scen, "default")
        if det["timings_s"].get("network_s", 0.0) > COLD_NETWORK_S:
            print(f"(graph cache was cold: network took {det['timings_s']['network_s']} s; running again)",
                  file=sys.stderr)
            det = _run(scen, "default")
        print(f"{scen.name}: end to end {det['total_s']:.1f} s on {os.cpu_count()} cores "
              f"(solver: deterministic={det['deterministic']}, time_limit_s={det['time_limit_s']:g})")
        for k, v in det["timings_s"].items():
            print(f"  {k:14s} {v:7.2f} s")
        print(f"  {'total':14s} {det['total_s']:7.2f} s")
        rows = []
        for sec in budgets:
            s2 = scen.replace(solver={"deterministic": False, "time_limit_s": float(sec)})
            rows.append(_run(s2, f"{sec:g} s"))
        print()
        print(f"{'solver':>16s} {'harm covered':>13s} {'visits':>7s} {'solve s':>8s} {'total s':>8s}  winner")
        for r in [*rows, det]:
            name = r["label"] if r is not det else f"deterministic ({r['time_limit_s']:g})"
            print(f"{name:>16s} {r['harm_covered']:13.1f} {r['visits']:7d} {r['timings_s'].get('solve_s', 0):8.2f} "
                  f"{r['total_s']:8.2f}  {r['solver']}")
        print(json.dumps({"scenario": scen.name, "cores": os.cpu_count(), "default": det, "sweep": rows},
                         sort_keys=True))
        return 0
    except PatrolPlannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())

"""Team Orienteering with Time Windows: solve Solomon/Cordeau TOPTW instances through patrol_planner's routing.

    python benchmarks/toptw.py FILE --vehicles M [--seconds S] [--json] [--search lns|auto|ortools]
    python benchmarks/toptw.py --all [DIR] [--seconds S] [--vehicles 1 2 3 4] [--compare]

One instance: prints ``{"score": ..., "routes": [[i, j, ...], ...]}`` (one list per vehicle, customer
numbers as in the file, depot left out). Every tour is rechecked here with truncated distances
(``routing.toptw.check_toptw``) against the windows and the depot's closing time.
``--all``: every (instance, m) that DIR/reference.csv lists (default ../shared/benchmarks/toptw beside
the repository); prints the gap per case and the mean, then one JSON line. ``--compare`` runs the
ruin-and-recreate search ("lns", the default here) and "auto" (for these problems: the OR-Tools + PyVRP
portfolio, the search before the construction existed) side by side. Times are time budgets, not deterministic.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

from benchlib.toptw import check_toptw, read_toptw, toptw_params, toptw_problem, toptw_routes
from patrol_planner.errors import PatrolPlannerError
from patrol_planner.routing import solve

DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "toptw"


def run(path: Path, vehicles: int, seconds: float, search: str = "lns", seed: int = 0) -> dict:
    inst = read_toptw(path)
    t0 = time.monotonic()
    res = solve(toptw_problem(inst, vehicles), toptw_params(inst, seconds, search=search, seed=seed))
    wall = time.monotonic() - t0
    routes = toptw_routes(res)
    try:
        score = check_toptw(inst, routes, vehicles)
    except ValueError as exc:
        raise SystemExit(f"BUG: {path.name} m={vehicles}: invalid TOPTW solution: {exc}") from None
    return {"instance": inst.name, "vehicles": vehicles, "score": score, "routes": routes,
            "wall_s": round(wall, 2), "solver": res.stats.get("solver")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("instance", nargs="?", help="instance file, or with --all a directory")
    ap.add_argument("--vehicles", type=int, nargs="+", default=None, help="m (one value for one file)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--json", action="store_true", help="print only the JSON object")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--compare", action="store_true", help="with --all: lns vs auto side by side")
    ap.add_argument("--search", default="lns", choices=["lns", "auto", "ortools"])
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    try:
        if not a.all:
            if not a.instance or not a.vehicles or len(a.vehicles) != 1:
                ap.error("FILE and one --vehicles M are required (or --all)")
            out = run(Path(a.instance), a.vehicles[0], a.seconds, a.search, a.seed)
            if not a.json:
                print(f"{out['instance']} m={out['vehicles']}: score {out['score']:g} by {out['solver']} "
                      f"in {out['wall_s']} s", file=sys.stderr)
            print(json.dumps({"score": out["score"], "routes": out["routes"]}))
            return 0
        d = Path(a.instance) if a.instance else DEFAULT_DIR
        with open(d / "reference.csv") as fh:
            ref = {(r["instance"], int(r["m"])): float(r["reference"]) for r in csv.DictReader(fh)}
        if a.vehicles:
            ref = {k: v for k, v in ref.items() if k[1] in a.vehicles}
        modes = ["lns", "auto"] if a.compare else [a.search]
        summary: dict = {"seconds": a.seconds, "cases": {}}
        for (name, m), bk in sorted(ref.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            row = {}
            for mode in modes:
                out = run(d / f"{name}.txt", m, a.seconds, mode, a.seed)
                row[mode] = {"score": out["score"], "gap_pct": round(100.0 * (bk - out["score"]) / bk, 3),
                             "solver": out["solver"], "wall_s": out["wall_s"]}
            summary["cases"][f"{name}/m{m}"] = row
            print(f"{name:6s} m={m} ref {bk:6g}  " + "  ".join(
                f"{md}: {r['score']:6g} gap {r['gap_pct']:6.2f}% ({r['solver']})" for md, r in row.items()),
                flush=True)
        for mode in modes:
            gaps = [r[mode]["gap_pct"] for r in summary["cases"].values()]
            summary[f"mean_gap_pct_{mode}"] = round(sum(gaps) / len(gaps), 3)
            print(f"mean gap {mode}: {summary[f'mean_gap_pct_{mode}']:.2f}% over {len(gaps)} cases")
        print(json.dumps(summary, sort_keys=True))
        return 0
    except PatrolPlannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())

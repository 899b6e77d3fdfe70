"""Team Orienteering benchmark: solve Chao/Golden/Wasil instances through patrol_planner's routing.

    python benchmarks/top.py INSTANCE [--seconds S] [--json] [--no-portfolio] [--deterministic]
    python benchmarks/top.py --all [DIR] [--seconds S] [--compare] [--deterministic] [--search lns]

One instance: prints ``{"score": ..., "routes": [[i, j, ...], ...]}`` (0-based point indices in file
order, start and end left out). Every tour is rechecked here in real arithmetic against tmax.
``--seconds`` is a time budget; with ``--deterministic`` the search stops on work counters instead (the
same scores on every run; ``--seconds`` then only caps it).
``--all``: every instance in DIR (default ../shared/benchmarks/top beside the repository) that ``best_known.csv`` lists;
prints the gap per instance and the mean, then one JSON line. ``--compare`` runs OR-Tools alone and the
portfolio side by side.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

from benchlib.top import read_top, top_params, top_problem, top_routes
from patrol_planner.errors import PatrolPlannerError
from patrol_planner.routing import solve

DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "top"


def run(path: Path, seconds: float, portfolio: bool, seed: int = 0, deterministic: bool = False,
        search: str = "auto") -> dict:
    inst = read_top(path)
    t0 = time.monotonic()
    res = solve(top_problem(inst), top_params(inst, seconds, portfolio=portfolio, seed=seed,
                                              deterministic=deterministic, search=search))
    wall = time.monotonic() - t0
    routes = top_routes(res)
    score = float(sum(inst.score[i] for r in routes for i in r))
    flat = [i for r in routes for i in r]
    worst = max([inst.route_length(r) / inst.tmax for r in routes] + [0.0])
    if len(flat) != len(set(flat)) or worst > 1 + 1e-6 or len(routes) > inst.n_vehicles:
        raise SystemExit(f"BUG: {path.name}: invalid TOP solution (max length/tmax {worst:.9f}, "
                         f"{len(flat) - len(set(flat))} repeats)")
    return {"instance": inst.name, "score": score, "routes": routes, "wall_s": round(wall, 2),
            "solver": res.stats.get("solver"), "max_len_over_tmax": worst,
            "hit_time_limit": bool(res.stats.get("hit_time_limit"))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("instance", nargs="?", help="instance file, or with --all a directory")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--json", action="store_true", help="print only the JSON object")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--compare", action="store_true", help="with --all: OR-Tools alone vs portfolio")
    ap.add_argument("--no-portfolio", action="store_true", help="OR-Tools only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--deterministic", action="store_true", help="stop on work counters (reproducible)")
    ap.add_argument("--search", default="auto", choices=["auto", "lns", "ortools"],
                    help="auto (default): OR-Tools + PyVRP for TOP; lns: construction + ruin and recreate")
    a = ap.parse_args(argv)
    try:
        if not a.all:
            if not a.instance:
                ap.error("INSTANCE is required (or --all)")
            out = run(Path(a.instance), a.seconds, not a.no_portfolio, a.seed, a.deterministic, a.search)
            if not a.json:
                print(f"{out['instance']}: score {out['score']:g} by {out['solver']} in {out['wall_s']} s, "
                      f"longest tour {out['max_len_over_tmax']:.6f} tmax", file=sys.stderr)
            print(json.dumps({"score": out["score"], "routes": out["routes"]}))
            return 0
        d = Path(a.instance) if a.instance else DEFAULT_DIR
        with open(d / "best_known.csv") as fh:
            best = {row["instance"]: float(row["best_known"]) for row in csv.DictReader(fh)}
        modes = [("ortools", False), ("portfolio", True)] if a.compare else \
            [("ortools" if a.no_portfolio else "portfolio", not a.no_portfolio)]
        summary: dict = {"seconds": a.seconds, "deterministic": a.deterministic, "search": a.search,
                         "instances": {}}
        for name, bk in sorted(best.items()):
            row = {}
            for label, pf in modes:
                out = run(d / f"{name}.txt", a.seconds, pf, a.seed, a.deterministic, a.search)
                gap = 100.0 * (bk - out["score"]) / bk
                row[label] = {"score": out["score"], "gap_pct": round(gap, 3), "solver": out["solver"]}
            summary["instances"][name] = row
            print(f"{name:10s} best {bk:6g}  " + "  ".join(
                f"{lb}: {r['score']:6g} gap {r['gap_pct']:6.2f}% ({r['solver']})" for lb, r in row.items()),
                flush=True)
        for label, _ in modes:
            gaps = [r[label]["gap_pct"] for r in summary["instances"].values()]
            summary[f"mean_gap_pct_{label}"] = round(sum(gaps) / len(gaps), 3)
            print(f"mean gap {label}: {summary[f'mean_gap_pct_{label}']:.2f}%")
        print(json.dumps(summary, sort_keys=True))
        return 0
    except PatrolPlannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())

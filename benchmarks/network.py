"""Benchmark the network stage on the bundled Rutland extract.

Targets (issue 3, 2 cores): cold build < 10 s, warm (cached) load < 1 s, 500 x 500 travel-time
matrix < 2 s. Prints one line per figure, then one JSON line with all of them.

Run: ``python benchmarks/network.py [--pbf PATH] [--n 500] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RUTLAND = REPO / "data" / "osm-rutland-2022" / "rutland-latest.osm.pbf"
TARGETS_S = {"cold_build_s": 10.0, "warm_load_s": 1.0, "matrix_s": 2.0}


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pbf", type=Path, default=RUTLAND)
    ap.add_argument("--n", type=int, default=500, help="matrix size n x n")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions; the best time is reported")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    from patrol_planner.network import build_network, snap_points, travel_matrix

    import_s = time.perf_counter() - t0
    res: dict[str, object] = {"pbf": args.pbf.name, "n": args.n, "import_s": round(import_s, 3)}
    with tempfile.TemporaryDirectory() as tmp:
        cold_s, net = _best(lambda: build_network(args.pbf, cache_dir=tmp, use_cache=False), args.repeat)
        build_network(args.pbf, cache_dir=tmp)  # write the cache
        warm_s, warm = _best(lambda: build_network(args.pbf, cache_dir=tmp), args.repeat)
        assert warm.stats["cached"]
        walk_s, walk = _best(lambda: build_network(args.pbf, mode="walk", cache_dir=tmp, use_cache=False), 1)

    rng = np.random.default_rng(0)
    ids = rng.choice(net.node_ids, min(args.n, len(net.node_ids)), replace=False)
    t0 = time.perf_counter()
    net.routing  # noqa: B018  (one-off CSR/tree build, reported separately)
    tables_s = time.perf_counter() - t0
    matrix_s, (T, D) = _best(lambda: travel_matrix(net, ids), args.repeat)
    x = rng.uniform(net.x_m.min(), net.x_m.max(), 2000)
    y = rng.uniform(net.y_m.min(), net.y_m.max(), 2000)
    snap_s, _ = _best(lambda: snap_points(net, x, y), args.repeat)
    big = rng.choice(net.node_ids, min(2000, len(net.node_ids)), replace=False)
    big_s, _ = _best(lambda: travel_matrix(net, big), 1)

    res.update(
        nodes=net.stats["nodes"], edges=net.stats["edges"], scc_nodes=net.stats["scc_nodes"],
        dropped_nodes=net.stats["dropped_nodes"], walk_nodes=walk.stats["nodes"], walk_edges=walk.stats["edges"],
        cold_build_s=round(cold_s, 3), warm_load_s=round(warm_s, 3), walk_build_s=round(walk_s, 3),
        routing_tables_s=round(tables_s, 3), matrix_s=round(matrix_s, 3), snap_2000_s=round(snap_s, 3),
        matrix_2000_s=round(big_s, 3), unreachable_pairs=int(np.isinf(T).sum()),
        max_travel_min=round(float(np.max(T)) / 60, 1),
    )
    for k, lim in TARGETS_S.items():
        res[f"{k}_ok"] = bool(res[k] < lim)  # type: ignore[operator]
    print(f"drive graph: {res['nodes']} nodes, {res['edges']} edges ({res['dropped_nodes']} junctions dropped)")
    print(f"cold build      {cold_s:7.3f} s   (target < {TARGETS_S['cold_build_s']} s)")
    print(f"warm load       {warm_s:7.3f} s   (target < {TARGETS_S['warm_load_s']} s)")
    print(f"walk build      {walk_s:7.3f} s   ({res['walk_nodes']} nodes)")
    print(f"routing tables  {tables_s:7.3f} s   (CSR + trees, once per network, incl. scipy import)")
    print(f"{args.n}x{args.n} matrix  {matrix_s:7.3f} s   (target < {TARGETS_S['matrix_s']} s)")
    print(f"2000x2000 matrix {big_s:6.3f} s")
    print(f"snap 2000 pts   {snap_s:7.3f} s")
    print(json.dumps(res, sort_keys=True))
    return 0 if all(res[f"{k}_ok"] for k in TARGETS_S) else 1


if __name__ == "__main__":
    sys.exit(main())

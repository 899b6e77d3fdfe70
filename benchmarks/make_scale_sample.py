"""Write the SYNTHETIC force-sized crime sample for Rutland (data/crimes-rutland-synthetic-scale/).

Rutland's two months of police.uk crimes (407 rows inside the box) fall on 233 scored 100 m cells: too few
for the issue's force-sized night (500 spots x 40 cars on the Rutland graph), and smaller cells give no
more (police.uk snaps crimes to a few hundred anonymised map points). This script keeps every row of the
timed sample (``data/crimes-rutland-synthetic-times``: real positions, categories and months; invented
times) and adds SYNTHETIC crimes at ``EXTRA_POINTS`` invented places: nodes of the Rutland drive network
(so every spot is on the graph the plan routes on) drawn at random, at least ``MIN_SEPARATION_M`` from every
real crime point and from each other, each with 1-3 crimes whose categories follow the real rows' mix and
whose times follow the timed sample's hour-of-week shapes. Seeded: rerunning writes the same file.

    python benchmarks/make_scale_sample.py            # rewrites crimes.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from make_timed_sample import hour_of_week_weights

from patrol_planner import network as nw
from patrol_planner.geo import to_xy

ROOT = Path(__file__).resolve().parents[1]
TIMED = ROOT / "data" / "crimes-rutland-synthetic-times" / "crimes.csv"
OSM = ROOT / "data" / "osm-rutland-2022" / "rutland-latest.osm.pbf"
OUT = ROOT / "data" / "crimes-rutland-synthetic-scale" / "crimes.csv"
CRS = "EPSG:27700"
SEED = 20221104
#: Invented places: with the 233 real cells, enough for 500 spots after the hot-spot selection's filters.
EXTRA_POINTS = 300
#: Least distance of an invented place from a real crime point and from another invented place [m]: three
#: 100 m cells, so each is a cell of its own.
MIN_SEPARATION_M = 300.0
MONTHS = ("2022-07", "2022-08")


def pick_nodes(net: nw.RoadNetwork, real_xy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``EXTRA_POINTS`` drive-network nodes, in draw order, kept apart as the docstring says."""
    chosen: list[int] = []
    for i in rng.permutation(len(net.node_ids)):
        p = np.array([net.x_m[i], net.y_m[i]])
        if np.hypot(*(real_xy - p).T).min() < MIN_SEPARATION_M:
            continue
        if chosen and np.hypot(net.x_m[chosen] - p[0], net.y_m[chosen] - p[1]).min() < MIN_SEPARATION_M:
            continue
        chosen.append(int(i))
        if len(chosen) == EXTRA_POINTS:
            return np.array(chosen)
    raise SystemExit(f"only {len(chosen)} network nodes are {MIN_SEPARATION_M:g} m apart; lower EXTRA_POINTS")


def synthetic_rows(net: nw.RoadNetwork, nodes: np.ndarray, real: pd.DataFrame,
                   rng: np.random.Generator) -> pd.DataFrame:
    """1-3 invented crimes at each chosen node: categories from the real mix, times from the shapes."""
    mix = real["category"].value_counts(normalize=True)
    rows = []
    for k, i in enumerate(nodes):
        lon, lat = (net.graph.nodes[int(net.node_ids[i])][c] for c in ("lon", "lat"))
        for _ in range(int(rng.integers(1, 4))):
            cat = str(rng.choice(mix.index.to_numpy(), p=mix.to_numpy()))
            period = pd.Period(MONTHS[int(rng.integers(0, len(MONTHS)))], freq="M")
            day = period.start_time + pd.Timedelta(days=int(rng.integers(0, period.days_in_month)))
            w = hour_of_week_weights(cat)
            hours = np.arange(day.day_of_week * 24, day.day_of_week * 24 + 24)
            h = int(rng.choice(hours, p=w[hours] / w[hours].sum())) % 24
            t = day + pd.Timedelta(hours=h, minutes=int(rng.integers(0, 60)))
            rows.append({"id": f"SCALE-{len(rows):05d}", "category": cat, "occurred_at": t.strftime("%Y-%m-%d %H:%M"),
                         "lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "location": f"SYNTHETIC place {k + 1}"})
    return pd.DataFrame(rows)


def main() -> int:
    rng = np.random.default_rng(SEED)
    real = pd.read_csv(TIMED, dtype=str)
    net = nw.build_network(OSM, mode="drive", crs=CRS)
    rx, ry = to_xy(pd.to_numeric(real["lon"]).to_numpy(), pd.to_numeric(real["lat"]).to_numpy(), CRS)
    nodes = pick_nodes(net, np.column_stack([rx, ry]), rng)
    out = pd.concat([real, synthetic_rows(net, nodes, real, rng)], ignore_index=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(OUT, index=False, lineterminator="\n")
    print(f"{len(real)} timed-sample rows + {len(out) - len(real)} invented rows at {len(nodes)} places -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

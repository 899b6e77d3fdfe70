"""Dosage from simulated GPS tracks with known answers, through spots built from real Leicestershire hot streets."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from shapely.geometry import box, mapping

from patrol_planner.geo import BNG, to_lonlat, to_xy
from patrol_planner.programme import write_programme

DATA = Path(__file__).resolve().parents[1] / "data" / "policeuk-leicestershire-2022"
CELL_M = 150.0


def hot_cells(n_spots: int, *, min_apart_m: float = 400.0) -> list[tuple[float, float]]:
    """Lower-left corners [m, BNG] of the ``n_spots`` 150 m cells with most crimes in the bundled
    Leicestershire police.uk data, at least ``min_apart_m`` apart (real hot streets, well separated)."""
    frames = [pd.read_csv(p, usecols=["Longitude", "Latitude"]).dropna() for p in sorted(DATA.glob("*.csv"))]
    pts = pd.concat(frames)
    x, y = to_xy(pts["Longitude"].to_numpy(), pts["Latitude"].to_numpy(), BNG)
    cells = pd.Series(list(zip(np.floor(x / CELL_M), np.floor(y / CELL_M), strict=True))).value_counts()
    chosen: list[tuple[float, float]] = []
    for (cx, cy), _count in cells.items():
        x0, y0 = cx * CELL_M, cy * CELL_M
        if all(np.hypot(x0 - a, y0 - b) >= min_apart_m for a, b in chosen):
            chosen.append((x0, y0))
        if len(chosen) == n_spots:
            break
    return chosen


def spots_geojson(corners: list[tuple[float, float]]) -> dict:
    """150 m square spots (EPSG:4326 polygons) with ids S01, S02..."""
    feats = []
    for i, (x0, y0) in enumerate(corners):
        ring = np.asarray(box(x0, y0, x0 + CELL_M, y0 + CELL_M).exterior.coords)
        lon, lat = to_lonlat(ring[:, 0], ring[:, 1], BNG)
        geom = mapping(box(0, 0, 1, 1))
        geom = {"type": "Polygon", "coordinates": [[[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]]}
        feats.append({"type": "Feature", "geometry": geom, "properties": {"spot_id": f"S{i + 1:02d}",
                                                                          "place": f"cell {i + 1}"}})
    return {"type": "FeatureCollection", "features": feats}


def real_programme(folder: str | Path, *, days: int = 4, n_spots: int = 6, seed: int = 0,
                   start: str = "2025-03-28", minutes: int = 15) -> Path:
    """A programme folder over real Leicester hot cells: each day a random half of the spots is treated."""
    rng = np.random.default_rng(seed)
    corners = hot_cells(n_spots)
    design = {"start_date": start, "days": days, "timezone": "Europe/London", "day_starts_at": "06:00",
              "patrol_window": {"start": "15:00", "end": "00:00"}, "spot_size_m": CELL_M,
              "dose": {"visits": 1, "minutes": minutes}, "seed": seed}
    rows = []
    d0 = date.fromisoformat(start)
    for i in range(days):
        treated = set(rng.choice(n_spots, size=n_spots // 2, replace=False).tolist())
        for k in range(n_spots):
            t = int(k in treated)
            rows.append({"date": d0 + timedelta(days=i), "spot_id": f"S{k + 1:02d}", "treated": t,
                         "p_treated": 0.5, "visits": t, "minutes": minutes * t})
    return write_programme(folder, design=design, schedule=pd.DataFrame(rows), spots_geojson=spots_geojson(corners))

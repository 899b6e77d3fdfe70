"""Write the bundled SYNTHETIC timed crime sample for Rutland (data/crimes-rutland-synthetic-times/).

police.uk records carry only a month, so the bundled data cannot shape an hour-of-week profile. This
script keeps the real positions, categories and months of the police.uk rows inside the Rutland box
(Leicestershire Police, July-August 2022, OGL v3.0) and gives each an invented time of occurrence: a day
drawn uniformly within its month, and an hour of the week drawn from a category's shape (night-time
violence and disorder peaking on Friday and Saturday nights, daytime shoplifting and burglary, overnight
vehicle crime). The shapes are illustrative, not measured. Seeded: rerunning writes the same file.

    python benchmarks/make_timed_sample.py            # rewrites crimes.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SRC = sorted((ROOT / "data" / "policeuk-leicestershire-2022").glob("*-street.csv"))
OUT = ROOT / "data" / "crimes-rutland-synthetic-times" / "crimes.csv"
BBOX = (-0.8229, 52.5236, -0.4277, 52.7611)  # the Rutland OSM extract, as in scenarios/rutland-night.toml
SEED = 20220902

NIGHT = {"Violence and sexual offences", "Public order", "Anti-social behaviour", "Criminal damage and arson",
         "Drugs", "Possession of weapons", "Theft from the person"}
DAY = {"Shoplifting", "Burglary", "Bicycle theft", "Other theft"}


def hour_of_week_weights(category: str) -> np.ndarray:
    """Relative chance of each hour of the week (Monday 00:00 = 0) for a category [-]."""
    hour = np.arange(168) % 24
    dow = np.arange(168) // 24
    if category in NIGHT:  # evenings and small hours, most on Friday and Saturday nights
        w = np.where((hour >= 20) | (hour < 3), 4.0, np.where((hour >= 15) | (hour < 6), 1.5, 0.5))
        late_weekend = ((dow == 4) | (dow == 5)) & (hour >= 20) | ((dow == 5) | (dow == 6)) & (hour < 4)
        return w * np.where(late_weekend, 2.5, 1.0)
    if category in DAY:  # shop and working hours
        return np.where((hour >= 9) & (hour < 18), 3.0, np.where((hour >= 7) & (hour < 21), 1.0, 0.2))
    if category == "Vehicle crime":  # overnight
        return np.where((hour >= 22) | (hour < 6), 3.0, 0.7)
    return np.ones(168)


def main() -> int:
    rng = np.random.default_rng(SEED)
    frames = [pd.read_csv(p, dtype=str) for p in SRC]
    df = pd.concat(frames, ignore_index=True)
    lon, lat = pd.to_numeric(df["Longitude"]), pd.to_numeric(df["Latitude"])
    df = df[(lon >= BBOX[0]) & (lon <= BBOX[2]) & (lat >= BBOX[1]) & (lat <= BBOX[3])].reset_index(drop=True)
    times = []
    for month, cat in zip(df["Month"], df["Crime type"], strict=True):
        period = pd.Period(month, freq="M")
        w = hour_of_week_weights(cat)
        # a day of the month, then an hour from that weekday's part of the category's shape
        day = period.start_time + pd.Timedelta(days=int(rng.integers(0, period.days_in_month)))
        hours = np.arange(day.day_of_week * 24, day.day_of_week * 24 + 24)
        h = int(rng.choice(hours, p=w[hours] / w[hours].sum())) % 24
        times.append(day + pd.Timedelta(hours=h, minutes=int(rng.integers(0, 60))))
    out = pd.DataFrame({
        "id": [f"SYN-{i:05d}" for i in range(len(df))],
        "category": df["Crime type"],
        "occurred_at": [t.strftime("%Y-%m-%d %H:%M") for t in times],
        "lon": df["Longitude"], "lat": df["Latitude"],
        "location": df["Location"],
    })
    OUT.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(OUT, index=False, lineterminator="\n")
    print(f"{len(out)} rows -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Blocked vs simple randomisation of a hot-spot programme, and the power calculation against simulation.

Usage: python benchmarks/programme.py [--draws N]

For the Southend shape (20 spots, 8 a day, 90 days) and a Bedfordshire-like one (21 spots, 7 a day), it
draws N schedules with the blocked design of :mod:`patrol_planner.programme.randomise` and N with the
simple alternative (each day 8 spots drawn at random, independently of other days), and prints, side by
side: the spread of treated days between spots (max - min), the longest run of control days at a spot, and
the share of spots whose treated days in any 10-day window stray more than 2 from the expected count. Then
it compares the reported MDE with simulated power at that effect for Essex-like and Rutland-like rates.
The last line is JSON.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from patrol_planner.programme import randomise as rz
from patrol_planner.programme.power import minimum_detectable_effect, simulated_power


def _simple(n: int, k: int, days: int, rng: np.random.Generator) -> np.ndarray:
    s = np.zeros((days, n), dtype=np.int8)
    for d in range(days):
        s[d, rng.choice(n, size=k, replace=False)] = 1
    return s


def _stats(s: np.ndarray, k: int) -> dict[str, float]:
    n = s.shape[1]
    per = s.sum(axis=0)
    gap = max(rz.max_run(s[:, j], 0) for j in range(n))
    win = np.lib.stride_tricks.sliding_window_view(s, 10, axis=0).sum(axis=-1)  # (days-9, n)
    stray = float(np.mean(np.abs(win - 10 * k / n).max(axis=0) > 2))
    return {"spread": float(per.max() - per.min()), "longest_control_run": float(gap), "stray_share": stray}


def main(argv: list[str]) -> dict:
    draws = int(argv[argv.index("--draws") + 1]) if "--draws" in argv else 300
    out: dict = {"draws": draws}
    for name, n, k in (("southend_20x8", 20, 8), ("rowan_21x7", 21, 7)):
        res = {}
        for design in ("blocked", "simple"):
            t = time.perf_counter()
            rows = []
            for i in range(draws):
                rng = np.random.default_rng(i)
                s = (rz.draw_equal(n, k, 90, rz.default_block_days(n, k, 90), rng) if design == "blocked"
                     else _simple(n, k, 90, rng))
                rows.append(_stats(s, k))
            res[design] = {key: round(float(np.mean([r[key] for r in rows])), 3) for key in rows[0]}
            res[design]["ms_per_draw"] = round(1000 * (time.perf_counter() - t) / draws, 2)
        out[name] = res
        print(f"{name}: {'':8s} {'spread':>8s} {'ctrl run':>9s} {'stray':>7s} {'ms':>6s}")
        for design, r in res.items():
            print(f"  {design:14s} {r['spread']:8.2f} {r['longest_control_run']:9.2f} {r['stray_share']:7.3f} "
                  f"{r['ms_per_draw']:6.2f}")
    essex = np.array([1.84, 2.53, 1.16, 1.61, 1.42, 2.06, 1.13, 0.85, 0.97, 0.92, 0.9, 0.96, 0.74, 1.99, 0.89,
                      0.65, 0.89, 0.89, 0.5, 0.67])
    rutland = np.array([0.24, 0.13, 0.097, 0.081, 0.13, 0.145, 0.097, 0.065, 0.065, 0.097])
    for name, rates in (("essex_rates", essex), ("rutland_rates", rutland)):
        t, c = np.full(len(rates), 36), np.full(len(rates), 54)
        mde = minimum_detectable_effect(rates, t, c)["mde_rate_ratio"]
        sim = simulated_power(rates, t, c, mde, sims=20000, rng=np.random.default_rng(0))
        size = simulated_power(rates, t, c, 1.0, sims=20000, rng=np.random.default_rng(1))
        out[name] = {"mde_rate_ratio": mde, "simulated_power_at_mde": round(sim, 4), "simulated_size": round(size, 4)}
        print(f"{name}: MDE rate ratio {mde}, simulated power there {sim:.3f} (target 0.800), size {size:.3f}")
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), sort_keys=True))

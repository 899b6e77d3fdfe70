"""The faster insertion scoring of routing/construct.py gives the same scores and slots as the plain
formula on every (piece, slot) pair, and the best slot per route is the first maximum (as ``argmax``)."""

from __future__ import annotations

import numpy as np
import pytest

from patrol_planner.routing import PatrolProblem, SolveParams
from patrol_planner.routing import construct as c
from patrol_planner.routing.problem import COVER_TOL_S

H = 3600.0
NIGHT = 22 * H


def tasking_night(seed: int) -> PatrolProblem:
    """Repeat visits, hourly prize windows, breaks, a foot unit with a radius, sectors (allowed units), a task
    with a window, a blocked period, a cover rule and a re-plan bonus: every branch of the scoring."""
    rng = np.random.default_rng(seed)
    n = 30
    xy = rng.uniform(0, 12000, (n + 3, 2))
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2))
    p = PatrolProblem(travel_time_s={"drive": d / 12.0, "walk": d / 1.4}, distance_m={"drive": d, "walk": d})
    a, b = p.add_station(0, name="A"), p.add_station(1, name="B")
    for i in range(3, n + 3):
        wins = [(NIGHT + h * H, NIGHT + (h + 1) * H, float(rng.uniform(0.5, 2.0))) for h in range(8)]
        p.add_site(i, site_id=f"s{i}", prize=float(rng.uniform(1, 100)), dwell_s=900, max_visits=2,
                   min_gap_s=2 * H, repeat_factor=0.6, prize_windows=wins,
                   allowed_units=["U0", "U1"] if i % 3 == 0 else None,
                   blocked_s=[(NIGHT + 2 * H, NIGHT + 3 * H)] if i % 7 == 0 else ())
    p.add_site(2, site_id="task", prize=0.0, dwell_s=600, required=True,
               time_window_s=(NIGHT + H, NIGHT + 3 * H))
    for k in range(4):
        p.add_unit(unit_id=f"U{k}", start=a if k % 2 == 0 else b, end=a, shift_start_s=NIGHT,
                   shift_end_s=NIGHT + 8 * H, earliest_leave_s=NIGHT + 1200, break_s=1800,
                   break_window_s=(NIGHT + 3 * H, NIGHT + 6 * H))
    p.add_unit(unit_id="F1", mode="walk", start=a, shift_start_s=NIGHT, shift_end_s=NIGHT + 8 * H,
               max_radius_m=3000)
    p.add_cover(name="centre", locations=[0], within_s=float(np.sort(d[0])[n // 2] / 12.0), min_units=1,
                unit_ids=["U0"])
    p.add_keep("s4", "U1", bonus=3.0)
    return p


def dense_scores(plan: c._Plan, T: np.ndarray, a: dict[str, np.ndarray], pc: dict[str, np.ndarray],
                 noise: np.ndarray | None, unit_col: np.ndarray) -> np.ndarray:
    """The scoring formula on every (piece, slot) pair, without the cheap pre-test (the reference)."""
    A = T.T[np.ix_(pc["loc"], a["phys"])]
    B = T[np.ix_(pc["loc"], a["nxt"])]
    arr = a["dep"][None, :] + A
    start = np.maximum(arr, pc["lo"][:, None])
    ok = start <= pc["hi"][:, None]
    w = np.maximum(start + pc["dwell"][:, None], a["pre_b0"][None, :])
    ok &= w <= a["brk_hi"][None, :]
    arr2 = w + a["brk_b"][None, :] + B
    ok &= np.maximum(arr2, a["lo_nxt"][None, :]) <= a["l_nxt"][None, :]
    ok &= plan.elig[pc["site"][:, None], unit_col[None, :]]
    need = plan.need[unit_col]
    ok &= A + need[:, pc["loc"]].T <= COVER_TOL_S
    ok &= B + need[np.arange(len(unit_col)), a["nxt"]][None, :] <= COVER_TOL_S
    used = A + B - a["base"][None, :] + pc["dwell"][:, None] + (start - arr)
    gain = pc["gain"][:, None] + plan.keep[pc["site"][:, None], unit_col[None, :]]
    score = gain / (np.maximum(used, 0.0) + plan.floor_s)
    if noise is not None:
        score = score * noise[:, None]
    return np.where(ok, score, -np.inf)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pre_tested_scores_equal_the_plain_formula(seed: int) -> None:
    """On plans met during a search (after the construction and after ruins), with noise, every score is
    the plain formula's, bit for bit, and -inf exactly where it is; the search's plans are valid."""
    p = tasking_night(seed)
    plan = c._Plan(p, SolveParams())
    c._fill(plan, None, None)
    rng = np.random.default_rng(seed)
    checked = fits = 0
    for _ in range(6):
        c._ruin(plan, rng)  # a ruined plan has room: many pieces fit somewhere, many do not
        visits = plan.site_visits()
        pc = c._as_arrays([row for s in p.sites for row in plan.site_pieces(s, visits.get(s.index, []))])
        noise = rng.uniform(0.75, 1.25, len(pc["site"]))
        for mode in ("drive", "walk"):
            rs = [r for r in plan.routes if r.unit.mode == mode]
            f = np.concatenate([r.arrays["f"] for r in rs], axis=1)
            i = np.concatenate([r.arrays["i"] for r in rs], axis=1)
            a = dict(zip(c.SLOT_FLOATS, f, strict=True)) | dict(zip(c.SLOT_INTS, i, strict=True))
            unit_col = np.repeat([r.unit.index for r in rs], [r.arrays["f"].shape[1] for r in rs])
            T = p.travel_time_s[mode]
            got = plan._scores(T, {"f": f, "i": i}, pc, noise, unit_col)
            want = dense_scores(plan, T, a, pc, noise, unit_col)
            np.testing.assert_array_equal(got, want)
            checked += got.size
            fits += int(np.isfinite(got).sum())
        c._fill(plan, rng, None)
    assert fits > 0 and fits < checked  # both kinds of pair were compared


def test_best_slot_per_route_is_the_first_maximum() -> None:
    """Blocks of columns with ties and rows without any fit: the best score and the first slot holding it,
    as a loop of ``argmax`` gives, for one, two and many routes."""
    rng = np.random.default_rng(3)
    for sizes in ([4], [3, 5], [1, 6, 2, 4, 3]):
        score = rng.integers(0, 4, (9, sum(sizes))).astype(float)
        score[score == 0] = -np.inf
        score[2] = -np.inf  # a piece that fits nowhere
        best, slot = c._best_per_route(score, sizes)
        off = 0
        for col, size in enumerate(sizes):
            block = score[:, off:off + size]
            np.testing.assert_array_equal(slot[:, col], np.argmax(block, axis=1))
            np.testing.assert_array_equal(best[:, col], block.max(axis=1))
            off += size

"""Designing the Rutland programme on the bundled data: spots apart, schedule as designed, power reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from patrol_planner.errors import ProgrammeError
from patrol_planner.programme import randomise as rz
from patrol_planner.programme.design import design_programme
from patrol_planner.programme.params import load_programme_scenario, programme_params_from_dict
from patrol_planner.programme.spots import cell_distance

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "rutland-programme.toml"


@pytest.fixture(scope="module")
def loaded():
    return load_programme_scenario(SCENARIO)


@pytest.fixture(scope="module")
def rutland(loaded):
    s, p = loaded
    return design_programme(s, p, scenario_file=SCENARIO)


def _with(loaded, **change):
    s, p = loaded
    return s, programme_params_from_dict({**p.model_dump(), **change})


def test_no_two_spots_touch(rutland):
    """Chosen cells are more than one cell apart (diagonal neighbours count as touching)."""
    ix, iy = [], []
    for cid in rutland.spots["cell_id"]:
        a, b = cid.rsplit("-", 2)[1:]
        ix.append(int(a))
        iy.append(int(b))
    ix, iy = np.array(ix), np.array(iy)
    for i in range(len(ix)):
        d = cell_distance("square", np.delete(ix, i), np.delete(iy, i), ix[i], iy[i])
        assert d.min() >= 2


def test_schedule_matches_the_design(rutland):
    """Exactly 4 of 10 treated each day, every spot 36 of 90 days, p = 0.4, dose 1 x 15 min on treated days."""
    sch = rutland.schedule
    assert len(sch) == 900
    assert (sch.groupby("date")["treated"].sum() == 4).all()
    assert (sch.groupby("spot_id")["treated"].sum() == 36).all()
    assert np.allclose(sch["p_treated"], 0.4)
    assert (sch["minutes"] == 15 * sch["treated"]).all() and (sch["visits"] == sch["treated"]).all()
    for _, g in sch.groupby("spot_id"):
        assert rz.max_run(g["treated"].to_numpy(), 0) <= 7  # max_consecutive_control = 7


def test_power_and_places_are_reported(rutland):
    """The design reports an MDE below 1 with its method, each spot's history rate and a public place name."""
    assert 0 < rutland.power["mde_rate_ratio"] < 1
    assert "score test" in rutland.power["method"]
    assert (rutland.spots["rate_per_day"] > 0).all()
    assert rutland.spots["place"].str.startswith("On or near").all()
    summ = rutland.summary()
    assert summ["treated_spot_days"] + summ["control_spot_days"] == 900
    assert summ["mde_at_80_power"] == rutland.power["mde_rate_ratio"]


@pytest.mark.slow
def test_harm_design_respects_floor_and_cap(loaded):
    """The harm-weighted design keeps every spot's probability in [floor, cap] and realises it."""
    s, p = _with(loaded, randomisation="harm", p_floor=0.2, p_cap=0.7, max_consecutive_control=None)
    d = design_programme(s, p)
    pt = d.spots["p_target"].to_numpy()
    assert pt.min() >= 0.2 - 1e-9 and pt.max() <= 0.7 + 1e-9 and pt.sum() == pytest.approx(4.0)
    assert (np.diff(pt) <= 1e-9).all()  # spots are in rank order, probabilities fall with harm
    assert (d.spots["treated_days"].to_numpy() == np.floor(pt * 90 + 0.5)).all()


@pytest.mark.slow
def test_listed_spots_that_touch_are_refused(loaded, rutland):
    """Spots listed by the user must not touch either; listing cells far apart works."""
    a = rutland.spots["cell_id"].iloc[0]
    head, x, y = a.rsplit("-", 2)
    neighbour = f"{head}-{int(x) + 1}-{int(y) + 1}"
    s, p = _with(loaded, spot_ids=[a, neighbour, rutland.spots["cell_id"].iloc[1]], treated_per_day=1,
                 max_consecutive_control=None)
    with pytest.raises(ProgrammeError, match="within 1 cell"):
        design_programme(s, p)
    s, p = _with(loaded, spot_ids=list(rutland.spots["cell_id"].iloc[:3]), treated_per_day=1,
                 max_consecutive_control=None)
    assert list(design_programme(s, p).spots["cell_id"]) == list(rutland.spots["cell_id"].iloc[:3])


@pytest.mark.slow
def test_too_many_spots_is_a_clear_error(loaded):
    """Asking for more separated spots than the history holds is a ProgrammeError, not a short programme."""
    s, p = _with(loaded, spots=400, treated_per_day=100)
    with pytest.raises(ProgrammeError, match="spots were asked for"):
        design_programme(s, p)


def test_separated_choice_on_square_and_hex_grids():
    """Greedy choice in rank order skips every cell touching a chosen one, on square and hexagonal grids."""
    import pandas as pd

    from patrol_planner.programme.spots import choose_separated, touching_pairs

    xs, ys = np.meshgrid(np.arange(12), np.arange(12))
    rng = np.random.default_rng(4)
    for kind, offsets in (("square", [(1, 1), (-1, 1), (1, 0)]), ("hex", [(1, -1), (0, 1), (-1, 0)])):
        cells = pd.DataFrame({"ix": xs.ravel(), "iy": ys.ravel(), "score": rng.random(144) + 0.1})
        cells["cell_id"] = [f"c{a}_{b}" for a, b in zip(cells["ix"], cells["iy"], strict=True)]
        cells = cells.sort_values("score", ascending=False).reset_index(drop=True)
        cells["rank"] = np.arange(1, 145)
        cells.attrs["grid"] = kind
        chosen = choose_separated(cells, 10, separation_cells=1)
        assert len(chosen) == 10 and chosen["rank"].iloc[0] == 1
        assert touching_pairs(chosen, separation_cells=1) == []
        # the neighbour offsets of this grid kind are at distance 1
        for dx, dy in offsets:
            assert cell_distance(kind, np.array([dx]), np.array([dy]), 0, 0)[0] == 1
    assert cell_distance("hex", np.array([1]), np.array([1]), 0, 0)[0] == 2  # not a hex neighbour

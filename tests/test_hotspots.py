"""HotspotModel, harm tables, grid, selection, GeoJSON, backtest and CLI on the bundled real data.

Uses ``data/policeuk-leicestershire-2022`` (police.uk, Jul-Aug 2022) and the synthetic Rutland
intelligence file (clearly fictional, timestamped, with handling codes); small crafted tables only where
a test needs a shape it controls.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from patrol_planner.errors import HotspotError, NotFittedError
from patrol_planner.hotspots import (
    CCHI,
    ONS_CSS,
    Grid,
    HarmWeights,
    HotspotModel,
    backtest,
    cells_to_geojson,
    select_hotspots,
)
from patrol_planner.hotspots.backtest import StudyArea, evaluate_ranking, make_folds
from patrol_planner.hotspots.harm import target_harm_weights
from patrol_planner.hotspots.model import AGE_COLUMNS, CATEGORY_COLUMNS
from patrol_planner.hotspots.recency import mean_decay
from patrol_planner.incidents import ingest
from patrol_planner.incidents.schema import COLUMNS, DTYPES, POLICE_UK_CATEGORIES

REPO = Path(__file__).resolve().parents[1]
LEIC = REPO / "data" / "policeuk-leicestershire-2022"
INTEL = REPO / "data" / "intel-rutland-synthetic" / "intel.csv"


@pytest.fixture(scope="module")
def leic() -> pd.DataFrame:
    """Both Leicestershire months, ingested."""
    return ingest(sorted(LEIC.glob("*.csv"))).incidents


@pytest.fixture(scope="module")
def with_intel() -> pd.DataFrame:
    """Leicestershire crimes plus the synthetic Rutland intelligence."""
    return ingest([*sorted(LEIC.glob("*.csv")), INTEL]).incidents


def crafted(rows: list[dict], crs: str = "EPSG:27700") -> pd.DataFrame:
    """A small canonical table from partial rows (police.uk month defaults)."""
    base = {
        "source_kind": "police_uk_street", "category": "Burglary", "occurred_from": pd.Timestamp("2022-07-01"),
        "occurred_to": pd.Timestamp("2022-08-01"), "time_known": False, "lon": 0.0, "lat": 0.0,
        "confidence": 1.0, "handling_code": pd.NA, "disseminate": True, "location": pd.NA,
        "source_file": "crafted", "source_line": 0,
    }
    recs = [{**base, "incident_id": f"c{i}", "source_line": i + 2, **r} for i, r in enumerate(rows)]
    df = pd.DataFrame(recs)[list(COLUMNS)].astype(DTYPES)
    df.attrs["crs"] = crs
    return df


# -- harm ------------------------------------------------------------------------------------------------
def test_harm_tables_cover_every_category_and_rank_violence_above_theft() -> None:
    """Both tables give all 14 types a finite weight; severe types outrank volume property crime."""
    for t in (CCHI, ONS_CSS):
        assert set(t.weights) == set(POLICE_UK_CATEGORIES)
        assert t["Anti-social behaviour"] == 0.0
        assert t["Robbery"] > t["Violence and sexual offences"] > t["Criminal damage and arson"] > t["Shoplifting"]
    assert 150 < CCHI["Violence and sexual offences"] < 300  # stated mix, see docs


def test_harm_override_and_bad_weights() -> None:
    """Users can override any weight; unknown categories and negative weights are refused clearly."""
    w = CCHI.replace({"Shoplifting": 5.0})
    assert w["Shoplifting"] == 5.0 and w["Robbery"] == CCHI["Robbery"]
    with pytest.raises(HotspotError, match="unknown categories"):
        HarmWeights({"Jaywalking": 1.0})
    with pytest.raises(HotspotError, match=">= 0"):
        HarmWeights({"Robbery": -1.0})
    with pytest.raises(HotspotError, match="unknown harm table"):
        HotspotModel(harm="nope").fit(crafted([{"x_m": 1.0, "y_m": 1.0}]))


def test_target_harm_excludes_asb_and_enforcement() -> None:
    """The backtest yardstick is CCHI victim harm: ASB, drugs and weapons weigh nothing."""
    tw = target_harm_weights()
    for c in ("Anti-social behaviour", "Drugs", "Possession of weapons"):
        assert tw[POLICE_UK_CATEGORIES.index(c)] == 0.0
    assert tw[POLICE_UK_CATEGORIES.index("Robbery")] == 365.0


# -- decay -----------------------------------------------------------------------------------------------
def test_mean_decay_matches_numeric_integral() -> None:
    """The closed form equals the numerical mean of the decay over the clipped interval."""
    t = np.linspace(0.0, 31.0, 100_001)
    for hl in (7.0, 30.0, 365.0):
        numeric = np.mean(2.0 ** (-(40.0 - t) / hl))
        assert mean_decay(np.array([0.0]), np.array([31.0]), 40.0, hl)[0] == pytest.approx(numeric, rel=1e-4)
    # a point record and no decay
    assert mean_decay(np.array([10.0]), np.array([10.0]), 40.0, 30.0)[0] == pytest.approx(2 ** -1)
    assert mean_decay(np.array([0.0]), np.array([31.0]), 40.0, math.inf)[0] == 1.0
    # the interval is clipped at as_of: a month still running counts only its elapsed part
    assert mean_decay(np.array([0.0]), np.array([31.0]), 10.0, 30.0)[0] == pytest.approx(
        np.mean(2.0 ** (-(10.0 - np.linspace(0, 10, 100_001)) / 30.0)), rel=1e-4)


@settings(max_examples=50, deadline=None)
@given(st.floats(0, 1e4), st.floats(0, 400), st.floats(0.5, 1e4))
def test_mean_decay_bounded(t0: float, width: float, hl: float) -> None:
    """Decay means stay in (0, 1] and fall with age."""
    a = mean_decay(np.array([t0]), np.array([t0 + width]), t0 + width + 1.0, hl)[0]
    b = mean_decay(np.array([t0]), np.array([t0 + width]), t0 + width + 50.0, hl)[0]
    assert 0.0 <= b <= a <= 1.0


# -- grid ------------------------------------------------------------------------------------------------
def test_grid_is_anchored_to_crs_origin_not_data() -> None:
    """Adding a far-away point never moves a cell: same ids for the same points."""
    near = crafted([{"x_m": 460_050.0, "y_m": 305_050.0}, {"x_m": 460_260.0, "y_m": 305_010.0}])
    far = crafted([{"x_m": 460_050.0, "y_m": 305_050.0}, {"x_m": 460_260.0, "y_m": 305_010.0},
                   {"x_m": 100.0, "y_m": 900_000.0}])
    a = HotspotModel(cell_size_m=100).fit(near).score("2022-09-01")
    b = HotspotModel(cell_size_m=100).fit(far).score("2022-09-01")
    assert set(a.cell_id) <= set(b.cell_id)
    assert "E27700-S100-4600-3050" in set(a.cell_id)
    row = a.set_index("cell_id").loc["E27700-S100-4600-3050"]
    assert (row.x_m, row.y_m) == (460_050.0, 305_050.0)


@settings(max_examples=40, deadline=None)
@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.sampled_from(["square", "hex"]))
def test_points_fall_in_their_cell(x: float, y: float, kind: str) -> None:
    """A point is within the cell's circumradius of its centre, and ids round-trip."""
    g = Grid(cell_size_m=150.0, kind=kind)
    ix, iy = g.index(np.array([x]), np.array([y]))
    cx, cy = g.centre(ix, iy)
    reach = 150.0 / math.sqrt(2) if kind == "square" else g.hex_side_m
    assert math.hypot(x - cx[0], y - cy[0]) <= reach + 1e-6
    assert g.parse_id(str(g.cell_ids(ix, iy)[0])) == (int(ix[0]), int(iy[0]))


@pytest.mark.parametrize("size", [0, -5, 50, 10_000, float("nan")])
def test_bad_cell_size(size: float, leic: pd.DataFrame) -> None:
    """Zero, negative, finer-than-snap-point and absurd sizes get a clear message."""
    with pytest.raises(HotspotError, match="cell size"):
        HotspotModel(cell_size_m=size).fit(leic)


# -- model -----------------------------------------------------------------------------------------------
def test_score_columns_breakdowns_and_ranking(leic: pd.DataFrame) -> None:
    """One row per non-empty cell; breakdowns sum to the cell's own score; ranks follow scores."""
    m = HotspotModel().fit(leic)
    cells = m.score("2022-09-01")
    for c in ("cell_id", "ix", "iy", "x_m", "y_m", "lon", "lat", "score", "rank", "n_incidents"):
        assert c in cells.columns
    assert cells["cell_id"].is_unique
    assert cells["n_incidents"].sum() == len(leic)
    np.testing.assert_allclose(cells[list(CATEGORY_COLUMNS)].sum(axis=1), cells["score_own"], rtol=1e-9)
    np.testing.assert_allclose(cells[list(AGE_COLUMNS)].sum(axis=1), cells["score_own"], rtol=1e-9)
    assert (np.diff(cells["score"].to_numpy()) <= 0).all()
    assert cells["rank"].tolist() == list(range(1, len(cells) + 1))
    assert 52.3 < cells["lat"].median() < 52.9 and -1.6 < cells["lon"].median() < -0.6
    assert cells.attrs["crs"] == "EPSG:27700"


def test_only_records_before_as_of_count(leic: pd.DataFrame) -> None:
    """At 2022-08-01 only July counts; August records never leak into the score."""
    m = HotspotModel().fit(leic)
    cells = m.score("2022-08-01")
    n_july = int((leic["occurred_from"] < "2022-08-01").sum())
    assert cells["n_incidents"].sum() == n_july
    july_only = HotspotModel().fit(leic[leic["occurred_from"] < "2022-08-01"]).score("2022-08-01")
    pd.testing.assert_frame_equal(cells.drop(columns="top_incident_ids"), july_only.drop(columns="top_incident_ids"))


def test_deterministic_and_input_order_free(leic: pd.DataFrame) -> None:
    """Shuffling the input changes nothing."""
    a = HotspotModel().fit(leic).score("2022-09-01")
    b = HotspotModel().fit(leic.sample(frac=1.0, random_state=1)).score("2022-09-01")
    pd.testing.assert_frame_equal(a, b)


def test_weights_and_parameters_act_as_documented() -> None:
    """A robbery outweighs a shoplifting; ASB and enforcement weights are explicit; decay favours recent."""
    t = crafted([
        {"category": "Robbery", "x_m": 50.0 + 1000, "y_m": 50.0},
        {"category": "Shoplifting", "x_m": 50.0 + 2000, "y_m": 50.0},
        {"category": "Anti-social behaviour", "x_m": 50.0 + 3000, "y_m": 50.0},
        {"category": "Drugs", "x_m": 50.0 + 4000, "y_m": 50.0},
        {"category": "Robbery", "x_m": 50.0 + 5000, "y_m": 50.0, "occurred_from": pd.Timestamp("2021-07-01"),
         "occurred_to": pd.Timestamp("2021-08-01")},
    ])
    s = HotspotModel(asb_weight=0.0, enforcement_weight=0.0, volume_weight=0.0, smoothing=0.0,
                     half_life_days=30.0, ranker="weighted").fit(t).score("2022-08-01").set_index("ix")["score"]
    assert s[10] > s[20] > 0
    assert s.get(30, 0.0) == 0.0 and s.get(40, 0.0) == 0.0
    assert s[10] > 100 * s[50]  # a year-old robbery at a 30-day half-life is nearly forgotten
    s2 = HotspotModel(asb_weight=3.0, enforcement_weight=1.0, smoothing=0.0, half_life_days=math.inf,
                      volume_weight=0.0, ranker="weighted").fit(t).score("2022-08-01").set_index("ix")["score"]
    assert s2[30] == pytest.approx(3.0) and s2[40] == pytest.approx(CCHI["Drugs"])
    assert s2[10] == pytest.approx(s2[50])  # no decay


def test_smoothing_adds_neighbour_share() -> None:
    """With smoothing s a cell gains s x the mean of its 8 neighbours' own scores."""
    t = crafted([{"category": "Robbery", "x_m": 50.0, "y_m": 50.0}, {"category": "Robbery", "x_m": 150.0, "y_m": 50.0}])
    c = HotspotModel(smoothing=0.5, half_life_days=math.inf).fit(t).score("2022-08-01")
    own = c["score_own"].iloc[0]
    np.testing.assert_allclose(c["score"], own * (1 + 0.5 / 8))


def test_intelligence_confidence_and_restricted_ids(with_intel: pd.DataFrame) -> None:
    """Intelligence scores by confidence; restricted intelligence is counted but never identified."""
    m = HotspotModel().fit(with_intel)
    cells = m.score("2022-09-01")
    intel = with_intel[with_intel.source_kind == "intelligence"]
    restricted_ids = set(intel.loc[~intel.disseminate, "incident_id"])
    assert cells["n_intelligence"].sum() == len(intel)
    assert cells["n_restricted_intelligence"].sum() == len(restricted_ids)
    shown = {i for s in cells["top_incident_ids"] for i in s.split(",") if i}
    assert not shown & restricted_ids
    cid = cells.loc[cells["n_restricted_intelligence"] > 0, "cell_id"].iloc[0]
    ex = m.explain(cid)
    assert ex["n_restricted_intelligence"] >= 1
    assert not {t["incident_id"] for t in ex["top_incidents"]} & restricted_ids
    assert "text" not in json.dumps(ex)
    # confidence scales the weight: the same record at half confidence adds half
    one = intel.iloc[[0]].copy()
    one.attrs["crs"] = with_intel.attrs["crs"]
    half = one.assign(confidence=one["confidence"] / 2)
    half.attrs["crs"] = one.attrs["crs"]
    a = HotspotModel(smoothing=0).fit(one).score("2022-09-01")["score"].iloc[0]
    b = HotspotModel(smoothing=0).fit(half).score("2022-09-01")["score"].iloc[0]
    assert b == pytest.approx(a / 2)


def test_explain_matches_score(leic: pd.DataFrame) -> None:
    """explain() reproduces the cell's score, by category and age band, with its largest incidents."""
    m = HotspotModel().fit(leic)
    cells = m.score("2022-09-01")
    top = cells.iloc[0]
    ex = m.explain(top.cell_id)
    assert ex["score"] == pytest.approx(top.score)
    assert sum(ex["by_category"].values()) == pytest.approx(top.score_own)
    assert sum(ex["by_age_band"].values()) == pytest.approx(top.score_own)
    contrib = [t["contribution"] for t in ex["top_incidents"]]
    assert contrib == sorted(contrib, reverse=True) and len(contrib) >= 1
    assert set(top.top_incident_ids.split(",")) <= set(leic["incident_id"])
    with pytest.raises(HotspotError, match="not a cell"):
        m.explain("E27700-S150-1-1")


def test_hour_of_week_profile(leic: pd.DataFrame, with_intel: pd.DataFrame) -> None:
    """Flat for month-only data and for intelligence (its time is when it was reported); shaped only by
    event times, mean 1 per row, and the records that shaped it are counted by source kind."""
    m = HotspotModel().fit(leic)
    ids = m.score("2022-09-01")["cell_id"].head(3).tolist()
    np.testing.assert_array_equal(m.hour_of_week_profile(ids), np.ones((3, 168)))
    assert m.profile_is_flat_ and m.profile_sources_ == {}
    mi = HotspotModel().fit(with_intel)
    cells = mi.score("2022-09-01")
    ids = cells.loc[cells.n_intelligence > 0, "cell_id"].head(4).tolist()
    np.testing.assert_array_equal(mi.hour_of_week_profile(ids), np.ones((len(ids), 168)))
    assert mi.profile_is_flat_ and mi.profile_sources_ == {}
    assert cells.attrs["profile_is_flat"] is True
    # the same places with event times (calls at 22:00 on Fridays) plus intelligence at other hours
    events = crafted([{"source_kind": "generic", "occurred_from": pd.Timestamp(f"2022-07-{d:02d} 22:00"),
                       "occurred_to": pd.Timestamp(f"2022-07-{d:02d} 22:00"), "time_known": True,
                       "x_m": 500_050.0, "y_m": 300_050.0} for d in (1, 8, 15, 22, 29)]
                     + [{"source_kind": "intelligence", "occurred_from": pd.Timestamp(f"2022-07-{d:02d} 09:00"),
                         "occurred_to": pd.Timestamp(f"2022-07-{d:02d} 09:00"), "time_known": True,
                         "confidence": 0.5, "x_m": 500_050.0, "y_m": 300_050.0} for d in range(1, 20)])
    me = HotspotModel().fit(events)
    assert me.profile_sources_ == {"generic": 5} and not me.profile_is_flat_
    prof = me.hour_of_week_profile([me.score("2022-08-01")["cell_id"].iloc[0]])
    np.testing.assert_allclose(prof.mean(axis=1), 1.0)
    friday_22 = 4 * 24 + 22
    assert prof[0].argmax() == friday_22
    # intelligence hours (09:00) get no more than the flat share left by the pseudo-records
    assert prof[0, 4 * 24 + 9] == pytest.approx(prof[0, 2 * 24 + 9])


def test_police_generated_records_are_shown_and_never_victim_harm() -> None:
    """Searches never score (counted and set aside); drugs and weapons are no victim harm in the backtest's
    target; every cell and explanation says which share of its score came from police-generated records."""
    rows = [{"category": "Drugs", "x_m": 1050.0, "y_m": 50.0}, {"category": "Robbery", "x_m": 1050.0, "y_m": 50.0},
            {"category": "Stop and search", "x_m": 2050.0, "y_m": 50.0},
            {"category": "Possession of weapons", "x_m": 3050.0, "y_m": 50.0}]
    m = HotspotModel(enforcement_weight=1.0, volume_weight=0.0, smoothing=0.0, ranker="weighted").fit(crafted(rows))
    assert m.n_searches_set_aside_ == 1 and m.n_records_ == 3
    cells = m.score("2022-08-01").set_index("ix")
    assert 20 not in cells.index  # the search's cell holds nothing that scores
    assert cells.loc[10, "police_generated_share"] == pytest.approx(CCHI["Drugs"] / (CCHI["Drugs"] + CCHI["Robbery"]))
    assert cells.loc[30, "police_generated_share"] == pytest.approx(1.0)
    e = m.explain(cells.loc[10, "cell_id"])
    assert e["police_generated_share"] == pytest.approx(cells.loc[10, "police_generated_share"])
    tw = target_harm_weights()
    for c in ("Drugs", "Possession of weapons"):
        assert tw[POLICE_UK_CATEGORIES.index(c)] == 0.0
    with pytest.raises(HotspotError, match="only stop-and-search"):
        HotspotModel().fit(crafted([rows[2]]))


def test_bad_input_messages(leic: pd.DataFrame) -> None:
    """Unfitted use, as-of before all data, empty tables and wrong inputs give HotspotError."""
    with pytest.raises(NotFittedError):
        HotspotModel().score("2022-09-01")
    m = HotspotModel().fit(leic)
    with pytest.raises(HotspotError, match="before all data"):
        m.score("2020-01-01")
    with pytest.raises(HotspotError, match="not a date"):
        m.score("yesterday-ish")
    with pytest.raises(HotspotError, match="empty"):
        HotspotModel().fit(leic.iloc[:0])
    with pytest.raises(HotspotError, match="DataFrame"):
        HotspotModel().fit([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(HotspotError, match="half_life_days"):
        HotspotModel(half_life_days=0).fit(leic)
    with pytest.raises(HotspotError, match="unknown HotspotModel parameter"):
        HotspotModel().set_params(cell_size=3)


# -- selection and GeoJSON ----------------------------------------------------------------------------------
def touching_groups(sel: pd.DataFrame) -> set[frozenset[str]]:
    """Cell ids of ``sel`` joined through square cells that share an edge or a corner, by a plain search."""
    at = {(int(r.ix), int(r.iy)): r.cell_id for r in sel.itertuples()}
    seen: set[tuple[int, int]] = set()
    groups = set()
    for start in at:
        if start in seen:
            continue
        todo, members = [start], set()
        seen.add(start)
        while todo:
            x, y = todo.pop()
            members.add(at[(x, y)])
            for nb in ((x + dx, y + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)):
                if nb in at and nb not in seen:
                    seen.add(nb)
                    todo.append(nb)
        groups.add(frozenset(members))
    return groups


def test_select_top_budget_and_groups(leic: pd.DataFrame) -> None:
    """Top N, area budget and grouping of touching cells: the areas are exactly the groups of selected cells
    joined through touching neighbours (edge or corner), A001 holds the best cell, and the 60 best cells on
    Leicestershire make both joined and lone areas."""
    cells = HotspotModel().fit(leic).score("2022-09-01")
    assert select_hotspots(cells, top=20)["rank"].tolist() == list(range(1, 21))
    budget = select_hotspots(cells, area_budget=0.01)
    assert budget["area_m2"].sum() <= 0.01 * cells["area_m2"].sum() + 1e-6
    assert len(budget) == int(0.01 * len(cells))
    g = select_hotspots(cells, top=60, group_adjacent=True)
    assert g["hotspot_id"].iloc[0] == "A001"
    areas = {frozenset(grp["cell_id"]) for _, grp in g.groupby("hotspot_id")}
    assert areas == touching_groups(g)
    sizes = sorted(len(a) for a in areas)
    assert sizes[0] == 1 and sizes[-1] > 1
    assert (g.groupby("hotspot_id").size() == g.groupby("hotspot_id")["hotspot_n_cells"].first()).all()
    with pytest.raises(HotspotError):
        select_hotspots(cells)
    with pytest.raises(HotspotError):
        select_hotspots(cells, area_budget=2.0)


@pytest.mark.parametrize("kind", ["square", "hex"])
def test_geojson_polygons_contain_centres(leic: pd.DataFrame, kind: str) -> None:
    """EPSG:4326 polygons of the right area whose centres are the cells' lon/lat."""
    from shapely.geometry import Point, shape

    from patrol_planner.geo import to_xy

    cells = HotspotModel(grid=kind, cell_size_m=150).fit(leic).score("2022-09-01")
    fc = cells_to_geojson(select_hotspots(cells, top=10))
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 10
    json.dumps(fc)  # serialisable
    for f in fc["features"]:
        p = f["properties"]
        assert {"cell_id", "score", "rank", "score_violence_and_sexual_offences"} <= set(p)
        poly = shape(f["geometry"])
        assert poly.contains(Point(p["lon"], p["lat"]))
        ring = np.array(f["geometry"]["coordinates"][0])
        x, y = to_xy(ring[:, 0], ring[:, 1], "EPSG:27700")
        from shapely.geometry import Polygon

        assert Polygon(np.c_[x, y]).area == pytest.approx(150.0**2, rel=1e-3)


# -- backtest ---------------------------------------------------------------------------------------------
def test_backtest_on_leicestershire(leic: pd.DataFrame) -> None:
    """One fold (August), all methods, sane shares; the area budget is respected exactly."""
    res = backtest(leic, folds=4, budgets=(0.001, 0.01, 0.05))
    assert set(res.fold) == {"2022-08"}
    methods = set(res.method)
    assert {"model", "kde_100m", "promap_100m", "last_month_count_100m", "all_prior_harm_250m"} <= methods
    area = res[res.selection == "area"]
    np.testing.assert_allclose(area.area_share, area.budget, rtol=1e-6)
    assert area.harm_captured.between(0, 1).all() and area.hit_rate.between(0, 1).all()
    # more area never captures less
    for _, g in area.groupby("method"):
        assert g.sort_values("budget").harm_captured.is_monotonic_increasing
    # the model captures a meaningful share of August's harm in 5% of the area
    assert area[(area.method == "model") & (area.budget == 0.05)].harm_captured.iloc[0] > 0.25


def test_evaluate_ranking_counts_by_hand() -> None:
    """A crafted ranking: hits and harm in the chosen cells, the last cell pro rata."""
    t = crafted([
        {"category": "Robbery", "x_m": 50.0, "y_m": 50.0, "occurred_from": pd.Timestamp("2022-08-01"),
         "occurred_to": pd.Timestamp("2022-09-01")},
        {"category": "Shoplifting", "x_m": 150.0, "y_m": 50.0, "occurred_from": pd.Timestamp("2022-08-01"),
         "occurred_to": pd.Timestamp("2022-09-01")},
        {"category": "Burglary", "x_m": 450.0, "y_m": 450.0},
    ])
    fold = make_folds(t, 1)[0]
    study = StudyArea.from_points(t.x_m.to_numpy(), t.y_m.to_numpy())  # squares (0,0) and (1,1): 125,000 m²
    rows = evaluate_ranking(np.array([0, 1]), np.array([0, 0]), np.array([2.0, 1.0]), 100.0, fold, study,
                            budgets=(0.08, 0.12), top_ns=(1,))
    r = {(x["selection"], x["budget"]): x for x in rows}
    assert r[("area", 0.08)]["hit_rate"] == pytest.approx(0.5)
    assert r[("area", 0.08)]["harm_captured"] == pytest.approx(365.0 / 366.0)
    assert r[("area", 0.12)]["hit_rate"] == pytest.approx(0.5 + 0.5 * 0.5)  # half of the second cell
    assert r[("top", 1.0)]["n_cells"] == 1


def test_backtest_bad_input(leic: pd.DataFrame) -> None:
    """Too little data, bad folds and budgets give clear messages."""
    july = leic[leic.occurred_from < "2022-08-01"].copy()
    july.attrs = dict(leic.attrs)
    with pytest.raises(HotspotError, match="too little data"):
        backtest(july)
    with pytest.raises(HotspotError, match="first month"):
        backtest(leic, folds=["2022-07"])
    with pytest.raises(HotspotError, match="no records"):
        backtest(leic, folds=["2023-01"])
    with pytest.raises(HotspotError, match="budgets"):
        backtest(leic, budgets=(0.0,))


# -- CLI --------------------------------------------------------------------------------------------------
def test_cli_hotspots_and_backtest(tmp_path: Path) -> None:
    """Both commands run on the bundled files; errors are one line with the hotspot exit code."""
    from patrol_planner.cli import app

    runner = CliRunner()
    files = [str(p) for p in sorted(LEIC.glob("*.csv"))]
    out = tmp_path / "cells.geojson"
    r = runner.invoke(app, ["hotspots", *files, "--as-of", "2022-08-15", "--top", "25", "--out", str(out)])
    assert r.exit_code == 0, r.output
    fc = json.loads(out.read_text())
    assert len(fc["features"]) == 25 and fc["features"][0]["properties"]["rank"] == 1
    r = runner.invoke(app, ["backtest", *files, "--budget", "0.01", "0.05", "--json"])
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert {row["budget"] for row in obj["margin"]} == {0.01, 0.05}
    r = runner.invoke(app, ["hotspots", *files, "--as-of", "2019-01-01", "--out", str(out)])
    assert r.exit_code == 5 and "before all data" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["hotspots", *files, "--as-of", "2022-09-01", "--cell-size-m", "0", "--out", str(out)])
    assert r.exit_code == 5 and "cell size" in r.output
    r = runner.invoke(app, ["backtest", files[0]])
    assert r.exit_code == 5 and "too little data" in r.output


def test_stale_data_is_said_when_scoring(leic: pd.DataFrame) -> None:
    """Scoring months after the newest record warns and records the data's age; scoring right after the
    data (the usual nightly plan) does not warn."""
    import warnings

    from patrol_planner.errors import DataQualityWarning

    m = HotspotModel(ranker="weighted").fit(leic)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        fresh = m.score("2022-09-02")
    assert fresh.attrs["data_age_days"] == pytest.approx(1.0)
    with pytest.warns(DataQualityWarning, match=r"ends 365 days before .*data up to 2022-08-31"):
        old = m.score("2023-09-01")
    assert old.attrs["data_age_days"] == pytest.approx(365.0)


def test_budget_smaller_than_a_cell_is_not_scored(leic: pd.DataFrame) -> None:
    """A budget that holds less than one cell of the study area is dropped and recorded; when every budget
    is that small the backtest is refused with the smallest usable share."""
    res = backtest(leic, folds=1, budgets=(1e-7, 0.01), top_ns=(), baselines=False)
    assert res.attrs["budgets_dropped"] == [1e-7]
    assert sorted(res.budget.unique()) == [0.01]
    with pytest.raises(HotspotError, match="hold less than one 100 m cell; the smallest usable share here is"):
        backtest(leic, folds=1, budgets=(1e-7,), top_ns=(), baselines=False)

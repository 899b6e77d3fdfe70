"""Plan frames for analysts: stops, routes and hotspots as tables geopandas reads directly (EPSG:4326)."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from patrol_planner.plan import Plan
from patrol_planner.vocabulary import LEFT_OUT_REASONS, LeftOutReason, status_text


def test_stops_frame_has_a_row_per_stop_with_points(plan: Plan) -> None:
    """One row per stop in unit/seq order; the Point geometry is the stop's lon/lat; CRS EPSG:4326."""
    gpd = pytest.importorskip("geopandas")
    df = plan.stops_frame()
    assert isinstance(df, gpd.GeoDataFrame) and df.crs.to_epsg() == 4326
    assert len(df) == sum(len(u.stops) for u in plan.units) == 4
    assert list(df["seq"][df["unit_id"] == "Oakham 1"]) == [1, 2, 3]
    assert all(g.x == lon and g.y == lat for g, lon, lat in zip(df.geometry, df["lon"], df["lat"], strict=True))
    assert df["dwell_s"].tolist() == [1200.0, 1200.0, 900.0, 1800.0]
    assert df["arrive"].iloc[0].utcoffset() is not None


def test_routes_frame_lines_run_station_to_station(plan: Plan) -> None:
    """One LineString per unit from its start station to its end station; road_m matches the unit's."""
    df = plan.routes_frame()
    assert list(df["unit_id"]) == ["Oakham 1", "Uppingham 2"]
    for u, line, road_m in zip(plan.units, df.geometry, df["road_m"], strict=True):
        assert line.geom_type == "LineString"
        assert line.coords[0] == (u.start.lon, u.start.lat) and line.coords[-1] == (u.end.lon, u.end.lat)
        assert road_m == u.road_m


def test_hotspots_frame_polygons_and_statuses(plan: Plan) -> None:
    """A cell polygon per hotspot containing its centre; statuses are 'visited' or a left-out reason code."""
    df = plan.hotspots_frame()
    assert len(df) == 5 and all(df.geometry.geom_type == "Polygon")
    assert all(g.contains(g.centroid) and abs(g.centroid.x - lon) < 1e-9
               for g, lon in zip(df.geometry, df["lon"], strict=True))
    assert set(df["status"]) - {"visited"} <= set(LEFT_OUT_REASONS)


def test_frames_without_geopandas_are_pandas_with_crs(plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without geopandas the frames are plain pandas with shapely geometry and attrs['crs'] = EPSG:4326."""
    monkeypatch.setitem(sys.modules, "geopandas", None)  # import geopandas now raises ImportError
    for df in (plan.stops_frame(), plan.routes_frame(), plan.hotspots_frame()):
        assert type(df) is pd.DataFrame and df.attrs["crs"] == "EPSG:4326"
        assert "geometry" in df and df["geometry"].iloc[0].is_valid


def test_one_reason_vocabulary_with_one_text() -> None:
    """Routing, plan and briefing share one reason type; each code has exactly one non-empty text."""
    from patrol_planner.routing import UNVISITED_REASONS

    assert tuple(UNVISITED_REASONS) == LEFT_OUT_REASONS == tuple(r.value for r in LeftOutReason)
    texts = [status_text(r) for r in LEFT_OUT_REASONS]
    assert all(texts) and len(set(texts)) == len(texts)
    assert status_text("not_worth_it") == LeftOutReason.NOT_WORTH_IT.text

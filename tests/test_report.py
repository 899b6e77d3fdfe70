"""The report stage's files, read back the way a GIS user, a spreadsheet and an in-car device read them.

Uses the hand-made Rutland plan of ``conftest.py`` (synthetic, clearly labelled).
"""

from __future__ import annotations

import csv
import json
import math
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime
from itertools import pairwise

import pytest
from rich.console import Console
from shapely.geometry import Point, shape

from patrol_planner.errors import PatrolPlannerError
from patrol_planner.plan import Plan
from patrol_planner.report import (
    plan_summary_table,
    plan_to_geojson,
    schedule_frame,
    write_gpx,
    write_outputs,
)
from patrol_planner.report.page import json_for_script

GPX = "{http://www.topografix.com/GPX/1/1}"


def test_write_outputs_writes_every_file(plan: Plan, tmp_path) -> None:
    """One call writes plan.json, plan.geojson, schedule.csv, briefing.html and a GPX per unit."""
    paths = write_outputs(plan, tmp_path / "out")
    assert set(paths) == {"plan.json", "plan.geojson", "schedule.csv", "briefing.html",
                          "gpx/Oakham_1.gpx", "gpx/Uppingham_2.gpx"}
    for p in paths.values():
        assert p.is_file() and p.stat().st_size > 200, p
    assert Plan.from_json(paths["plan.json"]) == plan


def test_geojson_is_valid_rfc7946_with_flat_properties(plan: Plan, tmp_path) -> None:
    """Every geometry is valid, lon/lat ordered, polygons counter-clockwise, properties flat scalars."""
    path = write_outputs(plan, tmp_path)["plan.geojson"]
    fc = json.loads(path.read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection" and "crs" not in fc  # RFC 7946: WGS 84 implied
    kinds: dict[str, int] = {}
    for f in fc["features"]:
        g = shape(f["geometry"])
        assert g.is_valid and not g.is_empty
        minx, miny, maxx, maxy = g.bounds
        assert -0.8 < minx <= maxx < -0.6 and 52.5 < miny <= maxy < 52.7  # lon first, then lat
        assert all(v is None or isinstance(v, str | int | float | bool) for v in f["properties"].values())
        kinds[f["properties"]["kind"]] = kinds.get(f["properties"]["kind"], 0) + 1
    assert kinds == {"route": 2, "stop": 4, "station": 2, "hotspot": 5}
    rings = [shape(f["geometry"]).exterior for f in fc["features"] if f["geometry"]["type"] == "Polygon"]
    assert len(rings) == 5 and all(r.is_ccw for r in rings)  # RFC 7946: exterior rings counter-clockwise


def test_geojson_routes_follow_roads_through_each_stop(plan: Plan) -> None:
    """A route starts and ends at its station and contains every leg's road path, in order."""
    fc = plan_to_geojson(plan)
    route = next(f for f in fc["features"] if f["properties"]["kind"] == "route"
                 and f["properties"]["unit_id"] == "Oakham 1")
    coords = [tuple(c) for c in route["geometry"]["coordinates"]]
    oakham = (plan.units[0].start.lon, plan.units[0].start.lat)
    assert coords[0] == oakham and coords[-1] == oakham
    idx = [coords.index(p) for s in plan.units[0].stops for p in s.path_lonlat[1:2]]
    assert idx == sorted(idx)  # the road bends are met in visiting order
    assert route["properties"]["road_km"] == pytest.approx(plan.units[0].road_m / 1000)
    assert all(a != b for a, b in pairwise(coords))  # no zero-length segments
    hs = {f["properties"]["hotspot_id"]: f["properties"] for f in fc["features"]
          if f["properties"]["kind"] == "hotspot"}
    assert hs["H04"]["status"] == "no_time" and hs["H01"]["units"] == "Oakham 1"
    assert json.loads(hs["H01"]["breakdown_json"])["category"]["public-order"] == 0.25


def test_geojson_opens_in_geopandas(plan: Plan, tmp_path) -> None:
    """When geopandas is installed (not a dependency), it reads the file as is, EPSG:4326."""
    gpd = pytest.importorskip("geopandas", reason="geopandas not installed; validity is checked with shapely")
    gdf = gpd.read_file(write_outputs(plan, tmp_path)["plan.geojson"])
    assert gdf.crs.to_epsg() == 4326 and len(gdf) == 13
    assert set(gdf["kind"]) == {"route", "stop", "station", "hotspot"}


def test_schedule_csv_has_one_row_per_stop_with_iso_times(plan: Plan, tmp_path) -> None:
    """schedule.csv: a row per stop, ISO 8601 times with offset, road distance accumulating per unit."""
    path = write_outputs(plan, tmp_path)["schedule.csv"]
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == sum(len(u.stops) for u in plan.units) == 4
    assert {"unit_id", "seq", "hotspot_id", "visit_no", "arrive", "depart", "lon", "lat",
            "road_km_so_far"} <= set(rows[0])
    for r in rows:
        a, d = datetime.fromisoformat(r["arrive"]), datetime.fromisoformat(r["depart"])
        assert a.utcoffset() is not None and a < d
    oak = [r for r in rows if r["unit_id"] == "Oakham 1"]
    assert [int(r["seq"]) for r in oak] == [1, 2, 3]
    assert [float(r["road_km_so_far"]) for r in oak] == pytest.approx([1.3, 2.7, 4.2])
    assert oak[2]["hotspot_id"] == "H01" and oak[2]["visit_no"] == "2" and oak[2]["rank"] == "1"
    assert float(oak[0]["lon"]) == next(h.lon for h in plan.hotspots if h.hotspot_id == "H01")
    assert schedule_frame(replace(plan, units=())).empty


def test_gpx_per_unit_is_gpx11_with_route_waypoints_and_track(plan: Plan, tmp_path) -> None:
    """Each GPX holds a waypoint per stop, a route station->stops->station, a road track, UTC times."""
    files = write_gpx(plan, tmp_path)
    root = ET.parse(files["Oakham 1"]).getroot()
    assert root.tag == GPX + "gpx" and root.get("version") == "1.1"
    wpts = root.findall(GPX + "wpt")
    assert [w.findtext(GPX + "name") for w in wpts] == ["01 H01", "02 H02", "03 H01"]
    assert wpts[0].findtext(GPX + "time") == "2024-06-14T21:10:00Z"  # 22:10 BST
    rtepts = root.findall(f"{GPX}rte/{GPX}rtept")
    assert len(rtepts) == 5 and rtepts[0].findtext(GPX + "name") == "Oakham Police Station"
    trkpts = root.findall(f"{GPX}trk/{GPX}trkseg/{GPX}trkpt")
    assert len(trkpts) >= 7
    assert (float(trkpts[0].get("lon")), float(trkpts[0].get("lat"))) == (plan.units[0].start.lon,
                                                                        plan.units[0].start.lat)


def test_gpx_escapes_names_and_makes_safe_file_names(make_plan, tmp_path) -> None:
    """Hostile or clashing unit ids give safe, distinct file names; the id survives intact inside."""
    evil = '../<script>alert(1)</script>&"\x07'
    plan = make_plan(unit_ids=(evil, "..<script>alert(1)</script>&\"\x07"))
    files = write_gpx(plan, tmp_path / "gpx")
    names = sorted(p.name for p in files.values())
    assert len(set(names)) == 2 and all(p.parent == tmp_path / "gpx" for p in files.values())
    assert all(set(n) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") for n in names)
    text = files[evil].read_text(encoding="utf-8")
    assert "<script>" not in text
    assert ET.fromstring(text.encode()).findtext(f"{GPX}rte/{GPX}name") == '../<script>alert(1)</script>&"\ufffd'


def test_summary_table_prints_ids_literally(make_plan, tmp_path) -> None:
    """Rich markup in a unit id is printed as text, and totals add up."""
    plan = make_plan(unit_ids=("[bold red]Oakham[/bold red]", "U2"))
    con = Console(record=True, width=200, color_system=None)
    con.print(plan_summary_table(plan))
    out = con.export_text()
    assert "[bold red]Oakham[/bold red]" in out
    assert "Total" in out and "6.8" in out  # 5.1 km + 1.6 km (rounded)
    assert "3 of 5 hotspots covered, 2 left out" in out


def test_bad_input_is_a_clear_error(plan: Plan, tmp_path) -> None:
    """Non-plans, non-finite coordinates, malformed base maps and unusable folders raise PatrolPlannerError."""
    with pytest.raises(PatrolPlannerError, match="expected a patrol_planner.plan.Plan"):
        write_outputs({"units": []}, tmp_path)  # type: ignore[arg-type]
    bad_stop = replace(plan.units[0].stops[0], lon=math.nan)
    bad = replace(plan, units=(replace(plan.units[0], stops=(bad_stop,)),))
    with pytest.raises(PatrolPlannerError, match="not a lon/lat position"):
        write_outputs(bad, tmp_path / "nan")
    assert not (tmp_path / "nan" / "plan.json").exists()  # nothing half-written
    with pytest.raises(PatrolPlannerError, match="base_map"):
        write_outputs(replace(plan, base_map={"lines": "A6003"}), tmp_path / "bm")
    with pytest.raises(PatrolPlannerError, match="not a number"):
        write_outputs(replace(plan, base_map={"lines": [[["x", 52.6], [0, 52.6]]]}), tmp_path / "bm2")
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(PatrolPlannerError, match="not a folder"):
        write_outputs(plan, f)


def test_json_for_script_cannot_close_the_script_element() -> None:
    """</script>, <!-- and U+2028/2029 never appear raw in the inline JSON, and it still parses back."""
    obj = {"a": "</script><script>alert(1)</script>", "b": "<!--", "c": "x\u2028y\u2029z", "d": "&amp;"}
    text = json_for_script(obj)
    assert "<" not in text and ">" not in text and "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == obj
    with pytest.raises(PatrolPlannerError, match="NaN"):
        json_for_script({"x": math.inf})


def test_point_hotspot_without_outline(plan: Plan) -> None:
    """A hotspot without a cell outline is exported as its centre point."""
    h = replace(plan.hotspots[0], polygon_lonlat=())
    fc = plan_to_geojson(replace(plan, hotspots=(h,)))
    f = next(f for f in fc["features"] if f["properties"]["kind"] == "hotspot")
    assert shape(f["geometry"]).equals(Point(h.lon, h.lat))

"""Tests for patrol_planner.network: graph building, cache, snapping, matrices, paths, CLI.

Real data: the bundled Rutland extract (``data/osm-rutland-2022``), built once per session. Shapes we
need to control (oneway=-1, roundabouts, maxspeed, no drivable roads) are tiny OSM files written with
pyosmium's writer inside the tests, clearly labelled as crafted.
"""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from patrol_planner.errors import CacheWarning, CRSError, EmptyNetworkError, NetworkError, SnapError
from patrol_planner.geo import to_xy
from patrol_planner.network import (
    base_map_lines,
    build_network,
    parse_maxspeed,
    police_stations,
    route_geometry,
    route_nodes,
    snap_points,
    travel_matrix,
)
from patrol_planner.network import cache as cache_mod

REPO = Path(__file__).resolve().parents[1]
RUTLAND = REPO / "data" / "osm-rutland-2022" / "rutland-latest.osm.pbf"
SHARED = REPO.parent / "shared"
LEEDS = SHARED / "data" / "raw" / "osm-leeds-its-example" / "its-example.osm.pbf"
MPH = 1.609344

OAKHAM = (-0.7273, 52.6703)  # Market Place
UPPINGHAM = (-0.7231, 52.5877)  # town centre


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("network-cache")


@pytest.fixture(scope="session")
def drive(cache_dir: Path):
    return build_network(RUTLAND, mode="drive", cache_dir=cache_dir)


@pytest.fixture(scope="session")
def walk(cache_dir: Path):
    return build_network(RUTLAND, mode="walk", cache_dir=cache_dir)


def _xy(net, *lonlat: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.array([p[0] for p in lonlat]), np.array([p[1] for p in lonlat])
    return to_xy(lon, lat, net.crs)


def _polyline_m(coords) -> float:
    a = np.asarray(coords, float)
    return float(np.hypot(*np.diff(a, axis=0).T).sum()) if len(a) > 1 else 0.0


# ------------------------------------------------------------------------------------------------
# Crafted OSM files (synthetic, written with pyosmium's writer)


def write_osm(path: Path, nodes: dict[int, tuple[float, float]], ways: list[tuple[int, list[int], dict]]) -> Path:
    """Write a tiny OSM file: ``nodes`` id -> (lon, lat) [deg], ``ways`` (id, node ids, tags)."""
    import osmium
    from osmium.osm.mutable import Node, Way

    w = osmium.SimpleWriter(str(path))
    try:
        for nid in sorted(nodes):
            w.add_node(Node(id=nid, location=nodes[nid], tags={}))
        for wid, refs, tags in ways:
            w.add_way(Way(id=wid, nodes=refs, tags=tags))
    finally:
        w.close()
    return path


# A square near Melton Mowbray, 0.01 deg a side (~680 m x 1.1 km).
SQ = {1: (-0.90, 52.70), 2: (-0.89, 52.70), 3: (-0.89, 52.71), 4: (-0.90, 52.71)}


@pytest.fixture()
def oneway_square(tmp_path: Path) -> Path:
    """Crafted: a one-way loop 1->2->3->4->1; the side 3->4->1 is drawn 1,4,3 and tagged oneway=-1."""
    return write_osm(tmp_path / "square.osm.pbf", SQ, [
        (101, [1, 2], {"highway": "primary", "oneway": "yes", "maxspeed": "30 mph"}),
        (102, [2, 3], {"highway": "secondary", "oneway": "yes", "maxspeed": "50"}),
        (103, [1, 4, 3], {"highway": "tertiary", "oneway": "-1", "maxspeed": "GB:nsl_single"}),
    ])


def test_oneway_minus_one_runs_against_the_drawing_direction(oneway_square: Path, tmp_path: Path) -> None:
    """oneway=-1 allows travel only against the node order, and its geometry follows travel."""
    net = build_network(oneway_square, cache_dir=tmp_path, speed_factor=1.0)
    g = net.graph
    assert sorted(g.edges()) == [(1, 2), (2, 3), (3, 1)]
    geom = g.edges[3, 1, 0]["geometry"]
    x4, y4 = to_xy(np.array([SQ[4][0]]), np.array([SQ[4][1]]), net.crs)
    assert len(geom) == 3 and np.allclose(geom[1], [x4[0], y4[0]])
    # The only way from 1 to 3 is around the loop through 2.
    assert route_nodes(net, 1, 3) == [1, 2, 3]


def test_maxspeed_units_set_travel_times(oneway_square: Path, tmp_path: Path) -> None:
    """'30 mph' is mph, a bare '50' is km/h, GB:nsl_single is 60 mph; time = length / speed."""
    net = build_network(oneway_square, cache_dir=tmp_path, speed_factor=1.0)
    g = net.graph
    assert g.edges[1, 2, 0]["speed_kph"] == pytest.approx(30 * MPH)
    assert g.edges[2, 3, 0]["speed_kph"] == pytest.approx(50.0)
    assert g.edges[3, 1, 0]["speed_kph"] == pytest.approx(60 * MPH)
    for _, _, d in g.edges(data=True):
        assert d["travel_time_s"] == pytest.approx(d["length_m"] / (d["speed_kph"] / 3.6))
        assert d["length_m"] == pytest.approx(_polyline_m(d["geometry"]))
    slow = build_network(oneway_square, cache_dir=tmp_path, speed_factor=0.5)
    assert slow.graph.edges[1, 2, 0]["travel_time_s"] == pytest.approx(2 * g.edges[1, 2, 0]["travel_time_s"])


def test_roundabout_is_one_way_and_spurs_are_two_way(tmp_path: Path) -> None:
    """junction=roundabout implies oneway in the drawing direction; untagged roads are two-way."""
    nodes = {10: (-0.900, 52.700), 11: (-0.899, 52.701), 12: (-0.898, 52.700),
             20: (-0.910, 52.700), 21: (-0.899, 52.710), 22: (-0.890, 52.700)}
    ways = [
        (1, [10, 11, 12, 10], {"highway": "primary", "junction": "roundabout"}),
        (2, [20, 10], {"highway": "residential"}),
        (3, [21, 11], {"highway": "residential"}),
        (4, [22, 12], {"highway": "residential"}),
    ]
    net = build_network(write_osm(tmp_path / "rb.osm.pbf", nodes, ways), cache_dir=tmp_path)
    e = set(net.graph.edges())
    assert {(10, 11), (11, 12), (12, 10)} <= e
    assert not {(11, 10), (12, 11), (10, 12)} & e
    assert {(20, 10), (10, 20), (21, 11), (11, 21)} <= e
    assert nx.is_strongly_connected(net.graph)


def test_degree_two_chain_is_merged_with_geometry(tmp_path: Path) -> None:
    """A road split into three ways of the same class becomes one edge per direction, lengths summed."""
    nodes = {i: (-0.90 + 0.002 * i, 52.70 + 0.001 * (i % 2)) for i in range(1, 8)}
    ways = [
        (1, [1, 2, 3], {"highway": "residential"}),
        (2, [3, 4, 5], {"highway": "residential", "name": "High St"}),
        (3, [5, 6, 7], {"highway": "residential"}),
    ]
    net = build_network(write_osm(tmp_path / "chain.osm", nodes, ways), cache_dir=tmp_path)
    assert sorted(net.graph.nodes) == [1, 7]
    assert sorted(net.graph.edges()) == [(1, 7), (7, 1)]
    d = net.graph.edges[1, 7, 0]
    assert len(d["geometry"]) == 7
    assert d["osm_way_ids"] == (1, 2, 3)
    x, y = to_xy(np.array([n[0] for n in nodes.values()]), np.array([n[1] for n in nodes.values()]), net.crs)
    assert d["length_m"] == pytest.approx(_polyline_m(np.column_stack([x, y])))
    assert np.allclose(net.graph.edges[7, 1, 0]["geometry"], d["geometry"][::-1])


def test_walk_mode_uses_footways_both_ways_and_avoids_motorways(tmp_path: Path) -> None:
    """Crafted: footway + one-way street + motorway. Walking ignores one-way, drops the motorway."""
    nodes = {1: (-0.90, 52.70), 2: (-0.89, 52.70), 3: (-0.88, 52.70), 4: (-0.87, 52.70)}
    ways = [
        (1, [1, 2], {"highway": "footway"}),
        (2, [2, 3], {"highway": "residential", "oneway": "yes"}),
        (3, [3, 4], {"highway": "motorway"}),
        (4, [1, 3], {"highway": "path", "foot": "no"}),
    ]
    path = write_osm(tmp_path / "walk.osm.pbf", nodes, ways)
    net = build_network(path, mode="walk", cache_dir=tmp_path, walk_speed_kph=4.0)
    # Node 2 stays: the class changes there (footway -> residential), so the chain is not merged.
    assert sorted(net.graph.nodes) == [1, 2, 3]
    assert sorted(net.graph.edges()) == [(1, 2), (2, 1), (2, 3), (3, 2)]
    for _, _, d in net.graph.edges(data=True):
        assert d["speed_kph"] == pytest.approx(4.0)
    with pytest.raises(EmptyNetworkError):
        build_network(path, mode="drive", cache_dir=tmp_path)  # one one-way street: no 2-node SCC


def test_no_drivable_roads_is_empty_network_error(tmp_path: Path) -> None:
    """An extract with footways only has no drive network; the message names the mode."""
    nodes = {1: (-0.90, 52.70), 2: (-0.89, 52.70)}
    path = write_osm(tmp_path / "paths.osm.pbf", nodes, [(1, [1, 2], {"highway": "footway"})])
    with pytest.raises(EmptyNetworkError, match="drive"):
        build_network(path, cache_dir=tmp_path)
    assert build_network(path, mode="walk", cache_dir=tmp_path).stats["nodes"] == 2
    assert police_stations(path).empty


def test_police_stations_nodes_and_areas(tmp_path: Path) -> None:
    """Crafted: a named station drawn as a building outline and an unnamed node; sorted by type, id."""
    import osmium
    from osmium.osm.mutable import Node, Way

    path = tmp_path / "police.osm.pbf"
    w = osmium.SimpleWriter(str(path))
    square = {1: (-0.70, 52.60), 2: (-0.69, 52.60), 3: (-0.69, 52.61), 4: (-0.70, 52.61)}
    for nid, loc in square.items():
        w.add_node(Node(id=nid, location=loc, tags={}))
    w.add_node(Node(id=9, location=(-0.80, 52.65), tags={"amenity": "police"}))
    w.add_way(Way(id=50, nodes=[1, 2, 3, 4, 1], tags={"amenity": "police", "building": "yes", "name": "Town"}))
    w.close()
    df = police_stations(path)
    assert df[["name", "osm_type", "osm_id"]].values.tolist() == [
        ["police (node 9)", "node", 9], ["Town", "way", 50]]
    assert df.loc[1, "lon"] == pytest.approx(-0.695) and df.loc[1, "lat"] == pytest.approx(52.605)


def test_unnamed_station_takes_the_nearest_town_name(tmp_path: Path) -> None:
    """An unnamed station is named after the nearest town; a nearer hamlet does not win over a town."""
    import osmium
    from osmium.osm.mutable import Node

    path = tmp_path / "places.osm.pbf"
    w = osmium.SimpleWriter(str(path))
    w.add_node(Node(id=1, location=(-0.800, 52.650), tags={"place": "town", "name": "Testford"}))
    w.add_node(Node(id=2, location=(-0.7905, 52.650), tags={"place": "hamlet", "name": "Nearby End"}))
    w.add_node(Node(id=3, location=(-0.300, 52.650), tags={"place": "village", "name": "Faraway"}))
    w.add_node(Node(id=9, location=(-0.790, 52.650), tags={"amenity": "police"}))
    w.close()
    df = police_stations(path)
    assert df["name"].tolist() == ["Testford police station"]
    assert df["place"].tolist() == ["Testford"]


@pytest.mark.parametrize("content", [b"", b"hello, I am not OSM\n", b"\x00\x00\x00\x0dgarbage-bytes!" * 4])
def test_not_a_pbf_is_network_error(tmp_path: Path, content: bytes) -> None:
    """Empty files, text and random bytes are refused with a NetworkError, not a libosmium traceback."""
    p = tmp_path / "bad.osm.pbf"
    p.write_bytes(content)
    with pytest.raises(NetworkError, match="bad.osm.pbf"):
        build_network(p, cache_dir=tmp_path)
    with pytest.raises(NetworkError):
        police_stations(p)


def test_bad_options_are_network_errors(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="not found"):
        build_network(tmp_path / "missing.osm.pbf")
    with pytest.raises(NetworkError, match="mode"):
        build_network(RUTLAND, mode="bike", cache_dir=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(NetworkError, match="walk_speed_kph"):
        build_network(RUTLAND, mode="walk", walk_speed_kph=0, cache_dir=tmp_path)


@pytest.mark.parametrize(("tag", "highway", "kph"), [
    ("30 mph", "", 30 * MPH),
    ("30mph", "", 30 * MPH),
    ("50", "", 50.0),
    ("50 km/h", "", 50.0),
    ("national", "primary", 60 * MPH),
    ("national", "motorway", 70 * MPH),
    ("GB:nsl_single", "", 60 * MPH),
    ("GB:nsl_dual", "", 70 * MPH),
    ("GB:motorway", "", 70 * MPH),
    ("GB:zone20", "", 20 * MPH),
    ("30;40", "", 30.0),
    ("40 mph; 30 mph", "", 30 * MPH),
    ("none", "", None),
    ("signals", "", None),
    (None, "", None),
    ("fast", "", None),
])
def test_parse_maxspeed(tag: str | None, highway: str, kph: float | None) -> None:
    got = parse_maxspeed(tag, highway)
    assert got == (None if kph is None else pytest.approx(kph))


@given(st.lists(st.integers(min_value=5, max_value=130), min_size=1, max_size=3), st.booleans())
def test_parse_maxspeed_lists_take_the_lowest(limits: list[int], mph: bool) -> None:
    """Any list of limits, in mph or bare km/h, parses to its lowest value in km/h."""
    unit = " mph" if mph else ""
    got = parse_maxspeed(";".join(f"{v}{unit}" for v in limits))
    assert got == pytest.approx(min(limits) * (MPH if mph else 1.0))


# ------------------------------------------------------------------------------------------------
# Rutland (real data)


def test_rutland_graph_invariants(drive) -> None:
    """Strongly connected, sorted OSM node ids, BNG coordinates, consistent edge attributes."""
    g = drive.graph
    assert drive.crs == "EPSG:27700" and drive.mode == "drive"
    assert nx.is_strongly_connected(g)
    assert list(drive.node_ids) == sorted(g.nodes)
    s = drive.stats
    assert s["nodes"] == g.number_of_nodes() > 3000 and s["edges"] == g.number_of_edges()
    assert s["scc_nodes"] >= s["nodes"] and s["dropped_nodes"] > 0
    assert len(s["sha256"]) == 64
    for u, v, d in g.edges(data=True):
        geom = d["geometry"]
        assert np.allclose(geom[0], (g.nodes[u]["x_m"], g.nodes[u]["y_m"]))
        assert np.allclose(geom[-1], (g.nodes[v]["x_m"], g.nodes[v]["y_m"]))
        assert d["length_m"] == pytest.approx(_polyline_m(geom), abs=1e-6)
        assert 0 < d["speed_kph"] <= 113
    lon = np.array([d["lon"] for _, d in g.nodes(data=True)])
    assert ((lon > -0.9) & (lon < -0.35)).all()  # header bbox -0.82..-0.43, plus whole ways


def test_rutland_build_is_deterministic(drive, tmp_path: Path) -> None:
    """A fresh build (no cache) gives the same nodes and the same edges in the same order."""
    again = build_network(RUTLAND, cache_dir=tmp_path, use_cache=False)
    assert list(again.graph.nodes) == list(drive.graph.nodes)
    a = [(u, v, k, d["length_m"]) for u, v, k, d in again.graph.edges(keys=True, data=True)]
    b = [(u, v, k, d["length_m"]) for u, v, k, d in drive.graph.edges(keys=True, data=True)]
    assert a == b


def test_oakham_to_uppingham_is_plausible(drive) -> None:
    """Oakham Market Place -> Uppingham centre by road.

    Straight line is ~9.2 km and the A6003 between the towns is ~10 km, so the fastest road path must
    be at least the straight line plus a little (9.3 km) and, since no sensible route doubles back,
    under 13 km. At 30 mph in town and a 60 mph limit driven at 0.8 between, 10 km takes ~10 min;
    anything under 8 min (> 75 km/h average on a single-carriageway A road through two towns) or
    over 20 min (< 30 km/h average) would mean broken speeds or a detour.
    """
    x, y = _xy(drive, OAKHAM, UPPINGHAM)
    snap = snap_points(drive, x, y, raise_on_far=True)
    assert (snap.dist_m < 100).all()
    T, D = travel_matrix(drive, snap.node_ids)
    straight = math.hypot(x[1] - x[0], y[1] - y[0])
    assert 9000 < straight < 9400
    for i, j in [(0, 1), (1, 0)]:
        assert 9300 < D[i, j] < 13000
        assert 8 * 60 < T[i, j] < 20 * 60
    assert T[0, 0] == 0 and D[0, 0] == 0
    coords = route_geometry(drive, *snap.node_ids)
    assert _polyline_m(coords) == pytest.approx(D[0, 1], rel=1e-9)
    assert np.allclose(coords[0], (x[0], y[0]), atol=100) and np.allclose(coords[-1], (x[1], y[1]), atol=100)


def test_crs_override_gives_same_road_distances(drive, tmp_path: Path) -> None:
    """A UTM working CRS instead of BNG changes coordinates, not the roads: same graph, same km."""
    utm = build_network(RUTLAND, crs="EPSG:32630", cache_dir=tmp_path)
    assert utm.crs == "EPSG:32630" and list(utm.graph.nodes) == list(drive.graph.nodes)
    a = [d["length_m"] for _, _, d in drive.graph.edges(data=True)]
    b = [d["length_m"] for _, _, d in utm.graph.edges(data=True)]
    assert np.allclose(a, b, rtol=2e-3)  # projection scale factors differ by < 0.1 %
    with pytest.raises(CRSError):
        build_network(RUTLAND, crs="EPSG:4326", cache_dir=tmp_path)


def test_travel_matrix_matches_networkx_dijkstra(drive) -> None:
    """csgraph matrix == networkx Dijkstra by travel_time_s; D_m == length of the fastest path."""
    rng = np.random.default_rng(7)
    ids = rng.choice(drive.node_ids, 30, replace=False)
    dest = rng.choice(drive.node_ids, 12, replace=False)
    T, D = travel_matrix(drive, ids, dest)
    assert T.shape == D.shape == (30, 12)
    for i in range(3):
        dist, paths = nx.single_source_dijkstra(drive.graph, int(ids[i]), weight="travel_time_s")
        for j in range(12):
            assert T[i, j] == pytest.approx(dist[int(dest[j])], rel=1e-9)
            p = paths[int(dest[j])]
            length = sum(min(e["length_m"] for e in drive.graph[a][b].values()
                             if e["travel_time_s"] == min(x["travel_time_s"] for x in drive.graph[a][b].values()))
                         for a, b in zip(p[:-1], p[1:], strict=True))
            assert D[i, j] == pytest.approx(length, rel=1e-6)
    # The fastest path is never shorter than the straight line between its ends.
    pos_o, pos_d = drive.index_of(ids), drive.index_of(dest)
    dx = drive.x_m[pos_o][:, None] - drive.x_m[pos_d][None]
    dy = drive.y_m[pos_o][:, None] - drive.y_m[pos_d][None]
    assert (np.hypot(dx, dy) - 1e-6 <= D).all()
    # Duplicate origins give identical rows.
    T2, _ = travel_matrix(drive, [ids[0], ids[0]], dest)
    assert np.array_equal(T2[0], T2[1]) and np.array_equal(T2[0], T[0])


def test_travel_matrix_to_equals_the_forward_matrix(drive) -> None:
    """Solved backwards from 4 destinations (one-way streets included), times equal the forward matrix and
    road lengths too, up to a tie between paths of equal time."""
    from patrol_planner.network import travel_matrix_to

    rng = np.random.default_rng(11)
    ids = rng.choice(drive.node_ids, 60, replace=False)
    dest = rng.choice(drive.node_ids, 4, replace=False)
    T, D = travel_matrix(drive, ids, dest)
    Tb, Db = travel_matrix_to(drive, ids, dest)
    assert Tb.shape == Db.shape == (60, 4)
    assert Tb == pytest.approx(T, rel=1e-9, abs=1e-9)
    assert np.median(np.abs(Db - D)) == 0 and np.allclose(Db, D, rtol=0.02)
    assert not np.allclose(T, travel_matrix(drive, dest, ids)[0].T, rtol=1e-6)  # the drive graph is not symmetric


def test_route_geometries_equal_one_search_per_leg(drive, monkeypatch) -> None:
    """Many legs at once (shared origins, a leg to itself, origins spread over several batches): the same
    lines as one route_geometry call per leg."""
    from patrol_planner.network import route_geometries
    from patrol_planner.network import travel as travel_mod

    rng = np.random.default_rng(5)
    ids = [int(i) for i in rng.choice(drive.node_ids, 12, replace=False)]
    pairs = [(ids[k % 4], ids[4 + k % 8]) for k in range(16)] + [(ids[0], ids[0])]
    want = [route_geometry(drive, u, v) for u, v in pairs]
    assert route_geometries(drive, pairs) == want
    monkeypatch.setattr(travel_mod, "_BATCH", 2)  # several batches of origins
    assert route_geometries(drive, pairs) == want
    assert route_geometries(drive, []) == []


def test_travel_matrix_on_300_snapped_points_matches_networkx(drive) -> None:
    """Snapped scattered points: every travel time equals networkx Dijkstra on the same graph.

    About 300 points spread over the extract's box are snapped (within 2 km, so most are kept); 20
    full rows of the square matrix are checked against ``networkx`` by ``travel_time_s``, and every
    road distance is at least the straight line between its ends.
    """
    rng = np.random.default_rng(1)
    x = rng.uniform(drive.x_m.min(), drive.x_m.max(), 400)
    y = rng.uniform(drive.y_m.min(), drive.y_m.max(), 400)
    snap = snap_points(drive, x, y, max_snap_m=2000.0)
    ids = snap.node_ids[snap.ok]
    assert len(ids) >= 250
    T, D = travel_matrix(drive, ids)
    assert T.shape == D.shape == (len(ids), len(ids)) and np.isfinite(T).all()
    for i in rng.choice(len(ids), 20, replace=False).tolist():
        ref = nx.single_source_dijkstra_path_length(drive.graph, int(ids[i]), weight="travel_time_s")
        assert T[i] == pytest.approx([ref[int(j)] for j in ids], rel=1e-9, abs=1e-9)
    pos = drive.index_of(ids)
    straight = np.hypot(drive.x_m[pos][:, None] - drive.x_m[pos][None], drive.y_m[pos][:, None] - drive.y_m[pos][None])
    assert (straight - 1e-6 <= D).all()


def test_unknown_node_ids_are_network_errors(drive) -> None:
    with pytest.raises(NetworkError, match="not in this drive network"):
        travel_matrix(drive, [1, 2, 3])
    with pytest.raises(NetworkError, match="SnapResult.ok"):
        travel_matrix(drive, [int(drive.node_ids[0]), -1])
    with pytest.raises(NetworkError):
        route_geometry(drive, int(drive.node_ids[0]), -5)


def test_snap_far_points_are_reported(drive) -> None:
    """A point 30 km out (Leicester) is flagged, not silently snapped; raise_on_far names it."""
    x, y = _xy(drive, OAKHAM, (-1.13, 52.63), UPPINGHAM)
    x = np.append(x, np.nan)
    y = np.append(y, np.nan)
    snap = snap_points(drive, x, y)
    assert snap.ok.tolist() == [True, False, True, False]
    assert snap.dist_m[1] > 10_000 and np.isinf(snap.dist_m[3]) and snap.node_ids[3] == -1
    with pytest.raises(SnapError, match=r"2 point\(s\).*#1 .*#3 \(nan, nan\): not finite"):
        snap_points(drive, x, y, raise_on_far=True)
    assert snap_points(drive, x[:1], y[:1], max_snap_m=1.0, to="node").ok.tolist() == [False]
    with pytest.raises(NetworkError, match="snap target"):
        snap_points(drive, x, y, to="road")


def test_snap_beside_a_long_road_joins_the_road(drive) -> None:
    """A point 20 m off the middle of the longest edge is 20 m from the road but far from any node.

    Edge snapping accepts it and reports the along-road distance to the chosen end; node snapping
    (nearest junction) would reject it at the default 250 m.
    """
    u, v, d = max(drive.graph.edges(data=True), key=lambda e: e[2]["length_m"])
    assert d["length_m"] > 1500
    import shapely

    line = shapely.LineString(d["geometry"])
    mid = line.interpolate(0.5, normalized=True)
    ahead = line.interpolate(0.5 * line.length + 1.0)
    tx, ty = ahead.x - mid.x, ahead.y - mid.y
    px, py = mid.x - ty * 20.0, mid.y + tx * 20.0  # 20 m to the left of the road
    snap = snap_points(drive, [px], [py])
    assert snap.ok[0] and snap.dist_m[0] == pytest.approx(20.0, abs=1.0)
    assert snap.node_ids[0] in (u, v)
    assert snap.along_m[0] == pytest.approx(0.5 * d["length_m"], rel=0.05)
    by_node = snap_points(drive, [px], [py], to="node")
    assert not by_node.ok[0] and by_node.along_m[0] == 0


def test_walk_network_reaches_footpaths(walk, drive) -> None:
    """The walking graph is bigger than the driving graph, two-way everywhere, at 5 km/h."""
    g = walk.graph
    assert walk.mode == "walk" and g.number_of_nodes() > drive.graph.number_of_nodes()
    assert {"footway", "path"} <= {d["highway"] for _, _, d in g.edges(data=True)}
    assert all(g.has_edge(v, u) for u, v in g.edges())
    assert all(d["speed_kph"] == pytest.approx(5.0) for _, _, d in g.edges(data=True))
    x, y = _xy(walk, OAKHAM, UPPINGHAM)
    T, D = travel_matrix(walk, snap_points(walk, x, y).node_ids)
    assert 9300 < D[0, 1] < 14000 and T[0, 1] == pytest.approx(D[0, 1] / (5 / 3.6))


def test_police_stations_rutland() -> None:
    """Rutland maps Oakham police station as a building (way) and one more as a node."""
    df = police_stations(RUTLAND)
    assert list(df.columns) == ["name", "lon", "lat", "osm_type", "osm_id", "place"]
    assert len(df) == 2
    # Neither is named in OSM: each takes the name of its nearest town or village.
    assert sorted(df["name"]) == ["Cottesmore police station", "Oakham police station"]
    way = df[df["osm_type"] == "way"].iloc[0]
    assert way["lon"] == pytest.approx(-0.7287, abs=0.001) and way["lat"] == pytest.approx(52.6732, abs=0.001)
    assert df.equals(police_stations(RUTLAND))


def test_base_map_lines_are_thin_lonlat(drive) -> None:
    lines = base_map_lines(drive)
    pts = np.concatenate([np.asarray(line) for line in lines])
    assert len(lines) > 100
    assert ((pts[:, 0] > -0.9) & (pts[:, 0] < -0.35) & (pts[:, 1] > 52.5) & (pts[:, 1] < 52.8)).all()
    full = sum(len(d["geometry"]) for _, _, d in drive.graph.edges(data=True))
    assert len(pts) < full / 3
    main_only = base_map_lines(drive, max_class="primary", include=())
    assert 0 < len(main_only) < len(lines)
    with pytest.raises(NetworkError, match="max_class"):
        base_map_lines(drive, max_class="footway")


# ------------------------------------------------------------------------------------------------
# Cache


def test_cache_roundtrip_and_invalidation(tmp_path: Path, oneway_square: Path, monkeypatch) -> None:
    """Second build loads from cache; other options or another version rebuild; a corrupt file or one written
    under another key rebuilds with a one-line CacheWarning."""
    first = build_network(oneway_square, cache_dir=tmp_path)
    assert first.stats["cached"] is False
    files = list(tmp_path.glob("network-drive-*.npz"))
    assert len(files) == 1
    second = build_network(oneway_square, cache_dir=tmp_path)
    assert second.stats["cached"] is True
    assert list(second.graph.edges(keys=True, data=True))[0][:3] == list(first.graph.edges(keys=True))[0]
    for (*e1, d1), (*e2, d2) in zip(first.graph.edges(keys=True, data=True), second.graph.edges(keys=True, data=True),
                                    strict=True):
        assert e1 == e2 and d1.keys() == d2.keys()
        assert all(np.array_equal(d1[a], d2[a]) if a == "geometry" else d1[a] == d2[a] for a in d1)
    assert list(second.graph.nodes(data=True)) == list(first.graph.nodes(data=True))
    assert second.stats == dict(first.stats, cached=True, build_s=second.stats["build_s"])
    assert build_network(oneway_square, cache_dir=tmp_path, speed_factor=0.7).stats["cached"] is False

    files[0].write_bytes(b"not a cache")
    with pytest.warns(CacheWarning, match="ignored the road network cache") as caught:
        assert build_network(oneway_square, cache_dir=tmp_path).stats["cached"] is False
    assert "\n" not in str(caught[0].message)
    assert build_network(oneway_square, cache_dir=tmp_path).stats["cached"] is True

    # An entry written under another key (e.g. renamed by hand) is not trusted.
    with np.load(files[0], allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays["header"].tobytes())
    arrays["header"] = np.frombuffer(json.dumps(dict(header, key="0" * 64)).encode(), np.uint8)
    with open(files[0], "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.warns(CacheWarning, match="another input"):
        assert build_network(oneway_square, cache_dir=tmp_path).stats["cached"] is False

    monkeypatch.setattr(cache_mod, "__version__", "999.0")
    assert build_network(oneway_square, cache_dir=tmp_path).stats["cached"] is False


class _Planted:
    """Unpickling this creates ``path``: a stand-in for any code a planted pickle would run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


@pytest.mark.parametrize("as_npz", [False, True], ids=["pickle", "npz-with-pickled-member"])
def test_planted_pickle_at_the_cache_path_is_not_run(tmp_path: Path, oneway_square: Path, as_npz: bool) -> None:
    """A malicious pickle written where the cache file of this input will be looked for (its name can be
    predicted), bare or as an object array inside an .npz, is never unpickled: the marker it would create
    does not appear, a one-line CacheWarning is given, the network is rebuilt and the cache rewritten."""
    probe = build_network(oneway_square, cache_dir=tmp_path / "probe")
    (name,) = [p.name for p in (tmp_path / "probe").iterdir()]
    cache, marker = tmp_path / "cache", tmp_path / "code-ran"
    cache.mkdir()
    if as_npz:
        np.savez(cache / name, header=np.array([_Planted(marker)], dtype=object))
    else:
        (cache / name).write_bytes(pickle.dumps({"key": "x", "format": 1, "network": _Planted(marker)}))
    with pytest.warns(CacheWarning, match=f"ignored the road network cache {name}"):
        net = build_network(oneway_square, cache_dir=cache)
    assert not marker.exists()
    assert net.stats["cached"] is False and net.stats["nodes"] == probe.stats["nodes"] == 3
    assert build_network(oneway_square, cache_dir=cache).stats["cached"] is True
    assert not marker.exists()


def test_cache_key_follows_the_format_version(tmp_path: Path, oneway_square: Path, monkeypatch) -> None:
    """Bumping CACHE_FORMAT_VERSION (build logic changed) changes the key, so existing entries rebuild."""
    assert build_network(oneway_square, cache_dir=tmp_path).stats["cached"] is False
    assert build_network(oneway_square, cache_dir=tmp_path).stats["cached"] is True
    key = cache_mod.cache_key("0" * 64, {"mode": "drive"})
    monkeypatch.setattr(cache_mod, "CACHE_FORMAT_VERSION", cache_mod.CACHE_FORMAT_VERSION + 1)
    assert cache_mod.cache_key("0" * 64, {"mode": "drive"}) != key
    assert build_network(oneway_square, cache_dir=tmp_path).stats["cached"] is False


def test_cache_dir_from_environment(tmp_path: Path, oneway_square: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATROL_PLANNER_CACHE", str(tmp_path / "envcache"))
    build_network(oneway_square)
    assert len(list((tmp_path / "envcache").glob("*.npz"))) == 1
    build_network(oneway_square, use_cache=False, cache_dir=tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_cached_rutland_matches_fresh(drive, cache_dir: Path) -> None:
    """The session fixture wrote a cache; loading it gives the same graph and working queries."""
    loaded = build_network(RUTLAND, cache_dir=cache_dir)
    assert loaded.stats["cached"] is True
    assert list(loaded.graph.edges(keys=True)) == list(drive.graph.edges(keys=True))
    ids = drive.node_ids[:5]
    assert np.array_equal(travel_matrix(loaded, ids)[0], travel_matrix(drive, ids)[0])


# ------------------------------------------------------------------------------------------------
# CLI


def test_cli_network_json(tmp_path: Path, oneway_square: Path) -> None:
    from typer.testing import CliRunner

    from patrol_planner.cli import app

    runner = CliRunner()
    args = ["network", str(oneway_square), "--cache-dir", str(tmp_path / "c"), "--json"]
    out = json.loads(runner.invoke(app, args).stdout)
    assert {"nodes", "edges", "scc_nodes", "dropped_nodes", "build_s", "cached"} <= set(out)
    assert out["nodes"] == 3 and out["edges"] == 3 and out["cached"] is False
    assert json.loads(runner.invoke(app, args).stdout)["cached"] is True
    res = runner.invoke(app, ["network", str(oneway_square), "--mode", "walk", "--no-cache"])
    assert res.exit_code == 0 and "walk network" in res.stdout


def test_cli_network_bad_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from patrol_planner.cli import app

    bad = tmp_path / "notes.txt"
    bad.write_text("not osm")
    res = CliRunner().invoke(app, ["network", str(bad)])
    assert res.exit_code == NetworkError.exit_code
    assert "not an OpenStreetMap PBF file" in res.output and "Traceback" not in res.output


# ------------------------------------------------------------------------------------------------
# Leeds (shared data)


@pytest.mark.shared
@pytest.mark.skipif(not LEEDS.exists(), reason="needs ../shared/data (the team's raw data folder), not present")
def test_leeds_tiny_extract(tmp_path: Path) -> None:
    """The Leeds ITS example is clipped hard: many fragments; the largest SCC is kept and the rest reported."""
    for mode in ("drive", "walk"):
        net = build_network(LEEDS, mode=mode, cache_dir=tmp_path)
        assert net.crs == "EPSG:27700"
        assert net.stats["nodes"] > 10 and net.stats["dropped_nodes"] > 0
        assert nx.is_strongly_connected(net.graph)


# ------------------------------------------------------------------------------------------------
# Package layout


def test_network_modules_import_downward_only() -> None:
    """The graph type and tag rules are the bottom of network/; queries build on the graph alone.

    Parsed from the source, so a new upward import (the cycle osm <-> travel had) fails here as well as
    in the structure check.
    """
    import ast

    import patrol_planner.network as pkg

    allowed = {
        "graph": set(), "tags": set(), "reader": {"tags"}, "build": {"graph", "reader", "tags"},
        "cache": {"graph"}, "stations": {"reader"}, "snap": {"graph"}, "travel": {"graph"},
        "basemap": {"graph", "tags"},
    }
    root = Path(pkg.__file__).parent
    for name, ok in allowed.items():
        tree = ast.parse((root / f"{name}.py").read_text())
        used = {n.module.rsplit(".", 1)[-1] for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("patrol_planner.network.")}
        assert used <= ok, f"network/{name}.py imports {sorted(used - ok)}"

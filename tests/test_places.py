"""Spots an officer can find: OS grid references, districts, streets, unique labels, institutions, the calendar map."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from patrol_planner.hotspots import Grid
from patrol_planner.places import grid_ref, grid_refs_lonlat, label_of, name_spots
from patrol_planner.places.districts import District, lad_lookup, record_lsoas, spot_districts
from patrol_planner.places.institutions import (
    institution_record_cells,
    institution_texts,
    one_point_cells,
    osm_institution_cells,
)
from patrol_planner.places.labels import SpotName, is_generic

REPO = Path(__file__).resolve().parents[1]


def test_grid_references_match_known_points() -> None:
    """Ben Nevis summit NN 16666 71254 and Big Ben TQ 30268 79640 (OS), the SV origin, and off-grid points."""
    assert grid_ref(216666, 771254, digits=10) == "NN 16666 71254"
    assert grid_ref(530268, 179640, digits=10) == "TQ 30268 79640"
    assert grid_ref(530268, 179640) == "TQ 3026 7964"
    assert grid_ref(530268, 179640, digits=6) == "TQ 302 796"
    assert grid_ref(1.0, 1.0, digits=4) == "SV 00 00"
    assert grid_ref(486208, 308792, digits=10) == "SK 86208 08792"  # Oakham
    assert grid_ref(-5, 100) == "" and grid_ref(800_000, 100) == ""
    assert grid_refs_lonlat(np.array([-0.1246]), np.array([51.5007]), digits=6) == ["TQ 302 796"]
    with pytest.raises(ValueError):
        grid_ref(1, 1, digits=5)


def test_labels_add_street_to_generic_places_and_stay_unique() -> None:
    d = District("E07000070", "Chelmsford", "records in spot")
    names = name_spots(["S01", "S02", "S03", "S04"],
                       ["On or near Parking Area", "On or near High Street", "", "On or near Parking Area"],
                       [d, d, District("", "", "unknown"), d],
                       ["Moulsham Street", "High Street", "", "Moulsham Street"],
                       ["TL 7063 0688", "TL 7063 0688", "TL 7100 0700", "TL 7063 0688"])
    assert names[0].label == "On or near Parking Area near Moulsham Street, Chelmsford (TL 7063 0688)"
    assert names[1].label == "On or near High Street, Chelmsford (TL 7063 0688)"  # a street needs no street added
    assert names[2].label == "unnamed place (TL 7100 0700)" and names[2].district_code == ""
    assert names[3].label == names[0].label + " [S04]"  # a repeat (a caller's duplicate) gets its id
    assert len({n.label for n in names}) == 4
    assert is_generic("On or near Supermarket") and not is_generic("On or near Church Street")
    assert label_of(SpotName(place="On or near Hospital", district="Basildon", grid_ref="TQ 7007 8727")) == \
        "On or near Hospital, Basildon (TQ 7007 8727)"


def _ons(tmp_path: Path) -> Path:
    folder = tmp_path / "ons"
    folder.mkdir()
    pd.DataFrame({"ObjectId": [1, 2, 3], "LSOA11CD": ["E01000001", "E01000002", "E01000003"],
                  "LSOA11NM": ["A 001A", "A 001B", "B 001A"],
                  "LSOA21CD": ["E01000001", "E01000002", "E01000009"],
                  "LSOA21NM": ["Alpha 001A", "Alpha 001B", "Beta 001A"], "LAD22CD": ["E1", "E1", "E2"],
                  "LAD22NM": ["Alpha", "Alpha", "Beta"], "LAD22NMW": ["", "", ""]}).to_csv(
        folder / "lsoa11_lsoa21_lookup.csv", index=False)
    return folder


def test_spot_district_is_the_commonest_lsoa_else_the_nearest_record(tmp_path: Path) -> None:
    """Most common LSOA of the spot's records; a spot without records takes the nearest coded record's
    (within 2 km); a code the lookup lacks is named from police.uk's LSOA name, with the lookup's code."""
    lk = lad_lookup(_ons(tmp_path))
    assert lk["E01000009"] == ("E2", "Beta") and lk["E01000003"] == ("E2", "Beta")
    lsoa = pd.Series(["E01000001", "E01000009", "E01000009", "E01000777", pd.NA], dtype="string")
    lsoa.attrs["lsoa_names"] = {"E01000777": "Beta 002C"}
    rec_cells = np.array(["c1", "c1", "c1", "c3", "c1"])
    rec_xy = np.array([[0, 0], [0, 0], [0, 0], [5000, 0], [0, 0]], float)
    got = spot_districts(["c1", "c2", "c3", "c4"], np.array([[0, 0], [900, 0], [5000, 0], [20000, 0]], float),
                         rec_cells, rec_xy, lsoa, lk)
    assert (got[0].code, got[0].name, got[0].link) == ("E2", "Beta", "records in spot")
    assert got[1].link == "nearest record" and got[1].name == "Alpha"  # the first of the nearest records
    assert (got[2].code, got[2].name) == ("E2", "Beta")  # E01000777 from its name "Beta 002C"
    assert got[3].link == "unknown" and got[3].name == ""


def test_record_lsoas_reads_police_uk_codes_back(tmp_path: Path) -> None:
    from patrol_planner.incidents import ingest

    src = REPO / "data" / "policeuk-leicestershire-2022" / "2022-07-leicestershire-street.csv"
    raw = pd.read_csv(src, dtype=str).head(300)
    f = tmp_path / "2022-07-small-street.csv"
    raw.to_csv(f, index=False)
    inc = ingest([f]).incidents
    codes = record_lsoas(inc, [tmp_path])
    assert codes.notna().mean() > 0.95
    by_pos = raw.set_index(np.arange(len(raw)) + 2)["LSOA code"]
    assert (codes.to_numpy() == by_pos.loc[inc["source_line"].to_numpy()].to_numpy()).all()
    first = codes.dropna().iloc[0]
    assert codes.attrs["lsoa_names"][first] == raw.loc[raw["LSOA code"] == first, "LSOA name"].iloc[0]


def test_osm_institutions_set_aside_overlapping_cells_and_a_prisons_snapped_point() -> None:
    """A hospital area covering a cell, a police node, and a prison whose crimes police.uk moved to a street
    300 m outside its fence (all 15 at one point, as HMP Stocken's)."""
    from patrol_planner.geo import BNG, to_lonlat

    grid = Grid(cell_size_m=100.0, kind="square", crs=BNG)

    def lonlat_poly(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
        xs, ys = to_lonlat(np.array([x0, x1, x1, x0]), np.array([y0, y0, y1, y1]), BNG)
        return shapely.Polygon(np.column_stack([xs, ys]))

    nx, ny = to_lonlat(np.array([500_550.0]), np.array([200_050.0]), BNG)
    inst = pd.DataFrame({"name": ["General Hospital", "police", "HM Prison X"],
                         "kind": ["hospital", "police", "prison"], "osm_type": ["way", "node", "way"],
                         "osm_id": [1, 2, 3],
                         "geometry": [lonlat_poly(500_000, 200_000, 500_130, 200_100),
                                      shapely.Point(nx[0], ny[0]), lonlat_poly(510_000, 210_000, 510_400, 210_400)]})
    found = osm_institution_cells(inst, grid, BNG).set_index("cell_id")
    assert found.loc["E27700-S100-5000-2000", "kind"] == "hospital" and not found.loc["E27700-S100-5000-2000", "near"]
    assert found.loc["E27700-S100-5001-2000", "share"] == pytest.approx(0.3)  # 30 m of the 100 m cell
    assert found.loc["E27700-S100-5005-2000", "kind"] == "police"
    snapped = "E27700-S100-5101-2107"  # 300 m north of the prison fence
    assert bool(found.loc[snapped, "near"]) and found.loc["E27700-S100-5101-2101", "near"] == False  # noqa: E712
    px, py = 510_150.0, 210_730.0
    lon, lat = to_lonlat(np.array([px] * 15 + [px + 20]), np.array([py] * 15 + [py + 30]), BNG)
    rec = pd.DataFrame({"x_m": [px] * 15 + [px + 20], "y_m": [py] * 15 + [py + 30], "lon": lon, "lat": lat})
    assert one_point_cells(rec, grid, [snapped, "E27700-S100-5101-2106"]) == {snapped}
    spread = rec.assign(lon=rec["lon"] + np.arange(16) * 1e-5)  # sixteen points: an ordinary street
    assert one_point_cells(spread, grid, [snapped]) == set()


def test_institution_record_cells_count_and_weigh_set_aside_records() -> None:
    from patrol_planner.geo import BNG

    grid = Grid(cell_size_m=100.0, kind="square", crs=BNG)
    rec = pd.DataFrame({"x_m": [10.0] * 4 + [510.0] * 2, "y_m": [10.0] * 6,
                        "location": ["On or near Hospital"] * 4 + ["On or near Prison"] * 2,
                        "category": ["Violence and sexual offences"] * 3 + ["Shoplifting"] * 3})
    got = institution_record_cells(rec, grid, {"Violence and sexual offences": 10.0, "Shoplifting": 1.0},
                                   institution_texts())
    assert list(got["kind"]) == ["hospital"]  # 2 prison records: fewer than 3 make no listed place
    assert int(got["records"].iloc[0]) == 4 and float(got["harm_days"].iloc[0]) == 31.0
    assert "On or near Hospital" not in institution_texts(["hospital"])


@pytest.mark.slow
def test_rutland_prison_is_set_aside_and_can_be_kept_by_name() -> None:
    """HMP Stocken's crimes (police.uk "On or near Stocken Hall Mews", the top Rutland cell) are set aside by
    the OSM prison with a reason; keep_institutions = ["Stocken Hall Mews"] keeps the cell."""
    from patrol_planner.scenario import load_scenario
    from patrol_planner.scenario import steps as st

    s = load_scenario(REPO / "scenarios" / "rutland-night.toml")
    ing = st.ingest_scenario(s.resolved())
    sc = st.score_hotspots(ing.incidents, s.resolved())
    prison = sc.institutions[sc.institutions["kind"] == "prison"]
    assert len(prison) == 1 and prison["name"].iloc[0] == "HM Prison Stocken" and prison["rank"].iloc[0] == 1
    assert prison["cell_id"].iloc[0] not in set(sc.selected["cell_id"])
    kept = s.replace(hotspots={"keep_institutions": ["Stocken Hall Mews"]})
    sc2 = st.score_hotspots(ing.incidents, kept.resolved())
    assert prison["cell_id"].iloc[0] == sc2.selected["cell_id"].iloc[0] and sc2.institutions.empty


@pytest.mark.slow
def test_rutland_programme_spots_labels_calendar_and_day(rutland_programme) -> None:  # noqa: ANN001
    """Every spot has district, grid reference and a unique label; the calendar map draws towns and roads with no
    two labels overlapping; programme-day groups spots by district; the prison is recorded as set aside."""
    import re

    from patrol_planner.programme import day_tasking, read_programme
    from patrol_planner.programme.calendar import CHAR_W, TEXT_H

    folder, _ = rutland_programme
    prog = read_programme(folder)
    props = list(prog.spot_properties.values())
    assert all(p["district"] == "Rutland" and p["district_code"] == "E06000017" for p in props)
    assert all(re.fullmatch(r"S[KP] \d{4} \d{4}", p["grid_ref"]) for p in props)
    assert len({p["label"] for p in props}) == len(props)
    inst = prog.design["institutions_set_aside"]
    assert inst["count"] >= 1 and inst["cells"][0]["name"] == "HM Prison Stocken"
    html = (folder / "calendar.html").read_text(encoding="utf-8")
    assert ">Oakham</text>" in html and "<polyline class=\"road\"" in html and "Rutland</th>" in html
    layers = json.loads((folder / "map.json").read_text(encoding="utf-8"))
    assert layers["roads"] and any(t["name"] == "Uppingham" for t in layers["towns"])
    boxes = []
    for x, y, text in re.findall(r'<text(?: class="[^"]*")? x="([\d.-]+)" y="([\d.-]+)">([^<]+)</text>', html):
        if "km across" in text:
            continue
        x0, y1 = float(x), float(y)
        boxes.append((x0, y1 - TEXT_H, x0 + len(text) * CHAR_W, y1))
    assert len(boxes) >= len(props)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] + 1e-6 or b[2] <= a[0] + 1e-6 or a[3] <= b[1] + 1e-6 or b[3] <= a[1] + 1e-6
    day = day_tasking(prog, prog.dates[0])
    assert day["districts"][0]["district"] == "Rutland"
    assert sorted(day["districts"][0]["treated"]) == sorted(s["spot_id"] for s in day["treated"])
    assert all(s["label"] and s["grid_ref"] for s in day["treated"] + day["control"])

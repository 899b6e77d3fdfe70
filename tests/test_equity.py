"""Equity on one geography (LSOA 2021): 2011-coded records through the ONS lookup (merge and split), file
vintages, force-area coverage refused in one line, districts named, and no silent overwrite of equity.csv.

The ONS tables here are SYNTHETIC (hand-made codes, names, deciles and residents) in the shared folder's
formats; the bundled Leicestershire subset and, when present, ``../shared`` are the real ones.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from benchlib.calibration import k_of_n, programme_design, top_cell_spots
from patrol_planner.cli import app
from patrol_planner.errors import EvaluationError
from patrol_planner.evaluation import equity as eq
from patrol_planner.incidents import ingest
from patrol_planner.programme import read_programme, write_programme

REPO = Path(__file__).resolve().parents[1]
LEICS = sorted((REPO / "data" / "policeuk-leicestershire-2022").glob("*.csv"))
SHARED = REPO / ".." / "shared" / "data" / "raw"
runner = CliRunner()

ALPHA, BETA = ("E06000901", "Alpha"), ("E06000902", "Beta")
# 2011 code -> 2021 code(s): E01000001 unchanged; E01000002 + E01000003 merged into E01040001; E01000004 split into
# E01040002 (900 residents, decile 2) and E01040003 (300 residents, decile 7).
LOOKUP = [("E01000001", "E01000001", ALPHA), ("E01000002", "E01040001", ALPHA), ("E01000003", "E01040001", ALPHA),
          ("E01000004", "E01040002", ALPHA), ("E01000004", "E01040003", ALPHA), ("E01000009", "E01000009", BETA)]
LSOA21 = {"E01000001": ("Alpha 001A", 5, 1500), "E01040001": ("Alpha 002E", 4, 2000),
          "E01040002": ("Alpha 003E", 2, 900), "E01040003": ("Alpha 003F", 7, 300),
          "E01000009": ("Beta 001A", 9, 1000)}
LON0, LAT0 = -1.10, 52.60
HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
          "Last outcome category,Context")


def _ons(folder: Path, *, best_fit: bool) -> Path:
    """Synthetic ONS tables; ``best_fit``: one lookup row per 2011 LSOA (as the ONS best-fit file, which leaves
    the smaller part of a split out), else one row per part."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [r for r in LOOKUP if not (best_fit and r[1] == "E01040003")]
    pd.DataFrame([{"ObjectId": i + 1, "LSOA11CD": a, "LSOA11NM": "x", "LSOA21CD": b, "LSOA21NM": LSOA21[b][0],
                   "LAD22CD": lad[0], "LAD22NM": lad[1], "LAD22NMW": ""} for i, (a, b, lad) in enumerate(rows)]
                 ).to_csv(folder / "lsoa11_lsoa21_lookup.csv", index=False)
    pd.DataFrame([{"lsoa21_code": c, "IMD_decile": float(d), "IMD_rank": 1.0} for c, (_, d, _) in LSOA21.items()]
                 ).to_csv(folder / "iod2025_eng.csv", index=False)
    pd.DataFrame([{"lsoa21_code": c, "lsoa21_name": n, "age_group": g, "usual_residents": r / 2}
                  for c, (n, _, r) in LSOA21.items() for g in ("young", "old")]).to_csv(folder / "census21_pop.csv",
                                                                                       index=False)
    return folder


def _street_file(path: Path, month: str, rows: list[tuple[float, str, str, int]]) -> Path:
    """A police.uk street CSV: (longitude offset, LSOA code, LSOA name, number of burglaries there)."""
    lines = [HEADER] + [f"{month}-{i}-{k},{month},P,P,{LON0 + dx:.6f},{LAT0:.6f},On or near X,{code},{name},Burglary,,"
                        for i, (dx, code, name, n) in enumerate(rows) for k in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _records(tmp_path: Path) -> list[Path]:
    old = _street_file(tmp_path / "2022-01-x-street.csv", "2022-01", [  # 2011 codes (E01000002 exists only then)
        (0.00, "E01000001", "Alpha 001A", 2), (0.02, "E01000002", "Alpha 002A", 1),
        (0.04, "E01000003", "Alpha 002B", 1), (0.06, "E01000004", "Alpha 003A", 3)])
    new = _street_file(tmp_path / "2023-06-x-street.csv", "2023-06", [  # 2021 codes (E01040003 is new)
        (0.00, "E01000001", "Alpha 001A", 1), (0.08, "E01040003", "Alpha 003F", 2)])
    return [old, new]


def _report(tmp_path: Path, ons: eq.OnsTables, files: list[Path]) -> eq.EquityReport:
    inc = ingest(files).incidents
    lsoa = eq.incident_lsoas(inc, files)
    pts = shapely.points(inc["x_m"].to_numpy(float), inc["y_m"].to_numpy(float))
    spots_xy = {}  # one 100 m spot on each distinct place, named by its longitude offset
    for i, p in enumerate(pts):
        key = f"S{round((inc['lon'].iloc[i] - LON0) * 100):02d}"
        spots_xy.setdefault(key, p.buffer(50.0))
    sched = pd.DataFrame({"spot_id": list(spots_xy), "minutes": 15.0})
    return eq.equity_report(sched, spots_xy, inc, lsoa, ons)


@pytest.mark.parametrize("best_fit", [False, True])
def test_2011_codes_reach_their_2021_decile_through_the_lookup(tmp_path, best_fit):
    """Merged 2011 LSOAs take the merged 2021 LSOA's decile; a split one takes the part with the most residents
    (both lookup forms agree); 2021-coded files are used as they are; every spot is named by its district."""
    rep = _report(tmp_path, eq.load_ons(_ons(tmp_path / "ons", best_fit=best_fit)), _records(tmp_path))
    sp = rep.spots.set_index("spot_id")
    assert sp.loc["S00", "imd_decile"] == 5 and sp.loc["S00", "lsoa21_code"] == "E01000001"
    assert sp.loc["S02", "imd_decile"] == 4 and sp.loc["S04", "imd_decile"] == 4  # merge: E01040001
    assert sp.loc["S06", "lsoa21_code"] == "E01040002" and sp.loc["S06", "imd_decile"] == 2  # split: 900 > 300
    assert sp.loc["S08", "imd_decile"] == 7  # a 2021-coded file: E01040003 itself
    assert (sp["lad_name"] == "Alpha").all() and (sp["lad_code"] == ALPHA[0]).all()
    assert sp.loc["S06", "lsoa21_name"] == "Alpha 003E"
    c = rep.counts
    assert c["spots_without_decile"] == 0 and c["incidents_without_decile"] == 0 and c["harm_share_unknown"] == 0
    assert c["incidents_2011_coded"] == 7 and c["area_districts"] == ["Alpha (E06000901)"]
    assert c["incidents_2011_by_change"] == ({"unchanged": 2, "merged": 2, "best fit": 3} if best_fit
                                             else {"unchanged": 2, "merged": 2, "split": 3})
    assert c["records_split_deciles_differ"] == (0 if best_fit else 3)
    t = rep.table.set_index("imd_decile")
    # the area is every 2021 LSOA of Alpha, the split part no record names included (named by its LSOA name)
    assert c["area_lsoas"] == 4 and t["residents"].sum() == 4700 and t.loc[7, "residents"] == 300
    assert t.loc[4, "harm_days"] == 2 * t.loc[5, "harm_days"] / 3  # 2 burglaries in decile 4, 3 in decile 5


def test_file_vintage_is_read_from_its_codes(tmp_path):
    """A code that exists only among 2011 codes makes its file 2011-coded, one only among 2021 codes 2021."""
    ons = eq.load_ons(_ons(tmp_path / "ons", best_fit=True))
    files = _records(tmp_path)
    inc = ingest(files).incidents
    v = eq.file_vintages(eq.incident_lsoas(inc, files), inc["source_file"], ons)
    assert v.to_dict() == {"2022-01-x-street.csv": 2011, "2023-06-x-street.csv": 2021}


def test_tables_not_covering_the_force_area_are_refused_in_one_line(tmp_path):
    """Crimes in a district the tables do not hold: refused, naming the district, in one line."""
    ons = eq.load_ons(_ons(tmp_path / "ons", best_fit=True))
    files = [_street_file(tmp_path / "2023-01-y-street.csv", "2023-01", [
        (0.0, "E01000077", "Gamma 004B", 5), (0.02, "E01000001", "Alpha 001A", 1)])]
    with pytest.raises(EvaluationError, match="do not cover the crimes' area: 1 of its 2 districts") as err:
        _report(tmp_path, ons, files)
    assert "Gamma" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(EvaluationError, match="IoD 2019"):  # the old 2011-coded sample is no longer read
        (tmp_path / "old").mkdir()
        (tmp_path / "old" / "iod2019_eng.csv").write_text("lsoa11_code\n")
        eq.load_ons(tmp_path / "old")


def _leics_programme(tmp_path: Path) -> Path:
    inc = ingest(LEICS, aoi_lonlat=(-0.8229, 52.5236, -0.4277, 52.7611)).incidents
    spots = top_cell_spots(inc, cell_m=250, n_spots=6, until="2022-08-01")
    ids = [f["properties"]["spot_id"] for f in spots["features"]]
    return write_programme(tmp_path / "rutland", design=programme_design(
        date(2022, 8, 1), 31, timezone="Europe/London", spot_size_m=250, seed=3),
        schedule=k_of_n(ids, date(2022, 8, 1), 31, 3)(3), spots_geojson=spots)


def _evaluate(folder: Path, out: Path, *extra: str):
    return runner.invoke(app, ["evaluate", str(folder), *sum((["--crimes", str(p)] for p in LEICS), []),
                               "--out", str(out), "--draws", "99", "--json", *extra])


@pytest.mark.slow
def test_evaluate_names_districts_refuses_foreign_tables_and_never_silently_replaces_equity(tmp_path):
    """Bundled default: every spot named by district, every crime with a decile. Tables for another area: no
    table and one warning line. A re-run without --ons after one with other tables is refused and keeps the
    table; the same tables again are accepted."""
    folder = _leics_programme(tmp_path)
    r = _evaluate(folder, tmp_path / "E")
    assert r.exit_code == 0, r.output
    js = json.loads(r.stdout.strip().splitlines()[-1])["equity"]
    assert js["spots_without_decile"] == 0 and js["harm_share_unknown"] == 0 and js["incidents_2011_coded"] > 0
    assert len(js["area_districts"]) == 9 and "Rutland (E06000017)" in js["area_districts"]
    spots = pd.read_csv(tmp_path / "E" / "equity-spots.csv")
    assert len(spots) == 6 and set(spots["lad_name"]) == {"Rutland"} and spots["lad_code"].notna().all()
    assert "Rutland" in (tmp_path / "E" / "evaluation.html").read_text()

    foreign = _evaluate(folder, tmp_path / "F", "--ons", str(_ons(tmp_path / "ons", best_fit=True)))
    assert foreign.exit_code == 0 and not (tmp_path / "F" / "equity.csv").exists()
    lines = [ln for ln in foreign.stderr.splitlines() if "equity" in ln]
    assert len(lines) == 1 and "do not cover the crimes' area: 9 of its 9 districts (Leicester" in lines[0]

    other = tmp_path / "ons-edited"  # the bundled tables with one decile changed: other inputs
    shutil.copytree(eq.bundled_ons_folder(), other)
    iod = pd.read_csv(other / "iod2025_eng.csv")
    iod.loc[0, "IMD_decile"] = 11 - iod.loc[0, "IMD_decile"]
    iod.to_csv(other / "iod2025_eng.csv", index=False)
    assert _evaluate(folder, tmp_path / "G", "--ons", str(other)).exit_code == 0
    good = (tmp_path / "G" / "equity.csv").read_bytes()
    again = _evaluate(folder, tmp_path / "G")
    assert again.exit_code != 0 and "was made with the ONS tables in" in again.output
    assert str(other) in again.output and len(again.output.strip().splitlines()) == 1
    assert (tmp_path / "G" / "equity.csv").read_bytes() == good
    assert _evaluate(folder, tmp_path / "G", "--ons", str(other)).exit_code == 0


def test_an_equity_table_of_unrecorded_origin_is_replaced_with_a_warning_line(tmp_path):
    """A folder written before the source was recorded: the run says, in a line, that it replaces the table."""
    (tmp_path / "E").mkdir()
    (tmp_path / "E" / "equity.csv").write_text("imd_decile\n")
    (tmp_path / "E" / "evaluation.json").write_text(json.dumps({"equity": {"ons_folder": "somewhere"}}))
    line = eq.guard_equity_table(tmp_path / "E", None)
    assert line.startswith("warning:") and "not recorded" in line
    assert eq.guard_equity_table(tmp_path / "nothing-here", None) == ""


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "ons-lsoa").is_dir(), reason="../shared data folder is not present")
def test_essex_2025_with_the_shared_tables_has_every_spot_and_crime_on_a_decile(tmp_path):
    """Essex 2025 (2021 codes) with the full ONS folder: no spot without a decile, under 1% of harm unknown,
    14 districts and 1,111 LSOAs; the bundled tables are refused for Essex."""
    files = sorted((SHARED / "policeuk-essex-2025").glob("*-street.csv"))
    inc = ingest(files).incidents
    spots = top_cell_spots(inc, cell_m=150, n_spots=20, until="2025-10-01")
    ids = [f["properties"]["spot_id"] for f in spots["features"]]
    prog = read_programme(write_programme(tmp_path / "essex", design=programme_design(
        date(2025, 10, 1), 90, timezone="Europe/London", spot_size_m=150, seed=5),
        schedule=k_of_n(ids, date(2025, 10, 1), 90, 8)(5), spots_geojson=spots))
    rep = eq.equity_from_incidents(prog, inc, files, ons=SHARED / "ons-lsoa")
    c = rep.counts
    assert c["spots_without_decile"] == 0 and c["harm_share_unknown"] < 0.01
    assert len(c["area_districts"]) == 14 and c["area_lsoas"] == 1111 and rep.spots["lad_name"].notna().all()
    with pytest.raises(EvaluationError, match="Southend-on-Sea"):
        eq.equity_from_incidents(prog, inc, files)

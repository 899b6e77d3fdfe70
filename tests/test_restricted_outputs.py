"""Restricted intelligence in every output: only in aggregates of 3 or more reports, never by category or age.

Restricted reports (handling code ``C``: not to be disseminated) are planted in the two best cells of the
bundled Rutland night (real police.uk crimes): one cell gets 1 or 2, the other 3 or 4. In ``plan.json``,
``plan.geojson``, ``briefing.html``, the ``hotspots --out`` GeoJSON and the programme's ``spots.geojson`` the
small cell shows no restricted count, its category and age shares and record counts are exactly those of the
same run without intelligence, and its absolute breakdown columns are withheld; the large cell shows its count
and share, still with no category or age of the restricted reports.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrol_planner.cli import app
from patrol_planner.hotspots.disclosure import MIN_RESTRICTED_PUBLISHED

REPO = Path(__file__).resolve().parents[1]
CRIMES = sorted((REPO / "data" / "policeuk-leicestershire-2022").glob("*.csv"))
runner = CliRunner()
#: Category and date of every planted report: a day before the night's as-of, so "under 7 days" would show.
PLANTED = ("Robbery", "2022-09-01T21:00:00")
HEADER = "intel_id,reported_at,lon,lat,subject_category,source_evaluation,intelligence_assessment,handling_code,text"


def scenario(folder: Path, name: str, intel: Path | None) -> Path:
    """A bundled scenario with absolute data paths and the synthetic intelligence replaced by ``intel``."""
    text = (REPO / "scenarios" / name).read_text(encoding="utf-8").replace('"../data/', f'"{REPO / "data"}/')
    sample = re.search(r'.*intel-rutland-synthetic.*\n', text).group(0)
    text = text.replace(sample, f'  {{ path = "{intel}", format = "intelligence" }},\n' if intel else "")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def plant(path: Path, places: list[tuple[float, float, int]]) -> Path:
    """Restricted reports (3x5x2 grading 1/A/C) at ``(lon, lat, how many)``."""
    rows = [HEADER]
    for j, (lon, lat, n) in enumerate(places):
        rows += [f"R{j}-{k},{PLANTED[1]},{lon},{lat},{PLANTED[0]},1,A,C,secret {j}-{k}" for k in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def run_plan(scen: Path, out: Path, cache: Path) -> dict:
    r = runner.invoke(app, ["plan", str(scen), "--out", str(out), "--seconds", "1", "--cache-dir", str(cache)])
    assert r.exit_code == 0, r.output
    return {h["hotspot_id"]: h for h in json.loads((out / "plan.json").read_text(encoding="utf-8"))["hotspots"]}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    """The night planned from the crimes alone: its hotspots by id, best first."""
    tmp = tmp_path_factory.mktemp("base")
    return run_plan(scenario(tmp, "rutland-night.toml", None), tmp / "out", tmp_path_factory.getbasetemp() / "c")


PUBLIC_KEYS = ("by_age", "by_category", "n_incidents", "n_intelligence")


def same_public(got: dict, want: dict) -> None:
    """Shares within rounding and identical record counts: the restricted reports changed nothing shown."""
    for k in ("n_incidents", "n_intelligence"):
        assert got[k] == want[k], k
    for k in ("by_age", "by_category"):
        assert got[k].keys() == want[k].keys(), k
        assert all(abs(got[k][c] - want[k][c]) <= 0.0015 for c in got[k]), (k, got[k], want[k])


@pytest.mark.parametrize("small", [1, 2])
def test_plan_outputs_publish_restricted_reports_only_as_three_or_more(base, tmp_path, tmp_path_factory,
                                                                       small: int) -> None:
    """plan.json, plan.geojson and the briefing: the cell with 1-2 restricted reports shows no count, and its
    shares and counts equal the crimes-only run; the cell with 3-4 shows the count and its share of the score."""
    (a_id, a), (b_id, b) = list(base.items())[:2]
    large = small + 2
    intel = plant(tmp_path / "intel.csv", [(a["lon"], a["lat"], small), (b["lon"], b["lat"], large)])
    out = tmp_path / "out"
    got = run_plan(scenario(tmp_path, "rutland-night.toml", intel), out, tmp_path_factory.getbasetemp() / "c")
    ga, gb = got[a_id]["breakdown"], got[b_id]["breakdown"]
    assert ga["n_restricted_intelligence"] is None and ga["restricted_share"] is None
    same_public(ga, a["breakdown"])
    assert gb["n_restricted_intelligence"] == large >= MIN_RESTRICTED_PUBLISHED and gb["restricted_share"] > 0
    same_public(gb, b["breakdown"])
    assert got[a_id]["score"] > a["score"]  # the reports do count in the ranking
    geo = {f["properties"]["hotspot_id"]: json.loads(f["properties"]["breakdown_json"])
           for f in json.loads((out / "plan.geojson").read_text(encoding="utf-8"))["features"]
           if f["properties"].get("kind") == "hotspot"}
    assert geo[a_id] == ga and geo[b_id] == gb
    html = (out / "briefing.html").read_text(encoding="utf-8")
    rows = re.findall(rf'<tr data-hotspot="{a_id}">.*?</tr>', html, flags=re.S)
    assert rows and all("robbery" not in r.lower() and "under 7 days" not in r for r in rows)
    assert all(re.search(rf"restricted intelligence\W*{small}\b", r) is None for r in rows)
    for f in out.rglob("*"):
        if f.is_file():
            assert "secret" not in f.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize("small", [1, 2])
def test_hotspots_geojson_withholds_a_small_cells_breakdown(base, tmp_path, small: int) -> None:
    """`hotspots --out`: the small cell's restricted count, restricted score part and absolute category, age and
    police-generated columns are null (its score minus their sum would give the one report's weight); its record
    counts leave the reports out; the large cell has its count and part, and no Robbery or recent-age score from
    them."""
    (a_id, a), (b_id, b) = list(base.items())[:2]
    large = small + 2
    intel = plant(tmp_path / "intel.csv", [(a["lon"], a["lat"], small), (b["lon"], b["lat"], large)])

    def cells(files: list[Path], name: str) -> dict:
        out = tmp_path / name
        r = runner.invoke(app, ["hotspots", *map(str, files), "--as-of", "2022-09-02", "--out", str(out),
                                "--top", "5000", "--ranker", "weighted"])
        assert r.exit_code == 0, r.output
        return {f["properties"]["cell_id"]: f["properties"] for f in json.loads(out.read_text())["features"]}

    plain, got = cells(CRIMES, "plain.geojson"), cells([*CRIMES, intel], "with.geojson")
    pa, pb, ga, gb = plain[a_id], plain[b_id], got[a_id], got[b_id]
    withheld = [k for k in ga if k.startswith("score_") and k not in ("score_own", "score_neighbours")]
    assert "score_robbery" in withheld and "score_age_lt7d" in withheld
    assert all(ga[k] is None for k in [*withheld, "n_restricted_intelligence", "police_generated_share"])
    assert (ga["n_incidents"], ga["n_intelligence"]) == (pa["n_incidents"], pa["n_intelligence"])
    assert gb["n_restricted_intelligence"] == large and gb["score_restricted_intelligence"] > 0
    assert (gb["score_robbery"], gb["score_age_lt7d"]) == (pb["score_robbery"], pb["score_age_lt7d"])
    assert (gb["n_incidents"], gb["n_intelligence"]) == (pb["n_incidents"], pb["n_intelligence"])


def test_programme_spots_show_no_small_restricted_count(tmp_path) -> None:
    """The programme's spots.geojson: the best spot with 1 restricted report shows no count and the crime
    shares of the design without intelligence; the second best with 3 shows its count."""
    plain = tmp_path / "plain"
    r = runner.invoke(app, ["programme", str(scenario(tmp_path / "s0", "rutland-programme.toml", None)),
                            "--out", str(plain)])
    assert r.exit_code == 0, r.output
    base = json.loads((plain / "spots.geojson").read_text())["features"]
    a, b = base[0]["properties"], base[1]["properties"]
    spots = {f["properties"]["spot_id"]: f for f in base}
    pts = [(spots[p["spot_id"]]["geometry"]["coordinates"][0], n) for p, n in ((a, 1), (b, 3))]
    centres = [(sum(x for x, _ in ring[:4]) / 4, sum(y for _, y in ring[:4]) / 4, n) for ring, n in pts]
    intel = plant(tmp_path / "intel.csv", centres)
    out = tmp_path / "with"
    r = runner.invoke(app, ["programme", str(scenario(tmp_path / "s1", "rutland-programme.toml", intel)),
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    got = {f["properties"]["cell_id"]: f["properties"]["breakdown"]
           for f in json.loads((out / "spots.geojson").read_text())["features"]}
    ga, gb = got[a["cell_id"]], got[b["cell_id"]]
    assert ga["n_restricted_intelligence"] is None and gb["n_restricted_intelligence"] == 3
    for g, p in ((ga, a["breakdown"]), (gb, b["breakdown"])):
        assert g["n_incidents"] == p["n_incidents"] and g["by_category"].keys() == p["by_category"].keys()
        assert all(abs(g["by_category"][c] - p["by_category"][c]) <= 0.0015 for c in g["by_category"])
    assert "secret" not in "".join(f.read_text(errors="replace") for f in out.rglob("*") if f.is_file())

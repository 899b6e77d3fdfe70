"""The Essex programme scenario builds from the CLI on the 2025 police.uk files in ../shared (skipped when absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrol_planner.cli import app
from patrol_planner.programme import read_programme

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data" / "raw" / "policeuk-essex-2025"

pytestmark = [
    pytest.mark.shared,
    pytest.mark.slow,
    pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/raw/policeuk-essex-2025 is not present"),
]


def test_essex_grip_programme_builds(tmp_path):
    """20 separated 150 m spots, 8 treated each of 90 days, spots chosen only from data before 1 October 2025."""
    out = tmp_path / "essex"
    res = CliRunner().invoke(app, ["programme", str(REPO / "scenarios" / "essex-grip.toml"), "--out", str(out),
                                   "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert (summary["spots"], summary["days"], summary["treated_spot_days"]) == (20, 90, 720)
    assert 0.5 < summary["mde_at_80_power"] < 1
    prog = read_programme(out)
    assert prog.design["history"]["as_of"].startswith("2025-10-01")
    assert (prog.schedule.groupby("date")["treated"].sum() == 8).all()


def test_essex_spots_are_findable_and_institutions_set_aside(tmp_path):
    """Essex spots carry their district (ONS code) and OS grid reference in unique labels; hospital and prison
    points are set aside with a reason; the calendar map names the districts' towns and groups spots by district."""
    import re

    out = tmp_path / "essex"
    res = CliRunner().invoke(app, ["programme", str(REPO / "scenarios" / "essex-grip.toml"), "--out", str(out),
                                   "--ons", str(REPO / ".." / "shared" / "data" / "raw" / "ons-lsoa")])
    assert res.exit_code == 0, res.output
    prog = read_programme(out)
    props = list(prog.spot_properties.values())
    assert len({p["label"] for p in props}) == 20
    assert all(re.fullmatch(r"E0[67]\d{6}", p["district_code"]) and p["district"] in p["label"] for p in props)
    assert all(re.fullmatch(r"T[LMQR] \d{4} \d{4}", p["grid_ref"]) and p["grid_ref"] in p["label"] for p in props)
    assert not any(p["place"] in ("On or near Hospital", "On or near Prison") for p in props)
    kinds = {c["kind"] for c in prog.design["institutions_set_aside"]["cells"]}
    assert {"hospital", "prison", "police station"} <= kinds
    html = (out / "calendar.html").read_text(encoding="utf-8")
    assert '<text class="town big"' in html and "Chelmsford</th>" in html and "Southend-on-Sea</th>" in html

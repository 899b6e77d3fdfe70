"""Hostile and odd input to ingestion: dates out of range, free text in intelligence, decompression bombs,
archives of many members, and error messages that must not echo a file's contents."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from patrol_planner.errors import ScenarioError
from patrol_planner.incidents import ingest
from patrol_planner.scenario.config import load_scenario

REPO = Path(__file__).resolve().parents[1]
STREET_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                 "Crime type,Last outcome category,Context")
INTEL_HEADER = ("intel_id,reported_at,lon,lat,subject_category,source_evaluation,intelligence_assessment,"
                "handling_code,text")


def _street_row(cid: str, month: str = "2022-07", lon: str = "-0.731", lat: str = "52.671") -> str:
    force = "Leicestershire Police"
    return f"{cid},{month},{force},{force},{lon},{lat},On or near Mill Street,E01013761,Rutland 003A,Burglary,,"


def _ingest(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ingest(path)


# --- dates out of range ------------------------------------------------------------------------------------------


def test_months_out_of_range_are_quarantined_not_wrapped(tmp_path: Path):
    """9999-12 used to become 1816 and -2022-07 2070; now they (and 1899, 2200) are quarantined as bad_date."""
    months = ["2022-07", "9999-12", "-2022-07", "1899-12", "2200-01", "2199-12", "1900-01"]
    p = tmp_path / "s.csv"
    p.write_text("\n".join([STREET_HEADER, *(_street_row(f"c{i}", m) for i, m in enumerate(months))]) + "\n")
    res = _ingest(p)
    assert sorted(res.incidents["incident_id"]) == ["c0", "c5", "c6"]
    t = res.incidents["occurred_from"]
    assert t.min() >= np.datetime64("1900-01-01") and t.max() < np.datetime64("2200-01-01")
    q = res.quarantine.set_index("source_line")
    assert set(q.index) == {3, 4, 5, 6}
    assert (q["reason"] == "bad_date").all()
    assert q["detail"].str.contains("outside the accepted range").all()


def test_timestamps_out_of_range_are_quarantined_not_wrapped(tmp_path: Path):
    """Intelligence reported_at in year 9999, -2022 or 1000 is quarantined instead of wrapping round."""
    rows = ["i1,2022-07-01T10:00,-0.731,52.671,burglary,1,A,P,x",
            "i2,9999-07-01T10:00,-0.731,52.671,burglary,1,A,P,x",
            "i3,-2022-07-01,-0.731,52.671,burglary,1,A,P,x",
            "i4,1000-07-01T10:00+01:00,-0.731,52.671,burglary,1,A,P,x"]
    p = tmp_path / "i.csv"
    p.write_text("\n".join([INTEL_HEADER, *rows]) + "\n")
    res = _ingest(p)
    assert res.incidents["incident_id"].tolist() == ["intel:i1"]
    assert res.quarantine["reason"].tolist() == ["bad_date"] * 3


@pytest.mark.parametrize(("key", "value"), [("night", "9999-12-31"), ("night", "0001-01-01"),
                                            ("as_of", "9999-12-31T22:00:00")])
def test_scenario_night_far_out_is_one_line(tmp_path: Path, key: str, value: str):
    """A scenario night (or as_of) in year 9999 or 1 is refused as a scenario error, not an OverflowError later."""
    text = (REPO / "scenarios" / "rutland-night.toml").read_text()
    lines = [f"{key} = {value}" if ln.startswith(f"{key} =") else ln for ln in text.splitlines()]
    p = tmp_path / "n.toml"
    p.write_text("\n".join(lines).replace('"../data', f'"{REPO}/data'))
    with pytest.raises(ScenarioError, match=f"{key} .* is outside the accepted range"):
        load_scenario(p)


def test_programme_start_date_far_out_is_one_line(tmp_path: Path):
    """A programme start_date in year 9999 is refused when the scenario is read."""
    text = (REPO / "scenarios" / "rutland-programme.toml").read_text()
    lines = ["start_date = 9999-12-30" if ln.startswith("start_date =") else ln for ln in text.splitlines()]
    p = tmp_path / "p.toml"
    p.write_text("\n".join(lines).replace('"../data', f'"{REPO}/data'))
    with pytest.raises(ScenarioError, match="start_date 9999-12-30 is outside the accepted range"):
        load_scenario(p)

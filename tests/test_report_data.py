"""plan.json round trips of the hand-made Rutland plan (``conftest.py``; synthetic, clearly labelled)."""

from __future__ import annotations

import json

import pytest

from patrol_planner.errors import InputFileError
from patrol_planner.plan import Plan


def test_plan_json_round_trip_is_exact(plan: Plan, tmp_path) -> None:
    """plan.json -> Plan gives back the same value, base map included (it used to be dropped)."""
    p = tmp_path / "plan.json"
    plan.to_json(p)
    back = Plan.from_json(p)
    assert back == plan
    assert back.base_map["lines"] == plan.base_map["lines"]
    assert back.to_json() == plan.to_json()


def test_plan_json_is_plain_json_with_documented_top_level(plan: Plan) -> None:
    """plan.json's top-level keys are exactly the documented ones; times are ISO 8601 with offset."""
    d = json.loads(plan.to_json())
    assert set(d) == {"schema_version", "title", "timezone", "units", "hotspots", "metrics", "provenance",
                      "base_map", "tasking", "rules"}
    assert d["units"][0]["stops"][0]["arrive"] == "2024-06-14T22:10:00+01:00"


def test_from_json_bad_file_is_a_clear_error(tmp_path) -> None:
    """A truncated or foreign file gives InputFileError naming the file, not a KeyError traceback."""
    p = tmp_path / "plan.json"
    p.write_text('{"units": [', encoding="utf-8")
    with pytest.raises(InputFileError, match="not a plan.json"):
        Plan.from_json(p)
    p.write_text('{"title": "x"}', encoding="utf-8")
    with pytest.raises(InputFileError, match="units"):
        Plan.from_json(p)
    with pytest.raises(InputFileError, match="cannot read"):
        Plan.from_json(tmp_path / "missing.json")

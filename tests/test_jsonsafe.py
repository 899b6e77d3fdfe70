"""No JSON the package writes holds NaN or Infinity (Python writes them by default; JSON has neither)."""

from __future__ import annotations

import ast
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from patrol_planner.errors import PatrolPlannerError
from patrol_planner.jsonsafe import finite_or_none, first_non_finite, strict_dumps

SRC = Path(__file__).resolve().parents[1] / "src" / "patrol_planner"


def _json_calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr in ("dump", "dumps") and isinstance(n.func.value, ast.Name) and n.func.value.id == "json"]


def test_every_json_writer_in_the_package_refuses_nan():
    """Each json.dump/json.dumps call in src passes allow_nan=False (a NaN either fails loudly or was turned
    into null on purpose by finite_or_none), so spots.geojson's "score_own": NaN cannot happen again."""
    calls = []
    for path in sorted(SRC.rglob("*.py")):
        for call in _json_calls(ast.parse(path.read_text(encoding="utf-8"))):
            kw = {k.arg: k.value for k in call.keywords}
            ok = isinstance(kw.get("allow_nan"), ast.Constant) and kw["allow_nan"].value is False
            calls.append((f"{path.relative_to(SRC)}:{call.lineno}", ok))
    assert len(calls) >= 8  # the scan sees the writers (plan, programme, dosage, evaluation, CLI ...)
    assert [where for where, ok in calls if not ok] == []


def test_strict_dumps_names_where_the_nan_is():
    """A NaN deep in a record is refused with its dotted path; numpy floats are found too."""
    rec = {"units": [{"id": "A", "road_m": 1.0}, {"id": "B", "road_m": np.float64("inf")}]}
    assert first_non_finite(rec) == "units.1.road_m"
    with pytest.raises(PatrolPlannerError, match=r"plan.json would hold .* at units.1.road_m"):
        strict_dumps({"units": [{"id": "A"}, {"id": "B", "road_m": float("nan")}]}, what="plan.json")
    assert strict_dumps({"a": [1.5, None]}, what="x") == '{"a": [1.5, null]}'


def test_summaries_print_nan_as_null(capsys):
    """--json summaries print an undefined figure as null (valid JSON), not NaN."""
    from patrol_planner.cli._common import print_json

    print_json({"share": float("nan"), "n": np.int64(3), "rows": [{"x": np.float32("inf")}]})
    out = capsys.readouterr().out
    assert json.loads(out, parse_constant=lambda t: pytest.fail(t)) == {"n": 3, "rows": [{"x": None}], "share": None}
    assert finite_or_none((1.0, math.nan)) == [1.0, None]


def test_a_plan_with_a_nan_is_refused_not_written(make_plan, tmp_path):
    """plan.json is strict: a NaN metric is a one-line error naming it, and the file is not written."""
    plan = make_plan()
    bad = replace(plan, metrics={**plan.metrics, "harm_share": float("nan")})
    with pytest.raises(PatrolPlannerError, match="metrics.harm_share"):
        bad.to_json(tmp_path / "plan.json")
    assert not (tmp_path / "plan.json").exists()
    json.loads(plan.to_json(), parse_constant=lambda t: pytest.fail(t))

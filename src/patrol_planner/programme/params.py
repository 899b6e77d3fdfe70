"""The ``[programme]`` table of a scenario file, validated, and the loader that reads it.

The table's model (:class:`ProgrammeParams`) lives with the other scenario tables
(:mod:`patrol_planner.scenario.programme_table`), so ``load_scenario`` accepts a file holding one. The
loader here validates the ``[programme]`` table on its own first, so a bad programme field is a one-line
:class:`ProgrammeError` naming the field. See ``docs/programme.md`` for the meaning of each field.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from patrol_planner.errors import ProgrammeError
from patrol_planner.scenario import Scenario, scenario_from_dict
from patrol_planner.scenario.programme_table import ProgrammeParams, SpotPoint, normalise_programme_table

__all__ = ["ProgrammeParams", "SpotPoint", "load_programme_scenario", "programme_params_from_dict"]


def _format(err: ValidationError, source: str) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        where = f"programme.{loc}" if loc else "programme"
        parts.append(f"{where}: {e['msg']}")
    return f"scenario {source}: " + "; ".join(parts)


def programme_params_from_dict(table: dict[str, Any], *, source: str = "<dict>") -> ProgrammeParams:
    """Validate a ``[programme]`` table; :class:`ProgrammeError` in one line naming each bad field.

    TOML dates arrive as :class:`datetime.date`; a date written as a string ``"2025-10-01"`` is accepted too.
    """
    try:
        table = normalise_programme_table(dict(table))
    except ValueError as exc:
        raise ProgrammeError(f"scenario {source}: {exc}") from None
    try:
        return ProgrammeParams.model_validate(table)
    except ValidationError as exc:
        raise ProgrammeError(_format(exc, source)) from None


def load_programme_scenario(path: str | Path) -> tuple[Scenario, ProgrammeParams]:
    """Read a scenario file holding a ``[programme]`` table.

    Returns the scenario (validated by the scenario package's ``scenario_from_dict``, its ``programme``
    field set) and the programme parameters.
    """
    p = Path(path)
    if not p.is_file():
        raise ProgrammeError(f"scenario file not found: {p}")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProgrammeError(f"scenario {p} is not valid TOML: {exc}") from None
    table = raw.pop("programme", None)
    if not isinstance(table, dict):
        raise ProgrammeError(f"scenario {p} has no [programme] table (see docs/programme.md)")
    params = programme_params_from_dict(table, source=str(p))
    scenario = scenario_from_dict({**raw, "programme": table}, base_dir=p.resolve().parent, source=str(p))
    return scenario, params

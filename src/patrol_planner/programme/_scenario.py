"""The only place the programme stage touches the scenario package: loading, ingest, hotspot model, labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from patrol_planner.scenario import Scenario, cell_labels, ingest_scenario, parse_hhmm, parse_window, patrol_relevant
from patrol_planner.scenario import scenario_from_dict as scenario_from_dict

__all__ = ["Scenario", "hotspot_model", "ingest", "parse_hhmm", "parse_window", "place_labels", "scenario_from_dict",
           "usable_records"]


def ingest(s: Scenario) -> tuple[pd.DataFrame, tuple[Path, ...]]:
    """The scenario's incident table (working CRS in ``attrs["crs"]``) and the files read."""
    ing = ingest_scenario(s.resolved())
    return ing.incidents, tuple(ing.files)


def usable_records(incidents: pd.DataFrame, s: Scenario) -> pd.DataFrame:
    """Records that can make a patrol hotspot (police stations, prisons and, if configured, intelligence out)."""
    usable, _ = patrol_relevant(incidents, s.hotspots)
    return usable


def hotspot_model(s: Scenario, *, cell_size_m: float) -> Any:
    """The scenario's unfitted ``HotspotModel`` with cells of ``cell_size_m`` [m]."""
    from patrol_planner.hotspots import HotspotModel

    return HotspotModel(**{**s.resolved().hotspot_params, "cell_size_m": cell_size_m})


def place_labels(model: Any, incidents: pd.DataFrame, cell_ids: list[str], as_of: pd.Timestamp) -> dict[str, str]:
    """The commonest public police.uk location text of each cell's records before ``as_of``."""
    return cell_labels(model, incidents, cell_ids, as_of)

"""The only place the programme stage touches the scenario package: loading, ingest, hotspot model, labels.

The scenario code is being reorganised (``scenario.py`` + ``scenario_config.py`` into a ``scenario/``
package whose ``Scenario.resolved()`` feeds the steps). Both layouts are supported here so the programme
stage works before and after that merge; once the old modules are gone the ``except ImportError`` branch
can be deleted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

try:  # the scenario package (scenario/config.py, scenario/steps.py)
    from patrol_planner.scenario import Scenario, parse_hhmm, parse_window, scenario_from_dict

    _PACKAGE = True
except ImportError:  # the older flat modules
    from patrol_planner.scenario_config import Scenario, parse_hhmm, parse_window, scenario_from_dict

    _PACKAGE = False

__all__ = ["Scenario", "hotspot_model", "ingest", "parse_hhmm", "parse_window", "place_labels", "scenario_from_dict",
           "usable_records"]


def ingest(s: Scenario) -> tuple[pd.DataFrame, tuple[Path, ...]]:
    """The scenario's incident table (working CRS in ``attrs["crs"]``) and the files read."""
    from patrol_planner.scenario import ingest_scenario

    ing = ingest_scenario(s.resolved() if _PACKAGE else s)
    return ing.incidents, tuple(ing.files)


def usable_records(incidents: pd.DataFrame, s: Scenario) -> pd.DataFrame:
    """Records that can make a patrol hotspot (police stations, prisons and, if configured, intelligence out)."""
    from patrol_planner.scenario import patrol_relevant

    usable, _ = patrol_relevant(incidents, s.hotspots if _PACKAGE else s)
    return usable


def hotspot_model(s: Scenario, *, cell_size_m: float) -> Any:
    """The scenario's unfitted ``HotspotModel`` with cells of ``cell_size_m`` [m]."""
    if _PACKAGE:
        from patrol_planner.hotspots import HotspotModel

        return HotspotModel(**{**s.resolved().hotspot_params, "cell_size_m": cell_size_m})
    from patrol_planner.scenario import hotspot_model as old

    return old(s).set_params(cell_size_m=cell_size_m)


def place_labels(model: Any, incidents: pd.DataFrame, cell_ids: list[str], as_of: pd.Timestamp) -> dict[str, str]:
    """The commonest public police.uk location text of each cell's records before ``as_of``."""
    from patrol_planner.scenario import cell_labels

    return cell_labels(model, incidents, cell_ids, as_of)

"""The only place the programme stage touches the scenario package: loading, ingest, hotspot model, labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from patrol_planner.scenario import Scenario, cell_labels, ingest_scenario, parse_hhmm, parse_window, patrol_relevant
from patrol_planner.scenario import scenario_from_dict as scenario_from_dict

__all__ = ["Scenario", "hotspot_model", "ingest", "institution_cells", "institutions_set_aside", "name_cells",
           "networks", "parse_hhmm", "parse_window", "place_labels", "scenario_from_dict", "usable_records"]


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


def institution_cells(cells: pd.DataFrame, model: Any, incidents: pd.DataFrame, s: Scenario,
                      as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scored cells less OSM institutions, and every institution cell found (``scenario.steps.institution_cells``)."""
    from patrol_planner.scenario import steps as st

    return st.institution_cells(cells, model, incidents, s.hotspots, s.resolved().osm, as_of)


def institutions_set_aside(institutions: pd.DataFrame, chosen: pd.DataFrame, names: list[Any]) -> dict[str, Any]:
    """The institution record for ``programme.json`` (``scenario.steps.institutions_set_aside``)."""
    from patrol_planner.scenario import steps as st

    return st.institutions_set_aside(institutions, chosen, names)


def networks(s: Scenario, crs: str, modes: list[str] | None = None) -> dict[str, Any]:
    """The scenario's road networks (by mode; default: the units' modes, else drive); empty without data.osm."""
    from patrol_planner.scenario import steps as st

    r = s.resolved()
    if r.osm is None:
        return {}
    return st.build_networks(r.osm, modes or [u.mode for u in s.units] or ["drive"], crs=crs)


def name_cells(ids: list[str], x_m: Any, y_m: Any, places: list[str], s: Scenario, incidents: pd.DataFrame,
               model: Any, nets: dict[str, Any]) -> list[Any]:
    """Each spot's :class:`~patrol_planner.places.SpotName` (``scenario.steps.name_cells``)."""
    from patrol_planner.scenario import steps as st

    return st.name_cells(ids, x_m, y_m, places, s.resolved(), incidents, model, nets)

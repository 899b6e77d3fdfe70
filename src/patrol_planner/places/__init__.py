"""Places an officer can find: districts, nearest streets, OS grid references, unique labels, institutions.

Sits between ``network`` and ``scenario``: the nightly plan (:mod:`patrol_planner.scenario`) and the programme
(:mod:`patrol_planner.programme`) name their spots with :func:`describe_spots`. See ``docs/hotspots.md``
("Spots an officer can find").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.places.districts import District, lad_lookup, record_lsoas, spot_districts
from patrol_planner.places.gridref import grid_ref, grid_refs_lonlat
from patrol_planner.places.labels import SpotName, is_generic, label_of, name_spots
from patrol_planner.places.streets import nearest_streets

__all__ = ["District", "SpotName", "describe_spots", "grid_ref", "grid_refs_lonlat", "is_generic", "label_of",
           "name_spots", "nearest_streets", "record_lsoas"]


def describe_spots(ids: list[str], x_m: np.ndarray, y_m: np.ndarray, places: list[str], *, crs: str,
                   records: pd.DataFrame, grid: Any, crime_files: list[Path] | tuple[Path, ...] = (),
                   ons: str | Path | None = None, network: Any = None) -> list[SpotName]:
    """Name each spot (centre ``x_m, y_m`` [m, ``crs``]; ``places``: its police.uk text).

    ``records`` are the incidents the spots were scored from (working CRS) and ``grid`` the model's cell grid;
    their LSOA codes are read back from ``crime_files`` (police.uk street CSVs) and mapped to districts through
    the ONS lookup in ``ons`` (default: the bundled Leicestershire subset). ``network`` (a ``RoadNetwork``),
    when given, names the nearest street.
    """
    from patrol_planner.geo import BNG, transform

    x = np.asarray(x_m, float)
    y = np.asarray(y_m, float)
    pub = records[records["source_kind"] != "intelligence"]
    lsoa = record_lsoas(pub, list(crime_files))
    rix, riy = grid.index(pub["x_m"].to_numpy(float), pub["y_m"].to_numpy(float))
    six, siy = grid.index(x, y)
    districts = spot_districts(list(grid.cell_ids(six, siy)), np.column_stack([x, y]), grid.cell_ids(rix, riy),
                               pub[["x_m", "y_m"]].to_numpy(float), lsoa, lad_lookup(ons))
    streets = nearest_streets(network, x, y) if network is not None else [""] * len(x)
    bx, by = (x, y) if crs == BNG else transform(x, y, crs, BNG)
    refs = [grid_ref(a, b) for a, b in zip(bx, by, strict=True)]
    return name_spots(list(ids), list(places), districts, streets, refs)

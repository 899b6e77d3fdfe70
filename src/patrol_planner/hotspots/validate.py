"""Checks of the incident table a hotspot model is fitted on (columns, CRS, coordinates, times, weights)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.errors import HotspotError
from patrol_planner.geo import check_projected
from patrol_planner.incidents.schema import STOP_AND_SEARCH

#: Columns of the canonical incident table the model reads.
NEEDED_COLUMNS = ("incident_id", "source_kind", "category", "occurred_from", "occurred_to", "time_known", "x_m",
                  "y_m", "confidence", "disseminate")


def checked_table(incidents: Any) -> tuple[pd.DataFrame, str, int]:
    """The canonical table without stop-and-search rows, its projected CRS and how many searches it held."""
    if not isinstance(incidents, pd.DataFrame):
        raise HotspotError(f"incidents must be a DataFrame (the canonical table), not {type(incidents).__name__}")
    missing = [c for c in NEEDED_COLUMNS if c not in incidents.columns]
    if missing:
        raise HotspotError(f"incident table lacks columns {missing}; read files with patrol_planner.incidents")
    crs = incidents.attrs.get("crs")
    if not crs:
        raise HotspotError("incident table has no attrs['crs']; read it with patrol_planner.incidents")
    crs = check_projected(crs)
    if len(incidents) == 0:
        raise HotspotError("no incidents to fit: the table is empty (empty area or all rows quarantined)")
    # A search says where police looked, not where harm happened: searches never score (see
    # docs/hotspots.md, "Police-generated records"); they are counted and set aside.
    search = (incidents["category"].astype(object) == STOP_AND_SEARCH).to_numpy(bool)
    n_searches = int(search.sum())
    if n_searches:
        incidents = incidents[~search]
        if len(incidents) == 0:
            raise HotspotError("only stop-and-search records: searches never score, so nothing to fit")
    return incidents, crs, n_searches


def checked_weights(sample_weight: Any, n: int) -> np.ndarray:
    """``sample_weight`` as floats: one finite weight >= 0 per incident, else :class:`HotspotError`."""
    sw = np.asarray(sample_weight, dtype=float)
    if sw.shape != (n,) or not (np.isfinite(sw).all() and (sw >= 0).all()):
        raise HotspotError(f"sample_weight needs one finite weight >= 0 per incident ({n})")
    return sw


def checked_arrays(incidents: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """``x_m, y_m`` [m], ``occurred_from/to`` (datetime64[ns]) and ``confidence``, each checked."""
    x = incidents["x_m"].to_numpy(float)
    y = incidents["y_m"].to_numpy(float)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise HotspotError("some incidents have no coordinates (x_m/y_m); quarantine them before scoring")
    t0 = pd.to_datetime(incidents["occurred_from"]).to_numpy("datetime64[ns]")
    t1 = pd.to_datetime(incidents["occurred_to"]).to_numpy("datetime64[ns]")
    if np.isnat(t0).any() or np.isnat(t1).any():
        raise HotspotError("some incidents have no occurred_from/occurred_to time")
    conf = incidents["confidence"].to_numpy(float)
    if not (np.isfinite(conf) & (conf > 0) & (conf <= 1)).all():
        raise HotspotError("confidence must be in (0, 1] for every record")
    return x, y, t0, t1, conf

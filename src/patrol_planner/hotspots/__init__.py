"""Hotspots stage: harm- and recency-weighted cells, explained, and proven by backtest.

``HotspotModel(...).fit(incidents).score(as_of)`` gives one row per cell; :func:`select_hotspots` picks
the nightly list; :func:`cells_to_geojson` writes it; :func:`backtest` compares the model with baselines
on held-out months. See ``docs/hotspots.md``.
"""

from patrol_planner.hotspots.export import cell_polygons_lonlat, cells_to_geojson
from patrol_planner.hotspots.grid import Grid
from patrol_planner.hotspots.harm import CCHI, ONS_CSS, HarmWeights, resolve_harm
from patrol_planner.hotspots.model import HotspotModel, select_hotspots


def backtest(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201
    """See :func:`patrol_planner.hotspots.backtest.backtest` (imported lazily: it pulls in scipy)."""
    from patrol_planner.hotspots.backtest import backtest as _bt

    return _bt(*args, **kwargs)


__all__ = [
    "CCHI",
    "ONS_CSS",
    "Grid",
    "HarmWeights",
    "HotspotModel",
    "backtest",
    "cell_polygons_lonlat",
    "cells_to_geojson",
    "resolve_harm",
    "select_hotspots",
]

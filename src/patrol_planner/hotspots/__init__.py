"""Hotspots stage: harm- and recency-weighted cells, explained, and proven by backtest.

``HotspotModel(...).fit(incidents).score(as_of)`` gives one row per cell; :func:`select_hotspots` picks
the nightly list; :func:`cells_to_geojson` writes it; :func:`backtest` compares the model with baselines
on held-out months. See ``docs/hotspots.md``.
"""

# the function shadows the submodule of the same name; importing it here, once, keeps it that way
from patrol_planner.hotspots.backtest import backtest
from patrol_planner.hotspots.export import cell_polygons_lonlat, cells_to_geojson
from patrol_planner.hotspots.grid import Grid
from patrol_planner.hotspots.harm import CCHI, ONS_CSS, HarmWeights, resolve_harm
from patrol_planner.hotspots.model import HotspotModel
from patrol_planner.hotspots.select import select_hotspots

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

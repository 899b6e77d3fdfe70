"""Working CRS choice and transforms."""

from __future__ import annotations

import numpy as np
import pytest

from patrol_planner.errors import CRSError
from patrol_planner.geo import BNG, ITM, check_projected, choose_working_crs, to_lonlat, to_xy


@pytest.mark.parametrize(
    ("lon", "lat", "crs"),
    [
        (-0.73, 52.67, BNG),  # Oakham
        (0.90, 51.89, BNG),  # Colchester
        (-3.19, 55.95, BNG),  # Edinburgh
        (-5.93, 54.60, ITM),  # Belfast (PSNI data is on police.uk)
        (-6.26, 53.35, ITM),  # Dublin
        (-5.70, 55.40, BNG),  # Campbeltown, Kintyre: Scotland, inside Ireland's box
        (-73.95, 40.70, "EPSG:32618"),  # New York: UTM 18N
        (-87.65, 41.85, "EPSG:32616"),  # Chicago: UTM 16N
        (151.2, -33.87, "EPSG:32756"),  # Sydney: UTM 56S
    ],
)
def test_working_crs_by_place(lon: float, lat: float, crs: str) -> None:
    assert choose_working_crs(np.array([lon]), np.array([lat])) == crs


def test_override_must_be_projected_metres() -> None:
    assert choose_working_crs(np.array([-0.7]), np.array([52.6]), override="EPSG:32630") == "EPSG:32630"
    with pytest.raises(CRSError, match="geographic"):
        choose_working_crs(np.array([-0.7]), np.array([52.6]), override="EPSG:4326")
    with pytest.raises(CRSError, match="unknown CRS"):
        check_projected("EPSG:999999")
    with pytest.raises(CRSError, match="metres"):
        check_projected("EPSG:2263")  # New York Long Island, US survey feet


def test_round_trip_is_centimetre_exact() -> None:
    lon, lat = np.array([-0.7273, 0.9]), np.array([52.6703, 51.89])
    x, y = to_xy(lon, lat, BNG)
    assert x[0] == pytest.approx(486_000, abs=3_000) and y[0] == pytest.approx(308_800, abs=3_000)
    lo, la = to_lonlat(x, y, BNG)
    assert np.allclose(lo, lon, atol=1e-7) and np.allclose(la, lat, atol=1e-7)

"""Lagged counts per square cell and month: the features of the learned ranker.

A :class:`CellHistory` bins every record of the canonical table into (cell, calendar month, category)
counts once; :meth:`CellHistory.features` then reads, for any as-of, the counts of the months *before*
the as-of's month in the cell and in its eight neighbours. Nothing at or after the as-of's month is read,
so a snapshot at the first day of month ``T`` sees exactly what a forecaster would have seen.

Feature names (all rates per month [records/month] unless said):

* ``<cat>_1m``, ``<cat>_3m``, ``<cat>_all``: the cell's own records of category ``<cat>`` (a short slug of
  the police.uk type, ASB included) in the last month, mean of the last three months, mean of all earlier
  months;
* ``nb_<cat>_all``: the same all-months rate summed over the eight neighbours;
* ``nb_crime_1m``, ``nb_crime_3m``: neighbours' crimes (ASB excluded), last month and 3-month mean;
* ``harm_1m``, ``harm_3m``, ``harm_all``, ``nb_harm_all``: victim harm (CCHI days, the backtest's target
  weights) of the same windows [harm-days/month];
* ``months_active``: share of earlier months with at least one record in the cell [-];
* ``n_months``: how many earlier months there are [months].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from patrol_planner.errors import HotspotError
from patrol_planner.hotspots.grid import _SQ_NEIGHBOURS, pack, unpack
from patrol_planner.hotspots.harm import ASB, target_harm_weights
from patrol_planner.incidents.schema import POLICE_UK_CATEGORIES

_ASB_CODE = POLICE_UK_CATEGORIES.index(ASB)
_SLUG = {
    "Anti-social behaviour": "asb", "Bicycle theft": "bike", "Burglary": "burglary",
    "Criminal damage and arson": "damage", "Drugs": "drugs", "Other crime": "other_crime",
    "Other theft": "other_theft", "Possession of weapons": "weapons", "Public order": "public_order",
    "Robbery": "robbery", "Shoplifting": "shoplifting", "Theft from the person": "theft_person",
    "Vehicle crime": "vehicle", "Violence and sexual offences": "violence",
}
CATEGORY_SLUGS: tuple[str, ...] = tuple(_SLUG[c] for c in POLICE_UK_CATEGORIES)


def feature_names() -> list[str]:
    """The feature columns of :meth:`CellHistory.features`, in order."""
    names = [f"{s}_{w}" for s in CATEGORY_SLUGS for w in ("1m", "3m", "all")]
    names += [f"nb_{s}_all" for s in CATEGORY_SLUGS]
    names += ["nb_crime_1m", "nb_crime_3m", "harm_1m", "harm_3m", "harm_all", "nb_harm_all", "months_active",
              "n_months"]
    return names


def feature_group(name: str) -> str:
    """The group a feature belongs to in explanations: its crime type, or ``harm`` / ``history``."""
    base = name.removeprefix("nb_").rsplit("_", 1)[0]
    if base in CATEGORY_SLUGS:
        return base
    if name.startswith(("nb_crime",)):
        return "neighbour_crime"
    if "harm" in name:
        return "harm"
    return "history"


@dataclass(frozen=True)
class CellHistory:
    """Record counts per square cell, calendar month and police.uk category.

    Attributes
    ----------
    cell_size_m : float
        Square side [m], anchored at the CRS origin.
    keys : numpy.ndarray
        Packed cell keys (sorted) of every cell holding any record.
    months : pandas.PeriodIndex
        Consecutive calendar months from the first record's to the last's.
    counts : numpy.ndarray
        ``(n_cells, n_months, n_categories)`` record counts [records].
    harm : numpy.ndarray
        ``(n_cells, n_months)`` victim harm (CCHI days; ASB, drugs, weapons 0) [harm-days].
    neighbours : numpy.ndarray
        ``(n_cells, 8)`` row of each neighbour in ``keys``, -1 where the neighbour holds no record.
    """

    cell_size_m: float
    keys: np.ndarray
    months: pd.PeriodIndex
    counts: np.ndarray
    harm: np.ndarray
    neighbours: np.ndarray

    @classmethod
    def from_incidents(cls, incidents: pd.DataFrame, cell_size_m: float = 100.0) -> CellHistory:
        """Bin the canonical table (working CRS [m]) into cells of ``cell_size_m`` [m] and months."""
        if len(incidents) == 0:
            raise HotspotError("no incidents to learn from: the table is empty")
        s = float(cell_size_m)
        codes = pd.Categorical(incidents["category"].astype(object), categories=list(POLICE_UK_CATEGORIES)).codes
        if (np.asarray(codes) < 0).any():
            raise HotspotError("unknown or missing categories: map them to the police.uk types")
        k = pack(np.floor(incidents["x_m"].to_numpy(float) / s), np.floor(incidents["y_m"].to_numpy(float) / s))
        keys, ci = np.unique(k, return_inverse=True)
        per = pd.DatetimeIndex(incidents["occurred_from"]).to_period("M")
        months = pd.period_range(per.min(), per.max(), freq="M")
        mi = np.asarray((per - months[0]).map(lambda d: d.n), np.int64)
        nc, nm, nk = len(keys), len(months), len(POLICE_UK_CATEGORIES)
        flat = (ci * nm + mi) * nk + np.asarray(codes, np.int64)
        counts = np.bincount(flat, minlength=nc * nm * nk).reshape(nc, nm, nk).astype(np.float32)
        harm = np.tensordot(counts, target_harm_weights().astype(np.float32), axes=([2], [0]))
        ix, iy = unpack(keys)
        nb = np.full((nc, len(_SQ_NEIGHBOURS)), -1, np.int64)
        for j, (dx, dy) in enumerate(_SQ_NEIGHBOURS):
            nk_ = pack(ix + dx, iy + dy)
            pos = np.minimum(np.searchsorted(keys, nk_), nc - 1)
            nb[:, j] = np.where(keys[pos] == nk_, pos, -1)
        return cls(cell_size_m=s, keys=keys, months=months, counts=counts, harm=harm, neighbours=nb)

    def n_before(self, as_of: pd.Timestamp) -> int:
        """How many of ``months`` lie wholly before the as-of's month [months]."""
        p = pd.Timestamp(as_of).to_period("M")
        return int(np.clip((p - self.months[0]).n, 0, len(self.months)))

    def _nb_sum(self, v: np.ndarray) -> np.ndarray:
        padded = np.concatenate([v, np.zeros((1, *v.shape[1:]), v.dtype)])
        return padded[self.neighbours].sum(axis=1)

    def features(self, as_of: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the cells with any record before the as-of's month, and their feature matrix.

        Returns
        -------
        rows : numpy.ndarray
            Indices into ``keys`` [-].
        X : numpy.ndarray
            ``(len(rows), len(feature_names()))`` float32.
        """
        m = self.n_before(as_of)
        if m == 0:
            raise HotspotError(f"as-of {pd.Timestamp(as_of):%Y-%m-%d} is before all data: nothing to learn from")
        c = self.counts[:, :m]
        h = self.harm[:, :m]
        w3 = min(3, m)
        c1, c3, ca = c[:, -1], c[:, -w3:].sum(1) / w3, c.sum(1) / m
        h1, h3, ha = h[:, -1], h[:, -w3:].sum(1) / w3, h.sum(1) / m
        crime = np.ones(c.shape[2], bool)
        crime[_ASB_CODE] = False
        cr1, cr3 = c1[:, crime].sum(1), c3[:, crime].sum(1)
        active = (c.sum(2) > 0).mean(1)
        own = np.stack([c1, c3, ca], axis=2).reshape(len(c), -1)
        nb = self._nb_sum(np.column_stack([ca, cr1, cr3, ha]))
        X = np.column_stack([own, nb[:, : c.shape[2] + 2], h1, h3, ha, nb[:, -1], active,
                             np.full(len(c), m, np.float32)]).astype(np.float32)
        rows = np.flatnonzero(c.sum((1, 2)) > 0)
        return rows, X[rows]

    def target(self, as_of: pd.Timestamp) -> np.ndarray:
        """Victim harm of the as-of's month per cell [harm-days] (zeros if the month is not in the data)."""
        m = self.n_before(as_of)
        if m >= len(self.months):
            return np.zeros(len(self.keys), np.float32)
        return self.harm[:, m]

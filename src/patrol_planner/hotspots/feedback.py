"""Guards against the patrol feedback loop: records that police activity generates.

Drugs and weapons possession offences, and stop-and-search records, are mostly *found* by officers rather
than reported by victims, so where they are recorded follows where officers were sent (Lum & Isaac 2016).
A model that ranks places by those records and sends patrols to the top of the ranking finds more of them
there, ranks those places higher still, and runs away from the true distribution of offending (Ensign et
al. 2018). This module gives the pieces to see and to stop that:

* :data:`POLICE_GENERATED_CATEGORIES` and :func:`is_police_generated`: which records are police-generated.
* :func:`inverse_discovery_weight` (per record, arrays) and :func:`discovery_weights` (incident table +
  presence table): the Ensign et al. correction, each police-generated record weighted by the inverse of
  the probability that police were there to find it; victim-reported records keep weight 1.
* :func:`police_generated_share`: how much of each scored cell comes from police-generated records,
  from the per-category breakdown of :meth:`HotspotModel.score`.

The two-area simulation that shows the loop without a guard and its absence with one is not part of the
package: ``benchmarks/benchlib/feedback_sim.py`` (used by ``benchmarks/feedback.py`` and the tests).

The discovery model, its estimation and its limits are in ``docs/feedback.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patrol_planner.errors import HotspotError
from patrol_planner.hotspots.grid import Grid
from patrol_planner.hotspots.model import category_column
from patrol_planner.incidents.schema import POLICE_GENERATED_CATEGORIES, is_police_generated

#: Default floor of the discovery probability when presence is a probability of being sent [-]: a
#: police-generated record is never weighted more than ``1 / DEFAULT_FLOOR`` = 20 records.
DEFAULT_FLOOR = 0.05
#: Default floor when presence is minutes present per day [min/day]: a judgement, not an estimate, that
#: finding by other means (calls, CCTV, response units) is worth 5 minutes of presence a day; a Koper
#: visit of 15 min/day is then 3x the floor, not lost under it.
DEFAULT_FLOOR_MINUTES = 5.0
MINUTES_PER_DAY = 1440.0


def inverse_discovery_weight(
    police_generated: np.ndarray, presence_share: np.ndarray, *, floor: float = DEFAULT_FLOOR
) -> np.ndarray:
    """Weight of each record under the inverse-discovery-probability correction [records per record].

    Parameters
    ----------
    police_generated : array of bool
        True for a police-generated record (see :func:`is_police_generated`).
    presence_share : array of float
        Probability that police were present where and when the record arose [-], in [0, 1]: the share of
        the period police were there (minutes present / minutes in the period) or the probability a
        randomised schedule sent them there. Broadcasts against ``police_generated``.
    floor : float
        Lowest discovery probability [-], in (0, 1]: stands for finding by other means (calls, CCTV,
        response units). Caps the weight at ``1 / floor``.

    Returns
    -------
    numpy.ndarray of float
        ``1 / max(presence_share, floor)`` for police-generated records, ``1`` for the others.
    """
    if not (isinstance(floor, int | float) and 0 < floor <= 1):
        raise HotspotError(f"floor must be a probability in (0, 1], got {floor!r}")
    share = np.asarray(presence_share, float)
    if not (np.isfinite(share).all() and (share >= 0).all() and (share <= 1).all()):
        raise HotspotError("presence share must be a probability in [0, 1] for every record")
    pg = np.asarray(police_generated, bool)
    return np.where(pg, 1.0 / np.maximum(share, floor), 1.0)


def _presence_share(presence: pd.DataFrame, *, place_col: str, date_col: str, freq: str,
                    minutes_col: str | None, share_col: str | None) -> pd.Series:
    """Mean share of each period police were present, per (place, period) [-]."""
    need = [place_col, date_col, minutes_col or share_col]
    missing = [c for c in need if c not in presence.columns]
    if missing:
        raise HotspotError(f"presence table lacks columns {missing}; expected {need}")
    days = pd.to_datetime(presence[date_col], errors="coerce")
    if days.isna().any():
        raise HotspotError(f"presence table has rows with no valid {date_col!r}")
    col = minutes_col if minutes_col is not None else share_col
    value = pd.to_numeric(presence[col], errors="coerce").to_numpy(float)  # text -> NaN -> the error below
    if minutes_col is not None:
        value = value / MINUTES_PER_DAY
    if not (np.isfinite(value).all() and (value >= 0).all() and (value <= 1 + 1e-9).all()):
        what = f"{minutes_col} must be in [0, 1440] min per day" if minutes_col else f"{share_col} must be in [0, 1]"
        raise HotspotError(f"presence table: {what}")
    per = days.dt.to_period(freq)
    frame = pd.DataFrame({"place": presence[place_col].astype(str).to_numpy(), "period": per.to_numpy(),
                          "value": np.minimum(value, 1.0)})
    total = frame.groupby(["place", "period"])["value"].sum()
    # days of a period missing from the table count as no presence: divide by the period's length
    per_idx = pd.PeriodIndex(total.index.get_level_values("period"))
    n_days = ((per_idx.end_time - per_idx.start_time).days + 1).to_numpy(float)
    return (total / n_days).clip(upper=1.0)


def discovery_weights(
    incidents: pd.DataFrame,
    presence: pd.DataFrame,
    *,
    place_col: str = "cell_id",
    grid: Grid | None = None,
    presence_place_col: str | None = None,
    date_col: str = "date",
    minutes_col: str | None = "minutes_present",
    share_col: str | None = None,
    freq: str = "D",
    floor: float | None = None,
    normalise: bool = True,
) -> np.ndarray:
    """Inverse-discovery-probability weight of each incident (Ensign et al. 2018's correction).

    Model: a police-generated record in place ``c`` during period ``t`` was found with probability
    ``pi(c, t) = max(s(c, t), floor)``, where ``s`` is the share of the period police were present there
    (``minutes_present / 1440`` averaged over the period's days, days absent from ``presence`` counting as
    0) or, with ``share_col``, the probability a randomised schedule sent them there. Its weight is
    ``1 / pi`` [records]: the number of such records a constant presence would have found, an unbiased
    (Horvitz-Thompson) count wherever ``s >= floor``. Victim-reported records keep weight 1. With
    ``normalise`` the police-generated weights are then scaled to average 1 over the table, so they keep
    their recorded total and only move between places and periods.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incident table (``category``, ``occurred_from``; ``x_m, y_m`` [m, working CRS] when
        ``grid`` is given, else ``place_col``).
    presence : pandas.DataFrame
        One row per place per day: ``date_col``, the place column and ``minutes_col`` [min present that
        day, 0..1440] (e.g. ``dosage.csv`` with ``presence_place_col="spot_id"`` after mapping spots to
        cells) or ``share_col`` [-] (set ``minutes_col=None``).
    place_col : str
        Place column of ``incidents`` (ignored when ``grid`` is given: places are then its cell ids).
    grid : Grid, optional
        Cells of a fitted model (``model.grid_``): incidents are placed by ``x_m, y_m``.
    presence_place_col : str, optional
        Place column of ``presence``; default ``place_col`` (or ``"cell_id"`` with a grid).
    date_col, minutes_col, share_col : str
        Columns of ``presence``; exactly one of ``minutes_col`` and ``share_col``.
    freq : str
        Period over which presence and records are matched: ``"D"`` for timed records, ``"M"`` for
        police.uk monthly records (a record's period is that of its ``occurred_from``).
    floor : float, optional
        Lowest discovery probability [-] (the weight is at most ``1 / floor`` before normalising); default
        :data:`DEFAULT_FLOOR_MINUTES` / 1440 with ``minutes_col``, :data:`DEFAULT_FLOOR` with ``share_col``.
    normalise : bool
        Scale police-generated weights to mean 1 over the table (victim-reported stay 1).

    Returns
    -------
    numpy.ndarray of float
        One weight per incident row, in row order [records per record].
    """
    if (minutes_col is None) == (share_col is None):
        raise HotspotError("discovery_weights needs exactly one of minutes_col and share_col")
    if "category" not in incidents.columns or "occurred_from" not in incidents.columns:
        raise HotspotError("incident table lacks category/occurred_from; read files with patrol_planner.incidents")
    if grid is not None:
        places = grid.cell_ids(*grid.index(incidents["x_m"].to_numpy(float), incidents["y_m"].to_numpy(float)))
        presence_place_col = presence_place_col or "cell_id"
    else:
        if place_col not in incidents.columns:
            raise HotspotError(f"incident table has no {place_col!r} column; pass grid=model.grid_ or place_col")
        places = incidents[place_col].astype(str).to_numpy()
        presence_place_col = presence_place_col or place_col
    share = _presence_share(presence, place_col=presence_place_col, date_col=date_col, freq=freq,
                            minutes_col=minutes_col, share_col=share_col)
    periods = pd.to_datetime(incidents["occurred_from"]).dt.to_period(freq).to_numpy()
    idx = pd.MultiIndex.from_arrays([np.asarray(places, dtype=object), periods], names=["place", "period"])
    s = share.reindex(idx).fillna(0.0).to_numpy(float)
    if floor is None:
        floor = DEFAULT_FLOOR_MINUTES / MINUTES_PER_DAY if minutes_col is not None else DEFAULT_FLOOR
    pg = is_police_generated(incidents["category"])
    w = inverse_discovery_weight(pg, s, floor=floor)
    if normalise and pg.any():
        w[pg] = w[pg] / w[pg].mean()
    return w


def police_generated_share(cells: pd.DataFrame) -> pd.DataFrame:
    """Share of each scored cell's score that comes from police-generated records [-].

    Reads the per-category breakdown of :meth:`HotspotModel.score` (``score_<category>`` columns, which sum
    with ``score_restricted_intelligence`` to ``score_own``; restricted intelligence has no category). The
    smoothing term ``score_neighbours`` is split the same way from the neighbours'
    own breakdowns (``smoothing`` x mean over the grid's neighbour offsets), so pass the *whole* table
    from ``score``: a cut-down table is detected (the rebuilt neighbour term no longer matches) and refused.

    Returns
    -------
    pandas.DataFrame
        ``cells`` (row order and ``attrs`` kept) plus ``score_police_generated`` [harm-days, own +
        neighbours], ``police_generated_share`` (of ``score``) and ``police_generated_share_own`` (of
        ``score_own``), both in [0, 1] (0 for a zero score).
    """
    for c in ("score", "score_own", "score_neighbours", "ix", "iy"):
        if c not in cells.columns:
            raise HotspotError(f"police_generated_share needs the table from HotspotModel.score (no {c!r})")
    method = (cells.attrs.get("ranking") or {}).get("method", "weighted")
    if method != "weighted":
        # another ranking rescales each cell's parts by its own factor, so the neighbour term can no longer
        # be split from the neighbours' parts; the per-cell column police_generated_share still holds
        raise HotspotError(f"police_generated_share splits the weighted score; this table is ranked by "
                           f"{method!r}: score with ranker='weighted', or read its police_generated_share column")
    cols = [category_column(c) for c in sorted(POLICE_GENERATED_CATEGORIES) if category_column(c) in cells.columns]
    own_pg = cells[cols].sum(axis=1).to_numpy(float) if cols else np.zeros(len(cells))
    own = cells["score_own"].to_numpy(float)
    nb_pg, nb_all = _neighbour_terms(cells, [own_pg, own])
    if not np.allclose(nb_all, cells["score_neighbours"].to_numpy(float), rtol=1e-6, atol=1e-9):
        raise HotspotError("police_generated_share needs every scored cell (the whole table from score), "
                           "not a selection: neighbours' scores are missing")
    total = cells["score"].to_numpy(float)
    pg = own_pg + nb_pg
    out = cells.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["score_police_generated"] = pg
        out["police_generated_share"] = np.where(total > 0, np.clip(pg / total, 0, 1), 0.0)
        out["police_generated_share_own"] = np.where(own > 0, np.clip(own_pg / own, 0, 1), 0.0)
    out.attrs = dict(cells.attrs)
    return out


def _neighbour_terms(cells: pd.DataFrame, values: list[np.ndarray]) -> list[np.ndarray]:
    """``smoothing`` x mean over neighbour offsets of each value, as :meth:`HotspotModel.score` builds it."""
    params = cells.attrs.get("params", {})
    smoothing = float(params.get("smoothing", 0.0))
    if not smoothing:
        return [np.zeros(len(cells)) for _ in values]
    grid = Grid(cell_size_m=float(cells.attrs.get("cell_size_m", 100.0)), kind=cells.attrs.get("grid", "square"))
    ix = cells["ix"].to_numpy(np.int64)
    iy = cells["iy"].to_numpy(np.int64)
    lookup = pd.Series(np.arange(len(cells)), index=pd.MultiIndex.from_arrays([ix, iy]))
    offs = grid.neighbour_offsets()
    acc = [np.zeros(len(cells)) for _ in values]
    for dx, dy in offs:
        pos = lookup.reindex(pd.MultiIndex.from_arrays([ix + dx, iy + dy])).to_numpy()
        hit = ~np.isnan(pos)
        for a, v in zip(acc, values, strict=True):
            a[hit] += v[pos[hit].astype(np.int64)]
    return [smoothing * a / len(offs) for a in acc]

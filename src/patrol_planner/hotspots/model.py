"""HotspotModel: harm- and recency-weighted cell scores, each one explainable.

A record's contribution to its cell is::

    harm[category] x confidence x mean decay over its interval

where harm comes from :mod:`patrol_planner.hotspots.harm` (ASB and the enforcement types handled by the
explicit ``asb_weight`` and ``enforcement_weight``), ``confidence`` is 1 for recorded crime and the
grading's value for intelligence, and the decay is ``2 ** (-age / half_life_days)`` averaged exactly over
``[occurred_from, min(occurred_to, as_of)]`` (a police.uk month counts as the whole month). A cell's score
is the sum of its records plus ``smoothing`` times the mean of its neighbours' sums.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.errors import HotspotError, NotFittedError
from patrol_planner.geo import to_lonlat
from patrol_planner.hotspots.grid import Grid, pack
from patrol_planner.hotspots.harm import (
    POLICE_GENERATED_CATEGORIES,
    HarmWeights,
    record_weights,
    resolve_harm,
)
from patrol_planner.hotspots.recency import data_age_days, mean_decay
from patrol_planner.hotspots.validate import checked_arrays, checked_table, checked_weights
from patrol_planner.incidents.schema import POLICE_UK_CATEGORIES

_NS_PER_DAY = 86_400e9
#: Age bands of the explanation [days]: (label, lower, upper).
AGE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("lt7d", 0.0, 7.0),
    ("7_30d", 7.0, 30.0),
    ("30_90d", 30.0, 90.0),
    ("gt90d", 90.0, np.inf),
)
#: Source kinds whose ``time_known`` timestamp is the time of the event (a crime's occurrence, a call's
#: time). ``intelligence`` is absent: its time is ``reported_at``, when the report was made.
EVENT_TIME_KINDS: tuple[str, ...] = ("police_uk_street", "police_uk_api", "generic")
N_TOP_INCIDENTS = 3


def category_column(category: str) -> str:
    """Breakdown column name of a police.uk category, e.g. ``score_violence_and_sexual_offences``."""
    return "score_" + category.lower().replace(" ", "_").replace("-", "_")


CATEGORY_COLUMNS: tuple[str, ...] = tuple(category_column(c) for c in POLICE_UK_CATEGORIES)
AGE_COLUMNS: tuple[str, ...] = tuple(f"score_age_{b[0]}" for b in AGE_BANDS)


def _as_timestamp(value: Any, what: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise HotspotError(f"{what} {value!r} is not a date (use YYYY-MM-DD)") from None
    if ts is pd.NaT:
        raise HotspotError(f"{what} is missing")
    if ts.tzinfo is not None:
        # incident times are local wall-clock without zone; compare like with like
        ts = ts.tz_localize(None)
    return ts


class HotspotModel:
    """Harm- and recency-weighted hot-spot cells.

    The defaults were chosen by ``benchmarks/hotspot_sweep.py`` over all four Essex 2018 folds and checked
    on Leicestershire 2022 and Colchester 2023 (see ``docs/hotspots.md``).

    Parameters
    ----------
    cell_size_m : float
        Side of a square cell (a hexagon has the same area) [m], 100..5000.
    half_life_days : float
        Half-life of a record's weight [days]; ``inf`` for no decay.
    harm : {"cchi", "ons_css"} or HarmWeights or mapping
        Severity table [days per record].
    asb_weight : float
        Weight of one anti-social behaviour record [days]; neither index scores ASB.
    enforcement_weight : float
        Multiplier on the table weight of Drugs and Possession of weapons [-].
    volume_weight : float
        Days added to every other crime's harm weight [days], so busy places count as well as harmful
        ones (not to ASB, which has ``asb_weight``, nor the enforcement types).
    smoothing : float
        Share of the mean neighbour score added to each cell [-], >= 0.
    grid : {"square", "hex"}
        Cell shape.
    origin : tuple of float, optional
        Grid anchor ``(x, y)`` [m, working CRS]; default the CRS origin.
    ranker : {"blend", "auto", "weighted", "harm", "shrunk", "learned"}
        How cells are ranked (see :mod:`patrol_planner.hotspots.ranking`): ``weighted`` the harm- and
        recency-weighted sum above; ``harm`` all prior victim harm in the cell; ``shrunk`` that harm
        with each cell's harm per crime shrunk towards the force's mean
        (:mod:`~patrol_planner.hotspots.shrunk`); ``learned`` the
        :class:`~patrol_planner.hotspots.learned.LearnedRanker`; ``blend`` (default) learned, weighted,
        past and shrunk harm in equal shares; ``auto`` whichever of
        :data:`~patrol_planner.hotspots.ranking.AUTO_CANDIDATES` captured most harm on the force's own
        last ``auto_folds`` months (ties to the simplest). ``learned`` and ``blend`` need 4 months of
        data before the as-of (else ``shrunk`` is used, with intelligence added, and the ranking's reason
        says so); rankings other than ``weighted`` need a square grid anchored at the CRS origin.
    auto_folds : int
        Months the ``auto`` choice tests on [months], >= 1.

    Attributes
    ----------
    crs_ : str
        Working CRS of the fitted incidents.
    grid_ : Grid
        The cell grid.
    harm_ : HarmWeights
        Resolved harm table.
    n_records_ : int
        Records used.
    n_searches_set_aside_ : int
        Stop-and-search records in the table, never scored (police activity, not harm).
    data_start_, data_end_ : pandas.Timestamp
        Earliest ``occurred_from`` and latest ``occurred_to``.
    profile_sources_ : dict of str to int
        Records that shape :meth:`hour_of_week_profile`, counted by ``source_kind``: only records whose
        time of day is known and is the time of the event (:data:`EVENT_TIME_KINDS`); intelligence
        reports never count (their time is when they were reported). Empty for police.uk months.
    ranking_ : dict
        After :meth:`score`: the ranking used at that as-of, ``{"method", "reason", "choice"}`` (the
        automatic choice's per-candidate merits and months tested, or None).
    profile_is_flat_ : bool
        True when no record has an event time, so every profile is flat (all ones) and downstream
        makes no time variants.
    """

    def __init__(
        self,
        *,
        cell_size_m: float = 100.0,
        half_life_days: float = 365.0,
        harm: str | HarmWeights | Mapping[str, float] = "cchi",
        asb_weight: float = 100.0,
        enforcement_weight: float = 0.05,
        volume_weight: float = 60.0,
        smoothing: float = 0.1,
        grid: str = "square",
        origin: tuple[float, float] | None = None,
        ranker: str = "blend",
        auto_folds: int = 3,
    ) -> None:
        self.cell_size_m = cell_size_m
        self.half_life_days = half_life_days
        self.harm = harm
        self.asb_weight = asb_weight
        self.enforcement_weight = enforcement_weight
        self.volume_weight = volume_weight
        self.smoothing = smoothing
        self.grid = grid
        self.origin = origin
        self.ranker = ranker
        self.auto_folds = auto_folds

    # -- scikit-learn style parameter access ------------------------------------------------------
    _PARAMS = ("cell_size_m", "half_life_days", "harm", "asb_weight", "enforcement_weight", "volume_weight",
               "smoothing", "grid", "origin", "ranker", "auto_folds")

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, as given."""
        return {k: getattr(self, k) for k in self._PARAMS}

    def set_params(self, **params: Any) -> HotspotModel:
        """Set constructor parameters; unknown names raise :class:`HotspotError`."""
        for k, v in params.items():
            if k not in self._PARAMS:
                raise HotspotError(f"unknown HotspotModel parameter {k!r}; known: {list(self._PARAMS)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        return "HotspotModel(" + ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()) + ")"

    # -- fit ----------------------------------------------------------------------------------------
    def _check_params(self) -> None:
        for name in ("half_life_days",):
            v = getattr(self, name)
            if not isinstance(v, int | float) or np.isnan(v) or v <= 0:
                raise HotspotError(f"{name} must be a positive number of days (or inf), got {v!r}")
        from patrol_planner.hotspots.ranking import RANKERS

        if self.ranker not in RANKERS:
            raise HotspotError(f"ranker must be one of {list(RANKERS)}, got {self.ranker!r}")
        if not isinstance(self.auto_folds, int | np.integer) or self.auto_folds < 1:
            raise HotspotError(f"auto_folds must be a whole number of months >= 1, got {self.auto_folds!r}")
        for name in ("asb_weight", "enforcement_weight", "volume_weight", "smoothing"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or not np.isfinite(v) or v < 0:
                raise HotspotError(f"{name} must be a finite number >= 0, got {v!r}")

    def fit(self, incidents: pd.DataFrame, sample_weight: Any = None) -> HotspotModel:
        """Validate ``incidents`` (the canonical table) and learn the per-record weights and cells.

        Parameters
        ----------
        incidents : pandas.DataFrame
            Canonical incident table (:mod:`patrol_planner.incidents.schema`), ``attrs["crs"]`` projected.
        sample_weight : array-like, optional
            One finite weight >= 0 per row of ``incidents``, multiplying that record's harm weight [-]; e.g.
            :func:`patrol_planner.hotspots.feedback.discovery_weights` from dosage, so police-generated records
            found where patrols were count for what a constant presence would have found (Ensign et al.).

        Returns
        -------
        HotspotModel
            ``self``, fitted.
        """
        self._check_params()
        if sample_weight is not None:
            incidents = incidents.assign(_sample_weight=checked_weights(sample_weight, len(incidents)))
        incidents, crs, n_searches = checked_table(incidents)
        origin = (0.0, 0.0) if self.origin is None else (float(self.origin[0]), float(self.origin[1]))
        grid = Grid(cell_size_m=self.cell_size_m, kind=self.grid, crs=crs, origin=origin)
        harm = resolve_harm(self.harm)
        cat = pd.Categorical(incidents["category"].astype(object), categories=list(POLICE_UK_CATEGORIES))
        bad = incidents["category"][np.asarray(cat.codes) < 0].dropna().unique()
        if len(bad) or incidents["category"].isna().any():
            raise HotspotError(f"unknown or missing categories {list(bad)[:5]}: map them to the police.uk types")
        x, y, t0, t1, conf = checked_arrays(incidents)
        codes = np.asarray(cat.codes, np.int64)
        ix, iy = grid.index(x, y)
        d0 = t0.astype(np.int64) / _NS_PER_DAY
        d1 = np.maximum(t1.astype(np.int64) / _NS_PER_DAY, d0)
        base = record_weights(codes, harm, asb_weight=float(self.asb_weight),
                              enforcement_weight=float(self.enforcement_weight),
                              volume_weight=float(self.volume_weight)) * conf
        if "_sample_weight" in incidents.columns:
            base = base * incidents["_sample_weight"].to_numpy(float)
        kind = incidents["source_kind"].astype(object).to_numpy(object)
        # Only the time of the event itself shapes when patrols pay off: a crime's occurrence or a call's
        # time. An intelligence report's time is when someone reported, not when anything happens there.
        event_timed = incidents["time_known"].to_numpy(bool) & np.isin(kind, EVENT_TIME_KINDS)
        hour_of_week = np.where(event_timed, pd.DatetimeIndex(t0).day_of_week * 24 + pd.DatetimeIndex(t0).hour, -1)
        # deterministic record order whatever the input order, so float sums are bit-identical; a hash of
        # the (unique) id is a fast, order-free tie-breaker
        id_hash = pd.util.hash_array(incidents["incident_id"].astype(object).to_numpy())
        order = np.lexsort((id_hash, d0, iy, ix))
        self.records_ = pd.DataFrame(
            {
                "key": pack(ix, iy)[order],
                "ix": ix[order],
                "iy": iy[order],
                "cat": codes[order],
                "t0_d": d0[order],
                "t1_d": d1[order],
                "base": base[order],
                "intel": (kind == "intelligence")[order],
                "disseminate": incidents["disseminate"].to_numpy(bool)[order],
                "incident_id": incidents["incident_id"].astype(object).to_numpy()[order],
                "how": np.asarray(hour_of_week, np.int64)[order],
            }
        )
        self.crs_ = crs
        self.grid_ = grid
        self.harm_ = harm
        self.n_records_ = int(len(incidents))
        self.n_searches_set_aside_ = n_searches
        self.data_start_ = pd.Timestamp(t0.min())
        self.data_end_ = pd.Timestamp(t1.max())
        src, cnt = np.unique(kind[event_timed].astype(str), return_counts=True)
        self.profile_sources_ = {str(k): int(c) for k, c in zip(src, cnt, strict=True)}
        self.profile_is_flat_ = not bool(event_timed.any())
        self._last_as_of: pd.Timestamp | None = None
        self._rankings: dict[pd.Timestamp, Any] = {}
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "records_"):
            raise NotFittedError("this HotspotModel is not fitted yet: call fit(incidents) first")

    # -- score --------------------------------------------------------------------------------------
    def _contributions(self, as_of: pd.Timestamp) -> tuple[pd.DataFrame, np.ndarray, float]:
        r = self.records_
        now = as_of.value / _NS_PER_DAY
        use = r["t0_d"].to_numpy() < now
        if not use.any():
            raise HotspotError(
                f"as-of {as_of:%Y-%m-%d} is before all data (earliest record {self.data_start_:%Y-%m-%d}): "
                "nothing happened before it"
            )
        rr = r[use]
        t0 = rr["t0_d"].to_numpy()
        t1 = np.minimum(rr["t1_d"].to_numpy(), now)
        w = rr["base"].to_numpy() * mean_decay(t0, t1, now, float(self.half_life_days))
        age_mid = now - (t0 + t1) / 2.0
        return rr, w, age_mid

    def score(self, as_of: Any) -> pd.DataFrame:
        """Score every non-empty cell using only records with ``occurred_from < as_of``.

        Parameters
        ----------
        as_of : date-like
            The moment of prediction (local time, no zone); intervals are clipped to it.

        Returns
        -------
        pandas.DataFrame
            One row per cell holding at least one counted record, sorted by ``rank`` (1 = highest score):
            ``cell_id, ix, iy, x_m, y_m`` (centre [m, working CRS]), ``lon, lat`` [deg], ``score``
            [decayed harm-days], ``rank``, ``n_incidents``, ``area_m2``, ``score_own`` (the cell's own
            records) and ``score_neighbours`` (the smoothing term), ``score_<category>`` and
            ``score_age_<band>`` (records that may be shown; each set plus ``score_restricted_intelligence``,
            the restricted intelligence's part, which has no category or age, sums to ``score_own``),
            ``police_generated_score`` (the drugs and weapons part of ``score_own``, shown records) and
            ``police_generated_share`` (its share of ``score_own`` [-]), ``n_intelligence``,
            ``n_restricted_intelligence`` and ``top_incident_ids`` (ids of the largest contributions among
            records that may be shown; never restricted intelligence). Internal figures: publish a table
            through :func:`~patrol_planner.hotspots.disclosure.published_cells`. ``attrs`` hold ``crs``, ``as_of``,
            ``cell_size_m``, ``grid``, ``origin``, the model parameters, ``profile_sources`` /
            ``profile_is_flat`` (what shapes the hour-of-week profile, see ``profile_sources_``) and
            ``data_age_days`` (from the end of the newest police record to the as-of; a warning past
            :data:`~patrol_planner.hotspots.recency.STALE_AFTER_DAYS`).
        """
        from patrol_planner.hotspots.ranking import rerank

        self._check_fitted()
        as_of = _as_timestamp(as_of, "as-of")
        cells = self._score_weighted(as_of)
        parts = ("score_own", "score_neighbours", "police_generated_score", "score_restricted_intelligence",
                 *CATEGORY_COLUMNS, *AGE_COLUMNS)
        cells, ranking = rerank(self, cells, as_of, parts)
        cells.attrs["ranking"] = ranking
        r = self.records_
        cells.attrs["data_age_days"] = data_age_days(r["t0_d"].to_numpy(), r["t1_d"].to_numpy(),
                                                     ~r["intel"].to_numpy(), as_of.value / _NS_PER_DAY)
        self.ranking_ = ranking
        self._last_as_of = as_of
        return cells

    def weighted_totals(self, as_of: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
        """Packed keys (sorted) and weighted scores (own + smoothing) of the non-empty cells at ``as_of``."""
        rr, w, _ = self._contributions(as_of)
        keys, inv = np.unique(rr["key"].to_numpy(), return_inverse=True)
        own = np.bincount(inv, weights=w, minlength=len(keys))
        first = np.unique(inv, return_index=True)[1]
        nb = self._neighbour_mean(keys, rr["ix"].to_numpy()[first], rr["iy"].to_numpy()[first], own)
        return keys, own + float(self.smoothing) * nb

    def intelligence_totals(self, as_of: pd.Timestamp) -> tuple[np.ndarray, np.ndarray, float]:
        """Packed keys and own weighted scores of the intelligence records at ``as_of``, and the police
        records' weighted total [harm-days] (the scale other rankings rescale intelligence by)."""
        rr, w, _ = self._contributions(as_of)
        intel = rr["intel"].to_numpy(bool)
        keys, inv = np.unique(rr["key"].to_numpy()[intel], return_inverse=True)
        return keys, np.bincount(inv, weights=w[intel], minlength=len(keys)), float(w[~intel].sum())

    def _score_weighted(self, as_of: pd.Timestamp) -> pd.DataFrame:
        rr, w, age = self._contributions(as_of)
        keys, inv = np.unique(rr["key"].to_numpy(), return_inverse=True)
        n = len(keys)
        own = np.bincount(inv, weights=w, minlength=n)
        cnt = np.bincount(inv, minlength=n)
        intel = rr["intel"].to_numpy()
        restricted = intel & ~rr["disseminate"].to_numpy()
        # Restricted intelligence counts in the score but in no breakdown: a category or age band of a
        # cell's one restricted report would say what it was about and when (docs/incidents.md).
        w_shown = np.where(restricted, 0.0, w)
        cats = rr["cat"].to_numpy()
        by_cat = np.bincount(inv * len(POLICE_UK_CATEGORIES) + cats, weights=w_shown,
                             minlength=n * len(POLICE_UK_CATEGORIES)).reshape(n, -1)
        band = np.searchsorted(np.array([b[1] for b in AGE_BANDS[1:]]), age, side="right")
        by_age = np.bincount(inv * len(AGE_BANDS) + band, weights=w_shown,
                             minlength=n * len(AGE_BANDS)).reshape(n, -1)
        n_intel = np.bincount(inv, weights=intel, minlength=n).astype(np.int64)
        n_restr = np.bincount(inv, weights=restricted, minlength=n).astype(np.int64)

        ix = rr["ix"].to_numpy()[np.unique(inv, return_index=True)[1]]
        iy = rr["iy"].to_numpy()[np.unique(inv, return_index=True)[1]]
        nb = self._neighbour_mean(keys, ix, iy, own)
        total = own + float(self.smoothing) * nb

        # top shown incidents per cell: records are in a deterministic order (see fit), so sort by
        # (cell, -weight, record position) and keep the first few shown ones
        shown = np.flatnonzero(~restricted)
        order = shown[np.lexsort((shown, -w[shown], inv[shown]))]
        inv_s = inv[order]
        ids_s = rr["incident_id"].to_numpy()[order]
        first = np.r_[0, np.flatnonzero(np.diff(inv_s)) + 1] if len(inv_s) else np.zeros(0, np.int64)
        pos = np.arange(len(inv_s)) - np.repeat(first, np.diff(np.r_[first, len(inv_s)]))
        top_ids = np.full(n, "", dtype=object)
        for p in range(N_TOP_INCIDENTS):
            at = pos == p
            part = np.full(n, "", dtype=object)
            part[inv_s[at]] = ids_s[at].astype(str).astype(object)
            sep = np.where((top_ids != "") & (part != ""), ",", "").astype(object)
            top_ids = top_ids + sep + part

        x_m, y_m = self.grid_.centre(ix, iy)
        lon, lat = to_lonlat(x_m, y_m, self.crs_)
        cells = pd.DataFrame(
            {
                "cell_id": self.grid_.cell_ids(ix, iy),
                "ix": ix,
                "iy": iy,
                "x_m": x_m,
                "y_m": y_m,
                "lon": lon,
                "lat": lat,
                "score": total,
                "rank": 0,
                "n_incidents": cnt.astype(np.int64),
                "area_m2": self.grid_.area_m2,
                "score_own": own,
                "score_neighbours": total - own,
            }
        )
        for j, col in enumerate(CATEGORY_COLUMNS):
            cells[col] = by_cat[:, j]
        for j, col in enumerate(AGE_COLUMNS):
            cells[col] = by_age[:, j]
        pg = [category_column(c) for c in POLICE_UK_CATEGORIES if c in POLICE_GENERATED_CATEGORIES]
        cells["police_generated_score"] = cells[pg].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cells["police_generated_share"] = np.where(own > 0, cells["police_generated_score"] / own, 0.0)
        cells["n_intelligence"] = n_intel
        cells["n_restricted_intelligence"] = n_restr
        cells["score_restricted_intelligence"] = np.bincount(inv, weights=w - w_shown, minlength=n)
        cells["top_incident_ids"] = top_ids
        # ties broken by cell id so the ranking never depends on input order
        cells = cells.sort_values(["score", "cell_id"], ascending=[False, True], kind="mergesort")
        cells["rank"] = np.arange(1, n + 1)
        cells = cells.reset_index(drop=True)
        cells.attrs.update(self._attrs(as_of))
        return cells

    def _attrs(self, as_of: pd.Timestamp) -> dict[str, Any]:
        params = self.get_params()
        params["harm"] = self.harm_.name
        return {
            "crs": self.crs_,
            "as_of": as_of.isoformat(),
            "cell_size_m": float(self.cell_size_m),
            "grid": self.grid,
            "origin": self.grid_.origin,
            "params": params,
            "profile_sources": dict(self.profile_sources_),
            "profile_is_flat": self.profile_is_flat_,
        }

    def _neighbour_mean(self, keys: np.ndarray, ix: np.ndarray, iy: np.ndarray, own: np.ndarray) -> np.ndarray:
        if not self.smoothing:
            return np.zeros_like(own)
        offs = self.grid_.neighbour_offsets()
        acc = np.zeros_like(own)
        for dx, dy in offs:
            k = pack(ix + dx, iy + dy)
            pos = np.searchsorted(keys, k)
            pos_c = np.minimum(pos, len(keys) - 1)
            hit = keys[pos_c] == k
            acc[hit] += own[pos_c[hit]]
        return acc / len(offs)

    # -- explain ------------------------------------------------------------------------------------
    def explain(self, cell_id: str, *, as_of: Any = None, n_top: int = 5) -> dict[str, Any]:
        """Why a cell scores what it does.

        Parameters
        ----------
        cell_id : str
            A cell id from :meth:`score`.
        as_of : date-like, optional
            Defaults to the ``as_of`` of the latest :meth:`score` call, else the end of the data.
        n_top : int
            How many of the largest shown contributions to list.

        Returns
        -------
        dict
            ``cell_id, as_of, score, score_own, score_neighbours, n_incidents, by_category`` [harm-days],
            ``by_age_band`` [harm-days] (records that may be shown; restricted intelligence is only in
            ``score_restricted_intelligence``), ``police_generated_share`` (share of ``score_own`` from
            police-generated records: drugs, weapons [-]), ``top_incidents`` (list of ``{incident_id, category,
            contribution}``; never restricted intelligence), ``n_intelligence`` and
            ``n_restricted_intelligence`` (counted, never identified).
        """
        self._check_fitted()
        ix, iy = self.grid_.parse_id(cell_id)
        if as_of is None:
            as_of = self._last_as_of if self._last_as_of is not None else self.data_end_
        as_of = _as_timestamp(as_of, "as-of")
        if not (self.records_["t0_d"].to_numpy() < as_of.value / _NS_PER_DAY).any():
            self._contributions(as_of)  # raises the "before all data" error
        rr, ws, age, own, nb, key = self._cell_contributions(ix, iy, as_of)
        cats = rr["cat"].to_numpy()
        intel = rr["intel"].to_numpy()
        restricted = intel & ~rr["disseminate"].to_numpy()
        # as in score(): restricted intelligence in the score, in no category or age band
        by_cat = {POLICE_UK_CATEGORIES[c]: float(ws[(cats == c) & ~restricted].sum())
                  for c in np.unique(cats[~restricted])}
        band = np.searchsorted(np.array([b[1] for b in AGE_BANDS[1:]]), age, side="right")
        by_age = {AGE_BANDS[b][0]: float(ws[(band == b) & ~restricted].sum()) for b in range(len(AGE_BANDS))}
        ids = rr["incident_id"].to_numpy()
        shown = np.flatnonzero(~restricted)
        order = shown[np.lexsort((ids[shown].astype(str), -ws[shown]))][:n_top]
        out = {
            "cell_id": cell_id, "as_of": as_of.isoformat(), "score": own + nb, "score_own": own,
            "score_neighbours": nb, "n_incidents": len(rr), "by_category": by_cat, "by_age_band": by_age,
            "police_generated_share": (sum(v for c, v in by_cat.items() if c in POLICE_GENERATED_CATEGORIES) / own
                                       if own > 0 else 0.0),
            "top_incidents": [
                {"incident_id": str(ids[i]), "category": POLICE_UK_CATEGORIES[cats[i]], "contribution": float(ws[i])}
                for i in order
            ],
            "n_intelligence": int(intel.sum()),
            "n_restricted_intelligence": int(restricted.sum()),
            "score_restricted_intelligence": float(ws[restricted].sum()),
        }
        from patrol_planner.hotspots.ranking import explain_ranking

        return explain_ranking(self, out, key, as_of)

    def _cell_contributions(self, ix: int, iy: int, as_of: pd.Timestamp
                            ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, float, float, int]:
        """The cell's own records before ``as_of`` with their decayed weights [harm-days] and mid-ages [days],
        its own score, its neighbours' smoothed share, and its packed key."""
        # records are sorted by key, so each cell's records are one slice: no full scan per explanation
        allkeys = self.records_["key"].to_numpy()
        offs = np.vstack([[0, 0], self.grid_.neighbour_offsets()])
        nk = pack(ix + offs[:, 0], iy + offs[:, 1])
        lo, hi = np.searchsorted(allkeys, nk, side="left"), np.searchsorted(allkeys, nk, side="right")
        idx = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)])
        sub = self.records_.iloc[idx]
        now = as_of.value / _NS_PER_DAY
        sub = sub[sub["t0_d"].to_numpy() < now]
        t0 = sub["t0_d"].to_numpy()
        t1 = np.minimum(sub["t1_d"].to_numpy(), now)
        w_all = sub["base"].to_numpy() * mean_decay(t0, t1, now, float(self.half_life_days))
        sel = sub["key"].to_numpy() == nk[0]
        own = float(w_all[sel].sum())
        nb = float(self.smoothing) * float(w_all[~sel].sum()) / len(self.grid_.neighbour_offsets())
        age = now - (t0[sel] + t1[sel]) / 2.0
        return sub[sel], w_all[sel], age, own, nb, int(nk[0])

    # -- time of day --------------------------------------------------------------------------------
    def hour_of_week_profile(
        self, cell_ids: Sequence[str], *, as_of: Any = None, min_records: int = 30
    ) -> np.ndarray:
        """Relative risk by hour of the week (Monday 00:00 = column 0) for each cell [-], mean 1 per row.

        Only records with an event time count (see ``profile_sources_``: a known time of day from a
        source whose time is the event's, never an intelligence report's ``reported_at``), and only those
        before ``as_of``. A cell's profile pools its 3x3 (or hex ring) neighbourhood and shrinks towards
        the whole area's profile with ``min_records`` pseudo-records, so sparse cells get the area's
        shape; with no timed events at all (police.uk months, intelligence only) every row is flat (all
        ones).
        """
        self._check_fitted()
        if as_of is None:
            as_of = self._last_as_of if self._last_as_of is not None else self.data_end_
        as_of = _as_timestamp(as_of, "as-of")
        r = self.records_
        timed = (r["how"].to_numpy() >= 0) & (r["t0_d"].to_numpy() < as_of.value / _NS_PER_DAY)
        n = len(cell_ids)
        if not timed.any():
            return np.ones((n, 168))
        how = r["how"].to_numpy()[timed]
        keys = r["key"].to_numpy()[timed]
        area = np.bincount(how, minlength=168).astype(float)
        area_p = area / area.sum()
        out = np.empty((n, 168))
        offs = np.vstack([[0, 0], self.grid_.neighbour_offsets()])
        for i, cid in enumerate(cell_ids):
            ix, iy = self.grid_.parse_id(str(cid))
            near = np.isin(keys, pack(ix + offs[:, 0], iy + offs[:, 1]))
            c = np.bincount(how[near], minlength=168).astype(float)
            p = (c + min_records * area_p) / (c.sum() + min_records)
            out[i] = p * 168.0
        return out

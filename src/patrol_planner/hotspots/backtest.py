"""Rolling-origin backtest of the hotspot model against simple baselines, at equal area.

For each target month ``T`` (a fold) every method sees only records with ``occurred_from`` before the
first day of ``T`` and ranks cells; the records of ``T`` (anti-social behaviour excluded: it is not a
crime) are the truth. The study area is fixed for the whole run: the 250 m squares of the working CRS
that hold any record in the whole table, so no method can win by redefining the map. A method's
selection at budget ``b`` is its best cells, in order, until their area inside the study area reaches
``b`` x study area (the last cell counted pro rata), so methods with different cell sizes are compared
at exactly equal area. Reported per fold, method and budget:

* ``hit_rate``: share of the target month's crimes inside the selection [-];
* ``harm_captured``: share of the target month's harm inside it, always measured with the Cambridge
  weights of :func:`patrol_planner.hotspots.harm.target_harm_weights` [-];
* ``pai``: predictive accuracy index, ``hit_rate / area_share`` [-] (and ``harm_pai``).

Rows with ``selection == "top"`` give the same figures for the top 20 / 50 cells (a nightly list).

Every run also reports the **ceiling** (method ``perfect_foresight``): cells of the model's size ranked by
the target month's own harm, i.e. the best possible choice made with knowledge of the month being scored.
It is never a baseline; it says how much of the target month any ranking could have captured.

Baselines (same folds, same study area): last month's counts and all prior months' counts and harm at
100, 150 and 250 m; a Gaussian kernel density estimate (bandwidth ``KDE_BANDWIDTH_M``) of all prior
crimes evaluated on the 100 m grid; and prospective hotspotting after Bowers, Johnson & Pease (2004),
adapted to monthly data (see :func:`promap_scores`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.errors import HotspotError
from patrol_planner.hotspots.evaluation import (  # noqa: F401  (re-exported: the backtest's vocabulary)
    DEFAULT_BUDGETS,
    STUDY_CELL_M,
    TOP_NS,
    Fold,
    StudyArea,
    _months,
    evaluate_ranking,
    make_folds,
)
from patrol_planner.hotspots.grid import pack, unpack
from patrol_planner.hotspots.harm import ASB, STOP_AND_SEARCH, target_harm_weights
from patrol_planner.hotspots.model import HotspotModel
from patrol_planner.incidents.schema import POLICE_UK_CATEGORIES

BASELINE_SIZES_M: tuple[float, ...] = (100.0, 150.0, 250.0)
#: Gaussian kernel standard deviation of the KDE baseline [m]: the best of 60, 100 and 200 m on Essex 2018.
KDE_BANDWIDTH_M = 60.0
#: Raster cell of the KDE and prospective baselines [m].
RASTER_M = 100.0
#: Prospective hotspotting: spatial reach [m] and months of memory.
PROMAP_RADIUS_M = 400.0
PROMAP_MONTHS = 2
_ASB_CODE = POLICE_UK_CATEGORIES.index(ASB)
#: Method name of the perfect-foresight ceiling in backtest results (never a baseline).
CEILING = "perfect_foresight"


def ceiling_scores(fold: Fold, cell_size_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Perfect foresight: the target month's own harm per square cell of ``cell_size_m`` [m].

    Ranking cells by the harm that is about to happen in them is the best any method choosing whole cells of
    that size could do at every budget: the ceiling reported next to every backtest.
    """
    s = float(cell_size_m)
    k = pack(np.floor(fold.target_x_m / s), np.floor(fold.target_y_m / s))
    uk, inv = np.unique(k, return_inverse=True)
    ix, iy = unpack(uk)
    return ix, iy, np.bincount(inv, weights=fold.target_harm, minlength=len(uk))


# -- baselines -----------------------------------------------------------------------------------------
def count_scores(train: pd.DataFrame, cell_size_m: float, *, harm: bool = False,
                 last_month_only: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts (or Cambridge harm) of prior crimes per square cell: ``ix, iy, score``."""
    codes = pd.Categorical(train["category"].astype(object), categories=list(POLICE_UK_CATEGORIES)).codes
    use = codes != _ASB_CODE
    if last_month_only:
        m = _months(train)
        use &= np.asarray(m == m.max())
    s = float(cell_size_m)
    k = pack(np.floor(train["x_m"].to_numpy(float)[use] / s), np.floor(train["y_m"].to_numpy(float)[use] / s))
    w = target_harm_weights()[codes[use]] if harm else np.ones(int(use.sum()))
    uk, inv = np.unique(k, return_inverse=True)
    ix, iy = unpack(uk)
    return ix, iy, np.bincount(inv, weights=w, minlength=len(uk))


class _Raster:
    """A 100 m raster over the study area's robust extent (stray points far outside are left off)."""

    def __init__(self, study: StudyArea, all_x: np.ndarray, all_y: np.ndarray, pad_m: float = 3000.0) -> None:
        lo_x, hi_x = np.percentile(all_x, [0.1, 99.9])
        lo_y, hi_y = np.percentile(all_y, [0.1, 99.9])
        r = RASTER_M
        self.ix0 = int(np.floor((lo_x - pad_m) / r))
        self.iy0 = int(np.floor((lo_y - pad_m) / r))
        self.nx = int(np.floor((hi_x + pad_m) / r)) - self.ix0 + 1
        self.ny = int(np.floor((hi_y + pad_m) / r)) - self.iy0 + 1
        # candidate cells: every 100 m cell that overlaps a study square, inside the raster
        jx, jy = unpack(study.keys)
        per = int(np.ceil(STUDY_CELL_M / r)) + 1
        cx, cy = [], []
        for a in range(per):
            for b in range(per):
                cx.append(np.floor(jx * STUDY_CELL_M / r) + a)
                cy.append(np.floor(jy * STUDY_CELL_M / r) + b)
        ck = np.unique(pack(np.concatenate(cx), np.concatenate(cy)))
        cix, ciy = unpack(ck)
        inside = (cix >= self.ix0) & (cix < self.ix0 + self.nx) & (ciy >= self.iy0) & (ciy < self.iy0 + self.ny)
        area = study.clipped_area(cix[inside], ciy[inside], r)
        self.cix, self.ciy = cix[inside][area > 0], ciy[inside][area > 0]

    def grid(self, x_m: np.ndarray, y_m: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        ix = np.floor(x_m / RASTER_M).astype(np.int64) - self.ix0
        iy = np.floor(y_m / RASTER_M).astype(np.int64) - self.iy0
        ok = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        flat = np.bincount(ix[ok] * self.ny + iy[ok], weights=None if w is None else w[ok],
                           minlength=self.nx * self.ny)
        return flat.reshape(self.nx, self.ny).astype(float)

    def sample(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.cix, self.ciy, img[self.cix - self.ix0, self.ciy - self.iy0]


def _crimes(train: pd.DataFrame) -> pd.DataFrame:
    codes = pd.Categorical(train["category"].astype(object), categories=list(POLICE_UK_CATEGORIES)).codes
    return train[codes != _ASB_CODE]


def kde_scores(train: pd.DataFrame, raster: _Raster, bandwidth_m: float = KDE_BANDWIDTH_M):  # noqa: ANN201
    """Gaussian KDE of all prior crimes (counts), evaluated at the 100 m candidate cells."""
    from scipy.ndimage import gaussian_filter

    c = _crimes(train)
    img = raster.grid(c["x_m"].to_numpy(float), c["y_m"].to_numpy(float))
    return raster.sample(gaussian_filter(img, sigma=bandwidth_m / RASTER_M, mode="constant", truncate=4.0))


def promap_scores(train: pd.DataFrame, raster: _Raster, as_of: pd.Timestamp):  # noqa: ANN201
    """Prospective hotspotting (Bowers, Johnson & Pease 2004), adapted to month-resolution data.

    Each prior crime adds ``1 / (1 + d) x 1 / (1 + t)`` to every 100 m cell within ``PROMAP_RADIUS_M``,
    where ``d`` is the distance between cell centres in cell widths and ``t`` the age in whole months
    (0 for the month just before ``as_of``); only the last ``PROMAP_MONTHS`` months count. The original
    used 50 m cells, 400 m and weeks (two months' memory for burglary); police.uk has months only.
    """
    from scipy.signal import fftconvolve

    c = _crimes(train)
    months = _months(c)
    now = pd.Period(as_of, freq="M")
    rad = int(PROMAP_RADIUS_M // RASTER_M)
    d = np.hypot(*np.meshgrid(np.arange(-rad, rad + 1), np.arange(-rad, rad + 1), indexing="ij"))
    kern = np.where(d <= rad, 1.0 / (1.0 + d), 0.0)
    age = np.asarray([(now - m).n - 1 for m in months]) if len(c) else np.zeros(0, int)
    use = age < PROMAP_MONTHS
    w = 1.0 / (1.0 + age[use])
    img = raster.grid(c["x_m"].to_numpy(float)[use], c["y_m"].to_numpy(float)[use], w)
    return raster.sample(fftconvolve(img, kern, mode="same").clip(min=0.0))


# -- the run -------------------------------------------------------------------------------------------
def default_model_params() -> dict[str, Any]:
    """The HotspotModel defaults (chosen by ``benchmarks/hotspot_sweep.py``)."""
    return HotspotModel().get_params()


def backtest(
    incidents: pd.DataFrame,
    *,
    folds: int | Sequence[str] = 4,
    budgets: Sequence[float] = DEFAULT_BUDGETS,
    model_params: Mapping[str, Any] | None = None,
    top_ns: Sequence[int] = TOP_NS,
    baselines: bool = True,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Rolling-origin monthly backtest of :class:`HotspotModel` and the baselines at equal area.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incident table (working CRS in ``attrs["crs"]``).
    folds : int or sequence of str
        Number of last months to score, or explicit months ``"YYYY-MM"``.
    budgets : sequence of float
        Area budgets as shares of the study area [-], each in (0, 1].
    model_params : mapping, optional
        Overrides of the HotspotModel defaults (square grid only).
    top_ns : sequence of int
        Also report the top N cells of each method.
    baselines : bool
        Include the baselines (else the model alone).
    variants : mapping of str to mapping, optional
        Other model settings to score alongside, as methods ``model_<name>`` (e.g. ``{"learned":
        {"ranker": "learned"}}``); like the model, never baselines.

    Returns
    -------
    pandas.DataFrame
        Columns ``fold, method, cell_size_m, selection ("area"|"top"), budget, area_share, n_cells,
        hit_rate, harm_captured, pai, harm_pai, n_target_crimes, target_harm``; ``attrs`` hold the
        study area [m²], the model parameters, the baseline settings, ``model_rankings`` (per fold:
        the ranking the model used, why, and the automatic choice's merits) and ``budgets_dropped``
        (budgets smaller than one model cell of this study area, not scored).
    """
    incidents, budgets, params = _checked_inputs(incidents, budgets, model_params)
    fold_list = make_folds(incidents, folds)
    study = StudyArea.from_points(incidents["x_m"].to_numpy(float), incidents["y_m"].to_numpy(float))
    budgets, dropped = _budgets_holding_a_cell(budgets, study.area_m2, float(params["cell_size_m"]))
    raster = _Raster(study, incidents["x_m"].to_numpy(float), incidents["y_m"].to_numpy(float)) if baselines else None
    rows: list[dict[str, Any]] = []
    rankings: list[dict[str, Any]] = []

    def add(method: str, fold: Fold, ix: np.ndarray, iy: np.ndarray, sc: np.ndarray, size: float) -> None:
        for r in evaluate_ranking(ix, iy, sc, size, fold, study, budgets, top_ns):
            rows.append({"method": method, **r})

    for fold in fold_list:
        cells = HotspotModel(**params).fit(fold.train).score(fold.as_of)
        add("model", fold, cells["ix"].to_numpy(), cells["iy"].to_numpy(), cells["score"].to_numpy(),
            float(params["cell_size_m"]))
        add(CEILING, fold, *ceiling_scores(fold, float(params["cell_size_m"])), float(params["cell_size_m"]))
        for vname, vparams in (variants or {}).items():
            vp = {**params, **dict(vparams)}
            add(f"model_{vname}", fold, *_model_scores(vp, fold), float(vp["cell_size_m"]))
        rankings.append({"fold": fold.month, **_plain_ranking(cells.attrs.get("ranking", {}))})
        if not baselines:
            continue
        for s in BASELINE_SIZES_M:
            for name, kw in (("last_month_count", {"last_month_only": True}), ("all_prior_count", {}),
                             ("all_prior_harm", {"harm": True})):
                add(f"{name}_{s:g}m", fold, *count_scores(fold.train, s, **kw), s)
        add(f"kde_{RASTER_M:g}m", fold, *kde_scores(fold.train, raster), RASTER_M)
        add(f"promap_{RASTER_M:g}m", fold, *promap_scores(fold.train, raster, fold.as_of), RASTER_M)
    out = pd.DataFrame(rows)
    cols = ["fold", "method", "cell_size_m", "selection", "budget", "area_share", "n_cells", "hit_rate",
            "harm_captured", "pai", "harm_pai", "n_target_crimes", "target_harm"]
    out = out[cols]
    out.attrs.update({
        "study_area_m2": study.area_m2, "study_cell_m": STUDY_CELL_M, "model_params": _plain(params),
        "kde_bandwidth_m": KDE_BANDWIDTH_M, "promap_radius_m": PROMAP_RADIUS_M, "promap_months": PROMAP_MONTHS,
        "target_harm": "CCHI victim harm (ASB, drugs, weapons = 0)",
        "model_rankings": rankings, "budgets_dropped": dropped,
    })
    return out


def _checked_inputs(incidents: Any, budgets: Sequence[float], model_params: Mapping[str, Any] | None
                    ) -> tuple[pd.DataFrame, list[float], dict[str, Any]]:
    budgets = [float(b) for b in budgets]
    bad = [b for b in budgets if not 0 < b <= 1]
    if bad or not budgets:
        raise HotspotError(f"budgets are shares of the study area in (0, 1], got {list(budgets)}")
    params = {**default_model_params(), **dict(model_params or {})}
    if params.get("grid", "square") != "square" or float(params["cell_size_m"]) > STUDY_CELL_M:
        raise HotspotError(f"the backtest compares square cells of at most {STUDY_CELL_M:g} m")
    HotspotModel(**params)._check_params()
    need = ("category", "occurred_from", "x_m", "y_m")
    if not isinstance(incidents, pd.DataFrame) or any(c not in incidents.columns for c in need):
        raise HotspotError("backtest needs the canonical incident table")
    # searches are police activity, neither a target crime nor anything a baseline should count
    incidents = incidents[(incidents["category"].astype(object) != STOP_AND_SEARCH).to_numpy(bool)]
    return incidents, budgets, params


def _budgets_holding_a_cell(budgets: Sequence[float], area_m2: float,
                            cell_size_m: float) -> tuple[list[float], list[float]]:
    """(budgets kept, budgets dropped): a budget smaller than one cell selects nothing, and its ratios would
    compare empty selections (a small town at 0.1%). Raises when none is left."""
    keep = [b for b in budgets if b * area_m2 >= cell_size_m**2]
    if not keep:
        raise HotspotError(
            f"budget(s) {', '.join(f'{b:g}' for b in budgets)} of a {area_m2 / 1e6:,.1f} km² study area hold less "
            f"than one {cell_size_m:g} m cell; the smallest usable share here is {cell_size_m**2 / area_m2:.2g}"
        )
    return keep, [b for b in budgets if b not in keep]


def _model_scores(params: Mapping[str, Any], fold: Fold) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cells = HotspotModel(**params).fit(fold.train).score(fold.as_of)
    return cells["ix"].to_numpy(), cells["iy"].to_numpy(), cells["score"].to_numpy()


def _plain_ranking(info: Mapping[str, Any]) -> dict[str, Any]:
    """The model's ranking at one fold: method, reason and the automatic choice's merits."""
    choice = info.get("choice") or {}
    return {"method": info.get("method"), "reason": info.get("reason"), "merit": choice.get("merit", {}),
            "tested_months": choice.get("folds", [])}


def _plain(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.name if hasattr(v, "name") and not isinstance(v, str) else v) for k, v in params.items()}


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Mean over folds of harm captured, hit rate and PAI per method and area budget, plus the model's
    margin over the best baseline and on how many folds it beats every baseline."""
    area = results[results["selection"] == "area"]
    mean = area.groupby(["budget", "method"], sort=True)[["harm_captured", "hit_rate", "pai"]].mean().reset_index()
    return mean.sort_values(["budget", "harm_captured"], ascending=[True, False]).reset_index(drop=True)


def model_margin(results: pd.DataFrame) -> pd.DataFrame:
    """Per budget: the model's mean harm captured, the best baseline's, the ratio, folds won, and the
    perfect-foresight ceiling (``ceiling``: mean harm captured by the best cells of the target month itself,
    at the model's cell size).

    ``ratio_lo`` / ``ratio_hi``: a 95% interval for the model / best-baseline ratio from the folds' paired
    log ratios (mean +- Student t x standard error, exponentiated; NaN with fewer than 2 folds). It says
    how far fold-to-fold noise alone could move the ratio. Caveats: folds are consecutive months and not
    independent, so it is too narrow; and the best baseline is picked after seeing the same folds, which
    favours the baseline.
    """
    area = results[results["selection"] == "area"]
    out = []
    for b, g in area.groupby("budget"):
        piv = g.pivot_table(index="fold", columns="method", values="harm_captured")
        base = piv.drop(columns=[c for c in piv.columns if c == CEILING or str(c).startswith("model")])
        best_name = base.mean().idxmax()
        out.append({
            "budget": b, "model": piv["model"].mean(), "best_baseline": best_name,
            "best_baseline_harm": base[best_name].mean(),
            "ratio": piv["model"].mean() / base[best_name].mean(),
            "folds_won": int((piv["model"] > base.max(axis=1)).sum()), "n_folds": len(piv),
            "ceiling": piv[CEILING].mean() if CEILING in piv.columns else np.nan,
            **_ratio_interval(piv["model"].to_numpy(float), base[best_name].to_numpy(float)),
        })
    return pd.DataFrame(out)


def _ratio_interval(model: np.ndarray, base: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Paired t interval on per-fold log ratios, exponentiated (see :func:`model_margin`)."""
    from scipy import stats

    ok = (model > 0) & (base > 0)
    d = np.log(model[ok] / base[ok])
    if len(d) < 2:
        return {"ratio_lo": np.nan, "ratio_hi": np.nan}
    half = stats.t.ppf(0.5 + level / 2, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return {"ratio_lo": float(np.exp(d.mean() - half)), "ratio_hi": float(np.exp(d.mean() + half))}

"""Month-level evaluation as a spot-and-control x month panel (police.uk months).

Each spot is paired with one control cell (:func:`patrol_planner.evaluation.wdd.matched_controls`); the panel
counts crimes and victim harm in every spot and control in every month of a before window ("pre") and in
the months that start within the programme ("post"). Only months the data cover are in the panel: a month
missing from the files (no record at all across the force) is left out for spots and controls alike, so it
is never read as a month without crime.

**Estimand.** The ratio by which crime at the spots changed from before to during the programme, relative
to the change at their matched controls, as a geometric mean over pairs:

    RR = exp(mean_p D_p),  D_p = log(S1_p / S0_p) - log(C1_p / C0_p)

with ``S0, S1`` the spot's crimes per month before and during, ``C0, C1`` its control's (0.5 added to each
period total, so a period without crime has a finite log). Every pair counts once, whatever its size: the
busiest cells of a force have no equally busy controls and, weighted by crimes, two or three pairs would
decide everything (the pooled ratio's problem). Spot and month effects cancel inside ``D_p`` (it is a
difference-in-differences with spot fixed effects), so a control need not be as busy as its spot, only
follow the same trend.

**Inference** (the headline, one framework): ``D_p`` are the pair-level contrasts of a log-linear
difference-in-differences; their mean's standard error clustered by pair with the CR2 small-sample
correction equals the paired t statistic for this balanced design, so the p-value and the 95% interval
both come from ``t`` with ``pairs - 1`` degrees of freedom. Chosen because it passed the placebo
calibration in ``benchmarks/placebo.py`` where the two alternatives computed here beside it did not
(figures in ``docs/evaluation.md``): the pooled Poisson ratio of the four totals (the earlier headline)
and a Poisson fixed-effects panel (spot and month effects) with standard errors clustered by pair (CR1,
t with ``pairs - 1`` df). If the calibration had not passed, the page would say "descriptive only".

**Dilution.** Every spot is patrolled on ``K`` of ``N`` days, so a month mixes patrol and non-patrol days:
if patrols change crime by ``r`` on patrol days only, the month-level ratio is about ``1 - (K/N)(1 - r)``
(a 12% patrol-day fall shows as about 5% at 8 of 20). :func:`dilution` gives the patrol-day ratio a
month-level one implies; the design-time month-level detectable effect is
:func:`patrol_planner.programme.power.month_level_mde`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import shapely
import statsmodels.api as sm
from scipy import stats
from shapely.geometry.base import BaseGeometry

from patrol_planner.errors import EvaluationError
from patrol_planner.evaluation.placeday import victim_harm

#: Headline estimator (see the module docstring and ``docs/evaluation.md``).
HEADLINE = "pair log contrast (CR2 = paired t)"
#: Whether the headline passed the placebo calibration (``benchmarks/placebo.py``); when False the page
#: calls the month-level result descriptive and shows no p-value.
CALIBRATED = True
#: Whole months before the start used as the "before" window (fewer when the data have fewer) [months].
PRE_MONTHS = 6
ESTIMATORS = ("pair", "poisson_fe", "pooled")


@dataclass(frozen=True)
class MonthWindow:
    """Months of the panel: ``pre`` (whole months before the start) and ``post`` (months that start within the
    programme), both only among months the data cover; ``missing`` are months in that span the data lack."""

    pre: tuple[pd.Period, ...]
    post: tuple[pd.Period, ...]
    missing: tuple[pd.Period, ...]


@dataclass(frozen=True)
class MonthEstimate:
    """One month-level estimate: rate ratio (spots vs controls, during vs before), 95% interval, p-value."""

    method: str
    outcome: str
    rate_ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    se_log: float
    df: float
    pairs: int
    spot_before: float
    spot_after: float
    control_before: float
    control_after: float

    def to_dict(self) -> dict:
        return asdict(self)


def month_window(start: date, days: int, covered: list[pd.Period], *, missing: tuple[pd.Period, ...] = (),
                 pre_months: int = PRE_MONTHS) -> MonthWindow:
    """Pre and post months of a programme from ``start`` for ``days`` days among the ``covered`` months.

    A month counts as before only when it ends on or before the start date (a month holding the start is
    mixed and left out: with months only, its crimes before and after the start cannot be told apart).
    """
    end = start + timedelta(days=int(days))  # exclusive
    have = sorted(set(covered) - set(missing))
    post = [m for m in have if start <= m.start_time.date() < end]
    pre = [m for m in have if (m + 1).start_time.date() <= start][-pre_months:]
    if not post or not pre:
        span = f"data months: {have[0]} to {have[-1]}" if have else "no months of data"
        raise EvaluationError(f"month-level analysis needs whole months before {start} and months starting "
                              f"within the programme ({span})")
    span_all = pd.period_range(pre[0], post[-1], freq="M")
    gap = tuple(m for m in span_all if m not in set(have))
    return MonthWindow(pre=tuple(pre), post=tuple(post), missing=gap)


def panel_frame(incidents: pd.DataFrame, spots_xy: dict[str, BaseGeometry], controls_xy: dict[str, BaseGeometry],
                window: MonthWindow) -> pd.DataFrame:
    """Crimes and victim harm per unit (spots and their controls ``C-<spot>``) per panel month.

    Columns: ``unit, pair, spot, month, post, crimes, harm_days``; every unit has a row for every month.
    """
    units = {**{s: (s, 1) for s in spots_xy}, **{c: (c[2:], 0) for c in controls_xy}}
    ids = list(units)
    geoms = [spots_xy.get(u, controls_xy.get(u)) for u in ids]
    months = list(window.pre) + list(window.post)
    per = incidents["occurred_from"].dt.to_period("M")
    keep = per.isin(months).to_numpy()
    sub = incidents[keep]
    pts = shapely.points(sub["x_m"].to_numpy(float), sub["y_m"].to_numpy(float))
    pi, ui = shapely.STRtree(geoms).query(pts, predicate="intersects")
    first = np.unique(pi, return_index=True)[1]  # a point on a shared edge counts once
    pi, ui = pi[first], ui[first]
    hits = pd.DataFrame({"unit": np.array(ids, dtype=object)[ui], "month": per[keep].to_numpy()[pi],
                         "crimes": 1.0, "harm_days": victim_harm(sub["category"].iloc[pi])})
    sums = hits.groupby(["unit", "month"])[["crimes", "harm_days"]].sum()
    grid = pd.MultiIndex.from_product([ids, months], names=["unit", "month"])
    out = sums.reindex(grid, fill_value=0.0).reset_index()
    out["pair"] = out["unit"].map(lambda u: units[u][0])
    out["spot"] = out["unit"].map(lambda u: units[u][1]).astype(int)
    out["post"] = out["month"].isin(window.post).astype(int)
    return out[["unit", "pair", "spot", "month", "post", "crimes", "harm_days"]]


@dataclass(frozen=True)
class MonthPanel:
    """A built panel: its months, the matched controls (projected polygons) and the unit x month frame."""

    window: MonthWindow
    controls_xy: dict[str, BaseGeometry]
    frame: pd.DataFrame

    def control_to_spot_scale(self) -> float:
        """Controls' crimes before the start over the spots' (matching quality; the DiD removes levels)."""
        pre = self.frame[self.frame["post"] == 0]
        s = pre.loc[pre["spot"] == 1, "crimes"].sum()
        return float(pre.loc[pre["spot"] == 0, "crimes"].sum() / s) if s > 0 else float("nan")


def build_panel(incidents: pd.DataFrame, spots_xy: dict[str, BaseGeometry], *, start: date, days: int,
                cell_m: float, ring_m: float, pre_months: int = PRE_MONTHS) -> MonthPanel:
    """Window, matched controls and panel frame for a programme from ``start`` (the user's path and the
    placebo benchmark's). Controls are matched on every whole month of data before the start."""
    from patrol_planner.evaluation.wdd import matched_controls

    per = incidents["occurred_from"].dt.to_period("M")
    covered = sorted(set(per))
    window = month_window(start, days, covered, pre_months=pre_months)
    match = per.isin([m for m in covered if (m + 1).start_time.date() <= start]).to_numpy(bool)
    controls = matched_controls(incidents, spots_xy, match, cell_m=cell_m, buffer_m=ring_m)
    return MonthPanel(window=window, controls_xy=controls,
                      frame=panel_frame(incidents, spots_xy, controls, window))


def _period_totals(panel: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Per pair: the spot's and the control's before and during totals of ``outcome``."""
    t = panel.pivot_table(index="pair", columns=["spot", "post"], values=outcome, aggfunc="sum", fill_value=0.0)
    return pd.DataFrame({"s0": t[(1, 0)], "s1": t[(1, 1)], "c0": t[(0, 0)], "c1": t[(0, 1)]})


def _estimate(method: str, outcome: str, lrr: float, se: float, df: float, tot: pd.DataFrame) -> MonthEstimate:
    if not (np.isfinite(lrr) and np.isfinite(se) and se > 0):
        rr = lo = hi = p = float("nan")
    else:
        q = stats.t.ppf(0.975, df) if np.isfinite(df) else stats.norm.ppf(0.975)
        dist = stats.t(df) if np.isfinite(df) else stats.norm()
        rr, lo, hi = np.exp(lrr), np.exp(lrr - q * se), np.exp(lrr + q * se)
        p = float(2 * dist.sf(abs(lrr / se)))
    return MonthEstimate(method=method, outcome=outcome, rate_ratio=float(rr), ci_low=float(lo), ci_high=float(hi),
                         p_value=p, se_log=float(se), df=float(df), pairs=len(tot),
                         spot_before=float(tot["s0"].sum()), spot_after=float(tot["s1"].sum()),
                         control_before=float(tot["c0"].sum()), control_after=float(tot["c1"].sum()))


def pair_contrasts(panel: pd.DataFrame, outcome: str = "crimes") -> pd.Series:
    """``D_p`` per pair (module docstring); 0.5 crimes (or 0.5 x the panel's harm per crime) added to totals."""
    tot = _period_totals(panel, outcome)
    add = 0.5
    if outcome != "crimes":
        crimes = panel["crimes"].sum()
        add = 0.5 * (panel[outcome].sum() / crimes if crimes > 0 else 1.0)
    lg = np.log(tot + add)
    # months per period are the same for a spot and its control, so rates per month cancel into totals
    return (lg["s1"] - lg["s0"]) - (lg["c1"] - lg["c0"])


def pair_estimate(panel: pd.DataFrame, outcome: str = "crimes") -> MonthEstimate:
    """The headline: mean pair contrast, CR2-clustered by pair (= paired t), t with pairs - 1 df."""
    d = pair_contrasts(panel, outcome)
    g = len(d)
    se = float(d.std(ddof=1) / np.sqrt(g)) if g > 1 else float("nan")
    return _estimate("pair", outcome, float(d.mean()), se, g - 1.0, _period_totals(panel, outcome))


def pooled_estimate(panel: pd.DataFrame, outcome: str = "crimes") -> MonthEstimate:
    """The earlier headline: ``(S1/S0)/(C1/C0)`` of the pooled totals with a Poisson (delta-method) interval."""
    tot = _period_totals(panel, outcome)
    s = tot.sum()
    if min(s) <= 0:
        return _estimate("pooled", outcome, float("nan"), float("nan"), np.inf, tot)
    lrr = float(np.log(s["s1"] / s["s0"]) - np.log(s["c1"] / s["c0"]))
    if outcome == "crimes":
        se = float(np.sqrt((1 / s).sum()))
    else:  # compound Poisson: Var(sum w) = sum w^2, approximated by the harm per crime squared
        se = float(np.sqrt((1 / s).sum() * panel[outcome].sum() / max(panel["crimes"].sum(), 1.0)))
    return _estimate("pooled", outcome, lrr, se, np.inf, tot)


def poisson_fe_estimate(panel: pd.DataFrame, outcome: str = "crimes") -> MonthEstimate:
    """Poisson (quasi-likelihood) panel with unit and month fixed effects, SEs clustered by pair (CR1), t(G-1)."""
    tot = _period_totals(panel, outcome)
    keep = panel.groupby("unit")[outcome].transform("sum") > 0  # a unit without events carries no information
    d = panel[keep]
    units = pd.Categorical(d["unit"])
    months = pd.Categorical(d["month"].astype(str))
    x = np.column_stack([
        (d["spot"] * d["post"]).to_numpy(float),
        pd.get_dummies(units).to_numpy(float),
        pd.get_dummies(months, drop_first=True).to_numpy(float),
    ])
    groups = pd.Categorical(d["pair"]).codes
    g = len(set(groups))
    try:
        fit = sm.GLM(d[outcome].to_numpy(float), x, family=sm.families.Poisson()).fit(
            cov_type="cluster", cov_kwds={"groups": groups, "use_correction": True})
        lrr, se = float(fit.params[0]), float(fit.bse[0])
    except (ValueError, np.linalg.LinAlgError):
        lrr = se = float("nan")
    return _estimate("poisson_fe", outcome, lrr, se, g - 1.0, tot)


def month_estimates(panel: pd.DataFrame) -> list[MonthEstimate]:
    """The headline (crimes, harm) and the two calibration alternatives (crimes) on one panel."""
    return [pair_estimate(panel, "crimes"), pair_estimate(panel, "harm_days"),
            poisson_fe_estimate(panel, "crimes"), pooled_estimate(panel, "crimes")]


def dilution(treated_share: float, rate_ratio: float) -> dict[str, float]:
    """Month-level ratio implied by a patrol-day ratio, and the patrol-day ratio implied by a month-level one.

    Assumes the effect lasts only on patrol days (no carry-over) and the same crime rate on every day;
    ``treated_share`` = K/N, the share of spot-days patrolled.
    """
    k = float(treated_share)
    return {"treated_share": k,
            "patrol_day_rate_ratio_implied": float(1 - (1 - rate_ratio) / k) if k > 0 else float("nan")}


__all__ = ["CALIBRATED", "ESTIMATORS", "HEADLINE", "MonthEstimate", "MonthPanel", "MonthWindow", "build_panel",
           "dilution", "month_estimates", "month_window", "pair_contrasts", "pair_estimate",
           "panel_frame", "poisson_fe_estimate", "pooled_estimate"]

"""Evaluate a programme: choose the analysis the crimes allow, run it, collect estimates and caveats.

* Crimes with times (``time_known``): the place-day analysis (spot-days, fixed-effects count model,
  randomisation test with the programme's design; intention to treat, as delivered with dosage, carry-over,
  displacement rings).
* Crimes with months only (police.uk): the month-level spot-and-control x month panel
  (:mod:`patrol_planner.evaluation.monthpanel`), with the Weighted Displacement Difference beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.errors import EvaluationError
from patrol_planner.evaluation import monthpanel as mp
from patrol_planner.evaluation import verdict as V
from patrol_planner.evaluation.countmodel import SE_KINDS, RateRatio, fit_rate_ratio, fixed_effects
from patrol_planner.evaluation.design import Design, k_of_n_design_from_schedule, reference_matrix
from patrol_planner.evaluation.dosage import attach_dosage, delivery_summary
from patrol_planner.evaluation.placeday import project_spots, spot_day_table
from patrol_planner.evaluation.randomisation import null_expected, randomisation_test
from patrol_planner.evaluation.wdd import month_masks, wdd_test
from patrol_planner.programme import Programme

#: Most re-drawn schedules: each holds every spot-day, so a mistyped count must not fill the memory.
MAX_DRAWS = 100_000

MONTH_ESTIMAND = ("the ratio by which crimes at the spots changed from the whole months before the start to the "
                  "months within the programme, relative to the same change at each spot's matched control, as a "
                  "geometric mean over spot-control pairs")
MONTH_LEVEL_CAVEAT = (
    "Month-level: police.uk gives only the month of each crime, so patrol days cannot be compared with control "
    "days; each spot's change from before to during the programme is compared with its matched control cell's. "
    "This is not randomised: anything else that changed at the spots at the same time is mixed in.")


@dataclass(frozen=True)
class EvaluationParams:
    """``ring_m`` [m] displacement ring/buffer; ``n_draws`` re-drawn schedules; ``seed`` of the re-draws;
    ``se`` standard errors (``day``, ``spot``, ``hc0``, ``model``)."""

    ring_m: float = 100.0
    n_draws: int = 999
    seed: int = 0
    se: str = "day"

    def __post_init__(self) -> None:
        if not self.ring_m > 0:
            raise EvaluationError(f"ring_m must be > 0 m, got {self.ring_m}")
        if self.se not in SE_KINDS:
            raise EvaluationError(f"se must be one of {', '.join(SE_KINDS)}, not {self.se!r}")
        if self.n_draws < 99:
            raise EvaluationError(f"n_draws must be at least 99 for a usable p-value, got {self.n_draws}")
        if self.n_draws > MAX_DRAWS:
            raise EvaluationError(f"n_draws must be at most {MAX_DRAWS} (the p-value's third digit is settled long "
                                  f"before), got {self.n_draws}")
        if self.seed < 0:
            raise EvaluationError(f"seed must be >= 0, got {self.seed}")


@dataclass(frozen=True)
class Evaluation:
    """Everything the report shows. ``summary`` holds the headline keys printed by ``--json``."""

    method: str
    summary: dict[str, Any]
    estimates: pd.DataFrame
    verdicts: list[str]
    caveats: list[str]
    per_spot: pd.DataFrame
    spot_days: pd.DataFrame | None = None
    delivery: dict[str, Any] | None = None
    wdd: list[dict[str, Any]] = field(default_factory=list)
    weak: bool = False


def plain(obj: Any) -> Any:
    """Numpy scalars and NaN -> plain JSON values (NaN becomes None)."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


#: ``design_record["used"]`` values: the programme's own randomisation, or the K-of-N-per-day fallback.
DESIGN_PROGRAMME, DESIGN_K_OF_N, DESIGN_GIVEN = "programme's own randomisation", "K-of-N per day", "given by the caller"


def choose_design(programme: Programme) -> tuple[Design, dict[str, str]]:
    """The design the randomisation test re-draws, and a record of it (``requested``, ``used``, ``why``):
    the programme's own re-draw (:func:`patrol_planner.programme.redraw_design`), else K-of-N per day."""
    import patrol_planner.programme as prog_pkg
    from patrol_planner.errors import ProgrammeError

    try:
        return prog_pkg.redraw_design(programme), {"requested": DESIGN_PROGRAMME, "used": DESIGN_PROGRAMME,
                                                   "why": ""}
    except ProgrammeError as exc:
        # a folder written without the designer's randomisation record (e.g. the calibration helpers):
        # re-draw it as K-of-N per day, which k_of_n_design_from_schedule checks the schedule is
        why = (f"{exc}; the randomisation test re-draws the schedule as {DESIGN_K_OF_N} (the same number of "
               "treated spots each day, every spot equally likely), which is right only if it was drawn that way")
        return k_of_n_design_from_schedule(programme.schedule), {"requested": DESIGN_PROGRAMME,
                                                                 "used": DESIGN_K_OF_N, "why": why}


def design_for(programme: Programme) -> Design:
    """The programme's own re-draw (:func:`patrol_planner.programme.redraw_design`), else K-of-N per day
    (:func:`choose_design` also says which)."""
    return choose_design(programme)[0]


def _row(r: RateRatio, analysis: str, rand_p: float | None) -> dict[str, Any]:
    d = r.to_dict()
    d["analysis"] = analysis
    d["randomisation_p"] = rand_p
    return d


def per_spot_ratios(table: pd.DataFrame, outcome: str = "crimes") -> pd.DataFrame:
    """Crude per-spot rate ratios (treated vs control days) with a log-scale Poisson interval.

    Zero cells get 0.5 added (Haldane) so every spot has an interval; these are for the forest plot, the
    pooled model is the estimate.
    """
    g = table.groupby("spot_id", sort=False)
    yt = g.apply(lambda d: d.loc[d["treated"] == 1, outcome].sum(), include_groups=False)
    yc = g.apply(lambda d: d.loc[d["treated"] == 0, outcome].sum(), include_groups=False)
    nt = g["treated"].sum()
    nc = g.size() - nt
    zero = (yt == 0) | (yc == 0)
    a, b = yt + 0.5 * zero, yc + 0.5 * zero
    rr = (a / nt) / (b / nc)
    se = np.sqrt(1 / a + 1 / b)
    ht = g.apply(lambda d: d.loc[d["treated"] == 1, "harm_days"].mean(), include_groups=False)
    hc = g.apply(lambda d: d.loc[d["treated"] == 0, "harm_days"].mean(), include_groups=False)
    return pd.DataFrame({"spot_id": rr.index, "treated_days": nt.to_numpy(), "control_days": nc.to_numpy(),
                         "crimes_treated": yt.to_numpy(), "crimes_control": yc.to_numpy(),
                         "rate_ratio": rr.to_numpy(), "ci_low": np.exp(np.log(rr) - 1.96 * se).to_numpy(),
                         "ci_high": np.exp(np.log(rr) + 1.96 * se).to_numpy(),
                         "harm_per_treated_day": ht.to_numpy(), "harm_per_control_day": hc.to_numpy()})


def _safe_fit(table: pd.DataFrame, notes: list[str], **kw: Any) -> list[RateRatio]:
    try:
        return fit_rate_ratio(table, **kw)
    except EvaluationError as exc:
        notes.append(f"Not estimated ({kw.get('outcome', 'crimes')}, {', '.join(kw.get('terms', ['treated']))}): {exc}")
        return []


def _as_delivered(programme: Programme, table: pd.DataFrame, dosage: pd.DataFrame | None, *,
                  params: EvaluationParams, fe: pd.DataFrame, rows: list, notes: list[str],
                  caveats: list[str]) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """Not-randomised comparisons: the schedule after amendments, and GPS presence from dosage.

    Appends estimate rows and caveats; returns the table (with dosage columns) and the delivery figures.
    """
    if len(programme.amendments):
        amended = programme.delivered_schedule().assign(spot_id=lambda d: d["spot_id"].astype(str))
        by_key = amended.set_index(["date", "spot_id"])["treated"].rename("delivered_amend")
        t2 = table.join(by_key, on=["date", "spot_id"])  # schedule.csv order need not be the table's order
        for r in _safe_fit(t2, notes, outcome="crimes", terms=("delivered_amend",), se=params.se, fe=fe):
            rows.append(_row(r, "as delivered (schedule after amendments)", None))
    if dosage is None:
        return table, None
    table = attach_dosage(table, dosage)
    delivery = delivery_summary(table)
    for term, label in (("delivered", "as delivered (any GPS presence)"),
                        ("dose_15min", "as delivered (per 15 min present)")):
        for r in _safe_fit(table, notes, outcome="crimes", terms=(term,), se=params.se, fe=fe):
            rows.append(_row(r, label, None))
    caveats.append(V.AS_DELIVERED_CAVEAT)
    if delivery["control_days_with_presence"]:
        caveats.append(
            f"Contamination: officers were present on {delivery['control_days_with_presence']} control spot-days "
            f"({delivery['contamination_share']:.0%} of control days), which pulls the intention-to-treat "
            "estimate towards no effect.")
    return table, delivery


def evaluate_place_day(programme: Programme, incidents: pd.DataFrame, *, params: EvaluationParams,
                       dosage: pd.DataFrame | None = None,
                       design: Design | Callable[[int], pd.DataFrame] | None = None) -> Evaluation:
    """Place-day analysis (see module docstring)."""
    table = spot_day_table(programme, incidents, ring_m=params.ring_m)
    if table["crimes"].sum() == 0:
        raise EvaluationError("no crimes in the programme spots on programme days: nothing to evaluate")
    notes: list[str] = []
    fe = fixed_effects(table)
    index = pd.MultiIndex.from_arrays([table["date"], table["spot_id"]])
    if design is None:
        design, design_rec = choose_design(programme)
    else:
        design_rec = {"requested": DESIGN_GIVEN, "used": DESIGN_GIVEN, "why": ""}
    ref = reference_matrix(design, index, params.n_draws, seed=params.seed)
    rows: list[dict[str, Any]] = []
    for outcome, label in (("crimes", "spots"), ("harm_days", "spots"), ("ring_crimes", "rings"),
                           ("ring_harm_days", "rings")):
        if table[outcome].sum() == 0:
            notes.append(f"No {outcome.replace('_', ' ')} in the programme: not estimated.")
            continue
        rt = randomisation_test(table, ref, outcome=outcome, mu0=null_expected(table, outcome, fe=fe))
        for r in _safe_fit(table, notes, outcome=outcome, se=params.se, fe=fe):
            rows.append(_row(r, f"intention to treat ({label})", rt.p_value))
    for r in _safe_fit(table, notes, outcome="crimes", terms=("treated", "after_treated"), se=params.se, fe=fe):
        if r.term == "after_treated":
            rows.append(_row(r, "carry-over (control day after a treated day)", None))
    caveats = list(V.GENERAL_CAVEATS) + [V.CARRY_OVER_CAVEAT, V.DISPLACEMENT_CAVEAT]
    if design_rec["used"] == DESIGN_K_OF_N:
        caveats.append(f"Randomisation design: {design_rec['why']}. If the schedule was drawn another way (e.g. "
                       "harm-weighted), the randomisation p-value may be wrong.")
    table, delivery = _as_delivered(programme, table, dosage, params=params, fe=fe, rows=rows, notes=notes,
                                    caveats=caveats)
    est = pd.DataFrame(rows)
    if est.empty or not (est["term"] == "treated").any():
        raise EvaluationError("the effect could not be estimated: " + " ".join(notes))
    main = est[(est["term"] == "treated") & (est["outcome"] == "crimes")].iloc[0]
    text, weak = V.verdict(main.rate_ratio, main.ci_low, main.ci_high, main.randomisation_p,
                           events=main.treated_total + main.control_total)
    verdicts = [text]
    hm = est[(est["term"] == "treated") & (est["outcome"] == "harm_days")]
    if len(hm):
        verdicts.append(V.verdict(hm.iloc[0].rate_ratio, hm.iloc[0].ci_low, hm.iloc[0].ci_high,
                                  hm.iloc[0].randomisation_p, events=main.treated_total + main.control_total,
                                  what="victim harm")[0])
    ring = est[(est["term"] == "treated") & (est["outcome"] == "ring_crimes")]
    if len(ring):
        r0 = ring.iloc[0]
        verdicts.append(V.verdict(r0.rate_ratio, r0.ci_low, r0.ci_high, r0.randomisation_p,
                                  events=r0.treated_total + r0.control_total,
                                  what="crimes", where=f"in the {params.ring_m:.0f} m rings around the spots on "
                                  "patrol days (displacement check)")[0])
    summary = {
        "method": "place-day", "outcome": "crimes", "rate_ratio": main.rate_ratio, "ci_low": main.ci_low,
        "ci_high": main.ci_high, "p_value": main.randomisation_p, "p_value_kind": "randomisation",
        "wald_p_value": main.p_value, "family": main.family, "se": main.se,
        "treated_spot_days": int((table["treated"] == 1).sum()),
        "control_spot_days": int((table["treated"] == 0).sum()),
        "crimes_treated": main.treated_total, "crimes_control": main.control_total,
        "randomisation_draws": params.n_draws, "weak": weak, "design": design_rec,
    }
    return Evaluation(method="place-day", summary=plain(summary), estimates=est, verdicts=verdicts,
                      caveats=caveats + notes, per_spot=per_spot_ratios(table), spot_days=table, delivery=delivery,
                      weak=weak)


def evaluate_month_level(programme: Programme, incidents: pd.DataFrame, *, params: EvaluationParams) -> Evaluation:
    """Month-level spot-and-control x month panel (:mod:`patrol_planner.evaluation.monthpanel`); the WDD
    (:mod:`patrol_planner.evaluation.wdd`) is shown beside it, descriptive."""
    spots_xy = project_spots(programme.spots, incidents.attrs["crs"])
    panel = mp.build_panel(incidents, spots_xy, start=programme.start_date, days=int(programme.design["days"]),
                           cell_m=float(programme.design["spot_size_m"]), ring_m=params.ring_m)
    w = panel.window
    est = mp.month_estimates(panel.frame)
    main, harm = est[0], est[1]
    share = float(programme.schedule["treated"].mean())
    dil = mp.dilution(share, main.rate_ratio)
    # the WDD compares absolute counts, so its before period is as long as the after period
    before, after = month_masks(incidents, list(w.pre[-len(w.post):]), list(w.post))
    wdd = wdd_test(incidents, spots_xy, panel.controls_xy, before, after, buffer_m=params.ring_m)
    where, versus = "at the spots during the programme", "than the change at the matched controls suggests"
    events = main.spot_before + main.spot_after
    if mp.CALIBRATED:
        text, weak = V.verdict(main.rate_ratio, main.ci_low, main.ci_high, main.p_value, events=events,
                               what="crimes", where=where, versus=versus)
        htext = V.verdict(harm.rate_ratio, harm.ci_low, harm.ci_high, harm.p_value, events=events,
                          what="victim harm", where=where, versus=versus)[0]
    else:
        weak = True
        text = (f"Descriptive only: crimes at the spots changed by a ratio of {main.rate_ratio:.2f} relative to "
                "their controls; this month-level method did not pass its placebo calibration, so no p-value or "
                "interval is given.")
        htext = f"Descriptive only: victim harm changed by a ratio of {harm.rate_ratio:.2f} relative to the controls."
    verdicts = [text, htext, (
        f"Dilution: each spot was patrolled on {share:.0%} of days, so a month mixes patrol and other days; if "
        f"patrols act only on patrol days, this month-level ratio corresponds to a patrol-day ratio of about "
        f"{dil['patrol_day_rate_ratio_implied']:.2f} (a 12% patrol-day fall shows as {12 * share:.0f}% here)."),
        f"Weighted displacement difference (descriptive, beside the headline): {wdd[0].wdd:+.0f} crimes."]
    scale = panel.control_to_spot_scale()
    caveats = list(V.GENERAL_CAVEATS[:3]) + [MONTH_LEVEL_CAVEAT,
        "police.uk positions are snapped to anonymised map points, so small spots gain and lose crimes at their edges.",
        f"The matched controls had {scale:.2f} times the spots' crimes before the start (the busiest spots have no "
        "equally busy cells); the estimate compares each spot's change with its control's change on a ratio scale, "
        "so level differences cancel, but a control must follow the same trend."]
    if w.missing:
        caveats.append(f"Months missing from the data ({', '.join(str(m) for m in w.missing)}) are left out for "
                       "spots and controls alike, not read as months without crime.")
    estimates = pd.DataFrame([{**e.to_dict(), "analysis": "month-level panel" + (" (headline)" if i < 2 else "")}
                              for i, e in enumerate(est)])
    if not mp.CALIBRATED:  # descriptive only: no p-value or interval anywhere
        estimates = estimates.drop(columns=["ci_low", "ci_high", "p_value", "se_log"])
    summary = {
        "method": "month-level panel", "outcome": "crimes", "estimand": MONTH_ESTIMAND,
        "rate_ratio": main.rate_ratio, "ci_low": main.ci_low if mp.CALIBRATED else None,
        "ci_high": main.ci_high if mp.CALIBRATED else None, "p_value": main.p_value if mp.CALIBRATED else None,
        "p_value_kind": f"{mp.HEADLINE}, t with {main.df:.0f} df" if mp.CALIBRATED else "descriptive only",
        "interval_kind": "same t as the p-value", "calibrated": mp.CALIBRATED,
        "harm_rate_ratio": harm.rate_ratio, "treated_share": share,
        "patrol_day_rate_ratio_implied": dil["patrol_day_rate_ratio_implied"],
        "wdd": wdd[0].wdd, "control_to_spot_scale": scale, "treated_spot_days": None, "control_spot_days": None,
        "months_before": [str(m) for m in w.pre], "months_after": [str(m) for m in w.post],
        "months_missing": [str(m) for m in w.missing], "spots": len(spots_xy), "weak": weak,
    }
    d = mp.pair_contrasts(panel.frame)
    tot = panel.frame.pivot_table(index="pair", columns=["spot", "post"], values="crimes", aggfunc="sum")
    per_spot = pd.DataFrame({"spot_id": d.index, "control_cell": [f"C-{s}" for s in d.index],
                             "spot_before": tot[(1, 0)].to_numpy(), "spot_after": tot[(1, 1)].to_numpy(),
                             "control_before": tot[(0, 0)].to_numpy(), "control_after": tot[(0, 1)].to_numpy(),
                             "rate_ratio": np.exp(d.to_numpy())})
    return Evaluation(method="month-level panel", summary=plain(summary), estimates=estimates, verdicts=verdicts,
                      caveats=caveats, per_spot=per_spot, wdd=[r.to_dict() for r in wdd], weak=weak)


def evaluate(programme: Programme, incidents: pd.DataFrame, *, params: EvaluationParams | None = None,
             dosage: pd.DataFrame | None = None, design: Design | None = None) -> Evaluation:
    """Pick the analysis the crimes allow and run it: place-day with timestamps, month-level otherwise."""
    params = params or EvaluationParams()
    if incidents.empty:
        raise EvaluationError("no crimes given")
    timed = incidents[incidents["time_known"].to_numpy(bool)]
    if len(timed):
        timed.attrs.update(incidents.attrs)
        ev = evaluate_place_day(programme, timed, params=params, dosage=dosage, design=design)
        if len(timed) < len(incidents):
            ev.caveats.append(f"{len(incidents) - len(timed)} crimes without a time of day were left out.")
        return ev
    ev = evaluate_month_level(programme, incidents, params=params)
    if dosage is not None:
        # Months cannot be split into patrol and control days, so dosage gives fidelity figures only.
        days = programme.schedule[["date", "spot_id", "treated"]].assign(spot_id=lambda d: d["spot_id"].astype(str))
        delivery = delivery_summary(attach_dosage(days, dosage))
        ev = replace(ev, delivery=delivery, caveats=[*ev.caveats, (
            "Dosage was read for delivery figures only: with monthly crime data there is no as-delivered estimate."
        ), *([f"Contamination: officers were present on {delivery['control_days_with_presence']} control spot-days."]
             if delivery["control_days_with_presence"] else [])])
    return ev



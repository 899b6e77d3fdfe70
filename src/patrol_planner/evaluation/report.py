"""The evaluation page (one offline HTML file) and its output files.

The page is a Jinja2 template shipped as package data (``evaluation/templates``), autoescaped; the only
unescaped content is the SVG the charts module draws here. A Content-Security-Policy of
``default-src 'none'`` (inline styles allowed) keeps it from loading anything.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from patrol_planner.evaluation.equity import EquityReport, write_equity_files
from patrol_planner.evaluation.run import Evaluation, plain
from patrol_planner.programme import Programme
from patrol_planner.sanitise import spreadsheet_safe

ESTIMATE_COLUMNS = ("analysis", "outcome", "term", "rate_ratio", "ci_low", "ci_high", "p_value", "randomisation_p",
                    "family", "se", "treated_total", "control_total")
MONTH_COLUMNS = ("analysis", "method", "outcome", "rate_ratio", "ci_low", "ci_high", "p_value", "df", "pairs",
                 "spot_before", "spot_after", "control_before", "control_after")


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("patrol_planner.evaluation", "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined)


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    if isinstance(v, float | np.floating):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def _rows(df: pd.DataFrame, cols: tuple[str, ...]) -> list[dict[str, str]]:
    cols = tuple(c for c in cols if c in df.columns)
    return [{c: _fmt(r[c]) for c in cols} for r in df.to_dict(orient="records")]


def equity_section_html(report: EquityReport | None, *, reason: str = "") -> str:
    """The "who bore the patrols" HTML fragment (also for the calendar page); ``reason`` when there is none."""
    if report is None:
        return str(_env().get_template("equity.html.j2").render(table=None, reason=reason or "Not available."))
    t = report.table
    cols = tuple(c for c in t.columns if not t[c].isna().all())
    most = t[t["imd_decile"].isin([1, 2, 3])]
    reading = (f"The three most deprived deciles hold {most['planned_minutes_share'].sum():.0%} of planned patrol "
               f"minutes and {most['harm_share'].sum():.0%} of victim harm in the area.")
    spot_cols = ("spot_id", "lad_name", "lad_code", "lsoa21_code", "imd_decile", "planned_minutes")
    return str(_env().get_template("equity.html.j2").render(
        table=t, rows=_rows(t, cols), columns=cols, counts=report.counts, reading=reading, reason="",
        spot_rows=_rows(report.spots, spot_cols), spot_columns=spot_cols))


def render_html(ev: Evaluation, programme: Programme, *, provenance: dict[str, Any],
                equity: EquityReport | None = None, equity_reason: str = "") -> str:
    """The whole evaluation page as one HTML string."""
    from patrol_planner.evaluation import charts

    forest = harm = None
    if ev.method == "place-day":
        s = ev.summary
        forest = Markup(charts.forest_svg(ev.per_spot, (s["rate_ratio"], s["ci_low"], s["ci_high"])))
        harm = Markup(charts.harm_svg(ev.per_spot))
        cols, note = ESTIMATE_COLUMNS, (
            "Rate ratios from a count model with spot and day-of-week fixed effects (family shown; negative binomial "
            "when the Cameron-Trivedi test finds over-dispersion), standard errors as shown. randomisation_p re-draws "
            f"the schedule {s['randomisation_draws']} times with the programme's own design; it is the p-value "
            "reported as the headline. Harm is victim harm (Cambridge Crime Harm Index days).")
    else:
        cols, note = MONTH_COLUMNS, (
            "Spot-and-control x month panel. Headline (method pair): the geometric mean over spot-control pairs of "
            "(spot after/before) / (control after/before); p-value and interval from the same t with pairs - 1 "
            "degrees of freedom (pair-clustered, CR2). Beside it, for comparison only: poisson_fe (Poisson panel with "
            "spot and month effects, pair-clustered) and pooled (ratio of the four totals, Poisson interval), which "
            "failed the placebo calibration (docs/evaluation.md). The WDD is in evaluation.json.")
    est = ev.estimates
    end = programme.start_date + timedelta(days=int(programme.design["days"]) - 1)
    return _env().get_template("evaluation.html.j2").render(
        title=programme.folder.name, method=ev.method, start=programme.start_date.isoformat(), end=end.isoformat(),
        n_spots=len(programme.spots), summary=ev.summary, verdicts=ev.verdicts, weak=ev.weak,
        estimate_columns=[c for c in cols if c in est.columns], estimates=_rows(est, cols), method_note=note,
        delivery=ev.delivery, forest_svg=forest, harm_svg=harm,
        per_spot_rows=_rows(ev.per_spot, tuple(ev.per_spot.columns)), per_spot_columns=list(ev.per_spot.columns),
        equity_html=Markup(equity_section_html(equity, reason=equity_reason)), caveats=ev.caveats,
        provenance=provenance)


def write_outputs(ev: Evaluation, programme: Programme, out: str | Path, *, provenance: dict[str, Any],
                  equity: EquityReport | None = None, equity_reason: str = "") -> dict[str, Path]:
    """Write ``evaluation.html``, ``evaluation.json``, ``estimates.csv``, ``per_spot.csv``, ``spot_days.csv``
    (place-day) and ``equity.csv``, ``equity-spots.csv``, ``equity.json`` (when linked) into ``out``; returns the
    paths by name."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"html": out / "evaluation.html", "json": out / "evaluation.json", "estimates": out / "estimates.csv",
             "per_spot": out / "per_spot.csv"}
    paths["html"].write_text(render_html(ev, programme, provenance=provenance, equity=equity,
                                         equity_reason=equity_reason), encoding="utf-8")
    spreadsheet_safe(ev.estimates).to_csv(paths["estimates"], index=False, lineterminator="\n")
    spreadsheet_safe(ev.per_spot).to_csv(paths["per_spot"], index=False, lineterminator="\n")
    if ev.spot_days is not None:
        paths["spot_days"] = out / "spot_days.csv"
        spreadsheet_safe(ev.spot_days).to_csv(paths["spot_days"], index=False, lineterminator="\n")
    if equity is not None:
        paths |= write_equity_files(equity, out)
    record = {"summary": ev.summary, "verdicts": ev.verdicts, "caveats": ev.caveats, "delivery": ev.delivery,
              "estimates": ev.estimates.to_dict(orient="records"), "wdd": ev.wdd,
              "equity": equity.counts if equity is not None else {"note": equity_reason},
              "provenance": provenance}
    paths["json"].write_text(json.dumps(plain(record), indent=1, sort_keys=True, default=str, allow_nan=False) + "\n",
                             encoding="utf-8")
    return paths

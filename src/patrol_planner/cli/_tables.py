"""Rich tables the commands print (kept apart from the commands so that several can share them)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console


def print_backtest_table(res: pd.DataFrame, console: Console | None = None) -> None:
    """Print a backtest result (``hotspots.backtest.backtest`` output): per budget the methods' mean harm
    captured, hit rate and PAI over the folds, then the model against the best baseline."""
    from rich.table import Table
    from rich.text import Text

    from patrol_planner.cli._common import table_console
    from patrol_planner.hotspots.backtest import model_margin, summarise

    con = console or table_console()
    months = ", ".join(sorted(str(f) for f in res["fold"].unique()))
    for b, g in summarise(res).groupby("budget"):
        t = Table(title=f"budget {100 * b:g}% of the study area: mean over folds {months}")
        for c in ("method", "harm captured", "hit rate", "PAI"):
            t.add_column(c, justify="left" if c == "method" else "right")
        for _, r in g.iterrows():
            t.add_row(Text(str(r["method"])), f"{100 * r['harm_captured']:.1f}%", f"{100 * r['hit_rate']:.1f}%",
                      f"{r['pai']:.1f}")
        con.print(t)
    t = Table(title="model vs best baseline (harm captured)")
    for c in ("budget", "model", "best baseline", "ratio", "95% interval", "folds won"):
        t.add_column(c, justify="right")
    for _, r in model_margin(res).iterrows():
        t.add_row(f"{100 * r['budget']:g}%", f"{100 * r['model']:.1f}%",
                  Text(f"{r['best_baseline']} {100 * r['best_baseline_harm']:.1f}%"), f"{r['ratio']:.3f}",
                  ratio_interval_text(r), f"{r['folds_won']}/{r['n_folds']}")
    t.caption = ("95% interval: paired t on the folds' log ratios; folds are consecutive months (too narrow) and "
                 "the best baseline is chosen after the fact (favours it).")
    con.print(t)


def ratio_interval_text(r: pd.Series) -> str:
    """``lo-hi`` of a margin row's ratio interval, or ``-`` with fewer than two folds."""
    return "-" if math.isnan(float(r["ratio_lo"])) else f"{r['ratio_lo']:.3f}-{r['ratio_hi']:.3f}"

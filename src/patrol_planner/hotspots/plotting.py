"""Charts of backtest results (matplotlib; imported only where a chart is drawn)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def plot_national(table: pd.DataFrame, ax: Any = None) -> Any:
    """Model / best baseline harm captured per force and area budget, as grouped bars.

    Parameters
    ----------
    table : pandas.DataFrame
        :attr:`patrol_planner.hotspots.national.NationalBacktest.table`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure's.

    Returns
    -------
    matplotlib.axes.Axes
        The axes; each bar is labelled with the ceiling / best-baseline ratio above it.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 1.1 * table["force"].nunique() + 2), 4.5))
    forces = sorted(table["force"].unique())
    budgets = sorted(table["budget"].unique())
    width = 0.8 / max(len(budgets), 1)
    x = np.arange(len(forces))
    for j, b in enumerate(budgets):
        g = table[table["budget"] == b].set_index("force").reindex(forces)
        bars = ax.bar(x + (j - (len(budgets) - 1) / 2) * width, g["ratio"] - 1.0, width, bottom=1.0,
                      label=f"{100 * b:g}% of area")
        for rect, ratio, ceil, base in zip(bars, g["ratio"], g["ceiling"], g["best_baseline_harm"], strict=True):
            if np.isfinite(ceil) and base > 0:
                up = ratio >= 1.0  # label beyond the bar's end, away from the 1.0 line
                ax.annotate(f"{ceil / base:.1f}x", (rect.get_x() + rect.get_width() / 2, ratio), fontsize=6,
                            ha="center", va="bottom" if up else "top", xytext=(0, 2 if up else -2),
                            textcoords="offset points", color="0.4")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xticks(x, forces, rotation=30, ha="right")
    ax.set_ylabel("model / best baseline [-]")
    ax.margins(y=0.15)
    ax.set_title("Hotspot ranking / best baseline, harm captured\n(grey: perfect-foresight ceiling / best baseline)",
                 fontsize=9)
    ax.legend(fontsize=8)
    return ax

"""Charts for the evaluation page, drawn with matplotlib and returned as inline SVG text (no files, no network)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd


def _svg(fig) -> str:
    import matplotlib
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    # a fixed id salt and no date keep the page byte-identical for the same inputs
    with matplotlib.rc_context({"svg.hashsalt": "patrol_planner"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: the SVG sits inside HTML


def plot_forest(per_spot: pd.DataFrame, pooled: tuple[float, float, float] | None = None, ax=None):
    """Forest plot: per-spot rate ratio (treated / control days) with 95% intervals, log scale; returns ax."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.28 * len(per_spot) + 1.4))
    y = np.arange(len(per_spot))[::-1]
    rr = per_spot["rate_ratio"].to_numpy(float)
    lo, hi = per_spot["ci_low"].to_numpy(float), per_spot["ci_high"].to_numpy(float)
    ax.errorbar(rr, y, xerr=[rr - lo, hi - rr], fmt="s", color="#1f4e79", ms=4, capsize=2, lw=1)
    labels = list(per_spot["spot_id"].astype(str))
    if pooled is not None and pooled[0] is not None and np.isfinite(pooled[0]):
        # an inverted-test interval can be open (0 or infinity) when events are few: draw it to the plot's edge
        edge_lo, edge_hi = min(float(np.nanmin(lo)), pooled[0]) / 2, max(float(np.nanmax(hi)), pooled[0]) * 2
        low = pooled[1] if pooled[1] is not None and pooled[1] > 0 else edge_lo
        high = pooled[2] if pooled[2] is not None and np.isfinite(pooled[2]) else edge_hi
        ax.errorbar([pooled[0]], [-1.2], xerr=[[pooled[0] - low], [high - pooled[0]]], fmt="D",
                    color="#b22222", ms=6, capsize=3, lw=2)
        y = np.append(y, -1.2)
        labels.append("all spots (randomisation)")
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel("rate ratio, patrol days / control days [-] (below 1 = fewer crimes)")
    return ax


def plot_harm_per_spot_day(per_spot: pd.DataFrame, ax=None):
    """Mean victim harm per spot-day [days of custody, CCHI] on treated and control days, by spot; returns ax."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 2.8))
    x = np.arange(len(per_spot))
    ax.bar(x - 0.2, per_spot["harm_per_treated_day"], 0.4, label="patrol days", color="#1f4e79")
    ax.bar(x + 0.2, per_spot["harm_per_control_day"], 0.4, label="control days", color="#c9a227")
    ax.set_xticks(x, list(per_spot["spot_id"].astype(str)), rotation=90, fontsize=7)
    ax.set_ylabel("victim harm per spot-day [days]")
    ax.legend(fontsize=7)
    return ax


def forest_svg(per_spot: pd.DataFrame, pooled: tuple[float, float, float] | None = None) -> str:
    """:func:`plot_forest` as inline SVG text."""
    return _svg(plot_forest(per_spot, pooled).figure)


def harm_svg(per_spot: pd.DataFrame) -> str:
    """:func:`plot_harm_per_spot_day` as inline SVG text."""
    return _svg(plot_harm_per_spot_day(per_spot).figure)

"""Compare plan variants: the same scenario with more or fewer units, side by side."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from patrol_planner.scenario import Scenario, run_plan

COLUMNS = ("scenario", "units", "harm_covered", "harm_offered", "visits", "hotspots_visited", "road_km",
           "travel_min", "idle_min")


def compare_units(scenarios: Sequence[Scenario], unit_counts: Sequence[int], *, seconds: float | None = None,
                  on_done: Callable[[], None] | None = None) -> pd.DataFrame:
    """Plan every scenario with every unit count; one row per variant (see :data:`COLUMNS`).

    Units beyond those listed in a scenario are copies of the listed ones (ids suffixed), cycling.
    ``seconds`` overrides each scenario's solver time limit [s].
    """
    rows = []
    for s in scenarios:
        for n in unit_counts:
            v = s.with_units(n)
            if seconds is not None:
                v = v.replace(solver={"time_limit_s": seconds})
            m = run_plan(v).plan.metrics
            rows.append({"scenario": s.name, "units": n, **{k: m[k] for k in COLUMNS[2:]}})
            if on_done:
                on_done()
    return pd.DataFrame(rows, columns=list(COLUMNS))


def plot_harm_vs_units(table: pd.DataFrame, path: str | Path, ax=None) -> Path:  # noqa: ANN001
    """Line chart of harm covered against the number of units, one line per scenario; saved as PNG."""
    # The figure is made with the object API (no pyplot), so no GUI backend is ever chosen or needed.
    from matplotlib.figure import Figure

    if ax is None:
        ax = Figure(figsize=(7, 4.5), dpi=110).subplots()
    for name, g in table.groupby("scenario", sort=False):
        ax.plot(g["units"], g["harm_covered"], marker="o", label=str(name))
    ax.set_xlabel("units on duty")
    ax.set_ylabel("harm covered [harm-days, decayed]")
    ax.set_title("Harm covered against number of units")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    p = Path(path)
    ax.figure.tight_layout()
    ax.figure.savefig(p)
    return p

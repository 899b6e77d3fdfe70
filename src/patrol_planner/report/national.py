"""The national backtest's files: ``national.csv``, ``national.json`` (with provenance) and ``national.png``.

Written into a folder the caller stages (``patrol_planner.atomic``), so a failed write never leaves a half
set beside an older one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from patrol_planner.jsonsafe import finite_or_none
from patrol_planner.provenance import provenance
from patrol_planner.sanitise import spreadsheet_safe


def write_national(nat: Any, folder: Path, inputs: Sequence[Path]) -> dict[str, Path]:
    """Write ``nat`` (a ``hotspots.national.NationalBacktest``) into ``folder``; returns ``{"csv"|"json"|"png": path}``.

    ``inputs``: the files and folders the run read; files among them are hashed into the provenance record.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from patrol_planner.hotspots.plotting import plot_national

    folder.mkdir(parents=True, exist_ok=True)
    paths = {k: folder / f"national.{k}" for k in ("csv", "json", "png")}
    spreadsheet_safe(nat.table).to_csv(paths["csv"], index=False)
    prov = provenance([f for f in inputs if f.is_file()], {k: v for k, v in nat.meta.items() if k != "wall_s"})
    record = finite_or_none({**nat.to_json(), "provenance": prov})
    paths["json"].write_text(json.dumps(record, indent=1, default=str, allow_nan=False), encoding="utf-8")
    ax = plot_national(nat.table)
    ax.figure.tight_layout()
    ax.figure.savefig(paths["png"], dpi=120)
    plt.close(ax.figure)
    return paths

"""What of restricted intelligence may leave the hotspot model: aggregates that cannot single a report out.

A restricted report (``disseminate = False``) counts in its cell's score, so the ranking uses it. Its details
must not be shown, and in a cell with one or two of them a count and a category or age breakdown would say
what was reported there and when. The rule (``docs/incidents.md``, *Restricted intelligence in outputs*):

* restricted reports are in no category, age band or police-generated figure (the model keeps them out);
* a cell's restricted count and their part of its score are published only when it holds at least
  :data:`MIN_RESTRICTED_PUBLISHED`; below that both are null, and so are the cell's absolute breakdown
  columns (``score_own`` minus their sum would otherwise be the one report's weight);
* published record counts (``n_incidents``, ``n_intelligence``) leave restricted reports out;
* shares by category and age band are shares of the part of the score from records that may be shown.

Every output that carries per-cell figures goes through :func:`published_cells` (tables, GeoJSON) or
:func:`published_breakdown` (the briefing's, ``plan.json``'s and the programme's score breakdown).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.hotspots.model import AGE_COLUMNS, CATEGORY_COLUMNS

#: Fewest restricted reports in a cell whose count and score part may be published.
MIN_RESTRICTED_PUBLISHED = 3
#: Absolute per-cell breakdown columns withheld where a cell holds 1 or 2 restricted reports.
WITHHELD_COLUMNS: tuple[str, ...] = (*CATEGORY_COLUMNS, *AGE_COLUMNS, "police_generated_score",
                                     "police_generated_share", "score_restricted_intelligence")


def restricted_published(n_restricted: int) -> bool:
    """True when a cell's restricted count may be shown: none, or at least :data:`MIN_RESTRICTED_PUBLISHED`."""
    return n_restricted == 0 or n_restricted >= MIN_RESTRICTED_PUBLISHED


def published_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """A copy of a scored cell table fit to publish (``attrs`` kept); see the module's rule."""
    out = cells.copy()
    out.attrs = dict(cells.attrs)
    if "n_restricted_intelligence" not in out.columns:
        return out
    n_r = out["n_restricted_intelligence"].to_numpy(np.int64)
    for c in ("n_incidents", "n_intelligence"):
        if c in out.columns:
            out[c] = out[c].to_numpy(np.int64) - n_r
    small = ~np.array([restricted_published(int(n)) for n in n_r], bool)
    withheld = [c for c in WITHHELD_COLUMNS if c in out.columns]
    out[withheld] = out[withheld].astype(float)
    out.loc[small, withheld] = np.nan
    out["n_restricted_intelligence"] = pd.array(np.where(small, None, n_r).tolist(), dtype="Int64")
    return out


def published_breakdown(row: pd.Series) -> dict[str, Any]:
    """A cell's share-based score breakdown fit to publish: ``by_category`` and ``by_age`` (keys without the
    ``score_`` / ``score_age_`` prefix) are shares of the part of the score from records that may be shown;
    ``n_incidents`` and ``n_intelligence`` count those records; ``n_restricted_intelligence`` and
    ``restricted_share`` (of ``score_own``) are ``None`` for a cell with 1 or 2 restricted reports."""
    own = float(row.get("score_own", row.get("score", 0.0)) or 0.0)
    n_r = int(row.get("n_restricted_intelligence", 0) or 0)
    r_part = float(row.get("score_restricted_intelligence", 0.0) or 0.0)
    shown = own - r_part

    def shares(columns: tuple[str, ...], prefix: str) -> dict[str, float]:
        vals = {c[len(prefix):]: float(row[c]) for c in columns if c in row.index and pd.notna(row[c])}
        return {k: round(v / shown, 3) for k, v in vals.items() if v > 0 and shown > 0}

    ok = restricted_published(n_r)
    return {
        "by_category": shares(CATEGORY_COLUMNS, "score_"),
        "by_age": shares(AGE_COLUMNS, "score_age_"),
        "n_incidents": int(row.get("n_incidents", 0) or 0) - n_r,
        "n_intelligence": int(row.get("n_intelligence", 0) or 0) - n_r,
        "n_restricted_intelligence": n_r if ok else None,
        "restricted_share": (round(r_part / own, 3) if own > 0 else 0.0) if ok else None,
    }

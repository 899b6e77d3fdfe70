"""Tonight's candidate hot spots: scored in a queued job through the package's steps, cached per scenario.

Its own module so the queue's task (``web.tasks``) and the services that enqueue it (``web.services``) do not
import each other.
"""

from __future__ import annotations

from typing import Any

from patrol_planner.web.models import StoredScenario


def candidates_path(stored: StoredScenario) -> Any:
    import hashlib
    import json
    from pathlib import Path

    from django.conf import settings

    key = hashlib.sha256(json.dumps({"c": stored.content, "b": stored.base_dir}, sort_keys=True,
                                    default=str, allow_nan=False).encode()).hexdigest()[:24]
    return Path(settings.DATA_DIR) / "candidates" / f"{stored.pk}-{key}.json"


def candidates(stored: StoredScenario) -> dict[str, Any] | None:
    """Tonight's candidate hot spots (GeoJSON, whitelisted fields) if scored for the scenario as it stands."""
    import json

    p = candidates_path(stored)
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None


def score_candidates(stored_id: int) -> str:
    """The queued body: score the scenario's hot spots with the package's steps (``ingest_scenario``,
    ``score_hotspots``, ``cell_labels``), as ``run_plan`` does, and cache the result per scenario content.

    Only rank, place (public location text) and position are kept: nothing from intelligence."""
    import json

    from patrol_planner.atomic import atomic_write_text
    from patrol_planner.errors import PatrolPlannerError
    from patrol_planner.scenario import steps as st

    stored = StoredScenario.objects.get(pk=stored_id)
    p = candidates_path(stored)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        r = stored.scenario().resolved()
        ing = st.ingest_scenario(r)
        scored = st.score_hotspots(ing.incidents, r)
    except PatrolPlannerError as exc:  # the page shows the one-line reason instead of waiting for ever
        atomic_write_text(p, json.dumps({"type": "FeatureCollection", "features": [], "error": str(exc)[:2000]},
                                        allow_nan=False))
        return str(p)
    sel = scored.selected
    ids = list(sel["cell_id"].astype(str))
    labels = st.cell_labels(scored.model, scored.usable, ids, scored.as_of)
    # named as the plan names them (police.uk place, district, grid reference), without the road network
    names = st.name_cells(ids, list(sel["x_m"]), list(sel["y_m"]), [labels.get(c, "") for c in ids], r,
                          ing.incidents, scored.model)
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(x.lon), float(x.lat)]},
              "properties": {"kind": "spot", "status": "candidate", "rank": int(x.rank), "place": n.label}}
             for x, n in zip(sel.itertuples(index=False), names, strict=True)]
    atomic_write_text(p, json.dumps({"type": "FeatureCollection", "features": feats,
                                     "as_of": str(scored.as_of)}, allow_nan=False))
    return str(p)

"""The programme's own random mechanism, re-run with another seed (for randomisation tests and A/A checks).

A randomisation test is valid only when its reference schedules come from the mechanism that drew the
issued one: the same spots, block length, consecutive-day limits and per-spot targets. All of these are in
``programme.json`` and ``spots.geojson``, so the mechanism is rebuilt from the record alone, not from the
scenario (whose data may have changed since the programme was issued).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from patrol_planner.errors import ProgrammeError
from patrol_planner.programme import randomise as rz
from patrol_planner.programme.record import SCHEDULE_COLUMNS, Programme


def redraw_design(programme: Programme) -> Callable[[int], pd.DataFrame]:
    """``redraw(seed) -> schedule`` drawing a fresh schedule with ``programme``'s own design.

    The frame has :data:`~patrol_planner.programme.SCHEDULE_COLUMNS`, rows by date then spot as issued;
    ``p_treated`` is the issued one (the design's probabilities do not depend on the draw).
    """
    d = programme.design
    rnd = d.get("randomisation")
    if not isinstance(rnd, dict) or "design" not in rnd or "block_days" not in rnd:
        raise ProgrammeError(f"{programme.folder}: programme.json does not record its randomisation; "
                             "it cannot be re-drawn")
    spot_ids = list(programme.spots)
    days, block = int(d["days"]), int(rnd["block_days"])
    limits = rz.Limits(rnd.get("max_consecutive_treated"), rnd.get("max_consecutive_control"))
    if rnd["design"] == "equal":
        k = int(rnd["treated_per_day"])

        def draw(rng: np.random.Generator) -> np.ndarray:
            return rz.draw_equal(len(spot_ids), k, days, block, rng, limits)
    else:
        target = np.array([float(programme.spot_properties[s]["p_target"]) for s in spot_ids])

        def draw(rng: np.random.Generator) -> np.ndarray:
            return rz.draw_harm(target, days, block, rng, limits)

    issued = programme.schedule.set_index(["date", "spot_id"])["p_treated"]
    dates = programme.dates
    visits, minutes = int(d["dose"]["visits"]), float(d["dose"]["minutes"])

    def redraw(seed: int) -> pd.DataFrame:
        treated = draw(np.random.default_rng(seed)).ravel().astype(int)
        frame = pd.DataFrame({
            "date": np.repeat(np.array(dates, dtype=object), len(spot_ids)),
            "spot_id": np.tile(np.array(spot_ids, dtype=object), days),
            "treated": treated,
        })
        frame["p_treated"] = issued.reindex(pd.MultiIndex.from_frame(frame[["date", "spot_id"]])).to_numpy()
        frame["visits"] = treated * visits
        frame["minutes"] = treated * minutes
        return frame[list(SCHEDULE_COLUMNS)]

    return redraw

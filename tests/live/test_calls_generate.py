"""The generator's diversions come from the fitted calls model: each committed time is one of the data's
dispatch-to-clear times, the calls fall inside the night, and the same seed gives the same calls."""

from __future__ import annotations

import numpy as np
import pandas as pd

from patrol_planner.live.calls import SERVICE_FILE, data_folder
from patrol_planner.live.generate import EDGE_S, control_events
from patrol_planner.live.replay import night_bounds


def _committed(events):
    return [e for e in events if e.kind == "status" and e.status.value == "committed"]


def test_diversions_use_the_datas_committed_times(make_ctx):
    df = pd.read_csv(data_folder() / SERVICE_FILE)
    total = (df["travel_min"] + df["on_scene_min"]).dropna()
    clean = np.unique(total[(total > 0) & (total <= 720)].to_numpy())
    ctx = make_ctx()
    start, end = night_bounds(ctx)
    events = control_events(ctx, seed=4, diversions=8, new_tasks=0, off_early=0)
    calls = _committed(events)
    assert 0 < len(calls) <= 8
    for e in calls:
        t = e.time.timestamp()
        assert start + EDGE_S / 2 - 1 <= t <= end - EDGE_S + 1
        minutes = (e.until.timestamp() - t) / 60
        # times are written to the second, so a drawn time is within a second of a value in the file
        assert np.min(np.abs(clean - minutes)) <= 1 / 60 + 1e-9
    again = _committed(control_events(ctx, seed=4, diversions=8, new_tasks=0, off_early=0))
    assert [(e.unit, e.time, e.until) for e in again] == [(e.unit, e.time, e.until) for e in calls]

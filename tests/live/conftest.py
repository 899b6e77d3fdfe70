"""The bundled Rutland night, planned once per session, and a fresh live context per test (a test that adds a
task must not change another's context)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NIGHT = ROOT / "scenarios" / "rutland-night.toml"


@pytest.fixture(scope="session")
def night_run():
    from patrol_planner.scenario import load_scenario, run_plan

    return run_plan(load_scenario(NIGHT))


@pytest.fixture()
def make_ctx(night_run) -> Callable:
    from patrol_planner.live.context import context_from_run

    return lambda: context_from_run(night_run)


@pytest.fixture(scope="session")
def night_events(night_run, tmp_path_factory):
    """The generated event file of the bundled night: 3 diversions, 2 new tasks, one unit off early."""
    from patrol_planner.live.context import context_from_run
    from patrol_planner.live.eventfile import events_csv
    from patrol_planner.live.generate import generate_events

    evs = generate_events(context_from_run(night_run), seed=0, diversions=3, new_tasks=2, off_early=1)
    path = tmp_path_factory.mktemp("live") / "events.csv"
    path.write_text(events_csv(evs))
    return path

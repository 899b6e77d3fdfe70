"""Live re-tasking: events from the night (positions, statuses, calls, tasks, intelligence), the live state
they build (where each unit is, what it has done, the dose each spot has had), re-plans from now, and a
replay that runs a whole night offline against the static plan (``docs/live.md``).

One concern per module: :mod:`.events` (the event model), :mod:`.eventfile` (the CSV reader with its
quarantine, and the writer), :mod:`.dose` (minutes present per spot from positions, by the dosage rules,
incrementally), :mod:`.state` (the live state), :mod:`.context` (the morning plan's routing inputs kept for
re-plans), :mod:`.replan` (re-plan from now), :mod:`.movement` (where a unit following a route is, every
10 s, with GPS noise), :mod:`.calls` (the call-rate and service-time model), :mod:`.generate` (event files
from a plan), :mod:`.replay` (the night offline, live against static) and :mod:`.outputs` (its files).
"""

from patrol_planner.live.events import EVENT_KINDS, Event, UnitStatus

__all__ = ["EVENT_KINDS", "Event", "UnitStatus"]

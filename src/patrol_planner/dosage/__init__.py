"""Dosage: how long patrols were present in each hot spot on each programme day, measured from GPS.

Read GPX tracks and CSV pings (:mod:`~patrol_planner.dosage.gpx`, :mod:`~patrol_planner.dosage.pingcsv`),
set aside bad points with reasons (:mod:`~patrol_planner.dosage.clean`), find time inside each spot's
zone (:mod:`~patrol_planner.dosage.presence`), turn it into visits and daily minutes
(:mod:`~patrol_planner.dosage.visits`), line it up with the programme schedule
(:mod:`~patrol_planner.dosage.measure`) and draw the compliance page
(:mod:`~patrol_planner.dosage.compliance`). Simulated tracks with known answers, for
tests and benchmarks, are in ``benchmarks/benchlib/dosage_sim.py`` (not part of the package).
"""

from patrol_planner.dosage.measure import (
    DOSAGE_COLUMNS,
    EXTRA_COLUMNS,
    DosageResult,
    measure_dosage,
    measure_pings,
    read_tracks,
    write_dosage,
)
from patrol_planner.dosage.params import DosageParams
from patrol_planner.dosage.pingcsv import BUILTIN_PING_MAPPINGS, PingMapping, load_ping_mapping
from patrol_planner.dosage.quarantine import REASONS

__all__ = ["BUILTIN_PING_MAPPINGS", "DOSAGE_COLUMNS", "EXTRA_COLUMNS", "REASONS", "DosageParams", "DosageResult",
           "PingMapping", "load_ping_mapping", "measure_dosage", "measure_pings", "read_tracks", "write_dosage"]

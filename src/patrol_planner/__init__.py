"""patrol_planner: crime and intelligence records in, a nightly proactive-patrol plan out.

Stages (data flows one way): ``incidents -> hotspots -> network -> routing -> plan/report``,
wired by :mod:`patrol_planner.scenario` and driven by the thin :mod:`patrol_planner.cli`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("patrol-planner")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

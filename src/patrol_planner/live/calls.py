"""The model of calls that divert patrols: an hourly call rate and a service-time distribution.

**An assumption, not fitted data.** No row-level public calls-for-service table (San Francisco, Detroit,
Seattle or New Orleans) could be obtained while this was written (see ``docs/live.md``, "Diversions"), so
the model is parametric and labelled as such wherever it is used:

* time committed to a call (travel to it, on scene, paperwork until clear) is log-normal with median
  :data:`SERVICE_MEDIAN_MIN` minutes and log-sd :data:`SERVICE_LOG_SD`, clipped to
  :data:`SERVICE_CLIP_MIN`; its mean, about 42 min, is of the order of the 39.7 min "average total time"
  (call to clear) that one public summary of Detroit's "911 Calls for Service" data reports;
* calls needing one of the patrol units arrive as a Poisson process of :data:`CALLS_PER_UNIT_HOUR` calls per
  unit and hour, flat over the night.

Replace these with quantiles from a real calls-for-service extract when one is at hand.
"""

from __future__ import annotations

import numpy as np

#: Median time a diverted unit is committed [min] (ASSUMPTION).
SERVICE_MEDIAN_MIN = 35.0
#: Log-sd of the committed time [-] (ASSUMPTION).
SERVICE_LOG_SD = 0.6
#: Committed times are clipped to this range [min].
SERVICE_CLIP_MIN = (10.0, 180.0)
#: Calls that take a patrol unit away, per unit and hour (ASSUMPTION).
CALLS_PER_UNIT_HOUR = 0.05
#: Where these figures come from, for outputs and docs.
SOURCE = ("parametric assumption (log-normal committed time, median 35 min, log-sd 0.6; Poisson calls, "
          "0.05 per unit-hour): no row-level public calls-for-service data was available")


def service_times_min(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` committed times [min]."""
    x = rng.lognormal(np.log(SERVICE_MEDIAN_MIN), SERVICE_LOG_SD, n)
    return np.clip(x, *SERVICE_CLIP_MIN)


def call_times_s(rng: np.random.Generator, start_s: float, end_s: float, n_units: int,
                 n: int | None = None, rate_per_unit_h: float = CALLS_PER_UNIT_HOUR) -> np.ndarray:
    """Call times in ``[start_s, end_s)`` [s]: a Poisson process of the fleet's rate, or exactly ``n`` calls
    (the same process conditioned on its count: sorted uniform times)."""
    if n is None:
        n = int(rng.poisson(rate_per_unit_h * n_units * (end_s - start_s) / 3600.0))
    return np.sort(rng.uniform(start_s, end_s, n))

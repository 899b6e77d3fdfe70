"""The model of calls that divert patrols, taken from public US police calls-for-service records.

The bundled folder ``data/calls-for-service-us/`` (its ``SOURCE.md`` says where every row comes from) holds:

* ``detroit-911-public-calls.csv``: per call, the minutes from dispatch to arrival and on scene until the
  unit cleared, for the 27 604 public (call-taker) calls of a 30-day extract of Detroit Police Department's
  "911 Calls for Service" (City of Detroit open data, public domain). The time a diverted unit is committed
  is the **dispatch-to-clear time** of one of these calls, drawn from their empirical distribution after the
  rows that cannot give one are quarantined (:data:`QUARANTINE_REASONS`, counts in :class:`CallModel`);
* ``seattle-911-at-scene-hours.csv``: Seattle Police Department responses to 911 calls in 2015 (City of
  Seattle open data, CC0) counted by the hour of day a unit was at the scene. Their relative rate by hour
  (mean 1 over the day) shapes **when** calls come: more in the evening, fewest before dawn.

The **level** of the rate, :data:`CALLS_PER_UNIT_HOUR`, stays a labelled assumption: how many calls take a
UK force's patrol unit away cannot come from a US city's totals. The rate at local hour ``h`` is
``CALLS_PER_UNIT_HOUR * weight[h]``, so the day's average is the assumption and the shape is the data.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import numpy as np
import pandas as pd

from patrol_planner.errors import InputFileError

#: Folder of the bundled sample under ``data/``.
DATA_FOLDER = "calls-for-service-us"
#: Per-call times: ``travel_min`` (dispatch to arrival) and ``on_scene_min`` (arrival to clear) [min].
SERVICE_FILE = "detroit-911-public-calls.csv"
#: Events by local hour of day: ``hour`` (0-23) and ``events``.
HOURS_FILE = "seattle-911-at-scene-hours.csv"
#: A dispatch-to-clear time above this is a record never closed in time, not a call [min] (12 h).
MAX_SERVICE_MIN = 720.0
#: Why a row gives no service time, in the order the rules are applied.
QUARANTINE_REASONS = ("travel or on-scene time missing", "negative", "zero", "over 12 h")
#: Calls that take a patrol unit away, per unit and hour, averaged over the day (ASSUMPTION, not US data).
CALLS_PER_UNIT_HOUR = 0.05
#: Where these figures come from, for outputs and docs.
SOURCE = ("committed time: empirical dispatch-to-clear times of Detroit Police 911 public calls (City of "
          "Detroit '911 Calls for Service (Last 30 Days)', public domain); hour-of-day shape: Seattle Police "
          "911 responses 2015 (City of Seattle, CC0); rate 0.05 calls per unit-hour averaged over the day is "
          "an assumption (data/calls-for-service-us/SOURCE.md)")


@dataclass(frozen=True)
class CallModel:
    """The fitted model: clean service times and the hour-of-day weights, with what was set aside."""

    #: Dispatch-to-clear times of the calls kept, sorted [min].
    service_min: np.ndarray
    #: Rows of the service file set aside, by reason (:data:`QUARANTINE_REASONS`).
    quarantined: dict[str, int]
    #: Events by local hour 0-23 (the file's counts).
    hour_events: np.ndarray
    #: Relative call rate by local hour, mean 1 over the day [-].
    hour_weight: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hour_weight", self.hour_events / self.hour_events.mean())

    @property
    def rows(self) -> int:
        """Rows read from the service file."""
        return len(self.service_min) + sum(self.quarantined.values())

    def quantiles_min(self, qs: list[float]) -> list[float]:
        """Quantiles of the committed time [min] (linear interpolation, numpy's default)."""
        return [float(v) for v in np.quantile(self.service_min, qs)]

    def lognormal_fit(self) -> tuple[float, float]:
        """Maximum-likelihood log-normal ``(median [min], log-sd)``: shown beside the empirical quantiles as a
        check of their shape; draws use the empirical distribution itself."""
        logs = np.log(self.service_min)
        return float(np.exp(logs.mean())), float(logs.std())


def data_folder() -> Path:
    """The bundled calls-for-service sample (installed package data or the source checkout)."""
    from patrol_planner.bundled import bundled_root

    return bundled_root() / "data" / DATA_FOLDER


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise InputFileError(f"{path}: calls-for-service file not found; reinstall patrol-planner") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputFileError(f"{path}: columns {', '.join(missing)} missing (need {', '.join(columns)})")
    try:
        return df[list(columns)].astype(float)
    except ValueError as exc:
        raise InputFileError(f"{path}: non-numeric value ({exc})") from None


def clean_service_times(travel_min: np.ndarray, on_scene_min: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Dispatch-to-clear times [min] (travel + on scene) of the rows that give one, sorted, and the count set
    aside for each of :data:`QUARANTINE_REASONS`."""
    total = np.asarray(travel_min, dtype=float) + np.asarray(on_scene_min, dtype=float)
    missing = np.isnan(total)
    rules = [missing, ~missing & (total < 0), ~missing & (total == 0), ~missing & (total > MAX_SERVICE_MIN)]
    counts = {reason: int(mask.sum()) for reason, mask in zip(QUARANTINE_REASONS, rules, strict=True)}
    keep = ~np.logical_or.reduce(rules)
    return np.sort(total[keep]), counts


def load_call_model(folder: Path) -> CallModel:
    """Fit the model to the two files in ``folder``; one-line :class:`InputFileError` if they cannot be used."""
    svc = _read_csv(folder / SERVICE_FILE, ("travel_min", "on_scene_min"))
    service, quarantined = clean_service_times(svc["travel_min"].to_numpy(), svc["on_scene_min"].to_numpy())
    if len(service) == 0:
        raise InputFileError(f"{folder / SERVICE_FILE}: no row gives a dispatch-to-clear time")
    hours = _read_csv(folder / HOURS_FILE, ("hour", "events"))
    if sorted(hours["hour"].tolist()) != list(range(24)):
        raise InputFileError(f"{folder / HOURS_FILE}: needs one row for each hour 0-23")
    events = hours.sort_values("hour")["events"].to_numpy()
    if (events < 0).any() or events.sum() <= 0:
        raise InputFileError(f"{folder / HOURS_FILE}: event counts must be >= 0 and not all zero")
    return CallModel(service_min=service, quarantined=quarantined, hour_events=events)


@functools.lru_cache(maxsize=1)
def call_model() -> CallModel:
    """The model fitted to the bundled sample (read once per process)."""
    return load_call_model(data_folder())


def service_times_min(rng: np.random.Generator, n: int, model: CallModel | None = None) -> np.ndarray:
    """``n`` committed times [min], drawn with replacement from the clean dispatch-to-clear times."""
    sample = (model or call_model()).service_min
    return sample[rng.integers(0, len(sample), n)]


def hour_pieces(start_s: float, end_s: float, tz: tzinfo | None = None) -> list[tuple[float, float, int]]:
    """``[start_s, end_s)`` [epoch s] cut at local hour boundaries: ``(from, to, local hour)`` pieces."""
    zone = tz or UTC
    pieces = []
    t = float(start_s)
    while t < end_s:
        local = datetime.fromtimestamp(t, zone)
        # the next local top of the hour (zones here are whole-hour offsets of UTC)
        top = t - (local.minute * 60 + local.second + local.microsecond / 1e6) + 3600.0
        pieces.append((t, min(top, float(end_s)), local.hour))
        t = min(top, float(end_s))
    return pieces


def call_times_s(rng: np.random.Generator, start_s: float, end_s: float, n_units: int, n: int | None = None,
                 rate_per_unit_h: float = CALLS_PER_UNIT_HOUR, tz: tzinfo | None = None,
                 model: CallModel | None = None) -> np.ndarray:
    """Call times in ``[start_s, end_s)`` [epoch s], sorted: a Poisson process whose rate at local hour ``h``
    (in ``tz``, UTC if None) is ``rate_per_unit_h * n_units * weight[h]``; with ``n``, exactly ``n`` calls
    (the same process conditioned on its count: times drawn from the rate's shape)."""
    pieces = hour_pieces(start_s, end_s, tz)
    if not pieces:
        return np.zeros(0)
    weight = (model or call_model()).hour_weight
    lo = np.array([p[0] for p in pieces])
    hi = np.array([p[1] for p in pieces])
    mass = weight[[p[2] for p in pieces]] * (hi - lo)
    if n is None:
        n = int(rng.poisson(rate_per_unit_h * n_units * mass.sum() / 3600.0))
    share = mass / mass.sum() if mass.sum() > 0 else (hi - lo) / (hi - lo).sum()
    k = rng.choice(len(pieces), size=n, p=share)
    return np.sort(lo[k] + rng.uniform(0.0, 1.0, n) * (hi[k] - lo[k]))

"""Design-based inference for the place-day analysis: one framework gives the estimate, its p-value and interval.

Estimand
--------
The ratio of the crime expected on patrolled spot-days to the crime expected on unpatrolled spot-days *at
the same spot in the same randomisation block*, pooled over spots and blocks with Mantel-Haenszel weights
(Rothman, Greenland & Lash, *Modern Epidemiology*, 3rd ed., ch. 15, person-time data):

    RR_MH = sum_g (Yt_g * Nc_g / N_g) / sum_g (Yc_g * Nt_g / N_g)

for strata ``g`` = spot x block, ``Yt``/``Yc`` the outcome on treated/control days of the stratum, ``Nt``/``Nc``
their numbers of days. Within a stratum the blocked design fixes (``harm``) or nearly fixes (``equal``) the
number of treated days, so ``Nt_g / N_g`` is the design probability of treatment of those spot-days; the MH
weights are inverse-probability weights within strata, and a harm-weighted design (busier spots treated more
often) does not bias the pooled ratio towards the busy spots. Under a constant multiplicative effect ``r``
(every spot-day's crime scaled by ``r`` when patrolled) RR_MH estimates ``r``.

p-value and interval from the same randomisation test
-----------------------------------------------------
H0(r): patrols multiply crime by ``r`` on every spot-day. Under H0(r) the outcomes the spots would have had
without patrols are known: ``y / r`` on treated days, ``y`` on control days. The test statistic is
``log RR_MH`` of those adjusted outcomes by assignment, compared with the same statistic under schedules
re-drawn with the programme's own design (Rosenbaum 2002, *Observational Studies*, ch. 2; Imbens &
Rubin 2015, ch. 5). Two-sided: ``p(r) = (1 + #{draws at least as extreme}) / (1 + draws)``. The headline
p-value is ``p(1)``; the 95% interval is the set of ``r`` with ``p(r) >= 0.05``, found by stepping out from
the estimate on the log scale and bisecting at each end. So the p-value is below 0.05 exactly when the
interval excludes 1 (when the set of accepted ``r`` is not one piece, the interval is stretched to cover 1
if ``p(1) >= 0.05``, and ``contiguous`` says so).

A re-draw whose statistic is not finite (no events on one side of every stratum) is as extreme as can be:
it counts as at least as extreme as the observed value, never dropped.

The same machinery, with another exposure or another adjustment, gives carry-over (crime 1-4 days after a
patrol day), spill-over (crime at a spot when a neighbouring spot is patrolled) and the dose-response
(random assignment as an instrument for minutes present; Imbens & Rosenbaum 2005, *JRSS A* 168:109).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from patrol_planner.errors import EvaluationError

#: Two-sided level of the interval (95%).
ALPHA = 0.05
#: Step [log rate ratio] when stepping out from the estimate, and the farthest it goes (a factor of e^6 ~ 400).
STEP, REACH = 0.05, 6.0
#: Bisection steps at each end of the interval (the end is then known to STEP / 2^12 on the log scale).
BISECT = 12


@dataclass(frozen=True)
class Inference:
    """One estimate with its randomisation p-value and inverted interval.

    ``rate_ratio`` is exp(theta): the MH rate ratio for a 0/1 exposure, or the rate ratio per unit of dose for
    a dose. ``ci_low``/``ci_high`` may be 0 / inf when the data cannot rule out any value on that side.
    ``events`` is the sum of the outcome in the strata used; ``exposed_total`` / ``unexposed_total`` split it.
    ``nonfinite_draws`` counts re-draws whose statistic at no effect was not finite (counted as extreme).
    """

    term: str
    outcome: str
    rate_ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    n_draws: int
    events: float
    exposed_total: float
    unexposed_total: float
    nonfinite_draws: int
    contiguous: bool = True
    method: str = "randomisation (Mantel-Haenszel, spot x block)"

    def to_dict(self) -> dict:
        return asdict(self)


def strata_codes(table: pd.DataFrame, block_days: int) -> np.ndarray:
    """Stratum code (spot x block of ``block_days`` programme days) of each spot-day row."""
    if block_days < 1:
        raise EvaluationError(f"block_days must be >= 1, got {block_days}")
    day_no = pd.Index(sorted(set(table["date"]))).get_indexer(table["date"])
    spot = pd.factorize(table["spot_id"])[0]
    return pd.factorize(spot.astype(np.int64) * (len(table) + 1) + day_no // block_days)[0]


class MHStatistic:
    """``log RR_MH`` of an outcome by a 0/1 exposure, for the observed exposure and many re-drawn ones at once.

    ``strata`` gives each row's stratum (-1 = row not used). ``ref`` is the (draws x rows) 0/1 matrix of
    re-drawn exposures; ``obs`` the observed one.
    """

    def __init__(self, strata: np.ndarray, obs: np.ndarray, ref: np.ndarray):
        strata = np.asarray(strata)
        if ref.ndim != 2 or ref.shape[1] != len(strata) or len(obs) != len(strata):
            raise EvaluationError("re-drawn exposures do not match the spot-day table")
        self.use = strata >= 0
        rows = np.flatnonzero(self.use)
        codes = pd.factorize(strata[rows])[0]
        self.n_groups = int(codes.max()) + 1 if len(codes) else 0
        self._rows, self._codes = rows, codes
        self.obs = np.asarray(obs, float)
        self.ref_t = np.ascontiguousarray(ref[:, rows].T, dtype=np.float64)  # rows x draws
        ones = self._membership(np.ones(len(rows)))
        self.n_g = np.asarray(ones.sum(axis=0)).ravel()
        self.nt_ref = np.asarray((ones.T @ self.ref_t).T)  # draws x G
        self.nt_obs = ones.T @ self.obs[rows]

    def with_observed(self, obs: np.ndarray) -> MHStatistic:
        """The same re-draws with another observed exposure (simulations reuse the costly reference part)."""
        other = object.__new__(MHStatistic)
        other.__dict__.update(self.__dict__)
        other.obs = np.asarray(obs, float)
        other.nt_obs = self._membership(np.ones(len(self._rows))).T @ other.obs[self._rows]
        return other

    def _membership(self, values: np.ndarray) -> sparse.csr_matrix:
        nz = np.flatnonzero(values)  # crime is rare on a spot-day: only rows with events cost anything
        return sparse.csr_matrix((values[nz], (nz, self._codes[nz])), shape=(len(values), self.n_groups))

    def parts(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(treated sums of the re-draws (draws x G), observed treated sums (G), totals (G)) of outcome ``y``."""
        m = self._membership(np.asarray(y, float)[self._rows])
        return np.asarray((m.T @ self.ref_t).T), m.T @ self.obs[self._rows], np.asarray(m.sum(axis=0)).ravel()

    def p_value(self, y: np.ndarray, *, self_included: bool = False) -> float:
        """Two-sided randomisation p-value of no effect on outcome ``y`` (the headline test's p at r = 1).

        ``self_included``: the observed exposure is one of the re-draws (a simulation drawing both from one
        pool); it is then not counted again, so p = #extreme / draws.
        """
        yt_ref, yt_obs, y_g = self.parts(y)
        ref = self.log_mh(yt_ref, self.nt_ref, y_g)
        p = two_sided_p(float(self.log_mh(yt_obs, self.nt_obs, y_g)), ref)[0]
        return p * (1 + len(ref)) / len(ref) - 1 / len(ref) if self_included else p

    def log_mh(self, yt: np.ndarray, nt: np.ndarray, y_g: np.ndarray) -> np.ndarray:
        """``log RR_MH`` from treated sums ``yt``, treated days ``nt`` and stratum totals ``y_g`` (last axis G)."""
        on = y_g != 0  # strata without events add nothing to either sum
        n, yt, nt, y_g = self.n_g[on], yt[..., on], nt[..., on], y_g[on]
        with np.errstate(divide="ignore", invalid="ignore"):
            num = np.sum(yt * (n - nt) / n, axis=-1)
            den = np.sum((y_g - yt) * nt / n, axis=-1)
            return np.log(num) - np.log(den)


def two_sided_p(observed: float, reference: np.ndarray) -> tuple[float, int]:
    """``(1 + #extreme) / (1 + draws)`` and the number of non-finite re-draws.

    A non-finite re-draw (no events on one side) is as extreme as any value, so it always counts; a non-finite
    observed value is matched only by non-finite re-draws.
    """
    ref = np.asarray(reference, float)
    bad = ~np.isfinite(ref)
    if not np.isfinite(observed):
        extreme = int(bad.sum())
    else:
        with np.errstate(invalid="ignore"):
            extreme = int(np.sum(bad | (np.abs(ref) >= abs(observed) - 1e-12)))
    return float(min(1.0, (1 + extreme) / (1 + len(ref)))), int(bad.sum())


class InvertedTest:
    """p(theta) for H0: outcome = y0 * exp(theta * x) with ``x`` the observed dose (0/1 or minutes), tested by
    the MH statistic of the adjusted outcome ``y * exp(-theta * x)`` by the randomised exposure."""

    def __init__(self, stat: MHStatistic, y: np.ndarray, x: np.ndarray):
        self.stat = stat
        self.y = np.asarray(y, float)
        self.x = np.asarray(x, float)
        levels = np.unique(self.x[stat.use])
        # few dose levels (0/1 assignment): precompute one product per level, then each theta is cheap
        self._levels = levels if len(levels) <= 8 else None
        if self._levels is not None:
            self._pieces = [stat.parts(self.y * (self.x == u)) for u in self._levels]

    def _parts(self, theta: float):
        if self._levels is None:
            return self.stat.parts(self.y * np.exp(-theta * self.x))
        w = np.exp(-theta * self._levels)
        return tuple(sum(wi * p[k] for wi, p in zip(w, self._pieces, strict=True)) for k in range(3))

    def observed(self, theta: float) -> float:
        _, yt_obs, y_g = self._parts(theta)
        return float(self.stat.log_mh(yt_obs, self.stat.nt_obs, y_g))

    def p(self, theta: float) -> tuple[float, int]:
        yt_ref, yt_obs, y_g = self._parts(theta)
        obs = float(self.stat.log_mh(yt_obs, self.stat.nt_obs, y_g))
        return two_sided_p(obs, self.stat.log_mh(yt_ref, self.stat.nt_ref, y_g))


def _solve(f: Callable[[float], float], lo: float = -REACH, hi: float = REACH) -> float:
    """Root of a decreasing function on [lo, hi] by bisection (NaN when there is none)."""
    flo, fhi = f(lo), f(hi)
    if not (np.isfinite(flo) and np.isfinite(fhi)) or flo * fhi > 0:
        return float("nan")
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        fm = f(mid)
        if not np.isfinite(fm):
            return float("nan")
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _edge(test: InvertedTest, start: float, direction: int) -> float:
    """Last accepted theta stepping from ``start`` in ``direction`` (theta = 0 is always one of the steps)."""
    inside = start
    for _ in range(int(REACH / STEP)):
        nxt = inside + direction * STEP
        if (inside - 0) * (nxt - 0) < 0:  # crossing no effect: test it exactly
            nxt = 0.0
        if test.p(nxt)[0] < ALPHA:
            lo, hi = inside, nxt
            for _ in range(BISECT):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if test.p(mid)[0] >= ALPHA else (lo, mid)
            return lo
        inside = nxt
    return direction * np.inf


def infer(stat: MHStatistic, y: np.ndarray, *, x: np.ndarray | None = None, term: str = "treated",
          outcome: str = "crimes") -> Inference:
    """Estimate, p-value at no effect and 95% interval by inverting the randomisation test.

    ``x`` is the observed dose the effect multiplies (default: the observed exposure itself, so the result is
    the MH rate ratio); with minutes present / 15 it is the rate ratio per 15 minutes (instrumental variable).
    """
    y = np.asarray(y, float)
    x = stat.obs if x is None else np.asarray(x, float)
    used = stat.use
    events = float(y[used].sum())
    exposed = float(y[used & (stat.obs > 0)].sum())
    if events <= 0:
        raise EvaluationError(f"no {outcome.replace('_', ' ')} in the strata compared: nothing to test")
    test = InvertedTest(stat, y, x)
    p0, bad = test.p(0.0)
    theta = _solve(test.observed)
    nan = float("nan")
    if not np.isfinite(theta):
        return Inference(term, outcome, nan, nan, nan, p0, stat.ref_t.shape[1], events, exposed, events - exposed, bad)
    lo, hi = _edge(test, theta, -1), _edge(test, theta, +1)
    contiguous = True
    if p0 >= ALPHA and not lo <= 0.0 <= hi:
        lo, hi, contiguous = min(lo, 0.0), max(hi, 0.0), False
    return Inference(term, outcome, float(np.exp(theta)), float(np.exp(lo)), float(np.exp(hi)), p0,
                     stat.ref_t.shape[1], events, exposed, events - exposed, bad, contiguous)


def lagged(assign: np.ndarray, n_spots: int, lag: int) -> np.ndarray:
    """Exposure ``lag`` days earlier at the same spot, for rows ordered by date then spot (last axis)."""
    a = np.asarray(assign)
    out = np.zeros_like(a)
    shift = lag * n_spots
    if shift < a.shape[-1]:
        out[..., shift:] = a[..., : a.shape[-1] - shift]
    return out


def neighbour_exposure(assign: np.ndarray, adjacency: np.ndarray) -> np.ndarray:
    """1 where any neighbouring spot is treated the same day, for rows ordered by date then spot (last axis)."""
    a = np.asarray(assign)
    n = adjacency.shape[0]
    shaped = a.reshape(*a.shape[:-1], -1, n).astype(np.float32)
    return ((shaped @ adjacency.astype(np.float32)) > 0).astype(np.int8).reshape(a.shape)

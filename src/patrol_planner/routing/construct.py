"""A fast insertion construction and a ruin-and-recreate search on the rules of the problem, in floats.

Why hand-written: OR-Tools needs one routing node per visit copy *and* prize-window segment plus pairwise
big-M rows for the repeat gap, which grows to thousands of nodes for a force's night and then finds no
first solution in minutes; PyVRP cannot express breaks or repeat gaps across units. This module works on
the problem's own rules instead, so it scales with the number of visits, not of variants:

* a route is a sequence of *elements*: visits, and at most one *break* element (the unit stops where
  it is, for ``break_s``, starting inside its break window: before leaving, on a leg, or before
  returning); every element has an earliest start (``lo``) and a latest start (``hi``);
* times are the earliest schedule (leave at the earliest, start each element as soon as possible);
  for each element the latest start that keeps the rest of the route feasible is kept too (a backward
  pass), so testing an insertion is O(1) per position and vectorised over all positions and candidates;
* a candidate is a *piece*: a site, one of its prize-window segments and one interval its repeat gap
  allows, with a constant prize gain (the visit's number among the site's visits and its multiplier do
  not change inside a piece). Existing visits may be pushed later only inside their own segment and
  their gap bounds, so an insertion never changes another visit's prize or breaks a gap;
* insertion picks the best ratio of prize gained to time used (travel added, dwell, waiting);
  :func:`improve` then removes a random set or a string of visits and re-inserts (ruin and recreate),
  keeping improvements, for a number of iterations (deterministic) or until a deadline.

Every plan from here goes through the independent validator like any other back end's.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from patrol_planner.routing.params import DEADLINE_SLACK_S, SolveParams, lns_patience
from patrol_planner.routing.plans import UnitPlan, eligible_units, segments
from patrol_planner.routing.problem import COVER_TOL_S, SEED_BREAK, PatrolProblem, Site, Unit

#: A visit pushed later must still start strictly inside its prize-window segment ``[a, b)``: its
#: latest start is ``b - SEGMENT_EPS_S`` [s].
SEGMENT_EPS_S = 1e-3
#: Least gap between two visits of one site even when ``min_gap_s`` is 0 [s]: two visits starting at the
#: same instant could not be numbered 1 and 2 by time.
MIN_GAP_FLOOR_S = 1e-3
#: Floor on the time an insertion uses, as a share of the longest shift: keeps the prize/time ratio
#: finite for zero-dwell, zero-detour visits (orienteering benchmarks).
TIME_FLOOR_SHARE = 1e-4
#: Ruin size: share of the plan's visits removed per iteration, drawn uniformly in this range, and at
#: most MAX_RUIN visits: small ruins are cheap to repair and a big night needs many of them.
RUIN_SHARE = (0.05, 0.3)
MAX_RUIN = 30
#: Multiplicative noise on insertion scores during the search (not the first construction) [-].
SCORE_NOISE = 0.25
#: Simulated-annealing acceptance: a worse plan is accepted with probability exp(-loss / temperature);
#: the temperature falls linearly from this share of the objective to zero over the run [-].
START_TEMPERATURE_SHARE = 0.003
#: Widening of the cheap necessary test in :meth:`_Plan._scores` [s], against float rounding: it only lets
#: a few more pairs through to the exact test.
PREFILTER_SLACK_S = 1e-3
#: Most entries in the cache of a site's pieces by its visits' times before it is emptied.
PIECE_CACHE_SIZE = 200_000


@dataclass
class _Elem:
    site: int  # -1 for the break
    loc: int  # matrix row; for the break: where the unit is when it stops
    lo: float  # earliest start [s] when inserted (piece start; the break: its window start)
    hi: float  # latest start [s] when inserted (piece end; the break: window end - break)
    dur: float  # dwell or break length [s]
    t: float = 0.0  # current (earliest) start [s]
    route: int = -1  # index of the route holding it (visits only; set by _Plan.insert)


@dataclass
class _Route:
    unit: Unit
    elems: list[_Elem] = field(default_factory=list)
    # slot arrays (insertion before element i, i = 0 .. len(elems)); filled by _Plan.schedule
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    feasible: bool = True


class _Plan:
    """Mutable plan state: routes, each site's visits in time order, and schedules with slack."""

    def __init__(self, problem: PatrolProblem, params: SolveParams) -> None:
        self.problem, self.params = problem, params
        self.w = params.travel_weight_per_s
        self.routes = [_Route(u) for u in problem.units]
        for r in self.routes:
            u = r.unit
            if u.break_s > 0:
                b0, b1 = u.break_bounds_s
                r.elems.append(_Elem(-1, u.start.location, b0, b1 - u.break_s, u.break_s))
        self.eligible = {s.index: {u.index for u in eligible_units(problem, s)} for s in problem.sites}
        self.elig = np.zeros((len(problem.sites), len(problem.units)), dtype=bool)  # [site, unit]
        for si, us in self.eligible.items():
            self.elig[si, sorted(us)] = True
        self.t0 = min(u.shift_start_s for u in problem.units)
        self.t1 = max(u.shift_end_s for u in problem.units)
        self.segs = {s.index: segments(s, self.t0, self.t1) for s in problem.sites}
        # segment starts per site, for a binary search (segments are sorted and disjoint)
        self.seg_starts = {si: [a for a, _b, _m in sg] for si, sg in self.segs.items()}
        self.gap_s = [max(s.min_gap_s, MIN_GAP_FLOOR_S) for s in problem.sites]
        # travel times as nested lists: the schedules read them one entry at a time, which is several
        # times faster from a list than from a numpy array (same float values)
        self.t_rows = {m: T.tolist() for m, T in problem.travel_time_s.items()}
        # a site's pieces depend only on its visits' start times: shared by every copy of the plan
        self.piece_cache: dict[tuple[float, ...], list[tuple[int, int, float, float, float, float]]] = {}
        self.floor_s = TIME_FLOOR_SHARE * max(u.shift_end_s - u.shift_start_s for u in problem.units)
        self.req_bonus = problem.required_bonus() if any(s.required for s in problem.sites) else 0.0
        # keep[site, unit]: the stable re-plan bonus of serving the site with that unit
        self.keep = np.zeros((len(problem.sites), len(problem.units)))
        for (sid, uid), b in problem.keep_bonus.items():
            self.keep[problem.site_by_id(sid).index, problem.unit_by_id(uid).index] = b
        # need[unit, location]: a designated cover unit's leg A -> B is allowed iff T[A, B] + need[B] <= 0
        n_loc = problem.n_locations
        self.need = np.full((len(problem.units), n_loc), -np.inf)
        for u in problem.units:
            nd = problem.cover_need(u)
            if nd is not None:
                self.need[u.index] = nd
        self.all_eligible = bool(self.elig.all())  # no sectors, modes or radii to test per slot
        self.has_keep = bool(problem.keep_bonus)
        self.has_need = np.isfinite(self.need).any(axis=1)  # [unit]: has a cover rule (skip the test if not)
        for r in self.routes:
            self.schedule(r)

    # --- state ----------------------------------------------------------------------------------
    def copy(self) -> _Plan:
        """An independent copy of the routes (problem data and caches are shared, never mutated)."""
        new = object.__new__(_Plan)
        new.__dict__.update(self.__dict__)
        new.routes = [_Route(r.unit, [_Elem(e.site, e.loc, e.lo, e.hi, e.dur, e.t, e.route) for e in r.elems],
                             dict(r.arrays), r.feasible) for r in self.routes]
        return new

    def site_visits(self) -> dict[int, list[_Elem]]:
        """Each site's visit elements in time order."""
        out: dict[int, list[_Elem]] = {}
        for r in self.routes:
            for e in r.elems:
                if e.site >= 0:
                    out.setdefault(e.site, []).append(e)
        for lst in out.values():
            lst.sort(key=lambda e: e.t)
        return out

    def objective(self) -> float:
        """Prize collected minus travel cost, exactly as :func:`plans.build_result` prices it."""
        prize = 0.0
        for si, lst in self.site_visits().items():
            s = self.problem.sites[si]
            prize += sum(s.visit_prize(k, e.t) for k, e in enumerate(lst, start=1))
            if s.required:
                prize += self.req_bonus
        pairs = {(e.site, r.unit.index) for r in self.routes for e in r.elems if e.site >= 0}
        prize += sum(self.keep[p] for p in pairs)
        return prize - self.w * self.travel_s()

    def travel_s(self) -> float:
        """Total travel time of the plan [s]."""
        total = 0.0
        for r in self.routes:
            T = self.problem.travel_time_s[r.unit.mode]
            prev = r.unit.start.location
            for e in r.elems:
                if e.site >= 0:
                    total += float(T[prev, e.loc])
                    prev = e.loc
            total += float(T[prev, r.unit.end.location])
        return total

    # --- schedules ------------------------------------------------------------------------------
    def _gap_bounds(self, e: _Elem, visits: dict[int, list[_Elem]]) -> tuple[float, float]:
        """Earliest/latest start of a visit so that its site's other visits stay ``min_gap_s`` away and
        its prize segment does not change."""
        lo, hi = e.lo, e.hi
        lst = visits.get(e.site, ())
        if len(lst) > 1:  # alone, the visit has no neighbour to keep its gap to
            gap = self.gap_s[e.site]
            k = 0
            while lst[k] is not e:  # lists hold max_visits elements: a plain scan is cheapest
                k += 1
            if k > 0:
                lo = max(lo, lst[k - 1].t + gap)
            if k + 1 < len(lst):
                hi = min(hi, lst[k + 1].t - gap)
        if e.lo <= e.t <= e.hi:
            # the piece's bounds lie inside one segment (site_pieces), so when the visit starts inside
            # them the segment's bounds add nothing: skip the search (the common case)
            return lo, hi
        k = bisect_right(self.seg_starts[e.site], e.t) - 1  # the segment holding e.t, if any
        if k >= 0:
            a, b, _m = self.segs[e.site][k]
            if e.t < b:
                lo, hi = max(lo, a), min(hi, b - SEGMENT_EPS_S)
        return lo, hi

    def _bounds(self, elems: list[_Elem], visits: dict[int, list[_Elem]]) -> tuple[list[float], list[float]]:
        """Earliest and latest start of each element: :meth:`_gap_bounds` of the visits, inlined for the
        common cases (a hot loop), and the break's own window."""
        los: list[float] = []
        his: list[float] = []
        for e in elems:
            lo, hi = e.lo, e.hi
            # a visit alone at its site, starting inside its piece, keeps the piece's bounds
            if e.site >= 0 and (len(visits.get(e.site, ())) > 1 or not lo <= e.t <= hi):
                lo, hi = self._gap_bounds(e, visits)
            los.append(lo)
            his.append(hi)
        return los, his

    def schedule(self, r: _Route, visits: dict[int, list[_Elem]] | None = None) -> None:
        """Earliest start of every element, latest starts, and the slot arrays of route ``r``."""
        visits = self.site_visits() if visits is None else visits
        u, T = r.unit, self.t_rows[r.unit.mode]
        elems = r.elems
        n = len(elems)
        los, his = self._bounds(elems, visits)
        # forward: earliest starts; the break stays where the unit is
        t, loc = u.leave_min_s, u.start.location
        dep, phys = [t], [loc]
        ok = True
        for i, e in enumerate(elems):
            if e.site < 0:
                e.loc = loc
                start = max(t, los[i])
            else:
                start = max(t + T[loc][e.loc], los[i])
                loc = e.loc
            ok = ok and start <= his[i] + 1e-9
            e.t = start
            t = start + e.dur
            dep.append(t)
            phys.append(loc)
        end_arr = t + T[loc][u.end.location]
        ok = ok and end_arr <= u.shift_end_s + 1e-9 and self.cover_break(r) is None
        # backward: latest start of each element (and latest arrival at the end station)
        late = [0.0] * (n + 1)
        late[n] = u.shift_end_s
        nxt_loc = u.end.location
        for i in range(n - 1, -1, -1):
            e = elems[i]
            # no travel into a break: the unit stops where it is
            travel = 0.0 if i + 1 < n and elems[i + 1].site < 0 else T[phys[i + 1]][nxt_loc]
            late[i] = min(his[i], late[i + 1] - travel - e.dur)
            if e.site >= 0:
                nxt_loc = e.loc
        r.feasible = bool(ok)
        self._slots(r, dep, phys, los, his, late)

    def cover_break(self, r: _Route) -> int | None:
        """Index of the first visit element whose leg in (or, for the last visit, the leg home) breaks the
        unit's cover rule; ``None`` when every leg keeps it (or the unit has no cover rule)."""
        if not self.has_need[r.unit.index]:
            return None
        need = self.need[r.unit.index]
        T = self.problem.travel_time_s[r.unit.mode]
        prev, last = r.unit.start.location, None
        for i, e in enumerate(r.elems):
            if e.site < 0:
                continue
            if T[prev, e.loc] + need[e.loc] > COVER_TOL_S:
                return i
            prev, last = e.loc, i
        if last is not None and T[prev, r.unit.end.location] + need[r.unit.end.location] > COVER_TOL_S:
            return last
        return None

    def _slots(self, r: _Route, dep: list[float], phys: list[int], los: list[float], his: list[float],
               late: list[float]) -> None:
        """Arrays describing each insertion slot (after element ``i - 1``), for :meth:`evaluate`."""
        elems = r.elems
        n = len(elems)
        u = r.unit
        nxt_loc = [u.end.location] * (n + 1)
        pre_b0, brk_b, brk_hi = [-math.inf] * (n + 1), [0.0] * (n + 1), [math.inf] * (n + 1)
        lo_nxt, l_nxt = [-math.inf] * (n + 1), [u.shift_end_s] * (n + 1)
        for i in range(n + 1):
            j = i  # the element after the slot
            if j < n and elems[j].site < 0:  # the break follows: it moves with the new visit, and
                # what comes after it is checked against that element's own latest start
                pre_b0[i], brk_b[i], brk_hi[i] = los[j], elems[j].dur, his[j]
                j += 1
            if j < n:
                nxt_loc[i], lo_nxt[i], l_nxt[i] = elems[j].loc, los[j], late[j]
        ints = np.array([phys, nxt_loc], dtype=np.int64)
        base = self.problem.travel_time_s[u.mode][ints[0], ints[1]]
        # two matrices (one row per field, see SLOT_FLOATS and SLOT_INTS): evaluate stacks the routes'
        # slots with one concatenation each; the rows by name too (views)
        floats = np.array([dep, pre_b0, brk_b, brk_hi, lo_nxt, l_nxt, base], dtype=float)
        r.arrays = _slot_arrays(floats, ints)

    def refresh(self) -> None:
        """Reschedule every route (after removals, when times may move earlier)."""
        visits = self.site_visits()
        for r in self.routes:
            self.schedule(r, visits)

    # --- candidates -------------------------------------------------------------------------------
    def site_pieces(self, s: Site, lst: list[_Elem]) -> list[tuple[int, int, float, float, float, float]]:
        """Every (segment, gap interval) a new visit of ``s`` could start in, with its constant prize
        gain: ``(site, location, lo_s, hi_s, dwell_s, gain)`` rows."""
        if (s.prize <= 0 and not s.required) or not self.eligible[s.index] or len(lst) >= s.max_visits:
            return []
        times = [e.t for e in lst]
        key = (s.index, *times)
        rows = self.piece_cache.get(key)
        if rows is None:
            if len(self.piece_cache) > PIECE_CACHE_SIZE:
                self.piece_cache.clear()
            rows = self.piece_cache[key] = self._pieces(s, times)
        return rows

    def _pieces(self, s: Site, times: list[float]) -> list[tuple[int, int, float, float, float, float]]:
        """:meth:`site_pieces` for a site whose visits start at ``times`` (in time order) [s]."""
        old = sum(s.visit_prize(k, t) for k, t in enumerate(times, start=1))
        lo0, hi0 = max(s.open_s, self.t0), min(s.close_s, self.t1)
        # allowed starts lie between the exclusion zones (t - gap, t + gap) of the existing visits
        gap = max(s.min_gap_s, MIN_GAP_FLOOR_S)
        cuts = [(-math.inf, lo0)] + [(t - gap, t + gap) for t in times] + [(hi0, math.inf)]
        rows = []
        for rank, ((_, a), (b, _)) in enumerate(zip(cuts, cuts[1:], strict=False)):
            if b < a:
                continue
            for g0, g1, _m in self.segs[s.index]:
                lo, hi = max(a, g0), min(b, g1 - SEGMENT_EPS_S)
                if hi < lo:
                    continue
                new_times = [*times[:rank], lo, *times[rank:]]
                gain = sum(s.visit_prize(k, t) for k, t in enumerate(new_times, start=1)) - old
                if s.required:
                    gain += self.req_bonus  # first (only) visit of a task: worth more than everything else
                if gain > 0:
                    rows.append((s.index, s.location, lo, hi, s.dwell_s, gain))
        return rows

    def evaluate(self, routes: list[_Route], pc: dict[str, np.ndarray], noise: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Best score and slot of every piece in each of ``routes``: arrays (pieces, routes); score
        ``-inf`` where it does not fit. Routes of one travel mode are tested in one stacked pass."""
        out_s = np.full((len(pc["site"]), len(routes)), -np.inf)
        out_k = np.zeros((len(pc["site"]), len(routes)), dtype=np.int64)
        by_mode: dict[str, list[int]] = {}
        for c, r in enumerate(routes):
            by_mode.setdefault(r.unit.mode, []).append(c)
        for mode, cols in by_mode.items():
            rs = [routes[c] for c in cols]
            f = np.concatenate([r.arrays["f"] for r in rs], axis=1)
            i = np.concatenate([r.arrays["i"] for r in rs], axis=1)
            sizes = [r.arrays["f"].shape[1] for r in rs]
            unit_col = np.repeat([r.unit.index for r in rs], sizes)
            score = self._scores(self.problem.travel_time_s[mode], {"f": f, "i": i}, pc, noise, unit_col)
            out_s[:, cols], out_k[:, cols] = _best_per_route(score, sizes)
        return out_s, out_k

    def _scores(self, T: np.ndarray, a: dict[str, np.ndarray], pc: dict[str, np.ndarray],
                noise: np.ndarray | None, unit_col: np.ndarray) -> np.ndarray:
        """Score of each piece (rows) in each slot (columns, stacked over routes); ``-inf`` = no fit.
        ``a["f"]`` and ``a["i"]``: the slots' :data:`SLOT_FLOATS` and :data:`SLOT_INTS` rows (a route's
        ``arrays``, or several routes' stacked).

        Two necessary conditions, exact because travel times are >= 0, first rule out most (piece, slot)
        pairs cheaply: the unit leaves the slot's previous element no later than the piece's latest
        start, and the piece's earliest end (plus a break that follows) is no later than the next
        element's latest start. On a patrol night's hour-long pieces about a tenth of the pairs pass;
        only those are scored, with the same arithmetic as on every pair (the same scores, bit for bit).
        """
        f, i = a["f"], a["i"]
        cand = f[0][None, :] <= pc["hi"][:, None]  # dep <= hi
        # the slack only widens the test (float rounding); the exact test follows on the pairs kept
        cand &= (pc["lo"] + pc["dwell"])[:, None] <= (f[5] - f[2] + PREFILTER_SLACK_S)[None, :]
        if not self.all_eligible:
            cand &= self.elig[pc["site"][:, None], unit_col[None, :]]
        out = np.full(cand.shape, -np.inf)
        flat = np.flatnonzero(cand)
        if not len(flat):
            return out
        p, s = np.divmod(flat, cand.shape[1])
        dep, pre_b0, brk_b, brk_hi, lo_nxt, l_nxt, base = f[:, s]  # SLOT_FLOATS of each pair's slot
        phys, nxt = i[:, s]
        _site, _loc, lo, hi, dwell, gain = pc["rows"][p].T  # _COLS of each pair's piece
        loc = pc["loc"][p]
        A = T[phys, loc]  # previous stop -> piece
        B = T[loc, nxt]  # piece -> next stop
        arr = dep + A
        start = np.maximum(arr, lo)
        ok = start <= hi
        w = np.maximum(start + dwell, pre_b0)
        ok &= w <= brk_hi
        arr2 = w + brk_b + B
        ok &= np.maximum(arr2, lo_nxt) <= l_nxt
        if self.has_need[unit_col].any():  # designated cover units keep every leg within reach
            uc = unit_col[s]
            ok &= A + self.need[uc, loc] <= COVER_TOL_S
            ok &= B + self.need[uc, nxt] <= COVER_TOL_S
        # time used: the detour, the dwell and any wait before the visit
        used = A + B - base + dwell + (start - arr)
        if self.has_keep:
            gain = gain + self.keep[pc["site"][p], unit_col[s]]
        score = gain / (np.maximum(used, 0.0) + self.floor_s)
        if noise is not None:
            score = score * noise[p]
        out.reshape(-1)[flat[ok]] = score[ok]
        return out

    def insert(self, r: _Route, slot: int, site: Site, lo: float, hi: float) -> None:
        """Put a visit of ``site`` with start bounds ``[lo, hi]`` [s] before element ``slot``."""
        r.elems.insert(slot, _Elem(site.index, site.location, lo, hi, site.dwell_s, t=lo,
                                   route=r.unit.index))  # routes are built in unit order


_COLS = ("site", "loc", "lo", "hi", "dwell", "gain")
#: Rows of a route's slot matrices (``_Route.arrays["f"]`` and ``["i"]``), one column per slot.
SLOT_FLOATS = ("dep", "pre_b0", "brk_b", "brk_hi", "lo_nxt", "l_nxt", "base")
SLOT_INTS = ("phys", "nxt")


def _slot_arrays(floats: np.ndarray, ints: np.ndarray) -> dict[str, np.ndarray]:
    """A route's slot arrays: the two matrices (``"f"``, ``"i"``) and each row by its name."""
    return {"f": floats, "i": ints, **dict(zip(SLOT_FLOATS, floats, strict=True)),
            **dict(zip(SLOT_INTS, ints, strict=True))}


def _best_per_route(score: np.ndarray, sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Best score and its slot (the first, as ``argmax``) in each route's block of columns of ``score``
    (pieces x slots stacked over routes of ``sizes`` slots): arrays (pieces, routes)."""
    if len(sizes) <= 2:  # one or two routes: a loop of argmax is as cheap
        best, slot = np.empty((score.shape[0], len(sizes))), np.empty((score.shape[0], len(sizes)), dtype=np.int64)
        off, rows = 0, np.arange(score.shape[0])
        for c, size in enumerate(sizes):
            k = np.argmax(score[:, off:off + size], axis=1)
            best[:, c], slot[:, c] = score[rows, off + k], k
            off += size
        return best, slot
    offs = np.concatenate([[0], np.cumsum(sizes[:-1])]).astype(np.intp)
    best = np.maximum.reduceat(score, offs, axis=1)
    local = np.arange(score.shape[1]) - np.repeat(offs, sizes)
    pos = np.where(score == np.repeat(best, sizes, axis=1), local[None, :], score.shape[1])
    return best, np.minimum.reduceat(pos, offs, axis=1)


def _as_arrays(rows: list[tuple[int, int, float, float, float, float]]) -> dict[str, np.ndarray]:
    return _columns(np.array(rows, dtype=float).reshape(-1, 6))


def _columns(arr: np.ndarray) -> dict[str, np.ndarray]:
    """Pieces as columns (``_COLS``) of the matrix ``arr`` (one row per piece); ``"rows"`` keeps the matrix."""
    out = {c: arr[:, k] for k, c in enumerate(_COLS)}
    out["site"], out["loc"] = out["site"].astype(np.int64), out["loc"].astype(np.int64)
    out["rows"] = arr
    return out


def _fill(plan: _Plan, rng: np.random.Generator | None, deadline: float | None) -> None:
    """Insert the best piece until nothing fits (or the deadline passes, when one is given).

    Scores are cached per (piece, route); after an insertion only the changed route, the routes holding
    the same site's other visits and the site's new pieces are evaluated again.
    """
    visits = plan.site_visits()
    pc = _as_arrays([row for s in plan.problem.sites for row in plan.site_pieces(s, visits.get(s.index, []))])
    n_u = len(plan.routes)
    moved_mask = np.zeros(len(plan.problem.sites), dtype=bool)  # scratch: sites whose pieces are redone
    scores = np.full((len(pc["site"]), n_u), -np.inf)
    slots = np.zeros((len(pc["site"]), n_u), dtype=np.int64)

    def evaluate(rows: dict[str, np.ndarray], cols: list[int]) -> tuple[np.ndarray, np.ndarray]:
        noise = None if rng is None else rng.uniform(1 - SCORE_NOISE, 1 + SCORE_NOISE, len(rows["site"]))
        return plan.evaluate([plan.routes[c] for c in cols], rows, noise)

    if len(pc["site"]):
        scores[:], slots[:] = evaluate(pc, list(range(n_u)))
    while len(pc["site"]):
        if deadline is not None and time.monotonic() > deadline:
            return
        p, ui = divmod(int(np.argmax(scores)), n_u)
        if not np.isfinite(scores[p, ui]):
            return
        si = int(pc["site"][p])
        r = plan.routes[ui]
        slot = int(slots[p, ui])
        # routes holding another visit of this site get new gap bounds: they are rescheduled too, and
        # only their visits' times can move (kept here to find the sites whose pieces change)
        touched = {ui} | {e.route for e in visits.get(si, [])}
        before = [(e, e.t) for k in touched for e in plan.routes[k].elems if e.site >= 0]
        plan.insert(r, slot, plan.problem.sites[si], float(pc["lo"][p]), float(pc["hi"][p]))
        lst = visits.setdefault(si, [])
        lst.append(r.elems[slot])
        lst.sort(key=lambda e: e.t)  # the same order as a fresh site_visits(): times of one site differ
        plan.schedule(r, visits)
        if not r.feasible:  # should not happen (the slot test is exact); undo and never try it again
            del r.elems[slot]
            visits = plan.site_visits()
            plan.schedule(r, visits)
            scores[p, ui] = -np.inf
            continue
        for k in sorted(touched - {ui}):
            plan.schedule(plan.routes[k], visits)
        # pieces depend on the times of the site's visits: redo them for every site whose visits moved
        # (the lists in ``visits`` are the same elements, rescheduled in place; their order holds)
        moved = sorted({si} | {e.site for e, t in before if e.t != t})
        moved_mask[moved] = True
        keep = ~moved_mask[pc["site"]]
        moved_mask[moved] = False
        new = _as_arrays([row for k in moved for row in plan.site_pieces(plan.problem.sites[k], visits.get(k, []))])
        pc = _columns(np.concatenate([pc["rows"][keep], new["rows"]]))
        scores = np.concatenate([scores[keep], np.full((len(new["site"]), n_u), -np.inf)])
        slots = np.concatenate([slots[keep], np.zeros((len(new["site"]), n_u), dtype=np.int64)])
        n_new = len(new["site"])
        cols = sorted(touched)
        scores[:, cols], slots[:, cols] = evaluate(pc, cols)
        rest = [k for k in range(n_u) if k not in touched]
        if n_new and rest:
            tail = {c: v[-n_new:] for c, v in pc.items()}
            scores[-n_new:, rest], slots[-n_new:, rest] = evaluate(tail, rest)


def _seed(plan: _Plan) -> int:
    """Start from a previous plan: insert each visit of :attr:`PatrolProblem.seed_routes` (else each kept
    (site, unit) pair of :attr:`PatrolProblem.keep_bonus`) into its unit's route, in the order given (the
    previous plan's): right after the unit's previous one when it fits there, else wherever it fits best.
    Returns how many were placed; a visit that no longer fits is left to the search."""
    placed = 0
    problem = plan.problem
    after: dict[int, int] = {}  # unit -> slot just after its last seeded visit
    if problem.seed_routes:  # in time order across units: a site's visits by two units go in as they were
        order = [(sid, uid, t) for uid, seq in problem.seed_routes.items() for sid, t in seq]
        if not any(math.isnan(t) for _s, _u, t in order):
            order.sort(key=lambda x: x[2])
    else:
        order = [(sid, uid, math.nan) for sid, uid in problem.keep_bonus]
    for sid, uid, was_s in order:
        if sid == SEED_BREAK:  # later visits go after the unit's break element
            r = plan.routes[problem.unit_by_id(uid).index]
            idx = [i for i, e in enumerate(r.elems) if e.site < 0]
            if idx and idx[0] >= after.get(r.unit.index, 0):
                after[r.unit.index] = idx[0] + 1
            continue
        site, unit = problem.site_by_id(sid), problem.unit_by_id(uid)
        r = plan.routes[unit.index]
        visits = plan.site_visits()
        rows = plan.site_pieces(site, visits.get(site.index, []))
        if not rows or not plan.elig[site.index, unit.index]:
            continue
        pc = _as_arrays(rows)
        p, k = _seed_slot(plan, r, pc, after.get(unit.index, 0), was_s)
        if p < 0:
            continue
        plan.insert(r, k, site, float(pc["lo"][p]), float(pc["hi"][p]))
        after[unit.index] = k + 1
        plan.refresh()
        if not all(rr.feasible for rr in plan.routes):  # should not happen: the slot test is exact
            del r.elems[k]
            plan.refresh()
            continue
        placed += 1
    return placed


def _seed_slot(plan: _Plan, r: _Route, pc: dict[str, np.ndarray], slot: int, was_s: float) -> tuple[int, int]:
    """(piece, slot) for a seeded visit: right after the unit's previous seeded visit when it fits there, so the
    previous order comes back whole (a visit put elsewhere can push the next ones out of the route), in the
    time-of-day piece holding its previous start ``was_s`` [s] when that fits (else the best piece); else the
    best slot; (-1, -1) when it fits nowhere."""
    a = r.arrays
    sc = plan._scores(plan.problem.travel_time_s[r.unit.mode], a, pc, None,
                      np.full(len(a["dep"]), r.unit.index, dtype=np.int64))
    slot = min(slot, sc.shape[1] - 1)
    col = sc[:, slot]
    if np.isfinite(col).any():
        same = np.isfinite(col) & (pc["lo"] <= was_s) & (was_s <= pc["hi"])  # NaN: never the same
        return int(np.argmax(np.where(same, col, -np.inf) if same.any() else col)), slot
    best = np.max(sc, axis=1)
    p = int(np.argmax(best))
    if not np.isfinite(best[p]):
        return -1, -1
    return p, int(np.argmax(sc[p]))


def _ruin(plan: _Plan, rng: np.random.Generator) -> None:
    """Remove a random share of visits: either scattered, or a consecutive string of one route."""
    flat = [(ri, i) for ri, r in enumerate(plan.routes) for i, e in enumerate(r.elems) if e.site >= 0]
    if not flat:
        return
    k = min(MAX_RUIN, max(1, int(len(flat) * rng.uniform(*RUIN_SHARE))))
    if rng.random() < 0.5:
        drop = {flat[j] for j in rng.choice(len(flat), size=min(k, len(flat)), replace=False)}
    else:  # strings: a run of visits in one route, then neighbours of its sites in other routes
        ri, i = flat[int(rng.integers(len(flat)))]
        idx = [j for j, e in enumerate(plan.routes[ri].elems) if e.site >= 0]
        pos = idx.index(i)
        drop = {(ri, j) for j in idx[pos:pos + k]}
        locs = [plan.routes[ri].elems[j].loc for j in idx[pos:pos + k]]
        T = plan.problem.travel_time_s[plan.routes[ri].unit.mode]
        flat_locs = [plan.routes[f[0]].elems[f[1]].loc for f in flat]
        dist = T[np.ix_(flat_locs, locs)].min(axis=1)  # each visit's travel time to the nearest string stop
        near = [flat[j] for j in np.argsort(dist, kind="stable")]
        for f in near:
            if len(drop) >= k:
                break
            drop.add(f)
    for ri, r in enumerate(plan.routes):
        r.elems = [e for i, e in enumerate(r.elems) if (ri, i) not in drop]
    # a later visit of a site keeps its number only if the earlier one stays: otherwise its prize and
    # gap bounds change, which the refresh below recomputes from the remaining visits
    plan.refresh()
    # Travel times need not obey the triangle inequality (snapping to roads, truncated distances), so
    # a shorter route can arrive later: drop visits from its end until it fits again.
    for r in plan.routes:
        while not r.feasible and any(e.site >= 0 for e in r.elems):
            # a removal can join two stops into a leg that breaks the unit's cover: drop the stop it leads to
            bad = plan.cover_break(r)
            drop = bad if bad is not None else max(i for i, e in enumerate(r.elems) if e.site >= 0)
            del r.elems[drop]
            plan.schedule(r)


def _as_plans(plan: _Plan) -> list[UnitPlan]:
    """The plan as one :data:`UnitPlan` per unit (leave, stops, return, break)."""
    out: list[UnitPlan] = []
    for r in plan.routes:
        u = r.unit
        T = plan.problem.travel_time_s[u.mode]
        leave = u.leave_min_s
        stops = [(e.site, e.t) for e in r.elems if e.site >= 0]
        brk = None
        t, loc = u.leave_min_s, u.start.location
        for i, e in enumerate(r.elems):
            if e.site < 0:
                brk = (e.t, e.t + e.dur)
                if i == 0:
                    leave = e.t + e.dur  # the break before leaving
            else:
                loc = e.loc
            t = e.t + e.dur
        ret = t + float(T[loc, u.end.location])
        out.append((leave, stops, ret, brk))
    return out


def construct(problem: PatrolProblem, params: SolveParams) -> tuple[list[UnitPlan], dict[str, Any]]:
    """The insertion construction alone: fast, deterministic, never empty when any visit fits."""
    t0 = time.monotonic()
    plan = _Plan(problem, params)
    seeded = _seed(plan) if problem.keep_bonus or problem.seed_routes else 0
    _fill(plan, None, None)
    return _as_plans(plan), {"objective": plan.objective(), "wall_s": time.monotonic() - t0, "seeded": seeded}


def improve(problem: PatrolProblem, params: SolveParams, deadline: float, iterations: int | None,
            seed: int) -> tuple[list[UnitPlan], dict[str, Any]]:
    """Construction, then ruin and recreate: ``iterations`` rounds (deterministic) or until ``deadline``
    (monotonic clock) [s]. The construction always runs to the end, whatever the deadline, so the plan
    is never emptier than it. Returns the best plan found and statistics (``cut_by_time_limit`` when
    the deadline stopped a counted run)."""
    t0, cpu0 = time.monotonic(), time.process_time()
    rng = np.random.default_rng(seed)
    cur = _Plan(problem, params)
    # a re-plan starts from the previous plan
    seeded = _seed(cur) if problem.keep_bonus or problem.seed_routes else 0
    _fill(cur, None, None)  # the construction always completes: the search only improves on it
    info: dict[str, Any] = {"seed": seed, "first_objective": cur.objective(),
                            "first_s": time.monotonic() - t0}
    if problem.keep_bonus or problem.seed_routes:
        info["seeded_from_previous"] = seeded
    best, best_obj, cur_obj = cur.copy(), cur.objective(), cur.objective()
    if not any(e.site >= 0 for r in cur.routes for e in r.elems):
        iterations = 0  # nothing fits at all: no search can find a visit either
    n = 0
    improvements = last_better = 0
    patience = lns_patience(iterations) if iterations is not None else None
    while (n < iterations) if iterations is not None else True:
        if patience is not None and n - last_better >= patience:
            info["stopped_early"] = True  # deterministic too: it depends only on the iteration count
            break
        if time.monotonic() > deadline - DEADLINE_SLACK_S:
            if iterations is not None:
                info["cut_by_time_limit"] = True
            break
        cand = cur.copy()
        _ruin(cand, rng)
        if not all(r.feasible for r in cand.routes):
            n += 1
            continue
        _fill(cand, rng, None)
        obj = cand.objective()
        n += 1
        if iterations is not None:
            progress = n / max(1, iterations)
        else:
            progress = (time.monotonic() - t0) / max(1e-9, deadline - t0)
        temp = START_TEMPERATURE_SHARE * abs(best_obj) * max(0.0, 1.0 - progress)
        if obj > cur_obj - 1e-9 or (temp > 0 and rng.random() < math.exp((obj - cur_obj) / temp)):
            cur, cur_obj = cand, obj
        if obj > best_obj + 1e-9:
            best, best_obj = cand.copy(), obj
            improvements += 1
            last_better = n
    # CPU seconds of this worker: on a shared machine, what the wall time would be on a free core
    info.update(iterations=n, improvements=improvements, objective=best_obj, wall_s=time.monotonic() - t0,
                cpu_s=time.process_time() - cpu0)
    return _as_plans(best), info

"""Response cover in live re-plans: the morning plan's cover rules (the scenario's ``[cover]``: at least
``min_units`` units within ``within_s`` of every cover point at every minute, ``docs/scenarios.md``) carried
into the re-plan of the rest of the night, and checked by the independent validator like the morning's.

Each morning rule becomes a rule of the re-plan's problem from now (or from when its designated units are
ready: a unit finishing a visit, or not yet out) to the end of the night. Its units are chosen as the morning
chose them (``scenario.tasking.designate_cover_units``): the morning's designated units first, then the others
the rule allows (the sector's own units, then force-wide ones), nearest first, each unit keeping at most one
rule, among the units that can keep it now: routed, not committed to a call, within ``within_s`` of every
cover point from where they are and from their end station, on duty to the rule's end. When fewer than
``min_units`` can, the rule keeps those that can and the re-plan says so in words (none: planned without it);
a re-plan never fails for want of cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from patrol_planner.live.context import LiveContext
from patrol_planner.live.events import UnitStatus
from patrol_planner.live.state import LiveState

#: A unit ready later than this after now (a long visit to finish) is not designated for cover [s]: the rule
#: holds from when its units are ready, and a later start would leave the minutes before it unchecked.
COVER_READY_SLACK_S = 1800.0


@dataclass(frozen=True)
class CoverOutcome:
    """One morning cover rule in a re-plan: the units needed, those designated now, why the others cannot
    keep it, when the live rule starts [s since epoch] (None: not added), and the least number of units
    within reach at any minute of the re-plan (filled in after the search)."""

    name: str
    within_min: float
    min_units: int
    designated: tuple[str, ...]
    cannot: tuple[tuple[str, str], ...]
    from_s: float | None
    least_units: int | None = None

    @property
    def held(self) -> bool:
        return self.least_units is not None and self.least_units >= self.min_units

    def note(self, tz: Any) -> str:
        """The shortfall in words ("" when the rule is held in full)."""
        if self.from_s is not None and len(self.designated) >= self.min_units:
            return ""
        why = "; ".join(f"{u} {w}".strip() for u, w in self.cannot) or "no unit allowed to keep it is on duty"
        need = f"cover {self.name!r} needs {self.min_units} unit(s) within {self.within_min:g} min"
        seen = "" if self.least_units is None else \
            f" (the new routes have at least {self.least_units} unit(s) within reach at every minute)"
        if self.from_s is None or not self.designated:
            return f"{need}; none can be kept there ({why}): planned without it{seen}"
        return (f"{need}; only {', '.join(self.designated)} can be kept there ({why}): the re-plan keeps "
                f"{len(self.designated)} from {datetime.fromtimestamp(self.from_s, tz):%H:%M}{seen}")

    def record(self) -> dict[str, Any]:
        """For ``rules.live.cover`` of the re-planned plan."""
        return {"sector": self.name, "within_min": self.within_min, "min_units": self.min_units,
                "designated_units": list(self.designated), "cannot": [list(c) for c in self.cannot],
                "from": self.from_s, "least_units": self.least_units, "held": self.held}


def add_live_cover(ctx: LiveContext, problem: Any, state: LiveState, now_s: float) -> list[CoverOutcome]:
    """Add the morning's cover rules to the re-plan's ``problem`` (units already added) as far as the units
    can keep them now; returns what became of each rule."""
    from patrol_planner.errors import RoutingError

    now_r = ctx.routing_s(now_s)
    used: set[str] = set()
    out = []
    for rule in ctx.problem.covers:
        if max(now_r, rule.window_s[0]) >= rule.window_s[1]:
            continue  # the rule's time is over
        pool = ctx.cover_pool.get(rule.name) or tuple(rule.unit_ids)
        ok, cannot = [], []
        for uid in pool:
            if uid in used:
                continue
            why = _cannot_cover(ctx, problem, state, uid, rule, now_r)
            (cannot.append((uid, why)) if why else ok.append(uid))
        first = [u for u in ok if u in rule.unit_ids]
        theirs = {u for r in ctx.problem.covers if r.name != rule.name for u in r.unit_ids}  # keep other rules'
        rest = sorted((u for u in ok if u not in rule.unit_ids and u not in theirs),
                      key=lambda u: _reach_s(problem, u, rule))
        pick = (first + rest)[:rule.min_units]
        w0 = max([rule.window_s[0], now_r] + [problem.unit_by_id(u).shift_start_s for u in pick])
        from_s = None
        if pick and w0 < rule.window_s[1]:
            try:
                problem.add_cover(name=rule.name, locations=rule.locations, within_s=rule.within_s,
                                  min_units=len(pick), unit_ids=pick, window_s=(w0, rule.window_s[1]))
                from_s = ctx.epoch_s(w0)
                used.update(pick)
            except RoutingError as exc:  # named in the note, never a failed re-plan
                cannot.append((",".join(pick), str(exc).splitlines()[0]))
                pick = []
        kept = tuple(pick) if from_s is not None else ()
        out.append(CoverOutcome(rule.name, rule.within_s / 60, rule.min_units, kept,
                                tuple(cannot) if len(kept) < rule.min_units else (), from_s))
    return out


def _reach_s(problem: Any, uid: str, rule: Any) -> float:
    """How far the unit is from the rule's farthest cover point, from where it starts and from its end [s]."""
    u = problem.unit_by_id(uid)
    T = problem.travel_time_s[u.mode]
    return float(max(max(T[u.start.location, p], T[u.end.location, p]) for p in rule.locations))


def _cannot_cover(ctx: LiveContext, problem: Any, state: LiveState, uid: str, rule: Any, now_r: float) -> str:
    """Why ``uid`` cannot keep ``rule`` from now, in words ("" when it can)."""
    live = state.units.get(uid)
    tz = ctx.clock.t0.tzinfo
    if live is not None and live.status is UnitStatus.off_duty:
        return "off duty"
    if live is not None and live.status is UnitStatus.committed:
        until = (f"until {datetime.fromtimestamp(live.until_s, tz):%H:%M}" if live.until_s is not None
                 else "until cleared")
        return f"committed to a call {until}"
    try:
        u = problem.unit_by_id(uid)
    except KeyError:
        return "has no route for the rest of the night"
    if u.shift_end_s < rule.window_s[1]:
        return "goes off duty before the cover ends"
    if u.shift_start_s > max(now_r, rule.window_s[0]) + COVER_READY_SLACK_S:
        return f"is not free until {ctx.clock.at(u.shift_start_s):%H:%M}"
    reach = _reach_s(problem, uid, rule)
    if not np.isfinite(reach) or reach > rule.within_s:
        return f"is {reach / 60:.0f} min from the cover point now" if np.isfinite(reach) else "cannot reach it"
    return ""


def least_units(problem: Any, result: Any, outcomes: list[CoverOutcome], ctx: LiveContext,
                now_s: float) -> list[CoverOutcome]:
    """Each outcome with the least number of units within reach at any minute from now to the rule's end in
    the re-plan's routes (counted by the validator's own ``routing.cover_timeline``)."""
    from dataclasses import replace

    from patrol_planner.routing import cover_timeline
    from patrol_planner.routing.problem import CoverRule

    if result is None:
        return [replace(o, least_units=0) for o in outcomes]
    morning = {r.name: r for r in ctx.problem.covers}
    out = []
    for o in outcomes:
        m = morning[o.name]
        w0 = max(m.window_s[0], ctx.routing_s(now_s))
        if w0 >= m.window_s[1]:
            out.append(replace(o, least_units=None))
            continue
        rule = CoverRule(o.name, m.locations, m.within_s, m.min_units, o.designated, (w0, m.window_s[1]))
        _, count = cover_timeline(problem, result, rule)
        out.append(replace(o, least_units=int(count.min()) if len(count) else 0))
    return out

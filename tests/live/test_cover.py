"""Response cover in live re-plans, on the bundled tasking night (six cars in three sectors, one car of each
sector always within 15 minutes of its town): a re-plan keeps the morning's cover rules, the independent
validator checks them, a diversion hands a sector's cover to its other car, and when no car of a sector can
keep it the re-plan says so in words and still gives valid routes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from patrol_planner import routing as rt
from patrol_planner.live.events import Event
from patrol_planner.live.replan import replan

from .test_replan import at, state_until

TASKING = Path(__file__).resolve().parents[2] / "scenarios" / "rutland-tasking.toml"
OAKHAM = "Oakham and west"


@pytest.fixture(scope="module")
def tasking_run():  # noqa: ANN201
    from patrol_planner.scenario import load_scenario, run_plan

    return run_plan(load_scenario(TASKING).replace(solver={"lns_iterations": 60}))


@pytest.fixture()
def ctx(tasking_run):  # noqa: ANN001, ANN201
    from patrol_planner.live.context import context_from_run

    return context_from_run(tasking_run)


def _committed(ctx, unit: str, when, hours: float = 2.0) -> Event:  # noqa: ANN001
    return Event(time=when, kind="status", unit=unit, status="committed", until=when + timedelta(hours=hours),
                 lon=-0.60, lat=52.62)  # a call near Ketton: far from Oakham


def _cover(rp, name: str) -> dict:  # noqa: ANN001
    return next(c for c in rp.cover if c["sector"] == name)


def test_a_replan_keeps_the_mornings_cover_and_the_validator_checks_it(ctx) -> None:  # noqa: ANN001
    assert {r.name for r in ctx.problem.covers} == set(ctx.cover_pool) and ctx.cover_pool[OAKHAM] == ("W1", "W2")
    now = at(ctx, 23, 30)
    rp = replan(ctx, state_until(ctx, now), now.timestamp(), dict(ctx.morning))
    assert rp.validated and rt.problems_with(rp.problem, rp.result) == []
    assert sorted(r.name for r in rp.problem.covers) == sorted(r.name for r in ctx.problem.covers)
    for rule in rp.problem.covers:  # from now to the end of the night, with the morning's units
        assert rule.window_s[0] >= ctx.routing_s(now.timestamp()) and rule.min_units == 1
        assert rule.unit_ids == next(m.unit_ids for m in ctx.problem.covers if m.name == rule.name)
    assert all(c["held"] and c["least_units"] >= 1 for c in rp.cover)
    assert not any("cover" in n for n in rp.notes)
    # the validator reads the rule: the same routes with a rule asking for more units than there are fail it
    from patrol_planner.routing.problem import CoverRule

    rule = rp.problem.covers[0]
    rp.problem.covers[0] = CoverRule(rule.name, rule.locations, rule.within_s, 7, rule.unit_ids, rule.window_s)
    assert any(e.startswith(f"cover {rule.name!r}") for e in rt.problems_with(rp.problem, rp.result))


def test_a_diversion_hands_the_sectors_cover_to_its_other_car(ctx) -> None:  # noqa: ANN001
    now = at(ctx, 23, 30)
    ev = _committed(ctx, "W1", now - timedelta(minutes=5))
    rp = replan(ctx, state_until(ctx, now, [ev]), now.timestamp(), dict(ctx.morning), trigger="W1 committed")
    assert rp.validated and rt.problems_with(rp.problem, rp.result) == []
    oak = _cover(rp, OAKHAM)
    assert oak["designated_units"] == ["W2"] and oak["held"], oak
    assert oak["cannot"] == []  # held in full: nothing to explain
    assert not any("cover" in n for n in rp.notes)


def test_when_no_car_can_keep_a_sectors_cover_the_replan_says_so(ctx) -> None:  # noqa: ANN001
    now = at(ctx, 23, 30)
    evs = [_committed(ctx, "W1", now - timedelta(minutes=6)), _committed(ctx, "W2", now - timedelta(minutes=5))]
    rp = replan(ctx, state_until(ctx, now, evs), now.timestamp(), dict(ctx.morning), trigger="W1, W2 committed")
    assert rp.validated and rt.problems_with(rp.problem, rp.result) == []  # the best it can, still valid
    oak = _cover(rp, OAKHAM)
    assert oak["designated_units"] == [] and oak["held"] == (oak["least_units"] >= 1)
    note = next(n for n in rp.notes if n.startswith(f"cover {OAKHAM!r}"))
    assert "needs 1 unit(s) within 15 min" in note and "none can be kept there" in note
    assert "W1 committed to a call until 01:24" in note and "W2 committed to a call until 01:25" in note
    assert f"planned without it (the new routes have at least {oak['least_units']} unit(s) within reach" in note
    assert OAKHAM not in {r.name for r in rp.problem.covers}
    others = [c for c in rp.cover if c["sector"] != OAKHAM]
    assert others and all(c["held"] for c in others)  # the other sectors keep theirs

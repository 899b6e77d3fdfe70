"""The replay of the bundled night with a generated event file (3 diversions, 2 new tasks, one unit off
early): a valid plan at every re-plan, at least the static plan's harm, the same answer every time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrol_planner.cli import app
from patrol_planner.live.eventfile import EventCheck, read_events
from patrol_planner.live.outputs import LATENCY_COLUMNS, dose_frame
from patrol_planner.live.replay import run_replay

pytestmark = pytest.mark.slow
NIGHT = Path(__file__).resolve().parents[2] / "scenarios" / "rutland-night.toml"


def replay(make_ctx, path):
    ctx = make_ctx()
    log = read_events(path, EventCheck(frozenset(u.unit_id for u in ctx.units), ctx.bbox_lonlat))
    return run_replay(ctx, log, seed=0)


def test_generated_night_has_what_was_asked(make_ctx, night_events):
    ctx = make_ctx()
    log = read_events(night_events, EventCheck(frozenset(u.unit_id for u in ctx.units), ctx.bbox_lonlat))
    kinds = [(e.kind, e.status.value if e.status else None) for e in log.events if e.kind != "position"]
    assert kinds.count(("status", "committed")) == 3
    assert kinds.count(("task_added", None)) == 2
    assert kinds.count(("status", "off_duty")) == 1
    assert len(log.quarantine) == 0
    unit = sorted(ctx.morning)[0]
    t = [e.time.timestamp() for e in log.events if e.kind == "position" and e.unit == unit]
    assert {round(b - a) for a, b in zip(t, t[1:], strict=False)} == {10}  # a ping every 10 s


def test_live_delivers_at_least_the_static_plan_and_every_replan_is_valid(make_ctx, night_events):
    res = replay(make_ctx, night_events)
    assert len(res.replans) == 6
    assert all(rp.validated for rp in res.replans)
    assert res.harm_live >= res.harm_static
    tasks = [k for k in res.ctx.added]
    assert all(res.visits_live.get(k, 0) == 1 for k in tasks)  # the live world serves the new tasks


def test_replay_is_deterministic(make_ctx, night_events):
    a, b = replay(make_ctx, night_events), replay(make_ctx, night_events)
    strip = [{k: v for k, v in row.items() if k not in LATENCY_COLUMNS} for row in a.timeline]
    assert strip == [{k: v for k, v in row.items() if k not in LATENCY_COLUMNS} for row in b.timeline]
    assert dose_frame(a).equals(dose_frame(b))
    assert (a.harm_live, a.harm_static) == (b.harm_live, b.harm_static)


def test_the_files_positions_are_the_static_world(make_ctx, night_events, tmp_path):
    """The generator's positions are the static world's: replaying without them (simulated) gives the same."""
    text = night_events.read_text().splitlines()
    ctrl = tmp_path / "control.csv"
    ctrl.write_text("\n".join([text[0]] + [ln for ln in text[1:] if ",position," not in ln]) + "\n")
    with_pos, without = replay(make_ctx, night_events), replay(make_ctx, ctrl)
    assert with_pos.harm_static == pytest.approx(without.harm_static, abs=1e-6)
    assert with_pos.harm_live == pytest.approx(without.harm_live, abs=1e-6)


def test_cli_replay_writes_its_folder_and_refuses_bad_input(night_events, tmp_path):
    out = tmp_path / "replay"
    r = CliRunner().invoke(app, ["replay", str(NIGHT), "--events", str(night_events), "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    summ = json.loads((out / "summary.json").read_text())
    assert summ["replans"] == summ["replans_validated"] == 6
    assert summ["harm_delivered_live"] >= summ["harm_delivered_static"]
    assert summ["tasks_served_live"] == 2
    for f in ("timeline.csv", "replans.csv", "dose.csv", "routes.json", "quarantine.csv"):
        assert (out / f).is_file()
    bad = tmp_path / "bad.csv"
    bad.write_text("time,kind,colour\n")
    r = CliRunner().invoke(app, ["replay", str(NIGHT), "--events", str(bad), "--out", str(tmp_path / "r2")])
    assert r.exit_code == 3
    assert r.output.strip().startswith("error:") and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "r2").exists()


def test_cli_replay_events_writes_a_file_the_reader_takes(tmp_path):
    out = tmp_path / "ev.csv"
    r = CliRunner().invoke(app, ["replay-events", str(NIGHT), "--out", str(out), "--diversions", "1", "--tasks", "0",
                                 "--off-early", "0", "--seed", "4", "-q"])
    assert r.exit_code == 0, r.output
    head = out.read_text().splitlines()[0]
    assert head.startswith("time,kind,unit,device,lon,lat")
    assert out.read_text().count(",committed,") == 1


def test_committed_until_cleared_then_available(make_ctx, tmp_path):
    """A unit called away with no clear time gets no route until it says it is available again."""
    ctx = make_ctx()
    unit = sorted(ctx.morning)[1]
    lon, lat = ctx.sites[ctx.morning[unit].visits[2].site_id].lonlat
    f = tmp_path / "ev.csv"
    f.write_text("time,kind,unit,lon,lat,status\n"
                 f"2022-09-02T23:10:00+01:00,status,{unit},{lon},{lat},committed\n"
                 f"2022-09-03T00:10:00+01:00,status,{unit},,,available\n")
    res = replay(make_ctx, f)
    first, second = res.replans
    assert first.routes[unit].visits == () and any("committed until cleared" in n for n in first.notes)
    assert second.routes[unit].visits and second.routes[unit].visits[0].arrive_s >= second.at_s
    assert all(rp.validated for rp in res.replans)
    assert "until cleared" in res.timeline[0]["what"]

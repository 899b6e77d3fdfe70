"""``patrol-planner replay`` (a night offline: live re-plans against the static plan under the same events) and
``patrol-planner replay-events`` (an event file generated from the plan)."""

from __future__ import annotations

from pathlib import Path

import typer

from patrol_planner.cli._common import echo, print_json, user_errors

_SUMMARY = ("control_events", "replans", "replans_validated", "harm_delivered_live", "harm_delivered_static",
            "harm_live_minus_static", "harm_delivered_time_weighted_live", "harm_delivered_time_weighted_static",
            "harm_planned_morning", "tasks_added", "tasks_served_live", "tasks_served_static",
            "stops_kept_share_mean", "stops_kept_share_min")


def _context(scenario: Path, cache_dir: Path | None, quiet: bool) -> object:
    from patrol_planner.live.context import context_from_run
    from patrol_planner.scenario import load_scenario, run_plan

    say = (lambda _m: None) if quiet else (lambda m: echo(f"plan: {m}", err=True))
    return context_from_run(run_plan(load_scenario(scenario), progress=say, cache_dir=cache_dir))


def replay_cmd(
    scenario: Path = typer.Argument(..., help="Scenario TOML file: its plan is the night's morning plan."),
    events: Path = typer.Option(..., "--events", help="Event file (CSV, `docs/live.md`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for summary.json, timeline.csv, replans.csv, "
                             "dose.csv, routes.json and quarantine.csv."),
    seed: int = typer.Option(0, "--seed", help="Seed of the re-plans' search and of simulated GPS noise."),
    iterations: int | None = typer.Option(None, "--iterations", help="Search iterations per re-plan "
                                          "(default: the live default)."),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Road graph cache folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with the summary."),
) -> None:
    """Replay a night: every event in time order, a re-plan where one is due; harm live vs static."""
    from patrol_planner.atomic import atomic_output_dir, check_output_dir, final_path
    from patrol_planner.live.eventfile import EventCheck, check_event_file, read_events
    from patrol_planner.live.outputs import summary_record, write_replay
    from patrol_planner.live.replan import LIVE_LNS_ITERATIONS
    from patrol_planner.live.replay import run_replay

    check_output_dir(out, "summary.json")
    check_event_file(events)  # a file that cannot be read is refused before the plan runs
    ctx = _context(scenario, cache_dir, quiet or as_json)
    log = read_events(events, EventCheck(frozenset(u.unit_id for u in ctx.units), ctx.bbox_lonlat))  # type: ignore[attr-defined]
    say = None if (quiet or as_json) else (lambda m: echo(m, err=True))
    res = run_replay(ctx, log, seed=seed, iterations=iterations or LIVE_LNS_ITERATIONS, progress=say)  # type: ignore[arg-type]
    with atomic_output_dir(out, marker="summary.json") as stage:
        staged = write_replay(res, stage, scenario=str(scenario), events_file=str(events), seed=seed)
    paths = {k: final_path(p, stage, out) for k, p in staged.items()}
    summ = summary_record(res, scenario=str(scenario), events_file=str(events), seed=seed)
    if as_json:
        print_json({**summ, "outputs": {k: str(v) for k, v in paths.items()}})
        return
    for k in _SUMMARY:
        echo(f"{k:28s} {summ[k]}")
    lat = summ["latency"]
    echo(f"{'re-plan latency':28s} p50 {lat['wall_s_p50']} s, p95 {lat['wall_s_p95']} s wall; "
         f"p50 {lat['cpu_s_p50']} s, p95 {lat['cpu_s_p95']} s CPU")
    if summ["quarantined"]:
        echo(f"{'quarantined':28s} {summ['quarantined']}")
    echo(f"wrote {out}")


def replay_events_cmd(
    scenario: Path = typer.Argument(..., help="Scenario TOML file: the plan whose routes the units drive."),
    out: Path = typer.Option(..., "--out", "-o", help="Event file to write (CSV)."),
    seed: int = typer.Option(0, "--seed", help="Seed of calls, tasks, early finishes and GPS noise."),
    diversions: int | None = typer.Option(3, "--diversions", help="Calls that divert a unit; with "
                                          "--call-rate instead, drawn from the hourly rate."),
    call_rate: bool = typer.Option(False, "--call-rate", help="Draw the number of calls from the hourly call "
                                   "rate (docs/live.md) instead of --diversions."),
    tasks: int = typer.Option(2, "--tasks", help="New must-do tasks announced during the night."),
    intel: int = typer.Option(0, "--intel", help="New intelligence-led visits announced during the night."),
    off_early: int = typer.Option(1, "--off-early", help="Units that go off duty early."),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Road graph cache folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
) -> None:
    """Generate an event file from the plan: positions every 10 s with GPS noise, calls, tasks, early finishes."""
    from patrol_planner.atomic import atomic_write_text
    from patrol_planner.live.eventfile import events_csv
    from patrol_planner.live.generate import generate_events

    ctx = _context(scenario, cache_dir, quiet)
    evs = generate_events(ctx, seed=seed, diversions=None if call_rate else diversions, new_tasks=tasks,  # type: ignore[arg-type]
                          off_early=off_early, intel=intel)
    atomic_write_text(out, events_csv(evs))
    n_ctrl = sum(e.kind != "position" for e in evs)
    if not quiet:
        echo(f"wrote {out}: {len(evs)} events ({n_ctrl} control, {len(evs) - n_ctrl} positions)")


def register(app: typer.Typer) -> None:
    app.command("replay")(user_errors(replay_cmd))
    app.command("replay-events")(user_errors(replay_events_cmd))

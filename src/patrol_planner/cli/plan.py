"""``patrol-planner plan``: the whole pipeline, from a scenario file to the briefing pack."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from patrol_planner.atomic import atomic_output_dir, check_output_dir, final_path
from patrol_planner.cli._common import print_json, user_errors
from patrol_planner.sanitise import spreadsheet_safe

if TYPE_CHECKING:
    from patrol_planner.scenario import Scenario


def _override(s: Scenario, seconds: float | None, seed: int | None) -> Scenario:
    """The scenario with the command-line solver overrides, validated like the file (e.g. --seconds -1 fails)."""
    upd: dict[str, float | int] = {}
    if seconds is not None:
        upd["time_limit_s"] = seconds
    if seed is not None:
        upd["seed"] = seed
    return s.replace(solver=upd) if upd else s


def write_plan_folder(plan: Any, out: Path) -> dict[str, Path]:
    """Write the briefing pack into ``out`` as a whole (``patrol_planner.atomic``): a failed write leaves the
    previous pack; returns the written paths under ``out``."""
    from patrol_planner.report import write_outputs

    with atomic_output_dir(out, marker="plan.json") as stage:
        staged = write_outputs(plan, stage)
    return {k: final_path(p, stage, out) for k, p in staged.items()}


def _warn_not_reproducible(metrics: dict[str, Any], console: Any) -> None:
    """One line when a deterministic run may not be reproducible: the time cap cut it, or a search failed."""
    from rich.markup import escape

    if metrics.get("search_cut"):
        console.print("[yellow]warning:[/] the search was cut by its time cap: this plan is the best found so "
                      "far, and a rerun may give a different plan; raise --seconds (or solver.time_limit_s)")
    failed = (metrics.get("solver") or {}).get("failed") or {}
    if failed:  # said whether or not the run was deterministic: a search that crashed is news either way
        names = "; ".join(f"{n} ({e})" for n, e in failed.items())
        console.print(f"[yellow]warning:[/] search failed: {escape(names)}. This plan comes from the other "
                      "searches and is not reproducible: a rerun may give a different plan", soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("plan")
    @user_errors
    def plan_cmd(
        scenario: Path | None = typer.Argument(None, help="Scenario TOML file; default: the bundled Rutland night."),
        out: Path = typer.Option(Path("out/plan"), "--out", "-o", help="Output folder."),
        seconds: float | None = typer.Option(None, "--seconds", help="Solver time limit [s] (overrides the scenario)."),
        seed: int | None = typer.Option(None, "--seed", help="Solver seed (overrides the scenario)."),
        cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Road graph cache folder."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or table: for cron."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object with the plan's metrics."),
        programme: Path | None = typer.Option(None, "--programme", help="Programme folder: route that day's "
                                              "treated spots instead of tonight's hotspots (needs --date)."),
        day: str | None = typer.Option(None, "--date", help="Programme day YYYY-MM-DD (with --programme)."),
        previous: Path | None = typer.Option(None, "--previous", help="The plan.json this run re-plans: keep its "
                                             "units' stops unless a change raises harm covered."),
    ) -> None:
        """Plan tonight's patrols: ingest -> hotspots -> network -> routing -> briefing pack in OUT."""
        from rich.console import Console

        from patrol_planner.scenario import (
            PIPELINE_STEPS,
            default_scenario_path,
            load_scenario,
            run_plan,
        )

        console = Console(stderr=True, quiet=quiet or as_json)
        s = _override(load_scenario(scenario or default_scenario_path()), seconds, seed)
        prev_plan = None
        if previous is not None:
            from patrol_planner.plan import Plan

            prev_plan = Plan.from_json(previous)
        check_output_dir(out, "plan.json" if s.units or programme is not None or day is not None else "backtest.csv")
        if programme is not None or day is not None:
            _programme_day(s, programme, day, out, cache_dir, console, quiet=quiet, as_json=as_json)
            return
        if not s.units:
            _backtest_only(s, out, console, quiet=quiet, as_json=as_json)
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console,
                      transient=True) as prog:
            task = prog.add_task(s.name, total=len(PIPELINE_STEPS))

            def step(msg: str) -> None:
                done = PIPELINE_STEPS.index(msg) if msg in PIPELINE_STEPS else 0
                prog.update(task, completed=done, description=f"{s.name}: {msg}")

            run = run_plan(s, progress=step, cache_dir=cache_dir, previous=prev_plan)
            prog.update(task, completed=len(PIPELINE_STEPS))
        _report_plan(run, s.name, out, console, quiet=quiet, as_json=as_json)


def _backtest_only(s: Scenario, out: Path, console: Any, *, quiet: bool, as_json: bool) -> None:
    """A scenario with no units: its [backtest] table instead of a plan (an error when it has none)."""
    from patrol_planner.scenario import run_backtest

    if s.backtest is None:
        from patrol_planner.errors import RoutingError

        raise RoutingError(f"scenario {s.name!r} has no units on duty and no [backtest] table: "
                           "add at least one [[units]] table")
    with console.status(f"{s.name}: backtest (this scenario plans no routes)"):
        table = run_backtest(s)
    with atomic_output_dir(out, marker="backtest.csv") as stage:
        spreadsheet_safe(table).to_csv(stage / "backtest.csv", index=False)
    if as_json:
        print_json({"scenario": s.name, "rows": table.to_dict(orient="records"),
                    "out": str(out / "backtest.csv")})
    elif not quiet:
        from patrol_planner.cli._tables import print_backtest_table

        print_backtest_table(table)
        console.print(f"backtest table written to {out / 'backtest.csv'}")


def _report_plan(run: Any, name: str, out: Path, console: Any, *, quiet: bool, as_json: bool) -> None:
    """Write the plan folder and say what was made: the re-plan's changes, JSON or the summary table."""
    from rich.console import Console
    from rich.markup import escape

    from patrol_planner.report import plan_summary_table

    paths = write_plan_folder(run.plan, out)
    _warn_not_reproducible(run.plan.metrics, console)
    rp = run.plan.metrics.get("replan")
    if rp is not None:
        removed = f"; units removed: {', '.join(rp['units_removed'])}" if rp["units_removed"] else ""
        added = f"; new units: {', '.join(rp['units_new'])}" if rp["units_new"] else ""
        console.print(f"re-plan: {rp['stops_changed']} stop(s) changed on the units kept ({rp['stops_kept']} kept, "
                      f"{rp['stops_dropped']} dropped, {rp['stops_added']} added){escape(removed + added)}")
    if as_json:
        print_json({"scenario": name, "out": str(out), "metrics": run.plan.metrics,
                    "timings_s": run.timings_s, "files": sorted(paths)})
        return
    if not quiet:
        Console().print(plan_summary_table(run.plan))
        console.print(f"briefing: {paths['briefing.html']}  ({len(paths)} files in {out})")


def _programme_day(s: Scenario, folder: Path | None, day: str | None, out: Path, cache_dir: Path | None,
                   console: Any, *, quiet: bool, as_json: bool) -> None:
    """``plan --programme DIR --date D``: route one programme day and write the same briefing pack."""
    from datetime import date

    from patrol_planner.errors import ProgrammeError
    from patrol_planner.programme.dayplan import plan_programme_day
    from patrol_planner.report import plan_summary_table

    if folder is None or day is None:
        raise ProgrammeError("--programme and --date go together: plan --programme DIR --date YYYY-MM-DD")
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise ProgrammeError(f"--date must be YYYY-MM-DD, got {day!r}") from None
    with console.status(f"{s.name}: routing programme day {when.isoformat()}"):
        run = plan_programme_day(s, folder, when, cache_dir=cache_dir)
    paths = write_plan_folder(run.plan, out)
    m = run.plan.metrics
    short = m["treated_spots"] - m["treated_spots_full_dose"]
    if short:
        console.print(f"[yellow]warning:[/] {short} of {m['treated_spots']} spots to patrol today could not be "
                      "given their full dose inside the patrol window with these units; the briefing lists them")
    _warn_not_reproducible(m, console)
    if as_json:
        print_json({"scenario": s.name, "programme": str(folder), "date": when.isoformat(), "out": str(out),
                    "metrics": m, "control_spots": [c["spot_id"] for c in run.tasking["control"]],
                    "files": sorted(paths)})
        return
    if not quiet:
        from rich.console import Console

        Console().print(plan_summary_table(run.plan))
        console.print(f"briefing: {paths['briefing.html']}  ({len(paths)} files in {out}); "
                      f"{len(run.tasking['control'])} control spots listed as 'do not patrol today'")

"""``patrol-planner programme``, ``programme-amend`` and ``programme-day``: design, amend and read a programme."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import typer

from patrol_planner.atomic import atomic_output_dir, check_output_dir
from patrol_planner.cli._common import echo, print_json, user_errors


def _date(text: str, what: str) -> date:
    from patrol_planner.errors import ProgrammeError

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ProgrammeError(f"{what} must be a date YYYY-MM-DD, got {text!r}") from None


def programme(
    scenario: Path = typer.Argument(..., help="Scenario TOML file with a [programme] table."),
    out: Path = typer.Option(..., "--out", help="Programme folder to write (must be new or hold this programme)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON summary object."),
    ons: Path | None = typer.Option(None, "--ons", help="Folder with iod2025_eng.csv, census21_pop.csv and "
                                    "`lsoa11_lsoa21_lookup.csv` for the equity table (default: the bundled "
                                    "Leicestershire subset)."),
    sim_power: bool = typer.Option(True, "--simulate-power/--no-simulate-power", help="Also find the detectable "
                                   "effect by simulating the evaluation on the history and design (programme.json "
                                   "power.simulated)."),
) -> None:
    """Design a randomised hot-spot programme and write its folder (schedule, spots, design, calendar)."""
    from patrol_planner.evaluation.equity import guard_equity_table
    from patrol_planner.programme import read_programme
    from patrol_planner.programme.calendar import write_calendar
    from patrol_planner.programme.design import design_programme
    from patrol_planner.programme.params import load_programme_scenario
    from patrol_planner.programme.reach import warning_text

    check_output_dir(out, "programme.json")
    warn = guard_equity_table(out, ons)  # before the work: a table from other ONS tables is not replaced
    if warn:
        echo(warn, err=True)
    s, params = load_programme_scenario(scenario)
    d = design_programme(s, params, scenario_file=scenario)
    reach = warning_text(d.design.get("reachability") or {})
    if reach:
        echo(f"warning: {reach}", err=True)
    # The whole folder appears at once; a rerun of the same programme keeps the amendments recorded since.
    with atomic_output_dir(out, marker="programme.json", keep=("amendments.csv",)) as stage:
        prog = read_programme(d.write(stage, replaces=out))
        if sim_power:
            d = replace(d, power={**d.power, "simulated": _simulated_power(prog, params)})
            prog = read_programme(d.write(stage, replaces=out))
        equity = _write_equity(prog, s, ons)
        write_calendar(prog)
    if equity.startswith("none"):
        echo(f"warning: no equity table: {equity[6:]}" + (" (equity.csv of the last run is not kept)"
                                                           if (out / "equity.csv").is_file() else ""), err=True)
    folder = out.expanduser().resolve()
    simulated = d.power.get("simulated") or {}
    summary = d.summary() | {"out": str(folder), "equity": equity,
                             "simulated_mde_rate_ratio": simulated.get("mde_rate_ratio"),
                             "simulated_mde_reduction_pct": simulated.get("mde_reduction_pct")}
    if as_json:
        print_json(summary)
        return
    echo(f"{summary['spots']} spots, {summary['days']} days from {summary['start_date']}: "
         f"{summary['treated_spot_days']} treated and {summary['control_spot_days']} control spot-days")
    if summary["mde_rate_ratio"] is not None:
        echo(f"detectable with {params.power:.0%} power at the {params.alpha:.0%} level: a "
             f"{summary['mde_reduction_pct']}% fall (rate ratio {summary['mde_rate_ratio']})")
    else:
        echo(f"warning: {summary['note']}", err=True)
    ml = d.power.get("month_level") or {}
    if ml.get("month_mde_rate_ratio") is not None:
        echo(f"with police.uk months only (month-level evaluation): a {ml['month_mde_reduction_pct']}% fall over "
             f"the months, i.e. about {ml['patrol_day_mde_reduction_pct'] or '>100'}% on patrol days "
             f"(spots patrolled on {ml['treated_share']:.0%} of days)")
    if simulated.get("mde_rate_ratio") is not None:
        echo(f"detectable by the evaluation itself ({simulated['sims']} simulated programmes): a "
             f"{simulated['mde_reduction_pct']}% fall (rate ratio {simulated['mde_rate_ratio']})")
    echo(f"written to {folder} (schedule.csv, spots.geojson, programme.json, calendar.html)")


def _simulated_power(prog: Any, params: Any) -> dict[str, Any]:
    """The detectable effect found by simulating the place-day evaluation on the programme's history and design."""
    from patrol_planner.evaluation.power import simulated_power
    from patrol_planner.programme import redraw_design

    return simulated_power(prog, redraw_design(prog), dispersion=params.dispersion, power=params.power,
                           alpha=params.alpha, seed=params.seed)


def _write_equity(prog: Any, s: Any, ons: Path | None) -> str:
    """Write ``equity.csv`` (and a note) beside the schedule for the calendar page; return what happened."""
    from patrol_planner.errors import PatrolPlannerError
    from patrol_planner.evaluation.equity import equity_for_programme, write_equity_files

    files = [p for g in s.resolved().incident_groups for p in g.paths if g.fmt in (None, "police_uk_street")]
    note = prog.folder / "equity-note.txt"
    try:
        rep = equity_for_programme(prog, files, ons=ons)
    except PatrolPlannerError as exc:
        note.write_text(f"No equity table: {exc}\n", encoding="utf-8")
        return f"none: {exc}"
    write_equity_files(rep, prog.folder)
    c = rep.counts
    note.write_text(f"Spots are linked to 2021 LSOAs through the codes on police.uk rows (2011 codes through the ONS "
                    f"lookup); area: {', '.join(c['area_districts'])}; {c['spots_without_decile']} spot(s) and "
                    f"{c['harm_share_unknown']:.1%} of harm without a decile.\n", encoding="utf-8")
    return "equity.csv"


def programme_amend(
    folder: Path = typer.Argument(..., help="Programme folder."),
    action: str = typer.Option(..., "--action", help="cancel_day, cancel_spot_day or drop_spot."),
    day: str | None = typer.Option(None, "--date", help="Programme day YYYY-MM-DD (drop_spot: from this day)."),
    spot: str | None = typer.Option(None, "--spot", help="Spot id, e.g. S03."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in amendments.csv; no sensitive detail)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON summary object."),
) -> None:
    """Record an amendment beside the schedule (the schedule itself is never rewritten)."""
    from patrol_planner.programme import add_amendment, read_programme
    from patrol_planner.programme.calendar import write_calendar

    when = _date(day, "--date") if day else None
    am = add_amendment(folder, action=action, reason=reason, day=when, spot_id=spot)
    prog = read_programme(folder)
    write_calendar(prog)
    delivered = prog.delivered_schedule()
    summary = {"amendments": len(am), "treated_spot_days_assigned": int(delivered["assigned"].sum()),
               "treated_spot_days_after_amendments": int(delivered["treated"].sum())}
    if as_json:
        print_json(summary)
        return
    echo(f"amendment recorded ({summary['amendments']} in all); treated spot-days now "
         f"{summary['treated_spot_days_after_amendments']} of {summary['treated_spot_days_assigned']} assigned")


def programme_day(
    folder: Path = typer.Argument(..., help="Programme folder."),
    day: str = typer.Option(..., "--date", help="Programme day YYYY-MM-DD."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Print one day's tasking: the patrol window, the spots to patrol and the control spots to keep away from."""
    from patrol_planner.programme.tasking import day_tasking

    t = day_tasking(folder, _date(day, "--date"))
    if as_json:
        print_json(t)
        return
    echo(f"{t['date']}: patrol window {t['window_start']} to {t['window_end']}; dose {t['visits']} x "
         f"{t['minutes']:g} min")
    _print_by_district("patrol", t["treated"])
    by_amendment: dict[tuple[str, ...], list[str]] = {}
    for s in t["cancelled"]:
        a = s["amendment"]
        key = (a["action"], a["recorded_at"], a["reason"])
        by_amendment.setdefault(key, []).append(f"{s['spot_id']} {s['label']}")
    for (action, at, reason), spots in by_amendment.items():
        echo(f"cancelled ({action} recorded {at}: {reason}): " + "; ".join(spots))
    _print_by_district("keep away (controls)", t["control"])


def _print_by_district(title: str, spots: list[dict[str, Any]]) -> None:
    """``title:`` then one line per district (spots arrive sorted by district) with each spot's label."""
    if not spots:
        echo(f"{title}: none")
        return
    echo(f"{title}:")
    groups: dict[str, list[str]] = {}
    for s in spots:
        groups.setdefault(s["district"] or "district unknown", []).append(f"{s['spot_id']} {s['label']}")
    for district, rows in groups.items():
        echo(f"  {district}: " + "; ".join(rows))


def register(app: typer.Typer) -> None:
    app.command("programme")(user_errors(programme))
    app.command("programme-amend")(user_errors(programme_amend))
    app.command("programme-day")(user_errors(programme_day))

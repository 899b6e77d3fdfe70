"""report stage: turn a :class:`~patrol_planner.plan.Plan` into the files officers and analysts use.

``write_outputs(plan, out_dir)`` writes everything; the other functions make one output each.
File formats are documented in ``docs/outputs.md`` and ``docs/plan-json.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from patrol_planner.plan import Plan
from patrol_planner.report.briefing import render_briefing, write_briefing
from patrol_planner.report.exports import (
    _check_plan,
    _mkdir,
    _write_text,
    plan_to_geojson,
    schedule_frame,
    unit_colour,
    write_geojson,
    write_gpx,
    write_schedule_csv,
)
from patrol_planner.sanitise import terminal_safe

if TYPE_CHECKING:
    from rich.table import Table

__all__ = [
    "plan_summary_table",
    "plan_to_geojson",
    "render_briefing",
    "schedule_frame",
    "unit_colour",
    "write_briefing",
    "write_geojson",
    "write_gpx",
    "write_outputs",
    "write_schedule_csv",
]


def write_outputs(plan: Plan, out_dir: str | Path) -> dict[str, Path]:
    """Write every output of ``patrol-planner plan`` into ``out_dir`` (created if needed).

    Parameters
    ----------
    plan : Plan
        The plan to write.
    out_dir : str or Path
        Output folder; existing files of the same names are replaced.

    Returns
    -------
    dict[str, Path]
        ``"plan.json"``, ``"plan.geojson"``, ``"schedule.csv"``, ``"briefing.html"`` and one
        ``"gpx/<file>.gpx"`` entry per unit, each mapped to the written file.

    Raises
    ------
    PatrolPlannerError
        ``plan`` is not a Plan, holds coordinates that are not lon/lat, or a file cannot be written.
    """
    plan = _check_plan(plan)
    d = Path(out_dir)
    if d.exists() and not d.is_dir():
        from patrol_planner.errors import PatrolPlannerError

        raise PatrolPlannerError(f"output folder {d} exists and is not a folder")
    _mkdir(d)
    # Render everything that can fail on bad data before writing, so a bad plan leaves no half-written set.
    briefing = render_briefing(plan)
    paths: dict[str, Path] = {}
    paths["plan.json"] = d / "plan.json"
    _write_text(paths["plan.json"], plan.to_json() + "\n")
    paths["plan.geojson"] = write_geojson(plan, d / "plan.geojson")
    paths["schedule.csv"] = write_schedule_csv(plan, d / "schedule.csv")
    paths["briefing.html"] = _write_text(d / "briefing.html", briefing)
    for p in write_gpx(plan, d / "gpx").values():
        paths[f"gpx/{p.name}"] = p
    return paths


def plan_summary_table(plan: Plan) -> Table:
    """A rich table of the plan, one row per unit and a total row, for the CLI's final summary.

    Unit ids are inserted as plain :class:`rich.text.Text`, so markup-like ids print literally, and control
    characters in them are shown as escapes (:func:`patrol_planner.sanitise.terminal_safe`).
    """
    from rich.table import Table
    from rich.text import Text

    plan = _check_plan(plan)
    t = Table(title=Text(terminal_safe(plan.title)), show_footer=len(plan.units) > 1)
    units = plan.units
    tot_stops = sum(len(u.stops) for u in units)
    tot_km = sum(u.road_m for u in units) / 1000
    # Short headers and whole numbers: the table must fit an 80-column terminal without truncation.
    cols = [
        ("Unit", "left", "Total"),
        ("Mode", "left", ""),
        ("Stops", "right", str(tot_stops)),
        ("Spots", "right", str(len({s.hotspot_id for u in units for s in u.stops}))),
        ("km", "right", f"{tot_km:.1f}"),
        ("Travel\nmin", "right", f"{sum(u.travel_s for u in units) / 60:.0f}"),
        ("Scene\nmin", "right", f"{sum(u.dwell_s for u in units) / 60:.0f}"),
        ("Idle\nmin", "right", f"{sum(u.idle_s for u in units) / 60:.0f}"),
        ("Harm", "right", f"{sum(u.harm_covered for u in units):.0f}"),
    ]
    for name, justify, footer in cols:
        t.add_column(name, justify=justify, footer=footer)  # type: ignore[arg-type]
    for u in units:
        t.add_row(Text(terminal_safe(u.unit_id)), Text(terminal_safe(u.mode)), str(len(u.stops)),
                  str(len({s.hotspot_id for s in u.stops})),
                  f"{u.road_m / 1000:.1f}", f"{u.travel_s / 60:.0f}", f"{u.dwell_s / 60:.0f}",
                  f"{u.idle_s / 60:.0f}", f"{u.harm_covered:.0f}")
    left = sum(1 for h in plan.hotspots if h.status != "visited")
    if plan.hotspots:
        t.caption = f"{len(plan.hotspots) - left} of {len(plan.hotspots)} hotspots covered, {left} left out"
    return t

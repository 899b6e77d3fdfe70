"""Hot-spot programmes: randomised multi-week schedules, their record on disk and amendments.

Design: :func:`load_programme_scenario` reads a scenario with a ``[programme]`` table into a scenario and
:class:`ProgrammeParams`; :func:`design_programme` chooses the spots, draws the schedule and computes its
power; :meth:`ProgrammeDesign.write` writes the folder. Use: :func:`read_programme` (the record, with
``window(day)``, ``day_of`` and ``delivered_schedule()``), :func:`day_tasking` (one day's patrol and control
spots), :func:`add_amendment`, :func:`write_calendar`, :func:`redraw_design` (the design re-run with
another seed, for randomisation tests). See ``docs/programme.md``.
"""

from patrol_planner.programme.calendar import render_calendar, write_calendar
from patrol_planner.programme.design import ProgrammeDesign, design_programme
from patrol_planner.programme.params import ProgrammeParams, load_programme_scenario, programme_params_from_dict
from patrol_planner.programme.record import (
    AMENDMENT_ACTIONS,
    SCHEDULE_COLUMNS,
    Programme,
    add_amendment,
    read_programme,
    write_programme,
)
from patrol_planner.programme.redraw import redraw_design
from patrol_planner.programme.tasking import day_tasking

__all__ = [
    "AMENDMENT_ACTIONS",
    "SCHEDULE_COLUMNS",
    "Programme",
    "ProgrammeDesign",
    "ProgrammeParams",
    "add_amendment",
    "day_tasking",
    "design_programme",
    "load_programme_scenario",
    "programme_params_from_dict",
    "read_programme",
    "redraw_design",
    "render_calendar",
    "write_calendar",
    "write_programme",
]

"""Hot-spot programmes: randomised multi-week schedules, their record on disk and amendments."""

from patrol_planner.programme.record import (
    AMENDMENT_ACTIONS,
    SCHEDULE_COLUMNS,
    Programme,
    add_amendment,
    read_programme,
    write_programme,
)

__all__ = ["AMENDMENT_ACTIONS", "SCHEDULE_COLUMNS", "Programme", "add_amendment", "read_programme", "write_programme"]

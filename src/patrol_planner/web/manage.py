"""``python -m patrol_planner.web.manage COMMAND``: Django's manage.py for the tasking room (the worker uses it)."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patrol_planner.web.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

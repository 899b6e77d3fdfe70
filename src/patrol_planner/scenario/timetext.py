"""Times of day as scenario files write them: ``"22:00"`` and windows ``"22:00-06:00"``."""

from __future__ import annotations

import re
from datetime import time

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(text: str) -> time:
    """``"22:00"`` -> :class:`datetime.time`."""
    m = _HHMM.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a time of day HH:MM")
    return time(int(m.group(1)), int(m.group(2)))


def parse_window(text: str) -> tuple[time, time]:
    """``"22:00-06:00"`` -> (start, end); the end may be on the next day."""
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not a window HH:MM-HH:MM")
    a, b = parse_hhmm(parts[0]), parse_hhmm(parts[1])
    if a == b:
        raise ValueError(f"window {text!r} has zero length")
    return a, b

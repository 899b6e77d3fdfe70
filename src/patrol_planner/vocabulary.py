"""Words every stage shares: the place a unit starts from, and why a hotspot was left out.

This module imports nothing from the package, so the lowest stage (routing) and the highest (report)
can both use it without a cycle. Each reason has one code (stored in ``plan.json`` and returned by the
router) and one plain-English text (shown to officers); no stage keeps a text of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LeftOutReason(StrEnum):
    """Why a site (hotspot) has no visit in a plan. The value is the code; :attr:`text` the plain words."""

    NOT_REACHABLE = "not_reachable"
    NO_TIME = "no_time"
    NOT_WORTH_IT = "not_worth_it"

    @property
    def text(self) -> str:
        """One sentence for the officer reading the briefing."""
        return _REASON_TEXT[self]


_REASON_TEXT = {
    LeftOutReason.NOT_REACHABLE: "No unit can reach it by road and get back within its shift or patrol radius "
                                 "(or it lies too far from a usable road).",
    LeftOutReason.NO_TIME: "A single visit does not fit in any unit's shift.",
    LeftOutReason.NOT_WORTH_IT: "It would fit, but other visits covered more harm in the time available.",
}

#: The codes of :class:`LeftOutReason`, in a stable order (routing results and ``plan.json`` use these).
LEFT_OUT_REASONS: tuple[str, ...] = tuple(r.value for r in LeftOutReason)

#: Status of a hotspot that is in the plan (every other status is a :class:`LeftOutReason` code).
VISITED = "visited"


def status_text(status: str) -> str:
    """Plain words for a hotspot status: ``"visited"`` or a :class:`LeftOutReason` code."""
    if status == VISITED:
        return "In the plan."
    try:
        return LeftOutReason(status).text
    except ValueError:
        return status.replace("_", " ")


@dataclass(frozen=True)
class Station:
    """A place where a unit starts or ends its shift (a police station, or a named point).

    Attributes
    ----------
    name : str
        Human-readable name, shown in the briefing.
    lon, lat : float
        Position in EPSG:4326 [deg].
    """

    name: str
    lon: float
    lat: float

"""Dosage parameters: the GPS tolerance, gap rules, visit rules and plausibility limits, in one frozen dataclass."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from patrol_planner.errors import DosageError

#: Where a track's unit id comes from: the file name (stem) or the GPX ``<trk><name>`` (file name when empty).
UNIT_SOURCES: tuple[str, ...] = ("file", "name")


@dataclass(frozen=True)
class DosageParams:
    """How GPS pings become minutes present and visits (see docs/dosage.md for the definitions).

    Parameters
    ----------
    tolerance_m : float
        GPS tolerance [m]: a spot counts as occupied while a unit is inside its polygon buffered by this.
    max_gap_s : float
        Longest interval between two consecutive pings of a unit that can count as presence [s]; a longer
        interval is a dropout and counts as nothing, even with both pings inside the spot.
    merge_gap_s : float
        Absences from a spot up to this long [s] join the presence before and after into one visit.
    bridge_gap_s : float
        A dropout up to this long [s] whose pings before and after are inside the same spot does not split
        the visit (a radio losing its fix in a doorway); its time still counts as nothing. 0 switches off.
    min_visit_s : float
        A visit with less presence than this [s] is a pass-through: it is not a visit and its minutes are
        reported as ``passing_minutes``, not in ``minutes_present``.
    max_speed_kph : float
        Faster than any patrol moves [km/h]: a point reached and left at more than this is a spike and is
        dropped; a single jump faster than this breaks the track (the interval counts as nothing).
    area_margin_km : float
        Points farther than this [km] from the bounding box of the programme's spots are dropped as
        ``outside_area`` (null island, swapped lat/lon, a device left on in another county).
    unit_from : str
        One of :data:`UNIT_SOURCES`.
    """

    tolerance_m: float = 25.0
    max_gap_s: float = 120.0
    merge_gap_s: float = 180.0
    bridge_gap_s: float = 900.0
    min_visit_s: float = 60.0
    max_speed_kph: float = 200.0
    area_margin_km: float = 50.0
    unit_from: str = "file"

    def __post_init__(self) -> None:
        checks = (
            (0 <= self.tolerance_m <= 500, "tolerance_m must be between 0 and 500 m"),
            (0 < self.max_gap_s <= 3600, "max_gap_s must be in (0, 3600] s"),
            (0 <= self.merge_gap_s <= 3600, "merge_gap_s must be between 0 and 3600 s"),
            (0 <= self.bridge_gap_s <= 7200, "bridge_gap_s must be between 0 and 7200 s"),
            (0 <= self.min_visit_s <= 3600, "min_visit_s must be between 0 and 3600 s"),
            (5 <= self.max_speed_kph <= 1000, "max_speed_kph must be between 5 and 1000 km/h"),
            (0 < self.area_margin_km <= 1000, "area_margin_km must be in (0, 1000] km"),
            (self.unit_from in UNIT_SOURCES, f"unit_from must be one of {list(UNIT_SOURCES)}"),
        )
        for ok, msg in checks:
            if not ok:
                raise DosageError(f"dosage parameters: {msg}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

"""OSM tag rules for the road graph: which ways a mode may use, one-way rules, and speeds.

Pure functions of a way's tags (no I/O). The UK defaults follow the Highway Code's national speed
limits; see ``docs/network.md`` for the full rules.
"""

from __future__ import annotations

import re
from typing import Literal

Mode = Literal["drive", "walk"]

MPH_TO_KPH = 1.609344
#: One knot (nautical mile per hour) in km/h; ``maxspeed`` may be tagged in knots on waterside roads.
KNOT_TO_KPH = 1.852

#: Default walking speed [km/h] for ``mode="walk"``.
DEFAULT_WALK_SPEED_KPH = 5.0

#: Drivable ``highway`` classes, most important first (this order is also the ``max_class`` ranking).
DRIVE_CLASSES: tuple[str, ...] = (
    "motorway", "trunk", "primary", "secondary", "tertiary",
    "motorway_link", "trunk_link", "primary_link", "secondary_link", "tertiary_link",
    "unclassified", "road", "residential", "living_street", "service",
)

#: Classes a pedestrian may use (trunk only where foot access is tagged, motorways never).
WALK_CLASSES: frozenset[str] = frozenset({
    "primary", "primary_link", "secondary", "secondary_link", "tertiary", "tertiary_link",
    "unclassified", "road", "residential", "living_street", "service", "pedestrian", "footway",
    "path", "steps", "track", "bridleway", "cycleway", "corridor",
})

#: Speed limit assumed [mph] when ``maxspeed`` is missing or unusable, by class: UK limits, with a
#: middle value for classes that are 30 mph in towns and 60 mph outside.
DEFAULT_SPEED_MPH: dict[str, float] = {
    "motorway": 70, "motorway_link": 40, "trunk": 60, "trunk_link": 40,
    "primary": 50, "primary_link": 30, "secondary": 40, "secondary_link": 30,
    "tertiary": 40, "tertiary_link": 30, "unclassified": 30, "road": 30,
    "residential": 30, "living_street": 10, "service": 15,
}
#: Limit [mph] for a drivable class missing from :data:`DEFAULT_SPEED_MPH`: the UK built-up-area limit,
#: the safe guess for a road we know nothing about.
FALLBACK_SPEED_MPH = 30.0

#: UK national speed limit [mph] on motorways (and dual carriageways), and on other roads; what
#: ``maxspeed=national`` means for a way of each kind.
NATIONAL_MOTORWAY_MPH = 70.0
NATIONAL_SINGLE_MPH = 60.0

#: Share of the speed limit actually driven on average (bends, junctions, traffic). OSRM's car
#: profile uses the same idea; 0.8 puts Oakham -> Uppingham (10 km of A6003) at about 10 minutes.
DEFAULT_SPEED_FACTOR = 0.8

#: Upper bound [mph] on the speed used for minor classes, whatever the sign says: a single-track lane
#: signed "national" (60 mph) is not driven at 60 mph.
MAX_SPEED_MPH: dict[str, float] = {
    "unclassified": 40, "road": 40, "residential": 30, "living_street": 15, "service": 15,
}

# service=* values that are not through roads for a patrol car.
_EXCLUDED_SERVICE = frozenset({"parking_aisle", "driveway", "emergency_access", "drive-through"})
_NO = frozenset({"no", "private"})
_YES = frozenset({"yes", "designated", "permissive", "destination"})

# Symbolic UK limits [mph]; "national" depends on the class (see parse_maxspeed).
_SYMBOLIC_MPH = {
    "gb:nsl_single": 60.0, "uk:nsl_single": 60.0,
    "gb:nsl_dual": 70.0, "uk:nsl_dual": 70.0,
    "gb:motorway": 70.0, "uk:motorway": 70.0,
    "gb:nsl_restricted": 30.0, "uk:nsl_restricted": 30.0,
}
_ZONE = re.compile(r"^(?:gb|uk):zone(\d+)$")
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph|knots)?$")


def parse_maxspeed(value: str | None, highway: str = "") -> float | None:
    """Parse an OSM ``maxspeed`` value into km/h.

    Parameters
    ----------
    value
        The raw tag, e.g. ``"30 mph"``, ``"50"``, ``"national"``, ``"GB:nsl_single"``, ``"GB:zone20"``,
        ``"30;40"``.
    highway
        The way's ``highway`` class; ``national`` means 70 mph on motorways and 60 mph elsewhere.

    Returns
    -------
    float or None
        Speed [km/h], or ``None`` when the value is missing or carries no number (``none``,
        ``signals``, ``variable``, garbage), so the class default applies. Bare numbers are km/h (the
        OSM convention); ``mph`` and ``knots`` are converted. For a list (``"30;40"``) the lowest value
        is taken, because an ETA that is too optimistic is worse for tasking than one that is too slow.
    """
    if value is None:
        return None
    parts = [p.strip().lower() for p in str(value).split(";") if p.strip()]
    speeds = [kph for p in parts if (kph := _one_maxspeed_kph(p, highway)) is not None and kph > 0]
    return min(speeds) if speeds else None


def _one_maxspeed_kph(p: str, highway: str) -> float | None:
    """One lower-cased ``maxspeed`` value [km/h], or ``None`` if it carries no speed."""
    if p in ("national", "gb:national", "uk:national"):
        mph = NATIONAL_MOTORWAY_MPH if highway.startswith("motorway") else NATIONAL_SINGLE_MPH
        return mph * MPH_TO_KPH
    if p in _SYMBOLIC_MPH:
        return _SYMBOLIC_MPH[p] * MPH_TO_KPH
    if (m := _ZONE.match(p)) is not None:
        return float(m.group(1)) * MPH_TO_KPH
    if p == "walk":
        return DEFAULT_WALK_SPEED_KPH
    if (m := _NUMBER.match(p)) is not None:
        num, unit = float(m.group(1)), m.group(2)
        if unit == "mph":
            return num * MPH_TO_KPH
        if unit == "knots":
            return num * KNOT_TO_KPH
        return num
    return None


def drive_speed_kph(highway: str, maxspeed: str | None, speed_factor: float = DEFAULT_SPEED_FACTOR) -> float:
    """Speed used for a drivable way [km/h].

    The parsed ``maxspeed`` (else the class default of :data:`DEFAULT_SPEED_MPH`) times
    ``speed_factor``, then capped for minor classes (:data:`MAX_SPEED_MPH`).
    """
    kph = parse_maxspeed(maxspeed, highway)
    if kph is None:
        kph = DEFAULT_SPEED_MPH.get(highway, FALLBACK_SPEED_MPH) * MPH_TO_KPH
    kph *= speed_factor
    cap = MAX_SPEED_MPH.get(highway)
    if cap is not None:
        kph = min(kph, cap * MPH_TO_KPH)
    return kph


def oneway_direction(tags: dict[str, str], mode: Mode) -> int:
    """Allowed direction of travel along a way: ``1`` forward only, ``-1`` backward only, ``0`` both.

    Walking is always both ways. For driving: ``oneway=yes|true|1`` is forward, ``oneway=-1|reverse``
    backward, ``oneway=no`` both; ``junction=roundabout|circular`` and ``highway=motorway`` imply
    forward unless ``oneway=no``. ``oneway=reversible|alternating`` is treated as two-way.
    """
    if mode == "walk":
        return 0
    ow = tags.get("oneway", "").strip().lower()
    if ow in ("yes", "true", "1"):
        return 1
    if ow in ("-1", "reverse"):
        return -1
    if ow in ("no", "false", "0", "reversible", "alternating"):
        return 0
    if tags.get("junction", "") in ("roundabout", "circular") or tags.get("highway") == "motorway":
        return 1
    return 0


def way_usable(tags: dict[str, str], mode: Mode) -> bool:
    """Whether a way with these tags is part of the ``mode`` network (see ``docs/network.md``)."""
    hw = tags.get("highway", "")
    if tags.get("area") == "yes":
        return False
    access = tags.get("access", "")
    if mode == "drive":
        if hw not in DRIVE_CLASSES:
            return False
        if hw == "service" and tags.get("service", "") in _EXCLUDED_SERVICE:
            return False
        motor = tags.get("motor_vehicle", tags.get("motorcar", tags.get("vehicle", "")))
        if motor in _NO:
            return False
        return not (access in _NO and motor not in _YES)
    foot = tags.get("foot", "")
    if foot == "no":
        return False
    if hw in ("trunk", "trunk_link"):
        # Walking along a trunk road is allowed in law but only sensible with a pavement.
        return foot in _YES or tags.get("sidewalk", "none") not in ("none", "no", "")
    if hw not in WALK_CLASSES:
        return False
    return not (access in _NO and foot not in _YES)

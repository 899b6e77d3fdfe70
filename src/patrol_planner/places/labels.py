"""Spot names an officer can find: police.uk place, nearest street, district and OS grid reference.

A label reads ``"On or near Parking Area near Moulsham Street, Chelmsford (TL 7063 0688)"``:

* the police.uk place text (the commonest among the spot's records), or "unnamed place";
* ``near <street>`` when that text is one of police.uk's generic names (:data:`GENERIC_PLACES`: "Parking
  Area", "Supermarket", ...) and a road network names a street within
  :data:`~patrol_planner.places.streets.STREET_MAX_M` of the spot's centre;
* the district (local authority) from the ONS lookup (:mod:`patrol_planner.places.districts`);
* the 8-figure OS grid reference of the spot's centre (a 10 m square).

The grid reference makes labels of different spots differ; if two still match (two spots' centres in one
10 m square cannot happen on one grid, but a caller may pass anything), the later ones get the spot id.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

#: police.uk's generic map-point names (the kind of place, not a street): a street makes them findable.
GENERIC_PLACES = frozenset(n.casefold() for n in (
    "Parking Area", "Supermarket", "Shopping Area", "Petrol Station", "Sports/Recreation Area", "Park/Open Space",
    "Nightclub", "Bus/Coach Station", "Conference/Exhibition Centre", "Theatre/Concert Hall", "Airport/Airfield",
    "Hospital", "Prison", "Police Station", "Further/Higher Educational Building", "Pedestrian Subway",
    "Railway Station", "Theme/Adventure Park", "Cinema", "Mosque", "Church", "Pub/Bar", "unnamed place"))


@dataclass(frozen=True)
class SpotName:
    """How to find one spot: ``place`` (police.uk text), ``street`` (OSM, "" when unknown), ``district`` and
    ``district_code`` (ONS LAD name and code; code "" when only the name is known), ``grid_ref`` (OS, 8
    figures) and ``label`` (all of these in one line, unique within a plan or programme)."""

    place: str
    district: str = ""
    district_code: str = ""
    street: str = ""
    grid_ref: str = ""
    label: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_generic(place: str) -> bool:
    """True for police.uk's generic names ("On or near Parking Area") and for no name at all."""
    t = place.strip().casefold()
    t = t[len("on or near "):].strip() if t.startswith("on or near ") else t
    return not t or t in GENERIC_PLACES


def label_of(n: SpotName) -> str:
    """The one-line label of a spot (see the module docstring)."""
    text = n.place or "unnamed place"
    if n.street and is_generic(text) and n.street.casefold() not in text.casefold():
        text += f" near {n.street}"
    if n.district:
        text += f", {n.district}"
    if n.grid_ref:
        text += f" ({n.grid_ref})"
    return text


def name_spots(ids: list[str], places: list[str], districts: list[Any], streets: list[str],
               grid_refs: list[str]) -> list[SpotName]:
    """:class:`SpotName` of each spot (aligned lists; ``districts`` are ``District``-like with ``code``/``name``),
    with labels made unique by appending the spot id to any repeat."""
    out = [SpotName(place=p or "unnamed place", district=d.name, district_code=d.code, street=s, grid_ref=g)
           for p, d, s, g in zip(places, districts, streets, grid_refs, strict=True)]
    labels = [label_of(n) for n in out]
    seen: Counter[str] = Counter()
    for i, lb in enumerate(labels):
        seen[lb] += 1
        if seen[lb] > 1:
            labels[i] = f"{lb} [{ids[i]}]"
    return [SpotName(**{**n.as_dict(), "label": lb}) for n, lb in zip(out, labels, strict=True)]

"""Harm weight tables: one severity weight per police.uk crime type.

Two published offence-level indices are mapped onto the 14 police.uk types:

* ``"cchi"`` (default): the Cambridge Crime Harm Index, in days of imprisonment (Sherman, Neyroud &
  Neyroud 2016, *Policing* 10(3): 171-183; values as updated by the Cambridge Centre for Evidence-Based
  Policing). police.uk types bundle several offences, so each weight is a stated mix of offence-subgroup
  values; see ``docs/hotspots.md`` for the representative offences, the mix and its source.
* ``"ons_css"``: the ONS Crime Severity Score weights (ONS 2016, "Research outputs: developing a Crime
  Severity Score for England and Wales using data on crimes recorded by the police"), in the same unit
  (days of custody equivalent). These values are **approximate** (recalled, not checked against the ONS
  workbook); use them for comparison, not as an official figure.

Neither index scores anti-social behaviour (not a crime); the model adds an explicit ``asb_weight``
instead. Drugs and Possession of weapons are mostly found by police rather than reported by victims: the
CCHI leaves them out of victim harm, so their table value is multiplied by the model's explicit
``enforcement_weight``. Users can override any weight with :meth:`HarmWeights.replace`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from patrol_planner.errors import HotspotError
from patrol_planner.incidents.schema import POLICE_GENERATED_CATEGORIES, POLICE_UK_CATEGORIES, STOP_AND_SEARCH

#: Types that measure police activity as much as harm; scaled by ``enforcement_weight``. With stop and
#: search they are the police-generated records (:data:`POLICE_GENERATED_CATEGORIES`, defined once with the
#: incident categories): they never count as victim harm, and each score says how much came from them.
ENFORCEMENT_CATEGORIES: tuple[str, ...] = tuple(sorted(POLICE_GENERATED_CATEGORIES - {STOP_AND_SEARCH}))
ASB = "Anti-social behaviour"


@dataclass(frozen=True)
class HarmWeights:
    """A severity weight per police.uk crime type.

    Parameters
    ----------
    weights : mapping of str to float
        Weight per police.uk category [days of custody equivalent per record]; categories left out get 0.
        Must be finite and >= 0.
    name : str
        Short name of the table, recorded in provenance.
    source : str
        Citation of the published index the weights come from.
    """

    weights: Mapping[str, float]
    name: str = "custom"
    source: str = "user supplied"
    _vector: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(POLICE_UK_CATEGORIES)
        if unknown:
            raise HotspotError(
                f"harm weights name unknown categories {sorted(unknown)}; use the police.uk types "
                f"{list(POLICE_UK_CATEGORIES)}"
            )
        full = {c: float(self.weights.get(c, 0.0)) for c in POLICE_UK_CATEGORIES}
        bad = {c: v for c, v in full.items() if not np.isfinite(v) or v < 0}
        if bad:
            raise HotspotError(f"harm weights must be finite and >= 0 days; got {bad}")
        object.__setattr__(self, "weights", MappingProxyType(full))
        object.__setattr__(self, "_vector", np.array([full[c] for c in POLICE_UK_CATEGORIES]))

    def replace(self, overrides: Mapping[str, float], *, name: str | None = None) -> HarmWeights:
        """A copy with some weights overridden [days per record]."""
        return HarmWeights({**self.weights, **overrides}, name=name or f"{self.name}+overrides", source=self.source)

    def vector(self) -> np.ndarray:
        """Weights in the order of :data:`POLICE_UK_CATEGORIES` [days per record]."""
        return self._vector.copy()

    def __getitem__(self, category: str) -> float:
        return self.weights[category]


# Cambridge Crime Harm Index [days]. Subgroup values are the median CCHI of the offences in each Home
# Office subgroup (CCHI spreadsheet, Cambridge Centre for Evidence-Based Policing); mixes use
# England & Wales police recorded crime shares for the year to March 2018 (ONS). See docs/hotspots.md.
_CCHI_VSO = (
    0.315 * 365.0  # violence with injury (ABH-level starting point)
    + 0.370 * 10.0  # violence without injury (common assault)
    + 0.217 * 10.0  # stalking and harassment
    + 0.035 * 2555.0  # rape
    + 0.062 * 182.25  # other sexual offences (sexual assault)
    + 0.0005 * 5475.0  # homicide
)
_CCHI_BURGLARY = 0.66 * 273.5 + 0.34 * 183.5  # residential / business and community
_CCHI_DAMAGE = 0.96 * 2.0 + 0.04 * 185.0  # criminal damage / arson
_CCHI_DRUGS = 0.80 * 3.0 + 0.20 * 5.0  # possession / trafficking

CCHI = HarmWeights(
    {
        ASB: 0.0,
        "Bicycle theft": 2.0,
        "Burglary": round(_CCHI_BURGLARY, 1),
        "Criminal damage and arson": round(_CCHI_DAMAGE, 1),
        "Drugs": round(_CCHI_DRUGS, 1),
        "Other crime": 10.0,
        "Other theft": 2.0,
        "Possession of weapons": 273.75,
        "Public order": 7.5,
        "Robbery": 365.0,
        "Shoplifting": 1.0,
        "Theft from the person": 2.0,
        "Vehicle crime": 5.0,
        "Violence and sexual offences": round(_CCHI_VSO, 1),
    },
    name="cchi",
    source="Cambridge Crime Harm Index (Sherman, Neyroud & Neyroud 2016), subgroup medians, stated mixes",
)

# ONS Crime Severity Score [days equivalent], APPROXIMATE: recalled subgroup weights, same mixes as above.
_CSS_VSO = 0.315 * 180 + 0.370 * 60 + 0.217 * 35 + 0.035 * 1400 + 0.062 * 400 + 0.0005 * 7979
ONS_CSS = HarmWeights(
    {
        ASB: 0.0,
        "Bicycle theft": 10.0,
        "Burglary": round(0.66 * 340 + 0.34 * 140, 1),
        "Criminal damage and arson": round(0.96 * 12 + 0.04 * 230, 1),
        "Drugs": round(0.80 * 5 + 0.20 * 450, 1),
        "Other crime": 80.0,
        "Other theft": 20.0,
        "Possession of weapons": 130.0,
        "Public order": 30.0,
        "Robbery": 450.0,
        "Shoplifting": 7.0,
        "Theft from the person": 45.0,
        "Vehicle crime": 40.0,
        "Violence and sexual offences": round(_CSS_VSO, 1),
    },
    name="ons_css",
    source="ONS Crime Severity Score (2016 research output), approximate values, stated mixes",
)

TABLES: dict[str, HarmWeights] = {"cchi": CCHI, "ons_css": ONS_CSS}


def resolve_harm(harm: str | HarmWeights | Mapping[str, float]) -> HarmWeights:
    """Turn a table name, a :class:`HarmWeights` or a plain mapping into :class:`HarmWeights`."""
    if isinstance(harm, HarmWeights):
        return harm
    if isinstance(harm, str):
        try:
            return TABLES[harm]
        except KeyError:
            raise HotspotError(f"unknown harm table {harm!r}; choose one of {sorted(TABLES)}") from None
    if isinstance(harm, Mapping):
        return HarmWeights(harm)
    raise HotspotError(f"harm must be 'cchi', 'ons_css' or HarmWeights, not {type(harm).__name__}")


def record_weights(
    categories: np.ndarray,
    harm: HarmWeights,
    *,
    asb_weight: float,
    enforcement_weight: float,
    volume_weight: float = 0.0,
) -> np.ndarray:
    """Per-record weight actually used by the model [days per record].

    ``categories`` are integer codes into :data:`POLICE_UK_CATEGORIES`; ASB gets ``asb_weight`` [days],
    the enforcement types get their table value times ``enforcement_weight`` [-], and every other crime
    gets ``volume_weight`` [days] on top of its harm (how busy a place is predicts where the next
    harmful crime happens; see docs/hotspots.md).
    """
    vec = harm.vector() + volume_weight
    vec[POLICE_UK_CATEGORIES.index(ASB)] = asb_weight
    for c in ENFORCEMENT_CATEGORIES:
        vec[POLICE_UK_CATEGORIES.index(c)] = harm[c] * enforcement_weight
    return vec[categories]


def target_harm_weights() -> np.ndarray:
    """Victim-harm weights used to *measure* a backtest: CCHI, with ASB and enforcement types at 0.

    The CCHI excludes proactively found crimes (drugs, weapons) and ASB is not a crime, so the yardstick
    is the same for every method and every setting of the model [days per record, category order].
    """
    vec = CCHI.vector()
    for c in (ASB, *ENFORCEMENT_CATEGORIES):
        vec[POLICE_UK_CATEGORIES.index(c)] = 0.0
    return vec

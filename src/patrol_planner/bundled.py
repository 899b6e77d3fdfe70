"""Where the bundled default run lives: the Rutland night scenario, the data it reads and the ONS sample.

In a source checkout these are the repository's ``scenarios/`` and ``data/`` folders. An installed wheel
carries the same files as package data under ``patrol_planner/_bundled/`` (``pyproject.toml`` maps the two
folders there), with the same relative layout, so the scenario's ``../data/...`` paths hold in both.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from patrol_planner.errors import ScenarioError

DEFAULT_SCENARIO = "rutland-night.toml"
ONS_SAMPLE = "ons-lsoa-leicestershire"


def bundled_root() -> Path:
    """The folder holding ``scenarios/`` and ``data/``: the installed package data, else the source checkout."""
    installed = resources.files("patrol_planner") / "_bundled"
    # an unpacked install gives a real folder; a zipped one cannot feed file paths to pandas and pyosmium
    if isinstance(installed, Path) and (installed / "scenarios" / DEFAULT_SCENARIO).is_file():
        return installed
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "scenarios" / DEFAULT_SCENARIO).is_file():
        return checkout
    raise ScenarioError(f"the bundled default scenario {DEFAULT_SCENARIO} is missing from this installation "
                        f"({installed}); reinstall patrol-planner or name a scenario file")


def default_scenario_file() -> Path:
    """The bundled default scenario: Rutland night-time economy."""
    return bundled_root() / "scenarios" / DEFAULT_SCENARIO


def ons_sample_folder() -> Path:
    """The small ONS subset (IMD deciles, Census 2021 residents) for the bundled Leicestershire/Rutland data."""
    return bundled_root() / "data" / ONS_SAMPLE

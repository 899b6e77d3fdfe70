"""The [programme] table: strict validation, one-line errors naming the field, and the scenario loader."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from patrol_planner.errors import ProgrammeError
from patrol_planner.programme.params import load_programme_scenario, programme_params_from_dict

REPO = Path(__file__).resolve().parents[1]
GOOD = {"start_date": date(2025, 10, 1), "days": 90, "patrol_window": "15:00-00:00", "spots": 20,
        "treated_per_day": 8}


def test_good_table_gets_defaults():
    """A minimal table validates; the dose defaults to one 15-minute visit and spots to 150 m cells."""
    p = programme_params_from_dict(GOOD)
    assert (p.visits, p.minutes, p.spot_size_m, p.day_starts_at) == (1, 15.0, 150.0, "06:00")
    assert p.window_times() == ("15:00", "00:00")


@pytest.mark.parametrize(("change", "field"), [
    ({"days": 0}, "programme.days"),
    ({"patrol_window": "15:00"}, "programme.patrol_window"),
    ({"day_starts_at": "25:00"}, "programme.day_starts_at"),
    ({"spot_size_m": 20}, "programme.spot_size_m"),
    ({"treated_per_day": "8"}, "programme.treated_per_day"),
    ({"randomisation": "coin"}, "programme.randomisation"),
    ({"start_date": "1 Oct"}, "programme.start_date"),
    ({"seed": -1}, "programme.seed"),
    ({"visist": 2}, "programme.visist"),
    ({"treated_per_day": 20}, "treated_per_day"),
    ({"randomisation": "harm", "p_floor": 0.5, "treated_per_day": 8}, "p_floor"),
    ({"spot_ids": ["a"]}, "programme.spot_ids"),
])
def test_bad_fields_give_one_line_errors_naming_the_field(change, field):
    """Each bad value, typo or inconsistency is a ProgrammeError on one line that names the field."""
    with pytest.raises(ProgrammeError) as err:
        programme_params_from_dict({**GOOD, **change}, source="s.toml")
    msg = str(err.value)
    assert "\n" not in msg
    assert field in msg


def test_loader_splits_programme_from_the_scenario(tmp_path):
    """The loader validates [programme] and passes the rest to the scenario model; no table is an error."""
    s, p = load_programme_scenario(REPO / "scenarios" / "rutland-programme.toml")
    assert s.name == "Rutland hot-spot programme" and len(s.units) == 3
    assert p.spots == 10 and p.treated_per_day == 4
    bare = tmp_path / "bare.toml"
    bare.write_text('name = "x"\n[data]\nincidents = ["a.csv"]\n', encoding="utf-8")
    with pytest.raises(ProgrammeError, match=r"no \[programme\] table"):
        load_programme_scenario(bare)
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "x"\n[programme\n', encoding="utf-8")
    with pytest.raises(ProgrammeError, match="not valid TOML"):
        load_programme_scenario(broken)

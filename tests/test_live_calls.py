"""The diversion model against its bundled data: every figure recomputed here from the CSV files with pandas,
independently of :mod:`patrol_planner.live.calls`, and the draws reproducible with a seed."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from patrol_planner.errors import InputFileError
from patrol_planner.live import calls
from patrol_planner.live.calls import (
    CALLS_PER_UNIT_HOUR,
    HOURS_FILE,
    SERVICE_FILE,
    call_model,
    call_times_s,
    clean_service_times,
    data_folder,
    load_call_model,
    service_times_min,
)

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "data" / "calls-for-service-us"
LONDON = ZoneInfo("Europe/London")


def _service_from_file() -> tuple[np.ndarray, dict[str, int]]:
    """Dispatch-to-clear minutes and the rows set aside, straight from the CSV."""
    df = pd.read_csv(FOLDER / SERVICE_FILE)
    total = df["travel_min"] + df["on_scene_min"]
    aside = {"missing": int(total.isna().sum()), "negative": int((total < 0).sum()),
             "zero": int((total == 0).sum()), "over 12 h": int((total > 12 * 60).sum())}
    kept = total[total.notna() & (total > 0) & (total <= 12 * 60)].to_numpy()
    return kept, aside


def _hour_weights_from_file() -> np.ndarray:
    df = pd.read_csv(FOLDER / HOURS_FILE).set_index("hour").sort_index()
    return (df["events"] / df["events"].mean()).to_numpy()


def test_the_package_reads_the_bundled_folder_and_ships_it():
    assert data_folder().resolve() == FOLDER.resolve()
    assert {p.name for p in FOLDER.iterdir()} == {SERVICE_FILE, HOURS_FILE, "SOURCE.md"}
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "calls-for-service-us/*" in globs["patrol_planner._bundled.data"]
    assert "calls-for-service-us" in calls.SOURCE


def test_service_times_and_quarantine_match_the_file():
    kept, aside = _service_from_file()
    model = call_model()
    assert model.rows == len(pd.read_csv(FOLDER / SERVICE_FILE))
    assert list(model.quarantined.values()) == list(aside.values())
    assert len(model.service_min) == len(kept) and model.rows == len(kept) + sum(aside.values())
    qs = [0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]
    assert model.quantiles_min(qs) == pytest.approx(np.quantile(kept, qs).tolist(), abs=1e-9)
    median, log_sd = model.lognormal_fit()
    assert median == pytest.approx(float(np.exp(np.log(kept).mean())))
    assert log_sd == pytest.approx(float(np.log(kept).std()))


def test_hour_weights_match_the_file():
    assert call_model().hour_weight == pytest.approx(_hour_weights_from_file())
    assert call_model().hour_weight.mean() == pytest.approx(1.0)


def test_cleaning_rules_each_set_rows_aside():
    travel = np.array([5.0, np.nan, -3.0, 0.0, 700.0, 10.0])
    scene = np.array([20.0, 4.0, 1.0, 0.0, 30.0, np.nan])
    kept, aside = clean_service_times(travel, scene)
    assert kept.tolist() == [25.0]
    assert aside == {"travel or on-scene time missing": 2, "negative": 1, "zero": 1, "over 12 h": 1}


def test_draws_come_from_the_clean_times_and_repeat_with_a_seed():
    kept, _ = _service_from_file()
    a = service_times_min(np.random.default_rng(7), 50_000)
    assert np.array_equal(a, service_times_min(np.random.default_rng(7), 50_000))
    assert not np.array_equal(a, service_times_min(np.random.default_rng(8), 50_000))
    assert set(np.unique(a)) <= set(np.unique(kept))
    assert np.median(a) == pytest.approx(np.median(kept), abs=1.0)


def test_call_times_follow_the_hour_profile_in_local_time():
    """Exactly n calls over a whole local day land in each hour in proportion to the file's weights."""
    start = datetime(2022, 9, 2, 0, 0, tzinfo=LONDON).timestamp()
    n = 240_000
    t = call_times_s(np.random.default_rng(1), start, start + 24 * 3600, 12, n=n, tz=LONDON)
    assert len(t) == n and np.all(np.diff(t) >= 0) and t.min() >= start and t.max() < start + 24 * 3600
    hours = np.array([datetime.fromtimestamp(x, LONDON).hour for x in t[::10]])
    share = np.bincount(hours, minlength=24) / len(hours)
    assert share == pytest.approx(_hour_weights_from_file() / 24, abs=0.006)


def test_a_night_window_is_cut_at_local_hours():
    """22:00-02:00 BST: only hours 22, 23, 0 and 1, in the file's ratios."""
    start = datetime(2022, 9, 2, 22, 0, tzinfo=LONDON).timestamp()
    t = call_times_s(np.random.default_rng(2), start, start + 4 * 3600, 3, n=100_000, tz=LONDON)
    hours = np.array([datetime.fromtimestamp(x, LONDON).hour for x in t])
    w = _hour_weights_from_file()[[22, 23, 0, 1]]
    got = np.array([(hours == h).mean() for h in (22, 23, 0, 1)])
    assert set(np.unique(hours)) == {22, 23, 0, 1}
    assert got == pytest.approx(w / w.sum(), abs=0.01)


def test_poisson_count_uses_the_stated_rate_times_the_profile():
    start = datetime(2022, 9, 2, 22, 0, tzinfo=LONDON).timestamp()
    w = _hour_weights_from_file()[[22, 23, 0, 1, 2, 3, 4, 5]]
    expected = CALLS_PER_UNIT_HOUR * 12 * w.sum()
    rng = np.random.default_rng(3)
    counts = [len(call_times_s(rng, start, start + 8 * 3600, 12, tz=LONDON)) for _ in range(4000)]
    assert np.mean(counts) == pytest.approx(expected, abs=4 * np.sqrt(expected / 4000))
    again = call_times_s(np.random.default_rng(9), start, start + 8 * 3600, 12, tz=LONDON)
    assert np.array_equal(again, call_times_s(np.random.default_rng(9), start, start + 8 * 3600, 12, tz=LONDON))
    assert len(call_times_s(rng, start, start, 12, tz=LONDON)) == 0


def _write(folder: Path, service: str, hours: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / SERVICE_FILE).write_text(service)
    (folder / HOURS_FILE).write_text(hours)
    return folder


HOURS_OK = "hour,events\n" + "".join(f"{h},{h + 1}\n" for h in range(24))


@pytest.mark.parametrize(("service", "hours", "says"), [
    ("travel,scene\n1,2\n", HOURS_OK, "columns travel_min, on_scene_min missing"),
    ("travel_min,on_scene_min\n1,abc\n", HOURS_OK, "non-numeric value"),
    ("travel_min,on_scene_min\n0,0\n,4\n", HOURS_OK, "no row gives a dispatch-to-clear time"),
    ("travel_min,on_scene_min\n1,2\n", "hour,events\n0,5\n1,5\n", "needs one row for each hour 0-23"),
    ("travel_min,on_scene_min\n1,2\n", HOURS_OK.replace("\n3,4\n", "\n3,-4\n"), "must be >= 0"),
])
def test_bad_files_are_one_line_errors(tmp_path, service, hours, says):
    with pytest.raises(InputFileError, match=says) as err:
        load_call_model(_write(tmp_path / "d", service, hours))
    assert "\n" not in str(err.value)


def test_a_missing_file_names_itself(tmp_path):
    (tmp_path / HOURS_FILE).write_text(HOURS_OK)
    with pytest.raises(InputFileError, match=SERVICE_FILE):
        load_call_model(tmp_path)


def test_a_small_folder_gives_its_own_model(tmp_path):
    model = load_call_model(_write(tmp_path / "d", "travel_min,on_scene_min\n2,8\n0,30\n,5\n", HOURS_OK))
    assert model.service_min.tolist() == [10.0, 30.0] and model.quarantined["travel or on-scene time missing"] == 1
    assert set(service_times_min(np.random.default_rng(0), 200, model)) == {10.0, 30.0}

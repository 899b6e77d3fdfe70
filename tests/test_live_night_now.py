"""``benchmarks/live_night_now.py`` (``benchmarks/live.py --http --night-now``): the scenario copy whose night is
now, and where a unit following a published route is at a wall time. Light: no planning, no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import live_night_now as nn
import pytest

from patrol_planner.scenario import load_scenario, scenario_from_dict

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
LONDON = ZoneInfo("Europe/London")


def _minutes(window: str) -> int:
    a, b = (nn._minute_of_day(x) for x in window.split("-"))
    return (b - a) % (24 * 60)


def test_night_moved_to_now_keeps_lengths_offsets_and_as_of(tmp_path: Path) -> None:
    now = datetime(2026, 12, 6, 12, 47, 31, tzinfo=UTC)  # 12:47 GMT: the night starts 12:17 local
    src = load_scenario(SCEN / "rutland-night.toml")
    path, info = nn.night_now_scenario(SCEN / "rutland-night.toml", tmp_path, now)
    s = load_scenario(path)
    assert s.night.isoformat() == "2026-12-06" and info["night_was"] == "2022-09-02"
    assert s.as_of == src.as_of  # the data's own date: hot spots scored as for the original night
    for old, new in zip(src.units, s.units, strict=True):
        assert new.shift[0].strftime("%H:%M") == "12:17"
        assert new.earliest_leave.strftime("%H:%M") == "12:37"  # 20 min after the shift start, as before
        o = f"{old.shift[0]:%H:%M}-{old.shift[1]:%H:%M}"
        n = f"{new.shift[0]:%H:%M}-{new.shift[1]:%H:%M}"
        assert _minutes(n) == _minutes(o) == 8 * 60
        ob, nb = old.break_window, new.break_window
        assert (nn._minute_of_day(f"{nb[0]:%H:%M}") - nn._minute_of_day(f"{ob[0]:%H:%M}")) % 1440 == \
            info["moved_by_min"]
    for src_ in s.data.incidents:  # absolute, and they exist: the copy lives in another folder
        assert Path(src_.path).is_absolute() and Path(src_.path).exists()
    assert Path(s.data.osm).is_absolute() and Path(s.data.osm).exists()


def test_the_night_of_the_copy_started_before_now(tmp_path: Path) -> None:
    import live_http

    now = datetime.now(UTC)
    path, _ = nn.night_now_scenario(SCEN / "rutland-scale-150.toml", tmp_path, now)
    night = live_http.night_of(path)
    ago_min = (now - night.start).total_seconds() / 60
    assert nn.LEAD_MIN <= ago_min < nn.LEAD_MIN + 1
    assert night.length_s == 8 * 3600 and len(night.units) == 12


def test_just_after_midnight_the_night_is_yesterdays(tmp_path: Path) -> None:
    now = datetime(2026, 7, 1, 0, 10, tzinfo=LONDON)  # BST: 23:40 local on 30 June
    c, info = nn.night_now_content(load_scenario(SCEN / "rutland-night.toml"), now)
    assert c["night"] == "2026-06-30" and c["units"][0]["shift"] == "23:40-07:40"
    assert info["first_shift_start"].startswith("2026-06-30T23:40")


def test_task_windows_move_with_the_shifts(tmp_path: Path) -> None:
    src = load_scenario(SCEN / "rutland-tasking.toml")
    now = datetime(2026, 12, 6, 12, 30, tzinfo=UTC)
    c, info = nn.night_now_content(src, now)
    moved = info["moved_by_min"]
    for old, new in zip(src.tasks, c["tasks"], strict=True):
        assert (nn._minute_of_day(new["window"].split("-")[0]) - old.window[0].hour * 60 - old.window[0].minute) \
            % 1440 == moved
    scenario_from_dict(c, base_dir=tmp_path)  # still a valid scenario


def test_refused_one_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="programme"):
        nn.night_now_content(load_scenario(SCEN / "rutland-programme.toml"), datetime.now(UTC))
    s = load_scenario(SCEN / "rutland-night.toml")
    late = s.replace(units=[{**s.units[0].model_dump(mode="json", exclude_none=True)},
                            {**s.units[1].model_dump(mode="json", exclude_none=True), "shift": "23:30-06:00"}])
    with pytest.raises(ValueError, match="after midnight"):  # 22:50 + 90 min crosses 24:00
        nn.night_now_content(late, datetime(2026, 12, 6, 23, 20, tzinfo=UTC))


def _unit() -> dict:
    t0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

    def at(m: float) -> str:
        return (t0 + timedelta(minutes=m)).isoformat()

    return {"id": "U1", "start": {"name": "A", "lon": 0.0, "lat": 52.0}, "end": {"name": "A", "lon": 0.0, "lat": 52.0},
            "shift_start": at(0), "leave": at(10),
            "stops": [{"arrive": at(20), "depart": at(35), "lon": 0.01, "lat": 52.0, "travel_s": 600,
                       "path_lonlat": [[0.0, 52.0], [0.005, 52.0], [0.01, 52.0]]}],
            "return_arrive": at(60), "return_travel_s": 600, "return_path_lonlat": [[0.01, 52.0], [0.0, 52.0]]}


def test_where_follows_the_route_in_time() -> None:
    legs = nn.track_of(_unit())
    t0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC).timestamp()
    home = (9.0, 9.0)
    assert nn.where(legs, t0 + 5 * 60, home) == (0.0, 52.0)  # at the station before leaving
    lon, lat = nn.where(legs, t0 + 15 * 60, home)  # half way along the first leg
    assert lon == pytest.approx(0.005) and lat == pytest.approx(52.0)
    assert nn.where(legs, t0 + 30 * 60, home) == (0.01, 52.0)  # on scene
    assert nn.where(legs, t0 + 40 * 60, home) == (0.01, 52.0)  # waits, leaves to be home at return_arrive
    assert nn.where(legs, t0 + 45 * 60, home)[0] == pytest.approx(0.01)  # 60 - 10 min travel = leaves at 50
    assert nn.where(legs, t0 + 55 * 60, home)[0] == pytest.approx(0.005)
    assert nn.where(legs, t0 + 90 * 60, home) == (0.0, 52.0)  # home after the route
    assert nn.where([], t0, home) == home  # not on the plan: near its station


def test_a_committed_unit_drives_to_its_call_and_noise_is_metres() -> None:
    import random

    call = nn.Call(0.0, (0.0, 52.0), (0.01, 52.0))  # 685 m east
    assert call.at(0.0) == (0.0, 52.0) and call.at(3600.0) == (0.01, 52.0)
    assert 0.0 < call.at(20.0)[0] < 0.01
    rng = random.Random(0)
    pts = [nn.with_noise((0.0, 52.0), rng) for _ in range(200)]
    off_m = [max(abs(lon) * 111_320 * 0.6157, abs(lat - 52.0) * 111_320) for lon, lat in pts]
    assert max(off_m) < 6 * nn.GPS_SIGMA_M and sum(off_m) / len(off_m) > 1.0


def test_a_plan_json_unit_is_at_each_stop_while_on_scene(plan) -> None:  # noqa: ANN001  (conftest's Plan)
    d = plan.to_dict()
    for u in d["units"]:
        legs = nn.track_of(u)
        for s in u["stops"]:
            a, b = (datetime.fromisoformat(s[k]).timestamp() for k in ("arrive", "depart"))
            mid = (a + b) / 2
            assert nn.where(legs, mid, (0.0, 0.0)) == (s["lon"], s["lat"])
        times = [leg.t0_s for leg in legs]
        assert times == sorted(times)


def _live_main() -> object:
    """``benchmarks/live.py``'s main (loaded by path: ``tests/live`` is a package of the same name)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("live_bench", SCEN.parent / "benchmarks" / "live.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


def test_night_now_is_refused_in_one_line_before_any_server(capsys: pytest.CaptureFixture[str]) -> None:
    main = _live_main()
    with pytest.raises(SystemExit) as exc:
        main(["--night-now"])  # the replay takes no --night-now
    assert exc.value.code == 2
    assert main(["--http", "--night-now", "--scenario", str(SCEN / "rutland-programme.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "programme" in err[-1]


def test_a_scenario_without_a_night_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import tomli_w

    c, _ = nn.night_now_content(load_scenario(SCEN / "rutland-night.toml"), datetime.now(UTC))
    del c["night"], c["as_of"]
    (tmp_path / "s.toml").write_text(tomli_w.dumps(c))
    assert _live_main()(["--http", "--scenario", str(tmp_path / "s.toml")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "neither night nor as_of" in err[0]

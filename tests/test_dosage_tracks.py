"""Bad GPS tracks: every point is used or set aside with a reason; a bad file never stops the others."""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_dosage import real_programme, spot_centre_bng
from typer.testing import CliRunner

from patrol_planner.cli import app
from patrol_planner.dosage import REASONS, DosageParams, measure_dosage, measure_pings, read_tracks
from patrol_planner.dosage.clean import longest_ordered_run
from patrol_planner.errors import DosageError
from patrol_planner.geo import BNG, to_lonlat
from patrol_planner.programme import read_programme

T0 = "2025-03-28T16:00:00Z"  # inside the first programme day's patrol window


@pytest.fixture(scope="module")
def prog(tmp_path_factory):
    return read_programme(real_programme(tmp_path_factory.mktemp("tracks") / "prog", days=3, n_spots=4, seed=1))


def _ll(prog, dxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of offsets [m] from spot S01's centre."""
    cx, cy = spot_centre_bng(prog.folder, "S01")
    return to_lonlat(cx + dxy[:, 0], cy + dxy[:, 1], BNG)


def _stay(prog, n: int = 60, step_s: float = 5.0, t0: str = T0) -> pd.DataFrame:
    """A unit standing near S01's centre, one ping every ``step_s`` [s]."""
    rng = np.random.default_rng(0)
    lon, lat = _ll(prog, rng.normal(0, 5, (n, 2)))
    t = pd.Timestamp(t0).timestamp() + step_s * np.arange(n)
    return pd.DataFrame({"unit": "A", "t_s": t, "lon": lon, "lat": lat})


def _gpx(path: Path, pts: list[tuple[str, str, str | None]], *, ns: str = "http://www.topografix.com/GPX/1/1",
         name: str | None = None, segs: int = 1) -> Path:
    """GPX with (lat, lon, time-or-None) text triples split into ``segs`` segments."""
    body = []
    for chunk in np.array_split(np.arange(len(pts)), segs):
        body.append("<trkseg>")
        for i in chunk:
            la, lo, t = pts[i]
            body.append(f'<trkpt lat="{la}" lon="{lo}">' + (f"<time>{t}</time>" if t else "") + "</trkpt>")
        body.append("</trkseg>")
    nm = f"<name>{name}</name>" if name else ""
    path.write_text(f'<?xml version="1.0"?>\n<gpx version="1.1" xmlns="{ns}"><trk>{nm}{"".join(body)}</trk></gpx>\n')
    return path


def _pts(frame: pd.DataFrame, fmt: str = "%Y-%m-%dT%H:%M:%SZ") -> list[tuple[str, str, str | None]]:
    times = pd.to_datetime(frame["t_s"], unit="s", utc=True).dt.strftime(fmt)
    return [(f"{a:.7f}", f"{b:.7f}", t) for a, b, t in zip(frame["lat"], frame["lon"], times, strict=True)]


def _reasons(res) -> dict[str, int]:
    return res.summary["quarantine_reasons"]


def test_every_reason_is_documented():
    """Each reason code has a meaning (the docs and the quarantine CSV rely on the table)."""
    assert all(isinstance(v, str) and v for v in REASONS.values())


def test_points_without_time_and_unparsable_values(prog, tmp_path):
    """A <trkpt> without <time> is no_time, a garbled time bad_time, a garbled coordinate bad_coordinate;
    the rest of the track is still used."""
    pts = _pts(_stay(prog))
    pts[3] = (pts[3][0], pts[3][1], None)
    pts[5] = (pts[5][0], pts[5][1], "yesterday")
    pts[7] = ("fifty-two", pts[7][1], pts[7][2])
    pts[9] = ("0", "0", pts[9][2])
    res = measure_dosage(prog, [_gpx(tmp_path / "A.gpx", pts)])
    assert _reasons(res) == {"no_time": 1, "bad_time": 1, "bad_coordinate": 2}
    assert res.summary["points_used"] == 56
    q = res.quarantine.set_index("point")
    assert q.loc[3, "reason"] == "no_time" and q.loc[5, "time"] == "yesterday"


def test_track_with_no_times_at_all_is_not_usable(prog, tmp_path):
    """A route saved as a track without any times (a planned route, not a patrol) has nothing to measure:
    alone it is a DosageError naming the file; beside a good file its points are quarantined as no_time."""
    pts = [(a, b, None) for a, b, _ in _pts(_stay(prog))]
    bad = _gpx(tmp_path / "route.gpx", pts)
    with pytest.raises(DosageError, match="no usable GPS point"):
        measure_dosage(prog, [bad])
    good = _gpx(tmp_path / "B.gpx", _pts(_stay(prog)))
    res = measure_dosage(prog, [bad, good])
    assert _reasons(res) == {"no_time": 60}


def test_out_of_order_costs_only_the_misplaced_point(prog):
    """One point stamped an hour late is out_of_order; the points after it are kept (longest ordered run)."""
    df = _stay(prog)
    df.loc[10, "t_s"] += 3600
    res = measure_pings(prog, df)
    assert _reasons(res) == {"out_of_order": 1}
    assert res.quarantine["point"].tolist() == [10]
    assert longest_ordered_run(np.array([1, 2, 100, 3, 4, 5.0])).tolist() == [True, True, False, True, True, True]


def test_duplicate_times_keep_the_first(prog):
    """Two points of one unit at the same time: the second is duplicate_time."""
    df = _stay(prog)
    df = pd.concat([df.iloc[:20], df.iloc[[19]].assign(lon=df.loc[19, "lon"] + 1e-4), df.iloc[20:]],
                   ignore_index=True)
    res = measure_pings(prog, df)
    assert _reasons(res) == {"duplicate_time": 1}
    assert res.quarantine["point"].tolist() == [20]


def test_spike_is_dropped_and_jump_breaks_the_track(prog):
    """A single point 5 km away for one ping is too_fast and dropped; a unit that then teleports 8 km and stays
    there gets a speed_jump (kept points, interval not counted)."""
    df = _stay(prog, n=120)
    lon, lat = _ll(prog, np.array([[5000.0, 0.0], [8000.0, 0.0]]))
    df.loc[30, ["lon", "lat"]] = lon[0], lat[0]
    df.loc[80:, ["lon", "lat"]] = lon[1], lat[1]
    res = measure_pings(prog, df)
    assert _reasons(res) == {"too_fast": 1, "speed_jump": 1}
    assert res.summary["points_used"] == 119 and res.summary["intervals_not_counted_speed_jump"] == 1
    jump = res.quarantine[res.quarantine["reason"] == "speed_jump"]
    assert jump["point"].tolist() == [80] and "km/h" in jump["detail"].iloc[0]


def test_far_outside_the_programme_area(prog):
    """A point 300 km away (Scotland) is outside_area; a stricter margin takes nearer points too."""
    df = _stay(prog)
    df.loc[12, ["lon", "lat"]] = -3.19, 55.95
    res = measure_pings(prog, df)
    assert _reasons(res) == {"outside_area": 1}
    lon, lat = _ll(prog, np.array([[3000.0, 0.0]]))
    df2 = _stay(prog)
    df2.loc[[0, 1], ["lon", "lat"]] = lon[0], lat[0]
    assert _reasons(measure_pings(prog, df2, params=DosageParams(area_margin_km=1.0))) == {"outside_area": 2}


def test_naive_times_read_in_programme_timezone(prog, tmp_path):
    """GPX times without a zone are local programme time (BST after 30 March 2025), counted and said in notes;
    a naive time in the repeated hour of a clock change is ambiguous_time."""
    df = _stay(prog, n=10, t0="2025-03-30T15:00:00Z")  # 16:00 BST
    g = _gpx(tmp_path / "A.gpx", _pts(df.assign(t_s=df["t_s"] + 3600), fmt="%Y-%m-%dT%H:%M:%S"))
    reads = read_tracks([g], prog.tz)
    assert reads[0].naive_points == 10
    assert reads[0].pings["t_s"].iloc[0] == pd.Timestamp("2025-03-30T15:00:00Z").timestamp()
    res = measure_dosage(prog, [g])
    assert res.summary["naive_time_points"] == 10 and "Europe/London" in res.notes[0]
    amb = _gpx(tmp_path / "B.gpx", [("52.6", "-1.1", "2025-10-26T01:30:00"), ("52.6", "-1.1", "2025-10-26T02:30:00")])
    assert read_tracks([amb], prog.tz)[0].quarantine["reason"].tolist() == ["ambiguous_time"]


def test_gpx_versions_segments_and_unit_names(prog, tmp_path):
    """GPX 1.0 and 1.1 read alike; a segment break stops an interval bridging the two segments; the unit is
    the file name, or the <trk><name> with unit_from='name'."""
    pts = _pts(_stay(prog, n=40, step_s=10))
    a = _gpx(tmp_path / "radio7.gpx", pts, ns="http://www.topografix.com/GPX/1/0", name="PC 1234")
    b = _gpx(tmp_path / "radio8.gpx", pts, segs=2)
    ra, rb = read_tracks([a, b], prog.tz)
    assert ra.pings["unit"].unique().tolist() == ["radio7"] and rb.pings["seg"].nunique() == 2
    assert read_tracks([a], prog.tz, unit_from="name")[0].pings["unit"].iloc[0] == "PC 1234"
    day = prog.dates[0].isoformat()
    one = measure_dosage(prog, [a]).table.set_index(["date", "spot_id"]).loc[(day, "S01"), "minutes_present"]
    two = measure_dosage(prog, [b]).table.set_index(["date", "spot_id"]).loc[(day, "S01"), "minutes_present"]
    assert one == pytest.approx(39 * 10 / 60, abs=0.01) and two == pytest.approx(38 * 10 / 60, abs=0.01)


def test_unusable_files_get_one_line_each(prog, tmp_path):
    """Empty, truncated, binary, non-GPX XML and a CSV without the needed columns each get one error line
    and an unusable_file row; the good file is still measured."""
    files = {
        "empty.gpx": b"",
        "cut.gpx": b'<?xml version="1.0"?><gpx xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg><trkpt lat="5',
        "blob.gpx": bytes(range(256)),
        "doc.kml": b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>',
        "odd.csv": b"device,when,x\nA,2025-03-28T16:00:00Z,1\n",
    }
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    good = _gpx(tmp_path / "good.gpx", _pts(_stay(prog)))
    res = measure_dosage(prog, [*paths, good])
    errors = {f["file"]: f["error"] for f in res.files if f["error"]}
    assert set(errors) == set(files)
    assert all("\n" not in e for e in errors.values())
    assert "truncated" in errors["cut.gpx"] and "not a GPX" in errors["doc.kml"] and "binary" in errors["blob.gpx"]
    assert res.summary["files_unusable"] == 5 and _reasons(res) == {"unusable_file": 5}
    assert res.summary["points_used"] == 60


def test_csv_mappings_bng_and_custom(prog, tmp_path):
    """CSV pings in lon/lat and in BNG easting/northing are detected from the header; a TOML mapping reads a
    custom layout with epoch seconds; both give the same minutes as the GPX of the same pings."""
    df = _stay(prog)
    iso = pd.to_datetime(df["t_s"], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    pd.DataFrame({"unit": "A", "time": iso, "lon": df["lon"], "lat": df["lat"]}).to_csv(tmp_path / "a.csv", index=False)
    from patrol_planner.geo import to_xy

    x, y = to_xy(df["lon"].to_numpy(), df["lat"].to_numpy(), BNG)
    pd.DataFrame({"unit": "A", "time": iso, "easting": x, "northing": y}).to_csv(tmp_path / "b.csv", index=False)
    pd.DataFrame({"callsign": "A", "epoch": df["t_s"], "Long": df["lon"], "Lat": df["lat"]}).to_csv(
        tmp_path / "c.csv", index=False)
    (tmp_path / "m.toml").write_text('name = "avl"\nunit_col = "callsign"\ntime_col = "epoch"\n'
                                     'time_format = "epoch_s"\nlon_col = "Long"\nlat_col = "Lat"\n')
    day = prog.dates[0].isoformat()

    def minutes(files, mapping=None):
        res = measure_dosage(prog, files, mapping=mapping)
        return res.table.set_index(["date", "spot_id"]).loc[(day, "S01"), "minutes_present"]

    ref = minutes([_gpx(tmp_path / "A.gpx", _pts(df))])
    assert ref == pytest.approx(59 * 5 / 60, abs=0.01)
    assert minutes([tmp_path / "a.csv"]) == ref and minutes([tmp_path / "b.csv"]) == ref
    assert minutes([tmp_path / "c.csv"], mapping=tmp_path / "m.toml") == ref
    err = measure_dosage(prog, [tmp_path / "c.csv", tmp_path / "a.csv"]).files[0]["error"]
    assert "give --mapping" in err


def test_cli_writes_outputs_and_exits_nonzero_only_when_nothing_is_usable(prog, tmp_path):
    """The CLI writes dosage.csv (required columns first), dosage.json with provenance, quarantine.csv and an
    offline compliance page; with only unusable files it prints one line and exits with DosageError's code."""
    good = _gpx(tmp_path / "A.gpx", _pts(_stay(prog)))
    bad = tmp_path / "cut.gpx"
    bad.write_text('<gpx xmlns="http://www.topografix.com/GPX/1/1"><trk>')
    runner = CliRunner()
    out = tmp_path / "out"
    r = runner.invoke(app, ["dosage", str(prog.folder), "--tracks", str(good), "--tracks", str(bad),
                            "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    for k in ("spot_days", "treated_days_patrolled", "treated_minutes_planned", "treated_minutes_present",
              "control_days_with_presence", "control_minutes_present"):
        assert k in summary
    header = (out / "dosage.csv").read_text().splitlines()[0].split(",")
    assert header[:5] == ["date", "spot_id", "treated", "minutes_present", "visits"] and "unit_minutes" in header
    rec = json.loads((out / "dosage.json").read_text())
    assert {i["file"] for i in rec["provenance"]["inputs"]} >= {"A.gpx", "schedule.csv", "programme.json"}
    html = unescape((out / "compliance.html").read_text())
    assert "default-src 'none'" in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html and "<script" not in html
    assert "unusable_file" in (out / "quarantine.csv").read_text()
    r2 = runner.invoke(app, ["dosage", str(prog.folder), "--tracks", str(bad), "--out", str(tmp_path / "o2")])
    assert r2.exit_code == DosageError.exit_code
    assert "Traceback" not in r2.output and r2.output.strip().startswith("error:")


def test_csv_read_in_chunks_is_the_same_as_whole(prog, tmp_path):
    """Reading a CSV in chunks (to bound memory) gives the same pings, units, line numbers and quarantine as
    reading it whole, also when a bad coordinate forces the text fallback."""
    from patrol_planner.dosage.pingcsv import read_ping_csv

    df = pd.concat([_stay(prog).assign(unit=u) for u in ("A", "B")], ignore_index=True)
    iso = pd.to_datetime(df["t_s"], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame = pd.DataFrame({"unit": df["unit"], "time": iso, "lon": df["lon"].astype(str), "lat": df["lat"]})
    frame.loc[70, "lon"] = "n/a"
    frame.loc[75, "time"] = ""
    frame.to_csv(tmp_path / "p.csv", index=False)
    whole = read_ping_csv(tmp_path / "p.csv", prog.tz)
    parts = read_ping_csv(tmp_path / "p.csv", prog.tz, chunk_rows=7)
    pd.testing.assert_frame_equal(whole.pings.astype({"unit": str}), parts.pings.astype({"unit": str}))
    pd.testing.assert_frame_equal(whole.quarantine, parts.quarantine)
    # CSV line numbers (header is line 1)
    assert dict(zip(whole.quarantine["point"], whole.quarantine["reason"], strict=True)) == {
        72: "bad_coordinate", 77: "no_time"}


def test_csv_row_without_unit(prog, tmp_path):
    """A CSV ping with an empty unit cannot be put on any track: no_unit, the other rows are used."""
    df = _stay(prog, n=10)
    iso = pd.to_datetime(df["t_s"], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame = pd.DataFrame({"unit": df["unit"], "time": iso, "lon": df["lon"], "lat": df["lat"]})
    frame.loc[4, "unit"] = ""
    frame.to_csv(tmp_path / "p.csv", index=False)
    res = measure_dosage(prog, [tmp_path / "p.csv"])
    assert _reasons(res) == {"no_unit": 1} and res.quarantine["point"].tolist() == [6]
    assert res.summary["points_used"] == 9


def test_interleaved_csv_units_and_a_unit_in_several_files(prog, tmp_path):
    """Rows of several units interleaved in one CSV are still checked for order per unit (one point stamped
    late is out_of_order); a unit's day split over two files, given in reverse order, is one time line with
    no interval across the files."""
    a, b = _stay(prog), _stay(prog).assign(unit="B")
    a.loc[20, "t_s"] += 3600
    mixed = pd.concat([a, b]).sort_index(kind="stable").reset_index(drop=True)  # A, B, A, B, ...
    iso = pd.to_datetime(mixed["t_s"], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    pd.DataFrame({"unit": mixed["unit"], "time": iso, "lon": mixed["lon"], "lat": mixed["lat"]}).to_csv(
        tmp_path / "mixed.csv", index=False)
    res = measure_dosage(prog, [tmp_path / "mixed.csv"])
    assert _reasons(res) == {"out_of_order": 1}
    assert res.quarantine[["unit", "point"]].values.tolist() == [["A", 2 + 2 * 20]]
    kept = a.drop(index=20)
    first = _gpx(tmp_path / "first.gpx", _pts(kept.iloc[:30]), name="PC1")
    second = _gpx(tmp_path / "second.gpx", _pts(kept.iloc[30:]), name="PC1")
    got = measure_dosage(prog, [second, first], params=DosageParams(unit_from="name"))
    row = got.table.set_index(["date", "spot_id"]).loc[(prog.dates[0].isoformat(), "S01")]
    assert _reasons(got) == {} and row["units"] == 1
    # 295 s from first to last point, less the 5 s between the files
    assert row["minutes_present"] == pytest.approx(290 / 60, abs=0.01)


def test_gpx_metadata_waypoints_and_extensions_are_not_pings(prog, tmp_path):
    """Only <trkpt> are pings: the <metadata> time, a <wpt> with a time and a <rte> are ignored, and
    extension elements inside a <trkpt> (speed, heart rate) do not disturb its time."""
    pts = _pts(_stay(prog, n=5))
    trk = "".join(f'<trkpt lat="{a}" lon="{b}"><ele>60</ele><time>{t}</time><extensions><x:speed>1.2</x:speed>'
                  f"<x:time>garbage</x:time></extensions></trkpt>" for a, b, t in pts)
    text = ('<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1" '
            'xmlns:x="urn:example"><metadata><time>2020-01-01T00:00:00Z</time></metadata>'
            f'<wpt lat="{pts[0][0]}" lon="{pts[0][1]}"><time>2020-01-01T00:00:00Z</time></wpt>'
            f'<rte><rtept lat="{pts[0][0]}" lon="{pts[0][1]}"/></rte><trk><trkseg>{trk}</trkseg></trk></gpx>')
    (tmp_path / "A.gpx").write_text(text)
    read = read_tracks([tmp_path / "A.gpx"], prog.tz)[0]
    assert read.error is None and len(read.pings) == 5 and read.quarantine.empty
    assert read.pings["t_s"].min() == pd.Timestamp(T0).timestamp()


def test_cli_takes_a_folder_of_tracks_and_rejects_bad_parameters(prog, tmp_path):
    """--tracks FOLDER reads its .gpx/.csv files; an impossible parameter is a one-line DosageError."""
    folder = tmp_path / "radios"
    folder.mkdir()
    _gpx(folder / "A.gpx", _pts(_stay(prog)))
    (folder / "readme.txt").write_text("not a track")
    runner = CliRunner()
    r = runner.invoke(app, ["dosage", str(prog.folder), "--tracks", str(folder), "--out", str(tmp_path / "o"),
                            "--json", "--no-page"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout.strip().splitlines()[-1])["files"] == 1
    assert not (tmp_path / "o" / "compliance.html").exists()
    r2 = runner.invoke(app, ["dosage", str(prog.folder), "--tracks", str(folder), "--out", str(tmp_path / "o2"),
                             "--tolerance-m", "-5"])
    assert r2.exit_code == DosageError.exit_code and "tolerance_m" in r2.output and "Traceback" not in r2.output


def test_all_points_set_aside_is_an_error_not_an_empty_result(prog, tmp_path):
    """Tracks that are all far away (another county) give a DosageError naming the reason, not a table of
    zeros that reads like 'no patrols'; per-file counts include points set aside by the track checks."""
    df = _stay(prog)
    far = df.assign(lon=df["lon"] - 3.0)
    with pytest.raises(DosageError, match="outside_area"):
        measure_pings(prog, far)
    g1 = _gpx(tmp_path / "far.gpx", _pts(far))
    g2 = _gpx(tmp_path / "near.gpx", _pts(df))
    files = {f["file"]: f for f in measure_dosage(prog, [g1, g2]).files}
    assert files["far.gpx"]["points_used"] == 0 and files["far.gpx"]["points_quarantined"] == 60
    assert files["near.gpx"]["points_used"] == 60


@given(data=st.binary(max_size=400), head=st.sampled_from([b"", b"<?xml version='1.0'?><gpx>", b"unit,time,lon,lat\n"]))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_bytes_never_raise(prog, tmp_path, data, head):
    """Whatever bytes a track file holds, reading it gives pings, quarantined points or a one-line file error,
    never an exception."""
    path = tmp_path / "x.gpx"
    path.write_bytes(head + data)
    read = read_tracks([path], prog.tz)[0]
    assert read.error is None or "\n" not in read.error
    assert len(read.pings) + len(read.quarantine) > 0 or read.error is not None


def test_cli_tracks_several_files_a_glob_a_folder_or_repeated(prog, tmp_path):
    """--tracks takes several files after one flag (as the README writes it), a shell glob's expansion (run
    through a real shell), a quoted glob, a folder and a repeated flag; each reads the same two files."""
    import shlex
    import subprocess
    import sys

    radios = tmp_path / "radios"
    radios.mkdir()
    a = _gpx(radios / "A.gpx", _pts(_stay(prog)))
    b = _gpx(radios / "B.gpx", _pts(_stay(prog, t0="2025-03-28T17:00:00Z")))
    base = ["dosage", str(prog.folder), "--no-page", "--json"]
    forms = {
        "several": ["--tracks", str(a), str(b)],
        "quoted glob": ["--tracks", str(radios / "*.gpx")],
        "folder": ["--tracks", str(radios)],
        "repeated": ["--tracks", str(a), "--tracks", str(b)],
    }
    runner = CliRunner()
    for name, args in forms.items():
        r = runner.invoke(app, [*base, *args, "--out", str(tmp_path / name)])
        assert r.exit_code == 0, (name, r.output)
        assert json.loads(r.stdout.strip().splitlines()[-1])["files"] == 2, name
    cmd = [sys.executable, "-m", "patrol_planner", *base, "--out", str(tmp_path / "shell"), "--tracks"]
    shell = " ".join(shlex.quote(c) for c in cmd) + f" {shlex.quote(str(radios))}/*.gpx"
    r = subprocess.run(shell, shell=True, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["files"] == 2
    same = {(tmp_path / n / "dosage.csv").read_text() for n in [*forms, "shell"]}
    assert len(same) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    r = runner.invoke(app, [*base, "--tracks", str(empty), "--out", str(tmp_path / "e")])
    assert r.exit_code == DosageError.exit_code and "holds no .gpx or .csv file" in r.stderr

"""Programme records: imported from a real programme folder through the package's reader, each role's access
to the pages, amendments recorded through the package's add_amendment with who/when/why and audited, a
duplicate and a contradiction refused with the package's own messages."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from patrol_planner.programme import add_amendment, write_programme

from .conftest import ROLES

DESIGN = {"start_date": "2025-03-01", "days": 3, "timezone": "Europe/London", "day_starts_at": "06:00",
          "patrol_window": {"start": "15:00", "end": "00:00"}, "spot_size_m": 150,
          "dose": {"visits": 1, "minutes": 15}, "seed": 7}
VIEWERS = {"analyst", "tasking", "supervisor", "auditor"}
AMENDERS = {"analyst", "tasking"}


def _spots() -> dict:
    def square(x0: float, y0: float) -> dict:
        d = 0.001
        return {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d],
                                                    [x0, y0]]]}
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square(-0.7, 51.5), "properties": {"spot_id": "S01", "place": "Mill Lane"}},
        {"type": "Feature", "geometry": square(-0.71, 51.5), "properties": {"spot_id": "S02", "place": "High St"}},
    ]}


def _schedule() -> pd.DataFrame:
    rows = []
    for i in range(3):
        d = date(2025, 3, 1 + i)
        for s, t in (("S01", i % 2), ("S02", 1 - i % 2)):  # S02 patrolled on days 1 and 3, S01 on day 2
            rows.append({"date": d, "spot_id": s, "treated": t, "p_treated": 0.5, "visits": t, "minutes": 15 * t})
    return pd.DataFrame(rows)


@pytest.fixture
def folder(tmp_path: Any) -> Any:
    f = write_programme(tmp_path / "spring", design=DESIGN, schedule=_schedule(), spots_geojson=_spots())
    add_amendment(f, action="cancel_spot_day", day=date(2025, 3, 1), spot_id="S02", reason="=flooded road")
    return f


@pytest.fixture
def rec(roster: dict[str, Any], folder: Any) -> Any:
    from patrol_planner.web.programmes import import_programme

    return import_programme(folder)


def test_import_keeps_files_and_amendments(rec: Any, folder: Any) -> None:
    """The issued files are kept byte for byte; the folder's amendment comes along (no 'by': imported)."""
    from patrol_planner.web import programmes
    from patrol_planner.web.models import AuditEvent

    assert rec.schedule_csv.encode() == (folder / "schedule.csv").read_bytes()
    [a] = rec.amendments.all()
    assert (a.action, a.date, a.spot_id, a.reason, a.by) == ("cancel_spot_day", date(2025, 3, 1), "S02",
                                                              "=flooded road", None)
    prog = programmes.programme(rec)  # read back by the package, hashes checked
    assert prog.delivered_schedule()["treated"].sum() == 2
    assert AuditEvent.objects.filter(action="programme_imported", target=f"programme:{rec.pk}").exists()


def test_import_refuses_a_second_programme_of_that_name(rec: Any, folder: Any) -> None:
    from patrol_planner.web.programmes import import_programme
    from patrol_planner.web.services import ActionRefused

    with pytest.raises(ActionRefused, match="stored already .the same schedule"):
        import_programme(folder)


def test_import_refuses_a_hand_edited_schedule(roster: dict[str, Any], folder: Any) -> None:
    from patrol_planner.web.programmes import import_programme
    from patrol_planner.web.services import ActionRefused

    p = folder / "schedule.csv"
    p.write_text(p.read_text().replace(",1,0.5,1,15", ",0,0.5,0,0", 1))
    with pytest.raises(ActionRefused, match="hash mismatch"):
        import_programme(folder)


def test_the_stored_schedule_is_written_once(rec: Any) -> None:
    from patrol_planner.web.models import ImmutableError

    rec.schedule_csv = rec.schedule_csv.replace(",1,", ",0,")
    with pytest.raises(ImmutableError):
        rec.save()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_on_the_programme_pages(client: Any, roster: dict[str, Any], rec: Any, role: str) -> None:
    client.force_login(roster["users"][role])
    for url in ("/programmes/", f"/programmes/{rec.pk}/"):
        r = client.get(url)
        assert r.status_code == (200 if role in VIEWERS else 403), (role, url)
    r = client.post(f"/programmes/{rec.pk}/amend/", {"action": "cancel_day", "date": "2025-03-02",
                                                     "reason": "bank holiday"})
    assert r.status_code == (302 if role in AMENDERS else 403), role
    n = rec.amendments.count()
    assert n == (2 if role in AMENDERS else 1), role
    page = client.get(f"/programmes/{rec.pk}/")
    if role in VIEWERS:
        body = page.content.decode()
        assert ("Record an amendment" in body) == (role in AMENDERS), role
        assert "No data" in body  # compliance: no dosage records, said plainly


def test_anonymous_goes_to_login(client: Any, rec: Any) -> None:
    assert client.get(f"/programmes/{rec.pk}/").status_code == 302
    assert client.post(f"/programmes/{rec.pk}/amend/", {"action": "cancel_day"}).status_code == 302
    assert rec.amendments.count() == 1


def test_amendment_recorded_with_who_when_why_and_audited(client: Any, roster: dict[str, Any], rec: Any) -> None:
    from patrol_planner.web import audit, programmes
    from patrol_planner.web.models import AuditEvent

    client.force_login(roster["users"]["tasking"])
    r = client.post(f"/programmes/{rec.pk}/amend/", {"action": "drop_spot", "spot_id": "S01",
                                                     "date": "2025-03-02", "reason": "street closed for works"},
                    follow=True)
    assert "Amendment 2 recorded." in r.content.decode()
    a = rec.amendments.get(seq=2)
    assert (a.by.username, a.action, a.spot_id, a.date, a.reason) == ("tasking", "drop_spot", "S01",
                                                                       date(2025, 3, 2), "street closed for works")
    from datetime import datetime

    when = datetime.fromisoformat(a.recorded_at)  # the package's stamp, in the programme's zone
    assert when.tzinfo is not None and abs((a.at - when).total_seconds()) < 60
    ev = AuditEvent.objects.get(action="programme_amended")
    assert (ev.actor, ev.target, ev.detail["action"], ev.detail["reason"]) == (
        "tasking", f"programme:{rec.pk}", "drop_spot", "street closed for works")
    assert audit.verify().ok
    # the package sees the amendment: S01's patrol on 2 March is no longer delivered; the issued schedule is
    d = programmes.programme(rec).delivered_schedule().set_index(["date", "spot_id"])
    assert d.loc[(date(2025, 3, 2), "S01"), "assigned"] == 1 and d.loc[(date(2025, 3, 2), "S01"), "treated"] == 0
    page = client.get(f"/programmes/{rec.pk}/").content.decode()
    assert "street closed for works" in page and "tasking" in page


def test_duplicate_and_contradiction_refused_with_the_package_messages(client: Any, roster: dict[str, Any],
                                                                       rec: Any) -> None:
    from patrol_planner.web.models import AuditEvent

    client.force_login(roster["users"]["analyst"])
    url = f"/programmes/{rec.pk}/amend/"
    ok = {"action": "cancel_day", "date": "2025-03-02", "reason": "major incident"}
    assert client.post(url, ok).status_code == 302
    page = client.post(url, {**ok, "reason": "again"}, follow=True).content.decode()
    assert "was already recorded at" in page and "an amendment is recorded once" in page
    # a control spot-day cannot be cancelled (S01 is a control on 1 March)
    page = client.post(url, {"action": "cancel_spot_day", "date": "2025-03-01", "spot_id": "S01",
                             "reason": "x"}, follow=True).content.decode()
    assert "is a control spot on 2025-03-01" in page
    # outside the programme, unknown spot, no reason
    for bad, msg in (({"date": "2025-04-01"}, "outside the programme"),
                     ({"action": "drop_spot", "spot_id": "S99", "date": ""}, "unknown spot"),
                     ({"date": "2025-03-03", "reason": " "}, "an amendment needs a reason"),
                     ({"date": "not-a-date"}, "is not a date")):
        page = client.post(url, {**ok, **bad}, follow=True).content.decode()
        assert msg in page, bad
    assert rec.amendments.count() == 2
    assert AuditEvent.objects.filter(action="programme_amended").count() == 1


def test_calendar_shows_the_package_grid(client: Any, roster: dict[str, Any], rec: Any) -> None:
    """Day 1: S01 control, S02's patrol cancelled by the imported amendment (x); day 2: S01 patrolled."""
    from patrol_planner.programme.calendar import calendar_grid
    from patrol_planner.web import programmes

    ids, rows = calendar_grid(programmes.programme(rec))
    assert ids == ["S01", "S02"] and [r["cells"] for r in rows] == [["", "x"], ["P", ""], ["", "P"]]
    client.force_login(roster["users"]["supervisor"])
    body = client.get(f"/programmes/{rec.pk}/").content.decode()
    assert '<td class="c x">x</td>' in body and '<td class="c p">P</td>' in body
    assert "Mill Lane" in body and "imported with the folder" in body


def test_cli_import(tmp_path: Any, folder: Any) -> None:
    """`patrol-planner programmes import` in a fresh SQLite data folder; a second import is one line, exit 2."""
    import os
    import subprocess
    import sys

    exe = [sys.executable, "-m", "patrol_planner"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("PATROL_PLANNER_DB", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    args = ["programmes", "import", str(folder), "--data-dir", str(tmp_path / "data")]
    r = subprocess.run(exe + args, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "spring (1 amendments)" in r.stdout
    r = subprocess.run(exe + args, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2 and "stored already" in r.stderr


# --- real programmes over Rutland's busiest cells (police.uk, Leicestershire Police, July-August 2022) ----------
REPO = Path(__file__).resolve().parents[2]
LEICS = sorted((REPO / "data" / "policeuk-leicestershire-2022").glob("*.csv"))
RUTLAND_BOX = (-0.8229, 52.5236, -0.4277, 52.7611)
NIGHT = date(2022, 9, 2)  # the bundled Rutland night the demo scenario plans


def _leics_programme(folder: Any, start: date, days: int, seed: int = 3) -> Any:
    """8 spots (the busiest 250 m cells of Rutland in July 2022), 4 patrolled a day (the evaluation tests' design)."""
    from benchlib.calibration import k_of_n, programme_design, top_cell_spots
    from patrol_planner.incidents import ingest

    inc = ingest(LEICS, aoi_lonlat=RUTLAND_BOX).incidents
    spots = top_cell_spots(inc, cell_m=250, n_spots=8, until="2022-08-01")
    ids = [f["properties"]["spot_id"] for f in spots["features"]]
    return write_programme(folder, design=programme_design(start, days, timezone="Europe/London", spot_size_m=250,
                                                           seed=seed),
                           schedule=k_of_n(ids, start, days, 4)(seed), spots_geojson=spots)


@pytest.fixture(scope="module")
def august(tmp_path_factory: Any) -> Any:
    """A 31-day programme in August 2022 (the months police.uk gives: July before, August during)."""
    return _leics_programme(tmp_path_factory.mktemp("aug") / "august", date(2022, 8, 1), 31)


@pytest.fixture(scope="module")
def tonight_folder(tmp_path_factory: Any) -> Any:
    """Five days from the Rutland night, so that the demo scenario's night is programme day 1."""
    return _leics_programme(tmp_path_factory.mktemp("sep") / "september", NIGHT, 5, seed=4)


def make_tracks(august: Any, folder: Any) -> dict[str, Any]:
    """Simulated GPS tracks (the dosage tests' simulator) of two units delivering the first 6 days of the
    ``august`` programme, with one treated spot-day skipped and 12 minutes spent in one control spot-day; one
    GPX file per unit in ``folder``."""
    from benchlib.dosage_sim import plan_unit_days, simulate_tracks, write_gpx
    from patrol_planner.programme import read_programme

    prog = read_programme(august)
    first6 = prog.schedule[prog.schedule["date"] < date(2022, 8, 7)]
    treated, control = first6[first6["treated"] == 1], first6[first6["treated"] == 0]
    skip = (treated.iloc[2]["date"], treated.iloc[2]["spot_id"])
    linger = (control.iloc[3]["date"], control.iloc[3]["spot_id"], 12.0)
    uds = [u for u in plan_unit_days(prog, units=2, seed=5, skip=[skip], linger=[linger])
           if u.start.date() < date(2022, 8, 7)]
    sim = simulate_tracks(prog, uds, seed=6, noise_m=5.0, ping_s=10.0, truth=False)
    files = [write_gpx(folder / f"{unit}.gpx", g, name=str(unit)) for unit, g in sim.pings.groupby("unit")]
    return {"files": files, "skip": skip, "linger": linger}


@pytest.fixture(scope="module")
def tracks(august: Any, tmp_path_factory: Any) -> dict[str, Any]:
    return make_tracks(august, tmp_path_factory.mktemp("tracks"))


def _upload(paths: list[Any]) -> list[Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return [SimpleUploadedFile(p.name, p.read_bytes()) for p in paths]


def _work() -> None:
    """The worker ``serve`` starts, run here until the queue is empty."""
    from django.core.management import call_command

    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0.1")


def test_tonight_shows_the_programme_days_treated_and_control_spots(client: Any, roster: dict[str, Any],
                                                                      tonight_folder: Any, august: Any,
                                                                      tmp_path: Any) -> None:
    """The demo night is day 1 of a stored programme: its patrol and control spots (the package's day_tasking,
    an amendment applied) are on the Tonight map's data and in its lists; a programme without that day is not."""
    import json

    from patrol_planner.programme import day_tasking
    from patrol_planner.web.programmes import import_programme

    import_programme(august)  # ends on 31 August: nothing tonight
    rec = import_programme(tonight_folder)
    client.force_login(roster["users"]["tasking"])
    treated = [s["spot_id"] for s in day_tasking(tonight_folder, NIGHT)["treated"]]
    r = client.post(f"/programmes/{rec.pk}/amend/", {"action": "cancel_spot_day", "date": NIGHT.isoformat(),
                                                     "spot_id": treated[0], "reason": "road closed"})
    assert r.status_code == 302 and rec.amendments.count() == 1
    import shutil

    copy = shutil.copytree(tonight_folder, tmp_path / "september")
    add_amendment(copy, action="cancel_spot_day", day=NIGHT, spot_id=treated[0], reason="road closed")
    expected = day_tasking(copy, NIGHT)  # the package's answer for the same record, from its folder
    assert len(expected["treated"]) == 3 and len(expected["control"]) == 4 and len(expected["cancelled"]) == 1

    page = client.get("/tonight/").content.decode()
    data = json.loads(page.split('<script id="map-data" type="application/json">')[1].split("</script>")[0])
    prog = [f for f in data["features"] if f["properties"]["kind"] == "programme"]
    got = {st: sorted(f["properties"]["spot"] for f in prog if f["properties"]["status"] == st)
           for st in ("treated", "control")}
    assert got == {st: sorted(s["spot_id"] for s in expected[st]) for st in ("treated", "control")}
    pos = {f["properties"]["spot"]: f["geometry"]["coordinates"] for f in prog}
    assert all(pos[s["spot_id"]] == [s["lon"], s["lat"]] for s in expected["treated"] + expected["control"])
    assert f"day {NIGHT.isoformat()}" in page and "Keep away: control spots (4)" in page
    assert "Patrol: treated spots (3)" in page and "road closed" in page and "august" not in page
    assert "web/map.js" in page and "web/leaflet/leaflet.js" in page

    api = client.get("/api/tonight/programme").json()
    assert api["date"] == NIGHT.isoformat() and [p["name"] for p in api["programmes"]] == ["september"]
    day = api["programmes"][0]
    want = json.loads(json.dumps(expected))
    for got_c, want_c in zip(day["cancelled"], want["cancelled"], strict=True):  # recorded at another second
        assert got_c["amendment"].pop("recorded_at") and want_c["amendment"].pop("recorded_at")
    assert {k: day[k] for k in want} == want


def test_tonight_without_a_programme_day_is_unchanged(client: Any, roster: dict[str, Any], august: Any) -> None:
    from patrol_planner.web.programmes import import_programme

    import_programme(august)
    client.force_login(roster["users"]["analyst"])
    page = client.get("/tonight/").content.decode()
    assert "Keep away" not in page
    assert client.get("/api/tonight/programme").json() == {"date": NIGHT.isoformat(), "programmes": []}


@pytest.mark.django_db(transaction=True)
def test_dosage_upload_is_measured_by_the_package_and_shown_as_compliance(client: Any, roster: dict[str, Any],
                                                                            august: Any, tracks: dict[str, Any],
                                                                            tmp_path: Any) -> None:
    """GPX tracks uploaded by an analyst are measured in a queued job by the package's dosage; the stored
    dosage.csv and summary are exactly the package's for the same files; the page shows compliance so far, a
    skipped patrol and the control spot-day a unit lingered in; audited; then an evaluation reads it."""
    from patrol_planner.dosage import measure_dosage, write_dosage
    from patrol_planner.programme import read_programme
    from patrol_planner.web import audit
    from patrol_planner.web.models import AuditEvent, DosageRecord, ProgrammeJob
    from patrol_planner.web.programmes import import_programme

    rec = import_programme(august)
    client.force_login(roster["users"]["analyst"])
    r = client.post(f"/programmes/{rec.pk}/tracks/", {"tracks": _upload(tracks["files"])})
    job = ProgrammeJob.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/programmes/jobs/{job.pk}/"
    assert job.state == "queued" and {i["name"] for i in job.inputs} == {"U1.gpx", "U2.gpx"}
    _work()
    job.refresh_from_db()
    assert job.state == "done", job.error
    d = DosageRecord.objects.get()
    assert job.dosage_id == d.pk and d.made_by.username == "analyst" and d.up_to is None  # the programme is over
    from patrol_planner.web.programme_work import run_dosage_job

    assert run_dosage_job(job.pk) == d.pk and DosageRecord.objects.count() == 1  # a rerun never stores twice

    prog = read_programme(august)
    res = measure_dosage(prog, tracks["files"])
    paths = write_dosage(res, tmp_path / "D", inputs=tracks["files"], prog=prog, page=False)
    assert d.dosage_csv == paths["dosage"].read_text()  # per spot per day, as the package writes it
    assert d.record["summary"] == json_round(res.summary)
    assert {f["sha256"] for f in d.record["provenance"]["inputs"] if f["file"].endswith(".gpx")} == {
        i["sha256"] for i in job.inputs}
    s = d.record["summary"]
    assert s["control_days_with_presence"] == 1 and s["control_minutes_present"] >= 10
    assert s["treated_days_patrolled"] == 23 and s["treated_days_dose_met"] >= 22  # 4 a day on 6 days, 1 skipped

    page = client.get(f"/programmes/{rec.pk}/").content.decode()
    assert "No data" not in page and 'id="compliance-summary"' in page
    assert f"{s['treated_days_dose_met']} / {s['treated_days']}" in page
    assert f"{s['control_days_with_presence']} / {s['control_days']}" in page and "dilutes the measured effect" in page
    api = client.get(f"/api/programmes/{rec.pk}/compliance").json()
    assert api["summary"] == s and api["dosage_id"] == d.pk and len(api["spots"]) == 8
    lingered = next(x for x in api["spots"] if x["spot_id"] == tracks["linger"][1])
    assert lingered["control_presence"] >= 1
    assert client.get(f"/api/programme-jobs/{job.pk}").json()["link"] == f"/programmes/{rec.pk}/#compliance"
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="programme_dosage")] == [
        "programme_dosage_requested", "programme_dosage_stored"]

    # the evaluation started now reads the stored dosage: delivery figures from the same minutes
    r = client.post(f"/programmes/{rec.pk}/evaluate/", {"crimes": _upload(LEICS), "use_dosage": "1"})
    _work()
    ev_job = ProgrammeJob.objects.get(kind="evaluation")
    assert ev_job.state == "done", ev_job.error
    ev = ev_job.evaluation
    assert ev.dosage_id == d.pk and ev.record["delivery"]["control_days_with_presence"] == 1
    assert any("Dosage was read for delivery figures only" in c for c in ev.record["caveats"])
    assert audit.verify().ok


def json_round(obj: Any) -> Any:
    import json

    return json.loads(json.dumps(obj, default=str))


@pytest.mark.django_db(transaction=True)
def test_a_bad_track_upload_fails_with_its_one_line_reason(client: Any, roster: dict[str, Any], august: Any,
                                                          tmp_path: Any) -> None:
    from patrol_planner.web.models import AuditEvent, DosageRecord, ProgrammeJob
    from patrol_planner.web.programmes import import_programme

    rec = import_programme(august)
    client.force_login(roster["users"]["analyst"])
    # refused before any job: the wrong kind of file, or none
    page = client.post(f"/programmes/{rec.pk}/tracks/", {"tracks": _upload([LEICS[0].parent / "SOURCE.md"])},
                       follow=True).content.decode()
    assert "SOURCE.md: only .gpx and .csv track files are read" in page
    page = client.post(f"/programmes/{rec.pk}/tracks/", {}, follow=True).content.decode()
    assert "choose at least one track file" in page
    assert not ProgrammeJob.objects.exists()
    # a file with the right name but no usable point: the package's one line, the job failed with it
    (tmp_path / "car.gpx").write_text("<gpx><trk><trkseg><trkpt lat='x' lon='y'/></trkseg></trk></gpx>")
    client.post(f"/programmes/{rec.pk}/tracks/", {"tracks": _upload([tmp_path / "car.gpx"])})
    _work()
    job = ProgrammeJob.objects.get()
    assert job.state == "failed" and job.error and "\n" not in job.error and "Traceback" not in job.error
    assert not DosageRecord.objects.exists()
    page = client.get(f"/programmes/{rec.pk}/").content.decode()
    from html import escape

    assert "No data" in page and escape(job.error) in page
    assert client.get(f"/api/programme-jobs/{job.pk}").json()["error"] == job.error
    assert AuditEvent.objects.filter(action="programme_dosage_failed", detail__job=job.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_evaluation_job_stores_the_package_result_for_auditors_not_officers(client: Any, roster: dict[str, Any],
                                                                             august: Any) -> None:
    """The evaluation of the August programme on the police.uk files is the evaluate command's call; stored as it
    gives it (method, estimate, interval, caveats) and shown on its page; the auditor reads it, the officer
    reaches none of it; the report download is audited."""
    from patrol_planner.evaluation.files import evaluate_files
    from patrol_planner.web.models import AuditEvent, EvaluationRecord, ProgrammeJob
    from patrol_planner.web.programmes import import_programme

    rec = import_programme(august)
    client.force_login(roster["users"]["analyst"])
    r = client.post(f"/programmes/{rec.pk}/evaluate/", {"crimes": _upload(LEICS)})
    job = ProgrammeJob.objects.get()
    assert r["Location"] == f"/programmes/jobs/{job.pk}/" and job.with_dosage is None
    _work()
    job.refresh_from_db()
    assert job.state == "done", job.error
    ev = EvaluationRecord.objects.get()
    want = evaluate_files(august, LEICS)  # the package, on the same files
    assert ev.method == want.evaluation.method == "month-level panel"
    assert ev.record["summary"] == json_round(want.evaluation.summary)
    assert ev.record["caveats"] == want.evaluation.caveats and ev.record["verdicts"] == want.evaluation.verdicts
    assert ev.record["equity"]["spots_unlinked"] == 0
    s = ev.record["summary"]
    assert s["ci_low"] < s["rate_ratio"] < s["ci_high"]

    for role in ("auditor", "supervisor", "analyst"):
        client.force_login(roster["users"][role])
        page = client.get(f"/programmes/evaluations/{ev.pk}/").content.decode()
        assert "month-level panel" in page and want.evaluation.verdicts[0].split(":")[0] in page
        assert f"<td>{s['rate_ratio']:.3g}</td>" in page and f"<td>{s['ci_low']:.3g}</td>" in page
        assert "police.uk positions are snapped" in page  # a caveat, as the package words it
        api = client.get(f"/api/programmes/{rec.pk}/evaluations").json()
        assert [e["id"] for e in api] == [ev.pk] and api[0]["summary"] == ev.record["summary"]
    client.force_login(roster["users"]["auditor"])
    rep = client.get(f"/programmes/evaluations/{ev.pk}/evaluation.html")
    assert rep.status_code == 200 and "attachment" in rep["Content-Disposition"]
    assert "default-src 'none'" in rep.content.decode()
    assert AuditEvent.objects.filter(action="export", target=f"evaluation:{ev.pk}", actor="auditor").exists()
    assert AuditEvent.objects.filter(action="programme_evaluated", detail__evaluation=ev.pk).exists()
    client.force_login(roster["users"]["officer"])
    for url in (f"/programmes/evaluations/{ev.pk}/", f"/programmes/evaluations/{ev.pk}/evaluation.html",
                f"/programmes/jobs/{job.pk}/", f"/api/programmes/{rec.pk}/evaluations",
                f"/api/programme-jobs/{job.pk}", f"/api/programmes/{rec.pk}/compliance"):
        assert client.get(url).status_code == 403, url
    # only the analyst starts an evaluation
    for role in ("tasking", "supervisor", "auditor", "officer"):
        client.force_login(roster["users"][role])
        assert client.post(f"/programmes/{rec.pk}/evaluate/", {"crimes": _upload(LEICS[:1])}).status_code == 403
    assert ProgrammeJob.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_evaluation_the_package_refuses_fails_with_its_reason(client: Any, roster: dict[str, Any],
                                                                 august: Any, tmp_path: Any) -> None:
    from patrol_planner.web.models import EvaluationRecord, ProgrammeJob
    from patrol_planner.web.programmes import import_programme

    rec = import_programme(august)
    client.force_login(roster["users"]["analyst"])
    (tmp_path / "crimes.csv").write_text("a,b\n1,2\n")
    client.post(f"/programmes/{rec.pk}/evaluate/", {"crimes": _upload([tmp_path / "crimes.csv"])})
    _work()
    job = ProgrammeJob.objects.get()
    assert job.state == "failed" and job.error and "\n" not in job.error and not EvaluationRecord.objects.exists()
    from html import escape

    assert "unknown format" in job.error and escape(job.error) in client.get(f"/programmes/{rec.pk}/").content.decode()


def test_uploads_need_the_csrf_token(roster: dict[str, Any], august: Any, tracks: dict[str, Any]) -> None:
    """A multipart upload without its CSRF token is refused (no job, no file kept); with it, accepted."""
    from django.test import Client

    from patrol_planner.web.models import ProgrammeJob
    from patrol_planner.web.programmes import import_programme

    rec = import_programme(august)
    c = Client(enforce_csrf_checks=True)
    c.force_login(roster["users"]["analyst"])
    for url, field in ((f"/programmes/{rec.pk}/tracks/", "tracks"), (f"/programmes/{rec.pk}/evaluate/", "crimes")):
        assert c.post(url, {field: _upload(tracks["files"][:1])}).status_code == 403, url
    assert not ProgrammeJob.objects.exists()
    page = c.get(f"/programmes/{rec.pk}/").content.decode()
    assert 'enctype="multipart/form-data"' in page and 'id="tracks-form"' in page and 'id="evaluate-form"' in page
    token = c.cookies["csrftoken"].value
    r = c.post(f"/programmes/{rec.pk}/tracks/", {"tracks": _upload(tracks["files"][:1]), "csrfmiddlewaretoken": token})
    assert r.status_code == 302 and ProgrammeJob.objects.count() == 1


def test_only_the_analyst_sees_the_upload_forms(client: Any, roster: dict[str, Any], august: Any) -> None:
    from patrol_planner.web.programmes import import_programme

    rec = import_programme(august)
    for role in ("analyst", "tasking", "supervisor", "auditor"):
        client.force_login(roster["users"][role])
        page = client.get(f"/programmes/{rec.pk}/").content.decode()
        assert ('id="tracks-form"' in page) == ('id="evaluate-form"' in page) == (role == "analyst"), role
        assert "No evaluation stored yet." in page


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_programme_job_is_requeued_then_failed(roster: dict[str, Any], august: Any,
                                                              tracks: dict[str, Any]) -> None:
    """A dosage job whose worker died is put back in the queue when the server starts (audited); after
    repeated deaths it is failed with the reason. Nothing half-stored: the record is written at the end."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from patrol_planner.web.admin_ops import MAX_ATTEMPTS, recover_interrupted
    from patrol_planner.web.models import AuditEvent, DosageRecord, ProgrammeJob
    from patrol_planner.web.programme_jobs import request_dosage
    from patrol_planner.web.programmes import import_programme

    rec = import_programme(august)
    job = request_dosage(rec, _upload(tracks["files"]), roster["users"]["analyst"])
    task = DBTaskResult.objects.get()
    DBTaskResult.objects.filter(pk=task.pk).update(status=TaskResultStatus.RUNNING, worker_ids=["dead-1"])
    ProgrammeJob.objects.filter(pk=job.pk).update(state="running")
    assert recover_interrupted() == 1
    job.refresh_from_db()
    assert job.state == "queued" and job.progress == "requeued after a restart"
    assert DBTaskResult.objects.get(pk=task.pk).status == TaskResultStatus.READY
    assert AuditEvent.objects.filter(action="programme_dosage_requeued", detail__job=job.pk).exists()
    DBTaskResult.objects.filter(pk=task.pk).update(status=TaskResultStatus.RUNNING,
                                                   worker_ids=[f"dead-{i}" for i in range(MAX_ATTEMPTS)])
    assert recover_interrupted() == 1
    job.refresh_from_db()
    assert job.state == "failed" and f"stopped {MAX_ATTEMPTS} times" in job.error
    assert not DosageRecord.objects.exists()


def test_dosage_is_measured_so_far_while_the_programme_runs(august: Any) -> None:
    """Up to today's programme day while the programme runs, every day once it is over; refused before it."""
    from patrol_planner.errors import DosageError
    from patrol_planner.programme import read_programme
    from patrol_planner.web.programme_work import so_far

    prog = read_programme(august)
    assert so_far(prog, date(2022, 8, 10)) == date(2022, 8, 10)
    assert so_far(prog, date(2022, 8, 31)) is None and so_far(prog, date(2023, 1, 1)) is None
    with pytest.raises(DosageError, match="starts on 2022-08-01: there is nothing to measure yet"):
        so_far(prog, date(2022, 7, 31))


@pytest.mark.django_db(transaction=True)
def test_a_generic_crime_file_with_its_mapping_gives_the_place_day_evaluation(client: Any, roster: dict[str, Any],
                                                                               august: Any) -> None:
    """Crimes with times (the bundled Rutland sample: real positions, SYNTHETIC times) and their column mapping,
    uploaded together: the package's place-day analysis, its interval and p-value from the randomisation test."""
    from patrol_planner.evaluation.files import evaluate_files
    from patrol_planner.web.models import EvaluationRecord
    from patrol_planner.web.programmes import import_programme

    timed = REPO / "data" / "crimes-rutland-synthetic-times"
    rec = import_programme(august)
    client.force_login(roster["users"]["analyst"])
    client.post(f"/programmes/{rec.pk}/evaluate/", {"crimes": _upload([timed / "crimes.csv"]),
                                                    "mapping": _upload([timed / "mapping.toml"])[0]})
    _work()
    ev = EvaluationRecord.objects.get()
    want = evaluate_files(august, [timed / "crimes.csv"], mapping=str(timed / "mapping.toml"))
    assert ev.method == want.evaluation.method == "place-day"
    s = ev.record["summary"]
    for k in ("rate_ratio", "ci_low", "ci_high", "p_value", "treated_spot_days", "control_spot_days"):
        assert s[k] == json_round(want.evaluation.summary[k]), k
    assert s["treated_spot_days"] == 124 and 0 < s["p_value"] <= 1
    page = client.get(f"/programmes/evaluations/{ev.pk}/").content.decode()
    assert "place-day" in page and "Treated spot-days</th><td>124" in page

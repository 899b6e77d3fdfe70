"""Programme records: imported from a real programme folder through the package's reader, each role's access
to the pages, amendments recorded through the package's add_amendment with who/when/why and audited, a
duplicate and a contradiction refused with the package's own messages."""

from __future__ import annotations

from datetime import date
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

"""Compliance for days without GPS and for a programme still running. SYNTHETIC pings (one unit standing in
one spot for 20 minutes on the first day) over a programme on real Leicester hot cells (bundled police.uk)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_dosage import real_programme
from typer.testing import CliRunner

from patrol_planner.cli import app
from patrol_planner.dosage import measure_pings, write_dosage
from patrol_planner.dosage.compliance import render_compliance_page
from patrol_planner.errors import ProgrammeError
from patrol_planner.evaluation.dosage import attach_dosage, delivery_summary, read_dosage
from patrol_planner.programme import read_programme


def _one_day_pings(prog, spot: str) -> pd.DataFrame:
    """Pings every 30 s for 20 min at the centre of ``spot``, starting an hour into the first patrol window."""
    c = prog.spots[spot].centroid
    t0 = prog.window(prog.dates[0])[0].timestamp() + 3600
    t = t0 + np.arange(0, 20 * 60 + 1, 30, dtype=float)
    return pd.DataFrame({"unit": "A", "t_s": t, "lon": c.x, "lat": c.y})


@pytest.fixture(scope="module")
def prog(tmp_path_factory):
    return read_programme(real_programme(tmp_path_factory.mktemp("nodata") / "prog", days=6, n_spots=8, seed=11))


def test_days_without_any_gps_are_no_data_not_missed_patrols(prog, tmp_path):
    """After one day of tracks, the treated spot-days of the other five days are "no data" (they used to be
    "treated, not visited"), in the table, the summary, the page and the evaluation's delivery figures."""
    sched = prog.schedule
    first = sched[sched["date"] == prog.dates[0]]
    spot = first.loc[first["treated"] == 1, "spot_id"].iloc[0]
    res = measure_pings(prog, _one_day_pings(prog, spot))
    t = res.table
    later = t["date"] != prog.dates[0].isoformat()
    assert t.loc[later, "gps_data"].eq(False).all() and t.loc[~later, "gps_data"].all()
    s = res.summary
    assert s["days_with_gps"] == 1
    assert s["treated_days_no_data"] == int(sched.loc[sched["date"] != prog.dates[0], "treated"].sum())
    assert s["treated_days_patrolled"] == 1
    assert t.loc[later & (t["treated"] == 1), "dose_met"].isna().all()
    assert any("no data, not as missed" in n for n in res.notes)
    html = render_compliance_page(res, prog)
    cells = html.split('aria-label="spot-days"')[1]
    assert cells.count('class="nodata"') == int(later.sum())
    assert cells.count('class="missed"') == int((first["treated"] == 1).sum()) - 1
    paths = write_dosage(res, tmp_path / "D", inputs=[], prog=prog, page=False)
    dose = read_dosage(paths["dosage"])
    days = sched[["date", "spot_id", "treated"]].assign(spot_id=lambda d: d["spot_id"].astype(str))
    delivery = delivery_summary(attach_dosage(days, dose))
    assert delivery["treated_days_without_presence"] == int((first["treated"] == 1).sum()) - 1
    assert delivery["spot_days_without_gps_data"] == int(later.sum())


def test_a_programme_still_running_is_measured_up_to_a_date(prog, tmp_path):
    """``up_to`` keeps the days up to it (the rest are not yet measured); a date outside the programme is refused,
    and the command takes ``--up-to``."""
    spot = prog.schedule.loc[prog.schedule["treated"] == 1, "spot_id"].iloc[0]
    res = measure_pings(prog, _one_day_pings(prog, spot), up_to=prog.dates[1])
    assert sorted(res.table["date"].unique()) == [d.isoformat() for d in prog.dates[:2]]
    assert res.summary["up_to"] == prog.dates[1].isoformat() and res.summary["spot_days"] == 2 * len(prog.spots)
    with pytest.raises(ProgrammeError, match="outside the programme"):
        measure_pings(prog, _one_day_pings(prog, spot), up_to=prog.dates[-1].replace(year=2030))
    _one_day_pings(prog, spot).assign(time=lambda d: pd.to_datetime(d["t_s"], unit="s", utc=True).map(
        lambda x: x.isoformat())).drop(columns="t_s").to_csv(tmp_path / "pings.csv", index=False)
    r = CliRunner().invoke(app, ["dosage", str(prog.folder), "--tracks", str(tmp_path / "pings.csv"), "--out",
                                 str(tmp_path / "out"), "--up-to", prog.dates[2].isoformat(), "--json",
                                 "--no-page"])
    assert r.exit_code == 0, r.output
    import json

    js = json.loads(r.output.strip().splitlines()[-1])
    assert js["up_to"] == prog.dates[2].isoformat() and js["spot_days"] == 3 * len(prog.spots)
    bad = CliRunner().invoke(app, ["dosage", str(prog.folder), "--tracks", str(tmp_path / "pings.csv"), "--out",
                                   str(tmp_path / "out2"), "--up-to", "soon"])
    assert bad.exit_code != 0 and "--up-to must be a date" in bad.output

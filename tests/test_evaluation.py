"""Programme evaluation on bundled data and tiny hand-made cases: design re-draws, spot-days, WDD, dosage,
equity, the HTML page and the evaluate command's errors."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from benchlib.calibration import analytic_power, k_of_n, programme_design, top_cell_spots
from patrol_planner import geo
from patrol_planner.cli import app
from patrol_planner.errors import DosageError, EvaluationError
from patrol_planner.evaluation.design import KOfNDailyDesign, k_of_n_design_from_schedule, reference_matrix
from patrol_planner.evaluation.dosage import attach_dosage, delivery_summary, read_dosage
from patrol_planner.evaluation.placeday import spot_day_table
from patrol_planner.evaluation.wdd import _wdd_from
from patrol_planner.incidents import ingest
from patrol_planner.programme import read_programme, write_programme

REPO = Path(__file__).resolve().parents[1]
LEICS = sorted((REPO / "data" / "policeuk-leicestershire-2022").glob("*.csv"))
runner = CliRunner()


def test_k_of_n_design_draws_k_each_day_and_is_seeded():
    """Every re-drawn day treats exactly K spots; same seed same schedule, other seeds differ."""
    d = KOfNDailyDesign(["A", "B", "C", "D", "E"], [date(2025, 1, 1) + timedelta(days=i) for i in range(30)], 2)
    s = d(3)
    assert (s.groupby("date")["treated"].sum() == 2).all()
    assert s.equals(d(3)) and not s["treated"].equals(d(4)["treated"])
    assert np.allclose(s["p_treated"], 0.4)
    back = k_of_n_design_from_schedule(s)
    assert back.treated_per_day == 2 and back.spot_ids == ["A", "B", "C", "D", "E"]
    bad = s.copy()
    bad.loc[0, "treated"] = 1 - bad.loc[0, "treated"]
    with pytest.raises(EvaluationError, match="not a K-of-N"):
        k_of_n_design_from_schedule(bad)


def test_reference_matrix_same_through_fast_path_and_generic_callable():
    """A generic re-draw callable and the K-of-N fast path give the same reference schedules."""
    d = KOfNDailyDesign(["A", "B", "C"], [date(2025, 1, 1) + timedelta(days=i) for i in range(10)], 1)
    idx = pd.MultiIndex.from_product([d.dates, d.spot_ids])
    fast = reference_matrix(d, idx, 20, seed=5)
    slow = reference_matrix(lambda s: d(s), idx, 20, seed=5)
    assert np.array_equal(fast, slow)
    assert (fast.reshape(20, 10, 3).sum(axis=2) == 1).all()


# --- a tiny hand-made programme (SYNTHETIC: two 100 m squares and hand-placed thefts) -------------------
CRS = "EPSG:27700"
X0, Y0 = 530000.0, 180000.0


def _square(x, y, size=100.0):
    xs = np.array([x, x + size, x + size, x, x])
    ys = np.array([y, y, y + size, y + size, y])
    lon, lat = geo.to_lonlat(xs, ys, CRS)
    return {"type": "Polygon", "coordinates": [[[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]]}


def _tiny_programme(tmp_path: Path) -> Path:
    spots = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": _square(X0, Y0), "properties": {"spot_id": "A"}},
        {"type": "Feature", "geometry": _square(X0 + 1000, Y0), "properties": {"spot_id": "B"}}]}
    design = k_of_n(["A", "B"], date(2025, 3, 1), 4, 1)
    sched = design(0)
    return write_programme(tmp_path / "tiny", design=programme_design(
        date(2025, 3, 1), 4, timezone="Europe/London", spot_size_m=100, seed=0), schedule=sched, spots_geojson=spots)


def _crimes(rows):
    df = pd.DataFrame(rows, columns=["x_m", "y_m", "when", "category"])
    out = pd.DataFrame({"incident_id": [f"i{i}" for i in range(len(df))], "category": df["category"],
                        "occurred_from": pd.to_datetime(df["when"]), "time_known": True,
                        "x_m": df["x_m"], "y_m": df["y_m"]})
    out.attrs["crs"] = CRS
    return out


def test_spot_day_table_places_crimes_by_polygon_ring_and_programme_day(tmp_path):
    """Crimes inside a spot count for it, within 100 m outside count for its ring, farther not at all; a crime
    at 05:59 belongs to the previous programme day (days start 06:00); carry-over days are flagged."""
    prog = read_programme(_tiny_programme(tmp_path))
    crimes = _crimes([
        (X0 + 50, Y0 + 50, "2025-03-02 05:59", "Robbery"),        # spot A, programme day 1 March
        (X0 + 50, Y0 + 50, "2025-03-02 06:00", "Vehicle crime"),  # spot A, 2 March
        (X0 + 150, Y0 + 50, "2025-03-02 12:00", "Vehicle crime"),  # 50 m outside A: ring
        (X0 + 350, Y0 + 50, "2025-03-02 12:00", "Vehicle crime"),  # 250 m outside: neither
        (X0 + 50, Y0 + 50, "2025-03-09 12:00", "Vehicle crime"),  # after the programme
    ])
    t = spot_day_table(prog, crimes, ring_m=100)
    a = t[t["spot_id"] == "A"].set_index("date")
    assert a.loc[date(2025, 3, 1), "crimes"] == 1 and a.loc[date(2025, 3, 1), "harm_days"] == 365.0
    assert a.loc[date(2025, 3, 2), "crimes"] == 1 and a.loc[date(2025, 3, 2), "ring_crimes"] == 1
    assert t["crimes"].sum() == 2 and t["ring_crimes"].sum() == 1
    prev = t.groupby("spot_id")["treated"].shift(1).fillna(0)
    assert ((t["after_treated"] == 1) == ((prev == 1) & (t["treated"] == 0))).all()
    with pytest.raises(EvaluationError, match="no time of day"):
        spot_day_table(prog, crimes.assign(time_known=False))


def test_wdd_arithmetic_matches_hand_calculation():
    """WDD = dT - dC + dD - dCD and its Poisson variance is the sum of the eight counts (Wheeler & Ratcliffe)."""
    v = {"t0": 10.0, "t1": 5.0, "c0": 10.0, "c1": 10.0, "d0": 5.0, "d1": 5.0, "cd0": 5.0, "cd1": 5.0}
    r = _wdd_from("crimes", v, dict(v))
    assert r.wdd == -5.0 and r.variance == 55.0
    assert r.z == pytest.approx(-5 / np.sqrt(55))
    assert r.rate_ratio == pytest.approx(0.5)
    assert r.ci_high == pytest.approx(np.exp(np.log(0.5) + 1.96 * np.sqrt(0.1 + 0.2 + 0.1 + 0.1)))


def test_analytic_power_behaves():
    """Power grows with crimes and effect size and is about alpha with no effect."""
    assert analytic_power(300, 0.5, 0.0001) == pytest.approx(0.05, abs=0.002)
    assert analytic_power(300, 0.5, 0.3) > analytic_power(100, 0.5, 0.3) > analytic_power(100, 0.5, 0.1)


def test_dosage_contract_and_contamination(tmp_path):
    """dosage.csv is read by its contract; presence on control days is counted as contamination."""
    prog = read_programme(_tiny_programme(tmp_path))
    t = spot_day_table(prog, _crimes([(X0 + 50, Y0 + 50, "2025-03-02 12:00", "Vehicle crime")]))
    ctrl = t[t["treated"] == 0].iloc[0]
    dose = pd.DataFrame({"date": [ctrl["date"].isoformat()], "spot_id": [ctrl["spot_id"]], "treated": [0],
                         "minutes_present": [12.5], "visits": [1]})
    (tmp_path / "D").mkdir()
    dose.to_csv(tmp_path / "D" / "dosage.csv", index=False)
    got = attach_dosage(t, read_dosage(tmp_path / "D"))
    s = delivery_summary(got)
    assert s["control_days_with_presence"] == 1 and s["treated_days_without_presence"] == 4
    dose.drop(columns="minutes_present").to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DosageError, match="missing columns minutes_present"):
        read_dosage(tmp_path / "bad.csv")


def _leics_programme(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """Rutland spots (busiest 250 m cells in July 2022) on a programme starting 1 August 2022; no patrols."""
    inc = ingest(LEICS, aoi_lonlat=(-0.8229, 52.5236, -0.4277, 52.7611)).incidents
    spots = top_cell_spots(inc, cell_m=250, n_spots=8, until="2022-08-01")
    spots["features"][0]["properties"]["spot_id"] = "<i>S01</i>"  # markup in a name must be shown, not run
    ids = [f["properties"]["spot_id"] for f in spots["features"]]
    design = k_of_n(ids, date(2022, 8, 1), 31, 4)
    folder = write_programme(tmp_path / "rutland", design=programme_design(
        date(2022, 8, 1), 31, timezone="Europe/London", spot_size_m=250, seed=3), schedule=design(3),
        spots_geojson=spots)
    return folder, inc


@pytest.mark.slow
def test_evaluate_month_level_on_bundled_police_uk_with_equity(tmp_path):
    """police.uk months give the month-level panel (one estimand, p-value and interval from one t); the page is
    offline, escaped and says what it found; the
    equity table links spots to IMD deciles through police.uk LSOA codes and counts what did not match."""
    folder, _ = _leics_programme(tmp_path)
    out = tmp_path / "E"
    r = runner.invoke(app, ["evaluate", str(folder), *sum((["--crimes", str(p)] for p in LEICS), []),
                            "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    js = json.loads(r.output.strip().splitlines()[-1])
    for k in ("method", "rate_ratio", "ci_low", "ci_high", "p_value", "treated_spot_days", "control_spot_days"):
        assert k in js
    assert js["method"] == "month-level panel" and js["months_before"] == ["2022-07"]
    assert js["calibrated"] and "t with 7 df" in js["p_value_kind"] and js["interval_kind"] == "same t as the p-value"
    assert js["estimand"].startswith("the ratio by which crimes at the spots changed")
    assert js["equity"]["spots_unlinked"] == 0 and js["equity"]["lsoas_without_imd_decile"] == 0
    assert js["equity"]["incidents_without_lsoa"] == 0  # every ingested row found its raw row's LSOA code
    eq = pd.read_csv(out / "equity.csv")
    assert eq["spots"].sum() == 8 and eq["harm_share"].sum() == pytest.approx(1.0)
    assert eq["planned_minutes"].sum() == pd.read_csv(folder / "schedule.csv")["minutes"].sum()
    html = (out / "evaluation.html").read_text()
    assert "default-src 'none'" in html and "<script" not in html
    assert 'src="http' not in html and 'href="http' not in html
    assert "Spot-and-control x month panel" in html and "Dilution" in html
    assert "&lt;i&gt;S01&lt;/i&gt;" in html and "<i>S01" not in html
    again = runner.invoke(app, ["evaluate", str(folder), *sum((["--crimes", str(p)] for p in LEICS), []),
                                "--out", str(tmp_path / "E2"), "--json"])
    assert again.exit_code == 0
    for name in ("evaluation.html", "evaluation.json", "equity.csv", "estimates.csv"):
        assert (out / name).read_bytes() == (tmp_path / "E2" / name).read_bytes(), name


def test_equity_for_programme_matches_the_command(tmp_path):
    """The one-call equity function (for the calendar page) gives planned minutes by decile summing to the
    schedule's minutes, with every bundled spot linked."""
    from patrol_planner.evaluation.equity import equity_for_programme

    folder, _ = _leics_programme(tmp_path)
    prog = read_programme(folder)
    rep = equity_for_programme(prog, LEICS)
    assert rep.table["planned_minutes"].sum() == prog.schedule["minutes"].sum()
    assert rep.counts["spots_unlinked"] == 0 and rep.table["spots"].sum() == len(prog.spots)


def test_evaluate_command_errors_are_one_line(tmp_path):
    """A missing programme folder and dosage naming an unknown spot give one-line errors and their exit codes."""
    r = runner.invoke(app, ["evaluate", str(tmp_path / "nope"), "--crimes", str(LEICS[0])])
    assert r.exit_code == 9 and "error:" in r.output and "Traceback" not in r.output
    folder, _ = _leics_programme(tmp_path)
    (tmp_path / "D").mkdir()
    pd.DataFrame({"date": ["2022-08-01"], "spot_id": ["S99"], "treated": [1], "minutes_present": [15],
                  "visits": [1]}).to_csv(tmp_path / "D" / "dosage.csv", index=False)
    r = runner.invoke(app, ["evaluate", str(folder), "--crimes", str(LEICS[0]), "--crimes", str(LEICS[1]),
                            "--dosage", str(tmp_path / "D"), "--out", str(tmp_path / "E")])
    assert r.exit_code == 10 and "S99" in r.output and "Traceback" not in r.output


@pytest.mark.slow
def test_month_level_with_dosage_gives_delivered_minutes_by_decile(tmp_path):
    """With police.uk months, dosage still gives delivery figures and delivered minutes in the equity table."""
    folder, _ = _leics_programme(tmp_path)
    sched = read_programme(folder).schedule
    (tmp_path / "D").mkdir()
    sched.assign(date=[d.isoformat() for d in sched["date"]], minutes_present=sched["treated"] * 12.0)[
        ["date", "spot_id", "treated", "minutes_present", "visits"]].to_csv(tmp_path / "D" / "dosage.csv", index=False)
    r = runner.invoke(app, ["evaluate", str(folder), *sum((["--crimes", str(p)] for p in LEICS), []),
                            "--dosage", str(tmp_path / "D"), "--out", str(tmp_path / "E")])
    assert r.exit_code == 0, r.output
    eq = pd.read_csv(tmp_path / "E" / "equity.csv")
    assert eq["delivered_minutes"].sum() == pytest.approx(12.0 * sched["treated"].sum())
    delivery = json.loads((tmp_path / "E" / "evaluation.json").read_text())["delivery"]
    assert delivery["control_days_with_presence"] == 0 and delivery["treated_days_without_presence"] == 0


def test_verdicts_say_weak_estimates_and_no_effect_in_plain_words():
    """A clear fall is stated as a percentage; an interval across 1 is 'no clear effect ... not proof'; few events
    or a wide interval make the estimate 'weak' in the text and the flag."""
    from patrol_planner.evaluation.verdict import verdict

    text, weak = verdict(0.6, 0.45, 0.8, 0.001, events=300)
    assert text.startswith("There were 40% fewer crimes") and not weak
    text, weak = verdict(0.95, 0.52, 1.75, 0.84, events=41)
    assert "No clear effect" in text and "not proof" in text and "48% fewer to 75% more" in text
    assert weak and "weak (only 41 events and a wide interval)" in text


def test_a_programme_without_its_randomisation_record_says_the_k_of_n_fallback(tmp_path):
    """programme.json without a randomisation record: the place-day test re-draws K-of-N per day, and the
    evaluation says so in its summary (evaluation.json), its caveats and the page's "what ran" table; the
    programme's own design is recorded as used when it is there (the bundled Rutland programme)."""
    from patrol_planner.evaluation.report import write_outputs
    from patrol_planner.evaluation.run import DESIGN_K_OF_N, DESIGN_PROGRAMME, EvaluationParams, evaluate

    prog = read_programme(_tiny_programme(tmp_path))
    rows = [(X0 + 50 + 1000 * (i % 2), Y0 + 50, f"2025-03-0{1 + i % 4} {10 + i % 8}:00", "Vehicle crime")
            for i in range(24)]
    ev = evaluate(prog, _crimes(rows), params=EvaluationParams(n_draws=99))
    rec = ev.summary["design"]
    assert (rec["requested"], rec["used"]) == (DESIGN_PROGRAMME, DESIGN_K_OF_N)
    assert "does not record its randomisation" in rec["why"]
    assert sum("K-of-N per day" in c for c in ev.caveats) == 1
    from patrol_planner.provenance import provenance

    prov = provenance([], {}) | {"ran": {"randomisation design": rec}}  # as the evaluate command records it
    paths = write_outputs(ev, prog, tmp_path / "E", provenance=prov)
    written = json.loads(paths["json"].read_text())
    assert written["summary"]["design"]["used"] == DESIGN_K_OF_N
    html = paths["html"].read_text()
    row = html.split('data-ran="randomisation design"')[1].split("</tr>")[0]
    assert DESIGN_K_OF_N in row and "does not record its randomisation" in row
    assert "If the schedule was drawn another way" in html


def test_the_page_renders_when_nothing_was_re_drawn(tmp_path):
    """The month-level analysis re-draws no schedule, so the evaluate command records no "ran" entry in the
    provenance: the page is still written (it raised UndefinedError), without a "what ran" table."""
    from patrol_planner.evaluation.report import write_outputs
    from patrol_planner.evaluation.run import EvaluationParams, evaluate
    from patrol_planner.provenance import provenance

    prog = read_programme(_tiny_programme(tmp_path))
    rows = [(X0 + 50 + 1000 * (i % 2), Y0 + 50, f"2025-03-0{1 + i % 4} {10 + i % 8}:00", "Vehicle crime")
            for i in range(24)]
    ev = evaluate(prog, _crimes(rows), params=EvaluationParams(n_draws=99))
    paths = write_outputs(ev, prog, tmp_path / "E", provenance=provenance([], {}))
    html = paths["html"].read_text()
    assert "<h2>Provenance</h2>" in html and 'class="ran"' not in html


def test_the_programmes_own_design_is_recorded_when_present(rutland_programme):
    """A programme written by the designer is re-drawn with its own randomisation: no fallback recorded."""
    from patrol_planner.evaluation.run import DESIGN_PROGRAMME, choose_design

    _, rec = choose_design(read_programme(rutland_programme[0]))
    assert rec == {"requested": DESIGN_PROGRAMME, "used": DESIGN_PROGRAMME, "why": ""}

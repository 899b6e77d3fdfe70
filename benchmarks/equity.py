"""Equity on one geography (LSOA 2021) for Essex programmes, through the user's path (the CLI).

Usage: PYTHONPATH=src python benchmarks/equity.py [SHARED_RAW_FOLDER]   (default ../shared/data/raw)

For each case it writes ``scenarios/essex-grip.toml`` with the case's crimes and start date into a
temporary folder, runs ``patrol-planner programme ... --ons SHARED/ons-lsoa --json``, and reads the
``equity.json`` / ``equity.csv`` / ``equity-spots.csv`` the command wrote: spots without a decile, share of
victim harm without a decile, rows coded by 2011 LSOAs and how they were mapped, the force-area districts.
Then it checks two refusals on Essex 2025: the bundled (Leicestershire) tables are refused with one line,
and a re-run without ``--ons`` does not replace the good table. The last line is JSON.

Cases: Essex 2025 (the scenario as shipped: 2021 LSOA codes), Essex January-July 2018 (2011 codes: every
row goes through the ONS lookup), Essex January-April 2024.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from patrol_planner.cli import app

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RAW = ROOT.parent / "shared" / "data" / "raw"
SCENARIO = ROOT / "scenarios" / "essex-grip.toml"
#: label -> (folder under RAW, file glob, start date, days)
CASES = {
    "Essex 2025 (essex-grip.toml)": ("policeuk-essex-2025", "2025-*-essex-street.csv", "2025-10-01", 90),
    "Essex 2018 (2011 codes)": ("policeuk-essex-2018", "2018-*-essex-street.csv", "2018-06-01", 60),
    "Essex 2024": ("policeuk-essex-2024", "2024-*-essex-street.csv", "2024-04-01", 30),
}


def _scenario(tmp: Path, raw: Path, folder: str, pattern: str, start: str, days: int) -> Path:
    text = SCENARIO.read_text(encoding="utf-8")
    text = re.sub(r'incidents = \[.*\]', f'incidents = ["{(raw / folder / pattern).as_posix()}"]', text)
    text = re.sub(r"start_date = \S+", f"start_date = {start}", text)
    text = re.sub(r"days = \d+", f"days = {days}", text)
    path = tmp / f"{folder}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_case(tmp: Path, raw: Path, label: str, case: tuple[str, str, str, int]) -> dict:
    scen = _scenario(tmp, raw, *case)
    out = tmp / case[0]
    t0 = time.perf_counter()
    r = CliRunner().invoke(app, ["programme", str(scen), "--out", str(out), "--ons", str(raw / "ons-lsoa"), "--json"])
    if r.exit_code != 0:
        raise SystemExit(f"{label}: {r.output}")
    counts = json.loads((out / "equity.json").read_text())
    table = pd.read_csv(out / "equity.csv")
    spots = pd.read_csv(out / "equity-spots.csv")
    row = {"case": label, "seconds": round(time.perf_counter() - t0, 1), "spots": len(spots),
           "spots_without_decile": int(counts["spots_without_decile"]),
           "harm_unknown_pct": round(100 * float(counts["harm_share_unknown"]), 3),
           "incidents_without_decile": counts["incidents_without_decile"],
           "incidents_2011_coded": counts["incidents_2011_coded"],
           "incidents_2011_by_change": counts["incidents_2011_by_change"],
           "area_districts": len(counts["area_districts"]), "area_lsoas": counts["area_lsoas"],
           "lsoas_without_imd_decile": counts["lsoas_without_imd_decile"],
           "spot_districts": spots["lad_name"].value_counts().to_dict(),
           "minutes_share_by_decile": {str(k): round(float(v), 3) for k, v in
                                       zip(table["imd_decile"], table["planned_minutes_share"], strict=True) if v},
           "harm_share_by_decile": {str(k): round(float(v), 3) for k, v in
                                    zip(table["imd_decile"], table["harm_share"], strict=True)}}
    print(f"{label}: {row['spots_without_decile']} of {row['spots']} spots without a decile, "
          f"{row['harm_unknown_pct']}% of harm unknown, {row['incidents_2011_coded']} rows 2011-coded "
          f"{row['incidents_2011_by_change']}, area {row['area_districts']} districts / {row['area_lsoas']} LSOAs "
          f"({row['seconds']} s)")
    return row


def refusals(tmp: Path, raw: Path) -> dict:
    """Essex 2025 with the bundled tables: refused in one line; a re-run without --ons keeps the good table."""
    scen = tmp / "policeuk-essex-2025.toml"
    out = tmp / "policeuk-essex-2025"
    good = (out / "equity.csv").read_bytes()
    r = CliRunner().invoke(app, ["programme", str(scen), "--out", str(out), "--json"])
    kept = (out / "equity.csv").read_bytes() == good
    bundled = CliRunner().invoke(app, ["programme", str(scen), "--out", str(tmp / "fresh"), "--json"])
    line = [ln for ln in bundled.stderr.splitlines() if "equity" in ln]
    print(f"re-run without --ons: exit {r.exit_code}, good table kept: {kept}: {r.output.strip()}")
    print(f"bundled tables on Essex: {line[0] if line else '(no line)'}")
    return {"rerun_exit": r.exit_code, "rerun_table_kept": kept, "bundled_refusal": line[0] if line else ""}


def main(raw: Path = DEFAULT_RAW) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        for label, case in CASES.items():
            if (raw / case[0]).is_dir():
                rows.append(run_case(tmp, raw, label, case))
        checks = refusals(tmp, raw) if (tmp / "policeuk-essex-2025").is_dir() else {}
    print(json.dumps({"cases": rows, "checks": checks}))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_RAW)

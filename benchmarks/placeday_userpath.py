"""Place-day calibration through the user's path: ``patrol-planner programme`` then ``evaluate``, issued design.

Usage: python -u benchmarks/placeday_userpath.py [N_SCHEDULES] [nyc|chicago|both] [N_REFERENCE]

Defaults: 200 schedules, both datasets, 199 re-drawn reference schedules (the p-value's resolution is then
0.005; re-drawing the blocked design is the slow part, about a third of a second a schedule).

For each dataset (real timestamped crimes; no patrols happened):

1. ``patrol-planner programme SCENARIO`` writes the programme folder (spots from the history before the start,
   the blocked randomised schedule and its record); ``patrol-planner evaluate`` on it prints the headline.
2. The headline is recomputed with the public functions ``evaluate`` calls (``spot_day_table``,
   ``redraw_design``, ``reference_matrix``, ``effects.headline``) and must equal the command's.
3. A/A: N schedules re-drawn with the issued design (``redraw_design``) replace the issued one; the estimate
   is the headline for each. Targets: p < 0.05 in 2-8%, the 95% interval covers 1 in 92-98%.
4. Planted: the same schedules with 30% of treated-day crimes removed at random (binomial thinning).
   Target: mean estimated reduction (1 - mean rate ratio) within 5 points of 30%; coverage of 0.70 shown.

Datasets: NYC motor-vehicle thefts 2014-2017 (``../shared``, ``scenarios/nyc-programme.toml``: 20 cells of
150 m chosen on 2014-2015, 2016 programme) and Chicago aggravated assaults 2015-2017 (bundled,
``scenarios/chicago-programme.toml``: chosen on 2015-2016, 2017 programme). Prints the figures, then one JSON
line per dataset. The two datasets can run as two processes (``both`` runs them one after the other).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "data" / "raw"
DATASETS = {
    "nyc": {"scenario": REPO / "scenarios" / "nyc-programme.toml",
            "crimes": SHARED / "crimedata-code-us" / "nycvehiclethefts.csv", "mapping": "nyc-vehicle-thefts"},
    "chicago": {"scenario": REPO / "scenarios" / "chicago-programme.toml",
                "crimes": REPO / "data" / "chicago-aggravated-assaults" / "assaults.csv",
                "mapping": str(REPO / "data" / "chicago-aggravated-assaults" / "mapping.toml")},
}
REDUCTION = 0.30
#: Re-draws of the one ``evaluate`` command run (the schedules' own tests use N_REFERENCE).
CLI_DRAWS = 99


def _scenario_copy(src: Path, crimes: Path, mapping: str, folder: Path) -> Path:
    """The scenario with its data path made absolute (the shared folder's place differs between checkouts)."""
    text = src.read_text(encoding="utf-8")
    line = f'incidents = [{{ path = "{crimes.as_posix()}", mapping = "{mapping}" }}]'
    out = folder / src.name
    out.write_text(re.sub(r"^incidents = \[.*\]$", line, text, flags=re.M), encoding="utf-8")
    return out


def _cli(args: list[str]) -> dict:
    from typer.testing import CliRunner

    from patrol_planner.cli import app

    res = CliRunner().invoke(app, args)
    if res.exit_code != 0:
        raise SystemExit(f"patrol-planner {' '.join(args[:2])} failed: {res.output.strip()[-500:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _summary(rows: list[dict], truth: float) -> dict:
    rr = np.array([r["rate_ratio"] for r in rows])
    lo = np.array([r["ci_low"] for r in rows])
    hi = np.array([r["ci_high"] for r in rows])
    p = np.array([r["p_value"] for r in rows])
    return {"schedules": len(rows), "p_below_05": float(np.mean(p < 0.05)),
            "ci_covers_truth": float(np.mean((lo <= truth) & (truth <= hi))),
            "ci_excludes_1": float(np.mean((hi < 1) | (lo > 1))),
            "agree_p_and_interval": float(np.mean((p < 0.05) == ((hi < 1) | (lo > 1)))),
            "mean_rate_ratio": float(rr.mean()), "mean_reduction_estimated": float(1 - rr.mean()),
            "geometric_mean_rate_ratio": float(np.exp(np.log(rr).mean()))}


def run(name: str, n: int, n_ref: int) -> dict:
    from patrol_planner.evaluation import effects as E
    from patrol_planner.evaluation.countmodel import fit_rate_ratio
    from patrol_planner.evaluation.design import reference_matrix
    from patrol_planner.evaluation.placeday import spot_day_table
    from patrol_planner.incidents import ingest
    from patrol_planner.programme import read_programme, redraw_design

    ds = DATASETS[name]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scen = _scenario_copy(ds["scenario"], ds["crimes"], ds["mapping"], tmp)
        designed = _cli(["programme", str(scen), "--out", str(tmp / "P"), "--json", "--no-simulate-power"])
        cli = _cli(["evaluate", str(tmp / "P"), "--crimes", str(ds["crimes"]), "--mapping", ds["mapping"],
                    "--out", str(tmp / "E"), "--json", "--draws", str(CLI_DRAWS), "--seed", "0"])
        prog = read_programme(tmp / "P")
    inc = ingest(ds["crimes"], mapping=ds["mapping"]).incidents
    table = spot_day_table(prog, inc)
    design = redraw_design(prog)
    index = list(zip(table["date"], table["spot_id"], strict=True))
    import pandas as pd

    index = pd.MultiIndex.from_tuples(index)
    # seeds come from SeedSequence(0).generate_state(n), whose first CLI_DRAWS are what evaluate --draws
    # CLI_DRAWS --seed 0 re-drew: the command's headline is recomputed from the same re-draws
    ref = reference_matrix(design, index, max(n_ref, CLI_DRAWS), seed=0)
    strata = E.strata_for(table, prog.design)
    again = E.headline(table, ref[:CLI_DRAWS], strata)
    ref = ref[:n_ref]
    same = all(abs(getattr(again, k) - cli[k]) < 1e-9 for k in ("rate_ratio", "ci_low", "ci_high", "p_value"))
    cm = fit_rate_ratio(table, se="model")[0]
    setup_s = time.perf_counter() - t0
    print(f"[{name}] programme: {designed['spots']} spots x {designed['days']} days, blocks of "
          f"{prog.design['randomisation']['block_days']} days; {table['crimes'].sum()} crimes in the spots; "
          f"Pearson dispersion {cm.dispersion:.2f}, Cameron-Trivedi alpha {cm.ct_alpha:.2f} (p {cm.ct_p:.3f})")
    print(f"[{name}] evaluate (command): rate ratio {cli['rate_ratio']:.3f} "
          f"({cli['ci_low']:.3f}-{cli['ci_high']:.3f}), "
          f"p {cli['p_value']:.3f}; the same through the public functions: {same}")
    schedules = reference_matrix(design, index, n, seed=12345)  # other seeds than the reference set
    rng = np.random.default_rng(7)
    y0 = table["crimes"].to_numpy()
    aa, planted = [], []
    t1 = time.perf_counter()
    for a in schedules:
        tab = table.assign(treated=a.astype(int))
        aa.append(E.headline(tab, ref, strata).to_dict())
        thinned = np.where(a == 1, rng.binomial(y0, 1 - REDUCTION), y0)
        planted.append(E.headline(tab.assign(crimes=thinned), ref, strata).to_dict())
    loop_s = time.perf_counter() - t1
    s_aa, s_pl = _summary(aa, 1.0), _summary(planted, 1 - REDUCTION)
    print(f"[{name}] A/A ({n} schedules of the issued design): p < 0.05 in {s_aa['p_below_05']:.1%} (target 2-8%); "
          f"95% interval covers 1 in {s_aa['ci_covers_truth']:.1%} (target 92-98%); p and interval agree in "
          f"{s_aa['agree_p_and_interval']:.0%}")
    print(f"[{name}] planted {REDUCTION:.0%} reduction: mean estimated reduction "
          f"{s_pl['mean_reduction_estimated']:.1%} "
          f"(target 25-35%), geometric mean rate ratio {s_pl['geometric_mean_rate_ratio']:.3f}; detected (p < 0.05) in "
          f"{s_pl['p_below_05']:.1%}; interval covers 0.70 in {s_pl['ci_covers_truth']:.1%}")
    checks = {"command_equals_functions": same,
              "aa_rejection_ok": 0.02 <= s_aa["p_below_05"] <= 0.08,
              "aa_coverage_ok": 0.92 <= s_aa["ci_covers_truth"] <= 0.98,
              "planted_mean_ok": abs(s_pl["mean_reduction_estimated"] - REDUCTION) <= 0.05}
    return {"benchmark": "placeday_userpath", "dataset": name, "schedules": n, "reference_draws": n_ref,
            "crimes_in_spots": int(table["crimes"].sum()), "dispersion": cm.dispersion, "ct_alpha": cm.ct_alpha,
            "ct_p": cm.ct_p, "command": {k: cli[k] for k in ("rate_ratio", "ci_low", "ci_high", "p_value")},
            "aa": s_aa, "planted": s_pl, "checks": checks,
            "seconds": {"setup": round(setup_s, 1), "schedules": round(loop_s, 1)}}


def main(argv: list[str]) -> list[dict]:
    n = int(argv[0]) if argv else 200
    which = argv[1] if len(argv) > 1 else "both"
    n_ref = int(argv[2]) if len(argv) > 2 else 199
    names = ["nyc", "chicago"] if which == "both" else [which]
    out = []
    for name in names:
        if name == "nyc" and not DATASETS["nyc"]["crimes"].is_file():
            print(f"[nyc] skipped: {DATASETS['nyc']['crimes']} is not present")
            continue
        res = run(name, n, n_ref)
        print(json.dumps(res, sort_keys=True))
        out.append(res)
    return out


if __name__ == "__main__":
    main(sys.argv[1:])

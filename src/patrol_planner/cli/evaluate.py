"""``patrol-planner evaluate``: did a hot-spot programme reduce crime and harm, and who bore the patrols."""

from __future__ import annotations

from pathlib import Path

import typer

from patrol_planner.cli._common import echo, print_json, user_errors


def _crime_files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(p.glob("*.csv")) if p.is_dir() else [p])
    return out


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    @user_errors
    def evaluate_cmd(
        programme_dir: Path = typer.Argument(..., help="Programme folder (programme.json, schedule.csv, spots)."),
        crimes: list[Path] = typer.Option(..., "--crimes", help="Crime CSV file or folder; repeat for more."),
        dosage: Path | None = typer.Option(None, "--dosage", help="Dosage folder (dosage.csv) or file."),
        out: Path = typer.Option(Path("out/evaluation"), "--out", "-o", help="Folder for evaluation.html etc."),
        mapping: str | None = typer.Option(None, "--mapping", help="Column mapping for generic crime CSVs."),
        ring_m: float = typer.Option(100.0, "--ring-m", help="Displacement ring / buffer width [m]."),
        draws: int = typer.Option(999, "--draws", help="Re-drawn schedules for the randomisation test."),
        seed: int = typer.Option(0, "--seed", help="Seed of the re-drawn schedules."),
        se: str = typer.Option("day", "--se", help="Standard errors: day, spot, hc0 or model."),
        ons: Path | None = typer.Option(None, "--ons", help="Folder with iod2025_eng.csv, census21_pop.csv and "
                                        "`lsoa11_lsoa21_lookup.csv` (default: the bundled Leicestershire subset)."),
        as_json: bool = typer.Option(False, "--json", help="Print the headline figures as one JSON object."),
    ) -> None:
        """Evaluate a programme: rate ratio with interval and p-value, forest plot, caveats, equity."""
        from patrol_planner.atomic import atomic_output_dir, check_output_dir, final_path
        from patrol_planner.errors import EvaluationError
        from patrol_planner.evaluation import equity as eq
        from patrol_planner.evaluation.dosage import read_dosage
        from patrol_planner.evaluation.placeday import project_spots
        from patrol_planner.evaluation.report import write_outputs
        from patrol_planner.evaluation.run import EvaluationParams, evaluate
        from patrol_planner.incidents import ingest
        from patrol_planner.programme import read_programme
        from patrol_planner.provenance import provenance

        check_output_dir(out, "evaluation.json")
        warn = eq.guard_equity_table(out, ons)  # before the work: a table from other ONS tables is not replaced
        if warn:
            echo(warn, err=True)
        prog = read_programme(programme_dir)
        files = _crime_files(crimes)
        incidents = ingest(files, mapping=mapping).incidents
        params = EvaluationParams(ring_m=ring_m, n_draws=draws, seed=seed, se=se)
        dose = read_dosage(dosage) if dosage is not None else None
        ev = evaluate(prog, incidents, params=params, dosage=dose)
        lsoa = eq.incident_lsoas(incidents, files)
        report, reason = None, ""
        if lsoa.notna().any():
            spots_xy = project_spots(prog.spots, incidents.attrs["crs"])
            try:  # tables that do not cover the crimes' area are refused: no table, one line, the page says why
                report = eq.equity_report(prog.schedule, spots_xy, incidents, lsoa, eq.load_ons(ons), delivered=dose)
            except EvaluationError as exc:
                reason = f"No equity report: {exc}."
        else:
            reason = ("No equity report: the crimes carry no LSOA codes (only police.uk street files do), so spots "
                      "cannot be linked to deprivation deciles or populations.")
        if report is None:
            echo(f"warning: {reason}" + (f" ({out / 'equity.csv'} of the last run is not kept)"
                                         if (out / "equity.csv").is_file() else ""), err=True)
        inputs = [*files, prog.folder / "programme.json", prog.folder / "schedule.csv", prog.folder / "spots.geojson"]
        inputs += [p for p in (prog.folder / "amendments.csv",) if p.exists()]
        if dosage is not None:
            inputs.append(dosage / "dosage.csv" if dosage.is_dir() else dosage)
        prov = provenance(inputs, {"ring_m": ring_m, "n_draws": draws, "seed": seed, "se": se, "mapping": mapping,
                                   "ons": str(ons) if ons else "bundled"})
        if ev.summary.get("design"):
            prov["ran"] = {"randomisation design": ev.summary["design"]}
            if ev.summary["design"]["used"] != ev.summary["design"]["requested"]:
                echo(f"warning: randomisation design fallback: {ev.summary['design']['why']}", err=True)
        with atomic_output_dir(out, marker="evaluation.json") as stage:
            staged = write_outputs(ev, prog, stage, provenance=prov, equity=report, equity_reason=reason)
        paths = {k: final_path(p, stage, out) for k, p in staged.items()}
        if as_json:
            print_json({**ev.summary, "html": str(paths["html"]),
                        "equity": report.counts if report is not None else None})
            return
        for v in ev.verdicts:
            echo(v)
        echo(f"report: {paths['html']}")

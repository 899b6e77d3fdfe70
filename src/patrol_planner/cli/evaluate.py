"""``patrol-planner evaluate``: did a hot-spot programme reduce crime and harm, and who bore the patrols."""

from __future__ import annotations

from pathlib import Path

import typer

from patrol_planner.cli._common import echo, print_json, user_errors


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
        from patrol_planner.evaluation import equity as eq
        from patrol_planner.evaluation.files import evaluate_files, write_evaluation
        from patrol_planner.evaluation.run import EvaluationParams

        check_output_dir(out, "evaluation.json")
        warn = eq.guard_equity_table(out, ons)  # before the work: a table from other ONS tables is not replaced
        if warn:
            echo(warn, err=True)
        run = evaluate_files(programme_dir, crimes, params=EvaluationParams(ring_m=ring_m, n_draws=draws, seed=seed,
                                                                            se=se),
                             dosage=dosage, mapping=mapping, ons=ons)
        ev, report = run.evaluation, run.equity
        if report is None:
            echo(f"warning: {run.equity_reason}" + (f" ({out / 'equity.csv'} of the last run is not kept)"
                                                    if (out / "equity.csv").is_file() else ""), err=True)
        for w in run.warnings:
            echo(f"warning: {w}", err=True)
        with atomic_output_dir(out, marker="evaluation.json") as stage:
            staged = write_evaluation(run, stage)
        paths = {k: final_path(p, stage, out) for k, p in staged.items()}
        if as_json:
            print_json({**ev.summary, "html": str(paths["html"]),
                        "equity": report.counts if report is not None else None})
            return
        for v in ev.verdicts:
            echo(v)
        echo(f"report: {paths['html']}")

"""A programme evaluated from files, as ``patrol-planner evaluate`` does it: read the folder and the crime files,
run :func:`~patrol_planner.evaluation.run.evaluate`, link spots to deprivation deciles, record provenance.

The command and the tasking room's evaluation job make this one call, so both give the same figures from the
same inputs; :func:`write_evaluation` writes the files (``evaluation.html``, ``evaluation.json`` ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patrol_planner.evaluation.run import Evaluation, EvaluationParams
from patrol_planner.programme import Programme


@dataclass(frozen=True)
class EvaluationRun:
    """What :func:`evaluate_files` found: the evaluation, the programme read, the equity report (or the
    one-line reason there is none), the provenance record and warnings for the user (one line each)."""

    evaluation: Evaluation
    programme: Programme
    provenance: dict[str, Any]
    equity: Any = None
    equity_reason: str = ""
    warnings: list[str] = field(default_factory=list)


def crime_files(paths: Sequence[str | Path]) -> list[Path]:
    """Files from ``paths``: a folder gives its ``*.csv`` files (sorted), a file itself."""
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(p.glob("*.csv")) if p.is_dir() else [p])
    return out


def evaluate_files(programme_dir: str | Path, crimes: Sequence[str | Path], *,
                   params: EvaluationParams | None = None, dosage: str | Path | None = None,
                   mapping: str | None = None, ons: str | Path | None = None) -> EvaluationRun:
    """Evaluate the programme in ``programme_dir`` on the crime files ``crimes`` (files or folders of CSV).

    ``dosage``: a dosage folder (``dosage.csv``) or file, for delivery figures and the as-delivered
    estimate; ``mapping``: the column mapping of generic crime CSVs; ``ons``: the ONS tables' folder
    (default: the bundled subset). Raises the package's one-line errors (``ProgrammeError``,
    ``EvaluationError``, ``DosageError``, ``IncidentError``) for bad input.
    """
    from patrol_planner.errors import EvaluationError
    from patrol_planner.evaluation import equity as eq
    from patrol_planner.evaluation.dosage import read_dosage
    from patrol_planner.evaluation.placeday import project_spots
    from patrol_planner.evaluation.run import evaluate
    from patrol_planner.incidents import ingest
    from patrol_planner.programme import read_programme
    from patrol_planner.provenance import provenance

    params = params or EvaluationParams()
    prog = read_programme(programme_dir)
    files = crime_files(crimes)
    incidents = ingest(files, mapping=mapping).incidents
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
    inputs = [*files, prog.folder / "programme.json", prog.folder / "schedule.csv", prog.folder / "spots.geojson"]
    inputs += [p for p in (prog.folder / "amendments.csv",) if p.exists()]
    if dosage is not None:
        inputs.append(Path(dosage) / "dosage.csv" if Path(dosage).is_dir() else Path(dosage))
    prov = provenance(inputs, {"ring_m": params.ring_m, "n_draws": params.n_draws, "seed": params.seed,
                               "se": params.se, "mapping": mapping, "ons": str(ons) if ons else "bundled"})
    warnings = []
    if ev.summary.get("design"):
        prov["ran"] = {"randomisation design": ev.summary["design"]}
        if ev.summary["design"]["used"] != ev.summary["design"]["requested"]:
            warnings.append(f"randomisation design fallback: {ev.summary['design']['why']}")
    return EvaluationRun(ev, prog, prov, report, reason, warnings)


def write_evaluation(run: EvaluationRun, out: str | Path) -> dict[str, Path]:
    """Write the evaluation's files into folder ``out`` (see :func:`~.report.write_outputs`); paths by name."""
    from patrol_planner.evaluation.report import write_outputs

    return write_outputs(run.evaluation, run.programme, out, provenance=run.provenance, equity=run.equity,
                         equity_reason=run.equity_reason)

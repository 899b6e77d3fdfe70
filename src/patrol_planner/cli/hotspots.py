"""``patrol-planner hotspots`` and ``patrol-planner backtest``: score cells, and prove the model."""

from __future__ import annotations

from pathlib import Path

import typer

from patrol_planner.cli._common import echo, print_json, table_console, user_errors
from patrol_planner.sanitise import terminal_safe


def _load(files: list[Path]):  # noqa: ANN202
    from patrol_planner.incidents import ingest

    return ingest(files).incidents


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def hotspots(
    files: list[Path] = typer.Argument(..., help="Crime / intelligence CSV files (police.uk, API, generic)."),
    as_of: str = typer.Option(..., "--as-of", help="Prediction date YYYY-MM-DD; only earlier records count."),
    out: Path = typer.Option(..., "--out", help="GeoJSON file to write (EPSG:4326 cell polygons)."),
    cell_size_m: float | None = typer.Option(None, "--cell-size-m", help="Cell side [m] (default: the model's)."),
    top: int = typer.Option(50, "--top", help="How many cells to write."),
    half_life_days: float | None = typer.Option(None, "--half-life-days", help="Recency half-life [days]."),
    harm: str = typer.Option("cchi", "--harm", help="Harm table: cchi or ons_css."),
    grid: str = typer.Option("square", "--grid", help="Cell shape: square or hex."),
    group: bool = typer.Option(False, "--group/--no-group", help="Group touching cells into hotspot areas."),
    ranker: str = typer.Option("blend", "--ranker", help="blend (learned + weighted + past + shrunk harm), "
                               "auto (chosen on the force's own recent months), weighted, harm, shrunk or learned."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON summary object."),
) -> None:
    """Score cells at --as-of and write the top ones, with their breakdown, as GeoJSON."""
    from patrol_planner.atomic import atomic_write_text
    from patrol_planner.errors import HotspotError, PatrolPlannerError
    from patrol_planner.hotspots import HotspotModel, cells_to_geojson, select_hotspots
    from patrol_planner.jsonsafe import strict_dumps

    params: dict = {"harm": harm, "grid": grid, "ranker": ranker}
    if cell_size_m is not None:
        params["cell_size_m"] = cell_size_m
    if half_life_days is not None:
        params["half_life_days"] = half_life_days
    incidents = _load(files)
    cells = HotspotModel(**params).fit(incidents).score(as_of)
    sel = select_hotspots(cells, top=top, group_adjacent=group)
    fc = cells_to_geojson(sel)
    try:
        atomic_write_text(out, strict_dumps(fc, what=str(out), error=HotspotError))
    except PatrolPlannerError as exc:
        raise HotspotError(str(exc)) from None
    summary = {
        "out": str(out), "as_of": cells.attrs["as_of"], "cells_scored": len(cells), "cells_written": len(sel),
        "records_used": int(cells["n_incidents"].sum()), "share_of_score_written":
        float(sel["score"].sum() / cells["score"].sum()) if len(cells) else 0.0,
        "ranking": cells.attrs["ranking"]["method"], "ranking_reason": cells.attrs["ranking"]["reason"],
        "profile_sources": cells.attrs["profile_sources"],
    }
    if as_json:
        print_json(summary)
        return
    echo(
        f"{summary['cells_written']} of {summary['cells_scored']} scored cells "
        f"({100 * summary['share_of_score_written']:.1f}% of the total score) written to {out}; "
        f"ranking: {summary['ranking']} ({summary['ranking_reason']})"
    )


#: Default folds of one backtest, and of the backtests across forces (as ``backtest_forces``): with fold
#: noise of +-2-5% at the smallest budget (docs/hotspots.md), comparing forces wants the longer run.
SINGLE_FOLDS = 4
BY_FORCE_FOLDS = 6
#: Most local worker processes: each holds a force's records and models (about 1 GB for a large force), so a
#: mistyped count must not start thousands of processes.
MAX_LOCAL_WORKERS = 64


def backtest(
    files: list[Path] = typer.Argument(..., help="Crime CSV files, folders or police.uk ZIP archives."),
    budget: list[float] = typer.Option(
        [0.001, 0.01, 0.05], "--budget", help="Area budget(s), shares of the study area: --budget 0.001 0.01 0.05."
    ),
    folds: int | None = typer.Option(None, "--folds", help="Score the last N months (each trained on all earlier "
                                     "ones); default 4, or 6 with --by-force (a force comparison needs more)."),
    by_force: bool = typer.Option(False, "--by-force", help="One backtest per police force found in the inputs."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address (--by-force); "
                                         "default a local cluster."),
    workers: int = typer.Option(2, "--workers", help="Local worker processes (--by-force); 0 = plain loop."),
    out: Path | None = typer.Option(None, "--out", help="Folder for national.csv/.json/.png (--by-force)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """Rolling-origin monthly backtest of the model against baselines at equal area, with the ceiling."""
    from patrol_planner.atomic import check_output_dir
    from patrol_planner.errors import HotspotError

    # click gives one value per --budget; the numbers after the first land among FILES, so move them back
    extra = [f for f in files if not f.exists() and _is_number(str(f))]
    files = [f for f in files if f not in extra]
    budgets = [*budget, *(float(str(f)) for f in extra)]
    if not files:
        raise HotspotError("backtest needs at least one crime file")
    if by_force:
        if out is not None:
            check_output_dir(out, "national.json")
        _backtest_by_force(files, budgets=budgets, folds=BY_FORCE_FOLDS if folds is None else folds,
                           scheduler=scheduler, workers=workers, out=out, as_json=as_json)
        return
    if out is not None or scheduler is not None:
        raise HotspotError("--out and --scheduler go with --by-force")
    _backtest_one(files, budgets=budgets, folds=SINGLE_FOLDS if folds is None else folds, as_json=as_json)


def _backtest_one(files: list[Path], *, budgets: list[float], folds: int, as_json: bool) -> None:
    from rich.table import Table

    from patrol_planner.hotspots.backtest import CEILING, model_margin, summarise
    from patrol_planner.hotspots.backtest import backtest as run
    from patrol_planner.incidents import forces_in

    res = run(_load(files), folds=folds, budgets=budgets)
    margin = model_margin(res)
    if as_json:
        print_json({"results": res.to_dict("records"), "summary": summarise(res).to_dict("records"),
                    "margin": margin.to_dict("records"), "meta": res.attrs})
        return
    con = table_console()
    summ = summarise(res)
    for b, g in summ.groupby("budget"):
        months = ", ".join(sorted(res.fold.unique()))
        t = Table(title=f"budget {100 * b:g}% of the study area: mean over folds {months}")
        for c in ("method", "harm captured", "hit rate", "PAI"):
            t.add_column(c, justify="left" if c == "method" else "right")
        for _, r in g.iterrows():
            name = f"{r['method']} (ceiling: knew the month)" if r["method"] == CEILING else r["method"]
            t.add_row(name, f"{100 * r['harm_captured']:.1f}%", f"{100 * r['hit_rate']:.1f}%", f"{r['pai']:.1f}")
        con.print(t)
    con.print(_margin_table(margin, "model vs best baseline (harm captured)"))
    if res.fold.nunique() < folds:
        con.print(_few_folds_note("the data", int(res.fold.nunique()), folds))
    if res.attrs.get("budgets_dropped"):
        con.print(_dropped_note("the data", res.attrs["budgets_dropped"]), markup=False)
    forces = sorted(forces_in(files))
    if len(forces) > 1:
        con.print(terminal_safe(f"note: the inputs hold {len(forces)} forces ({', '.join(forces)}), backtested as one "
                                "area; --by-force backtests each"), markup=False)
    top = res[(res.selection == "top") & (res.method == "model")].groupby("budget").harm_captured.mean()
    for n, v in top.items():
        con.print(f"model top {n:g} cells capture {100 * v:.1f}% of next month's harm (mean over folds)")


def _margin_table(margin, title: str, *, force: bool = False):  # noqa: ANN001, ANN202
    from rich.table import Table

    from patrol_planner.cli._tables import ratio_interval_text

    t = Table(title=title, caption="95% interval: paired t on the folds' log ratios; folds are consecutive "
              "months (too narrow) and the best baseline is chosen after the fact (favours it).")
    cols = ("force", "budget", "model", "best baseline", "ratio", "95% interval", "folds won", "ceiling")
    for c in cols if force else cols[1:]:
        t.add_column(c, justify="left" if c == "force" else "right")
    for _, r in margin.iterrows():
        row = [f"{100 * r['budget']:g}%", f"{100 * r['model']:.1f}%",
               f"{r['best_baseline']} {100 * r['best_baseline_harm']:.1f}%", f"{r['ratio']:.3f}",
               ratio_interval_text(r), f"{r['folds_won']}/{r['n_folds']}", f"{100 * r['ceiling']:.1f}%"]
        t.add_row(*([r["force"], *row] if force else row))
    return t


def _backtest_by_force(files: list[Path], *, budgets: list[float], folds: int, scheduler: str | None,
                       workers: int, out: Path | None, as_json: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from patrol_planner.errors import HotspotError
    from patrol_planner.hotspots.national import backtest_forces, find_forces

    if not 0 <= workers <= MAX_LOCAL_WORKERS:
        raise HotspotError(f"--workers must be between 0 and {MAX_LOCAL_WORKERS}, got {workers}")
    con = table_console(stderr=True)
    n = len(find_forces(files))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=con, disable=as_json) as bar:
        task = bar.add_task(f"backtests of {n} force{'' if n == 1 else 's'}", total=n)

        def done(o: dict) -> None:
            if "error" in o:
                bar.console.print(terminal_safe(f"{o['force']}: NOT BACKTESTED: {o['error']}"), markup=False,
                                  highlight=False)
                bar.advance(task)
                return
            m = o["margin"]
            ratios = " ".join(f"{100 * b:g}%: {r:.3f}" for b, r in zip(m["budget"], m["ratio"], strict=True))
            line = f"{o['force']}: {_ingest_line(o)}, {o['seconds']:.1f} s; model/best {ratios}"
            bar.console.print(terminal_safe(line), markup=False, highlight=False)
            if o["meta"].get("budgets_dropped"):
                bar.console.print(terminal_safe(_dropped_note(o["force"], o["meta"]["budgets_dropped"])), markup=False)
            for u in o["ingest"]["unreadable"]:
                bar.console.print(terminal_safe(f"{o['force']}: UNREADABLE {u['file']}: {u['error']}"), markup=False)
            bar.advance(task)

        nat = backtest_forces(files, folds=folds, budgets=budgets, scheduler=scheduler, workers=workers,
                              on_done=done)
    written = _write_national(nat, out, files) if out is not None else []
    if as_json:
        print_json({**nat.to_json(), "written": written})
        _fail_if_some_failed(nat.failed, n)
        return
    table_console().print(_margin_table(nat.table, "model vs best baseline by force (harm captured, mean over folds)",
                                  force=True))
    if nat.meta.get("skipped"):
        echo("skipped (not crime records): " + ", ".join(f"{k} {v}" for k, v in nat.meta["skipped"].items()))
    n_folds = nat.table.groupby("force")["n_folds"].max()
    for force, k in n_folds[n_folds < folds].items():
        echo(_few_folds_note(str(force), int(k), folds))
    for w in written:
        echo(f"wrote {w}")
    _fail_if_some_failed(nat.failed, n)


def _fail_if_some_failed(failed: dict[str, str], n: int) -> None:
    """The table holds the forces that ran; a run that left any out must not exit 0."""
    from patrol_planner.errors import HotspotError

    if failed:
        raise HotspotError(f"{len(failed)} of {n} forces could not be backtested (no rows in the table): "
                           + "; ".join(f"{f}: {why}" for f, why in failed.items()))


def _ingest_line(o: dict) -> str:
    """``N records (Q quarantined: reasons; skipped: kinds)`` for one force's backtest task."""
    a = o["ingest"]
    out = f"{o['n_records']} records"
    extra = []
    if a["rows_quarantined"]:
        why = ", ".join(f"{k} {v}" for k, v in a["quarantine_reasons"].items())
        extra.append(f"{a['rows_quarantined']} quarantined: {why}")
    if a["skipped"]:
        extra.append("skipped " + ", ".join(f"{k} {v}" for k, v in a["skipped"].items()))
    if a["missing_months"]:
        extra.append("NO RECORDS AT ALL in " + ", ".join(a["missing_months"]))
    return out + (f" ({'; '.join(extra)})" if extra else "")


def _dropped_note(what: str, dropped: list[float]) -> str:
    return (f"note: {what}: budget(s) {', '.join(f'{100 * b:g}%' for b in dropped)} hold less than one cell of "
            "this study area and were not scored")


def _few_folds_note(what: str, n: int, asked: int) -> str:
    """The plain-words warning when the data held fewer months than the folds asked for."""
    why = "no interval, and one month's noise decides the ratios" if n < 2 else f"the intervals rest on {n} months"
    return f"note: {what}: {n} fold{'' if n == 1 else 's'} of the {asked} asked (too few months of data): {why}"


def _write_national(nat, out: Path, files: list[Path]) -> list[str]:  # noqa: ANN001
    from patrol_planner.atomic import atomic_output_dir, final_path
    from patrol_planner.errors import HotspotError
    from patrol_planner.report.national import write_national

    try:
        with atomic_output_dir(out, marker="national.json") as stage:
            paths = write_national(nat, stage, files)
    except OSError as exc:
        raise HotspotError(f"cannot write to {out}: {exc.strerror}") from None
    return [str(final_path(p, stage, out)) for p in paths.values()]


def register(app: typer.Typer) -> None:
    """Add the ``hotspots`` and ``backtest`` commands to ``app``."""
    app.command("hotspots")(user_errors(hotspots))
    app.command("backtest")(user_errors(backtest))

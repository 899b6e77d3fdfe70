"""Backtests across forces: each force's rolling backtest as one independent task, on Dask distributed.

``backtest_forces(paths)`` finds the forces in police.uk archives and folders (``forces_in``), runs
:func:`patrol_planner.hotspots.backtest.backtest` once per force and gathers a national table (force x
budget: the model, the best baseline, their ratio, folds won and the perfect-foresight ceiling). Each
task ingests only its own force's files, so a worker never holds more than one force's table and no
national table is ever built in one process. Results are identical to a plain loop over the forces
(:func:`backtest_force` is the task; ``scheduler=None, workers=0`` runs that loop in this process).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.errors import DataQualityWarning, HotspotError, InputFileError, PatrolPlannerError
from patrol_planner.hotspots.backtest import DEFAULT_BUDGETS, backtest, model_margin

#: Columns of the national table, in order.
NATIONAL_COLUMNS: tuple[str, ...] = (
    "force", "budget", "model", "best_baseline", "best_baseline_harm", "ratio", "ratio_lo", "ratio_hi",
    "folds_won", "n_folds", "ceiling", "n_records", "seconds",
)


def find_forces(paths: Sequence[str | Path]) -> dict[str, list[str]]:
    """Force slug -> the sources holding its street files, from archives, folders and CSV files."""
    from patrol_planner.incidents import forces_in

    found = forces_in([str(p) for p in paths])
    if not found:
        raise InputFileError(
            "no police.uk street files (YYYY-MM-<force>-street.csv) found in "
            + ", ".join(str(p) for p in paths)
        )
    return found


def backtest_force(force: str, sources: Sequence[str], *, folds: int = 6,
                   budgets: Sequence[float] = DEFAULT_BUDGETS,
                   model_params: Mapping[str, Any] | None = None,
                   variants: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """One force's rolling backtest (the task of :func:`backtest_forces`): ingest its files, run it.

    Returns
    -------
    dict
        ``force``, ``results`` (the :func:`~patrol_planner.hotspots.backtest.backtest` frame),
        ``margin`` (:func:`~patrol_planner.hotspots.backtest.model_margin`), ``meta`` (the results'
        attrs), ``n_records``, ``ingest`` (what was read for this force: ``rows_read``,
        ``rows_quarantined``, ``quarantine_reasons``, ``skipped`` members by kind, ``unreadable`` members,
        ``missing_months`` with no record at all),
        ``seconds`` (wall time of the task [s]), ``pid`` (the process that ran it) and ``peak_rss_mb``
        (that process's peak resident memory so far [MiB]).
    """
    t0 = time.perf_counter()
    from patrol_planner.incidents import ingest

    with warnings.catch_warnings():  # a worker's warnings would be lost in its log: they are in the account
        warnings.simplefilter("ignore", DataQualityWarning)
        ing = ingest(list(sources), force=force)
    rep = ing.report
    # the force's own accounting, so a national run drops nothing silently either
    account = {"rows_read": rep.rows_read, "rows_quarantined": rep.rows_quarantined,
               "quarantine_reasons": dict(rep.quarantine_reasons), "skipped": dict(rep.skipped),
               "unreadable": [dict(u) for u in rep.unreadable], "missing_months": list(rep.missing_months)}
    res = backtest(ing.incidents, folds=folds, budgets=budgets, model_params=model_params, variants=variants)
    return {"force": force, "results": res, "margin": model_margin(res), "meta": dict(res.attrs),
            "n_records": len(ing.incidents), "ingest": account, "seconds": time.perf_counter() - t0,
            "pid": os.getpid(), "peak_rss_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far [MiB] (Linux/macOS; NaN elsewhere)."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 if sys.platform != "darwin" else peak / 2**20


@dataclass(frozen=True)
class NationalBacktest:
    """Per-force backtests and the national table.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per force and budget, columns :data:`NATIONAL_COLUMNS` (``ratio`` = model / best
        baseline mean harm captured [-]; ``ceiling`` = perfect-foresight harm captured [-]).
    results : dict of str to pandas.DataFrame
        Each force's full backtest frame.
    tasks : list of dict
        Per force: ``force, n_records, ingest`` (rows read and quarantined with reasons, skipped and unreadable
        archive members), ``seconds, pid, peak_rss_mb`` (which process ran it, its peak memory).
    failed : dict of str to str
        Forces that could not be backtested -> why (too few months, unreadable files...); they have no
        rows in ``table``.
    meta : dict
        Run settings: scheduler, workers, folds, budgets, model parameters, wall time [s]; from
        :func:`backtest_forces`, ``skipped``: input members no force's task reads, by kind.
    """

    table: pd.DataFrame
    results: dict[str, pd.DataFrame]
    tasks: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready object: ``table`` (records), ``tasks``, ``failed`` and ``meta``."""
        return {"table": self.table.replace({np.nan: None}).to_dict("records"), "tasks": self.tasks,
                "failed": dict(self.failed), "meta": self.meta}


def national_table(outs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The force x budget table from :func:`backtest_force` outputs (sorted by force, budget)."""
    rows = []
    for o in outs:
        for r in o["margin"].to_dict("records"):
            rows.append({**r, "force": o["force"], "n_records": o["n_records"], "seconds": o["seconds"]})
    return pd.DataFrame(rows, columns=list(NATIONAL_COLUMNS)).sort_values(["force", "budget"]).reset_index(drop=True)


def backtest_forces(
    paths: Sequence[str | Path],
    *,
    folds: int = 6,
    budgets: Sequence[float] = DEFAULT_BUDGETS,
    model_params: Mapping[str, Any] | None = None,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> NationalBacktest:
    """Each force's rolling backtest as an independent Dask task, gathered into a national table.

    Parameters
    ----------
    paths : sequence of path
        police.uk ZIP archives, folders and street CSV files (any mix, any number of forces).
    folds, budgets, model_params, variants
        As :func:`patrol_planner.hotspots.backtest.backtest`.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); default a LocalCluster on this machine.
    workers : int
        LocalCluster worker processes (one thread each, so one force per worker at a time); ``0`` runs a
        plain loop in this process (no Dask).
    on_done : callable, optional
        Called with each force's :func:`backtest_force` output as it finishes (progress).
    """
    from patrol_planner.incidents import skipped_in

    jobs = {f: (f, src) for f, src in find_forces(paths).items()}
    nat = backtest_jobs(jobs, folds=folds, budgets=budgets, model_params=model_params, variants=variants,
                        scheduler=scheduler, workers=workers, on_done=on_done)
    # members no force task reads (outcomes, stop-and-search, READMEs): counted once for the run
    return replace(nat, meta={**nat.meta, "skipped": skipped_in([str(p) for p in paths])})


def backtest_jobs(
    jobs: Mapping[str, tuple[str, Sequence[str]]],
    *,
    folds: int = 6,
    budgets: Sequence[float] = DEFAULT_BUDGETS,
    model_params: Mapping[str, Any] | None = None,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> NationalBacktest:
    """Like :func:`backtest_forces` for explicit jobs ``{label: (force slug, sources)}``: the table's
    ``force`` column holds the label (e.g. two years of one force as ``essex-2018`` and ``essex-2025``)."""
    t0 = time.perf_counter()
    kw = {"folds": folds, "budgets": tuple(budgets), "model_params": dict(model_params or {}),
          "variants": {k: dict(v) for k, v in (variants or {}).items()}}
    outs: list[dict[str, Any]] = []
    if scheduler is None and workers == 0:
        for label, (f, src) in jobs.items():
            outs.append(_labelled(label, f, src, **kw))
            if on_done:
                on_done(outs[-1])
        how = "loop"
    else:
        outs = _run_dask(jobs, kw, scheduler=scheduler, workers=workers, on_done=on_done)
        how = scheduler or f"LocalCluster({workers} workers x 1 thread)"
    outs.sort(key=lambda o: o["force"])
    failed = {o["force"]: o["error"] for o in outs if "error" in o}
    outs = [o for o in outs if "error" not in o]
    if not outs:
        raise HotspotError("no force could be backtested: "
                           + "; ".join(f"{f}: {why}" for f, why in failed.items()))
    return NationalBacktest(
        table=national_table(outs),
        results={o["force"]: o["results"] for o in outs},
        failed=failed,
        tasks=[{k: o[k] for k in ("force", "n_records", "ingest", "seconds", "pid", "peak_rss_mb")} for o in outs],
        meta={"scheduler": how, "folds": folds, "budgets": list(budgets), "forces": list(jobs),
              "model_params": outs[0]["meta"].get("model_params") if outs else {},
              "model_rankings": {o["force"]: o["meta"].get("model_rankings") for o in outs},
              "wall_s": time.perf_counter() - t0},
    )


def _labelled(label: str, force: str, sources: Sequence[str], **kw: Any) -> dict[str, Any]:
    """One task: the force's backtest, or the reason it could not run. A force whose data cannot be
    backtested (one month, an unreadable archive...) is that force's failure, not the whole run's: with
    tens of forces, one with a gap in its published months must not stop the others."""
    try:
        return {**backtest_force(force, sources, **kw), "force": label}
    except PatrolPlannerError as exc:
        return {"force": label, "error": str(exc)}


def _input_bytes(sources: Sequence[str]) -> int:
    """Total size of the files under ``sources`` [bytes]: a proxy for a force's backtest time."""
    total = 0
    for s in sources:
        p = Path(s)
        files = [p] if p.is_file() else (q for q in p.rglob("*") if q.is_file()) if p.is_dir() else []
        total += sum(q.stat().st_size for q in files)
    return total


def _check_address(scheduler: str) -> None:
    """Refuse an address Dask cannot parse (a missing port, a stray word) before any connection is tried."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, loc = parse_address(scheduler)
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(loc)
    except (ValueError, TypeError) as exc:
        raise HotspotError(f"--scheduler {scheduler!r} is not a Dask scheduler address such as tcp://host:8786 "
                           f"({exc}); leave it out for a local cluster") from None


def _run_dask(jobs: Mapping[str, tuple[str, Sequence[str]]], kw: Mapping[str, Any], *, scheduler: str | None,
              workers: int, on_done: Callable[[dict[str, Any]], None] | None) -> list[dict[str, Any]]:
    from dask.distributed import Client, KilledWorker, LocalCluster, as_completed

    if scheduler is None and workers < 1:
        raise HotspotError(f"workers must be >= 1 for a LocalCluster (0 = plain loop), got {workers}")
    if scheduler is not None:
        _check_address(scheduler)
    cluster = None
    if scheduler is None:
        # processes, one thread each: one force's table per worker process, and no GIL contention
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
    try:
        with Client(cluster if cluster is not None else scheduler, timeout="30s") as client:
            # largest inputs first (higher priority runs first): the longest tasks start early and the short
            # ones fill in behind them, so no worker is left running a big force alone at the end
            futs = {client.submit(_labelled, label, f, list(src), pure=False, key=f"backtest-{label}",
                                  priority=_input_bytes(src), **kw): label
                    for label, (f, src) in jobs.items()}
            outs = []
            for fut in as_completed(futs):
                try:
                    o = fut.result()
                except KilledWorker:  # the force's failure, as a too-short history is (see _labelled)
                    o = {"force": futs[fut], "error": "the Dask worker running it died (out of memory?); give "
                         "workers more memory or run fewer at once"}
                outs.append(o)
                if on_done:
                    on_done(o)
            return outs
    except OSError as exc:
        raise HotspotError(f"cannot reach the Dask scheduler {scheduler or '(local)'}: {exc}") from None
    finally:
        if cluster is not None:
            cluster.close()

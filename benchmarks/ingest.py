"""Benchmark: ingest() on all seven Essex 2018 police.uk files vs a plain pandas.read_csv of the same files.

Run: ``python benchmarks/ingest.py [--repeat N] [--rounds R] [--archive] [--members M] [--expansion]``. Prints the
figures and, last, one JSON line. ``--archive`` adds, in-process, the same seven files read from a police.uk-style
ZIP (built in a temporary folder, ``YYYY-MM/`` members, deflated): ``ingest(zip)`` against ``ingest(csv files)`` and
against a plain ``pandas.read_csv`` of each member opened with ``zipfile``. ``--members M`` adds the time of
``ingest`` of a ZIP of M one-row street members (an archive is opened once for all its members; opened per member,
5,000 took 185 s). ``--expansion`` only prints how many times police.uk street members expand (uncompressed /
compressed size) in the six 2025 force archives of ``../shared/data/raw/policeuk-2025-eastern`` (docs/incidents.md).
Target: ingest time <= 2x the plain read. Peak memory is Python-traced allocations (tracemalloc; pandas'
C parser buffers are not traced, hence the small figure for the plain read) plus the process peak RSS.

Two measurements, both best-of-N wall and CPU time of this very call of ``pandas.read_csv(path)`` per file
(the plain read) and of ``ingest(files)``:

* isolated: each side in its own child process (a warm-up call, then ``--repeat`` timed calls), the two
  kinds of child taking turns ``--rounds`` times. Neither side runs in memory the other one left behind.
* in-process: both in this process, taking turns. Here the plain read runs in a heap that the previous
  ``ingest`` call grew, so it takes no page faults, while ``ingest`` (which needs more memory) does; on the
  shared VM a page fault is dear (~16k faults, ~40 ms of kernel time per ingest run), so this figure
  favours the plain read. Reported for comparison with earlier figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

import pandas as pd

from patrol_planner.incidents import ingest

REPO = Path(__file__).resolve().parents[1]
ESSEX = REPO / ".." / "shared" / "data" / "raw" / "policeuk-essex-2018"
EASTERN = REPO / ".." / "shared" / "data" / "raw" / "policeuk-2025-eastern"


def _best_of(fns, repeat: int) -> list[tuple[float, float]]:
    """Best wall time and best CPU time of this process [s] of each function (CPU time is steadier).

    The functions take turns (a, b, a, b, ...), so that load from other jobs on a shared machine falls on
    both alike instead of on whichever happened to run while it was busy.
    """
    best = [[float("inf"), float("inf")] for _ in fns]
    for _ in range(repeat):
        for fn, b in zip(fns, best, strict=True):
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            b[0] = min(b[0], time.perf_counter() - t0)
            b[1] = min(b[1], time.process_time() - c0)
    return [(w, c) for w, c in best]


def _child(kind: str, files: list[Path], repeat: int) -> None:
    """Child process: one warm-up call, then the best of ``repeat`` timed calls, as one JSON line."""
    fn = (lambda: [pd.read_csv(f) for f in files]) if kind == "plain" else (lambda: ingest(files))
    fn()
    (wall, cpu), = _best_of([fn], repeat)
    print(json.dumps({"kind": kind, "wall": wall, "cpu": cpu}))


def _isolated(rounds: int, repeat: int) -> dict[str, tuple[float, float]]:
    """Best (wall, CPU) [s] of each kind over ``rounds`` pairs of child processes (plain, ingest, plain, ...)."""
    best = {"plain": [float("inf")] * 2, "ingest": [float("inf")] * 2}
    for _ in range(rounds):
        for kind in ("plain", "ingest"):
            out = subprocess.run([sys.executable, __file__, "--child", kind, "--repeat", str(repeat)],
                                 check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            best[kind] = [min(best[kind][0], r["wall"]), min(best[kind][1], r["cpu"])]
    return {k: (v[0], v[1]) for k, v in best.items()}


def _archive_figures(files: list[Path], repeat: int) -> dict[str, float]:
    """Best-of wall and CPU times [s]: ingest of a ZIP of ``files``, of the files, plain read_csv of each member."""
    with tempfile.TemporaryDirectory() as tmp:
        z = Path(tmp) / "essex.zip"
        with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for f in files:
                zf.write(f, f"{f.name[:7]}/{f.name}")

        def plain_zip() -> None:
            with zipfile.ZipFile(z) as zf:
                for name in zf.namelist():
                    with zf.open(name) as fh:
                        pd.read_csv(fh)

        ingest(z)  # warm-up
        best = _best_of([lambda: ingest(z), lambda: ingest(files), plain_zip], repeat)
        assert ingest(z).report.rows_read == ingest(files).report.rows_read
    out = {}
    for key, (wall, cpu) in zip(("archive_ingest", "csv_ingest", "archive_plain_read"), best, strict=True):
        out[f"{key}_s"], out[f"{key}_cpu_s"] = wall, cpu
    return out


def _members_figure(n_members: int) -> dict[str, float]:
    """Wall time [s] of one ingest of a ZIP holding ``n_members`` one-row street CSVs."""
    header = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
              "Crime type,Last outcome category,Context")
    with tempfile.TemporaryDirectory() as tmp:
        z = Path(tmp) / "many.zip"
        with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for i in range(n_members):
                row = f"c{i},2022-07,F,F,-0.7{i:05d},52.6{i:05d},On or near X,E01013761,R,Burglary,,"
                zf.writestr(f"2022-07/part{i:05d}.csv", f"{header}\n{row}\n")
        t0 = time.perf_counter()
        rep = ingest(z).report
        wall = time.perf_counter() - t0
    assert rep.rows_read == n_members
    return {"members": n_members, "members_ingest_s": wall}


def _peak_mib(fn) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def _expansion() -> dict[str, float]:
    """Uncompressed / compressed size of every street member of the shared 2025 force archives."""
    import zipfile

    ratios = [i.file_size / i.compress_size for z in sorted(EASTERN.glob("*.zip"))
              for i in zipfile.ZipFile(z).infolist() if i.filename.endswith("-street.csv") and i.compress_size]
    if not ratios:
        raise SystemExit(f"needs the force archives in {EASTERN}")
    print(f"{len(ratios)} street members expand {min(ratios):.2f}-{max(ratios):.2f} times")
    return {"members": len(ratios), "expansion_min": round(min(ratios), 3), "expansion_max": round(max(ratios), 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each (interleaved); the best is reported")
    ap.add_argument("--rounds", type=int, default=3, help="pairs of child processes for the isolated figures")
    ap.add_argument("--archive", action="store_true", help="also time reading the files from a ZIP archive")
    ap.add_argument("--members", type=int, default=0, help="also time ingest of a ZIP of this many one-row members")
    ap.add_argument("--child", choices=("plain", "ingest"), help=argparse.SUPPRESS)
    ap.add_argument("--expansion", action="store_true", help="only print the expansion ratio of police.uk archives")
    args = ap.parse_args()
    if args.expansion:
        print(json.dumps({"benchmark": "ingest_expansion", **_expansion()}))
        return 0
    files = sorted(ESSEX.glob("*.csv"))
    if len(files) != 7:
        print(f"needs the seven Essex 2018 files in {ESSEX}", file=sys.stderr)
        return 2
    if args.child:
        _child(args.child, files, args.repeat)
        return 0
    iso = _isolated(args.rounds, args.repeat)
    (iso_plain, iso_plain_cpu), (iso_ingest, iso_ingest_cpu) = iso["plain"], iso["ingest"]

    def plain() -> None:
        for f in files:
            pd.read_csv(f)

    # Warm-up (imports, pyproj transformer). Keep only the report: holding the warm-up's tables would make every
    # timed ingest allocate fresh memory while the plain read's results are dropped at once.
    rep = ingest(files).report
    gc.collect()
    (t_plain, cpu_plain), (t_ingest, cpu_ingest) = _best_of([plain, lambda: ingest(files)], args.repeat)
    mem_plain = _peak_mib(plain)
    mem_ingest = _peak_mib(lambda: ingest(files))
    ratio, cpu_ratio = t_ingest / t_plain, cpu_ingest / cpu_plain
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f"rows read {rep.rows_read}, loaded {rep.rows_loaded}, quarantined {rep.rows_quarantined} "
          f"{rep.quarantine_reasons}")
    iso_ratio, iso_cpu_ratio = iso_ingest / iso_plain, iso_ingest_cpu / iso_plain_cpu
    n_iso = f"best of {args.rounds} processes x {args.repeat}"
    print(f"isolated   plain pandas.read_csv: {iso_plain:.3f} s wall, {iso_plain_cpu:.3f} s CPU ({n_iso})")
    print(f"isolated   ingest():              {iso_ingest:.3f} s wall, {iso_ingest_cpu:.3f} s CPU ({n_iso})")
    print(f"isolated   ratio ingest/plain: {iso_ratio:.2f}x wall, {iso_cpu_ratio:.2f}x CPU (target <= 2x)")
    print(f"in-process plain pandas.read_csv: {t_plain:.3f} s wall, {cpu_plain:.3f} s CPU (best of {args.repeat}), "
          f"peak {mem_plain:.0f} MiB (tracemalloc)")
    print(f"in-process ingest():              {t_ingest:.3f} s wall, {cpu_ingest:.3f} s CPU (best of {args.repeat}), "
          f"peak {mem_ingest:.0f} MiB (tracemalloc)")
    print(f"in-process ratio ingest/plain: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU (plain read in a warm heap); "
          f"process peak RSS {rss_mib:.0f} MiB")
    extra: dict[str, float] = {}
    if args.archive:
        extra = _archive_figures(files, args.repeat)
        print(f"archive    ingest(zip): {extra['archive_ingest_s']:.3f} s wall, {extra['archive_ingest_cpu_s']:.3f} s "
              f"CPU; ingest(csv files): {extra['csv_ingest_s']:.3f} s, {extra['csv_ingest_cpu_s']:.3f} s CPU; plain "
              f"read_csv of each member: {extra['archive_plain_read_s']:.3f} s, "
              f"{extra['archive_plain_read_cpu_s']:.3f} s CPU (best of {args.repeat})")
    if args.members:
        extra |= _members_figure(args.members)
        print(f"members    ingest of a ZIP of {args.members} one-row members: {extra['members_ingest_s']:.2f} s wall")
    print(json.dumps({"benchmark": "ingest", "rows_read": rep.rows_read, "rows_loaded": rep.rows_loaded,
                      "plain_read_s": round(t_plain, 4), "ingest_s": round(t_ingest, 4), "ratio": round(ratio, 3),
                      "plain_read_cpu_s": round(cpu_plain, 4), "ingest_cpu_s": round(cpu_ingest, 4),
                      "cpu_ratio": round(cpu_ratio, 3),
                      "isolated_plain_read_s": round(iso_plain, 4), "isolated_ingest_s": round(iso_ingest, 4),
                      "isolated_ratio": round(iso_ratio, 3), "isolated_plain_read_cpu_s": round(iso_plain_cpu, 4),
                      "isolated_ingest_cpu_s": round(iso_ingest_cpu, 4), "isolated_cpu_ratio": round(iso_cpu_ratio, 3),
                      "peak_mib_plain": round(mem_plain, 1), "peak_mib_ingest": round(mem_ingest, 1),
                      "max_rss_mib": round(rss_mib, 1), "rows_per_s": round(rep.rows_read / t_ingest),
                      **{k: round(v, 4) for k, v in extra.items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

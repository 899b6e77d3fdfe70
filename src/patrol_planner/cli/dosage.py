"""``patrol-planner dosage``: minutes of patrol presence per spot per programme day, from GPS tracks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from patrol_planner.cli._common import echo, print_json, user_errors

#: Files a --tracks folder contributes.
TRACK_SUFFIXES = (".gpx", ".csv")
_SUMMARY_KEYS = ("spot_days", "treated_days", "treated_days_patrolled", "treated_days_dose_met",
                 "treated_minutes_planned", "treated_minutes_present", "control_days_with_presence",
                 "control_minutes_present", "points_used", "points_quarantined")


def dosage_cmd(
    programme: Path = typer.Argument(..., help="Programme folder (programme.json, schedule.csv, spots.geojson)."),
    tracks: list[Path] = typer.Option(..., "--tracks", help="GPX or CSV ping files, or folders (their .gpx and "
                                      ".csv files): several after one --tracks (a shell glob such as "
                                      "tracks/*.gpx), or --tracks repeated."),
    # click options take one value each: the files after the first one land here, so that
    # "--tracks a.gpx b.gpx" (and a shell glob's expansion) work as the README writes them
    more_tracks: list[Path] | None = typer.Argument(None, metavar="TRACKS", show_default=False,
                                                    help="More track files or folders after --tracks."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for dosage.csv, dosage.json, visits.csv, "
                             "quarantine.csv and compliance.html."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with the summary."),
    tolerance_m: float = typer.Option(25.0, "--tolerance-m", help="GPS tolerance: spots are buffered by this [m]."),
    max_gap_s: float = typer.Option(120.0, "--max-gap-s", help="Longer gaps between pings are dropouts [s]."),
    merge_gap_s: float = typer.Option(180.0, "--merge-gap-s", help="Absences up to this join one visit [s]."),
    min_visit_s: float = typer.Option(60.0, "--min-visit-s", help="Shorter presence is a pass-through [s]."),
    bridge_gap_s: float = typer.Option(900.0, "--bridge-gap-s", help="A dropout up to this long with both pings "
                                       "inside a spot does not split the visit (0 = off) [s]."),
    max_speed_kph: float = typer.Option(200.0, "--max-speed-kph", help="Faster movement is a GPS error [km/h]."),
    area_margin_km: float = typer.Option(50.0, "--area-margin-km",
                                         help="Points farther from the spots are set aside [km]."),
    # a tag in help must be in backticks: the markdown help renderer drops bare <tags>
    unit_from: str = typer.Option("file", "--unit-from", help="GPX unit id: file (name of the file) or name "
                                  "(the track's `<trk><name>`)."),
    mapping: str | None = typer.Option(None, "--mapping", help="CSV column mapping: lonlat, bng, or a "
                                       ".toml/.json file (default: detected from the header)."),
    crs: str | None = typer.Option(None, "--crs", help="Working CRS (projected, metres); default chosen from "
                                   "the spots."),
    page: bool = typer.Option(True, "--page/--no-page", help="Write compliance.html."),
    up_to: str | None = typer.Option(None, "--up-to", help="Last programme day to measure (YYYY-MM-DD), for a "
                                     "programme still running; default: every programme day."),
) -> None:
    """Measure patrol presence in the programme's spots from GPS tracks; bad points are quarantined with reasons."""
    from patrol_planner.atomic import atomic_output_dir, check_output_dir, final_path
    from patrol_planner.dosage import DosageParams, measure_dosage, write_dosage
    from patrol_planner.programme import read_programme

    check_output_dir(out, "dosage.json")
    prog = read_programme(programme)
    params = DosageParams(tolerance_m=tolerance_m, max_gap_s=max_gap_s, merge_gap_s=merge_gap_s,
                          min_visit_s=min_visit_s, max_speed_kph=max_speed_kph, area_margin_km=area_margin_km,
                          unit_from=unit_from, bridge_gap_s=bridge_gap_s)
    files = _expand([*tracks, *(more_tracks or [])])
    res = measure_dosage(prog, files, params=params, mapping=mapping, crs=crs, up_to=_day(up_to))
    with atomic_output_dir(out, marker="dosage.json") as stage:
        staged = write_dosage(res, stage, inputs=files, prog=prog, page=page)
    paths = {k: final_path(p, stage, out) for k, p in staged.items()}
    for f in res.files:
        if f["error"]:
            echo(f"error: {f['error']}", err=True)
    if as_json:
        print_json({**res.summary, "notes": res.notes, "outputs": {k: str(v) for k, v in paths.items()}})
        return
    for k in _SUMMARY_KEYS:
        echo(f"{k:30s} {res.summary[k]}")
    for note in res.notes:
        echo(f"note: {note}")
    echo(f"wrote {', '.join(str(p) for p in paths.values())}")


def _day(text: str | None) -> date | None:
    from patrol_planner.errors import DosageError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DosageError(f"--up-to must be a date YYYY-MM-DD, got {text!r}") from None


def _expand(paths: list[Path]) -> list[Path]:
    """Track files: a folder gives its .gpx/.csv files, a glob the shell did not expand (quoted, or a shell
    without globbing) its matches; each file once, in the order given."""
    import glob

    from patrol_planner.errors import DosageError

    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in TRACK_SUFFIXES)
            if not found:
                raise DosageError(f"--tracks {p}: the folder holds no .gpx or .csv file")
            out.extend(found)
        elif not p.exists() and any(c in str(p) for c in "*?["):
            found = sorted(Path(q) for q in glob.glob(str(p)) if Path(q).is_file())
            if not found:
                raise DosageError(f"--tracks {p}: no file matches")
            out.extend(found)
        else:
            out.append(p)
    return list(dict.fromkeys(out))


def register(app: typer.Typer) -> None:
    """Add the ``dosage`` command to ``app``."""
    app.command("dosage")(user_errors(dosage_cmd))

"""``patrol-planner compare``: sweep the number of units over scenarios; table and PNG chart."""

from __future__ import annotations

from pathlib import Path

import typer

from patrol_planner.atomic import atomic_output_dir, check_output_dir, final_path
from patrol_planner.cli._common import print_json, user_errors
from patrol_planner.errors import ScenarioError
from patrol_planner.sanitise import spreadsheet_safe, terminal_safe

#: Most units one variant may have: a force-wide night shift, far beyond what one plan should hold.
MAX_UNITS = 50


def parse_range(text: str) -> list[int]:
    """``"2..8"`` -> [2, ..., 8]; ``"2,4,6"`` -> [2, 4, 6]; ``"3"`` -> [3]."""
    try:
        if ".." in text:
            a, b = (int(x) for x in text.split("..", 1))
            vals = list(range(a, b + 1))
        else:
            vals = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ScenarioError(f"--units {text!r}: give a range like 2..8 or a list like 2,4,6") from None
    if not vals or min(vals) < 1 or max(vals) > MAX_UNITS:
        raise ScenarioError(f"--units {text!r}: unit counts must be between 1 and {MAX_UNITS}")
    return vals


def register(app: typer.Typer) -> None:
    @app.command("compare")
    @user_errors
    def compare_cmd(
        scenarios: list[Path] = typer.Argument(..., help="Scenario TOML files to compare."),
        units: str = typer.Option("2..8", "--units", help="Unit counts to try: 2..8 or 2,4,6."),
        seconds: float | None = typer.Option(None, "--seconds", help="Solver time limit per variant [s]."),
        out: Path = typer.Option(Path("out/compare"), "--out", "-o", help="Folder for compare.csv and the chart."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print no table or progress (the files are "
                                   "still written)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Harm covered, visits, km driven and idle time per scenario and number of units."""
        from rich.console import Console
        from rich.progress import Progress

        from patrol_planner.compare import compare_units, plot_harm_vs_units
        from patrol_planner.scenario import load_scenario

        counts = parse_range(units)
        check_output_dir(out, "compare.csv")
        loaded = [load_scenario(p) for p in scenarios]
        console = Console(stderr=True, quiet=quiet or as_json)
        with Progress(console=console, transient=True) as prog:
            task = prog.add_task("planning variants", total=len(loaded) * len(counts))
            table = compare_units(loaded, counts, seconds=seconds, on_done=lambda: prog.advance(task))
        with atomic_output_dir(out, marker="compare.csv") as stage:
            spreadsheet_safe(table).to_csv(stage / "compare.csv", index=False)
            png = final_path(plot_harm_vs_units(table, stage / "harm_vs_units.png"), stage, out)
        if as_json:
            print_json({"rows": table.to_dict(orient="records"), "chart": str(png)})
            return
        if not quiet:
            from rich.table import Table
            from rich.text import Text

            t = Table(title="Scenario comparison")
            for c in ("scenario", "units", "harm_covered", "visits", "hotspots_visited", "road_km", "idle_min"):
                t.add_column(c, justify="left" if c == "scenario" else "right")
            for r in table.itertuples(index=False):
                t.add_row(Text(terminal_safe(r.scenario)), str(r.units), f"{r.harm_covered:.1f}", str(r.visits),
                          str(r.hotspots_visited), f"{r.road_km:.1f}", f"{r.idle_min:.0f}")
            Console().print(t)
            console.print(f"chart: {png}")

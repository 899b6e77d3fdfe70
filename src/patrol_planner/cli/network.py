"""``patrol-planner network``: build (or load from cache) the road graph of an OSM extract."""

from __future__ import annotations

from pathlib import Path

import typer

from patrol_planner.cli._common import echo, print_json, user_errors


def network(
    pbf: Path = typer.Argument(..., help="OpenStreetMap extract (.osm.pbf)."),
    mode: str = typer.Option("drive", "--mode", help="Network to build: drive or walk."),
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="Cache folder (default $PATROL_PLANNER_CACHE or ~/.cache/patrol_planner)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a summary."),
) -> None:
    """Build the road graph of PBF (or load it from the cache) and print its size."""
    from patrol_planner.errors import NetworkError
    from patrol_planner.network import build_network

    if mode not in ("drive", "walk"):
        raise NetworkError(f"unknown --mode {mode!r}: use drive or walk")
    net = build_network(pbf, mode=mode, cache_dir=cache_dir, use_cache=not no_cache)  # type: ignore[arg-type]
    keys = ("nodes", "edges", "scc_nodes", "dropped_nodes", "raw_nodes", "build_s", "cached", "sha256")
    out = {k: net.stats.get(k) for k in keys}
    out.update(mode=net.mode, crs=net.crs, source=str(pbf))
    if as_json:
        print_json(out)
        return
    how = "loaded from cache" if out["cached"] else "built"
    echo(
        f"{net.mode} network of {pbf.name} ({net.crs}), {how} in {out['build_s']:.2f} s: "
        f"{out['nodes']} nodes, {out['edges']} edges; largest strongly connected component "
        f"{out['scc_nodes']} junctions, {out['dropped_nodes']} dropped"
    )


def register(app: typer.Typer) -> None:
    """Add the ``network`` command to ``app``."""
    app.command("network")(user_errors(network))

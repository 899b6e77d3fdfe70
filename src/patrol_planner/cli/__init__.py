"""The ``patrol-planner`` command line: one sub-command per stage, heavy imports inside commands.

Each command module exposes ``register(app)``; errors from :mod:`patrol_planner.errors` become a
one-line message and the error's exit code (see :func:`patrol_planner.cli._common.user_errors`).
"""

from __future__ import annotations

import typer

from patrol_planner.cli import _common

app = typer.Typer(
    name="patrol-planner",
    help="Turn crime and intelligence records into a nightly proactive-patrol plan.",
    no_args_is_help=True,
    add_completion=False,
    # help texts carry units in brackets ("[m]", "[s]"); Rich markup would swallow them as style tags
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,  # incident records must never appear in a traceback
)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    _common.plain_warnings()
    if version:
        from patrol_planner import __version__

        typer.echo(__version__)
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def _register_all() -> None:
    import importlib

    for name in _common.COMMAND_MODULES:
        try:
            mod = importlib.import_module(f"patrol_planner.cli.{name}")
        except ModuleNotFoundError as exc:  # a stage's CLI module not written yet
            if exc.name == f"patrol_planner.cli.{name}":
                continue
            raise
        mod.register(app)


_register_all()


def main() -> None:
    """Console-script entry point."""
    app()

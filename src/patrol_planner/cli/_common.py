"""Shared CLI helpers: the command list, the console, and turning user errors into exit codes."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from patrol_planner.errors import PatrolPlannerError
from patrol_planner.sanitise import terminal_safe

#: Modules under patrol_planner.cli that register commands, in help order.
COMMAND_MODULES: tuple[str, ...] = ("ingest", "hotspots", "network", "plan", "compare", "programme", "evaluate",
                                   "dosage", "web", "live")

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(func: F) -> F:
    """Decorate a command so a :class:`PatrolPlannerError` prints one line and exits non-zero."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PatrolPlannerError as exc:
            echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def echo(message: object = "", *, err: bool = False) -> None:
    """``typer.echo`` for text that carries data (place names, unit ids, file names): control characters are
    shown as escapes (``\\x1b``), so a received file cannot drive the terminal."""
    typer.echo(terminal_safe(message), err=err)


def plain_warnings() -> None:
    """Show patrol_planner's own warnings (data quality, scaling) as one ``warning: ...`` line on stderr
    instead of Python's ``file:line: Class: message`` form with a source line."""
    import warnings

    from patrol_planner.errors import PatrolPlannerWarning

    previous = warnings.showwarning
    if getattr(previous, "_plain", False):
        return

    def show(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None,
             line: str | None = None) -> None:
        if issubclass(category, PatrolPlannerWarning):
            echo(f"warning: {message}", err=True)
        else:
            previous(message, category, filename, lineno, file, line)

    show._plain = True  # type: ignore[attr-defined]
    warnings.showwarning = show


def print_json(obj: Any) -> None:
    """Print one JSON object on stdout (sorted keys, one line)."""
    from patrol_planner.jsonsafe import finite_or_none

    # a figure that is undefined (a share of nothing) is null: NaN is not JSON and breaks the reader
    sys.stdout.write(json.dumps(finite_or_none(obj), sort_keys=True, default=str, allow_nan=False) + "\n")


#: Width of tables written to a file or a pipe [characters]: a scheduled job's log is read later in an
#: editor, where Rich's fallback of 80 columns would cut the backtest tables' names and intervals.
LOG_WIDTH = 140


def table_console(*, stderr: bool = False) -> Any:
    """A Rich console for tables and progress lines (on stderr with ``stderr``): the terminal's width, or
    :data:`LOG_WIDTH` when not a terminal (a scheduled job's log keeps each line whole)."""
    from rich.console import Console

    con = Console(stderr=stderr)
    return con if con.is_terminal else Console(stderr=stderr, width=LOG_WIDTH)

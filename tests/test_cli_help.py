"""Every command's --help says what each option does, as written: no option without help, nothing swallowed."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from patrol_planner.cli import app

COMMANDS = typer.main.get_command(app).commands


def _rendered(name: str) -> str:
    """The command's help as a user sees it, panel borders removed and whitespace collapsed (wide terminal,
    so no word is split)."""
    r = CliRunner().invoke(app, [name, "--help"], terminal_width=400, env={"COLUMNS": "400"})
    assert r.exit_code == 0, r.output
    return re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", r.output))


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_has_help_and_every_word_of_it_is_shown(name):
    """Each option and argument has a help text, and each of its words reaches the screen (the markdown help
    renderer drops bare <tags> and Rich markup drops [m]: both once emptied "or name (<trk><name>)" to
    "or name ()"); the command's own docstring too. Words in backticks are shown without them."""
    cmd = COMMANDS[name]
    shown = _rendered(name)
    assert "()" not in shown
    assert cmd.help, f"{name} has no docstring"
    for p in cmd.params:
        help_text = getattr(p, "help", None)
        assert help_text, f"{name} {'/'.join(p.opts)} has no help"
        for word in [*help_text.split(), *cmd.help.split()]:
            assert word.replace("`", "") in shown, f"{name} {'/'.join(p.opts)}: {word!r} is not shown"

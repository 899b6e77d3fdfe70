"""Output folders and files that appear whole or not at all.

Every command that writes a folder writes it through :func:`atomic_output_dir`: the files go into a fresh
staging folder beside the target (same parent, so the final ``rename`` stays on one filesystem), and only
when every file is written does the staging folder replace the target. The rule:

* a run that fails or is interrupted leaves the previous folder exactly as it was, and removes its staging
  folder (a killed process may leave a hidden ``.<name>.partial-*`` folder beside the target; it is never
  read and may be deleted);
* on success the previous folder is replaced as a whole: it is renamed aside, the new one renamed in, then
  the old one deleted, so a file from an earlier run (yesterday's GPX of a unit not on duty tonight) never
  sits beside today's plan. Files named in ``keep`` (a programme's ``amendments.csv``) are carried over;
* an existing non-empty folder is replaced only when it holds the command's ``marker`` file (the folder is
  one of this command's outputs); anything else, e.g. ``--out ~``, is refused;
* a target that is a symbolic link is refused, and nothing is written through a link: the staging folder is
  new (made by :func:`tempfile.mkdtemp`, mode 0700 until filled), so a link planted in the old folder is
  never followed, and single files are replaced with :func:`os.replace`, which replaces a link itself.

Between the two renames a reader may briefly find no folder; it never finds a half-written one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from patrol_planner.errors import PatrolPlannerError

#: Prefix of the hidden staging folders beside a target (``.<name>.partial-XXXX``).
PARTIAL = ".partial-"


def check_output_dir(target: str | Path, marker: str | None) -> None:
    """Refuse a target that is a link, not a folder, or a folder that is not one of this command's outputs.

    :func:`atomic_output_dir` checks this itself; a command calls it first too, so a long run is not wasted
    on a folder it would refuse at the end.
    """
    target = Path(target).expanduser().absolute()
    if target.is_symlink():
        raise PatrolPlannerError(f"output folder {target} is a symbolic link; give the real folder")
    if not target.exists():
        return
    if not target.is_dir():
        raise PatrolPlannerError(f"output folder {target} exists and is not a folder")
    if marker is not None and any(target.iterdir()) and not (target / marker).is_file():
        raise PatrolPlannerError(f"output folder {target} holds other files and no {marker}, so it is not an "
                                 f"earlier output of this command: it would be replaced as a whole; "
                                 "give a new or empty folder")


def _umask_mode() -> int:
    """The mode a plain ``mkdir`` would give a folder (0777 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


@contextmanager
def atomic_output_dir(path: str | Path, *, marker: str | None = None, keep: Sequence[str] = ()) -> Iterator[Path]:
    """Yield an empty staging folder to write into; on a clean exit it replaces ``path`` (see the module rules).

    The staging folder has the same name as ``path`` (inside a hidden sibling folder), so anything that
    records ``folder.name`` records the final name. Paths under the yielded folder become the same paths
    under ``path`` afterwards: map them with :func:`final_path`. The ``keep`` files of the old folder are in
    the staging folder from the start, so the run reads and may rewrite them.
    """
    target = Path(path).expanduser().absolute()
    check_output_dir(target, marker)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        holder = Path(tempfile.mkdtemp(prefix=f".{target.name}{PARTIAL}", dir=target.parent))
    except OSError as exc:
        raise PatrolPlannerError(f"cannot create output folder {target}: {exc.strerror or exc}") from None
    stage = holder / target.name
    try:
        stage.mkdir()
        _carry_over(target, stage, keep)
        yield stage
        os.chmod(stage, _mode_of(target))
        _swap(target, stage, holder)
    except OSError as exc:
        raise PatrolPlannerError(f"cannot write output folder {target}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def _mode_of(target: Path) -> int:
    return target.stat().st_mode & 0o7777 if target.is_dir() else _umask_mode()


def _carry_over(target: Path, stage: Path, keep: Sequence[str]) -> None:
    """Copy the ``keep`` files from the old folder before the run writes (links are not followed)."""
    for name in keep:
        old, new = target / name, stage / name
        if old.is_file() and not old.is_symlink():
            shutil.copy2(old, new, follow_symlinks=False)


def _swap(target: Path, stage: Path, holder: Path) -> None:
    """Put ``stage`` at ``target``: the old folder is moved into ``holder`` (deleted with it), then put back
    if the new one cannot be renamed in."""
    check_output_dir(target, None)  # a link planted while the run wrote its files is not replaced either
    aside = holder / f"{target.name}.previous"
    had_old = target.exists()
    if had_old:
        os.rename(target, aside)
    try:
        os.rename(stage, target)
    except OSError:
        if had_old:
            os.rename(aside, target)
        raise


def final_path(p: str | Path, stage: Path, target: str | Path) -> Path:
    """``p`` (a path under the staging folder) as it is after the swap, under ``target``."""
    return Path(target) / Path(p).relative_to(stage)


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a new temporary file beside ``path`` to write; on a clean exit it replaces ``path``.

    A link at ``path`` is replaced by the file, never written through; a failed write leaves the old file
    and no temporary file.
    """
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        raise PatrolPlannerError(f"cannot write {path}: it is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}{PARTIAL}", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise PatrolPlannerError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = Path(name)
    try:
        yield tmp
        keep_mode = path.is_file() and not path.is_symlink()
        os.chmod(tmp, path.stat().st_mode & 0o7777 if keep_mode else 0o666 & _umask_mode())
        os.replace(tmp, path)
    except OSError as exc:
        raise PatrolPlannerError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_file`; returns ``path``."""
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)

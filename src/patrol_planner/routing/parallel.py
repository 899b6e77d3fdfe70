"""Run one search in a forked child process, so that a second core works while the parent searches.

OR-Tools' routing search is single-threaded; the second core gets a second search (PyVRP, or OR-Tools
with another seed and first solution). Only the ``fork`` start method is used: the child inherits the
problem and the solver modules from the parent's memory, so nothing is pickled on the way in and the
child starts in milliseconds. Where ``fork`` is unavailable (Windows, or a caller that cannot have child
processes) :func:`start` returns ``None`` and the caller runs single-process instead of crashing.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def fork_available() -> bool:
    """Whether this platform offers the ``fork`` start method."""
    return "fork" in mp.get_all_start_methods()


@dataclass
class Pending:
    """A child process running one call; collect its return value with :func:`collect`."""

    process: Any
    conn: Any
    name: str


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        out = (True, fn(*args))
    except BaseException as exc:  # report every failure to the parent, never hang it
        out = (False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
    try:
        conn.send(out)
    finally:
        conn.close()


def start(name: str, fn: Callable[..., Any], *args: Any) -> Pending | None:
    """Call ``fn(*args)`` in a forked child; ``None`` when no child can be forked here.

    ``fn`` must return picklable plain values (they travel back through a pipe).
    """
    if not fork_available():
        return None
    try:
        ctx = mp.get_context("fork")
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(send, fn, args), name=f"patrol-{name}", daemon=False)
        proc.start()
    except (OSError, ValueError, AssertionError):  # e.g. inside a daemonic process, or out of processes
        return None
    send.close()
    return Pending(proc, recv, name)


def collect(pending: Pending, timeout_s: float | None) -> tuple[Any | None, str | None]:
    """Wait for the child's return value: ``(value, None)``, or ``(None, error)`` when it failed.

    A child still running after ``timeout_s`` [s] (``None`` = wait for ever) is terminated.
    """
    proc, conn = pending.process, pending.conn
    t_end = None if timeout_s is None else time.monotonic() + max(0.0, timeout_s)
    try:
        ready = conn.poll(None if t_end is None else max(0.0, t_end - time.monotonic()))
        if not ready:
            return None, f"{pending.name}: no answer within {timeout_s:g} s"
        ok, value = conn.recv()
        return (value, None) if ok else (None, f"{pending.name}: {value}")
    except (EOFError, OSError) as exc:
        proc.join(timeout=2.0)  # for its exit code: the pipe closes a moment before the process is reaped
        return None, f"{pending.name}: child process died ({type(exc).__name__}, {_exit_text(proc.exitcode)})"
    finally:
        conn.close()
        proc.join(timeout=2.0)
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=2.0)


def _exit_text(code: int | None) -> str:
    """A child's exit code in words: killed by a signal (negative code), an exit status, or still unknown."""
    import signal

    if code is None:
        return "exit code unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"

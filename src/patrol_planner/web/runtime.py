"""Where the tasking room keeps its state: the data folder, its generated secrets, and the database URL.

:mod:`.settings` reads these environment variables (set by ``patrol-planner serve/users/db``):

- ``PATROL_PLANNER_DATA_DIR``: the data folder (default ``~/.local/share/patrol-planner``);
- ``PATROL_PLANNER_DB``: ``postgresql://user:pass@host:port/name``; unset or empty: SQLite in the data folder;
- ``PATROL_PLANNER_TLS_PROXY``: ``1`` behind a TLS reverse proxy (secure redirects, HSTS, proxy header).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from patrol_planner.errors import PatrolPlannerError

ENV_DATA_DIR = "PATROL_PLANNER_DATA_DIR"
ENV_DB = "PATROL_PLANNER_DB"
ENV_TLS_PROXY = "PATROL_PLANNER_TLS_PROXY"
ENV_HOSTS = "PATROL_PLANNER_ALLOWED_HOSTS"
SETTINGS_MODULE = "patrol_planner.web.settings"


class WebConfigError(PatrolPlannerError):
    """A bad data folder or database URL (one line, exit code 2)."""


#: PostgreSQL connections each process (an answering process, the job worker, a command) may hold at once.
POOL_MAX_CONNECTIONS = 8

#: Set by ``serve`` when uvicorn runs several answering processes: the pid of ``serve`` itself (web/asgi.py).
SERVE_PID_ENV = "PATROL_PLANNER_SERVE_PID"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "patrol-planner"


def data_dir() -> Path:
    """The data folder, created (mode 0700) if missing."""
    p = Path(os.environ.get(ENV_DATA_DIR) or default_data_dir()).expanduser().absolute()
    try:
        p.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise WebConfigError(f"data folder {p} cannot be created: {exc.strerror}") from None
    return p


def secret(name: str, folder: Path | None = None) -> str:
    """The secret stored in ``<data dir>/<name>``, generated at first use with mode 0600.

    Written with O_EXCL so two processes starting together cannot write two different keys; a file
    found readable by others is narrowed to 0600 (it may have been copied with a loose umask).
    """
    path = (folder or data_dir()) / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
        value = path.read_text(encoding="ascii").strip()
        if len(value) < 40:
            raise WebConfigError(f"secret file {path} is too short; delete it to generate a new one") from None
        return value
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        value = secrets.token_urlsafe(64)
        fh.write(value + "\n")
    return value


def database_settings(url: str | None, folder: Path) -> dict[str, Any]:
    """Django's ``DATABASES["default"]`` for ``url`` (``postgresql://...``), or SQLite in ``folder`` (WAL)."""
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(folder / "patrol.sqlite3"),
            "OPTIONS": {
                # WAL: pages read while the worker writes a plan; IMMEDIATE: a writer takes the lock at
                # BEGIN, so two writers queue (timeout) instead of failing half-way with "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.path.strip("/"):
        raise WebConfigError(f"--db must be postgresql://USER:PASSWORD@HOST:PORT/NAME, got {_redact(url)!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        # A pool per process (psycopg_pool, through Django), not persistent connections: under ASGI each request
        # runs its view in a thread of its own, so a kept connection was never reused and piled up until
        # PostgreSQL refused new ones (measured: 113 HTTP 500s in 3 minutes of benchmarks/web.py).
        "CONN_MAX_AGE": 0,
        "OPTIONS": {"pool": {"min_size": 1, "max_size": POOL_MAX_CONNECTIONS, "timeout": 20}},
    }


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def configure(data: Path | None = None, db: str | None = None, *, tls_proxy: bool | None = None) -> Path:
    """Set the environment :mod:`.settings` reads and call ``django.setup()``; return the data folder.

    Raises :class:`WebConfigError` for a bad folder or URL, and when Django is not installed.
    """
    if data is not None:
        os.environ[ENV_DATA_DIR] = str(Path(data).expanduser().absolute())
    if db is not None:
        os.environ[ENV_DB] = db
    if tls_proxy is not None:
        os.environ[ENV_TLS_PROXY] = "1" if tls_proxy else ""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    folder = data_dir()
    database_settings(os.environ.get(ENV_DB), folder)  # a bad URL fails here, in one line
    try:
        import django
    except ModuleNotFoundError:
        raise WebConfigError("the web extra is not installed: pip install 'patrol-planner[web]'") from None
    django.setup()
    return folder

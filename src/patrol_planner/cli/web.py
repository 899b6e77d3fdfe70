"""``patrol-planner serve``, ``users add`` and ``db backup/restore``: the tasking room (needs ``.[web]``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from patrol_planner.cli._common import user_errors

DB_HELP = "Database: `postgresql://USER:PASSWORD@HOST:PORT/NAME`; default: SQLite in the data folder."
DATA_HELP = "Data folder (database, generated secrets); default: ~/.local/share/patrol-planner."


def _setup(data_dir: Path | None, db: str | None, *, tls_proxy: bool | None = None, migrate: bool = True) -> Path:
    from patrol_planner.web.runtime import configure

    folder = configure(data_dir, db, tls_proxy=tls_proxy)
    from django.db import connection
    from django.db.utils import Error as DatabaseError

    from patrol_planner.web.runtime import WebConfigError

    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WebConfigError(f"cannot open the database: {first}") from None
    if migrate:
        from patrol_planner.web.admin_ops import migrate as run_migrations

        run_migrations()
    return folder


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``users``, ``devices``, ``scenarios``, ``programmes`` and ``db`` groups."""
    _register_serve(app)
    _register_users(app)
    _register_devices(app)
    _register_scenarios(app)
    _register_programmes(app)
    _register_db(app)


def _register_serve(app: typer.Typer) -> None:
    @app.command("serve")
    @user_errors
    def serve_cmd(
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_HELP),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
        port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
        demo: bool = typer.Option(False, "--demo", help="Load the bundled Rutland night, its units and one user "
                                  "per role (passwords printed once)."),
        tls_proxy: bool = typer.Option(False, "--behind-tls-proxy", help="Behind a TLS reverse proxy that sets "
                                       "X-Forwarded-Proto: HTTPS redirects and HSTS (docs/web.md)."),
        allowed_host: list[str] = typer.Option([], "--allowed-host", help="Host name the site is reached by "
                                               "(repeatable); 127.0.0.1 and localhost always."),
        workers: int = typer.Option(2, "--workers", min=1, max=32, help="uvicorn processes answering requests "
                                    "(each serves one request at a time; about the number of cores)."),
    ) -> None:
        """Run the tasking room: migrate, start the job worker, serve with uvicorn."""
        from patrol_planner.web.runtime import ENV_HOSTS

        os.environ[ENV_HOSTS] = ",".join(["127.0.0.1", "localhost", *allowed_host])
        folder = _setup(data_dir, db, tls_proxy=tls_proxy)
        from patrol_planner.web import admin_ops

        if demo:
            users = admin_ops.load_demo()
            typer.echo("demo users (passwords shown once; keep them or run --demo again for new ones):")
            for name, password in users.items():
                typer.echo(f"  {name:<11} {password}")
        requeued = admin_ops.recover_interrupted()
        if requeued:
            typer.echo(f"{requeued} interrupted job(s) (plans, dosage, evaluations) requeued or failed "
                       "(see the audit log)", err=True)
        _run(folder, host, port, tls_proxy, workers)


def _register_users(app: typer.Typer) -> None:
    users = typer.Typer(help="Manage tasking-room users.", no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command("add")
    @user_errors
    def users_add(
        name: str = typer.Argument(..., help="User name."),
        role: str = typer.Option(..., "--role", help="analyst, tasking, supervisor, officer or auditor."),
        unit: str | None = typer.Option(None, "--unit", help="The officer's unit (call sign)."),
        admin: bool = typer.Option(False, "--admin", help="Also allowed into /admin/ (users, units, stations)."),
        totp: bool = typer.Option(False, "--totp", help="Supervisor: enrol an authenticator app (TOTP) now."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_HELP),
    ) -> None:
        """Add a user with one role; the password is read from stdin (one line) or prompted for."""
        if totp and role != "supervisor":
            from patrol_planner.web.runtime import WebConfigError

            raise WebConfigError("--totp is for supervisors (the sign-off step)")
        if sys.stdin.isatty():
            password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        _setup(data_dir, db)
        from patrol_planner.web.admin_ops import add_user

        add_user(name, role, password, unit, admin=admin)
        typer.echo(f"user {name} added ({role}{', ' + unit if unit else ''})")
        if totp:
            _echo_totp(name)

    @users.command("totp")
    @user_errors
    def users_totp(
        name: str = typer.Argument(..., help="A supervisor's user name."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_HELP),
    ) -> None:
        """Enrol a supervisor's authenticator app (TOTP): each sign-off then needs a code."""
        _setup(data_dir, db)
        _echo_totp(name)


def _register_devices(app: typer.Typer) -> None:
    devices = typer.Typer(help="Device tokens for a unit's terminal (API access to its published route only).",
                          no_args_is_help=True)
    app.add_typer(devices, name="devices")

    @devices.command("add")
    @user_errors
    def devices_add(
        unit: str = typer.Argument(..., help="The unit's call sign."),
        name: str = typer.Option(..., "--name", help="What the device is (e.g. 'car terminal')."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_HELP),
    ) -> None:
        """Issue a token for UNIT's device; it is printed once and only its hash is stored."""
        _setup(data_dir, db)
        from patrol_planner.web.models import Unit
        from patrol_planner.web.runtime import WebConfigError
        from patrol_planner.web.services import issue_device_token

        the_unit = Unit.objects.filter(call_sign=unit).first()
        if the_unit is None:
            raise WebConfigError(f"unit {unit!r} is not in the roster")
        dev, token = issue_device_token(the_unit, name)
        typer.echo(f"device {dev.pk} for {unit}; token (shown once): {token}")

    @devices.command("revoke")
    @user_errors
    def devices_revoke(
        device_id: int = typer.Argument(..., help="The device number printed by `devices add`."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_HELP),
    ) -> None:
        """Revoke a device token at once."""
        _setup(data_dir, db)
        from patrol_planner.web.models import DeviceToken
        from patrol_planner.web.runtime import WebConfigError
        from patrol_planner.web.services import revoke_device

        try:
            dev = revoke_device(device_id)
        except DeviceToken.DoesNotExist:
            raise WebConfigError(f"no device {device_id}") from None
        typer.echo(f"device {dev.pk} ({dev.name}, {dev.unit}) revoked")


def _register_scenarios(app: typer.Typer) -> None:
    scen = typer.Typer(help="Scenarios the tasking room plans from.", no_args_is_help=True)
    app.add_typer(scen, name="scenarios")

    @scen.command("import")
    @user_errors
    def scenarios_import(
        file: Path = typer.Argument(..., help="Scenario TOML file (validated like `plan SCENARIO`)."),
        replace: bool = typer.Option(False, "--replace", help="Replace a stored scenario of the same name."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_HELP),
    ) -> None:
        """Store a scenario (its data paths stay where they are) and add its units to the roster."""
        from patrol_planner.scenario import load_scenario

        s = load_scenario(file)
        _setup(data_dir, db)
        from patrol_planner.web.admin_ops import import_scenario
        from patrol_planner.web.models import StoredScenario
        from patrol_planner.web.runtime import WebConfigError

        if not replace and StoredScenario.objects.filter(name=s.name).exists():
            raise WebConfigError(f"a scenario named {s.name!r} is stored already; --replace to replace it")
        stored = import_scenario(s, replace=replace)
        typer.echo(f"scenario {stored.pk}: {stored.name} ({len(s.units)} units)")


def _register_programmes(app: typer.Typer) -> None:
    progs = typer.Typer(help="Hot-spot programmes in the tasking room.", no_args_is_help=True)
    app.add_typer(progs, name="programmes")

    @progs.command("import")
    @user_errors
    def programmes_import(
        folder: Path = typer.Argument(..., help="Programme folder written by `programme design`."),
        name: str | None = typer.Option(None, "--name", help="Name in the tasking room; default: the folder's."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_HELP),
    ) -> None:
        """Store a programme (schedule, spots, design, amendments) after the package's checks; never replaces."""
        _setup(data_dir, db)
        from patrol_planner.web.programmes import import_programme
        from patrol_planner.web.runtime import WebConfigError
        from patrol_planner.web.services import ActionRefused

        try:
            rec = import_programme(folder, name=name)
        except ActionRefused as exc:
            raise WebConfigError(str(exc)) from None
        typer.echo(f"programme {rec.pk}: {rec.name} ({rec.amendments.count()} amendments)")


def _register_db(app: typer.Typer) -> None:
    dbapp = typer.Typer(help="Back up, restore and prune the tasking room's database.", no_args_is_help=True)
    app.add_typer(dbapp, name="db")

    @dbapp.command("backup")
    @user_errors
    def db_backup(
        file: Path = typer.Argument(..., help="Backup file to write (JSON)."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_HELP),
    ) -> None:
        """Write the whole database to FILE (database-neutral JSON, mode 0600)."""
        _setup(data_dir, db)
        from patrol_planner.web.admin_ops import backup

        backup(file)
        typer.echo(f"backup written to {file}")

    @dbapp.command("restore")
    @user_errors
    def db_restore(
        file: Path = typer.Argument(..., help="Backup file written by `db backup`."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_HELP),
    ) -> None:
        """Replace the whole database with FILE (all or nothing). Stop the server first."""
        _setup(data_dir, db)
        from patrol_planner.web.admin_ops import restore

        restore(file)
        typer.echo(f"database restored from {file}")

    @dbapp.command("prune-positions")
    @user_errors
    def db_prune_positions(
        keep_days: int = typer.Option(..., "--keep-days", min=1, max=3650, help="Keep the positions of the last "
                                      "this many days (by the fix's time); delete older ones."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_HELP),
    ) -> None:
        """Delete units' GPS positions older than --keep-days (officers' whereabouts are personal data: keep
        them no longer than the force's retention rule). Audited with the count and the cut-off."""
        _setup(data_dir, db)
        from patrol_planner.web.admin_ops import prune_positions

        n, cutoff = prune_positions(keep_days)
        typer.echo(f"{n} position(s) before {cutoff.isoformat(timespec='seconds')} deleted")


def _echo_totp(name: str) -> None:
    from base64 import b32encode

    from patrol_planner.web.admin_ops import enrol_totp

    dev, uri = enrol_totp(name)
    typer.echo("TOTP enrolled; add it to the authenticator app now (shown once):")
    typer.echo(f"  secret (base32): {b32encode(dev.bin_key).decode('ascii')}")
    typer.echo(f"  {uri}")


def _run(folder: Path, host: str, port: int, tls_proxy: bool, workers: int = 1) -> None:
    """uvicorn in this process, the task worker beside it; the worker stops with the server, and a worker
    that stops on its own (e.g. a "database is locked" after the busy timeout on a loaded SQLite file) is
    started again, its interrupted job requeued first."""
    import threading

    import uvicorn
    from django.db import connections

    from patrol_planner.web.admin_ops import recover_interrupted, start_worker
    from patrol_planner.web.runtime import SERVE_PID_ENV

    lock, stop = threading.Lock(), threading.Event()
    worker = start_worker()
    typer.echo(f"tasking room on http://{host}:{port}/  (data: {folder}; worker pid {worker.pid})")

    def watch() -> None:
        nonlocal worker
        while not stop.wait(2):
            with lock:
                if stop.is_set() or worker.poll() is None:
                    continue
                typer.echo(f"the job worker stopped (exit {worker.returncode}); starting it again", err=True)
                try:
                    recover_interrupted()  # no worker runs now: a task it held is requeued (or failed)
                except Exception as exc:  # noqa: BLE001  (retried at the next start; the worker must come back)
                    typer.echo(f"requeueing failed: {exc}", err=True)
                finally:
                    connections.close_all()
                worker = start_worker()

    watcher = threading.Thread(target=watch, name="worker-watch", daemon=True)
    watcher.start()
    threading.Thread(target=_say_when_ready, args=(host, port), name="ready-check", daemon=True).start()
    if workers > 1:  # the answering processes stop with this one, even when it is killed (see web/asgi.py)
        os.environ[SERVE_PID_ENV] = str(os.getpid())
    try:
        uvicorn.run("patrol_planner.web.asgi:application", host=host, port=port, lifespan="off",
                    proxy_headers=tls_proxy, forwarded_allow_ips="127.0.0.1" if tls_proxy else None,
                    log_level="info", server_header=False, workers=workers)
    finally:
        with lock:
            stop.set()
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except Exception:  # noqa: BLE001  (a worker that ignores SIGTERM is killed: the job is requeued later)
            worker.kill()


#: The line ``serve`` prints once the site answers (uvicorn's own "running" line comes when the port is
#: bound, before its answering processes have loaded Django).
READY_LINE = "tasking room ready"


def _say_when_ready(host: str, port: int) -> None:
    """Print :data:`READY_LINE` once a request to the login page gets an answer (within 180 s)."""
    import http.client
    import time

    probe = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104  (probing, not binding)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(probe, port, timeout=5)
            conn.request("GET", "/login/", headers={"Host": f"127.0.0.1:{port}"})
            status = conn.getresponse().status
            conn.close()
            if status < 500:
                typer.echo(f"{READY_LINE} on http://{host}:{port}/", err=True)
                return
        except OSError:
            pass
        time.sleep(0.25)

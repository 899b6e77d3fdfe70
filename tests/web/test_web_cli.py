"""The commands as a user types them: ``users add`` (password on stdin), ``devices add``, ``db backup`` and
``db restore``, on a fresh data folder (SQLite); mistakes are one line and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _pp(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    for k in ("DJANGO_SETTINGS_MODULE", "PATROL_PLANNER_DATA_DIR", "PATROL_PLANNER_DB"):
        env.pop(k, None)
    return subprocess.run([sys.executable, "-m", "patrol_planner", *args], input=stdin, env=env, capture_output=True,
                          text=True, timeout=300)


def _first_unit(scenario: str) -> str:
    import tomllib

    return tomllib.loads(Path(scenario).read_text())["units"][0]["id"]


def _one_line_error(r: subprocess.CompletedProcess[str], text: str) -> None:
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().startswith("error:") and "\n" not in r.stderr.strip() and text in r.stderr, r.stderr


def test_users_devices_backup_and_restore_from_the_command_line(tmp_path: Path):
    d = ["--data-dir", str(tmp_path / "data")]
    r = _pp("users", "add", "ann", "--role", "tasking", *d, stdin="a-long-enough-passphrase-42\n")
    assert r.returncode == 0, r.stderr
    _one_line_error(_pp("users", "add", "ann", "--role", "tasking", *d, stdin="a-long-enough-passphrase-42\n"),
                    "already exists")
    _one_line_error(_pp("users", "add", "bo", "--role", "chief", *d, stdin="a-long-enough-passphrase-42\n"),
                    "--role must be one of")
    _one_line_error(_pp("users", "add", "bo", "--role", "analyst", *d, stdin="password\n"), "password refused")
    _one_line_error(_pp("users", "add", "bo", "--role", "officer", *d, stdin="a-long-enough-passphrase-42\n"),
                    "needs --unit")
    _one_line_error(_pp("devices", "add", "RU-A1", "--name", "car", *d), "not in the roster")
    foot = str(Path(SRC).parent / "scenarios" / "rutland-day-foot.toml")
    r = _pp("scenarios", "import", foot, *d)
    assert r.returncode == 0 and "units)" in r.stdout, r.stderr
    _one_line_error(_pp("scenarios", "import", foot, *d), "--replace")
    assert _pp("scenarios", "import", foot, "--replace", *d).returncode == 0
    _one_line_error(_pp("scenarios", "import", str(tmp_path / "nope.toml"), *d), "not found")
    r = _pp("devices", "add", _first_unit(foot), "--name", "radio", *d)
    assert r.returncode == 0 and "token (shown once): ppd_" in r.stdout, r.stderr

    backup = tmp_path / "backup.json"
    assert _pp("db", "backup", str(backup), *d).returncode == 0
    rows = json.loads(backup.read_text())
    assert [r["fields"]["username"] for r in rows if r["model"] == "auth.user"] == ["ann"]
    assert [r["fields"]["name"] for r in rows if r["model"] == "tasking.storedscenario"] == [
        "Rutland day shift with foot patrols in Oakham"]
    assert all("argon2$" in r["fields"]["password"] for r in rows if r["model"] == "auth.user")
    assert _pp("users", "add", "cy", "--role", "auditor", *d, stdin="another-long-passphrase-43\n").returncode == 0
    assert _pp("db", "restore", str(backup), *d).returncode == 0
    again = tmp_path / "again.json"
    assert _pp("db", "backup", str(again), *d).returncode == 0
    users = [r["fields"]["username"] for r in json.loads(again.read_text()) if r["model"] == "auth.user"]
    assert users == ["ann"]  # cy, added after the backup, is gone
    _one_line_error(_pp("db", "restore", str(tmp_path / "missing.json"), *d), "backup file not found")

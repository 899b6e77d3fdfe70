"""The package as a user installs it: the wheel carries the bundled default run and runs it from any folder."""

from __future__ import annotations

import ast
import fnmatch
import functools
import importlib.metadata
import json
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from patrol_planner.bundled import bundled_root, default_scenario_file, ons_sample_folder
from patrol_planner.provenance import sha256_file

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
PROJECT = PYPROJECT["project"]
BUNDLED = ("patrol_planner._bundled.scenarios", "patrol_planner._bundled.data")


def _dist(requirement: str) -> str:
    """A requirement's distribution name, normalised (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)).lower()


@functools.cache
def _declared() -> set[str]:
    """Every distribution pyproject declares, with those its extras bring in (``dask[distributed]``)."""
    reqs = PROJECT["dependencies"] + [r for extra in PROJECT["optional-dependencies"].values() for r in extra]
    names = {_dist(r) for r in reqs}
    for r in reqs:
        for extra in re.findall(r"\[([^\]]+)\]", r.split(";")[0]):
            for sub in importlib.metadata.requires(_dist(r)) or []:
                if re.search(rf"extra\s*==\s*['\"]{re.escape(extra)}['\"]", sub):
                    names.add(_dist(sub))
    return names


@functools.cache
def _module_distributions() -> dict[str, list[str]]:
    """Top-level module -> the installed distributions that provide it (scanning them all takes seconds)."""
    return importlib.metadata.packages_distributions()


def _third_party_imports(folder: Path) -> set[str]:
    """Top-level modules imported anywhere under ``folder`` that are neither stdlib nor this project's own."""
    local = {"patrol_planner", "benchlib"} | {p.stem for p in (REPO / "tests").glob("*.py")}
    local |= {p.stem for p in (REPO / "benchmarks").glob("*.py")}
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - local


def _default_scenario_data() -> list[Path]:
    """The files the default scenario reads, as its TOML names them (relative to scenarios/)."""
    data = tomllib.loads((REPO / "scenarios" / "rutland-night.toml").read_text(encoding="utf-8"))["data"]
    paths = [e if isinstance(e, str) else e["path"] for e in data["incidents"]] + [data["osm"]]
    return [(REPO / "scenarios" / p).resolve() for p in paths]


def test_package_list_matches_the_folders_in_src() -> None:
    """pyproject lists packages by hand (for the mapped data): every folder of src/ with files must be on it."""
    src = REPO / "src"
    in_src = {".".join(p.parent.relative_to(src).parts) for p in src.rglob("*")
              if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p.parent)}
    assert sorted(SETUPTOOLS["packages"]) == sorted([*in_src, *BUNDLED])


@pytest.mark.parametrize("folder", ["src", "tests", "benchmarks"])
def test_every_imported_package_is_declared(folder: str) -> None:
    """Each third-party module imported in src/, tests/ or benchmarks/ comes from a declared distribution."""
    dists = _module_distributions()
    declared = _declared()
    undeclared = sorted(m for m in _third_party_imports(REPO / folder)
                        if not {_dist(d) for d in dists.get(m, [m])} & declared)
    assert undeclared == []


def test_package_data_covers_every_file_the_default_run_reads() -> None:
    """Each file the default scenario and the ONS default read, and its folder's SOURCE.md, is package data."""
    globs = SETUPTOOLS["package-data"]["patrol_planner._bundled.data"]
    wanted = _default_scenario_data() + sorted((REPO / "data" / "ons-lsoa-leicestershire").glob("*.csv"))
    wanted += sorted({p.parent / "SOURCE.md" for p in wanted})
    missing = [str(p) for p in wanted
               if not any(fnmatch.fnmatch(p.relative_to(REPO / "data").as_posix(), g) for g in globs)]
    assert missing == []
    assert all(p.is_file() for p in wanted)
    assert SETUPTOOLS["package-data"]["patrol_planner._bundled.scenarios"] == ["rutland-night.toml"]


def test_source_checkout_finds_the_repository_files() -> None:
    """Run from src/ (no wheel), the bundled files are the repository's own scenarios/ and data/."""
    assert bundled_root() == REPO
    assert default_scenario_file() == REPO / "scenarios" / "rutland-night.toml"
    assert (ons_sample_folder() / "iod2025_eng.csv").is_file()


def _build_wheel(tmp_path: Path, env: dict[str, str]) -> Path:
    """The wheel, built from a copy of the files it is made of (an in-tree build would write into the repo)."""
    src = tmp_path / "source"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for d in ("src", "scenarios", "data"):
        shutil.copytree(REPO / d, src / d, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(tmp_path / "dist")],
                   check=True, env=env, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("patrol_planner-*.whl")
    return wheel


def _venv_with_wheel(tmp_path: Path, wheel: Path, env: dict[str, str]) -> Path:
    """A fresh venv with the wheel installed; the dependencies are this interpreter's (a .pth line, which
    adds their folder but runs none of its .pth files, so an editable patrol_planner there stays out)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env, timeout=300)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             check=True, env=env, capture_output=True, text=True).stdout.strip()
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()}
    Path(purelib, "_outer_dependencies.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, env=env, timeout=300)
    return venv


@pytest.mark.slow
def test_installed_wheel_plans_the_default_night_from_any_folder(tmp_path: Path) -> None:
    """`pip install` of the wheel, then `patrol-planner plan --out X` in an empty folder outside the repository."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    venv = _venv_with_wheel(tmp_path, _build_wheel(tmp_path, env), env)
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import patrol_planner as p; print(p.__file__)"],
                           check=True, env=env, capture_output=True, text=True, cwd=tmp_path).stdout.strip()
    assert Path(where).is_relative_to(venv), where
    work = tmp_path / "elsewhere"
    work.mkdir()
    r = subprocess.run([str(venv / "bin" / "patrol-planner"), "plan", "--out", "X", "--seconds", "3",
                        "--cache-dir", str(tmp_path / "cache")],
                       env=env, capture_output=True, text=True, cwd=work, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    inputs = json.loads((work / "X" / "plan.json").read_text(encoding="utf-8"))["provenance"]["inputs"]
    recorded = {i["file"]: i["sha256"] for i in inputs}
    assert {p.name: sha256_file(p) for p in _default_scenario_data()}.items() <= recorded.items()

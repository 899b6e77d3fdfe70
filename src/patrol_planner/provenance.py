"""Provenance: what produced a result (input file hashes, parameters, package versions)."""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _pkg_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def package_versions() -> dict[str, str | None]:
    """Versions of patrol-planner and the libraries that shape its results."""
    names = ["patrol-planner", "pandas", "numpy", "pyproj", "shapely", "networkx", "ortools", "scipy",
             "osmium", "pyvrp"]
    return {n: _pkg_version(n) for n in names}


def provenance(inputs: Iterable[str | Path], parameters: Mapping[str, Any], *,
               created: datetime | None = None) -> dict[str, Any]:
    """A JSON-ready provenance record.

    ``created`` is left out unless given, so that the same inputs and parameters give byte-identical output.
    """
    rec: dict[str, Any] = {
        "inputs": [{"file": Path(p).name, "sha256": sha256_file(p)} for p in inputs],
        "parameters": dict(parameters),
        "versions": package_versions(),
        "python": platform.python_version(),
    }
    if created is not None:
        rec["created"] = created.astimezone(UTC).isoformat()
    return rec

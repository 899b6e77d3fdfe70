"""JSON that other readers accept: no ``NaN`` or ``Infinity`` (Python writes them by default; JSON has neither).

Two rules, one per kind of output:

- :func:`strict_dumps` for records whose every number must be a value (a plan, a programme's spots): a NaN
  there is a fault, so it is refused with the path of the first one (``metrics.harm_share``), never written.
- :func:`finite_or_none` for summaries where a figure may be undefined (a share of nothing): NaN and the
  infinities become ``null``, which is what JSON says for "no value".

Every JSON writer in the package passes ``allow_nan=False`` (directly or through these), so a NaN can no
longer reach a file as invalid JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from patrol_planner.errors import PatrolPlannerError


def finite_or_none(obj: Any) -> Any:
    """``obj`` with NaN and infinite floats as None and numpy scalars as Python values (dicts, lists, tuples
    walked)."""
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite_or_none(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def first_non_finite(obj: Any, path: str = "") -> str | None:
    """Dotted path of the first NaN or infinite float in ``obj`` (``""`` for ``obj`` itself), else None."""
    if isinstance(obj, dict):
        items: Any = obj.items()
    elif isinstance(obj, list | tuple):
        items = enumerate(obj)
    else:
        return path if isinstance(obj, float | np.floating) and not math.isfinite(float(obj)) else None
    for k, v in items:
        found = first_non_finite(v, f"{path}.{k}" if path else str(k))
        if found is not None:
            return found
    return None


def strict_dumps(obj: Any, *, what: str, error: type[PatrolPlannerError] = PatrolPlannerError, **kw: Any) -> str:
    """``json.dumps(obj, allow_nan=False, **kw)``; a NaN or infinity raises ``error`` naming ``what`` and where."""
    try:
        return json.dumps(obj, allow_nan=False, **kw)
    except ValueError:
        where = first_non_finite(obj)
        if where is None:
            raise
        raise error(f"{what} would hold a NaN or infinite number at {where or 'top level'}; nothing was written") \
            from None

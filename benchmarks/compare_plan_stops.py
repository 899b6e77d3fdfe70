"""Compare the stops (unit, hotspot, arrival time) of two plans, e.g. before and after a refactoring.

    patrol-planner plan --out /tmp/before      # on the old code
    patrol-planner plan --out /tmp/after       # on the new code (add --seconds 900 on a busy machine, so the
                                               # deterministic search is never cut by the time cap)
    python benchmarks/compare_plan_stops.py /tmp/before /tmp/after

Prints the first differing stop, if any, and a final JSON line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def stops(folder: str) -> list[tuple[str, str, str]]:
    plan = json.loads((Path(folder) / "plan.json").read_text(encoding="utf-8"))
    return [(u["id"], s["hotspot_id"], s["arrive"]) for u in plan["units"] for s in u["stops"]]


def main() -> None:
    a, b = stops(sys.argv[1]), stops(sys.argv[2])
    first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
    if first is not None:
        print(f"first difference at stop {first}: {a[first]} != {b[first]}")
    print(f"{len(a)} and {len(b)} stops: {'identical' if a == b else 'different'}")
    print(json.dumps({"stops_a": len(a), "stops_b": len(b), "identical": a == b}))


if __name__ == "__main__":
    main()

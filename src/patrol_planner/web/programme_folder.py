"""A stored programme record laid out as a programme folder, for the package's calls that read a folder.

Its own module (models and the package only) so that the queue's worker side (:mod:`.programme_work`) can use it
without importing the services that enqueue work.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from patrol_planner.programme.record import AMENDMENT_COLUMNS
from patrol_planner.sanitise import spreadsheet_safe
from patrol_planner.web.models import ProgrammeRecord

FILES = (("programme.json", "programme_json"), ("schedule.csv", "schedule_csv"), ("spots.geojson", "spots_geojson"))


def lay_out(rec: ProgrammeRecord, folder: Path) -> None:
    for fname, field in FILES:
        (folder / fname).write_bytes(getattr(rec, field).encode("utf-8"))
    rows = [{"recorded_at": a.recorded_at, "action": a.action, "date": a.date.isoformat() if a.date else "",
             "spot_id": a.spot_id, "reason": a.reason} for a in rec.amendments.order_by("seq")]
    if rows:
        text = spreadsheet_safe(pd.DataFrame(rows, columns=list(AMENDMENT_COLUMNS))).to_csv(
            index=False, lineterminator="\n")
        (folder / "amendments.csv").write_text(text, encoding="utf-8")


@contextlib.contextmanager
def laid_out(rec: ProgrammeRecord) -> Iterator[Path]:
    """The record as a programme folder (issued files byte for byte, amendments) for the package's calls that
    read the folder itself (dosage and evaluation hash its files for their provenance); removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="patrol-programme-") as tmp:
        folder = Path(tmp) / "programme"
        folder.mkdir()
        lay_out(rec, folder)
        yield folder

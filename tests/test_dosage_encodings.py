"""GPS tracks saved as UTF-16 (with a byte-order mark) or UTF-8 with a BOM are read like UTF-8 ones, by the
same byte-order-mark detection that ingestion uses; a broken UTF-16 file is reported, not raised."""

from __future__ import annotations

from pathlib import Path

import pytest

from patrol_planner.dosage.gpx import read_gpx
from patrol_planner.dosage.pingcsv import read_ping_csv

GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>car 1 \u00e9</name><trkseg>
<trkpt lat="52.670" lon="-0.730"><time>2022-09-02T22:00:00Z</time></trkpt>
<trkpt lat="52.671" lon="-0.731"><time>2022-09-02T22:01:00Z</time></trkpt>
<trkpt lat="52.672" lon="-0.732"><time>2022-09-02T22:02:00Z</time></trkpt>
</trkseg></trk></gpx>
"""
PINGS = ("unit,time,lon,lat\ncar1,2022-09-02T22:00:00Z,-0.730,52.670\ncar1,2022-09-02T22:01:00Z,-0.731,52.671\n"
         "car1,2022-09-02T22:02:00Z,-0.732,52.672\n")
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom", "utf-16-be-bom"]


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-16-le-bom":
        return b"\xff\xfe" + text.encode("utf-16-le")
    if encoding == "utf-16-be-bom":
        return b"\xfe\xff" + text.encode("utf-16-be")
    return text.encode(encoding)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_gpx_in_any_bom_encoding_is_read(tmp_path: Path, encoding: str):
    """A UTF-16 GPX whose declaration still says UTF-8 (as re-saved by Windows tools) gives the same points."""
    p = tmp_path / "car1.gpx"
    p.write_bytes(_encode(GPX, encoding))
    read = read_gpx(p, "Europe/London", unit_from="name")
    assert read.error is None, read.error
    assert len(read.pings) == 3
    assert set(read.pings["unit"].astype(str)) == {"car 1 \u00e9"}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_ping_csv_in_any_bom_encoding_is_read(tmp_path: Path, encoding: str):
    """A ping CSV in UTF-16 (or with a UTF-8 BOM, which used to hide the first column name) is read."""
    p = tmp_path / "pings.csv"
    p.write_bytes(_encode(PINGS, encoding))
    read = read_ping_csv(p, "Europe/London")
    assert read.error is None, read.error
    assert len(read.pings) == 3


def test_broken_utf16_is_reported_not_raised(tmp_path: Path):
    """A file with a UTF-16 mark and an odd number of bytes after it is an unusable file, in one line."""
    for name, reader in (("t.gpx", read_gpx), ("t.csv", read_ping_csv)):
        p = tmp_path / name
        p.write_bytes(b"\xff\xfe" + "<gpx>".encode("utf-16-le") + b"\x00\xd8\x41")
        read = reader(p, "Europe/London")
        assert read.error is not None and "\n" not in read.error

"""Input sources: CSV files, folders, ZIP archives and gzip'd CSVs -> the list of CSVs to read.

data.police.uk downloads are ZIP archives holding ``YYYY-MM/`` folders of ``YYYY-MM-<force>-street.csv``
(and ``-outcomes.csv``, ``-stop-and-search.csv``) files. They are read in place, member by member, without
unpacking. Each CSV to read is a :class:`Source`; everything else found is counted by kind (``skipped``),
never dropped silently. Whole-input problems (corrupt, truncated or empty archive; an archive without
street files) raise :class:`~patrol_planner.errors.ArchiveError`.

Decompression is streamed and capped (:data:`MAX_EXPANSION_RATIO`, :data:`MAX_MEMBER_BYTES`,
:data:`MAX_TOTAL_BYTES`): a bomb is refused with :class:`~patrol_planner.errors.DecompressionLimitError` after
reading at most the cap, never expanded in full. A :class:`SourceReader` keeps each archive open while its
members are read (reopening it per member reads its whole directory again each time).
"""

from __future__ import annotations

import gzip
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from patrol_planner.errors import ArchiveError, DecompressionLimitError, InputFileError

#: Largest accepted ratio of decompressed to compressed size of one member or gzip file. police.uk CSVs
#: deflate about 4.5-5x (the 2025 eastern-region archives: 4.3-5.2 per member); 50 leaves tenfold headroom,
#: while a bomb of zeros expands ~1000x.
MAX_EXPANSION_RATIO = 50.0
#: The ratio is only judged past this many decompressed bytes (a tiny member of repeated text may deflate
#: far better, and cannot hurt).
RATIO_FLOOR_BYTES = 16 * 2**20
#: Largest decompressed member or gzip file (the biggest police.uk monthly force file is a few tens of MB).
MAX_MEMBER_BYTES = 2 * 2**30
#: Largest total decompressed by one read of the inputs (36 months of every force is ~10 GB).
MAX_TOTAL_BYTES = 32 * 2**30
_CHUNK_BYTES = 2**20

#: ``YYYY-MM-<force>-<kind>.csv``: police.uk's names for the three files of a force and month.
_POLICE_UK_NAME = re.compile(r"^(\d{4}-\d{2})-([a-z0-9][a-z0-9-]*?)-(street|outcomes|stop-and-search)\.csv$")
_MONTH_FOLDER = re.compile(r"^\d{4}-\d{2}$")
_ZIP_MEMBER = re.compile(r"^(.*?\.zip):(.+)$", re.IGNORECASE)

#: Kinds of CSV that are read by default; ``stop-and-search`` when asked for.
READ_BY_DEFAULT = ("street", "csv")


@dataclass(frozen=True)
class Source:
    """One CSV to read: a file, a gzip'd file or a member of a ZIP archive.

    ``name`` is what the outputs show (``source_file``, quarantine, report): the file name, or
    ``archive.zip:member``. ``spec`` is a path string that :func:`~patrol_planner.incidents.ingest` accepts
    back (``/dir/archive.zip:2025-01/2025-01-kent-street.csv`` for a member). ``kind`` is ``street``,
    ``outcomes``, ``stop-and-search`` (from a police.uk file name) or ``csv`` (any other name); ``force``
    the force slug of a police.uk file name (``kent``, ``avon-and-somerset``) or None.
    """

    name: str
    spec: str
    kind: str
    force: str | None
    path: Path
    member: str | None = None

    def read_bytes(self) -> bytes:
        """The CSV bytes (decompressed); see :meth:`SourceReader.read`."""
        with SourceReader() as reader:
            return reader.read(self)


class SourceReader:
    """Reads sources: each archive opened once and kept open, one decompression budget for all of them.

    Use as a context manager (the archives are closed on exit).
    """

    def __init__(self, max_total_bytes: int | None = None):
        self._archives: dict[Path, zipfile.ZipFile] = {}
        self.left_bytes = MAX_TOTAL_BYTES if max_total_bytes is None else max_total_bytes

    def __enter__(self) -> SourceReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        for zf in self._archives.values():
            zf.close()
        self._archives.clear()

    def read(self, src: Source) -> bytes:
        """The CSV bytes of ``src`` (decompressed, within the limits).

        Raises
        ------
        InputFileError
            File missing or not a file. :class:`~patrol_planner.errors.ArchiveError` for a gzip file that is
            corrupt or truncated, or an archive member that cannot be decompressed (bad CRC, corrupt data);
            :class:`~patrol_planner.errors.DecompressionLimitError` past a limit.
        """
        if src.member is not None:
            try:
                zf = self._archives.get(src.path)
                if zf is None:
                    zf = self._archives[src.path] = zipfile.ZipFile(src.path)
                info = zf.getinfo(src.member)
                with zf.open(info) as fh:
                    return self._capped(fh, src.name, info.compress_size)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, KeyError,
                    OSError) as exc:
                raise ArchiveError(f"{src.name}: archive member cannot be read ({exc})") from None
        p = src.path
        if not p.exists():
            raise InputFileError(f"{p}: file not found")
        if not p.is_file():
            raise InputFileError(f"{p}: not a file")
        if p.suffix.lower() != ".gz":
            return p.read_bytes()
        try:
            with gzip.open(p, "rb") as fh:
                return self._capped(fh, p.name, p.stat().st_size)
        except EOFError:
            raise ArchiveError(f"{p.name}: gzip file is truncated (re-download it)") from None
        except (gzip.BadGzipFile, zlib.error, OSError) as exc:
            raise ArchiveError(f"{p.name}: not a readable gzip file ({exc})") from None

    def _capped(self, fh: IO[bytes], name: str, compressed_bytes: int) -> bytes:
        """Read ``fh`` to its end in chunks, refusing as soon as a limit is passed (not after expanding it all)."""
        buf = bytearray()
        ratio_limit = max(RATIO_FLOOR_BYTES, MAX_EXPANSION_RATIO * compressed_bytes)
        while chunk := fh.read(_CHUNK_BYTES):
            buf += chunk
            n = len(buf)
            if n > ratio_limit:
                raise DecompressionLimitError(
                    f"{name}: expands more than {MAX_EXPANSION_RATIO:g} times its compressed size of "
                    f"{compressed_bytes} bytes: refused as a decompression bomb (real CSVs expand ~5 times)")
            if n > MAX_MEMBER_BYTES:
                raise DecompressionLimitError(f"{name}: more than {MAX_MEMBER_BYTES // 2**20} MiB decompressed: "
                                              "refused (split the input)")
            if n > self.left_bytes:
                raise DecompressionLimitError(f"{name}: the inputs decompress to more than "
                                              f"{MAX_TOTAL_BYTES // 2**20} MiB in all: refused (read fewer at once)")
        self.left_bytes -= len(buf)
        return bytes(buf)


@dataclass
class Found:
    """What :func:`find_sources` found: the CSVs to read, in reading order, and what it skipped by kind."""

    sources: list[Source] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    forces_seen: set[str] = field(default_factory=set)


def classify(name: str) -> tuple[str, str | None]:
    """(kind, force slug) of a file from its base name; kind ``other`` for a file that is not a CSV."""
    base = name.rsplit("/", 1)[-1].lower()
    if base.endswith(".gz"):
        base = base[:-3]
    m = _POLICE_UK_NAME.match(base)
    if m:
        return m.group(3), m.group(2)
    return ("csv", None) if base.endswith(".csv") else ("other", None)


def find_sources(paths: str | Path | Iterable[str | Path], *, force: str | None = None,
                 stop_and_search: bool = False) -> Found:
    """Expand ``paths`` into the CSVs to read.

    A CSV path (``.csv`` or ``.csv.gz``) given directly is read whatever its name; inside folders and
    archives, street files (and other CSVs) are read, stop-and-search files only when ``stop_and_search``,
    outcomes files never. A folder stands for its files in name order, and for those of its ``YYYY-MM``
    subfolders; a ``.zip`` for its members in name order; ``archive.zip:member`` for that member.
    With ``force``, only files whose police.uk name gives that force are read.

    Raises
    ------
    InputFileError
        No input, an empty folder, nothing of ``force``. ArchiveError for an unusable archive.
    """
    given = [paths] if isinstance(paths, str | Path) else list(paths)
    if not given:
        raise InputFileError("no input files given")
    force = force.strip().lower() if force is not None else None
    kinds = set(READ_BY_DEFAULT) | ({"stop-and-search"} if stop_and_search else set())
    found = Found()
    for g in given:
        member = _ZIP_MEMBER.match(str(g)) if not Path(g).exists() else None
        if member is not None:
            archive, name = Path(member.group(1)), member.group(2)
            if name not in {i.filename for i in _open_archive(archive)}:
                raise InputFileError(f"{archive.name}: has no member {name!r}")
            _add(found, _member_source(archive, name), None, force)
        elif Path(g).is_dir():
            _walk_folder(found, Path(g), kinds, force)
        elif Path(g).suffix.lower() == ".zip":
            _walk_archive(found, Path(g), kinds, force)
        else:
            p = Path(g)
            kind, frc = classify(p.name)
            _add(found, Source(p.name, str(p), kind, frc, p), None, force)
    if not found.sources:
        if force is not None:
            seen = ", ".join(sorted(found.forces_seen)) or "none"
            raise InputFileError(f"no files of force {force!r} in the inputs (forces found: {seen})")
        raise InputFileError(f"nothing to read in the inputs (skipped: {_counts(found.skipped)})")
    return found


def forces_in(paths: str | Path | Iterable[str | Path]) -> dict[str, list[str]]:
    """Police.uk forces whose street files are in ``paths``, without reading any row.

    Returns ``{force slug: [street-file sources]}`` (slugs as in the police.uk file names, e.g. ``kent``,
    ``essex``, ``avon-and-somerset``; in name order), each source a file path or an
    ``archive.zip:member`` string, as found by :func:`find_sources`. Every string can be given back to
    :func:`~patrol_planner.incidents.ingest`; ``ingest(paths, force=slug)`` reads the same files.

    Raises
    ------
    InputFileError, ArchiveError
        As :func:`find_sources` (a missing path, a corrupt or empty archive...).
    """
    out: dict[str, list[str]] = {}
    for s in find_sources(paths).sources:
        if s.kind == "street" and s.force is not None:
            out.setdefault(s.force, []).append(s.spec)
    return dict(sorted(out.items()))


def skipped_in(paths: str | Path | Iterable[str | Path]) -> dict[str, int]:
    """Inputs in ``paths`` that :func:`~patrol_planner.incidents.ingest` would not read, by kind
    (``outcomes``, ``stop-and-search``, ``other``, ``folder``), without reading any row."""
    return dict(sorted(find_sources(paths).skipped.items()))


def _counts(c: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "nothing"


def _add(found: Found, src: Source, kinds: set[str] | None, force: str | None) -> None:
    """Append ``src`` unless its kind is not read here (``kinds``; None: read any) or it is of another force."""
    if src.force is not None:
        found.forces_seen.add(src.force)
    if kinds is not None and src.kind not in kinds:
        found.skipped[src.kind] += 1
    elif force is not None and src.force != force:
        found.skipped["other_force"] += 1
    else:
        found.sources.append(src)


def _walk_folder(found: Found, folder: Path, kinds: set[str], force: str | None) -> None:
    before, skipped_before = len(found.sources), found.skipped.copy()
    for p in sorted(folder.iterdir()):
        if p.is_dir():
            if _MONTH_FOLDER.match(p.name):
                _walk_folder(found, p, kinds, force)
            else:
                found.skipped["folder"] += 1
        elif p.suffix.lower() == ".zip":
            _walk_archive(found, p, kinds, force)
        else:
            kind, frc = classify(p.name)
            _add(found, Source(p.name, str(p), kind, frc, p), kinds, force)
    seen = found.skipped - skipped_before
    if len(found.sources) == before and set(seen) <= {"other", "folder"}:
        raise InputFileError(f"{folder}: folder has no .csv files (nor .csv.gz, .zip or YYYY-MM folders)")


def _member_source(archive: Path, member: str) -> Source:
    kind, frc = classify(member)
    return Source(f"{archive.name}:{member}", f"{archive}:{member}", kind, frc, archive, member)


def _walk_archive(found: Found, archive: Path, kinds: set[str], force: str | None) -> None:
    """Add the members of ``archive`` to read (in name order); count the others; raise if it is unusable."""
    infos = _open_archive(archive)
    before, skipped_before = len(found.sources), found.skipped.copy()
    for info in sorted(infos, key=lambda i: i.filename):
        if info.is_dir():
            found.skipped["folder"] += 1
            continue
        src = _member_source(archive, info.filename)
        _add(found, src, kinds, force)
    if len(found.sources) == before and found.skipped["other_force"] == skipped_before["other_force"]:
        seen = found.skipped - skipped_before
        raise ArchiveError(f"{archive.name}: no police.uk street files in the archive (found: {_counts(seen)})")


def _open_archive(archive: Path) -> list[zipfile.ZipInfo]:
    """The member list of a ZIP archive, or a one-line ArchiveError saying what is wrong with it."""
    if not archive.exists():
        raise InputFileError(f"{archive}: file not found")
    if not archive.is_file():
        raise InputFileError(f"{archive}: not a file")
    if archive.stat().st_size == 0:
        raise ArchiveError(f"{archive.name}: archive is empty (0 bytes)")
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError):
        with open(archive, "rb") as fh:
            head = fh.read(4)
        if head == b"PK\x03\x04":  # a ZIP's first member is there, its directory (at the end) is not
            raise ArchiveError(f"{archive.name}: ZIP archive is truncated (no central directory; re-download "
                               "it)") from None
        raise ArchiveError(f"{archive.name}: not a ZIP archive (corrupt, or another kind of file)") from None
    if not infos:
        raise ArchiveError(f"{archive.name}: archive is empty (no members)")
    return infos

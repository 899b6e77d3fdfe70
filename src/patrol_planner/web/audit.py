"""The append-only audit log: each event's HMAC covers the previous event's, so a deleted, inserted or
altered row breaks the chain, and without the key in the data folder no one can recompute it.

Appends lock the single :class:`AuditHead` row, which serialises writers on SQLite and PostgreSQL alike;
the head's count and last hash catch a row removed from the end of the chain by the ORM. Someone with
database access could remove the last rows *and* rewind the head to match, since both live in the database:
so the newest event's number and hash are also kept outside it, in the data folder
(``settings.AUDIT_ANCHOR_FILE``, mode 0600), and :func:`verify` checks the chain reaches that anchor.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from patrol_planner.jsonsafe import finite_or_none
from patrol_planner.web.models import AuditEvent, AuditHead

GENESIS = "0" * 64


def canonical(seq: int, at: datetime, actor: str, action: str, target: str, detail: dict[str, Any]) -> str:
    """The event's content as one canonical JSON text (sorted keys, UTC time to the millisecond:
    Django's JSON serialiser, used by ``db backup``, keeps milliseconds, so a restored chain still verifies)."""
    return json.dumps({"seq": seq, "at": at.astimezone(UTC).isoformat(timespec="milliseconds"), "actor": actor,
                       "action": action, "target": target, "detail": detail},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def chain_hash(prev_hash: str, content: str) -> str:
    return hmac.new(settings.AUDIT_KEY.encode("ascii"), (prev_hash + content).encode("utf-8"),
                    hashlib.sha256).hexdigest()


def record(action: str, *, actor: Any = None, target: str = "", detail: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event. ``actor`` is a user (or a name); ``detail`` holds ids and counts, never free text
    from intelligence records."""
    name = getattr(actor, "get_username", lambda: actor or "")()
    detail = json.loads(json.dumps(finite_or_none(detail or {}), sort_keys=True, default=str,
                                allow_nan=False))  # as the database returns it; NaN is not JSON
    with transaction.atomic():
        # The migration creates the head; get_or_create also covers a database emptied by ``flush``.
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        now = timezone.now()
        seq, at = head.count + 1, now.replace(microsecond=now.microsecond // 1000 * 1000)
        h = chain_hash(head.last_hash, canonical(seq, at, str(name), action, target, detail))
        ev = AuditEvent.objects.create(seq=seq, at=at, actor=str(name), action=action, target=target,
                                       detail=detail, prev_hash=head.last_hash, hash=h)
        head.count, head.last_hash = seq, h
        head.save(update_fields=["count", "last_hash"])
        transaction.on_commit(lambda: _write_anchor(seq, h))
    return ev


# --- the anchor outside the database ---------------------------------------------------------------------
class AnchorError(Exception):
    """The anchor file exists but cannot be read as ``{"seq": int, "hash": str}``."""


def _anchor_path() -> Path | None:
    path = getattr(settings, "AUDIT_ANCHOR_FILE", None)
    return Path(path) if path else None


def _read_anchor(path: Path) -> tuple[int, str] | None:
    try:
        data = json.loads(path.read_text(encoding="ascii"))
        return int(data["seq"]), str(data["hash"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AnchorError(f"the audit anchor {path.name} is unreadable ({type(exc).__name__})") from None


def _write_anchor(seq: int, h: str, *, force: bool = False) -> None:
    """Move the anchor to event ``seq`` (never backwards unless ``force``): several processes append, and
    each writes after its own commit, so a later event may be anchored before an earlier one."""
    path = _anchor_path()
    if path is None:
        return
    with open(path.with_name(path.name + ".lock"), "a") as lock:  # noqa: PTH123  (flock needs the descriptor)
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            current = _read_anchor(path)
        except AnchorError:
            current = None  # rewritten below; verify() reports the unreadable file until then
        if not force and current is not None and current[0] >= seq:
            return
        tmp = path.with_name(path.name + ".partial")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(json.dumps({"seq": seq, "hash": h}, allow_nan=False))
        os.replace(tmp, path)


def ensure_anchor() -> None:
    """Anchor the current head when there is no anchor yet (a new data folder, or a database created before
    anchors existed); audited, so a removed anchor file shows as a new ``audit_anchored`` event."""
    path = _anchor_path()
    if path is None or path.exists():
        return
    head = AuditHead.objects.filter(pk=1).first()
    _write_anchor(head.count if head else 0, head.last_hash if head else GENESIS, force=True)
    record("audit_anchored", actor="system", detail={"from_event": head.count if head else 0})


def reanchor() -> None:
    """After ``db restore``: the restored chain's head becomes the anchor (the restore is then audited)."""
    head = AuditHead.objects.filter(pk=1).first()
    _write_anchor(head.count if head else 0, head.last_hash if head else GENESIS, force=True)


@dataclass(frozen=True)
class ChainCheck:
    """The result of :func:`verify`: ``ok``, the number of events read, and the first problem found."""

    ok: bool
    events: int
    problem: str = ""


def verify() -> ChainCheck:
    """Recompute the chain from the first event; name the first missing, inserted or altered row."""
    path = _anchor_path()
    try:
        anchor = _read_anchor(path) if path is not None else None
    except AnchorError as exc:
        return ChainCheck(False, 0, str(exc))
    prev, expected_seq, n, anchored_hash = GENESIS, 1, 0, GENESIS
    for ev in AuditEvent.objects.order_by("seq").iterator():
        n += 1
        if anchor is not None and ev.seq == anchor[0]:
            anchored_hash = ev.hash
        if ev.seq != expected_seq:
            return ChainCheck(False, n, f"event {expected_seq} is missing (next found: {ev.seq})")
        if ev.prev_hash != prev:
            return ChainCheck(False, n, f"event {ev.seq} does not follow event {ev.seq - 1}")
        if not hmac.compare_digest(ev.hash, chain_hash(prev, canonical(ev.seq, ev.at, ev.actor, ev.action,
                                                                          ev.target, ev.detail))):
            return ChainCheck(False, n, f"event {ev.seq} was altered")
        prev, expected_seq = ev.hash, expected_seq + 1
    head = AuditHead.objects.filter(pk=1).first() or AuditHead(count=0, last_hash=GENESIS)
    if head.count != n or head.last_hash != prev:
        return ChainCheck(False, n, f"the log holds {n} events but {head.count} were written: rows removed at the end")
    return _check_anchor(anchor, n, anchored_hash, path)


def _check_anchor(anchor: tuple[int, str] | None, n: int, anchored_hash: str, path: Path | None) -> ChainCheck:
    if path is not None and anchor is None and n > 0:
        return ChainCheck(False, n, f"the audit anchor {path.name} is missing from the data folder")
    if anchor is not None and anchor[0] > n:
        return ChainCheck(False, n, f"the log holds {n} events but the anchor outside the database records "
                                    f"{anchor[0]}: rows removed at the end")
    if anchor is not None and not hmac.compare_digest(anchored_hash, anchor[1]):
        return ChainCheck(False, n, f"event {anchor[0]} differs from the anchor outside the database: "
                                    "the chain was rewritten")
    return ChainCheck(True, n)

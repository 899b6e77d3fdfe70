"""The append-only audit log: each event's HMAC covers the previous event's, so a deleted, inserted or
altered row breaks the chain, and without the key in the data folder no one can recompute it.

Appends lock the single :class:`AuditHead` row, which serialises writers on SQLite and PostgreSQL alike;
the head's count and last hash also catch a row removed from the end of the chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
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
    return ev


@dataclass(frozen=True)
class ChainCheck:
    """The result of :func:`verify`: ``ok``, the number of events read, and the first problem found."""

    ok: bool
    events: int
    problem: str = ""


def verify() -> ChainCheck:
    """Recompute the chain from the first event; name the first missing, inserted or altered row."""
    prev, expected_seq, n = GENESIS, 1, 0
    for ev in AuditEvent.objects.order_by("seq").iterator():
        n += 1
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
    return ChainCheck(True, n)

"""Receive: every message is stored raw before anything else, unique on (source, id).

A duplicate is acknowledged and ignored (its delivery is still logged). A message that is not
JSON, or fails the schema, is kept as ``rejected`` with the reason naming the field, and opens
one IT exception, so nothing bad is silently dropped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, text, tuple_

from syncline.adapters.db.tables import inbox, inbox_receipts
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.schemas import SchemaProblem, validate_event
from syncline.services.clock import iso
from syncline.services.ids import new_id
from syncline.services.messaging.exceptions import raise_exception

UNKNOWN_SOURCE = "unknown"


@dataclass(frozen=True, slots=True)
class Receipt:
    status: str  # accepted | duplicate | rejected
    inbox_id: str
    source: str
    event_id: str
    problems: tuple[SchemaProblem, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "inbox_id": self.inbox_id,
                               "source": self.source, "id": self.event_id}
        if self.problems:
            out["errors"] = [{"field": p.path, "rule": p.rule, "message": p.message}
                             for p in self.problems]
        return out


@dataclass
class _Parsed:
    raw: str
    message: Any
    source: str
    event_id: str
    problems: list[SchemaProblem] = field(default_factory=list)


def _parse(item: str | dict[str, Any]) -> _Parsed:
    if isinstance(item, str):
        raw = item
        try:
            message: Any = json.loads(item)
        except json.JSONDecodeError as err:
            digest = "sha256:" + hashlib.sha256(raw.encode()).hexdigest()
            return _Parsed(raw, None, UNKNOWN_SOURCE, digest, [SchemaProblem(
                "(message)", "json", f"not valid JSON: {err.msg} at line {err.lineno} "
                f"column {err.colno}")])
    else:
        message = item
        raw = json.dumps(item, sort_keys=True, separators=(",", ":"))
    src = message.get("source") if isinstance(message, dict) else None
    eid = message.get("id") if isinstance(message, dict) else None
    if not isinstance(src, str) or not src or not isinstance(eid, str) or not eid:
        digest = "sha256:" + hashlib.sha256(raw.encode()).hexdigest()
        src, eid = (src if isinstance(src, str) and src else UNKNOWN_SOURCE), digest
    return _Parsed(raw, message, src[:200], eid[:200], validate_event(message))


def _seq_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


RECEIVE_LOCK = 0x5359_4E43_0001  # "SYNC" 1: PostgreSQL advisory lock key of the inbox


def receive_many(conn: Connection, items: Iterable[str | dict[str, Any]], *,
                 now: datetime) -> list[Receipt]:
    """Store a batch of messages (one transaction is the caller's); return one receipt each.

    Receiving is serialized per database: SQLite has one writer; on PostgreSQL a
    transaction-scoped advisory lock makes concurrent receivers (several API workers) take
    turns, so the arrival order ``seq`` stays gapless and unique and a message sent to two
    workers at once is stored once (the other gets a duplicate receipt).
    """
    parsed = [_parse(i) for i in items]
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RECEIVE_LOCK})
    keys = {(p.source, p.event_id) for p in parsed}
    existing: dict[tuple[str, str], str] = {}
    key_list = list(keys)
    for start in range(0, len(key_list), 400):
        chunk = key_list[start:start + 400]
        for r in conn.execute(select(inbox.c.source, inbox.c.event_id, inbox.c.id).where(
                tuple_(inbox.c.source, inbox.c.event_id).in_(chunk))):
            existing[(r.source, r.event_id)] = r.id
    next_seq = (conn.execute(select(func.max(inbox.c.seq))).scalar() or 0) + 1
    stamp = iso(now)
    rows: list[dict[str, Any]] = []
    receipts_rows: list[dict[str, Any]] = []
    out: list[Receipt] = []
    for p in parsed:
        key = (p.source, p.event_id)
        if key in existing:
            receipts_rows.append({"inbox_id": existing[key], "received_at": stamp,
                                  "duplicate": True})
            out.append(Receipt("duplicate", existing[key], p.source, p.event_id))
            continue
        inbox_id = new_id("inb")
        existing[key] = inbox_id
        msg = p.message if isinstance(p.message, dict) else {}
        status = "rejected" if p.problems else "received"
        rows.append({
            "id": inbox_id, "seq": next_seq, "source": p.source, "event_id": p.event_id,
            "type": str(msg.get("type"))[:100] if msg.get("type") else None,
            "subject": str(msg.get("subject"))[:200] if msg.get("subject") else None,
            "sequence": _seq_int(msg.get("sequence")),
            "event_time": str(msg.get("time"))[:40] if msg.get("time") else None,
            "correlation_id": str(msg.get("correlationid"))[:200]
            if msg.get("correlationid") else None,
            "raw": p.raw, "status": status,
            "reason": "; ".join(str(x) for x in p.problems) or None, "received_at": stamp,
            "applied_at": None,
        })
        next_seq += 1
        receipts_rows.append({"inbox_id": inbox_id, "received_at": stamp, "duplicate": False})
        out.append(Receipt("rejected" if p.problems else "accepted", inbox_id, p.source,
                           p.event_id, tuple(p.problems)))
    if rows:
        conn.execute(inbox.insert(), rows)
    if receipts_rows:
        conn.execute(inbox_receipts.insert(), receipts_rows)
    for row, receipt in zip((r for r in rows if r["status"] == "rejected"),
                            (r for r in out if r.status == "rejected"), strict=True):
        first = receipt.problems[0]
        raise_exception(conn, Problem(
            code="message.rejected", domain=BusinessDomain.IT, severity=Severity.MEDIUM,
            message=(f"{row['type'] or 'message'} {receipt.event_id} from {receipt.source}"
                     if receipt.source != UNKNOWN_SOURCE else "an unreadable message")
            + " was rejected: " + "; ".join(str(p) for p in receipt.problems),
            remediation="Fix the sending system's payload (the field and rule are named), "
            "then re-send it or replay the corrected message.",
            field=first.path, objects=(("inbox", row["id"]),),
        ), now=now, inbox_id=row["id"], correlation_id=row["correlation_id"])
    return out


def pending_count(conn: Connection) -> int:
    """Messages received and not yet applied (what the processor will take next)."""
    return int(conn.execute(select(func.count()).select_from(inbox).where(
        inbox.c.status == "received")).scalar_one())

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

from sqlalchemy import Connection, bindparam, func, select, text

from syncline.adapters.db.tables import inbox, inbox_receipts, outbox, parked
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.schemas import SchemaProblem, validate_event
from syncline.services.clock import iso
from syncline.services.ids import new_id
from syncline.services.messaging.exceptions import counts_by_domain, raise_exception

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


_INBOX_COLUMNS = ("id", "seq", "source", "event_id", "type", "subject", "sequence",
                  "event_time", "correlation_id", "raw", "status", "reason", "received_at",
                  "applied_at")
_RECEIPT_COLUMNS = ("inbox_id", "received_at", "duplicate")


def _insert_many(conn: Connection, table: str, columns: tuple[str, ...],
                 rows: list[tuple[Any, ...]]) -> None:
    """One executemany straight to the driver: the values are plain str/int/bool/None, so
    SQLAlchemy's per-row parameter processing (a third of receiving) buys nothing here."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
           f"VALUES ({', '.join([mark] * len(columns))})")
    conn.exec_driver_sql(sql, rows)


def _existing(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Inbox ids of the keys already stored: one look-up per source and 500 ids (the
    unique index on (source, event_id) answers it)."""
    by_source: dict[str, list[str]] = {}
    for source, event_id in keys:
        by_source.setdefault(source, []).append(event_id)
    found: dict[tuple[str, str], str] = {}
    query = select(inbox.c.event_id, inbox.c.id).where(
        (inbox.c.source == bindparam("src")) & inbox.c.event_id.in_(bindparam("ids",
                                                                            expanding=True)))
    for source, ids in by_source.items():
        for start in range(0, len(ids), 500):
            for event_id, inbox_id in conn.execute(
                    query, {"src": source, "ids": ids[start:start + 500]}):
                found[(source, event_id)] = inbox_id
    return found


def receive_many(conn: Connection, items: Iterable[str | dict[str, Any]], *,
                 now: datetime) -> list[Receipt]:
    """Store a batch of messages (one transaction is the caller's); return one receipt each.

    Receiving is serialized per database: on SQLite every transaction takes the write lock
    when it begins (`BEGIN IMMEDIATE`, adapters/db/engine.py), so two receivers take turns;
    on PostgreSQL a transaction-scoped advisory lock does it, for concurrent receivers
    (several API workers). Either way the arrival order ``seq`` stays gapless and unique
    and a message sent to two receivers at once is stored once (the other gets a duplicate
    receipt).
    """
    parsed = [_parse(i) for i in items]
    if not parsed:
        return []
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RECEIVE_LOCK})
    existing = _existing(conn, {(p.source, p.event_id) for p in parsed})
    next_seq = (conn.execute(select(func.max(inbox.c.seq))).scalar() or 0) + 1
    stamp = iso(now)
    rows: list[tuple[Any, ...]] = []  # in _INBOX_COLUMNS order
    receipts_rows: list[tuple[str, str, bool]] = []
    out: list[Receipt] = []
    rejected: list[tuple[Receipt, str | None, str | None]] = []  # receipt, type, correlation
    for p in parsed:
        key = (p.source, p.event_id)
        known = existing.get(key)
        if known is not None:
            receipts_rows.append((known, stamp, True))
            out.append(Receipt("duplicate", known, p.source, p.event_id))
            continue
        inbox_id = new_id("inb")
        existing[key] = inbox_id
        msg = p.message if isinstance(p.message, dict) else {}
        etype, subject, etime, corr = (msg.get("type"), msg.get("subject"), msg.get("time"),
                                       msg.get("correlationid"))
        etype = str(etype)[:100] if etype else None
        corr = str(corr)[:200] if corr else None
        rows.append((
            inbox_id, next_seq, p.source, p.event_id, etype,
            str(subject)[:200] if subject else None, _seq_int(msg.get("sequence")),
            str(etime)[:40] if etime else None, corr, p.raw,
            "rejected" if p.problems else "received",
            "; ".join(str(x) for x in p.problems) if p.problems else None, stamp, None))
        next_seq += 1
        receipts_rows.append((inbox_id, stamp, False))
        if p.problems:
            receipt = Receipt("rejected", inbox_id, p.source, p.event_id, tuple(p.problems))
            rejected.append((receipt, etype, corr))
        else:
            receipt = Receipt("accepted", inbox_id, p.source, p.event_id)
        out.append(receipt)
    if rows:
        _insert_many(conn, inbox.name, _INBOX_COLUMNS, rows)
    _insert_many(conn, inbox_receipts.name, _RECEIPT_COLUMNS, receipts_rows)
    for receipt, etype, corr in rejected:
        first = receipt.problems[0]
        raise_exception(conn, Problem(
            code="message.rejected", domain=BusinessDomain.IT, severity=Severity.MEDIUM,
            message=(f"{etype or 'message'} {receipt.event_id} from {receipt.source}"
                     if receipt.source != UNKNOWN_SOURCE else "an unreadable message")
            + " was rejected: " + "; ".join(str(p) for p in receipt.problems),
            remediation="Fix the sending system's payload (the field and rule are named), "
            "then re-send it or replay the corrected message.",
            field=first.path, objects=(("inbox", receipt.inbox_id),),
        ), now=now, inbox_id=receipt.inbox_id, correlation_id=corr)
    return out


def pending_count(conn: Connection) -> int:
    """Messages received and not yet applied (what the processor will take next)."""
    return int(conn.execute(select(func.count()).select_from(inbox).where(
        inbox.c.status == "received")).scalar_one())


INBOX_STATUSES = ("received", "applied", "parked", "stale", "failed", "rejected")


def queue_depths(conn: Connection) -> dict[str, Any]:
    """What is waiting where: inbox messages by status (``received`` = not yet applied),
    messages parked on a prerequisite, outbox rows by status (and how many are not yet
    delivered), open exceptions by domain, and the deliveries received so far."""
    by_status = dict.fromkeys(INBOX_STATUSES, 0)
    by_status.update({s: int(n) for s, n in conn.execute(
        select(inbox.c.status, func.count()).group_by(inbox.c.status))})
    out_status = {s: int(n) for s, n in conn.execute(
        select(outbox.c.status, func.count()).group_by(outbox.c.status).order_by(
            outbox.c.status))}
    return {
        "inbox": by_status,
        "deliveries": int(conn.execute(select(func.count()).select_from(inbox_receipts))
                          .scalar_one()),
        "parked_waiting": int(conn.execute(select(func.count()).select_from(parked).where(
            parked.c.released_at.is_(None))).scalar_one()),
        "outbox": out_status,
        "outbox_pending": sum(n for s, n in out_status.items() if s != "delivered"),
        "exceptions_open": counts_by_domain(conn),
    }


def ingest_counts(conn: Connection) -> dict[str, Any]:
    """What an ingest reports: deliveries, outcomes and open exceptions (the same figures as
    `services.state.summary`, without reading the whole state for its fingerprint)."""
    statuses = {s: int(n) for s, n in conn.execute(
        select(inbox.c.status, func.count()).group_by(inbox.c.status))}

    def count(query: Any) -> int:
        return int(conn.execute(query).scalar() or 0)

    return {
        "events_received": count(select(func.count()).select_from(inbox_receipts)),
        "events_applied": statuses.get("applied", 0),
        "duplicates_ignored": count(select(func.count()).select_from(inbox_receipts).where(
            inbox_receipts.c.duplicate.is_(True))),
        "parked": count(select(func.count(func.distinct(parked.c.inbox_id)))),
        "released": count(select(func.count()).select_from(parked).where(
            parked.c.released_at.is_not(None))),
        "rejected": statuses.get("rejected", 0),
        "failed": statuses.get("failed", 0),
        "exceptions_by_domain": counts_by_domain(conn),
    }


def messages_in_order(conn: Connection, *, after: int = 0, limit: int = 2000
                      ) -> list[tuple[int, str]]:
    """The inbox log: ``(seq, raw)`` of the stored messages after ``seq``, in arrival order
    (a page at a time, so a rebuild streams it)."""
    return [(int(seq), raw) for seq, raw in conn.execute(
        select(inbox.c.seq, inbox.c.raw).where(inbox.c.seq > after).order_by(inbox.c.seq)
        .limit(limit))]

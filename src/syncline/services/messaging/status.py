"""What became of a message: the outcome of one inbound event, read back by its source and id.

A sender learns here what the POST could not yet say: received (waiting for the processor),
applied, parked (and on what), stale, failed or rejected — with the exceptions it opened, the
deliveries seen, and when it was received and applied.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from syncline.adapters.db.tables import exceptions, inbox, inbox_receipts, parked

SETTLED = frozenset({"applied", "parked", "failed", "rejected", "stale"})
# How many times a message was delivered (its first receipt and every re-send): an index
# search by message (migration 0027), not a read of every receipt of the history
DELIVERIES = select(func.count()).select_from(inbox_receipts).where(
    inbox_receipts.c.inbox_id == bindparam("inbox_id"))


def event_outcome(conn: Connection, source: str, event_id: str) -> dict[str, Any] | None:
    """The outcome of the message `(source, id)`, or None when it was never received."""
    row = conn.execute(select(inbox).where(
        (inbox.c.source == source) & (inbox.c.event_id == event_id))).first()
    return None if row is None else _outcome(conn, row)


def outcomes_of(conn: Connection, inbox_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Outcomes of stored messages by inbox id (for a POST that waits for them)."""
    rows = conn.execute(select(inbox).where(inbox.c.id.in_(inbox_ids))).all()
    return {r.id: _outcome(conn, r) for r in rows}


def statuses_of(conn: Connection, inbox_ids: list[str]) -> dict[str, str]:
    """Just the statuses (cheap; polled while waiting)."""
    return {r.id: r.status for r in conn.execute(select(inbox.c.id, inbox.c.status).where(
        inbox.c.id.in_(inbox_ids)))}


def _outcome(conn: Connection, row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "inbox_id": row.id, "source": row.source, "id": row.event_id, "type": row.type,
        "subject": row.subject, "status": row.status, "settled": row.status in SETTLED,
        "received_at": row.received_at, "applied_at": row.applied_at,
        "deliveries": int(conn.execute(DELIVERIES, {"inbox_id": row.id}).scalar_one()),
    }
    if row.reason:
        out["reason"] = row.reason
    waiting = conn.execute(select(parked.c.prerequisite, parked.c.reason).where(
        (parked.c.inbox_id == row.id) & parked.c.released_at.is_(None))).first()
    if waiting is not None:
        out["parked_on"] = {"prerequisite": waiting.prerequisite, "reason": waiting.reason}
    out["exceptions"] = [
        {"id": e.id, "code": e.code, "domain": e.domain, "status": e.status,
         "message": e.message, "remediation": e.remediation,
         "objects": json.loads(e.objects)}
        for e in conn.execute(select(exceptions).where(exceptions.c.inbox_id == row.id)
                              .order_by(exceptions.c.created_at, exceptions.c.id))]
    return out

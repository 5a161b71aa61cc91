"""Read models of the inbox: what waits to be applied, queue depths by status, counts of an
ingest, and the stored log in arrival order (for `syncline status` and `rebuild`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from syncline.adapters.db.tables import inbox, inbox_receipts, outbox, parked
from syncline.services.messaging.exceptions import counts_by_domain


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

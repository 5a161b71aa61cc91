"""Read models of the inbox: what waits to be applied, queue depths by status, counts of an
ingest, and the stored log in arrival order (for `syncline status` and `rebuild`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, func, select

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
    by_status.update(by_status_counts(conn, inbox, bulk="applied"))
    out_status = by_status_counts(conn, outbox, bulk="delivered")
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


def by_status_counts(conn: Connection, table: Table, *, bulk: str) -> dict[str, int]:
    """``SELECT status, count(*) … GROUP BY status ORDER BY status`` of ``table`` (the inbox or
    the outbox) without reading every row's index entry, which a scrape of /metrics did each
    time: the statuses present are found one step of the (status, seq) index each (the least
    after the one before); each is counted by its range of that index, but ``bulk`` — where
    nearly every row ends (applied, delivered) — which is the table's row count less the
    others. That count still grows with the table — SQLite counts the pages of its smallest
    index (no row is decoded), PostgreSQL scans — but no longer walks the status index; the
    other counts cost the rows not yet in ``bulk``. The counts are one statement: one
    snapshot, as the grouping was (a status first seen after the look-up of the statuses
    is counted in ``bulk`` until the next call)."""
    status = table.c.status
    found: list[str] = []
    while True:
        after = select(func.min(status))
        step = conn.execute(after.where(status > found[-1]) if found else after).scalar()
        if step is None:
            break
        found.append(step)
    others = [s for s in found if s != bulk]
    counted = conn.execute(select(
        select(func.count()).select_from(table).scalar_subquery(),
        *(select(func.count()).select_from(table).where(status == s).scalar_subquery()
          for s in others))).one()
    counts = dict(zip(others, (int(n) for n in counted[1:]), strict=True))
    counts[bulk] = int(counted[0]) - sum(counts.values())
    return {s: counts[s] for s in found if counts[s] > 0}


def ingest_counts(conn: Connection) -> dict[str, Any]:
    """What an ingest reports: deliveries, outcomes and open exceptions (the same figures as
    `services.state.summary`, without reading the whole state for its fingerprint)."""
    statuses = by_status_counts(conn, inbox, bulk="applied")

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

"""Releasing parked messages: the one place that does it, for the processor and for runs.

Most prerequisites are provided by a handler (a deal provides `project:P-1`) and the processor
releases what waits on them in the same unit of work. A few are made by a run instead — an
invoice is numbered by the billing run — so the run releases the messages waiting on what it
made (`invoice:<number>`): they go back to `received` and the next apply takes them, and the
exception a long wait opened resolves itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, select, update

from syncline.adapters.db.tables import inbox, parked
from syncline.services.clock import iso
from syncline.services.messaging.exceptions import resolve


def release_waiting(conn: Connection, keys: Iterable[str], now: datetime) -> int:
    """Release every message parked on one of `keys`; returns how many."""
    wanted = sorted(set(keys))
    released = 0
    for start in range(0, len(wanted), 500):
        for w in conn.execute(select(parked.c.id, parked.c.inbox_id, parked.c.exception_id)
                              .where(parked.c.prerequisite.in_(wanted[start:start + 500])
                                     & parked.c.released_at.is_(None))).all():
            conn.execute(update(parked).where(parked.c.id == w.id).values(released_at=iso(now)))
            conn.execute(update(inbox).where(inbox.c.id == w.inbox_id).values(
                status="received"))
            if w.exception_id:
                resolve(conn, w.exception_id, now=now, actor="syncline", action="auto-release",
                        reason="the prerequisite arrived; the message was released and re-applied")
            released += 1
    return released

"""Straight through: a chunk of a stream applied in the transaction that received it.

`syncline ingest` receives a stream chunk by chunk. Received and then applied by the drain
(`drain.process_pending`), every message is written twice in two transactions (stored as
received, then marked), read back from the inbox and parsed again. When the chunk's messages
are the only ones waiting, nothing can come between receiving and applying them: they are
applied at once, in the receiving transaction, from the rows just written and the messages as
receiving parsed them (`processor.apply_batch(parsed=…)`), which the drain would have
selected and parsed again. Anything else — earlier messages still waiting, a corrected re-send
(stored again under an older id), PostgreSQL (where leased workers apply beside the
receiver) — leaves the chunk received for the drain, as before.

The raw messages are stored before anything is applied, in the same transaction, which takes
no savepoint (`processor.apply_batch(whole=True)`): a savepoint that outgrows 64 KiB spills
SQLite's statement journal to a temporary file for the rest of the transaction, and every
statement that needs one after (each billable item's insert, through its trigger) then
writes the pages it changes there — about 70,000 page writes of a 13,000-event ingest. If
the apply raises (a defect; a message's own failure is an outcome, see `processor`), the
transaction is rolled back and the chunk received again in one of its own: nothing is lost,
and the drain applies it carefully (`ingest_chunk`).

Marked as stored: when nothing waits before the chunk is received (`ready`), its new
messages are stored as applied at their receipt (`receive_prepared(mark_applied=True)`), and
the apply writes a mark only for a message that ends otherwise (parked, failed, stale, or
applied with a note) — nearly every message is then written once, not inserted and then
updated (an update rewrites the row with its raw text and moves its status index entry: 7 %
of an ingest's CPU). A chunk that revises a stored message is set back to received (the
drain applies it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from syncline.adapters.db.tables import inbox
from syncline.domain.reference import ReferenceData
from syncline.services.messaging.bulk import shape, update_rows
from syncline.services.messaging.inbox import INBOX_COLUMNS, Prepared, receive_prepared
from syncline.services.messaging.outcomes import Stats
from syncline.services.messaging.processor import apply_batch
from syncline.services.messaging.unit import TriedWhole

Stored = list[tuple[tuple[Any, ...], Any]]  # `inbox.receive_prepared`'s ``to_apply``
_WAITING = f"SELECT count(*) FROM {inbox.name} WHERE status = 'received'"


def ready(conn: Connection) -> bool:
    """Whether a chunk received now in this transaction may be stored as applied: on SQLite,
    when no message waits to be applied (the write lock, taken when the transaction began,
    keeps it so until the chunk is applied)."""
    return conn.dialect.name == "sqlite" and conn.exec_driver_sql(_WAITING).scalar() == 0


def ingest_chunk(engine: Engine, prepared: Prepared, ref: ReferenceData,
                 clock: Callable[[], datetime], stats: Stats,
                 log: Callable[[Exception], None] | None = None) -> int:
    """Receive a chunk in one transaction, applied straight when it is all that waits;
    return how many messages were applied (0: left received for the drain). If applying it
    raises (a defect), the transaction is rolled back — the apply took no savepoint — and
    the chunk is received again in a transaction of its own, for the drain to apply
    carefully."""
    try:
        with engine.begin() as conn:
            now = clock()
            stored: Stored = []
            receive_prepared(conn, prepared, now=now, to_apply=stored,
                             mark_applied=ready(conn))
            return apply_received(conn, stored, ref, now, stats)
    except TriedWhole as defect:
        if log is not None:
            log(defect.error)
    with engine.begin() as conn:
        receive_prepared(conn, prepared, now=clock())
    return 0


def apply_received(conn: Connection, stored: Stored, ref: ReferenceData, now: datetime,
                   stats: Stats) -> int:
    """Apply the messages `stored` has just received (in this transaction) when they are all
    that waits; return how many were applied (0: left received for the drain). No
    savepoint: a defect raises `unit.TriedWhole`, and the caller rolls the transaction
    back."""
    if not stored or conn.dialect.name != "sqlite":
        return 0
    make = shape(INBOX_COLUMNS)
    rows = [make._make(row) for row, _ in stored]
    marked = {r.id for r in rows if r.status == "applied"}
    if conn.exec_driver_sql(_WAITING).scalar() != len(stored) - len(marked):
        _received(conn, marked)
        return 0  # something else waits (earlier, or a re-send): the drain keeps the order
    parsed = {row[0]: message for row, message in stored if message is not None}
    settled = apply_batch(conn, rows, ref, now, stats, parsed=parsed, marked=set(marked),
                          whole=True)
    _received(conn, marked.intersection(r.id for r in rows[settled:]))
    return settled


def _received(conn: Connection, ids: set[str]) -> None:
    """Rows stored as applied that were not applied after all: set back to received."""
    if ids:
        update_rows(conn, inbox.name, "id", (), [(i,) for i in sorted(ids)],
                    constants="status = 'received', applied_at = NULL")

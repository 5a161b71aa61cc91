"""Apply: inbox messages become state changes in units of work (one transaction per batch).

Per message: the handler from `HANDLERS` and the inbox mark. A batch is tried first with no
savepoint per set or message (none at all where its transaction holds nothing else); if a
handler raises, the try is rolled back and the batch applied carefully, each set and message
under its own savepoint, so a bug in one message never half-applies it nor stops the batch
(`apply_batch`). Parked messages are released automatically
when what they wait for arrives; past `max_age` they also open an exception, which resolves
itself if the prerequisite turns up later.

The package: this module tries a batch and falls back (`apply_batch`); `runs` walks its rows
(sets and single messages); `table` says which types go as sets; `book` writes what each
message came to (marks, subjects, parks, exceptions, releases). Tests and engines that
replace a set handler replace it in `table.SET_HANDLERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from syncline.domain.reference import ReferenceData
from syncline.services.handlers import HANDLERS
from syncline.services.messaging.bulk import Savepoint, light
from syncline.services.messaging.outcomes import Stats
from syncline.services.messaging.processor import book, runs, table
from syncline.services.messaging.processor.runs import YIELD_SET, apply_rows
from syncline.services.messaging.unit import TriedWhole, Unit
from syncline.services.telemetry import metrics

__all__ = ["HANDLERS", "YIELD_SET", "apply_batch", "book", "runs", "table"]


def apply_batch(conn: Connection, rows: list[Any], ref: ReferenceData, now: datetime,
                stats: Stats, *, yield_when: Callable[[], bool] | None = None,
                parsed: dict[str, Any] | None = None, marked: set[str] | None = None,
                whole: bool = False, careful: bool = False) -> int:
    """Apply rows in order; runs of high-volume messages go as sets, the rest one by one.

    ``yield_when`` (an applying worker beside the API on SQLite, where both need the one
    write lock): asked after each message or set (sets then of at most `YIELD_SET`); when it
    says so — a request is waiting to be stored — the batch ends there, to commit and let the
    request through; the rows after are left received, for the next batch. Returns how many
    rows (from the first) were settled. ``parsed`` (inbox id -> message): messages just
    received, as `inbox.receive_prepared` parsed them, so they are not read again.
    ``marked`` (inbox ids; emptied as their marks change): rows stored as applied at `now`
    when they were received (`straight.py`): one that is applied with no note is left as
    stored; any other outcome is written as usual.

    First try, then carefully: the batch is applied under one savepoint, with no savepoint
    per set or message. Nearly always nothing raises, and the result is the careful one. If
    a handler raises, the try is rolled back (its telemetry, statistics and caches with it)
    and the batch is applied again carefully: each set, and each message, under its own
    savepoint, so that a set that raises is applied message by message and a message that
    raises fails on its own (an exception for a person), as before. On SQLite a savepoint
    copies every page first changed under it to the statement journal, again for each new
    one, and once that journal passes 64 KiB it is a file, which a statement with a trigger
    (a billable item's insert: a statement journal a row) then also writes to; on
    PostgreSQL each savepoint is a round trip. `pwrite64` calls of the bench's ingest:
    123,515 with a savepoint per set and message, 96,342 with one a batch, 27,212 with none.
    ``whole``: the caller's transaction holds nothing this batch could lose (`straight.py`:
    the chunk's own receipt, received again if the transaction is rolled back): the try
    takes no savepoint at all, and a handler's exception reaches the caller as `TriedWhole`;
    its transaction is then rolled back as a whole. ``careful``: no first try (the batch
    raised in one already)."""
    with metrics.apply_batch_seconds.time():
        rows = light(rows)
        tried = None if careful else _first_try(conn, rows, ref, now, stats, yield_when,
                                                parsed, marked, whole)
        if tried is not None:
            return tried
        batch = Unit(conn=conn, ref=ref, now=now, parsed=parsed, marked=marked)
        return apply_rows(batch, rows, now, stats, yield_when)


def _first_try(conn: Connection, rows: list[Any], ref: ReferenceData, now: datetime,
               stats: Stats, yield_when: Callable[[], bool] | None,
               parsed: dict[str, Any] | None, marked: set[str] | None,
               whole: bool = False) -> int | None:
    """`apply_batch` without a savepoint per set or message; None (nothing kept) when a
    handler raised (``whole``: no savepoint, and the exception is the caller's)."""
    batch = Unit(conn=conn, ref=ref, now=now, parsed=dict(parsed) if parsed else None,
                  marked=set(marked) if marked else None, careful=False, observed=[])
    counts = Stats()
    savepoint = None if whole else Savepoint(conn)
    try:
        settled = apply_rows(batch, rows, now, counts, yield_when)
    except Exception as err:
        if savepoint is None:
            raise TriedWhole(err) from err
        savepoint.rollback()
        return None
    if savepoint is not None:
        savepoint.commit()
    if marked is not None:
        marked.intersection_update(batch.marked or ())
    if parsed:
        parsed.clear()
    stats.add(counts)
    for record, args in batch.observed or ():
        record(*args)
    return settled



"""What applying a message comes to, written down: its inbox mark (applied, stale, parked,
failed), its subject's last sequence, its park and exception, and the messages it releases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update

from syncline.adapters.db.tables import inbox, parked, subject_state
from syncline.services.clock import iso
from syncline.services.handlers import HANDLERS, SEQUENCED_STATE
from syncline.services.messaging.bulk import driver, insert_rows
from syncline.services.messaging.exceptions import combine, raise_exception
from syncline.services.messaging.outcomes import Applied, Failed, Outcome, Parked, Stale, Stats
from syncline.services.messaging.unit import data_of, observe_settled, unmark, waiting
from syncline.services.messaging.unit import marked as marked_as_stored
from syncline.services.messaging.unit_of_work import Batch
from syncline.services.messaging.waiting import release_waiting
from syncline.services.telemetry.processing import observe

# Statements built once (parameters bound per execute, lists of them executemany): building
# and cache-keying a statement per message cost more than executing it.
_ID = inbox.c.id == bindparam("b_id")
_APPLIED = update(inbox).where(_ID).values(status="applied", applied_at=bindparam("b_at"),
                                           reason=bindparam("b_reason"))
_STALE = update(inbox).where(_ID).values(status="stale", applied_at=bindparam("b_at"),
                                         reason=bindparam("b_reason"))
_PARKED = update(inbox).where(_ID).values(status="parked", reason=bindparam("b_reason"))
_FAILED = update(inbox).where(_ID).values(status="failed", reason=bindparam("b_reason"))
_PARKED_STORED, _FAILED_STORED = (s.values(applied_at=None) for s in (_PARKED, _FAILED))
PARK = parked.insert()
_LAST = "SELECT last_sequence FROM subject_state WHERE subject = ?"  # (bulk.driver)
_SUBJECT_NEXT = update(subject_state).where(
    subject_state.c.subject == bindparam("b_subject")).values(
    last_sequence=bindparam("b_seq"), inbox_id=bindparam("b_id"))


def apply_one(batch: Batch, row: Any) -> Outcome:
    handler = HANDLERS[row.type]
    data = data_of(batch, row)
    if row.type in SEQUENCED_STATE and row.subject and row.sequence is not None:
        last = driver(batch.conn, _LAST, (row.subject,)).scalar()
        batch.subject_read = (row.id, last)  # (`mark_subject` then needs no read)
        if last is not None and row.sequence <= last:
            return Stale(f"sequence {row.sequence} is not newer than applied {last}")
    return handler(batch, data)


def mark_subject(batch: Batch, row: Any) -> None:
    """The subject's last sequence becomes the applied `row`'s when that is newer. Its last
    sequence is the one `apply_one` read for this row, if it did (no handler writes it)."""
    if not row.subject or row.sequence is None:
        return
    conn, read = batch.conn, batch.subject_read
    batch.subject_read = None
    last = read[1] if read is not None and read[0] == row.id else driver(
        conn, _LAST, (row.subject,)).scalar()
    if last is None:
        insert_rows(conn, subject_state, [{"subject": row.subject,
                                           "last_sequence": row.sequence,
                                           "inbox_id": row.id}])
    elif row.sequence > last:
        conn.execute(_SUBJECT_NEXT, [{"b_subject": row.subject, "b_seq": row.sequence,
                                      "b_id": row.id}])


def release(batch: Batch, keys: tuple[str, ...], now: datetime, stats: Stats) -> None:
    if not keys:
        return
    known = waiting(batch)
    if known is not None and known.isdisjoint(keys):
        return
    if known is not None:
        known.difference_update(keys)
    stats.released += release_waiting(batch.conn, keys, now)


def book(batch: Batch, row: Any, outcome: Outcome, now: datetime, stats: Stats) -> None:
    """Record what applying `row` came to: inbox mark, subject, park, exception, releases."""
    conn = batch.conn
    match outcome:
        case Applied(provides=provides):
            if row.type in SEQUENCED_STATE:
                mark_subject(batch, row)
            if not marked_as_stored(batch, row.id, outcome.note or None):
                conn.execute(_APPLIED, [{"b_id": row.id, "b_at": iso(now),
                                         "b_reason": outcome.note or None}])
            stats.applied += 1
            observe_settled(batch, observe, row, "applied", now)
            release(batch, provides, now, stats)
        case Stale(note=note):  # (its applied time is written)
            conn.execute(_STALE, [{"b_id": row.id, "b_at": iso(now), "b_reason": note}])
            stats.stale += 1
            observe_settled(batch, observe, row, "stale", now)
        case Parked(missing=missing):
            conn.execute(PARK, [{"inbox_id": row.id, "prerequisite": missing.key,
                                  "reason": missing.reason,
                                  "parked_at": row.event_time or iso(now)}])
            conn.execute(_PARKED_STORED if unmark(batch, row.id) else _PARKED,
                         [{"b_id": row.id, "b_reason": missing.reason}])
            if (known := waiting(batch)) is not None:
                known.add(missing.key)
            stats.parked += 1
            observe_settled(batch, observe, row, "parked", now)
        case Failed(problems=problems):
            problem = combine(problems)
            conn.execute(_FAILED_STORED if unmark(batch, row.id) else _FAILED,
                         [{"b_id": row.id, "b_reason": problem.message}])
            raise_exception(conn, problem, now=now, inbox_id=row.id,
                            correlation_id=row.correlation_id)
            stats.failed += 1
            observe_settled(batch, observe, row, "failed", now)

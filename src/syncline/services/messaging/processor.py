"""Apply: inbox messages become state changes in units of work (one transaction per batch).

Per message: the handler from `HANDLERS` and the inbox mark. A batch is tried first with no
savepoint per set or message (none at all where its transaction holds nothing else); if a
handler raises, the try is rolled back and the batch applied carefully, each set and message
under its own savepoint, so a bug in one message never half-applies it nor stops the batch
(`apply_batch`). Parked messages are released automatically
when what they wait for arrives; past `max_age` they also open an exception, which resolves
itself if the prerequisite turns up later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from syncline.adapters.db.tables import inbox, parked, subject_state
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.domain.reference import ReferenceData
from syncline.services.clock import iso
from syncline.services.handlers import (
    HANDLERS,
    SEQUENCED_STATE,
    record_time,
    record_time_set,
)
from syncline.services.handlers.expenses import (
    record_expense,
    record_expense_set,
    reverse_expense,
)
from syncline.services.handlers.milestones import complete_milestone
from syncline.services.handlers.time import reverse_time
from syncline.services.handlers.time_rejections import reverse_time_set
from syncline.services.handlers.workers import upsert_worker
from syncline.services.messaging.bulk import Savepoint, light, update_rows
from syncline.services.messaging.exceptions import combine, raise_exception
from syncline.services.messaging.outcomes import Applied, Failed, Outcome, Parked, Stale, Stats
from syncline.services.messaging.unit import (
    TriedWhole,
    Unit,
    data_of,
    observe_settled,
    unmark,
    waiting,
)
from syncline.services.messaging.unit import marked as marked_as_stored
from syncline.services.messaging.unit_of_work import Batch, Handler
from syncline.services.messaging.waiting import release_waiting
from syncline.services.telemetry import metrics, traces
from syncline.services.telemetry.processing import observe, observe_many

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
_PARK = parked.insert()
_LAST = select(subject_state.c.last_sequence).where(
    subject_state.c.subject == bindparam("b_subject"))
_SUBJECT_NEW = subject_state.insert()
_SUBJECT_NEXT = update(subject_state).where(
    subject_state.c.subject == bindparam("b_subject")).values(
    last_sequence=bindparam("b_seq"), inbox_id=bindparam("b_id"))


def _apply_one(batch: Batch, row: Any) -> Outcome:
    handler = HANDLERS[row.type]
    data = data_of(batch, row)
    if row.type in SEQUENCED_STATE and row.subject and row.sequence is not None:
        last = batch.conn.execute(_LAST, {"b_subject": row.subject}).scalar()
        if last is not None and row.sequence <= last:
            return Stale(f"sequence {row.sequence} is not newer than applied {last}")
    return handler(batch, data)


def _mark_subject(conn: Connection, row: Any) -> None:
    if not row.subject or row.sequence is None:
        return
    last = conn.execute(_LAST, {"b_subject": row.subject}).scalar()
    if last is None:
        conn.execute(_SUBJECT_NEW, [{"subject": row.subject, "last_sequence": row.sequence,
                                     "inbox_id": row.id}])
    elif row.sequence > last:
        conn.execute(_SUBJECT_NEXT, [{"b_subject": row.subject, "b_seq": row.sequence,
                                      "b_id": row.id}])


def _release(batch: Batch, keys: tuple[str, ...], now: datetime, stats: Stats) -> None:
    if not keys:
        return
    known = waiting(batch)
    if known is not None and known.isdisjoint(keys):
        return
    if known is not None:
        known.difference_update(keys)
    stats.released += release_waiting(batch.conn, keys, now)


SetHandler = Callable[[Batch, list[tuple[str, Mapping[str, Any]]]], list[Outcome]]

# High-volume types applied as a set (docs/architecture.md, "Set-based apply"): type -> (the
# core handler the set path mirrors, its set function; None: that handler message by message
# inside the set's one savepoint, with the bookkeeping of the set). Only while HANDLERS holds
# that core handler: an engine that overrides it gets the per-message path. None of them parks
# on what another of its type provides. A type sequenced per subject (SEQUENCED_STATE) goes
# message by message (no set function): each is checked for staleness and marks its subject
# as the single path does, in order, so a set of them decides what one at a time decides.
SET_HANDLERS: dict[str, tuple[Handler, SetHandler | None]] = {
    "time.approved": (record_time, record_time_set),
    "expense.approved": (record_expense, record_expense_set),
    "time.rejected": (reverse_time, reverse_time_set),
    "expense.rejected": (reverse_expense, None),
    "milestone.completed": (complete_milestone, None),
    "worker.upserted": (upsert_worker, None),  # an HR sync sends its workers in a burst
}
assert all(apply is None for kind, (_, apply) in SET_HANDLERS.items()
           if kind in SEQUENCED_STATE)


# Types that commute with approved time (neither reads what the other writes): a run of time
# may include them; the time set is applied first, then these in their order.
COMMUTING = {"expense.approved", "expense.rejected"}


def _settable(kind: str) -> bool:
    entry = SET_HANDLERS.get(kind)
    return entry is not None and HANDLERS.get(kind) is entry[0]


YIELD_SET = 250  # with `yield_when`: the largest set applied before it is asked again


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
        return _apply_rows(batch, rows, now, stats, yield_when)


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
        settled = _apply_rows(batch, rows, now, counts, yield_when)
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


def _apply_rows(batch: Unit, rows: list[Any], now: datetime, stats: Stats,
                yield_when: Callable[[], bool] | None = None) -> int:
    largest = YIELD_SET if yield_when is not None else len(rows)
    run: list[Any] = []
    for i, row in enumerate(rows):
        if run and len(run) < largest and (row.type == run[0].type or (
                run[0].type == "time.approved" and row.type in COMMUTING)):
            run.append(row)
            continue
        if run:  # the run is rows[i - len(run):i]: everything before row i is settled
            _apply_run(batch, run, now, stats)
            run = []
            if yield_when is not None and yield_when():
                return i
        if _settable(row.type):
            run.append(row)
        else:
            _apply_single(batch, row, now, stats)
            if yield_when is not None and i + 1 < len(rows) and yield_when():
                return i + 1
    _apply_run(batch, run, now, stats)
    return len(rows)


def _apply_run(batch: Batch, run: list[Any], now: datetime, stats: Stats) -> None:
    """A run of one set type (and, in a run of time, the commuting messages after it, in their
    order: consecutive ones of a type as a set)."""
    if not run:
        return
    lead = run[0].type
    _apply_set(batch, [r for r in run if r.type == lead], now, stats)
    for kind, group in groupby((r for r in run if r.type != lead), key=lambda r: r.type):
        rows = list(group)
        if _settable(kind):
            _apply_set(batch, rows, now, stats)
        else:
            for row in rows:
                _apply_single(batch, row, now, stats)


def _in_turn(batch: Batch, handler: Handler, rows: list[Any]) -> list[Outcome]:
    sequenced = rows[0].type in SEQUENCED_STATE
    outcomes: list[Outcome] = []
    for row in rows:
        batch.inbox_id, batch.correlation_id, batch.sequence = row.id, row.correlation_id, \
            row.sequence
        batch.source = row.source
        if not sequenced:
            outcomes.append(handler(batch, data_of(batch, row)))
            continue
        outcome = _apply_one(batch, row)  # the stale check, then the handler
        if isinstance(outcome, Applied):
            _mark_subject(batch.conn, row)
        outcomes.append(outcome)
    return outcomes


def _apply_set(batch: Batch, rows: list[Any], now: datetime, stats: Stats) -> None:
    conn = batch.conn
    if len(rows) == 1:
        _apply_single(batch, rows[0], now, stats)
        return
    handler, apply = SET_HANDLERS[rows[0].type]
    started = traces.now_ns()
    savepoint = Savepoint(conn) if getattr(batch, "careful", True) else None
    try:
        outcomes = (_in_turn(batch, handler, rows) if apply is None else
                    apply(batch, [(r.id, data_of(batch, r)) for r in rows]))
    except Exception:  # something unexpected: fall back to one message at a time, each isolated
        if savepoint is None:
            raise  # (the first try: `apply_batch` applies the batch again, carefully)
        savepoint.rollback()
        batch._projects.clear()
        batch._outbox_seq = None  # what the set emitted is gone: read the sequence again
        for row in rows:
            _apply_single(batch, row, now, stats)
        return
    stamp = iso(now)
    applied: list[tuple[Any, ...]] = []
    parked_rows: list[tuple[Any, Any]] = []
    provides: list[str] = []
    if traces.enabled():
        ended = traces.now_ns()
        for row in rows:
            traces.record("syncline.apply", traces.key(row.correlation_id, "inbox", row.id),
                          started, ended, inbox_id=row.id,
                          event_id=getattr(row, "event_id", None), type=row.type,
                          set_of=len(rows))
    by_type = stats.by_type
    applied_rows: list[Any] = []
    for row, outcome in zip(rows, outcomes, strict=True):
        by_type[row.type] = by_type.get(row.type, 0) + 1
        match outcome:
            case Applied():
                if not marked_as_stored(batch, row.id, outcome.note or None):
                    applied.append((stamp, outcome.note or None, row.id))
                applied_rows.append(row)
                provides.extend(outcome.provides)
            case Parked(missing=missing):
                parked_rows.append((row, missing))
            case _:
                _book(batch, row, outcome, now, stats)
    stats.applied += len(applied_rows)
    observe_settled(batch, observe_many, applied_rows, "applied", now)
    observe_settled(batch, observe_many, [r for r, _ in parked_rows], "parked", now)
    update_rows(conn, inbox.name, "id", ("applied_at", "reason"), applied,
                constants="status = 'applied'")
    if parked_rows:
        conn.execute(_PARK, [
            {"inbox_id": r.id, "prerequisite": m.key, "reason": m.reason,
             "parked_at": r.event_time or stamp} for r, m in parked_rows])
        stored = [unmark(batch, r.id) for r, _ in parked_rows]
        for cleared in (False, True):  # (see _unmark)
            update_rows(conn, inbox.name, "id", ("reason",), [
                (m.reason, r.id) for (r, m), was in zip(parked_rows, stored, strict=True)
                if was is cleared],
                constants="status = 'parked'" + (", applied_at = NULL" if cleared else ""))
        stats.parked += len(parked_rows)
        if (known := waiting(batch)) is not None:
            known.update(m.key for _, m in parked_rows)
    if savepoint is not None:
        savepoint.commit()
    _release(batch, tuple(provides), now, stats)


def _apply_single(batch: Batch, row: Any, now: datetime, stats: Stats) -> None:
    batch.inbox_id, batch.correlation_id, batch.sequence = row.id, row.correlation_id, \
        row.sequence
    batch.source = row.source
    with traces.stage("syncline.apply", traces.key(row.correlation_id, "inbox", row.id),
                      inbox_id=row.id, event_id=getattr(row, "event_id", None), type=row.type):
        _apply_single_traced(batch, row, now, stats)


def _apply_single_traced(batch: Batch, row: Any, now: datetime, stats: Stats) -> None:
    conn = batch.conn
    savepoint = Savepoint(conn) if getattr(batch, "careful", True) else None
    try:
        outcome = _apply_one(batch, row)
    except Exception as err:  # a bug must not take the batch down: park it for a person
        if savepoint is None:
            raise  # (the first try: `apply_batch` applies the batch again, carefully)
        savepoint.rollback()
        batch._projects.clear()
        outcome = Failed((Problem(
            "internal.error", BusinessDomain.IT,
            f"applying {row.type} failed: {type(err).__name__}: {err}",
            "A Syncline defect: report it with this exception id; retry after the fix.",
            severity=Severity.CRITICAL),))
        savepoint = Savepoint(conn)
    stats.by_type[row.type] = stats.by_type.get(row.type, 0) + 1
    _book(batch, row, outcome, now, stats)
    if savepoint is not None:
        savepoint.commit()


def _book(batch: Batch, row: Any, outcome: Outcome, now: datetime, stats: Stats) -> None:
    """Record what applying `row` came to: inbox mark, subject, park, exception, releases."""
    conn = batch.conn
    match outcome:
        case Applied(provides=provides):
            if row.type in SEQUENCED_STATE:
                _mark_subject(conn, row)
            if not marked_as_stored(batch, row.id, outcome.note or None):
                conn.execute(_APPLIED, [{"b_id": row.id, "b_at": iso(now),
                                         "b_reason": outcome.note or None}])
            stats.applied += 1
            observe_settled(batch, observe, row, "applied", now)
            _release(batch, provides, now, stats)
        case Stale(note=note):  # (its applied time is written)
            conn.execute(_STALE, [{"b_id": row.id, "b_at": iso(now), "b_reason": note}])
            stats.stale += 1
            observe_settled(batch, observe, row, "stale", now)
        case Parked(missing=missing):
            conn.execute(_PARK, [{"inbox_id": row.id, "prerequisite": missing.key,
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

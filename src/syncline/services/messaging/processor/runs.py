"""A batch's rows in order: runs of one set type applied as a set (with the commuting types a
run of time takes along), the rest one message at a time; each under its own savepoint when
the batch is applied carefully (`Unit.careful`), none in a first try."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import groupby
from typing import Any

from syncline.adapters.db.tables import inbox
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.services.clock import iso
from syncline.services.handlers import SEQUENCED_STATE
from syncline.services.messaging.bulk import Savepoint, update_rows
from syncline.services.messaging.outcomes import Applied, Failed, Outcome, Parked, Stats
from syncline.services.messaging.processor import table
from syncline.services.messaging.processor.book import (
    PARK,
    apply_one,
    book,
    mark_subject,
    release,
)
from syncline.services.messaging.unit import (
    Unit,
    data_all,
    data_of,
    observe_settled,
    unmark,
    waiting,
)
from syncline.services.messaging.unit import marked as marked_as_stored
from syncline.services.messaging.unit_of_work import Batch, Handler
from syncline.services.telemetry import traces
from syncline.services.telemetry.processing import observe_many

YIELD_SET = 250  # with `yield_when`: the largest set applied before it is asked again


def apply_rows(batch: Unit, rows: list[Any], now: datetime, stats: Stats,
               yield_when: Callable[[], bool] | None = None) -> int:
    largest = YIELD_SET if yield_when is not None else len(rows)
    run: list[Any] = []
    for i, row in enumerate(rows):
        if run and len(run) < largest and (row.type == run[0].type or (
                run[0].type == "time.approved" and row.type in table.COMMUTING)):
            run.append(row)
            continue
        if run:  # the run is rows[i - len(run):i]: everything before row i is settled
            apply_run(batch, run, now, stats)
            run = []
            if yield_when is not None and yield_when():
                return i
        if table.settable(row.type):
            run.append(row)
        else:
            apply_single(batch, row, now, stats)
            if yield_when is not None and i + 1 < len(rows) and yield_when():
                return i + 1
    apply_run(batch, run, now, stats)
    return len(rows)


def apply_run(batch: Batch, run: list[Any], now: datetime, stats: Stats) -> None:
    """A run of one set type (and, in a run of time, the commuting messages after it, in their
    order: consecutive ones of a type as a set)."""
    if not run:
        return
    lead = run[0].type
    apply_set(batch, [r for r in run if r.type == lead], now, stats)
    for kind, group in groupby((r for r in run if r.type != lead), key=lambda r: r.type):
        rows = list(group)
        if table.settable(kind):
            apply_set(batch, rows, now, stats)
        else:
            for row in rows:
                apply_single(batch, row, now, stats)


def in_turn(batch: Batch, handler: Handler, rows: list[Any]) -> list[Outcome]:
    sequenced = rows[0].type in SEQUENCED_STATE
    outcomes: list[Outcome] = []
    for row in rows:
        batch.inbox_id, batch.correlation_id, batch.sequence = row.id, row.correlation_id, \
            row.sequence
        batch.source = row.source
        if not sequenced:
            outcomes.append(handler(batch, data_of(batch, row)))
            continue
        outcome = apply_one(batch, row)  # the stale check, then the handler
        if isinstance(outcome, Applied):
            mark_subject(batch, row)
        outcomes.append(outcome)
    return outcomes


def apply_set(batch: Batch, rows: list[Any], now: datetime, stats: Stats) -> None:
    conn = batch.conn
    if len(rows) == 1:
        apply_single(batch, rows[0], now, stats)
        return
    handler, apply = table.SET_HANDLERS[rows[0].type]
    started = traces.now_ns()
    savepoint = Savepoint(conn) if getattr(batch, "careful", True) else None
    try:
        outcomes = (in_turn(batch, handler, rows) if apply is None else
                    apply(batch, data_all(batch, rows)))
    except Exception:  # something unexpected: fall back to one message at a time, each isolated
        if savepoint is None:
            raise  # (the first try: `apply_batch` applies the batch again, carefully)
        savepoint.rollback()
        batch._projects.clear()
        batch._outbox_seq = None  # what the set emitted is gone: read the sequence again
        for row in rows:
            apply_single(batch, row, now, stats)
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
    kind = rows[0].type  # (a set is of one type; `book` below counts no type)
    stats.by_type[kind] = stats.by_type.get(kind, 0) + len(rows)
    applied_rows: list[Any] = []
    for row, outcome in zip(rows, outcomes, strict=True):
        match outcome:
            case Applied():
                note = outcome.note or None
                if not marked_as_stored(batch, row.id, note):
                    applied.append((stamp, note, row.id))
                applied_rows.append(row)
                if outcome.provides:
                    provides.extend(outcome.provides)
            case Parked(missing=missing):
                parked_rows.append((row, missing))
            case _:
                book(batch, row, outcome, now, stats)
    stats.applied += len(applied_rows)
    observe_settled(batch, observe_many, applied_rows, "applied", now)
    observe_settled(batch, observe_many, [r for r, _ in parked_rows], "parked", now)
    update_rows(conn, inbox.name, "id", ("applied_at", "reason"), applied,
                constants="status = 'applied'")
    if parked_rows:
        conn.execute(PARK, [
            {"inbox_id": r.id, "prerequisite": m.key, "reason": m.reason,
             "parked_at": r.event_time or stamp} for r, m in parked_rows])
        stored = [unmark(batch, r.id) for r, _ in parked_rows]
        for cleared in (False, True):  # (see unit.unmark)
            update_rows(conn, inbox.name, "id", ("reason",), [
                (m.reason, r.id) for (r, m), was in zip(parked_rows, stored, strict=True)
                if was is cleared],
                constants="status = 'parked'" + (", applied_at = NULL" if cleared else ""))
        stats.parked += len(parked_rows)
        if (known := waiting(batch)) is not None:
            known.update(m.key for _, m in parked_rows)
    if savepoint is not None:
        savepoint.commit()
    release(batch, tuple(provides), now, stats)


def apply_single(batch: Batch, row: Any, now: datetime, stats: Stats) -> None:
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
        outcome = apply_one(batch, row)
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
    book(batch, row, outcome, now, stats)
    if savepoint is not None:
        savepoint.commit()



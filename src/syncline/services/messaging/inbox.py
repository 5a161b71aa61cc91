"""Receive: every message is stored raw before anything else, unique on (source, id).

A duplicate is acknowledged and ignored (its delivery is still logged). A message that is not
JSON, or fails the schema, is kept as ``rejected`` with the reason naming the field, and opens
one IT exception, so nothing bad is silently dropped.

Receiving never raises on a message's content (issue 11): whatever the bytes, the message is
kept, as received or rejected with a reason. Besides the schema, a message is rejected for
JSON nested deeper than ``MAX_DEPTH``, a string longer than ``MAX_STRING``, an integer outside
64 bits, ``NaN``/``Infinity``, a NUL character or a lone surrogate in any string or key
(neither can be stored as text everywhere), and ids are validated, never truncated: a source
or id that is not a string of 1 to ``MAX_ID`` characters keys the row by the message's digest
(``sha256:…``) and the schema names the problem.

A message re-sent with the id of a *rejected* one is a correction, not a duplicate: when its
text differs, the stored row takes the new text (the rejected text is kept in
``inbox_revisions``), is validated again, and, if valid, is received (applied next) at a new
arrival position; the rejection's open exceptions are resolved. A re-send of a message that
was accepted stays a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from opentelemetry.context import Context
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import IntegrityError

from syncline.adapters.db.tables import inbox, inbox_receipts
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.schemas import SchemaProblem
from syncline.services.clock import iso
from syncline.services.ids import new_ids
from syncline.services.messaging.bulk import write_rows
from syncline.services.messaging.exceptions import raise_exception, resolve
from syncline.services.messaging.parsing import (
    RESERVED_SOURCE,
    UNKNOWN_SOURCE,
    Parsed,
    parse,
)
from syncline.services.messaging.refusals import Refusal
from syncline.services.telemetry import traces
from syncline.services.uncollected import uncollected

__all__ = ["RESERVED_SOURCE", "UNKNOWN_SOURCE", "Prepared", "Receipt", "Refusal", "prepare",
           "receive_many", "receive_prepared"]


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


# `Receipt(status, inbox_id, source, event_id)` for the receive loop: the same frozen
# instance with its slots set directly, without the dataclass's __init__ (five calls of
# object.__setattr__: about 6% of receiving a message). tests/property/test_receive_fast_path.py
_SET_RECEIPT = tuple(getattr(Receipt, f).__set__
                     for f in ("status", "inbox_id", "source", "event_id", "problems"))


def _receipt(status: str, inbox_id: str, source: str, event_id: str) -> Receipt:
    receipt = object.__new__(Receipt)
    set_status, set_inbox_id, set_source, set_event_id, set_problems = _SET_RECEIPT
    set_status(receipt, status)
    set_inbox_id(receipt, inbox_id)
    set_source(receipt, source)
    set_event_id(receipt, event_id)
    set_problems(receipt, ())
    return receipt


RECEIVE_LOCK = 0x5359_4E43_0001  # "SYNC" 1: PostgreSQL advisory lock key of the inbox


_INBOX_COLUMNS = ("id", "seq", "source", "event_id", "type", "subject", "sequence",
                  "event_time", "correlation_id", "raw", "status", "reason", "received_at")
INBOX_COLUMNS = (*_INBOX_COLUMNS, "applied_at")  # a whole inbox row (``to_apply``)
_SQLITE_INBOX = (  # a new row on SQLite: '' and -1 for NULL (see receive_prepared); one
    # stored as applied (`mark_applied`) was applied when it was received (?13)
    f"INSERT INTO {inbox.name} ({', '.join(INBOX_COLUMNS)}) VALUES (?, ?, ?, ?, "
    "NULLIF(?, ''), NULLIF(?, ''), NULLIF(?, -1), NULLIF(?, ''), NULLIF(?, ''), ?, ?, "
    "NULLIF(?, ''), ?, CASE ?11 WHEN 'applied' THEN ?13 END)")
_RECEIPT_COLUMNS = ("inbox_id", "received_at", "duplicate")


def _insert_many(conn: Connection, table: str, columns: tuple[str, ...],
                 rows: list[tuple[Any, ...]]) -> None:
    """Straight to the driver (`bulk.write_rows`: one executemany, or COPY on PostgreSQL):
    the values are plain str/int/bool/None, so SQLAlchemy's per-row parameter processing (a
    third of receiving) buys nothing here."""
    write_rows(conn, table, columns, rows)


def _existing(conn: Connection, keys: Iterable[tuple[str, str]]
              ) -> dict[tuple[str, str], tuple[str, str, str]]:
    """Inbox id, status and raw text of the keys already stored: one look-up per source and
    500 ids (the unique index on (source, event_id) answers it)."""
    by_source: dict[str, list[str]] = {}
    for source, event_id in keys:
        by_source.setdefault(source, []).append(event_id)
    found: dict[tuple[str, str], tuple[str, str, str]] = {}
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    for source, ids in by_source.items():
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            for event_id, inbox_id, status, raw in conn.exec_driver_sql(
                    f"SELECT event_id, id, status, raw FROM {inbox.name} WHERE source = {mark} "
                    f"AND event_id IN ({', '.join([mark] * len(part))})", (source, *part)):
                found[(source, event_id)] = (inbox_id, status, raw)
    return found


def _revise(conn: Connection, inbox_id: str, old_raw: str, p: Parsed, seq: int,
            stamp: str, now: datetime) -> None:
    """A corrected re-send of a rejected message: keep the rejected text as a revision and
    store the new one, received again (or still rejected, with the new reason)."""
    from syncline.adapters.db.tables import exceptions, inbox_revisions

    revision = len(conn.execute(select(inbox_revisions.c.id).where(
        inbox_revisions.c.inbox_id == inbox_id)).all()) + 1
    conn.execute(inbox_revisions.insert().values(
        inbox_id=inbox_id, revision=revision, raw=old_raw, actor=p.source[:200],
        reason="re-sent by its source after a rejection", at=stamp))
    etype, subject, sequence, etime, corr = p.header
    conn.execute(inbox.update().where(inbox.c.id == inbox_id).values(
        seq=seq, type=etype, subject=subject, sequence=sequence, event_time=etime,
        correlation_id=corr, raw=p.stored,
        status="rejected" if p.problems else "received",
        reason="; ".join(str(x) for x in p.problems) if p.problems else None,
        received_at=stamp))
    if not p.problems:
        for (exc_id,) in conn.execute(select(exceptions.c.id).where(
                (exceptions.c.inbox_id == inbox_id) & (exceptions.c.status == "open"))).all():
            resolve(conn, exc_id, now=now, actor=p.source[:200], action="resend",
                    reason="the source re-sent the message corrected")


@dataclass(frozen=True, slots=True)
class Prepared:
    """Messages parsed and validated, not yet stored (`prepare`): what `receive_prepared`
    stores. Preparing needs no database, so a caller may do it before taking the write lock."""

    parsed: tuple[Parsed, ...]
    started: int  # when receiving began (ns), for the receive spans
    parents: tuple[Context | None, ...] = ()  # each message's caller's span, or none


def prepare(items: Iterable[str | dict[str, Any] | Refusal], *,
            trusted: bool = False, parents: Sequence[Context | None] = ()) -> Prepared:
    """Parse and validate each message (never raises on its content). ``parents``: the
    span context each message's sender gave (``traces.from_headers``; None: none), in the
    order of ``items`` — its receive span is then that span's child."""
    started = traces.now_ns()
    with uncollected():
        parsed = tuple(parse(i, trusted) for i in items)
        assert not parents or len(parents) == len(parsed), "one parent a message, or none"
        return Prepared(parsed, started, tuple(parents))


def receive_many(conn: Connection, items: Iterable[str | dict[str, Any] | Refusal], *,
                 now: datetime, trusted: bool = False,
                 parents: Sequence[Context | None] = ()) -> list[Receipt]:
    """Store a batch of messages (one transaction is the caller's); return one receipt each:
    `prepare` then `receive_prepared`."""
    with uncollected():
        return receive_prepared(conn, prepare(items, trusted=trusted, parents=parents),
                                now=now)


# No automatic garbage collection while a batch is parsed or stored (services/uncollected.py):
# every object a batch makes (two dictionaries and a few tuples a message) stays alive until
# the batch is stored and is then freed by reference counting; a collection meanwhile only
# walks them (the young ones; a full one walks the whole process too) to find nothing.


def receive_prepared(conn: Connection, prepared: Prepared, *, now: datetime,
                     to_apply: list[tuple[tuple[Any, ...], Any]] | None = None,
                     mark_applied: bool = False) -> list[Receipt]:
    """Store a batch of messages (one transaction is the caller's); return one receipt each.
    ``to_apply``, when given, gets each new message stored as received (to be applied), in
    arrival order: its inbox row as stored (`INBOX_COLUMNS`) and the message as parsed
    (None unless orjson read it from the stored text, so that it is what reading that text
    again gives).

    ``mark_applied`` (SQLite only): the new messages are stored as applied at their receipt;
    the caller applies them in this transaction and sets back any it does not apply
    (`straight.apply_received`).

    Receiving is serialized per database: on SQLite every transaction takes the write lock
    when it begins (`BEGIN IMMEDIATE`, adapters/db/engine.py), so two receivers take turns;
    on PostgreSQL a transaction-scoped advisory lock does it, for concurrent receivers
    (several API workers). Either way the arrival order ``seq`` stays gapless and unique
    and a message sent to two receivers at once is stored once (the other gets a duplicate
    receipt). A re-send of a rejected message with different text revises it (module doc).
    """
    with uncollected():
        receipts, plan = _store(conn, prepared, now, mark_applied)
    if to_apply is not None:
        for i, p in plan.received:
            row = plan.rows[i]
            to_apply.append(((*_as_stored(row, plan.sqlite),
                              row[12] if row[10] == "applied" else None),
                             p.message if p.from_text else None))
    return receipts


def _as_stored(row: tuple[Any, ...], sqlite: bool) -> tuple[Any, ...]:
    """A planned row (`_plan`) as the database stores it: on SQLite '' and -1 were NULLs."""
    if not sqlite:
        return row
    return (row[0], row[1], row[2], row[3], row[4] or None, row[5] or None,
            None if row[6] == -1 else row[6], row[7] or None, row[8] or None, row[9],
            row[10], row[11] or None, row[12])


class _Plan(NamedTuple):
    """What storing a batch writes, worked out from the keys already stored (`existing`)."""

    rows: list[tuple[Any, ...]]  # new inbox rows: _INBOX_COLUMNS (applied_at by status)
    receipts_rows: list[tuple[str, str, Any]]
    out: list[Receipt]
    rejected: list[tuple[Receipt, str | None, str | None]]  # receipt, type, correlation
    revised: list[tuple[str, str, Parsed, int]]  # inbox id, old raw, message, seq
    callers: list[Context | None]  # the caller's span of each of ``rows`` (parents)
    received: list[tuple[int, Parsed]]  # index in ``rows`` of each new received message
    sqlite: bool  # ``rows`` hold '' and -1 for NULL


def _store(conn: Connection, prepared: Prepared, now: datetime, mark_applied: bool = False
           ) -> tuple[list[Receipt], _Plan]:
    parsed, started = prepared.parsed, prepared.started
    if not parsed:
        return [], _Plan([], [], [], [], [], [], [], False)
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RECEIVE_LOCK})
    keys = [(p.source, p.event_id) for p in parsed]
    next_seq = (conn.execute(select(func.max(inbox.c.seq))).scalar() or 0) + 1
    stamp = iso(now)
    sqlite = conn.dialect.name == "sqlite"
    plan = None
    if sqlite:  # most batches hold no key already stored: written without looking them up,
        # the unique (source, event_id) refusing the insert when one was (then looked up).
        # The rows inserted before the refused one are deleted again, not rolled back to a
        # savepoint: a savepoint that outgrows 64 KiB spills SQLite's statement journal to a
        # file for the rest of the transaction (see straight.py)
        plan = _plan(parsed, keys, {}, next_seq, stamp, sqlite, prepared.parents,
                     "applied" if mark_applied else "received")
        try:
            if plan.rows:
                conn.exec_driver_sql(_SQLITE_INBOX, plan.rows)
        except IntegrityError:
            conn.exec_driver_sql(f"DELETE FROM {inbox.name} WHERE id = ?",
                                 [(r[0],) for r in plan.rows])
            plan = None
    if plan is None:
        plan = _plan(parsed, keys, _existing(conn, set(keys)), next_seq, stamp, sqlite,
                     prepared.parents, "applied" if mark_applied and sqlite else "received")
        if plan.rows:
            if sqlite:
                conn.exec_driver_sql(_SQLITE_INBOX, plan.rows)
            else:
                _insert_many(conn, inbox.name, _INBOX_COLUMNS, plan.rows)
    rows, receipts_rows, out, rejected, revised, callers, _, _ = plan
    for inbox_id, old_raw, p, seq in revised:
        _revise(conn, inbox_id, old_raw, p, seq, stamp, now)
    _insert_many(conn, inbox_receipts.name, _RECEIPT_COLUMNS, receipts_rows)
    for receipt, etype, corr in rejected:
        first = receipt.problems[0]
        raise_exception(conn, Problem(
            code="message.rejected", domain=BusinessDomain.IT, severity=Severity.MEDIUM,
            message=(f"{etype or 'message'} {receipt.event_id} from {receipt.source}"
                     if receipt.source != UNKNOWN_SOURCE else "an unreadable message")
            + " was rejected: " + "; ".join(str(p) for p in receipt.problems),
            remediation="Fix the sending system's payload (the field and rule are named), "
            "then re-send it (same source and id) or replay the corrected message.",
            field=first.path[:200], objects=(("inbox", receipt.inbox_id),),
        ), now=now, inbox_id=receipt.inbox_id, correlation_id=corr)
    if traces.enabled():  # one span per stored message, under its correlation's trace
        for r, caller in zip(rows, callers or [None] * len(rows), strict=True):  # or its
            traces.record("syncline.receive",  # caller's, linked to it
                          traces.key(r[8] or None, "inbox", r[0]), started, parent=caller,
                          inbox_id=r[0], event_id=r[3], type=r[4] or None, status=r[10])
    return out, plan


def _plan(parsed: tuple[Parsed, ...], keys: list[tuple[str, str]],
          existing: dict[tuple[str, str], tuple[str, str, str]], next_seq: int, stamp: str,
          sqlite: bool, parents: tuple[Context | None, ...], received_as: str = "received",
          ) -> _Plan:
    """The rows, receipts and exceptions of a batch, given the keys already stored (the
    batch's own are added to `existing` as they are planned). On
    SQLite a NULL is written as '' (a header text) or -1 (the sequence), turned back by
    NULLIF in the statement (_SQLITE_INBOX), and a receipt's flag as 0 or 1: the driver binds
    str and int directly but looks up an adapter for None and bool (µs each)."""
    no_text, no_seq = ("", -1) if sqlite else (None, None)
    fresh = new_ids("inb", len(parsed) if not existing else sum(k not in existing for k in keys))
    taken = 0
    plan = _Plan([], [], [], [], [], [], [], sqlite)
    rows, receipts_rows, out, rejected, revised, callers, received, _ = plan
    once, again = (0, 1) if sqlite else (False, True)  # the receipt's `duplicate`
    for index, p in enumerate(parsed):
        key = keys[index]
        known = existing.get(key)
        if known is not None:
            known_id, known_status, known_raw = known
            if known_status == "rejected" and p.stored != known_raw:
                revised.append((known_id, known_raw, p, next_seq))
                existing[key] = (known_id, "rejected" if p.problems else "received", p.stored)
                next_seq += 1
                receipts_rows.append((known_id, stamp, once))
                if p.problems:
                    receipt = Receipt("rejected", known_id, p.source, p.event_id,
                                      tuple(p.problems))
                    rejected.append((receipt, p.header[0], p.header[4]))
                else:
                    receipt = Receipt("accepted", known_id, p.source, p.event_id)
                out.append(receipt)
                continue
            receipts_rows.append((known_id, stamp, again))
            out.append(_receipt("duplicate", known_id, p.source, p.event_id))
            continue
        inbox_id = fresh[taken]
        taken += 1
        etype, subject, sequence, etime, corr = p.header
        if p.problems:
            existing[key] = (inbox_id, "rejected", p.stored)
            rows.append((inbox_id, next_seq, p.source, p.event_id, etype or no_text,
                         subject or no_text, no_seq if sequence is None else sequence,
                         etime or no_text, corr or no_text, p.stored, "rejected",
                         "; ".join(str(x) for x in p.problems), stamp))
            receipt = Receipt("rejected", inbox_id, p.source, p.event_id, tuple(p.problems))
            rejected.append((receipt, etype, corr))
        else:
            existing[key] = (inbox_id, "received", p.stored)
            rows.append((inbox_id, next_seq, p.source, p.event_id, etype or no_text,
                         subject or no_text, no_seq if sequence is None else sequence,
                         etime or no_text, corr or no_text, p.stored, received_as, no_text,
                         stamp))
            received.append((len(rows) - 1, p))
            receipt = _receipt("accepted", inbox_id, p.source, p.event_id)
        if parents:
            callers.append(parents[index])
        next_seq += 1
        receipts_rows.append((inbox_id, stamp, once))
        out.append(receipt)
    return plan

"""Posting journal entries into the embedded ledger: once per source, balanced, and only
into an open period.

``post_entry(conn, entry, now)`` stores an entry once per ``(source_type, source_id)``.
Before storing, the entry's period is checked (``syncline.services.ledger.periods``; a month with no
stored status is open):

- open: the entry is stored;
- closed or locked, policy ``refuse`` (the default): nothing is stored and one finance
  exception is opened (``ledger.period_closed`` / ``ledger.period_locked``), naming the
  entry and the period — posting the same entry again while it is open does not open a
  second one; once the entry posts (after a reopen, or by policy), it resolves itself;
- closed or locked, policy ``next_open``: the entry is re-dated to the first day of the
  entity's next open month, with metadata ``moved_from_period`` / ``original_posting_date``
  and a description that says so.

Every line's functional amount, FX rate/source/date and dimensions are stored too
(``journal_line_details``), and the entry's metadata (``journal_entry_metadata``).

``post_entries(conn, entries, now)`` does the same for many entries at once, with the same
outcome per entry as posting them one by one in order: one look-up of the sources already
stored, the periods of each entity and month read once, bulk inserts, one scan of open
refusals. The billing run posts its journals this way.

A posting rule that cannot make an entry (``ledger.posting.PostingError``: a role the
entity's chart does not map, a missing placeholder, an unbalanced template) is not raised:
``posting_failed`` opens one finance exception ``ledger.posting_rule_failed`` naming the
entity, the event and the role, and the caller goes on with the rest of its run. When the
entry later posts (configuration fixed, step re-run), the exception resolves itself.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.ledger_tables import journal_entry_metadata, journal_line_details
from syncline.adapters.db.tables import exceptions, journal_entries, journal_lines
from syncline.billing.journals import POSTING_FAILED, posting_problem
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.ledger.journal import JournalEntry
from syncline.ledger.periods import (
    ClosedPeriodPolicy,
    Period,
    PostingRefused,
    check_posting,
    period_of,
)
from syncline.ledger.posting import PostingError
from syncline.services.clock import iso
from syncline.services.ids import new_id
from syncline.services.ledger.periods import periods_for_check
from syncline.services.ledger.queries import line_detail_row
from syncline.services.messaging.exceptions import raise_exception, resolve

REFUSAL_CODES = ("ledger.period_closed", "ledger.period_locked", "ledger.no_open_period",
                 "ledger.no_period", POSTING_FAILED)
"""Open exceptions about an entry that resolve themselves once the entry posts."""


@dataclass(frozen=True, slots=True)
class PostOutcome:
    """What happened to one entry: ``posted``, ``moved`` (posted into a later open period),
    ``duplicate`` (already stored for its source) or ``refused`` (a finance exception)."""

    status: str
    entry_id: str | None = None
    exception_id: str | None = None
    period: str | None = None  # the period it was posted into (or refused from)

    @property
    def stored(self) -> bool:
        return self.status in ("posted", "moved")


def _objects(entry: JournalEntry, period: str) -> tuple[tuple[str, str], ...]:
    return (("journal", f"{entry.source_type}:{entry.source_id}"),
            ("period", f"{entry.entity_id}:{period}"))


def _journal_object(entry: JournalEntry) -> list[str]:
    return ["journal", f"{entry.source_type}:{entry.source_id}"]


def _open_refusals(conn: Connection, entry: JournalEntry) -> list[tuple[str, str]]:
    """(exception id, code) of open period refusals of this entry's source."""
    wanted = _journal_object(entry)
    found = []
    for r in conn.execute(select(exceptions.c.id, exceptions.c.code, exceptions.c.objects).where(
            exceptions.c.code.in_(REFUSAL_CODES) & (exceptions.c.status == "open"))):
        if wanted in json.loads(r.objects):
            found.append((r.id, r.code))
    return found


def _refuse(conn: Connection, refused: PostingRefused, now: datetime) -> str:
    code = f"ledger.{refused.reason}"
    for exc_id, exc_code in _open_refusals(conn, refused.entry):
        if exc_code == code:
            return exc_id  # already raised and still open: one exception per refusal
    entry = refused.entry
    return raise_exception(conn, Problem(
        code, BusinessDomain.FINANCE,
        f"{refused.message} ({entry.description}; source {entry.source_type} "
        f"{entry.source_id})",
        refused.remediation or "post into an open period",
        field="posting_date", severity=Severity.HIGH,
        objects=_objects(entry, refused.period)), now=now)


def _rows(entry: JournalEntry, entry_id: str, now: datetime,
          out: dict[str, list[dict[str, Any]]]) -> None:
    out["entries"].append(dict(
        id=entry_id, entity_code=entry.entity_id, posting_date=entry.posting_date.isoformat(),
        description=entry.description, source_type=entry.source_type,
        source_id=entry.source_id, reverses=entry.reverses, posted_at=iso(now)))
    out["lines"].extend(
        {"entry_id": entry_id, "line_no": i, "account": ln.account, "side": ln.side.value,
         "amount": ln.amount.amount, "currency": ln.amount.currency, "memo": ln.memo}
        for i, ln in enumerate(entry.lines, 1))
    out["details"].extend(d for i, ln in enumerate(entry.lines, 1)
                          if (d := line_detail_row(entry_id, i, ln)) is not None)
    if entry.metadata:
        out["metadata"].append(dict(
            entry_id=entry_id, metadata=json.dumps([list(m) for m in entry.metadata])))


def _insert(conn: Connection, rows: dict[str, list[dict[str, Any]]]) -> None:
    for table, key in ((journal_entries, "entries"), (journal_lines, "lines"),
                       (journal_line_details, "details"), (journal_entry_metadata, "metadata")):
        if rows[key]:
            conn.execute(table.insert(), rows[key])


def _stored_sources(conn: Connection, entries: Sequence[JournalEntry]) -> set[tuple[str, str]]:
    """(source type, source id) of ``entries`` already in the journal."""
    by_type: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        by_type[e.source_type].add(e.source_id)
    found: set[tuple[str, str]] = set()
    for source_type, ids in by_type.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), 500):
            found.update((source_type, r) for r in conn.execute(
                select(journal_entries.c.source_id).where(
                    (journal_entries.c.source_type == source_type)
                    & journal_entries.c.source_id.in_(ordered[start:start + 500]))).scalars())
    return found


def _all_open_refusals(conn: Connection) -> dict[str, list[tuple[str, str]]]:
    """Open refusal exceptions by the journal object they name (``type:id``)."""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in conn.execute(select(exceptions.c.id, exceptions.c.code, exceptions.c.objects).where(
            exceptions.c.code.in_(REFUSAL_CODES) & (exceptions.c.status == "open"))):
        for kind, value in (tuple(o) for o in json.loads(r.objects)):
            if kind == "journal":
                out[value].append((r.id, r.code))
    return out


def post_entries(
    conn: Connection,
    entries: Sequence[JournalEntry],
    now: datetime,
    policy: ClosedPeriodPolicy | str | None = None,
) -> list[PostOutcome]:
    """Post ``entries`` in order, each as ``post`` would (see the module docstring).

    An entry whose source is already stored, or appears earlier in ``entries``, is a
    ``duplicate``; one dated in a closed or locked period is refused (one finance exception)
    or moved by ``policy``. Returns one outcome per entry, in order.
    """
    if not entries:
        return []
    rule = ClosedPeriodPolicy(policy) if policy else ClosedPeriodPolicy.REFUSE
    seen = _stored_sources(conn, entries)
    periods: dict[tuple[str, str], tuple[Period, ...]] = {}
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    outcomes: list[PostOutcome] = []
    stored: list[tuple[JournalEntry, str, JournalEntry]] = []  # asked, id, as stored
    for entry in entries:
        key = (entry.source_type, entry.source_id)
        if key in seen:
            outcomes.append(PostOutcome("duplicate"))
            continue
        month = (entry.entity_id, period_of(entry.posting_date))
        if month not in periods:
            periods[month] = periods_for_check(conn, entry.entity_id, entry.posting_date)
        checked = check_posting(entry, periods[month], rule)
        if isinstance(checked, PostingRefused):
            outcomes.append(PostOutcome("refused", exception_id=_refuse(conn, checked, now),
                                        period=checked.period))
            continue
        seen.add(key)
        entry_id = new_id("jnl")
        _rows(checked, entry_id, now, rows)
        stored.append((entry, entry_id, checked))
        outcomes.append(PostOutcome("moved" if checked is not entry else "posted",
                                    entry_id=entry_id, period=period_of(checked.posting_date)))
    _insert(conn, rows)
    if stored:
        open_refusals = _all_open_refusals(conn)
        for entry, entry_id, checked in stored:
            for exc_id, _ in open_refusals.get(f"{entry.source_type}:{entry.source_id}", ()):
                resolve(conn, exc_id, now=now, actor="system", action="auto_resolve",
                        reason=f"entry posted as {entry_id} on "
                               f"{checked.posting_date.isoformat()}")
    return outcomes


def post(
    conn: Connection,
    entry: JournalEntry,
    now: datetime,
    policy: ClosedPeriodPolicy | str | None = None,
) -> PostOutcome:
    """Post ``entry`` once per source into an open period (see the module docstring)."""
    return post_entries(conn, [entry], now, policy)[0]


def post_entry(
    conn: Connection,
    entry: JournalEntry,
    now: datetime,
    policy: ClosedPeriodPolicy | str | None = None,
) -> bool:
    """Store a balanced entry once (unique on its source) into an open period.

    True when it was stored (possibly moved to the next open period by ``policy``); False
    when it already exists or was refused (then one finance exception is open for it).
    """
    return post(conn, entry, now, policy).stored


# --- rules that cannot post ----------------------------------------------------------------

def raise_problem_once(conn: Connection, problem: Problem, now: datetime) -> str | None:
    """Open ``problem`` unless the same one (code, objects, message) is open; its id if new."""
    objects = json.dumps([list(o) for o in problem.objects])
    if conn.execute(select(exceptions.c.id).where(
            (exceptions.c.code == problem.code) & (exceptions.c.objects == objects)
            & (exceptions.c.message == problem.message)
            & (exceptions.c.status == "open"))).first():
        return None
    return raise_exception(conn, problem, now=now)


def posting_failed(conn: Connection, error: PostingError, now: datetime, *,
                   retry: str) -> str | None:
    """One open finance exception for a rule that could not post (see module doc)."""
    return raise_problem_once(conn, posting_problem(error, retry=retry), now)

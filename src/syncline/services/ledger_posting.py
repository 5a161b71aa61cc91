"""Posting journal entries into the embedded ledger: once per source, balanced, and only
into an open period.

``post_entry(conn, entry, now)`` stores an entry once per ``(source_type, source_id)``.
Before storing, the entry's period is checked (``syncline.services.periods``; a month with no
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
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from syncline.adapters.db.ledger_tables import journal_entry_metadata, journal_line_details
from syncline.adapters.db.tables import exceptions, journal_entries, journal_lines
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.ledger.journal import JournalEntry
from syncline.ledger.periods import ClosedPeriodPolicy, PostingRefused, check_posting, period_of
from syncline.services.clock import iso
from syncline.services.exceptions import raise_exception, resolve
from syncline.services.ids import new_id
from syncline.services.ledger_queries import line_detail_row
from syncline.services.periods import periods_for_check

REFUSAL_CODES = ("ledger.period_closed", "ledger.period_locked", "ledger.no_open_period",
                 "ledger.no_period")


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


def _store(conn: Connection, entry: JournalEntry, now: datetime) -> str:
    entry_id = new_id("jnl")
    conn.execute(journal_entries.insert().values(
        id=entry_id, entity_code=entry.entity_id, posting_date=entry.posting_date.isoformat(),
        description=entry.description, source_type=entry.source_type,
        source_id=entry.source_id, reverses=entry.reverses, posted_at=iso(now)))
    conn.execute(journal_lines.insert(), [
        {"entry_id": entry_id, "line_no": i, "account": ln.account, "side": ln.side.value,
         "amount": ln.amount.amount, "currency": ln.amount.currency, "memo": ln.memo}
        for i, ln in enumerate(entry.lines, 1)])
    details = [d for i, ln in enumerate(entry.lines, 1)
               if (d := line_detail_row(entry_id, i, ln)) is not None]
    if details:
        conn.execute(journal_line_details.insert(), details)
    if entry.metadata:
        conn.execute(journal_entry_metadata.insert().values(
            entry_id=entry_id, metadata=json.dumps([list(m) for m in entry.metadata])))
    return entry_id


def post(
    conn: Connection,
    entry: JournalEntry,
    now: datetime,
    policy: ClosedPeriodPolicy | str | None = None,
) -> PostOutcome:
    """Post ``entry`` once per source into an open period (see the module docstring)."""
    if conn.execute(select(journal_entries.c.id).where(
            (journal_entries.c.source_type == entry.source_type)
            & (journal_entries.c.source_id == entry.source_id))).first():
        return PostOutcome("duplicate")
    rule = ClosedPeriodPolicy(policy) if policy else ClosedPeriodPolicy.REFUSE
    checked = check_posting(entry, periods_for_check(conn, entry.entity_id, entry.posting_date),
                            rule)
    if isinstance(checked, PostingRefused):
        return PostOutcome("refused", exception_id=_refuse(conn, checked, now),
                           period=checked.period)
    entry_id = _store(conn, checked, now)
    for exc_id, _ in _open_refusals(conn, entry):
        resolve(conn, exc_id, now=now, actor="system", action="auto_resolve",
                reason=f"entry posted as {entry_id} on {checked.posting_date.isoformat()}")
    return PostOutcome("moved" if checked is not entry else "posted", entry_id=entry_id,
                       period=period_of(checked.posting_date))


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

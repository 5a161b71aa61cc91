"""Summarized journals for the ERP (issue 13): one journal per entity, period and currency,
by account and dimension, of everything the ERP does not get as a document.

The ERP receives invoices and credit notes as its own documents (they post receivables,
revenue and tax there) and records payments itself (they come back to Syncline as
``payment.received``); their journal entries (source types ``invoice``, ``credit_note``,
``payment``) are therefore never summarized. Everything else — revenue true-ups, labor and
expense cost, accruals, intercompany charges, FX revaluation — is summed per (account,
currency, dimensions) into one balanced ``erp.journal.post`` per currency, dated the
period's last day.

Each entry is summarized once (``erp_journal_links``): a summary run again for the period
carries only what was posted since (a late entry in an open period, or a reopened one), as
its own numbered summary, so the ERP's books equal Syncline's without re-posting anything.
A foreign-currency summary carries each line's functional amount and the rate it implies
(functional ÷ transaction total, 10 places), so a target that books the base currency posts
exactly the functional amounts Syncline booked. The summing itself is pure
(``ledger/exports/summary.py``) and shared with the file exports.

The revaluation of foreign receivables is left out (``drop_receivable_revaluation``: the
ERP revalues its own receivables).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select

from syncline.adapters.db.connector_tables import erp_journal_links
from syncline.adapters.db.ledger_tables import journal_line_details
from syncline.adapters.db.tables import journal_entries, journal_lines, outbox
from syncline.ledger.exports.summary import (
    DOCUMENT_SOURCES,
    SummaryLine,
    drop_receivable_revaluation,
    summary_payloads,
)
from syncline.ledger.periods import next_period
from syncline.services.messaging.outbox import last_seq, outbox_row

__all__ = ["DOCUMENT_SOURCES", "Summary", "post_summaries", "summarize"]


def _pending(conn: Connection, entity: str, period: str,
             exclude: Iterable[str]) -> list[Any]:
    je, jl, jd = journal_entries.c, journal_lines.c, journal_line_details.c
    linked = select(erp_journal_links.c.entry_id)
    return list(conn.execute(
        select(je.id, je.source_type, jl.account, jl.side, jl.amount, jl.currency,
               jd.functional_amount, jd.functional_currency, jd.dimensions)
        .join(journal_lines, jl.entry_id == je.id)
        .outerjoin(journal_line_details, (jd.entry_id == jl.entry_id)
                   & (jd.line_no == jl.line_no))
        .where((je.entity_code == entity) & (je.posting_date >= period)  # by index (0028)
               & (je.posting_date < next_period(period))
               & (func.substr(je.posting_date, 1, 7) == period)
               & je.source_type.not_in(sorted(set(exclude) | DOCUMENT_SOURCES))
               & je.id.not_in(linked))
        .order_by(je.id, jl.line_no)))


@dataclass(frozen=True)
class Summary:
    name: str  # summary:<entity>:<period>:<n>
    payloads: list[dict[str, Any]]  # one erp.journal.post per currency
    entries: list[str]  # the journal entries it carries


def summarize(conn: Connection, entity: str, period: str, *,
              exclude: Iterable[str] = (), receivable: str | None = None) -> Summary | None:
    """The summary not yet sent for (entity, period), or None when nothing is pending.
    Nothing is written (``post_summaries`` writes it with its outbox rows)."""
    pending = _pending(conn, entity, period, exclude)
    if not pending:
        return None
    entries = sorted({r.id for r in pending})
    seq = 1 + int(conn.execute(select(func.count(func.distinct(erp_journal_links.c.summary)))
                               .where(erp_journal_links.c.summary.like(
                                   f"summary:{entity}:{period}:%"))).scalar() or 0)
    name = f"summary:{entity}:{period}:{seq}"
    lines = [SummaryLine(r.id, r.account, r.side, Decimal(r.amount), r.currency,
                         None if r.functional_amount is None else Decimal(r.functional_amount),
                         r.functional_currency, r.dimensions or "[]", r.source_type)
             for r in pending]
    out = summary_payloads(drop_receivable_revaluation(lines, receivable), name=name,
                           entity=entity, period=period)
    return Summary(name, out, entries)


def post_summaries(conn: Connection, entities: Iterable[str], period: str, *,
                   now: datetime, exclude: Iterable[str] = (),
                   receivables: Mapping[str, str] | None = None) -> list[Summary]:
    """Put each entity's pending summary in the outbox (target ``erp``) and mark its
    entries, in the caller's transaction: both happen or neither. ``receivables``: entity →
    its receivables account (whose revaluation the ERP makes itself)."""
    done = []
    seq = last_seq(conn)
    for entity in entities:
        summary = summarize(conn, entity, period, exclude=exclude,
                            receivable=(receivables or {}).get(entity))
        if summary is None:
            continue
        rows = []
        for payload in summary.payloads:
            seq += 1
            rows.append(outbox_row(seq, "erp.journal.post", "erp", payload,
                                   correlation_id=summary.name, now=now))
        if rows:
            conn.execute(insert(outbox), rows)
        conn.execute(insert(erp_journal_links), [{"entry_id": e, "summary": summary.name}
                                                 for e in summary.entries])
        done.append(summary)
    return done

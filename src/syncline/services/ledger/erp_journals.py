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
exactly the functional amounts Syncline booked.

The revaluation of foreign receivables is not summarized either: the ERP holds the foreign
invoices and credit notes themselves (each with its rate) and revalues its own open
receivables (NetSuite's currency revaluation, QuickBooks' home currency adjustment, Xero's
unrealised gains); a journal line on its receivables account would double it, and Xero
(a system account) and QuickBooks (no customer on the line) refuse one. So the lines of an
``fx_revaluation`` entry on the entity's receivables account (``receivables``: entity →
account code) and their gain/loss counterparts are left out; the entry is still marked as
summarized. Revaluations of other accounts travel as usual.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select

from syncline.adapters.db.connector_tables import erp_journal_links
from syncline.adapters.db.ledger_tables import journal_line_details
from syncline.adapters.db.tables import journal_entries, journal_lines, outbox
from syncline.ledger.fx import REVALUES
from syncline.services.messaging.outbox import last_seq, outbox_row

DOCUMENT_SOURCES = frozenset({"invoice", "credit_note", "payment"})
REVALUATION = "fx_revaluation"

Key = tuple[str, str, str]  # account, currency, dimensions (JSON)


@dataclass
class _Sums:
    amount: Decimal = Decimal(0)  # signed: debit positive
    functional: Decimal = Decimal(0)
    functional_currency: str | None = None


def _period_end(period: str) -> date:
    year, month = int(period[:4]), int(period[5:7])
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


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
        .where((je.entity_code == entity) & (func.substr(je.posting_date, 1, 7) == period)
               & je.source_type.not_in(sorted(set(exclude) | DOCUMENT_SOURCES))
               & je.id.not_in(linked))
        .order_by(je.id, jl.line_no)))


def _revalues(row: Any) -> str | None:
    return dict(json.loads(row.dimensions)).get(REVALUES) if row.dimensions else None


def _without_receivable_revaluation(rows: list[Any], receivable: str | None) -> list[Any]:
    """``rows`` less each revaluation line on ``receivable`` and its gain/loss counterpart
    (same currency revalued, amount and currency, the other side): see the module doc."""
    if receivable is None:
        return rows
    dropped: set[int] = set()
    for i, r in enumerate(rows):
        if r.source_type != REVALUATION or r.account != receivable or not _revalues(r):
            continue
        partner = next((j for j, o in enumerate(rows)
                        if j not in dropped and j != i and o.id == r.id
                        and o.account != receivable and o.side != r.side
                        and o.amount == r.amount and o.currency == r.currency
                        and _revalues(o) == _revalues(r)), None)
        if partner is not None:
            dropped |= {i, partner}
    return [r for i, r in enumerate(rows) if i not in dropped]


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
    rows = _without_receivable_revaluation(pending, receivable)
    sums: dict[Key, _Sums] = defaultdict(_Sums)
    for r in rows:
        sign = Decimal(1) if r.side == "debit" else Decimal(-1)
        s = sums[(r.account, r.currency, r.dimensions or "[]")]
        s.amount += sign * Decimal(r.amount)
        if r.functional_amount is not None and r.functional_currency != r.currency:
            s.functional += sign * Decimal(r.functional_amount)
            s.functional_currency = r.functional_currency
    entries = sorted({r.id for r in pending})
    seq = 1 + int(conn.execute(select(func.count(func.distinct(erp_journal_links.c.summary)))
                               .where(erp_journal_links.c.summary.like(
                                   f"summary:{entity}:{period}:%"))).scalar() or 0)
    name = f"summary:{entity}:{period}:{seq}"
    out = []
    for currency in sorted({k[1] for k in sums}):
        lines, total, functional_total, quote = [], Decimal(0), Decimal(0), None
        for (account, cur, dims), s in sorted(sums.items()):
            if cur != currency or s.amount == 0:
                continue
            line: list[Any] = [account, "debit" if s.amount > 0 else "credit",
                               str(abs(s.amount)), currency]
            if s.functional_currency:
                line.append(str(abs(s.functional)))
                quote = s.functional_currency
                if s.amount > 0:
                    total += s.amount
                    functional_total += s.functional
            if dims != "[]":
                line.append({"dimensions": json.loads(dims)})
            lines.append(line)
        if not lines:
            continue
        fx = None
        if quote and total:
            fx = {"base": currency, "quote": quote,
                  "rate": str((functional_total / total).quantize(Decimal("1E-10"))),
                  "source": "summary: functional ÷ transaction amounts", "as_of": None}
        out.append({"source": f"{name}:{currency}",
                    "entity": entity, "date": _period_end(period).isoformat(),
                    "description": f"Syncline summary {period} {currency} ({len(entries)} "
                    "entries)", "fx": fx, "lines": lines})
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

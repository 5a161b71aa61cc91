"""Cash application: each payment received on or before the cycle's end and not yet journaled
is posted once (source ``payment`` / the payment id), dated the day it was received (the
closed-period policy moves it to the open month when that month is closed), in its invoice's
legal entity: Dr cash, Cr accounts receivable, in the invoice's currency.

On a foreign-currency invoice (ASC 830-20 / IAS 21.28): the cash is worth the amount at the
settlement rate (the latest rate published on or before the value date), and the receivable
is relieved at its carrying amount — the entity's receivables in that currency carry one rate
on that day, their functional balance over their transaction balance (the invoices' rates and
every revaluation since); a payment that clears the whole balance relieves all of it. The
difference is the realized FX gain or loss (``fx_gain_loss``), carried on the receivable by a
functional-only line marked as revaluation lines are, so the receivable's carrying amount
follows and the close's revaluation starts from it. A missing settlement rate is a finance
problem of the run, retried by the next one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.billing_tables import payments
from syncline.adapters.db.tables import journal_entries
from syncline.billing.fx import FxRateMissing, convert, lookup_rate
from syncline.ledger.fx import REVALUES, FxError, foreign_positions
from syncline.ledger.journal import JournalEntry, JournalLine, Side
from syncline.ledger.money import Money
from syncline.ledger.periods import period_of
from syncline.services.billing.run.cycle import Run
from syncline.services.ledger.posting import post_entries
from syncline.services.ledger.queries import load_entries
from syncline.services.messaging.waiting import release_waiting

__all__ = ["SOURCE_TYPE", "post_payments", "release_invoices"]

SOURCE_TYPE = "payment"


def release_invoices(run: Run) -> int:
    """Payments that waited for an invoice this run numbered go back to be applied."""
    return release_waiting(run.conn, (f"invoice:{n}" for n in run.result.invoices), run.now)


def post_payments(run: Run, entity: str | None) -> int:
    """Journal the payments received (see the module doc); returns the entries stored."""
    conn = run.conn
    q = (select(payments).where(payments.c.received_on <= run.end.isoformat())
         .where(~select(journal_entries.c.id).where(
             (journal_entries.c.source_type == SOURCE_TYPE)
             & (journal_entries.c.source_id == payments.c.payment_id)).exists())
         .order_by(payments.c.received_on, payments.c.payment_id))
    if entity:
        q = q.where(payments.c.entity_code == entity)
    entries: list[JournalEntry] = []
    for p in conn.execute(q).all():
        legal = run.ref.entity(p.entity_code)
        if legal is None:
            continue
        made = _entry(run, p, legal.functional_currency)
        if made is not None:
            entries.append(made)
            post_entries(conn, [made], run.now, run.policy)  # the next payment's carrying
    return len(entries)


def _entry(run: Run, p: Any, functional: str) -> JournalEntry | None:
    chart = run.charts.of(p.entity_code)
    cash, ar = chart.code("cash"), chart.code("accounts_receivable")
    amount = Money(Decimal(p.amount), p.currency)
    received = date.fromisoformat(p.received_on)
    memo = f"payment {p.payment_id} on invoice {p.invoice_number}"
    common = {"entity_id": p.entity_code, "posting_date": received,
              "description": f"Customer {memo}", "source_type": SOURCE_TYPE,
              "source_id": p.payment_id}
    if amount.currency == functional:
        return JournalEntry(lines=(JournalLine(cash, Side.DEBIT, amount, memo=memo),
                                   JournalLine(ar, Side.CREDIT, amount, memo=memo)), **common)
    fx = lookup_rate(run.fx, base=amount.currency, quote=functional, on=received)
    if isinstance(fx, FxRateMissing):
        run.problem(fx.problem(("payment", p.payment_id),
                               ("invoice", p.invoice_number)))
        return None
    settled = convert(amount, fx)
    relieved = _carrying(run, p.entity_code, ar, functional, received, amount)
    gain = settled - relieved
    rate = {"fx_rate": fx.rate, "fx_source": fx.source, "fx_date": fx.as_of}
    lines = [JournalLine(cash, Side.DEBIT, amount, functional=settled, memo=memo, **rate),
             JournalLine(ar, Side.CREDIT, amount, functional=settled, memo=memo, **rate)]
    if not gain.is_zero:
        up = gain.amount > 0
        size = gain if up else -gain
        dims = ((REVALUES, amount.currency),)
        lines += [JournalLine(ar, Side.DEBIT if up else Side.CREDIT, size, dimensions=dims,
                              memo=f"carrying amount relieved by {memo}"),
                  JournalLine(chart.code("fx_gain_loss"), Side.CREDIT if up else Side.DEBIT,
                              size, memo=f"realized FX on {memo}")]
    return JournalEntry(lines=tuple(lines), **common)


def _carrying(run: Run, entity: str, ar: str, functional: str, on: date,
              amount: Money) -> Money:
    """The receivable's carrying amount for ``amount`` on ``on`` (see the module doc)."""
    entries = load_entries(run.conn, entity=entity, through=period_of(on))
    found = foreign_positions(entries, entity, ar, functional, on)
    if isinstance(found, FxError):
        return Money.zero(functional)
    position = next((p for p in found if p.balance.currency == amount.currency), None)
    if position is None or position.balance.is_zero:
        return Money.zero(functional)
    if amount == position.balance:
        return position.carrying
    return Money(amount.amount * position.carrying.amount / position.balance.amount,
                 functional).rounded()

"""Receivables read three ways for the ERP end-to-end test (test_erp_end_to_end.py):
Syncline's AR subledger (its documents and payments), its GL (journal lines on A/R), and the
realized FX its payments posted. Keys are (entity, customer id, currency)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select

from syncline.adapters.db.billing_tables import credit_notes, payments
from syncline.adapters.db.tables import contracts, customers, invoices
from syncline.bootstrap import Syncline
from syncline.ledger.fx import REVALUES
from syncline.services.ledger.queries import load_entries

D = Decimal


def names(system: Syncline) -> dict[str, str]:
    with system.engine.connect() as conn:
        return dict(conn.execute(select(customers.c.id, customers.c.name)).all())


def customer_of_documents(system: Syncline) -> dict[str, tuple[str, str, str]]:
    """Invoice, credit note or payment id → (entity, customer id, currency) of its invoice."""
    with system.engine.connect() as conn:
        owner = dict(conn.execute(select(contracts.c.number, contracts.c.customer_id)).all())
        out = {r.number: (r.entity_code, owner[r.contract_number], r.currency)
               for r in conn.execute(select(invoices))}
        out |= {r.number: out[r.invoice_number] for r in conn.execute(select(credit_notes))}
        out |= {r.payment_id: out[r.invoice_number] for r in conn.execute(select(payments))}
    return out


def ar_subledger(system: Syncline) -> dict[tuple[str, str, str], Decimal]:
    """(entity, customer, currency) → its invoices + credit notes (negative) − payments."""
    of = customer_of_documents(system)
    out: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    with system.engine.connect() as conn:
        for r in conn.execute(select(invoices.c.number, invoices.c.total)):
            out[of[r.number]] += r.total
        for r in conn.execute(select(credit_notes.c.number, credit_notes.c.total)):
            out[of[r.number]] += r.total
        for r in conn.execute(select(payments.c.payment_id, payments.c.amount)):
            out[of[r.payment_id]] -= r.amount
    return dict(out)


def ar_ledger(system: Syncline) -> dict[tuple[str, str, str], Decimal]:
    """(entity, customer, currency) → the GL's receivable: every line on the entity's A/R
    account in the document's currency (debit positive), named to its customer by the
    document it posts — the invoice, the credit note, or the invoice a payment settles.
    Revaluation lines (the close's, and a payment's realized FX on A/R) restate functional
    amounts only and are left out, as the close reconciliation's "AR subledger = GL"
    check leaves them out (services/ledger/reconciliation/billing.py)."""
    of = customer_of_documents(system)
    out: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    with system.engine.connect() as conn:
        entries = load_entries(conn)
    for e in entries:
        ar = system.charts.of(e.entity_id).code("accounts_receivable")
        for ln in e.lines:
            if ln.account != ar or e.source_type == "fx_revaluation" \
                    or REVALUES in dict(ln.dimensions):
                continue
            assert e.source_type in ("invoice", "credit_note", "payment"), e
            assert ln.amount.currency == of[e.source_id][2]
            out[of[e.source_id]] += ln.signed
    return dict(out)


def realized_fx(system: Syncline) -> dict[str, Decimal]:
    """Invoice → the realized FX its payments posted (gain positive, functional)."""
    with system.engine.connect() as conn:
        entries = load_entries(conn, source_type="payment")
        paid_on = dict(conn.execute(select(payments.c.payment_id,
                                           payments.c.invoice_number)).all())
    out: dict[str, Decimal] = {}
    for e in entries:
        gain = -sum((ln.signed for ln in e.lines
                     if ln.account == system.charts.of(e.entity_id).code("fx_gain_loss")),
                    D(0))
        if gain:
            out[paid_on[e.source_id]] = gain
    return out

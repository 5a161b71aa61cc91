"""payment.received: a customer payment against an invoice, stored once per payment id.

The payment is a fact of cash; its journal (cash in, receivable out at its carrying amount,
realized FX gain or loss on a foreign invoice) is posted by the billing run of the month it
was received (`services/billing/run/payments.py`). A payment for an invoice Syncline has not
issued yet waits for it (`invoice:<number>`, released by the run that numbers the invoice); one
in another currency than its invoice, or larger than what is still open, is refused as a
finance exception naming both amounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.billing_tables import credit_notes, payments
from syncline.adapters.db.tables import invoices
from syncline.domain.errors import BusinessDomain, Missing, Problem
from syncline.services.messaging.outcomes import Applied, Failed, Outcome, Parked
from syncline.services.messaging.unit_of_work import Batch


def _refused(code: str, message: str, remediation: str, field: str,
             objects: tuple[tuple[str, str], ...]) -> Failed:
    return Failed((Problem(code, BusinessDomain.FINANCE, message, remediation, field,
                           objects=objects),))


def open_amount(b: Batch, number: str, total: Decimal) -> Decimal:
    """What is still owed on an invoice: its total, its credit notes (negative) and the
    payments already applied — added up as Decimals here (SQLite's SUM is a float)."""
    credited = sum((r.total for r in b.conn.execute(select(credit_notes.c.total).where(
        credit_notes.c.invoice_number == number))), Decimal(0))
    paid = sum((r.amount for r in b.conn.execute(select(payments.c.amount).where(
        payments.c.invoice_number == number))), Decimal(0))
    return total + credited - paid


def record_payment(b: Batch, data: Mapping[str, Any]) -> Outcome:
    payment_id, number = str(data["payment_id"]), str(data["invoice_number"])
    objects = (("payment", payment_id), ("invoice", number))
    if b.conn.execute(select(payments.c.payment_id).where(
            payments.c.payment_id == payment_id)).first() is not None:
        return Applied(note="payment already recorded (idempotent)")
    inv = b.conn.execute(select(invoices.c.number, invoices.c.entity_code, invoices.c.currency,
                                invoices.c.total).where(invoices.c.number == number)).first()
    if inv is None:
        return Parked(Missing(f"invoice:{number}", f"invoice {number} is not issued yet"))
    amount = Decimal(str(data["amount"]["amount"]))
    currency = str(data["amount"]["currency"])
    if currency != inv.currency:
        return _refused(
            "payment.currency_mismatch", f"payment {payment_id} is in {currency}, invoice "
            f"{number} in {inv.currency}", "Record the payment in the invoice's currency in "
            "the ERP (the bank's conversion is the ERP's), then replay.", "data.amount.currency",
            objects)
    if amount <= 0:
        return _refused("payment.not_positive", f"payment {payment_id} of {amount} {currency} "
                        "is not positive", "A refund is a credit note, not a payment.",
                        "data.amount.amount", objects)
    owed = open_amount(b, number, Decimal(str(inv.total)))
    if amount > owed:
        return _refused(
            "payment.exceeds_open_amount", f"payment {payment_id} of {amount} {currency} is "
            f"more than the {owed} {currency} still open on invoice {number}",
            "Apply the excess to another invoice in the ERP or record it as unapplied cash "
            "there; replay the corrected payment.", "data.amount.amount", objects)
    b.conn.execute(payments.insert().values(
        payment_id=payment_id, invoice_number=number, entity_code=inv.entity_code,
        received_on=str(data["received_on"]), amount=amount, currency=currency,
        reference=str(data.get("reference") or "") or None, inbox_id=b.inbox_id))
    return Applied(provides=(f"payment:{payment_id}",))

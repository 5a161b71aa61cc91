"""The ``erp.invoice.post`` payload: a whole document an ERP can post as its own invoice or
credit note (issue 13), not only its totals.

Besides the number, dates and totals it names the customer (Syncline id and the CRM's
external id, so a target finds or creates the vendor's customer), the tax code and rate,
every line (description, quantity, unit price, amount, whether billed ahead of service),
and — only for a document in a currency other than the entity's functional currency — the
exchange rate the books used (``fx``: 1 ``base`` = ``rate`` ``quote``). A credit note
names the invoice it credits and its amounts are negative, as in the books.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import contracts, customers
from syncline.billing.credits import CreditNote
from syncline.billing.fx import FxSnapshot
from syncline.billing.invoicing import Invoice


def _customer(conn: Connection, contract_number: str) -> dict[str, Any]:
    row = conn.execute(select(customers.c.id, customers.c.external_id, customers.c.country)
                       .join(contracts, contracts.c.customer_id == customers.c.id)
                       .where(contracts.c.number == contract_number)).first()
    if row is None:
        return {"customer_id": None, "customer_external_id": None, "customer_country": None}
    return {"customer_id": row.id, "customer_external_id": row.external_id,
            "customer_country": row.country}


def _fx(fx: FxSnapshot | None, currency: str) -> dict[str, str] | None:
    if fx is None or fx.base == fx.quote or currency == fx.quote:
        return None
    return {"base": fx.base, "quote": fx.quote, "rate": str(fx.rate), "source": fx.source,
            "as_of": fx.as_of.isoformat()}


def invoice_document(conn: Connection, inv: Invoice) -> dict[str, Any]:
    return {
        "document": "invoice", "number": inv.number, "entity": inv.entity_code,
        "contract": inv.contract_number, "customer": inv.customer_name,
        **_customer(conn, inv.contract_number), "currency": inv.currency,
        "date": inv.invoice_date.isoformat(), "due": inv.due_date.isoformat(),
        "period": inv.period, "service_line": inv.service_line,
        "subtotal": str(inv.subtotal.amount), "tax_code": inv.tax_code,
        "tax_rate": str(inv.tax_rate), "tax": str(inv.tax.amount),
        "total": str(inv.total.amount), "fx": _fx(inv.fx, inv.currency),
        "lines": [{"description": ln.description, "quantity": str(ln.quantity),
                   "unit_price": str(ln.unit_price.amount), "amount": str(ln.amount.amount),
                   "deferred": ln.deferred} for ln in inv.lines]}


def credit_note_document(conn: Connection, note: CreditNote, invoice: Any) -> dict[str, Any]:
    return {
        "document": "credit_note", "number": note.number, "invoice": invoice.number,
        "entity": note.entity_code, "contract": note.contract_number,
        "customer": note.customer_name, **_customer(conn, note.contract_number),
        "currency": note.currency, "date": note.credit_date.isoformat(),
        "reason": note.reason, "service_line": note.service_line,
        "subtotal": str(note.subtotal.amount), "tax_code": note.tax_code,
        "tax_rate": str(note.tax_rate), "tax": str(note.tax.amount),
        "total": str(note.total.amount), "fx": _fx(getattr(invoice, "fx", None), note.currency),
        "items": list(note.item_keys),
        "lines": [{"description": ln.description, "quantity": str(ln.quantity),
                   "unit_price": str(ln.unit_price.amount), "amount": str(ln.amount.amount),
                   "deferred": ln.deferred} for ln in note.lines]}

"""Read models of billing: invoices, credit notes, billable items, holds, caps (JSON-ready
dicts).

Amounts are decimal strings, never floats; an invoice's lines carry the item keys they bill
and the credit notes raised against it, so a reader can follow every number to its items.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from syncline.adapters.db.billing_tables import (
    billing_holds,
    credit_note_lines,
    credit_notes,
    credit_requests,
)
from syncline.adapters.db.tables import billable_items, contracts, invoice_lines, invoices
from syncline.billing.caps import billed_against
from syncline.billing.credits import CreditNote
from syncline.billing.invoicing import Invoice
from syncline.ledger.money import Money
from syncline.services.billing.run.caps import invoiced_items
from syncline.services.billing.run.credits import load_credit_note
from syncline.services.billing.run.invoices import load_invoice
from syncline.services.billing.run.terms import load_caps
from syncline.services.rows import plain_row

__all__ = ["contract_exists", "credit_note_dict", "find_credit_note", "find_invoice",
           "invoice_dict", "list_caps", "list_credit_notes", "list_holds", "list_invoices",
           "list_items"]


def list_invoices(conn: Connection, *, period: str | None = None, entity: str | None = None,
                  contract: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    q = (select(invoices.c.number, invoices.c.entity_code, invoices.c.contract_number,
                invoices.c.customer_name, invoices.c.invoice_date, invoices.c.period,
                invoices.c.currency, invoices.c.subtotal, invoices.c.tax, invoices.c.total,
                invoices.c.due_date, invoices.c.status)
         .order_by(invoices.c.entity_code, invoices.c.number).limit(limit))
    if period:
        q = q.where(invoices.c.period == period)
    if entity:
        q = q.where(invoices.c.entity_code == entity)
    if contract:
        q = q.where(invoices.c.contract_number == contract)
    out = [plain_row(r) for r in conn.execute(q)]
    credited = dict(conn.execute(select(credit_notes.c.invoice_number, func.count())
                                 .group_by(credit_notes.c.invoice_number)).all())
    for d in out:
        d["credit_notes"] = int(credited.get(d["number"], 0))
    return out


def find_invoice(conn: Connection, number: str) -> Invoice | None:
    return load_invoice(conn, number)


def invoice_dict(conn: Connection, inv: Invoice) -> dict[str, Any]:
    head = conn.execute(select(invoices.c.status, invoices.c.functional_currency).where(
        invoices.c.number == inv.number)).one()
    notes = conn.execute(select(credit_notes.c.number, credit_notes.c.total,
                                credit_notes.c.credit_date, credit_notes.c.reason).where(
        credit_notes.c.invoice_number == inv.number).order_by(credit_notes.c.number)).all()
    return {
        "number": inv.number, "entity": inv.entity_code, "contract": inv.contract_number,
        "customer": inv.customer_name, "currency": inv.currency,
        "invoice_date": inv.invoice_date.isoformat(), "due_date": inv.due_date.isoformat(),
        "period": inv.period, "service_line": inv.service_line, "status": head.status,
        "lines": [{"line_no": i, "description": ln.description, "quantity": str(ln.quantity),
                   "unit_price": str(ln.unit_price.amount), "amount": str(ln.amount.amount),
                   "deferred": ln.deferred, "items": len(ln.item_keys),
                   "item_keys": list(ln.item_keys)} for i, ln in enumerate(inv.lines, 1)],
        "subtotal": str(inv.subtotal.amount), "tax_code": inv.tax_code,
        "tax_rate": str(inv.tax_rate), "tax": str(inv.tax.amount),
        "total": str(inv.total.amount), "notes": list(inv.notes),
        "fx": None if inv.fx is None else {
            "functional_currency": head.functional_currency, "rate": str(inv.fx.rate),
            "source": inv.fx.source, "as_of": inv.fx.as_of.isoformat()},
        "credit_notes": [{"number": n.number, "total": str(n.total), "date": n.credit_date,
                          "reason": n.reason} for n in notes],
    }


def list_credit_notes(conn: Connection, *, invoice: str | None = None,
                      entity: str | None = None) -> list[dict[str, Any]]:
    q = select(credit_notes).order_by(credit_notes.c.entity_code, credit_notes.c.number)
    if invoice:
        q = q.where(credit_notes.c.invoice_number == invoice)
    if entity:
        q = q.where(credit_notes.c.entity_code == entity)
    return [plain_row(r) for r in conn.execute(q)]


def find_credit_note(conn: Connection, number: str) -> CreditNote | None:
    return load_credit_note(conn, number)


def credit_note_dict(note: CreditNote) -> dict[str, Any]:
    return {
        "number": note.number, "entity": note.entity_code, "invoice": note.invoice_number,
        "contract": note.contract_number, "customer": note.customer_name,
        "currency": note.currency, "credit_date": note.credit_date.isoformat(),
        "reason": note.reason,
        "lines": [{"description": ln.description, "quantity": str(ln.quantity),
                   "unit_price": str(ln.unit_price.amount), "amount": str(ln.amount.amount),
                   "item_keys": list(ln.item_keys)} for ln in note.lines],
        "item_keys": list(note.item_keys), "subtotal": str(note.subtotal.amount),
        "tax": str(note.tax.amount), "total": str(note.total.amount),
    }


def list_items(conn: Connection, *, contract: str | None = None, status: str | None = None,
               invoice: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    q = select(billable_items).order_by(billable_items.c.key).limit(min(limit, 10_000))
    if contract:
        q = q.where(billable_items.c.contract_number == contract)
    if status:
        q = q.where(billable_items.c.status == status)
    if invoice:
        q = q.where(billable_items.c.invoice_number == invoice)
    out = []
    for r in conn.execute(q):
        d = plain_row(r)
        d["adjusts"] = json.loads(r.adjusts) if r.adjusts else []
        d["deferred"] = bool(r.deferred)
        out.append(d)
    return out


def list_holds(conn: Connection, *, status: str | None = "held", after: str | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
    """Amounts held at hard caps by item key (``status``: one status, None for all): those
    after the key ``after``, ``limit`` of them (default: all; a page, ADR 0023)."""
    q = select(billing_holds)
    if status:
        q = q.where(billing_holds.c.status == status)
    if after is not None:
        q = q.where(billing_holds.c.item_key > after)
    q = q.order_by(billing_holds.c.item_key)
    return [plain_row(r) for r in conn.execute(q if limit is None else q.limit(limit))]


def pending_credit_requests(conn: Connection) -> list[dict[str, Any]]:
    return [plain_row(r) for r in conn.execute(select(credit_requests).where(
        credit_requests.c.status == "pending").order_by(credit_requests.c.id))]


def lines_of_invoice(conn: Connection, number: str) -> list[dict[str, Any]]:
    return [plain_row(r) for r in conn.execute(select(invoice_lines).where(
        invoice_lines.c.invoice_number == number).order_by(invoice_lines.c.line_no))]


def lines_of_credit_note(conn: Connection, number: str) -> list[dict[str, Any]]:
    return [plain_row(r) for r in conn.execute(select(credit_note_lines).where(
        credit_note_lines.c.credit_note_number == number).order_by(credit_note_lines.c.line_no))]


def contract_exists(conn: Connection, number: str) -> bool:
    return conn.execute(select(contracts.c.number).where(
        contracts.c.number == number)).first() is not None


def list_caps(conn: Connection, *, on: date, contract: str | None = None
              ) -> list[dict[str, Any]]:
    """Each not-to-exceed cap (of ``contract``, or all) as it stands: the limit, tolerance and
    ceiling in force on ``on``, what it has consumed (``billed``: net — invoiced items it
    covers, less cap write-offs and credit notes), what is ``held`` at it for approval and
    ``approved`` (released, billed by the next run), ``headroom`` = max(0, ceiling − billed),
    and its limit history (the deal's limit, then each ``change_cap`` from its date)."""
    holds: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    q = select(billing_holds.c.cap_id, billing_holds.c.status, billing_holds.c.amount)
    if contract is not None:
        q = q.where(billing_holds.c.contract_number == contract)
    for h in conn.execute(q):
        holds[(h.cap_id, h.status)] += h.amount
    out: list[dict[str, Any]] = []
    for number, caps in sorted(load_caps(conn, contract=contract).items()):
        billed = billed_against(caps, invoiced_items(conn, number))
        for cap in caps:
            cur = cap.limit.currency

            def amount(value: Decimal | Money, cur: str = cur) -> str:
                money = value if isinstance(value, Money) else Money(value, cur)
                return str(money.rounded().amount)

            limit, tolerance = cap.terms_on(on)
            ceiling, used = cap.ceiling_on(on), billed[cap.cap_id]
            out.append({
                "contract": number, "cap_id": cap.cap_id, "scope": cap.scope.value,
                "scope_key": cap.scope_key, "kind": cap.kind.value, "currency": cur,
                "as_of": on.isoformat(), "limit": amount(limit), "tolerance": str(tolerance),
                "ceiling": amount(ceiling), "billed": amount(used),
                "held": amount(holds[(cap.cap_id, "held")]),
                "approved": amount(holds[(cap.cap_id, "approved")]),
                "headroom": amount(max(ceiling - used, Money.zero(cur))),
                "limits": [{"from": None, "limit": amount(cap.limit),
                            "tolerance": str(cap.tolerance), "amendment": None}] + [
                    {"from": ch.effective.isoformat(), "limit": amount(ch.limit),
                     "tolerance": None if ch.tolerance is None else str(ch.tolerance),
                     "amendment": ch.reference or None} for ch in cap.changes],
            })
    return out

"""Step 1 of the run, **credits**: pending credit requests (time rejected or corrected after
it was invoiced) become credit notes naming the exact items they reverse
(``billing.credits``), numbered in the entity's CN series, posted at the invoice's FX rate,
the items moved to ``credited``; corrected time gets a replacement item (``time:TE-1@r2``)
billed in the next run. Credit notes stored and loaded back."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import Connection, select, update

from syncline.adapters.db.billing_tables import credit_note_lines, credit_notes, credit_requests
from syncline.adapters.db.tables import billable_items, invoices
from syncline.billing.credits import (
    CreditLine,
    CreditNote,
    CreditRefused,
    credit_note,
    replacement_item,
)
from syncline.billing.invoicing import Invoice
from syncline.billing.items import ItemSource, ItemStatus
from syncline.billing.journals import credit_note_posting, posts_anything
from syncline.billing.numbering import DraftRef, assign_numbers
from syncline.domain.reference import LegalEntity
from syncline.ledger.money import Money
from syncline.ledger.posting import PostingError
from syncline.services.billing.run.cycle import Run
from syncline.services.billing.run.erp_documents import credit_note_document
from syncline.services.billing.run.invoices import last_number, load_invoice, store_last_number
from syncline.services.billing.run.items import insert_items, item_from_row

__all__ = ["issue_credit_notes", "load_credit_note"]


def load_credit_note(conn: Connection, number: str) -> CreditNote | None:
    r = conn.execute(select(credit_notes).where(credit_notes.c.number == number)).first()
    if r is None:
        return None
    lines = tuple(
        CreditLine(ln.description, ln.quantity, Money(ln.unit_price, r.currency),
                   Money(ln.amount, r.currency), tuple(json.loads(ln.item_keys)),
                   bool(ln.deferred))
        for ln in conn.execute(select(credit_note_lines).where(
            credit_note_lines.c.credit_note_number == number)
            .order_by(credit_note_lines.c.line_no)))
    return CreditNote(
        number=r.number, entity_code=r.entity_code, invoice_number=r.invoice_number,
        contract_number=r.contract_number, customer_name=r.customer_name,
        currency=r.currency, credit_date=date.fromisoformat(r.credit_date), reason=r.reason,
        lines=lines, subtotal=Money(r.subtotal, r.currency), tax_code=r.tax_code,
        tax_rate=r.tax_rate, tax=Money(r.tax, r.currency), total=Money(r.total, r.currency),
        service_line=r.service_line)


def issue_credit_notes(run: Run, entity: LegalEntity) -> None:
    conn = run.conn
    pending = conn.execute(
        select(credit_requests).join(invoices,
                                     invoices.c.number == credit_requests.c.invoice_number)
        .where((credit_requests.c.status == "pending") & (invoices.c.entity_code == entity.code))
        .order_by(credit_requests.c.invoice_number, credit_requests.c.request_key)).all()
    if not pending:
        return
    drafts: list[tuple[Any, Invoice, CreditNote]] = []
    issued: dict[str, list[CreditNote]] = defaultdict(list)
    for n, req in enumerate(pending):
        invoice = load_invoice(conn, req.invoice_number)
        assert invoice is not None  # joined above
        on_invoice = [item_from_row(r) for r in conn.execute(select(billable_items).where(
            billable_items.c.invoice_number == invoice.number))]
        before = [c for c in (load_credit_note(conn, num) for num in conn.execute(
            select(credit_notes.c.number).where(
                credit_notes.c.invoice_number == invoice.number)).scalars()) if c is not None]
        note = credit_note(invoice, on_invoice, json.loads(req.item_keys),
                           number=f"draft-{n:06d}", credit_date=run.end, reason=req.reason,
                           credited_before=before + issued[invoice.number])
        if isinstance(note, CreditRefused):
            conn.execute(update(credit_requests).where(credit_requests.c.id == req.id)
                         .values(status="refused"))
            run.problem(note.problem())
            continue
        if posts_anything(note):
            made = credit_note_posting(note, run.charts.of(note.entity_code), fx=invoice.fx,
                                       all_deferred=run.engine_mode, rules=run.rules)
            if isinstance(made, PostingError):  # the request waits, pending, for a fix
                run.unpostable(made, ("invoice", invoice.number), ("entity", entity.code),
                               ("posting_rule", made.event))
                continue
            run.postable(("invoice", invoice.number))
        drafts.append((req, invoice, note))
        issued[invoice.number].append(note)
    numbering = assign_numbers(
        [DraftRef(d.number, entity.code, d.credit_date, d.number) for _, _, d in drafts],
        {entity.code: last_number(conn, entity.code, "CN")}, series="CN")
    for req, invoice, draft in drafts:
        number = numbering.number_of(draft.number)
        assert number is not None  # credit dates are the cycle's end: never a year back
        note = replace(draft, number=number)
        _store_credit_note(conn, note)
        conn.execute(update(billable_items).where(billable_items.c.key.in_(note.item_keys))
                     .values(status=ItemStatus.CREDITED.value, credit_note_number=number))
        conn.execute(update(credit_requests).where(credit_requests.c.id == req.id)
                     .values(status="issued", credit_note_number=number))
        if posts_anything(note):
            entry = credit_note_posting(note, run.charts.of(note.entity_code), fx=invoice.fx,
                                        all_deferred=run.engine_mode, rules=run.rules)
            if isinstance(entry, PostingError):  # checked on the draft: not expected
                run.unpostable(entry, ("credit_note", number), ("entity", entity.code),
                               ("posting_rule", entry.event))
            else:
                run.journal(entry, None)
        run.emit("erp.invoice.post", credit_note_document(conn, note, invoice), None)
        run.result.credit_notes.append(number)
        run.result.credit_note_details.append({
            "number": number, "invoice": invoice.number, "contract": note.contract_number,
            "credit_date": note.credit_date.isoformat(), "currency": note.currency,
            "subtotal": str(note.subtotal.amount), "tax": str(note.tax.amount),
            "total": str(note.total.amount), "items": list(note.item_keys),
            "reason": note.reason})
        if req.corrected_hours is not None:
            originals = [item_from_row(r) for r in conn.execute(select(billable_items).where(
                billable_items.c.key.in_(note.item_keys)
                & (billable_items.c.source == ItemSource.TIME.value)
                & billable_items.c.split_of.is_(None)))]
            for original in originals:
                fixed = replacement_item(original, quantity=req.corrected_hours,
                                         revision=req.revision)
                if conn.execute(select(billable_items.c.key).where(
                        billable_items.c.key == fixed.key)).first() is None:
                    insert_items(conn, [fixed])
    last = dict(numbering.last).get(entity.code)
    if last:
        store_last_number(conn, entity.code, "CN", last)


def _store_credit_note(conn: Connection, note: CreditNote) -> None:
    conn.execute(credit_notes.insert().values(
        number=note.number, entity_code=note.entity_code, invoice_number=note.invoice_number,
        contract_number=note.contract_number, customer_name=note.customer_name,
        currency=note.currency, credit_date=note.credit_date.isoformat(), reason=note.reason,
        subtotal=note.subtotal.amount, tax_code=note.tax_code, tax_rate=note.tax_rate,
        tax=note.tax.amount, total=note.total.amount, service_line=note.service_line))
    conn.execute(credit_note_lines.insert(), [
        {"credit_note_number": note.number, "line_no": i, "description": ln.description,
         "quantity": ln.quantity, "unit_price": ln.unit_price.amount, "amount": ln.amount.amount,
         "deferred": ln.deferred, "item_keys": json.dumps(list(ln.item_keys))}
        for i, ln in enumerate(note.lines, 1)])

"""Step 5 of the run, **invoice**: one invoice per contract — a contract with a blocking
problem (tax code, FX rate, a release its posting rules cannot journal) is left out whole
and becomes a billing exception, the rest goes on — gapless numbers per entity in contract
order (``billing.numbering``, series in ``number_series``), one release journal each
(revenue on invoice, or contract liability when the revenue engine recognises revenue),
outbox ``erp.invoice.post`` and ``erp.journal.post``. A contract gets at most one invoice per
period (late items wait for the next cycle), dated the cycle's end — or the first of the
month for a retainer billed in advance for the month itself, which then bills what is open
up to that day. Invoices stored and loaded back."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, update

from syncline.adapters.db.billing_tables import number_series
from syncline.adapters.db.tables import billable_items, invoice_lines, invoices
from syncline.billing.caps import WRITE_OFF_PREFIX
from syncline.billing.fx import FxRateMissing, FxSnapshot, lookup_rate
from syncline.billing.invoicing import Invoice, InvoiceLine, group_lines, invoice_from_lines
from syncline.billing.items import BillableItem, ItemStatus
from syncline.billing.journals import posts_anything, release_posting
from syncline.billing.numbering import DraftRef, assign_numbers
from syncline.billing.tax import TaxCode, TaxCodeMissing, compute_tax
from syncline.domain.errors import Problem
from syncline.domain.reference import LegalEntity
from syncline.ledger.money import Money
from syncline.ledger.posting import PostingError
from syncline.services.billing.run.caps import item_by_item
from syncline.services.billing.run.cycle import Run, billing_problem
from syncline.services.billing.run.erp_documents import invoice_document
from syncline.services.billing.run.items import Lines
from syncline.services.billing.run.terms import Contract

__all__ = ["invoice_entity", "last_number", "load_invoice", "store_last_number"]


def load_invoice(conn: Connection, number: str) -> Invoice | None:
    r = conn.execute(select(invoices).where(invoices.c.number == number)).first()
    if r is None:
        return None
    lines = tuple(
        InvoiceLine(ln.description, ln.quantity, Money(ln.unit_price, r.currency),
                    Money(ln.amount, r.currency), tuple(json.loads(ln.item_keys)),
                    bool(ln.deferred))
        for ln in conn.execute(select(invoice_lines).where(
            invoice_lines.c.invoice_number == number).order_by(invoice_lines.c.line_no)))
    fx = None
    if r.fx_rate is not None and r.functional_currency and r.fx_as_of:
        fx = FxSnapshot(r.currency, r.functional_currency, r.fx_rate, r.fx_source or "",
                        date.fromisoformat(r.fx_as_of))
    return Invoice(
        number=r.number, entity_code=r.entity_code, contract_number=r.contract_number,
        customer_name=r.customer_name, currency=r.currency,
        invoice_date=date.fromisoformat(r.invoice_date), period=r.period, lines=lines,
        subtotal=Money(r.subtotal, r.currency), tax_code=r.tax_code, tax_rate=r.tax_rate,
        tax=Money(r.tax, r.currency), total=Money(r.total, r.currency),
        due_date=date.fromisoformat(r.due_date), service_line=r.service_line, fx=fx,
        notes=tuple(json.loads(r.notes or "[]")))


def last_number(conn: Connection, entity: str, series: str) -> str | None:
    return conn.execute(select(number_series.c.last_number).where(
        (number_series.c.entity_code == entity) & (number_series.c.series == series))).scalar()


def store_last_number(conn: Connection, entity: str, series: str, last: str) -> None:
    if last_number(conn, entity, series) is None:
        conn.execute(number_series.insert().values(entity_code=entity, series=series,
                                                   last_number=last))
    else:
        conn.execute(update(number_series).where(
            (number_series.c.entity_code == entity) & (number_series.c.series == series))
            .values(last_number=last))


def _blocked(run: Run, c: Contract, entity: LegalEntity) -> Problem | tuple[TaxCode,
                                                                           FxSnapshot]:
    tax = next((t for t in run.tax_codes if t.code == c.tax_profile), None)
    if tax is None:
        return TaxCodeMissing(c.tax_profile, c.number).problem()
    fx = lookup_rate(run.fx, base=c.currency, quote=entity.functional_currency,
                     on=c.invoice_date(run.end))
    if isinstance(fx, FxRateMissing):
        return fx.problem(("contract", c.number))
    return tax, fx


def _store_invoice(run: Run, inv: Invoice, functional_currency: str) -> None:
    run.pending_invoices.append(dict(
        number=inv.number, entity_code=inv.entity_code, contract_number=inv.contract_number,
        customer_name=inv.customer_name, currency=inv.currency,
        invoice_date=inv.invoice_date.isoformat(), period=inv.period,
        subtotal=inv.subtotal.amount, tax_code=inv.tax_code, tax_rate=inv.tax_rate,
        tax=inv.tax.amount, total=inv.total.amount, due_date=inv.due_date.isoformat(),
        service_line=inv.service_line, status="released",
        functional_currency=functional_currency,
        fx_rate=inv.fx.rate if inv.fx else None, fx_source=inv.fx.source if inv.fx else None,
        fx_as_of=inv.fx.as_of.isoformat() if inv.fx else None,
        notes=json.dumps(list(inv.notes)) if inv.notes else None))
    run.pending_lines.extend([
        {"invoice_number": inv.number, "line_no": i, "description": ln.description,
         "quantity": ln.quantity, "unit_price": ln.unit_price.amount, "amount": ln.amount.amount,
         "item_keys": json.dumps(list(ln.item_keys)), "deferred": ln.deferred}
        for i, ln in enumerate(inv.lines, 1)])


def invoice_entity(run: Run, entity: LegalEntity, terms: dict[str, Contract],
                   lines_of: Lines) -> None:
    conn = run.conn
    done = set(conn.execute(select(invoices.c.contract_number).where(
        (invoices.c.period == run.period) & (invoices.c.entity_code == entity.code))).scalars())
    ready: dict[str, tuple[list[InvoiceLine], TaxCode, FxSnapshot, tuple[str, ...]]] = {}
    bulk: list[str] = []  # contracts whose items move to invoiced set-based
    pure_items: dict[str, list[BillableItem]] = {}
    for number in sorted(n for n in lines_of if n in terms):
        c = terms[number]
        if number in done:
            continue  # already invoiced this period: late items wait for the next cycle
        blocked = _blocked(run, c, entity)
        if isinstance(blocked, Problem):
            run.problem(blocked, c.correlation_id)
            continue
        tax, fx = blocked
        if c.complex:
            billable, held = item_by_item(run, c)
            if not billable:
                continue
            pure_items[number] = billable
            lines = list(group_lines(billable))
            notes = tuple(f"Held for approval: {h.item.description} — {h.reason}"
                          for h in held)
        else:
            lines = [ln for _, ln in lines_of[number]]
            bulk.append(number)
            notes = ()
        ready[number] = (lines, tax, fx, notes)
    for number in sorted(ready):  # a release the posting rules cannot journal: left out whole
        trial = _invoice(run, entity, terms[number], ready[number], f"draft:{number}")
        if posts_anything(trial):
            made = release_posting(trial, run.charts.of(entity.code),
                                   all_deferred=run.engine_mode, rules=run.rules)
            if isinstance(made, PostingError):
                run.unpostable(made, ("contract", number), ("entity", entity.code),
                               ("posting_rule", made.event))
                del ready[number]
                continue
        run.postable(("contract", number))
    numbering = assign_numbers([DraftRef(n, entity.code, terms[n].invoice_date(run.end), n)
                                for n in sorted(ready)],
                               {entity.code: last_number(conn, entity.code, "")})
    for draft, reason in numbering.refused:
        run.problem(billing_problem(
            "billing.numbering_refused", f"contract {draft}: {reason}",
            "Re-date the invoice into the entity's current numbering year, then re-run.",
            ("contract", draft)))
    issued: dict[str, str] = {}
    for number in sorted(ready):
        invoice_number = numbering.number_of(number)
        if invoice_number is None:
            continue
        c = terms[number]
        lines = ready[number][0]
        inv = _invoice(run, entity, c, ready[number], invoice_number)
        _store_invoice(run, inv, entity.functional_currency)
        issued[number] = invoice_number
        if posts_anything(inv):
            entry = release_posting(inv, run.charts.of(inv.entity_code),
                                    all_deferred=run.engine_mode, rules=run.rules)
            if isinstance(entry, PostingError):  # checked on the draft: not expected
                run.unpostable(entry, ("invoice", invoice_number), ("entity", entity.code),
                               ("posting_rule", entry.event))
            else:
                run.journal(entry, c.correlation_id)
        run.emit("erp.invoice.post", invoice_document(conn, inv), c.correlation_id)
        run.result.invoices.append(invoice_number)
        run.result.invoice_details.append(_details(inv))
        run.result.write_offs.extend(
            {"item": i.key, "adjusts": list(i.adjusts), "contract": number,
             "invoice": invoice_number, "description": i.description,
             "amount": str(i.amount.amount), "currency": i.amount.currency}
            for i in pure_items.get(number, ()) if i.key.startswith(WRITE_OFF_PREFIX))
        run.result.totals[inv.currency] = run.result.totals.get(inv.currency, Decimal(0)) + \
            inv.total.amount
        run.result.items_invoiced += sum(len(ln.item_keys) for ln in lines)
    # items move generated → released → invoiced: set-based for the aggregated contracts
    run.bulk.extend((n, issued[n], terms[n].currency) for n in bulk if n in issued)
    for number, items in pure_items.items():
        if number in issued:
            keys = [i.key for i in items]
            for start in range(0, len(keys), 500):
                conn.execute(update(billable_items).where(
                    billable_items.c.key.in_(keys[start:start + 500])).values(
                    status=ItemStatus.INVOICED.value, invoice_number=issued[number]))
    last = dict(numbering.last).get(entity.code)
    if last:
        store_last_number(conn, entity.code, "", last)


def _details(inv: Invoice) -> dict[str, Any]:
    return {"number": inv.number, "contract": inv.contract_number,
            "customer": inv.customer_name, "invoice_date": inv.invoice_date.isoformat(),
            "currency": inv.currency, "subtotal": str(inv.subtotal.amount),
            "tax": str(inv.tax.amount), "total": str(inv.total.amount),
            "lines": [{"description": ln.description, "quantity": str(ln.quantity),
                       "unit_price": str(ln.unit_price.amount), "amount": str(ln.amount.amount),
                       "items": len(ln.item_keys)} for ln in inv.lines],
            "notes": list(inv.notes)}


def _invoice(run: Run, entity: LegalEntity, c: Contract,
             ready: tuple[list[InvoiceLine], TaxCode, FxSnapshot, tuple[str, ...]],
             number: str) -> Invoice:
    """The invoice of contract ``c`` from its ready lines, tax code, FX and held notes."""
    lines, tax, fx, held_notes = ready
    subtotal = Money(sum((ln.amount.amount for ln in lines), Decimal(0)), c.currency)
    taxed = compute_tax(subtotal, tax)
    return invoice_from_lines(
        number=number, entity_code=entity.code, contract_number=c.number,
        customer_name=c.customer_name, currency=c.currency,
        invoice_date=c.invoice_date(run.end),
        period=run.period, lines=lines, tax_code=tax.code, tax_rate=taxed.rate,
        payment_terms_days=c.payment_terms_days, service_line=c.service_line,
        fx=None if fx.base == fx.quote else fx,
        notes=((taxed.note,) if taxed.note else ()) + held_notes)

"""The monthly invoice run: recurring fees, invoices from billable items, journals, outbox.

Idempotent: an item is invoiced once (its status says so), a contract gets at most one invoice
per period, recurring items and journals have natural keys; running a period twice changes
nothing. Numbers are gapless per legal entity, given in contract-number order.
"""

from __future__ import annotations

import calendar
import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from syncline.adapters.db.tables import (
    billable_items,
    contract_lines,
    contracts,
    customers,
    invoice_lines,
    invoice_sequences,
    invoices,
    outbox,
    time_entries,
    worker_versions,
)
from syncline.billing.invoicing import Invoice, assemble_invoice, invoice_entry, labor_cost_entry
from syncline.billing.items import BillableItem, ItemSource, retainer_item
from syncline.domain.errors import BusinessDomain, Problem
from syncline.domain.model import BillingType
from syncline.domain.reference import ReferenceData
from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.money import Money
from syncline.services.clock import iso
from syncline.services.exceptions import raise_exception
from syncline.services.ids import new_id
from syncline.services.ledger_posting import post_entry


@dataclass
class RunResult:
    period: str
    invoices: list[str] = field(default_factory=list)
    journal_entries: int = 0
    retainer_items: int = 0
    exceptions: int = 0
    dry_run: bool = False
    totals: dict[str, Decimal] = field(default_factory=dict)


def month_bounds(period: str) -> tuple[date, date]:
    year, month = (int(x) for x in period.split("-"))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _emit(conn: Connection, kind: str, target: str, payload: dict[str, Any],
          correlation_id: str | None, now: datetime) -> None:
    from sqlalchemy import func
    seq = (conn.execute(select(func.max(outbox.c.seq))).scalar() or 0) + 1
    conn.execute(outbox.insert().values(
        id=new_id("out"), seq=seq, kind=kind, target=target, group_key=None,
        payload=json.dumps(payload, sort_keys=True, default=str), correlation_id=correlation_id,
        status="pending", attempts=0, created_at=iso(now)))


def _generate_retainers(conn: Connection, start: date, end: date, entity: str | None) -> int:
    q = (select(contracts.c.number, contracts.c.currency, contract_lines.c.amount)
         .join(contract_lines, contract_lines.c.contract_id == contracts.c.id)
         .where((contract_lines.c.kind == BillingType.RETAINER.value)
                & (contracts.c.start_date <= end.isoformat())
                & (contracts.c.end_date >= start.isoformat())))
    if entity:
        q = q.where(contracts.c.entity_code == entity)
    made = 0
    for r in conn.execute(q).all():
        item = retainer_item(r.number, start, Money(r.amount, r.currency))
        if conn.execute(select(billable_items.c.key).where(
                billable_items.c.key == item.key)).first():
            continue
        conn.execute(billable_items.insert().values(
            key=item.key, contract_number=item.contract_number, source=item.source.value,
            service_date=item.service_date.isoformat(), description=item.description,
            quantity=item.quantity, unit_price=item.unit_price.amount,
            currency=item.unit_price.currency,
            amount=item.amount.amount, rate_scope="contract", status="generated",
            invoice_number=None))
        made += 1
    return made


def _next_number(conn: Connection, entity: str, year: int) -> str:
    row = conn.execute(select(invoice_sequences.c.last_number).where(
        invoice_sequences.c.entity_code == entity)).first()
    number = (row.last_number if row else 0) + 1
    if row is None:
        conn.execute(invoice_sequences.insert().values(entity_code=entity, last_number=number))
    else:
        conn.execute(update(invoice_sequences).where(
            invoice_sequences.c.entity_code == entity).values(last_number=number))
    return f"{entity}-{year}-{number:06d}"


def _store_invoice(conn: Connection, inv: Invoice) -> None:
    conn.execute(invoices.insert().values(
        number=inv.number, entity_code=inv.entity_code, contract_number=inv.contract_number,
        customer_name=inv.customer_name, currency=inv.currency,
        invoice_date=inv.invoice_date.isoformat(), period=inv.period,
        subtotal=inv.subtotal.amount, tax_code=inv.tax_code, tax_rate=inv.tax_rate,
        tax=inv.tax.amount, total=inv.total.amount, due_date=inv.due_date.isoformat(),
        service_line=inv.service_line, status="released"))
    conn.execute(invoice_lines.insert(), [
        {"invoice_number": inv.number, "line_no": i, "description": ln.description,
         "quantity": ln.quantity, "unit_price": ln.unit_price.amount, "amount": ln.amount.amount,
         "item_keys": json.dumps(list(ln.item_keys))} for i, ln in enumerate(inv.lines, 1)])
    for ln in inv.lines:
        keys = list(ln.item_keys)
        for start in range(0, len(keys), 500):
            conn.execute(update(billable_items).where(
                billable_items.c.key.in_(keys[start:start + 500])).values(
                status="invoiced", invoice_number=inv.number))


def _labor_cost(conn: Connection, start: date, end: date, entity: str | None,
                chart: ChartOfAccounts, now: datetime) -> int:
    """Cost approved time at the HR cost rate effective on each work date, per entity."""
    versions: dict[str, list[Any]] = defaultdict(list)
    for v in conn.execute(select(worker_versions).order_by(worker_versions.c.effective_date,
                                                           worker_versions.c.sequence)):
        versions[v.worker_id].append(v)
    cost: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for t in conn.execute(select(time_entries.c.worker_id, time_entries.c.work_date,
                                 time_entries.c.hours).where(
            (time_entries.c.status == "approved")
            & (time_entries.c.work_date >= start.isoformat())
            & (time_entries.c.work_date <= end.isoformat()))):
        effective = [v for v in versions[t.worker_id] if v.effective_date <= t.work_date]
        if not effective:
            continue
        v = effective[-1]
        if entity and v.entity_code != entity:
            continue
        cost[(v.entity_code, v.cost_currency)] += t.hours * v.cost_rate
    posted = 0
    for (ent, cur), amount in sorted(cost.items()):
        money = Money(amount, cur).rounded()
        if money.is_zero:
            continue
        entry = labor_cost_entry(ent, end, f"{start:%Y-%m}", money, chart)
        # one entry per entity and currency, keyed so a re-run posts nothing new
        entry = replace(entry, source_id=f"labor:{ent}:{cur}:{start:%Y-%m}")
        posted += post_entry(conn, entry, now)
    return posted


def run_billing(engine: Engine, period: str, ref: ReferenceData, chart: ChartOfAccounts,
                now: datetime, *, entity: str | None = None, dry_run: bool = False) -> RunResult:
    start, end = month_bounds(period)
    result = RunResult(period=period, dry_run=dry_run)
    conn_ctx = engine.connect()
    with conn_ctx as conn:
        tx = conn.begin()
        result.retainer_items = _generate_retainers(conn, start, end, entity)
        q = (select(billable_items, contracts.c.entity_code, contracts.c.tax_profile,
                    contracts.c.payment_terms_days, contracts.c.service_line,
                    contracts.c.correlation_id, customers.c.name.label("customer_name"))
             .join(contracts, contracts.c.number == billable_items.c.contract_number)
             .join(customers, customers.c.id == contracts.c.customer_id)
             .where((billable_items.c.status == "generated")
                    & (billable_items.c.service_date <= end.isoformat()))
             .order_by(billable_items.c.contract_number, billable_items.c.key))
        if entity:
            q = q.where(contracts.c.entity_code == entity)
        by_contract: dict[str, list[Any]] = defaultdict(list)
        for r in conn.execute(q):
            by_contract[r.contract_number].append(r)
        for number in sorted(by_contract):
            rows = by_contract[number]
            head = rows[0]
            if conn.execute(select(invoices.c.number).where(
                    (invoices.c.contract_number == number) & (invoices.c.period == period))
            ).first():
                continue  # already invoiced this period; late items wait for the next cycle
            tax = ref.tax_profile(head.tax_profile)
            if tax is None:
                raise_exception(conn, Problem(
                    "billing.tax_profile_unknown", BusinessDomain.BILLING,
                    f"contract {number} has tax profile {head.tax_profile} which is not "
                    "configured", "Configure the tax profile, then re-run the billing cycle.",
                    objects=(("contract", number),)), now=now)
                result.exceptions += 1
                continue
            items = [BillableItem(
                key=r.key, contract_number=number, source=ItemSource(r.source),
                service_date=date.fromisoformat(r.service_date), description=r.description,
                quantity=r.quantity, unit_price=Money(r.unit_price, r.currency),
                amount=Money(r.amount, r.currency), rate_scope=r.rate_scope) for r in rows]
            inv = assemble_invoice(
                number=_next_number(conn, head.entity_code, end.year),
                entity_code=head.entity_code, contract_number=number,
                customer_name=head.customer_name, currency=head.currency, invoice_date=end,
                period=period, items=items, tax_code=tax.code, tax_rate=tax.rate,
                payment_terms_days=head.payment_terms_days, service_line=head.service_line)
            _store_invoice(conn, inv)
            entry = invoice_entry(inv, chart)
            result.journal_entries += post_entry(conn, entry, now)
            payload = {"number": inv.number, "entity": inv.entity_code,
                       "contract": inv.contract_number, "customer": inv.customer_name,
                       "currency": inv.currency, "total": str(inv.total.amount),
                       "tax": str(inv.tax.amount), "date": inv.invoice_date.isoformat(),
                       "due": inv.due_date.isoformat()}
            _emit(conn, "erp.invoice.post", "erp", payload, head.correlation_id, now)
            _emit(conn, "erp.journal.post", "erp",
                  {"source": f"invoice:{inv.number}", "entity": inv.entity_code,
                   "lines": [[ln.account, ln.side.value, str(ln.amount.amount),
                              ln.amount.currency] for ln in entry.lines]},
                  head.correlation_id, now)
            result.invoices.append(inv.number)
            result.totals[inv.currency] = result.totals.get(inv.currency, Decimal(0)) + \
                inv.total.amount
        result.journal_entries += _labor_cost(conn, start, end, entity, chart, now)
        if dry_run:
            tx.rollback()
        else:
            tx.commit()
    return result


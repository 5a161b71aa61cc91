"""The ``ar-aging`` report: what customers owe at the period end, by days past due, and DSO.

An invoice's open amount at ``as_of`` (the period's last day) is its total, less the credit
notes against it and the payments applied to it dated on or before ``as_of`` (credit note
totals are negative, so they are added). It is aged by days past its due date: ``current``
(not yet due), ``1-30``, ``31-60``, ``61-90``, ``90+``. Rows are per entity, customer and
currency; an overpaid invoice (negative open amount) is shown in ``current`` so the totals
equal the receivable balance.

DSO per entity and currency is ``AR at as_of ÷ invoiced in the last three months × the days
in them`` (invoices dated in those months, credit notes netted; psa-erp-anchors §4: AR ÷
credit sales × days). With nothing invoiced in the window it is not computed (``n/a``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Connection, select

from syncline.adapters.db.billing_tables import credit_notes, payments
from syncline.adapters.db.tables import contracts, customers, invoices
from syncline.ledger.reports import Cell, Table
from syncline.services.ledger.queries import period_end
from syncline.services.ledger.reports.common import ZERO, months_up_to

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
WINDOW_MONTHS = 3


def _bucket(days_late: int) -> int:
    if days_late <= 0:
        return 0
    return next((i + 1 for i, limit in enumerate((30, 60, 90)) if days_late <= limit), 4)


def open_invoices(conn: Connection, as_of: date, entity: str | None = None
                  ) -> list[tuple[str, str, str, str, date, Decimal]]:
    """(invoice number, entity, customer, currency, due date, open amount) at ``as_of``."""
    stamp = as_of.isoformat()
    reduced: dict[str, Decimal] = defaultdict(Decimal)
    for r in conn.execute(select(credit_notes.c.invoice_number, credit_notes.c.total).where(
            credit_notes.c.credit_date <= stamp)):
        reduced[r.invoice_number] += Decimal(r.total)  # negative
    for r in conn.execute(select(payments.c.invoice_number, payments.c.amount).where(
            payments.c.received_on <= stamp)):
        reduced[r.invoice_number] -= Decimal(r.amount)
    query = (select(invoices.c.number, invoices.c.entity_code, invoices.c.currency,
                    invoices.c.total, invoices.c.due_date, customers.c.external_id,
                    invoices.c.customer_name)
             .join(contracts, contracts.c.number == invoices.c.contract_number)
             .join(customers, customers.c.id == contracts.c.customer_id)
             .where(invoices.c.invoice_date <= stamp))
    if entity:
        query = query.where(invoices.c.entity_code == entity)
    out = []
    for r in conn.execute(query):
        amount = Decimal(r.total) + reduced.get(r.number, ZERO)
        if amount != 0:
            out.append((r.number, r.entity_code, f"{r.external_id} {r.customer_name}",
                        r.currency, date.fromisoformat(r.due_date), amount))
    return out


def ar_aging_tables(conn: Connection, period: str, *, entity: str | None = None
                    ) -> tuple[Table, Table]:
    as_of = period_end(period)
    cells: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [ZERO] * 5)
    ar: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for _, ent, customer, currency, due, amount in open_invoices(conn, as_of, entity):
        index = _bucket((as_of - due).days) if amount > 0 else 0
        cells[(ent, customer, currency)][index] += amount
        ar[(ent, currency)] += amount
    aging_rows: list[tuple[Cell, ...]] = [(*k, *v, sum(v, ZERO))
                                          for k, v in sorted(cells.items())]
    window = months_up_to(period, WINDOW_MONTHS)
    first = date.fromisoformat(f"{window[0]}-01")
    days = (as_of - first).days + 1
    sales: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    inv = select(invoices.c.entity_code, invoices.c.currency, invoices.c.total).where(
        (invoices.c.invoice_date >= first.isoformat())
        & (invoices.c.invoice_date <= as_of.isoformat()))
    cn = select(credit_notes.c.entity_code, credit_notes.c.currency, credit_notes.c.total).where(
        (credit_notes.c.credit_date >= first.isoformat())
        & (credit_notes.c.credit_date <= as_of.isoformat()))
    for r in [*conn.execute(inv), *conn.execute(cn)]:
        if entity is None or r.entity_code == entity:
            sales[(r.entity_code, r.currency)] += Decimal(r.total)
    dso_rows: list[tuple[Cell, ...]] = []
    for key in sorted(set(ar) | set(sales)):
        billed = sales.get(key, ZERO)
        dso: Cell = (ar.get(key, ZERO) / billed * days).quantize(Decimal("0.1"), ROUND_HALF_UP) \
            if billed > 0 else "n/a"
        dso_rows.append((*key, ar.get(key, ZERO), billed, str(days), dso))
    return (Table(f"Receivables aging at {as_of.isoformat()} (days past due)",
                  ("entity", "customer", "currency", *BUCKETS, "total"), tuple(aging_rows)),
            Table(f"DSO at {as_of.isoformat()}: AR ÷ invoiced in {window[0]}..{window[-1]} "
                  "× days", ("entity", "currency", "ar", "invoiced", "days", "dso"),
                  tuple(dso_rows)))

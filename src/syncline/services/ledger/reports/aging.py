"""The ``unbilled-aging`` report: what was approved/generated but not invoiced at the period end
(billable items by service date, FIFO per project), and GL unbilled/WIP balances aged FIFO.
``unbilled_items`` is also the unbilled subledger of the close reconciliation. An item held at
a hard cap (``billing_holds`` status ``held``) is not unbilled: it is not billable until
approved (as revenue and the close's accrual read it)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, select, text, union_all

from syncline.adapters.db.billing_tables import billing_holds
from syncline.adapters.db.tables import billable_items, contracts, invoices
from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.journal import JournalEntry
from syncline.ledger.reports import Cell, Table, unbilled_aging
from syncline.services.ledger.held import held
from syncline.services.ledger.queries import load_entries, period_end
from syncline.services.ledger.reports.common import (
    NOT_BILLABLE_ITEM_STATUSES,
    ZERO,
    project_info,
    projects_by_contract,
)


def unbilled_items(conn: Connection, as_of: date, *, entity: str | None = None
                   ) -> list[tuple[Any, str, str]]:
    """Billable items unbilled at ``as_of``: (item row, entity, project), service date on or
    before it, not reversed/credited, and not invoiced on an invoice dated on or before it.

    The invoiced ones — nearly the whole history — are never read: the items not invoiced are
    found by their partial index (migration 0028), those invoiced on an invoice dated after
    ``as_of`` by that invoice's number (0026), and those naming an invoice that does not
    exist (a hand edit; no code writes one) by theirs, found by stepping the invoice-number
    index from one number to the next (``_ORPHANED``: a step per invoice, not per item), so
    the rows the database reads are the open ones, not every item served up to ``as_of``.
    Held (``held``) once for every scope of a close step: the reconciliation and the aging
    report of each scope read the same items."""
    found = held(conn, ("unbilled_items", as_of), lambda: _unbilled_items(conn, as_of))
    return [f for f in found if not entity or f[1] == entity]


# The invoice numbers items name that no invoice has: one index step per number named
# (the partial index on invoice_number, migration 0026), each looked up among the invoices.
_ORPHANED = text("""
WITH RECURSIVE named(n) AS (
  SELECT min(invoice_number) FROM billable_items WHERE invoice_number IS NOT NULL
  UNION ALL
  SELECT (SELECT min(b.invoice_number) FROM billable_items AS b WHERE b.invoice_number > named.n)
  FROM named WHERE named.n IS NOT NULL)
SELECT n FROM named
WHERE n IS NOT NULL AND NOT EXISTS (SELECT 1 FROM invoices AS i WHERE i.number = named.n)
""")


def not_invoiced_by(conn: Connection, day: str, where: ColumnElement[bool]
                    ) -> tuple[Select[Any], Select[Any], Select[Any] | None]:
    """The billable items matching ``where`` that no invoice dated on or before ``day``
    carries, as three selects of whole rows, each read by an index (see `unbilled_items`):
    those never invoiced, those on an invoice dated after ``day``, and those naming an
    invoice that does not exist (None when no item does)."""
    b = billable_items.c
    later = select(invoices.c.number).where(invoices.c.invoice_date > day)
    orphaned = sorted(conn.execute(_ORPHANED).scalars())
    return (select(billable_items).where(b.invoice_number.is_(None) & where),
            select(billable_items).where(b.invoice_number.in_(later) & where),
            select(billable_items).where(b.invoice_number.in_(orphaned) & where)
            if orphaned else None)


def _unbilled_items(conn: Connection, as_of: date) -> list[tuple[Any, str, str]]:
    info = project_info(conn)
    by_contract = projects_by_contract(info)
    entity_of = {r.number: r.entity_code
                 for r in conn.execute(select(contracts.c.number, contracts.c.entity_code))}
    on_hold = set(conn.execute(select(billing_holds.c.item_key).where(
        billing_holds.c.status == "held")).scalars())
    day = as_of.isoformat()
    b = billable_items.c
    served = (b.service_date <= day) & b.status.not_in(NOT_BILLABLE_ITEM_STATUSES)
    never, later, orphaned = not_invoiced_by(conn, day, served)
    open_items = union_all(*[p for p in (never, later, orphaned) if p is not None])
    out = []
    for item in conn.execute(open_items.order_by(open_items.selected_columns.service_date,
                                                 open_items.selected_columns.key)):
        if item.key in on_hold:
            continue
        ent = entity_of.get(item.contract_number, "")
        out.append((item, ent, by_contract.get(item.contract_number, item.contract_number)))
    return out


AGED_ROLES = ("unbilled_receivable", "wip")  # ``ledger.reports.unbilled_aging``'s


def aged_entries(conn: Connection, period: str, charts: Mapping[str, ChartOfAccounts],
                 entity: str | None) -> list[JournalEntry]:
    """The entries through ``period`` with a line on an account ``unbilled_aging`` ages — the
    only ones it reads (first in, first out needs each layer's date, which no carried balance
    keeps: ADR 0014); held once for every scope inside ``queries.entries_held``."""
    codes = tuple(sorted({chart.code(r) for chart in charts.values() for r in AGED_ROLES
                          if any(a.role == r for a in chart.accounts)}))
    found = held(conn, ("aged_entries", period, codes),
                 lambda: load_entries(conn, through=period, touching=codes))
    return [e for e in found if not entity or e.entity_id == entity]


def unbilled_aging_table(conn: Connection, period: str, entries: Sequence[JournalEntry],
                         charts: Mapping[str, ChartOfAccounts], *, entity: str | None = None
                         ) -> Table:
    as_of = period_end(period)
    buckets = (30, 60, 90)
    labels = ("0-30", "31-60", "61-90", "90+")
    cells: dict[tuple[str, str, str, str], list[Decimal]] = defaultdict(
        lambda: [ZERO] * len(labels))
    for item, ent, project in unbilled_items(conn, as_of, entity=entity):
        age = (as_of - date.fromisoformat(item.service_date)).days
        index = next((i for i, limit in enumerate(buckets) if age <= limit), len(buckets))
        cells[(ent, "billable_items", project, item.currency)][index] += item.amount
    rows: list[tuple[Cell, ...]] = [(*k, *v, sum(v, ZERO)) for k, v in sorted(cells.items())]
    gl = unbilled_aging(entries, charts, as_of)
    for g in gl.rows:
        rows.append((g[0], f"gl:{g[1]}", *g[2:]))
    return Table(f"WIP / unbilled aging at {as_of.isoformat()}",
                 ("entity", "source", "project", "currency", *labels, "total"), tuple(rows))

"""What the revenue engine sees of billing: the right to invoice, and what was billed.

**Billable to date** (the right to invoice of time and materials, ASC 606-10-55-18 / B16) is
the sum, by service date, of the contract's billable items that bill or will bill as they
stand, and nothing else:

- sources: ``time`` and ``expense`` items (split parts ``key#cap`` / ``key#over`` and
  corrected replacements ``key@r2`` are items like any other), and the ``adjustment`` items
  that adjust them: a cap write-off ``adjustment:cap:<cap>:<key>`` (negative) or a manual
  adjustment naming the items it adjusts; a manual adjustment naming none counts for the
  contract's first time-and-materials line;
- statuses ``generated``, ``released`` and ``invoiced`` count; ``credited``, ``reversed`` and
  ``written_off`` do not (they no longer bill);
- an item *held* at a hard cap (``billing_holds`` status ``held``) does not count until a
  person approves it (status ``approved`` or ``billed``);
- only items in the contract's currency (the run leaves others out as a problem).

Time and its adjustments go to the contract's time-and-materials line (the item's own line
when it names one); rebilled expenses are their own right-to-invoice obligation ``expenses``
(the reimbursement is consideration for the work when the cost is incurred, 32-40): they are
recognised on their service date, never left in the contract liability.

Items are measured as the billing run left them: the close bills the period before it
recognises it, so a capped item is already split, written off or held. An open item that no
run has seen yet counts at its full amount.

**Carried** (the recognition run, docs/adr/0016): the months recognition has carried for a
contract (`billable_carried`) come as their sums per source, line and currency, and every
amount of them — the sums and the adjustments dated in them — is counted on the month's last
day; the engine measures a right to invoice only at month ends there, so the schedule is the
same.

**Billed** is the contract's invoices (net of tax) and its credit notes (net of tax, negative),
each on its date: net billed = invoices + credit notes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, select

from syncline.adapters.db.billing_tables import billing_holds, credit_notes
from syncline.adapters.db.tables import billable_items, invoices
from syncline.revenue.model import Actual, ActualKind, Invoice

EXPENSES = "expenses"  # the obligation id of rebilled expenses
COUNTED = ("generated", "released", "invoiced")


@dataclass(frozen=True, slots=True)
class CarriedBillable:
    """A contract's carried months as recognition reads them (`billable_carried`): the last
    day of the last one, their sums (rows of ``revenue_billable_sums``), and the source and
    line of each counted item an adjustment names (the adjusted items of carried months are
    not read as rows)."""

    through: date
    sums: tuple[Any, ...] = ()
    origins: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)


def month_end(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def counted_items(conn: Connection, numbers: Sequence[str]) -> dict[str, list[Any]]:
    """The items that count as billable (sources and statuses of the module doc, held ones
    included), by contract and by key: one read for many contracts."""
    out: dict[str, list[Any]] = defaultdict(list)
    for r in conn.execute(_COUNTED_ITEMS, {"numbers": list(numbers)}):
        out[r.contract_number].append(r)
    return out


def held_items(conn: Connection, numbers: Sequence[str]) -> dict[str, set[str]]:
    """Keys of the items held at a hard cap, by contract."""
    out: dict[str, set[str]] = defaultdict(set)
    for r in conn.execute(_HELD, {"numbers": list(numbers)}):
        out[r.contract_number].add(r.item_key)
    return out


def numbers_in(column: Any) -> Any:
    """``column`` is one of the contract numbers bound as ``numbers`` (a list): the filter of
    every read of a chunk of contracts (here, ``reads``, ``stored``, ``journal_reads``)."""
    return column.in_(bindparam("numbers", expanding=True))


_bi = billable_items.c
_COUNTED_ITEMS = (select(_bi.contract_number, _bi.key, _bi.source, _bi.service_date, _bi.amount,
                         _bi.line_id, _bi.adjusts, _bi.currency)
                  .where(numbers_in(_bi.contract_number)
                         & _bi.source.in_(("time", "expense", "adjustment"))
                         & _bi.status.in_(COUNTED))
                  .order_by(_bi.contract_number, _bi.key))
_HELD = select(billing_holds.c.contract_number, billing_holds.c.item_key).where(
    numbers_in(billing_holds.c.contract_number)
    & (billing_holds.c.status == "held"))


def billable_to_date(conn: Connection, number: str, currency: str, tm_lines: Sequence[str],
                     ) -> dict[str, dict[date, Decimal]]:
    """Amount billable by obligation id (a time-and-materials line or ``EXPENSES``) and
    service date, by the rule of the module doc."""
    return billable_by_day(counted_items(conn, [number])[number],
                           held_items(conn, [number])[number], currency, tm_lines)


def billable_by_day(rows: Sequence[Any], held: Set[str], currency: str,
                    tm_lines: Sequence[str], carried: CarriedBillable | None = None,
                    ) -> dict[str, dict[date, Decimal]]:
    """`billable_to_date` of a contract's counted items (by key) and held keys, read; with
    ``carried``, ``rows`` are the items after its months and the adjustments in them, and
    what falls in them is counted on their last days (module doc)."""
    source_of = {r.key: (r.source, r.line_id) for r in rows}
    if carried is not None:
        source_of = {**carried.origins, **source_of}
    out: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    first_tm = tm_lines[0] if tm_lines else None
    for r in rows:
        if r.key in held or r.currency != currency:
            continue
        source, line = r.source, r.line_id
        if source == "adjustment":
            adjusted = [source_of[k] for k in json.loads(r.adjusts or "[]") if k in source_of]
            if not adjusted:
                adjusted = [(s, ln) for s, ln in (_origin_source(k) for k in
                                                  json.loads(r.adjusts or "[]")) if s]
            source, line = adjusted[0] if adjusted else ("time", None)
        if source == "expense":
            target: str | None = EXPENSES
        else:
            target = line if line in tm_lines else first_tm
        if target is None:
            continue
        out[target][date.fromisoformat(r.service_date)] += r.amount
    if carried is not None:
        _fold(out, carried, currency, tm_lines)
    return out


def _fold(out: dict[str, dict[date, Decimal]], carried: CarriedBillable, currency: str,
          tm_lines: Sequence[str]) -> None:
    """The carried sums added on their months' last days, and what else fell in the carried
    months moved to their last days."""
    first_tm = tm_lines[0] if tm_lines else None
    for by_day in out.values():
        for day in [d for d in by_day if d <= carried.through]:
            end = month_end(day)
            if end != day:
                by_day[end] += by_day.pop(day)
    for s in carried.sums:
        if s.currency != currency:
            continue
        target = EXPENSES if s.source == "expense" else (
            s.line_id if s.line_id in tm_lines else first_tm)
        if target is not None:
            out[target][month_end(date.fromisoformat(f"{s.period}-01"))] += s.amount


def _origin_source(key: str) -> tuple[str | None, str | None]:
    """The source of an item no longer counted (a credited part a write-off adjusted)."""
    for source in ("time", "expense"):
        if key.startswith(f"{source}:"):
            return source, None
    return None, None


def billable_actuals(conn: Connection, number: str, currency: str, tm_lines: Sequence[str],
                     ) -> list[Actual]:
    return as_actuals(billable_to_date(conn, number, currency, tm_lines))


def as_actuals(by_obligation: dict[str, dict[date, Decimal]]) -> list[Actual]:
    return [Actual(oid, ActualKind.BILLABLE, day, total)
            for oid, by_day in sorted(by_obligation.items())
            for day, total in sorted(by_day.items()) if total]


def billed_rows(conn: Connection, numbers: Sequence[str],
                after: Mapping[str, str] | None = None,
                ) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """The invoices and the credit notes of many contracts, by contract and number;
    ``after``: of the contracts it names, only those dated after its date (a recognition
    carry's last day, docs/adr/0022)."""
    after = after or {}
    groups: dict[str, list[str]] = defaultdict(list)
    for n in numbers:
        groups[after.get(n, "")].append(n)
    found: tuple[dict[str, list[Any]], dict[str, list[Any]]] = (defaultdict(list),
                                                                 defaultdict(list))
    for day, group in sorted(groups.items()):
        params = {"numbers": group, "after": day}
        for query, out in zip((_INVOICES, _CREDIT_NOTES) if not day else
                              (_INVOICES_AFTER, _CREDIT_NOTES_AFTER), found, strict=True):
            for r in conn.execute(query, params):
                out[r.contract_number].append(r)
    return found


_INVOICES = (select(invoices).where(numbers_in(invoices.c.contract_number))
             .order_by(invoices.c.contract_number, invoices.c.number))
_CREDIT_NOTES = (select(credit_notes).where(numbers_in(credit_notes.c.contract_number))
                 .order_by(credit_notes.c.contract_number, credit_notes.c.number))
_INVOICES_AFTER = _INVOICES.where(invoices.c.invoice_date > bindparam("after"))
_CREDIT_NOTES_AFTER = _CREDIT_NOTES.where(credit_notes.c.credit_date > bindparam("after"))


def billed_documents(conn: Connection, number: str) -> list[Invoice]:
    """Invoices and credit notes of the contract, net of tax (credit notes negative)."""
    invoiced, credited = billed_rows(conn, [number])
    return documents(invoiced[number], credited[number])


def documents(invoiced: Sequence[Any], credited: Sequence[Any]) -> list[Invoice]:
    """`billed_documents` of a contract's invoice and credit note rows, read."""
    docs = [Invoice(r.number, date.fromisoformat(r.invoice_date), r.subtotal,
                    due=date.fromisoformat(r.due_date)) for r in invoiced]
    docs += [Invoice(r.number, date.fromisoformat(r.credit_date), r.subtotal) for r in credited]
    return docs


def billed_net(conn: Connection, number: str, end: date) -> Decimal:
    """B: what the contract has billed through ``end``, net of tax: its invoices plus its
    credit notes, whose amounts are negative (a credit note reduces what was billed)."""
    invoiced, credited = billed_rows(conn, [number])
    return net_billed(invoiced[number], credited[number], end)


def net_billed(invoiced: Sequence[Any], credited: Sequence[Any], end: date) -> Decimal:
    """`billed_net` of a contract's invoice and credit note rows, read."""
    until = end.isoformat()
    return (sum((r.subtotal for r in invoiced if r.invoice_date <= until), Decimal(0))
            + sum((r.subtotal for r in credited if r.credit_date <= until), Decimal(0)))


def billed_through(conn: Connection, end: date) -> dict[str, Decimal]:
    """`billed_net` of every contract that billed through ``end``: two statements."""
    until = end.isoformat()
    found: tuple[dict[str, Decimal], dict[str, Decimal]] = (defaultdict(Decimal),
                                                            defaultdict(Decimal))
    for query, out in zip((select(invoices.c.contract_number, invoices.c.subtotal).where(
                               invoices.c.invoice_date <= until),
                           select(credit_notes.c.contract_number, credit_notes.c.subtotal)
                           .where(credit_notes.c.credit_date <= until)), found, strict=True):
        for r in conn.execute(query):
            out[r.contract_number] += r.subtotal
    invoiced, credited = found
    return {n: invoiced.get(n, Decimal(0)) + credited.get(n, Decimal(0))
            for n in {*invoiced, *credited}}


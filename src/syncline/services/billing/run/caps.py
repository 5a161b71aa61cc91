"""Step 4 of the run, **caps and drawdown**: contracts with not-to-exceed caps or a drawdown
retainer go item by item through the pure ``draw_down`` and ``apply_caps`` — splits written
back to the item table, holds in ``billing_holds``. What each cap has consumed before the
run is derived from the invoiced items (``billed_against``: net of write-offs and credit
notes); ``billing_caps.billed`` keeps the result after the run as a cache for readers, never
read for a decision."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, delete, select, update

from syncline.adapters.db.billing_tables import billing_caps, billing_holds
from syncline.adapters.db.tables import billable_items, contracts
from syncline.billing.caps import HeldItem, apply_caps, billed_against
from syncline.billing.items import BillableItem, ItemSource, ItemStatus
from syncline.billing.retainers import draw_down, draw_down_block, month_end, month_start
from syncline.services.billing.run.cycle import Run
from syncline.services.billing.run.items import OPEN, insert_items, item_from_row, open_items
from syncline.services.billing.run.terms import Contract

__all__ = ["invoiced_items", "item_by_item"]


def invoiced_items(conn: Connection, contract: str) -> list[BillableItem]:
    """The contract's invoiced time, expense and adjustment items: what caps consume."""
    return [item_from_row(r) for r in conn.execute(select(billable_items).where(
        (billable_items.c.contract_number == contract)
        & (billable_items.c.status == ItemStatus.INVOICED.value)
        & billable_items.c.source.in_([ItemSource.TIME.value, ItemSource.EXPENSE.value,
                                       ItemSource.ADJUSTMENT.value])))]


def _replace_items(conn: Connection, old: Sequence[BillableItem],
                   new: Sequence[BillableItem]) -> None:
    before = {i.key: i for i in old}
    after = {i.key: i for i in new}
    gone = [k for k in before if k not in after or after[k] != before[k]]
    for start in range(0, len(gone), 500):
        conn.execute(delete(billable_items).where(
            billable_items.c.key.in_(gone[start:start + 500])))
    insert_items(conn, [i for k, i in after.items() if k not in before or before[k] != i])


def item_by_item(run: Run, c: Contract) -> tuple[list[BillableItem], list[HeldItem]]:
    conn = run.conn
    items = [item_from_row(r) for r in conn.execute(  # an invoice dated the 1st bills to it
        select(billable_items).join(contracts,
                                    contracts.c.number == billable_items.c.contract_number)
        .where(open_items(c.entity_code, c.invoice_date(run.end))
               & (billable_items.c.contract_number == c.number))
        .order_by(billable_items.c.key))]
    candidates = list(items)
    if c.drawdown:
        terms = c.retainer
        time = [i for i in candidates if i.source is ItemSource.TIME
                and not i.rate_scope.startswith("retainer ")]
        candidates = [i for i in candidates if i not in time]
        if c.block:  # drawn across months: what earlier invoices drew is used
            used = sum(conn.execute(select(billable_items.c.quantity).where(
                (billable_items.c.contract_number == c.number)
                & (billable_items.c.rate_scope == "retainer drawdown")
                & billable_items.c.status.not_in(OPEN))).scalars(), Decimal(0))
            grants = [(c.start, c.included_hours or Decimal(0))] + [
                (t.effective, t.hours or Decimal(0)) for t in c.top_ups]
            candidates.extend(draw_down_block(grants, terms.overage_rate, time,
                                              hours_used_before=used).items)
            time = []
        by_month: dict[date, list[BillableItem]] = defaultdict(list)
        for i in time:
            by_month[month_start(i.service_date)].append(i)
        for month, month_items in sorted(by_month.items()):
            used = sum((r.quantity for r in conn.execute(
                select(billable_items.c.quantity, billable_items.c.service_date).where(
                    (billable_items.c.contract_number == c.number)
                    & (billable_items.c.rate_scope == "retainer drawdown")
                    & billable_items.c.status.not_in(OPEN)
                    & (billable_items.c.service_date >= month.isoformat())
                    & (billable_items.c.service_date <= month_end(month).isoformat())))),
                Decimal(0))
            candidates.extend(draw_down(terms, month_items, hours_used_before=used).items)
    held: tuple[HeldItem, ...] = ()
    billable = candidates
    if c.caps:
        caps = billed_against(c.caps, invoiced_items(conn, c.number))
        approved = set(conn.execute(select(billing_holds.c.item_key).where(
            (billing_holds.c.contract_number == c.number)
            & (billing_holds.c.status == "approved"))).scalars())
        capped = apply_caps(candidates, c.caps, billed_to_date=caps, approved=approved)
        billable, held = list(capped.billable), capped.held
        for cap_id, consumed in capped.consumed:
            conn.execute(update(billing_caps).where(billing_caps.c.cap_id == cap_id)
                         .values(billed=consumed.amount))  # a cache: see the module doc
        for h in held:
            row = {"cap_id": h.cap_id, "contract_number": c.number,
                   "amount": h.item.amount.amount, "currency": h.item.amount.currency,
                   "reason": h.reason, "held_in": run.period, "status": "held"}
            if conn.execute(select(billing_holds.c.item_key).where(
                    billing_holds.c.item_key == h.item.key)).first() is None:
                conn.execute(billing_holds.insert().values(item_key=h.item.key, **row))
            run.result.held.append(h.item.key)
            run.result.held_items.append({
                "item": h.item.key, "contract": c.number, "cap_id": h.cap_id,
                "amount": str(h.item.amount.amount), "currency": h.item.amount.currency,
                "reason": h.reason})
        on_hold = set(conn.execute(select(billing_holds.c.item_key).where(
            (billing_holds.c.contract_number == c.number)
            & billing_holds.c.status.in_(("held", "approved")))).scalars())
        billed_keys = [i.key for i in billable if i.key in on_hold]  # approved, or room again
        if billed_keys:
            conn.execute(update(billing_holds).where(billing_holds.c.item_key.in_(billed_keys))
                         .values(status="billed"))
    _replace_items(conn, items, [*billable, *(h.item for h in held)])
    return billable, list(held)

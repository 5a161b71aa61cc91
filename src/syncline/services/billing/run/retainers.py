"""Step 2 of the run, **generate**: retainer fees due in the cycle (advance — next month or
the month itself — or arrears, prorated, at the fee in force on each day, a billed month
whose fee an amendment changed trued up), prepaid blocks and their top-ups, from the
contract's retainer terms, and the time items of drawdown retainers and blocks.
Time, expense and milestone items were generated when their events were applied, each with
its rate (and FX) snapshot. Retainer item keys are natural: a fee is generated once."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from syncline.adapters.db.tables import (
    billable_items,
    contracts,
    milestones,
    projects,
    time_entries,
)
from syncline.billing.amendments import MilestoneState, price_change_items
from syncline.billing.items import ItemSource, time_item
from syncline.billing.retainers import block_items, retainer_fees
from syncline.domain.model import BillingType
from syncline.ledger.money import Money
from syncline.services.billing.run.cycle import Run
from syncline.services.billing.run.items import insert_items
from syncline.services.billing.run.terms import Contract

__all__ = ["drawdown_time", "price_changes_due", "retainer_fees_due"]


def retainer_fees_due(run: Run, terms: dict[str, Contract]) -> None:
    """Monthly fees due (``retainer_fees``: a fee changed by an amendment for a month already
    billed is billed the difference) and prepaid blocks and their top-ups (``block_items``)."""
    due = [c for c in terms.values() if c.retainer_fee is not None]
    if not due:
        return
    billed: dict[str, set[str]] = defaultdict(set)
    amounts: dict[str, dict[str, Money]] = defaultdict(dict)
    for r in run.conn.execute(select(billable_items.c.contract_number, billable_items.c.key,
                                     billable_items.c.amount, billable_items.c.currency)
                              .where((billable_items.c.source == ItemSource.RETAINER.value)
                                     & billable_items.c.contract_number.in_(
                                         [c.number for c in due]))):
        billed[r.contract_number].add(r.key)
        month = r.key.split("@")[0]
        before = amounts[r.contract_number].get(month, Money.zero(r.currency))
        amounts[r.contract_number][month] = before + Money(r.amount, r.currency)
    for c in due:
        if c.block:
            grants = [("", c.start, c.included_hours or Decimal(0),
                       Money(c.retainer_fee or 0, c.currency))]
            grants += [(t.amendment_id, t.effective, t.hours or Decimal(0),
                        Money(t.amount or 0, c.currency)) for t in c.top_ups]
            made = block_items(c.number, grants, run.end, billed=billed[c.number])
        else:
            made = retainer_fees(c.retainer, run.end, billed=billed[c.number],
                                 billed_amounts=amounts[c.number])
        run.result.retainer_items += insert_items(run.conn, made)


def price_changes_due(run: Run, terms: dict[str, Contract]) -> None:
    """What amendments change in fixed fees (``price_change_items``): a changed line's
    difference with its open milestones as they complete (else once on its date), an added
    fixed-fee line in full on its date."""
    due = {c.number: c for c in terms.values() if c.price_changes}
    if not due:
        return
    states: dict[str, list[MilestoneState]] = defaultdict(list)
    for m in run.conn.execute(
            select(milestones, contracts.c.number, contracts.c.billing_type)
            .join(contracts, contracts.c.id == milestones.c.contract_id)
            .where(contracts.c.number.in_(sorted(due))).order_by(milestones.c.milestone_id)):
        if m.billing_type == BillingType.FIXED_FEE.value:  # milestones bill fixed fees only
            states[m.number].append(MilestoneState(
                m.milestone_id, m.name, Money(m.amount, due[m.number].currency),
                date.fromisoformat(m.completed_on) if m.completed_on else None))
    known = set(run.conn.execute(select(billable_items.c.key).where(
        billable_items.c.contract_number.in_(sorted(due)))).scalars())
    for number, c in sorted(due.items()):
        insert_items(run.conn, price_change_items(number, c.currency, c.price_changes,
                                                  states[number], run.end, billed=known))


def drawdown_time(run: Run, terms: dict[str, Contract]) -> None:
    """Time on a drawdown retainer is billable (drawn down, overage at the retainer's rate):
    its items are generated here, priced at the overage rate before the drawdown."""
    drawdown = {c.number: c for c in terms.values() if c.drawdown}
    if not drawdown:
        return
    known = set(run.conn.execute(select(billable_items.c.key).where(
        billable_items.c.contract_number.in_(list(drawdown)))).scalars())
    known |= set(run.conn.execute(select(billable_items.c.origin).where(
        billable_items.c.contract_number.in_(list(drawdown))
        & billable_items.c.origin.is_not(None))).scalars())
    made = []
    for t in run.conn.execute(
            select(time_entries, contracts.c.number).join(
                projects, projects.c.code == time_entries.c.project_code)
            .join(contracts, contracts.c.id == projects.c.contract_id)
            .where(contracts.c.number.in_(list(drawdown))
                   & (time_entries.c.status == "approved") & time_entries.c.billable.is_(True)
                   & (time_entries.c.work_date <= run.end.isoformat()))
            .order_by(time_entries.c.time_entry_id)):
        c = drawdown[t.number]
        if f"time:{t.time_entry_id}" in known:
            continue
        rate = Money(c.overage_rate or 0, c.currency)
        made.append(time_item(t.time_entry_id, c.number, date.fromisoformat(t.work_date),
                              t.hours, t.role, rate, "retainer"))
    insert_items(run.conn, made)

"""Step 2 of the run, **generate**: retainer fees due in the cycle (advance / arrears,
prorated), from the contract's retainer terms, and the time items of drawdown retainers.
Time, expense and milestone items were generated when their events were applied, each with
its rate (and FX) snapshot. Retainer item keys are natural: a fee is generated once."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select

from syncline.adapters.db.tables import billable_items, contracts, projects, time_entries
from syncline.billing.items import ItemSource, time_item
from syncline.billing.retainers import RetainerTerms, retainer_fees
from syncline.ledger.money import Money
from syncline.services.billing.run.cycle import Run
from syncline.services.billing.run.items import insert_items
from syncline.services.billing.run.terms import Contract

__all__ = ["drawdown_time", "retainer_fees_due"]


def retainer_fees_due(run: Run, terms: dict[str, Contract]) -> None:
    due = [c for c in terms.values() if c.retainer_fee]
    if not due:
        return
    billed: dict[str, set[str]] = defaultdict(set)
    for r in run.conn.execute(select(billable_items.c.contract_number, billable_items.c.key)
                              .where((billable_items.c.source == ItemSource.RETAINER.value)
                                     & billable_items.c.contract_number.in_(
                                         [c.number for c in due]))):
        billed[r.contract_number].add(r.key)
    for c in due:
        assert c.retainer_fee is not None
        made = retainer_fees(
            RetainerTerms(c.number, Money(c.retainer_fee, c.currency), c.start, c.end,
                          c.timing), run.end, billed=billed[c.number])
        run.result.retainer_items += insert_items(run.conn, made)


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

"""Stage 2 of the run, **generate**: approved time (rate card + billing increment), expenses
(at cost / markup, FX), completed milestones and due retainer fees become items, unless an
item with the same natural key (or split from it) is already in the ledger."""

from __future__ import annotations

from collections.abc import Mapping

from syncline.billing.expenses import NotBillable, expense_item
from syncline.billing.fx import FxRateMissing
from syncline.billing.items import time_item
from syncline.billing.milestones import ScheduleInvalid, milestone_items
from syncline.billing.rates import RateNotFound, rate_problem, resolve_card_rate, round_quantity
from syncline.billing.retainers import retainer_fees
from syncline.billing.run.inputs import ContractTerms, RunInput
from syncline.billing.run.item_ledger import ItemLedger, billing_problem
from syncline.domain.errors import Problem
from syncline.domain.model import BillingType


def generate_items(inp: RunInput, terms: Mapping[str, ContractTerms], ledger: ItemLedger,
                   problems: list[Problem]) -> None:
    for t in sorted(inp.time, key=lambda t: t.time_entry_id):
        c = terms.get(t.contract_number)
        if c is None or ledger.known(f"time:{t.time_entry_id}"):
            continue
        objects = (("time_entry", t.time_entry_id), ("contract", c.contract_number))
        if c.project_closed_on is not None and t.work_date > c.project_closed_on:
            problems.append(billing_problem(
                "billing.time_on_closed_project",
                f"time entry {t.time_entry_id} on {t.work_date} is after project "
                f"{t.project_code} closed on {c.project_closed_on}",
                "Reopen the project in the PSA if the work is billable, or reject the time "
                "entry; then re-run the cycle.", *objects))
            continue
        drawdown = c.retainer is not None and c.retainer.included_hours is not None
        if c.billing_type is BillingType.FIXED_FEE or (c.retainer is not None and not drawdown):
            continue  # fixed fees and plain retainers: the time is cost only
        if drawdown and c.retainer is not None and c.retainer.overage_rate is not None:
            hours = t.hours  # drawn down by the hour, overage at the retainer's rate
            ledger.put(time_item(t.time_entry_id, c.contract_number, t.work_date, hours, t.role,
                                 c.retainer.overage_rate, "retainer", line_id=t.line_id,
                                 budget_id=t.budget_id))
            continue
        rate = resolve_card_rate(inp.rate_cards, role=t.role, on=t.work_date,
                                 currency=c.currency, contract_key=c.contract_number,
                                 customer_key=c.customer_key)
        if isinstance(rate, RateNotFound):
            problems.append(rate_problem(rate, *objects))
            continue
        hours = round_quantity(t.hours, rate.card.increment)
        ledger.put(time_item(t.time_entry_id, c.contract_number, t.work_date, hours, t.role,
                             rate.rate, rate.entry.scope.name.lower(), line_id=t.line_id,
                             budget_id=t.budget_id, rate_card=rate.card.label))
    for e in sorted(inp.expenses, key=lambda e: e.expense_id):
        c = terms.get(e.contract_number)
        if c is None or ledger.known(f"expense:{e.expense_id}"):
            continue
        made = expense_item(e, c.expense_terms, contract_currency=c.currency,
                            rates=inp.fx_rates)
        if isinstance(made, FxRateMissing):
            problems.append(made.problem(("expense", e.expense_id),
                                         ("contract", c.contract_number)))
        elif not isinstance(made, NotBillable):
            ledger.put(made)
    for c in terms.values():
        if c.milestones is not None:
            ms = milestone_items(c.milestones, dict(c.milestones_completed),
                                 billed=set(ledger.by_key))
            if isinstance(ms, ScheduleInvalid):
                problems.append(ms.problem())
            else:
                ledger.put(*(m for m in ms if not ledger.known(m.key)))
        if c.retainer is not None and c.retainer.monthly_fee.amount:
            ledger.put(*(r for r in retainer_fees(c.retainer, inp.period_end,
                                                  billed=set(ledger.by_key))))

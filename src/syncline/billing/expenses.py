"""Expense rebill: approved expenses billed at cost, with a markup, or not at all.

An expense in another currency than the contract's is converted at the FX snapshot for the
day it was incurred (recorded on the item); the markup applies to the converted amount and
the result is rounded half-up once. A missing rate is ``FxRateMissing``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from syncline.billing.fx import FxRateMissing, FxSnapshot, convert, lookup_rate
from syncline.billing.items import BillableItem, ItemSource
from syncline.ledger.money import Money


class ExpensePolicy(StrEnum):
    AT_COST = "at_cost"
    MARKUP = "markup"
    NOT_BILLABLE = "not_billable"


@dataclass(frozen=True, slots=True)
class ExpenseTerms:
    policy: ExpensePolicy = ExpensePolicy.AT_COST
    markup_percent: Decimal = Decimal(0)  # Decimal("10") for 10 %


@dataclass(frozen=True, slots=True)
class ApprovedExpense:
    expense_id: str
    contract_number: str
    incurred_on: date
    category: str
    description: str
    amount: Money  # as receipted, in the expense currency
    billable: bool = True
    line_id: str = ""
    budget_id: str = ""


@dataclass(frozen=True, slots=True)
class NotBillable:
    expense_id: str
    reason: str


def expense_item(
    expense: ApprovedExpense, terms: ExpenseTerms, *, contract_currency: str,
    rates: Iterable[FxSnapshot] = (),
) -> BillableItem | NotBillable | FxRateMissing:
    if terms.policy is ExpensePolicy.NOT_BILLABLE:
        return NotBillable(expense.expense_id, "the contract does not rebill expenses")
    if not expense.billable:
        return NotBillable(expense.expense_id, "the expense was approved as not billable")
    fx: FxSnapshot | None = None
    base = expense.amount.rounded()
    if expense.amount.currency != contract_currency:
        found = lookup_rate(rates, base=expense.amount.currency, quote=contract_currency,
                            on=expense.incurred_on)
        if isinstance(found, FxRateMissing):
            return found
        fx, base = found, convert(expense.amount, found)
    label = f"Expense {expense.incurred_on.isoformat()} {expense.category}: {expense.description}"
    if terms.policy is ExpensePolicy.MARKUP and terms.markup_percent:
        billed = (base * (1 + terms.markup_percent / 100)).rounded()
        label += f" (cost {base} + {terms.markup_percent.normalize():f} %)"
    else:
        billed = base
    if fx is not None:
        label += f" [{expense.amount} at {fx.rate}]"
    return BillableItem(
        key=f"expense:{expense.expense_id}", contract_number=expense.contract_number,
        source=ItemSource.EXPENSE, service_date=expense.incurred_on, description=label,
        quantity=Decimal(1), unit_price=billed, amount=billed, rate_scope=terms.policy.value,
        line_id=expense.line_id, budget_id=expense.budget_id, fx=fx,
    )

"""Expense rebill: approved expenses billed at cost, with a markup, or not at all.

An expense in another currency than the contract's is converted at the FX snapshot for the
day it was incurred (recorded on the item); the markup applies to the converted amount and
the result is rounded half-up once. A missing rate is ``FxRateMissing``.

An expense that is not rebilled (approved as not billable, or on a contract whose policy
is ``not_billable``) is still a cost of the project: ``expense_cost_posting`` journals it by
rule ``billing.expense_cost`` (Dr project expenses / Cr accrued payroll — owed to whoever
paid it — by default), in the entity's functional currency.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from syncline.billing.fx import FxRateMissing, FxSnapshot, convert, lookup_rate
from syncline.billing.items import BillableItem, ItemSource
from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.journal import JournalEntry
from syncline.ledger.money import Money
from syncline.ledger.posting import DEFAULT_RULES, EXPENSE_COST, PostingError, PostingRules, post


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


NOT_REBILLED = "the contract does not rebill expenses"
NOT_BILLABLE_EXPENSE = "the expense was approved as not billable"


def billed_expense(base: Money, terms: ExpenseTerms, incurred_on: str, category: str,
                   description: str) -> tuple[Money, str]:
    """What an expense of ``base`` (in the contract's currency, rounded) bills under
    ``terms`` — the cost, or the cost marked up and rounded — and its item's description."""
    label = f"Expense {incurred_on} {category}: {description}"
    if terms.policy is ExpensePolicy.MARKUP and terms.markup_percent:
        billed = (base * (1 + terms.markup_percent / 100)).rounded()
        return billed, label + f" (cost {base} + {terms.markup_percent.normalize():f} %)"
    return base, label


def expense_item(
    expense: ApprovedExpense, terms: ExpenseTerms, *, contract_currency: str,
    rates: Iterable[FxSnapshot] = (),
) -> BillableItem | NotBillable | FxRateMissing:
    if terms.policy is ExpensePolicy.NOT_BILLABLE:
        return NotBillable(expense.expense_id, NOT_REBILLED)
    if not expense.billable:
        return NotBillable(expense.expense_id, NOT_BILLABLE_EXPENSE)
    fx: FxSnapshot | None = None
    base = expense.amount.rounded()
    if expense.amount.currency != contract_currency:
        found = lookup_rate(rates, base=expense.amount.currency, quote=contract_currency,
                            on=expense.incurred_on)
        if isinstance(found, FxRateMissing):
            return found
        fx, base = found, convert(expense.amount, found)
    billed, label = billed_expense(base, terms, expense.incurred_on.isoformat(),
                                   expense.category, expense.description)
    if fx is not None:
        label += f" [{expense.amount} at {fx.rate}]"
    return BillableItem(
        key=f"expense:{expense.expense_id}", contract_number=expense.contract_number,
        source=ItemSource.EXPENSE, service_date=expense.incurred_on, description=label,
        quantity=Decimal(1), unit_price=billed, amount=billed, rate_scope=terms.policy.value,
        line_id=expense.line_id, budget_id=expense.budget_id, fx=fx,
    )


def expense_cost_posting(entity_code: str, posting_date: date, expense: ApprovedExpense,
                         cost: Money, chart: ChartOfAccounts, *,
                         rules: PostingRules = DEFAULT_RULES, reversal: bool = False,
                         ) -> JournalEntry | PostingError:
    """The cost of an expense not rebilled (``cost``: its amount in the entity's functional
    currency), one entry per expense (source ``expense_cost`` / ``<expense id>``), by rule
    ``billing.expense_cost``; ``reversal`` takes it back (``<expense id>:reversal``, the
    amount negative) when the expense is rejected after its cost was posted."""
    source = f"{expense.expense_id}:reversal" if reversal else expense.expense_id
    return post(rules.rule(EXPENSE_COST, entity_code), {"cost": -cost if reversal else cost},
                chart=chart, entity_id=entity_code, posting_date=posting_date,
                source_id=source,
                params={"expense": expense.expense_id, "contract": expense.contract_number,
                        "category": expense.category, "period": f"{posting_date:%Y-%m}",
                        "currency": cost.currency},
                reverses=expense.expense_id if reversal else None)

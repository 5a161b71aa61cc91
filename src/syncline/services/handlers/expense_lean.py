"""The lean path of a set of approved expenses: the common case decided without its
reference's objects (the approved expense, the billable item, the decision).

The common case: an approved expense not recorded yet, of a provisioned project that waits
for no activation, receipted in the contract's currency (no FX conversion) as text. Anything
else is left to `expenses.decide_expense`, the reference; both give the same outcome, expense
row and item row for the common case (tests/property/test_expense_lean.py). The amounts are
worked out as the reference works them out (`Money`), so a policy's rounding stays its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from syncline.billing.expenses import (
    NOT_BILLABLE_EXPENSE,
    NOT_REBILLED,
    ExpensePolicy,
    ExpenseTerms,
    billed_expense,
)
from syncline.billing.items import ItemSource, ItemStatus
from syncline.ledger.money import Money, is_known_currency
from syncline.services.handlers.common import Days
from syncline.services.messaging.outcomes import Applied
from syncline.services.messaging.unit_of_work import Batch

__all__ = ["LeanExpense"]

_SOURCE, _GENERATED = ItemSource.EXPENSE.value, ItemStatus.GENERATED.value
_ONE = Decimal(1)
Rows = tuple[Applied, dict[str, Any], dict[str, Any] | None]


class LeanExpense:
    """One set's lean decisions."""

    __slots__ = ("_dates", "b")

    def __init__(self, b: Batch) -> None:
        self.b = b
        self._dates = Days()

    def decide(self, data: Mapping[str, Any], terms_of: Callable[[str], ExpenseTerms]
               ) -> Rows | None:
        """The outcome, expense row and item row (None: not billed) of an approved expense
        not recorded yet, in the common case; None for every other case."""
        if data.get("approval_status", "approved") != "approved":
            return None
        b = self.b
        code = str(data["project_code"])
        found = b.project(code)
        if found is None:
            return None
        proj = found[0]
        if b.ref.activation_required and proj.activated_at is None:
            return None
        money = data["amount"]
        currency, raw = money["currency"], money["amount"]
        if currency != proj.currency or type(raw) is not str or not is_known_currency(currency):
            return None
        try:
            value = Decimal(raw)
        except ArithmeticError:
            return None
        if not value.is_finite():
            return None
        raw_date = data["incurred_on"]
        day = self._dates[raw_date]
        incurred = day[1]
        expense_id = str(data["expense_id"])
        category = str(data["category"])
        description = str(data.get("description") or data["category"])
        billable = bool(data.get("billable", True))
        terms = terms_of(proj.number)
        row = {"expense_id": expense_id, "worker_id": str(data["worker_id"]),
               "project_code": code, "contract_number": proj.number,
               "incurred_on": incurred, "category": category, "description": description,
               "amount": value, "currency": currency, "billable": billable,
               "status": "approved", "inbox_id": b.inbox_id}
        provides = (f"expense:{expense_id}",)
        if terms.policy is ExpensePolicy.NOT_BILLABLE:
            return Applied(note=NOT_REBILLED, provides=provides), \
                row, None
        if not billable:
            return Applied(note=NOT_BILLABLE_EXPENSE, provides=provides), row, None
        billed, label = billed_expense(Money(value, currency).rounded(), terms, incurred,
                                       category, description)
        return Applied(provides=provides), row, {
            "key": f"expense:{expense_id}", "contract_number": proj.number,
            "source": _SOURCE, "service_date": incurred, "description": label,
            "quantity": _ONE, "unit_price": billed.amount, "currency": billed.currency,
            "amount": billed.amount, "rate_scope": terms.policy.value, "status": _GENERATED,
            "invoice_number": None, "origin": None, "split_of": None, "line_id": None,
            "budget_id": None, "role": None, "deferred": False, "adjusts": None,
            "rate_card": None, "fx_base": None, "fx_rate": None, "fx_source": None,
            "fx_as_of": None, "credit_note_number": None}

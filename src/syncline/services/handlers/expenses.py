"""expense.approved and expense.rejected: rebillable expenses at cost or markup, in the contract's
currency. A receipt in a currency with no FX rate to the contract's on the day incurred waits
(parked on ``fx:<BASE>/<QUOTE>:<date>``) until treasury publishes one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Connection, select, update

from syncline.adapters.db.billing_tables import (
    contract_billing_terms,
    expenses,
)
from syncline.billing.expenses import (
    ApprovedExpense,
    ExpensePolicy,
    ExpenseTerms,
    NotBillable,
    expense_item,
)
from syncline.billing.fx import FxRateMissing
from syncline.domain.errors import BusinessDomain, Missing, Problem
from syncline.ledger.money import Money, is_known_currency
from syncline.services.billing.fx import load_fx_rates
from syncline.services.billing.reversal import reverse_origin
from syncline.services.messaging.outcomes import Applied, Failed, Outcome, Parked
from syncline.services.messaging.unit_of_work import Batch


def _expense_terms(conn: Connection, contract_number: str) -> ExpenseTerms:
    t = conn.execute(select(contract_billing_terms).where(
        contract_billing_terms.c.contract_number == contract_number)).first()
    if t is None:
        return ExpenseTerms()
    return ExpenseTerms(ExpensePolicy(t.expense_policy), t.markup_percent)


def record_expense(b: Batch, data: Mapping[str, Any]) -> Outcome:
    expense_id = str(data["expense_id"])
    objects = (("expense", expense_id), ("project", str(data["project_code"])))
    if b.conn.execute(select(expenses.c.expense_id).where(
            expenses.c.expense_id == expense_id)).first():
        return Applied(note="expense already recorded (idempotent)")
    if data.get("approval_status", "approved") != "approved":
        return Failed((Problem(
            "expense.not_approved", BusinessDomain.PMO,
            f"expense {expense_id} has approval status {data['approval_status']!r}; only "
            "approved expenses are billed", "Have the project manager approve (or reject) the "
            "expense report in the PSA.", "data.approval_status", objects=objects),))
    found = b.project(str(data["project_code"]))
    if found is None:
        return Parked(Missing(f"project:{data['project_code']}",
                              f"project {data['project_code']} is not provisioned yet"))
    proj, _ = found
    money = data["amount"]
    if not is_known_currency(money["currency"]):
        return Failed((Problem(
            "expense.unknown_currency", BusinessDomain.BILLING,
            f"expense {expense_id} is in {money['currency']!r}, not an ISO 4217 currency",
            "Correct the receipt currency in the PSA expense report and re-approve.",
            "data.amount.currency", objects=objects),))
    amount = Money.of(money["amount"], money["currency"])
    incurred = date.fromisoformat(data["incurred_on"])
    expense = ApprovedExpense(
        expense_id=expense_id, contract_number=proj.number, incurred_on=incurred,
        category=str(data["category"]), description=str(data.get("description") or
                                                         data["category"]),
        amount=amount, billable=bool(data.get("billable", True)))
    made = expense_item(expense, _expense_terms(b.conn, proj.number),
                        contract_currency=proj.currency,
                        rates=load_fx_rates(b.conn))
    if isinstance(made, FxRateMissing):  # waits for treasury's rate, released when it comes
        return Parked(Missing(made.key, f"{made.message}; publish it (fx.rates_published) "
                              f"and expense {expense_id} is priced on its own"))
    b.conn.execute(expenses.insert().values(
        expense_id=expense_id, worker_id=str(data["worker_id"]),
        project_code=str(data["project_code"]), contract_number=proj.number,
        incurred_on=incurred.isoformat(), category=expense.category,
        description=expense.description, amount=amount.amount, currency=amount.currency,
        billable=expense.billable, status="approved", inbox_id=b.inbox_id))
    if isinstance(made, NotBillable):
        return Applied(note=made.reason, provides=(f"expense:{expense_id}",))
    from syncline.services.billing.run.items import insert_items

    insert_items(b.conn, [made])
    return Applied(provides=(f"expense:{expense_id}",))


def reverse_expense(b: Batch, data: Mapping[str, Any]) -> Outcome:
    expense_id = str(data["expense_id"])
    row = b.conn.execute(select(expenses.c.status).where(
        expenses.c.expense_id == expense_id)).first()
    if row is None:
        return Parked(Missing(f"expense:{expense_id}",
                              f"expense {expense_id} has not been approved here yet"))
    if row.status == "rejected":
        return Applied(note="already rejected")
    b.conn.execute(update(expenses).where(expenses.c.expense_id == expense_id)
                   .values(status="rejected"))
    reason = f"expense {expense_id} rejected: {data.get('reason') or 'rejected'}"
    invoiced = reverse_origin(b.conn, f"expense:{expense_id}", reason, now=b.now,
                              inbox_id=b.inbox_id)
    return Applied(note=f"credit requested on {', '.join(invoiced)}" if invoiced else "")

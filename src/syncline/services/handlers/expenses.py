"""expense.approved and expense.rejected: rebillable expenses at cost or markup, in the contract's
currency. A receipt in a currency with no FX rate to the contract's on the day incurred waits
(parked on ``fx:<BASE>/<QUOTE>:<date>``) until treasury publishes one.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, select

from syncline.adapters.db.billing_tables import (
    contract_billing_terms,
    expenses,
)
from syncline.adapters.db.tables import billable_items
from syncline.billing.expenses import (
    ApprovedExpense,
    ExpensePolicy,
    ExpenseTerms,
    NotBillable,
    expense_item,
)
from syncline.billing.fx import FxRateMissing, FxSnapshot
from syncline.billing.items import BillableItem
from syncline.domain.errors import BusinessDomain, Missing, Problem
from syncline.ledger.money import Money, is_known_currency
from syncline.services.billing.fx import load_fx_rates
from syncline.services.billing.reversal import reverse_origin
from syncline.services.handlers.common import awaiting_activation
from syncline.services.handlers.expense_lean import LeanExpense
from syncline.services.messaging.bulk import driver, insert_rows, select_in
from syncline.services.messaging.outcomes import Applied, Failed, Outcome, Parked
from syncline.services.messaging.unit_of_work import Batch


def _expense_terms(conn: Connection, contract_number: str) -> ExpenseTerms:
    t = conn.execute(_TERMS, {"n": contract_number}).first()
    if t is None:
        return ExpenseTerms()
    return ExpenseTerms(ExpensePolicy(t.expense_policy), t.markup_percent)


_TERMS = select(contract_billing_terms.c.expense_policy, contract_billing_terms.c.markup_percent
                ).where(contract_billing_terms.c.contract_number == bindparam("n"))
_TERMS_IN = select(contract_billing_terms.c.contract_number,
                   contract_billing_terms.c.expense_policy,
                   contract_billing_terms.c.markup_percent).where(
    contract_billing_terms.c.contract_number.in_(bindparam("ns", expanding=True)))
_RECORDED = select(expenses.c.expense_id).where(expenses.c.expense_id == bindparam("id"))
_RECORDED_SQL = f"SELECT expense_id FROM {expenses.name} WHERE expense_id IN ({{}})"
_STATUS = "SELECT status FROM expenses WHERE expense_id = ?"  # (bulk.driver)
_REJECTED = "UPDATE expenses SET status = 'rejected' WHERE expense_id = ?"  # (bulk.driver)


@dataclass(frozen=True, slots=True)
class ExpenseDecision:
    outcome: Outcome
    row: dict[str, Any] | None = None
    item: BillableItem | None = None


def decide_expense(b: Batch, data: Mapping[str, Any], recorded: bool,
                   terms: Callable[[str], ExpenseTerms],
                   rates: Callable[[], tuple[FxSnapshot, ...]]) -> ExpenseDecision:
    """What an approved expense comes to; writes nothing (the caller does, one or many)."""
    expense_id = str(data["expense_id"])
    objects = (("expense", expense_id), ("project", str(data["project_code"])))
    if recorded:
        return ExpenseDecision(Applied(note="expense already recorded (idempotent)"))
    if data.get("approval_status", "approved") != "approved":
        return ExpenseDecision(Failed((Problem(
            "expense.not_approved", BusinessDomain.PMO,
            f"expense {expense_id} has approval status {data['approval_status']!r}; only "
            "approved expenses are billed", "Have the project manager approve (or reject) the "
            "expense report in the PSA.", "data.approval_status", objects=objects),)))
    found = b.project(str(data["project_code"]))
    if found is None:
        return ExpenseDecision(Parked(Missing(
            f"project:{data['project_code']}",
            f"project {data['project_code']} is not provisioned yet")))
    proj, _ = found
    waiting = awaiting_activation(b, proj, f"expense {expense_id}")
    if waiting is not None:
        return ExpenseDecision(Parked(waiting))
    money = data["amount"]
    if not is_known_currency(money["currency"]):
        return ExpenseDecision(Failed((Problem(
            "expense.unknown_currency", BusinessDomain.BILLING,
            f"expense {expense_id} is in {money['currency']!r}, not an ISO 4217 currency",
            "Correct the receipt currency in the PSA expense report and re-approve.",
            "data.amount.currency", objects=objects),)))
    amount = Money.of(money["amount"], money["currency"])
    incurred = date.fromisoformat(data["incurred_on"])
    expense = ApprovedExpense(
        expense_id=expense_id, contract_number=proj.number, incurred_on=incurred,
        category=str(data["category"]), description=str(data.get("description") or
                                                         data["category"]),
        amount=amount, billable=bool(data.get("billable", True)))
    made = expense_item(expense, terms(proj.number), contract_currency=proj.currency,
                        rates=rates())
    if isinstance(made, FxRateMissing):  # waits for treasury's rate, released when it comes
        return ExpenseDecision(Parked(Missing(
            made.key, f"{made.message}; publish it (fx.rates_published) "
            f"and expense {expense_id} is priced on its own")))
    row = {"expense_id": expense_id, "worker_id": str(data["worker_id"]),
           "project_code": str(data["project_code"]), "contract_number": proj.number,
           "incurred_on": incurred.isoformat(), "category": expense.category,
           "description": expense.description, "amount": amount.amount,
           "currency": amount.currency, "billable": expense.billable, "status": "approved",
           "inbox_id": b.inbox_id}
    if isinstance(made, NotBillable):
        return ExpenseDecision(Applied(note=made.reason, provides=(f"expense:{expense_id}",)),
                               row)
    return ExpenseDecision(Applied(provides=(f"expense:{expense_id}",)), row, made)


def record_expense(b: Batch, data: Mapping[str, Any]) -> Outcome:
    recorded = b.conn.execute(_RECORDED, {"id": str(data["expense_id"])}).first() is not None
    decision = decide_expense(b, data, recorded, lambda n: _expense_terms(b.conn, n),
                              lambda: load_fx_rates(b.conn))
    if decision.row is not None:
        insert_rows(b.conn, expenses, [decision.row])
    if decision.item is not None:
        from syncline.services.billing.run.items import insert_items

        insert_items(b.conn, [decision.item])
    return decision.outcome


def record_expense_set(b: Batch, messages: list[tuple[str, Mapping[str, Any]]]
                       ) -> list[Outcome]:
    """Approved expenses as a set: one look-up of recorded ids, one of the expense terms of
    the set's contracts, the FX rates read once a batch (`batch_fx_rates`), then bulk
    inserts.

    Same decisions as `record_expense`, message by message, in order (a repeated expense id
    is idempotent within the set as across sets; nothing in a set changes terms or rates)."""
    ids = sorted({str(d["expense_id"]) for _, d in messages})
    recorded = {r[0] for r in select_in(b.conn, _RECORDED_SQL, ids)}
    codes = {str(d["project_code"]) for _, d in messages}
    b.preload_projects(codes)
    numbers = sorted({found[0].number for code in codes if (found := b.project(code))})
    terms = {number: ExpenseTerms() for number in numbers}  # (a contract with no terms)
    for start in range(0, len(numbers), 500):
        for t in b.conn.execute(_TERMS_IN, {"ns": numbers[start:start + 500]}):
            terms[t.contract_number] = ExpenseTerms(ExpensePolicy(t.expense_policy),
                                                    t.markup_percent)

    def terms_of(number: str) -> ExpenseTerms:
        if number not in terms:
            terms[number] = _expense_terms(b.conn, number)
        return terms[number]

    def rates() -> tuple[FxSnapshot, ...]:
        return batch_fx_rates(b)

    from syncline.services.billing.run.items import item_row

    outcomes: list[Outcome] = []
    rows: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    lean = LeanExpense(b)  # the common case; decide_expense, the reference, decides the rest
    for inbox_id, data in messages:
        b.inbox_id = inbox_id
        seen = str(data["expense_id"]) in recorded
        if not seen and (fast := lean.decide(data, terms_of)) is not None:
            outcome, row, item = fast
            rows.append(row)
            recorded.add(row["expense_id"])
            if item is not None:
                items.append(item)
            outcomes.append(outcome)
            continue
        decision = decide_expense(b, data, seen, terms_of, rates)
        if decision.row is not None:
            rows.append(decision.row)
            recorded.add(decision.row["expense_id"])
        if decision.item is not None:
            items.append(item_row(decision.item))
        outcomes.append(decision.outcome)
    insert_rows(b.conn, expenses, rows)
    insert_rows(b.conn, billable_items, items)
    return outcomes


# A batch's FX rates, read once a batch: by its id, with a reference to the batch (an id is
# not reused while its batch lives) that drops the entry when the batch goes. Rates change in
# a batch only by `fx_rates.publish_fx_rates`, which forgets them first (`forget_fx_rates`).
_FX: dict[int, tuple[weakref.ref[Batch], tuple[FxSnapshot, ...]]] = {}


def batch_fx_rates(b: Batch) -> tuple[FxSnapshot, ...]:
    """`load_fx_rates` on the batch's connection, read once a batch."""
    key = id(b)
    held = _FX.get(key)
    if held is not None and held[0]() is b:
        return held[1]
    rates = load_fx_rates(b.conn)
    _FX[key] = (weakref.ref(b, lambda _: _FX.pop(key, None)), rates)
    return rates


def forget_fx_rates(b: Batch) -> None:
    """The batch's FX rates are about to change: read them again when next asked."""
    _FX.pop(id(b), None)


def reverse_expense(b: Batch, data: Mapping[str, Any]) -> Outcome:
    expense_id = str(data["expense_id"])
    row = driver(b.conn, _STATUS, (expense_id,)).first()
    if row is None:
        return Parked(Missing(f"expense:{expense_id}",
                              f"expense {expense_id} has not been approved here yet"))
    if row.status == "rejected":
        return Applied(note="already rejected")
    driver(b.conn, _REJECTED, (expense_id,))
    reason = f"expense {expense_id} rejected: {data.get('reason') or 'rejected'}"
    invoiced = reverse_origin(b.conn, f"expense:{expense_id}", reason, now=b.now,
                              inbox_id=b.inbox_id)
    return Applied(note=f"credit requested on {', '.join(invoiced)}" if invoiced else "")

"""Billing flows: credit notes for time rejected after invoicing, expenses, billing terms.

`HANDLERS` here replaces the core handler of the same type (see `handlers._all_handlers`):

- ``expense.approved`` — records the expense and, by the contract's expense policy (at cost,
  with markup, not billable), its billable item with the FX snapshot of the day incurred; a
  currency without an FX rate is a billing exception with remediation;
- ``expense.rejected`` — reverses an expense (a credit request when already invoiced);
- ``deal.closed_won`` — the core flow, plus the deal's optional ``billing_terms`` (expense
  policy, retainer timing and drawdown, not-to-exceed caps).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, update

from syncline.adapters.db.billing_tables import (
    billing_caps,
    contract_billing_terms,
    expenses,
    fx_rates,
)
from syncline.adapters.db.tables import contracts
from syncline.billing.expenses import (
    ApprovedExpense,
    ExpensePolicy,
    ExpenseTerms,
    NotBillable,
    expense_item,
)
from syncline.billing.fx import FxRateMissing, FxSnapshot
from syncline.domain.errors import BusinessDomain, Missing, Problem
from syncline.ledger.money import Money, is_known_currency
from syncline.services.billing_reversal import reverse_origin
from syncline.services.outcomes import Applied, Failed, Outcome, Parked
from syncline.services.unit_of_work import Batch, Handler

# --- expenses --------------------------------------------------------------------------------

def _fx(conn: Connection) -> tuple[FxSnapshot, ...]:
    return tuple(FxSnapshot(r.base, r.quote, r.rate, r.source, date.fromisoformat(r.as_of))
                 for r in conn.execute(select(fx_rates)))


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
                        contract_currency=proj.currency, rates=_fx(b.conn))
    if isinstance(made, FxRateMissing):
        return Failed((made.problem(("expense", expense_id), ("contract", proj.number)),))
    b.conn.execute(expenses.insert().values(
        expense_id=expense_id, worker_id=str(data["worker_id"]),
        project_code=str(data["project_code"]), contract_number=proj.number,
        incurred_on=incurred.isoformat(), category=expense.category,
        description=expense.description, amount=amount.amount, currency=amount.currency,
        billable=expense.billable, status="approved", inbox_id=b.inbox_id))
    if isinstance(made, NotBillable):
        return Applied(note=made.reason, provides=(f"expense:{expense_id}",))
    from syncline.services.billing_run import insert_items

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


# --- billing terms on the deal ---------------------------------------------------------------

def parse_terms(number: str, currency: str, terms: Mapping[str, Any]
                ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The deal's ``billing_terms`` as rows; ValueError / KeyError when they are invalid."""
    expense = terms.get("expenses") or {}
    retainer = terms.get("retainer") or {}
    timing = str(retainer.get("timing", "arrears"))
    if timing not in ("advance", "arrears"):
        raise ValueError(f"retainer timing {timing!r} is not advance or arrears")
    row = {
        "contract_number": number,
        "expense_policy": ExpensePolicy(expense.get("policy", "at_cost")).value,
        "markup_percent": Decimal(str(expense.get("markup_percent", "0"))),
        "retainer_timing": timing,
        "included_hours": Decimal(str(retainer["included_hours"]))
        if retainer.get("included_hours") is not None else None,
        "overage_rate": Decimal(str(retainer["overage_rate"]))
        if retainer.get("overage_rate") is not None else None}
    caps = []
    for i, cap in enumerate(terms.get("caps") or (), 1):
        scope, kind = str(cap.get("scope", "contract")), str(cap.get("kind", "hard"))
        if scope not in ("contract", "budget", "line") or kind not in ("soft", "hard"):
            raise ValueError(f"cap {i}: scope {scope!r} / kind {kind!r} unknown")
        caps.append({
            "cap_id": str(cap.get("cap_id") or f"NTE-{number}-{i}"), "contract_number": number,
            "scope": scope, "scope_key": str(cap.get("scope_key") or number),
            "limit_amount": Decimal(str(cap["limit"])), "currency": currency, "kind": kind,
            "tolerance": Decimal(str(cap.get("tolerance", "0"))), "billed": Decimal(0)})
    return row, caps


def open_contract_with_terms(b: Batch, data: Mapping[str, Any]) -> Outcome:
    from syncline.services.handlers import open_contract

    terms = data.get("billing_terms")
    if not isinstance(terms, Mapping):
        return open_contract(b, data)
    number = str(data["contract"]["number"])
    try:
        row, caps = parse_terms(number, str(data["currency"]), terms)
    except (ValueError, KeyError, ArithmeticError) as bad:
        return Failed((Problem(
            "deal.billing_terms_invalid", BusinessDomain.FINANCE,
            f"deal {data['deal_id']}: billing terms are invalid ({bad})",
            "Correct the billing terms (expense policy, retainer timing, caps) in CPQ and "
            "replay the deal.", "data.billing_terms", objects=(("deal", str(data["deal_id"])),)),))
    outcome = open_contract(b, data)
    if not isinstance(outcome, Applied) or b.conn.execute(
            select(contract_billing_terms.c.contract_number).where(
                contract_billing_terms.c.contract_number == number)).first():
        return outcome
    head = b.conn.execute(select(contracts.c.deal_id).where(contracts.c.number == number)).first()
    if head is None or head.deal_id != str(data["deal_id"]):
        return outcome
    b.conn.execute(contract_billing_terms.insert().values(**row))
    if caps:
        b.conn.execute(billing_caps.insert(), caps)
    return outcome


HANDLERS: dict[str, Handler] = {
    "deal.closed_won": open_contract_with_terms,
    "expense.approved": record_expense,
    "expense.rejected": reverse_expense,
}

"""Plans rendered as v1 events: one function per event type, each returning a `Stamped`."""

from __future__ import annotations

from typing import Any

from syncline.simulator.envelope import (
    CRM,
    ERP,
    HRIS,
    PSA,
    Stamped,
    amount,
    envelope,
    rfc3339,
)
from syncline.simulator.expenses import Expense, ExpenseRejection, billing_terms, expense_data
from syncline.simulator.firm import Deal, Raise, Termination, Worker
from syncline.simulator.pricing import INCREMENT, CardVersion, FxPublication, ProjectClose
from syncline.simulator.timesheets import Acceptance, Rejection, TimeEntry


def deal_data(deal: Deal) -> dict[str, Any]:
    c = deal.customer
    line: dict[str, Any] = {
        "line_id": f"{deal.contract_number}-L1",
        "kind": deal.billing_type,
        "description": {
            "time_and_materials": "Professional services, time and materials",
            "fixed_fee": f"{deal.project_name}, fixed fee",
            "retainer": f"{deal.project_name}, monthly retainer",
        }[deal.billing_type],
    }
    if deal.amount is not None:
        line["amount"] = amount(deal.amount)
    if deal.estimated_hours is not None:
        line["estimated_hours"] = amount(deal.estimated_hours)
    data: dict[str, Any] = {
        "deal_id": deal.deal_id,
        "customer": {"external_id": c.external_id, "name": c.name, "country": c.country,
                     "billing_email": c.billing_email},
        "legal_entity": c.entity,
        "tax_profile": c.tax_profile,
        "currency": deal.currency,
        "contract": {
            "number": deal.contract_number,
            "start_date": deal.start.isoformat(),
            "end_date": deal.end.isoformat(),
            "billing_type": deal.billing_type,
            "payment_terms_days": deal.payment_terms_days,
        },
        "lines": [line],
        "project": {"code": deal.project_code, "name": deal.project_name,
                    "template": deal.template},
        "closed_at": rfc3339(deal.closed_at),
    }
    if deal.rates:
        data["rates"] = [{"role": role, "rate": amount(rate)} for role, rate in deal.rates]
    data["billing_terms"] = billing_terms(deal)
    if deal.milestones:
        data["milestones"] = [
            {"milestone_id": m.milestone_id, "name": m.name, "amount": amount(m.amount),
             "due_date": m.due.isoformat()}
            for m in deal.milestones
        ]
    return data


def deal_closed(run: str, deal: Deal, data: dict[str, Any] | None = None) -> Stamped:
    return envelope(run, source=CRM, etype="deal.closed_won", subject=f"deal/{deal.deal_id}",
                    sequence=1, at=deal.closed_at, correlation=deal.deal_id,
                    data=deal_data(deal) if data is None else data)


def _worker_data(worker: Worker) -> dict[str, Any]:
    return {
        "worker_id": worker.worker_id,
        "name": worker.name,
        "email": worker.email,
        "role": worker.role,
        "legal_entity": worker.entity,
        "cost_rate": {"amount": amount(worker.cost_rate), "currency": worker.currency},
        "status": "active",
        "hire_date": worker.hire_date.isoformat(),
        "effective_date": worker.hire_date.isoformat(),
    }


def worker_upserted(run: str, worker: Worker) -> Stamped:
    return envelope(run, source=HRIS, etype="worker.upserted",
                    subject=f"worker/{worker.worker_id}", sequence=1, at=worker.onboarded_at,
                    correlation=worker.worker_id, data=_worker_data(worker))


def worker_raised(run: str, worker: Worker, change: Raise) -> Stamped:
    data = _worker_data(worker)
    data["cost_rate"] = {"amount": amount(change.cost_rate), "currency": worker.currency}
    data["effective_date"] = change.effective.isoformat()
    return envelope(run, source=HRIS, etype="worker.upserted",
                    subject=f"worker/{worker.worker_id}", sequence=2, at=change.announced_at,
                    correlation=worker.worker_id, data=data)


def worker_terminated(run: str, termination: Termination, sequence: int) -> Stamped:
    wid = termination.worker_id
    return envelope(run, source=HRIS, etype="worker.terminated", subject=f"worker/{wid}",
                    sequence=sequence, at=termination.announced_at, correlation=wid,
                    data={"worker_id": wid,
                          "termination_date": termination.last_day.isoformat(),
                          "reason": termination.reason})


def time_data(entry: TimeEntry, status: str = "approved") -> dict[str, Any]:
    data: dict[str, Any] = {
        "time_entry_id": entry.entry_id,
        "worker_id": entry.worker.worker_id,
        "project_code": entry.deal.project_code,
        "task_code": entry.task_code,
        "work_date": entry.work_date.isoformat(),
        "hours": amount(entry.hours),
        "approval_status": status,
        "billable": entry.billable,
        "role": entry.worker.role,
    }
    if status == "approved":
        data["approved_by"] = entry.deal.approver
        data["approved_at"] = rfc3339(entry.approved_at)
    return data


def time_approved(run: str, entry: TimeEntry, data: dict[str, Any] | None = None) -> Stamped:
    return envelope(run, source=PSA, etype="time.approved", subject=f"time/{entry.entry_id}",
                    sequence=1, at=entry.approved_at, correlation=entry.deal.deal_id,
                    data=time_data(entry) if data is None else data)


def time_rejected(run: str, rejection: Rejection) -> Stamped:
    entry = rejection.entry
    return envelope(run, source=PSA, etype="time.rejected", subject=f"time/{entry.entry_id}",
                    sequence=2, at=rejection.at, correlation=entry.deal.deal_id,
                    data={"time_entry_id": entry.entry_id, "reason": rejection.reason,
                          "rejected_by": entry.deal.approver,
                          "rejected_at": rfc3339(rejection.at)})


def milestone_completed(run: str, acceptance: Acceptance) -> Stamped:
    deal = acceptance.deal
    return envelope(run, source=PSA, etype="milestone.completed",
                    subject=f"milestone/{acceptance.milestone_id}", sequence=1,
                    at=acceptance.at, correlation=deal.deal_id,
                    data={"milestone_id": acceptance.milestone_id,
                          "project_code": deal.project_code,
                          "completed_on": acceptance.completed_on.isoformat(),
                          "evidence": {
                              "accepted_by": deal.customer.contact,
                              "document": f"{deal.contract_number}-"
                                          f"{acceptance.milestone_id}-acceptance.pdf"}})


def expense_approved(run: str, expense: Expense, data: dict[str, Any] | None = None) -> Stamped:
    return envelope(run, source=PSA, etype="expense.approved",
                    subject=f"expense/{expense.expense_id}", sequence=1, at=expense.approved_at,
                    correlation=expense.entry.deal.deal_id,
                    data=expense_data(expense) if data is None else data)


def expense_rejected(run: str, rejection: ExpenseRejection) -> Stamped:
    e = rejection.expense
    return envelope(run, source=PSA, etype="expense.rejected",
                    subject=f"expense/{e.expense_id}", sequence=2, at=rejection.at,
                    correlation=e.entry.deal.deal_id,
                    data={"expense_id": e.expense_id, "reason": rejection.reason,
                          "rejected_by": e.entry.deal.approver,
                          "rejected_at": rfc3339(rejection.at)})


def rate_card_published(run: str, card: CardVersion) -> Stamped:
    data: dict[str, Any] = {
        "card_id": card.card_id, "version": card.version, "name": card.name,
        "scope": card.scope, "currency": card.currency,
        "effective_from": card.effective_from.isoformat(),
        "billing_increment_hours": str(INCREMENT), "rounding": "up",
        "entries": [{"role": role, "rate": amount(rate)} for role, rate in card.rates],
        "published_at": rfc3339(card.published_at)}
    if card.scope_key:
        data["scope_key"] = card.scope_key
    return envelope(run, source=PSA, etype="rate_card.published",
                    subject=f"rate_card/{card.card_id}", sequence=card.version,
                    at=card.published_at, correlation=card.card_id, data=data)


def fx_rates_published(run: str, fx: FxPublication) -> Stamped:
    return envelope(run, source=ERP, etype="fx.rates_published",
                    subject=f"fx/{fx.base}/{fx.as_of.isoformat()}", sequence=1, at=fx.at,
                    correlation=f"fx/{fx.as_of.isoformat()}",
                    data={"as_of": fx.as_of.isoformat(), "source": "Treasury month-end close",
                          "base": fx.base,
                          "rates": {quote: str(rate) for quote, rate in fx.rates}})


def project_closed(run: str, close: ProjectClose) -> Stamped:
    deal = close.deal
    return envelope(run, source=PSA, etype="project.closed",
                    subject=f"project/{deal.project_code}", sequence=1, at=close.at,
                    correlation=deal.deal_id,
                    data={"project_code": deal.project_code,
                          "closed_on": close.closed_on.isoformat(),
                          "reason": f"contract {deal.contract_number} ended",
                          "closed_by": deal.approver})

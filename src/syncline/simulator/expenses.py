"""Expenses and billing terms: what consultants spend on engagements, and how each deal
rebills it (at cost, with markup, or not at all), plus retainer timing, drawdown hours and
not-to-exceed caps agreed on the deal.

Drawn from their own generators (``<seed>:expenses``, ``<deal id>:terms``), so switching
the clean timesheets, faults or delivery never changes them and they never change the rest.
Expenses are in the contract's currency (the receipt converted by the PSA), approved with the
timesheet of the week they were incurred in; a few are rejected after approval.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from syncline.simulator.envelope import at_hour, weekday_on_or_after
from syncline.simulator.firm import Deal
from syncline.simulator.timesheets import TimeEntry

_FACTOR = {"USD": Decimal("1"), "GBP": Decimal("0.80"), "EUR": Decimal("0.92")}
_CITIES = ("Chicago", "Boston", "London", "Frankfurt", "Amsterdam", "Denver", "Leeds")
_SOFTWARE = ("Data profiling tool licence", "Diagramming tool seat", "Test data service",
             "Cloud sandbox credits")


@dataclass(frozen=True)
class Expense:
    expense_id: str
    entry: TimeEntry  # the timesheet line it belongs to (worker, deal, day, approval)
    incurred_on: date
    category: str  # travel | lodging | meals | software
    description: str
    amount: Decimal  # in the deal's currency
    billable: bool
    approved_at: datetime


@dataclass(frozen=True)
class ExpenseRejection:
    expense: Expense
    at: datetime
    reason: str


def billing_terms(deal: Deal) -> dict[str, Any]:
    """The deal's billing terms as sent in ``deal.closed_won`` (``billing_terms``)."""
    rng = random.Random(f"{deal.deal_id}:terms")
    roll = rng.random()
    if roll < 0.5:
        expenses: dict[str, Any] = {"policy": "at_cost"}
    elif roll < 0.8:
        expenses = {"policy": "markup", "markup_percent": str(rng.choice((5, 10, 12)))}
    else:
        expenses = {"policy": "not_billable"}
    terms: dict[str, Any] = {"expenses": expenses}
    if deal.billing_type == "retainer":
        retainer: dict[str, Any] = {"timing": rng.choice(("advance", "arrears"))}
        if rng.random() < 0.4 and deal.amount is not None:
            retainer["included_hours"] = str(deal.team * 40)
            retainer["overage_rate"] = str((deal.amount / (deal.team * 40) * Decimal("1.2"))
                                           .quantize(Decimal(1)))
        terms["retainer"] = retainer
    if deal.billing_type == "time_and_materials" and deal.estimated_hours and \
            rng.random() < 0.35:
        limit = (deal.estimated_hours * 150 * Decimal("0.6") / 1000).to_integral_value() * 1000
        terms["caps"] = [{"cap_id": f"NTE-{deal.contract_number}", "scope": "contract",
                          "limit": str(max(limit, Decimal(10000))),
                          "kind": rng.choice(("soft", "hard")), "tolerance": "0.05"}]
    return terms


def plan_expenses(rng: random.Random, entries: tuple[TimeEntry, ...]
                  ) -> tuple[tuple[Expense, ...], tuple[ExpenseRejection, ...]]:
    weeks: dict[tuple[str, str, date], list[TimeEntry]] = defaultdict(list)
    for e in entries:
        if e.billable:
            monday = e.work_date - timedelta(days=e.work_date.weekday())
            weeks[(e.worker.worker_id, e.deal.deal_id, monday)].append(e)
    out: list[Expense] = []
    rejected: list[ExpenseRejection] = []

    def add(entry: TimeEntry, category: str, description: str, usd: Decimal,
            billable: bool = True) -> None:
        money = (usd * _FACTOR.get(entry.deal.currency, Decimal(1))).quantize(Decimal("0.01"))
        expense = Expense(f"EXP-{200001 + len(out)}", entry, entry.work_date, category,
                          description, money, billable,
                          entry.approved_at + timedelta(minutes=rng.randint(1, 90)))
        out.append(expense)
        if rng.random() < 0.03:
            later = weekday_on_or_after(expense.approved_at.date() + timedelta(days=3))
            rejected.append(ExpenseRejection(expense, at_hour(later, rng, 9, 17),
                                             "Receipt missing"))

    for key in sorted(weeks):
        days = sorted(weeks[key], key=lambda e: (e.work_date, e.entry_id))
        if rng.random() < 0.12:  # an on-site week
            city = rng.choice(_CITIES)
            first = days[0]
            add(first, "travel", f"Return flight to {city}", Decimal(rng.randint(280, 900)))
            nights = max(1, len(days) - 1)
            add(first, "lodging", f"Hotel in {city}, {nights} night(s)",
                Decimal(rng.randint(140, 260) * nights))
            for d in days[:nights]:
                add(d, "meals", f"Meals in {city}", Decimal(rng.randint(2500, 6500)) / 100,
                    billable=rng.random() < 0.7)
        if rng.random() < 0.02:
            add(days[-1], "software", rng.choice(_SOFTWARE), Decimal(rng.randint(20, 240)))
    return tuple(out), tuple(rejected)


def expense_data(expense: Expense, currency: str | None = None) -> dict[str, Any]:
    e = expense.entry
    return {
        "expense_id": expense.expense_id, "worker_id": e.worker.worker_id,
        "project_code": e.deal.project_code, "incurred_on": expense.incurred_on.isoformat(),
        "category": expense.category, "description": expense.description,
        "amount": {"amount": str(expense.amount), "currency": currency or e.deal.currency},
        "billable": expense.billable, "approval_status": "approved",
        "approved_by": e.deal.approver,
    }

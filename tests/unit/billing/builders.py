"""Builders for billing tests: items read like timesheet rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from syncline.billing.items import BillableItem, time_item
from syncline.ledger.money import Money


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def hours(entry: str, day: str, qty: str, rate: str = "150", *, contract: str = "C-1",
          role: str = "consultant", line_id: str = "", budget_id: str = "",
          currency: str = "USD") -> BillableItem:
    return time_item(entry, contract, date.fromisoformat(day), Decimal(qty), role,
                     Money.of(rate, currency), "contract", line_id=line_id, budget_id=budget_id)

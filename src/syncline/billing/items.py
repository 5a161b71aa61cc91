"""Billable items: the immutable record of what may be invoiced, with its rate snapshot.

Lifecycle: generated → invoiced, or generated → reversed (time rejected before invoicing).
An item's amount is quantity × unit price rounded half-up to the currency's minor unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from syncline.ledger.money import Money


class ItemSource(StrEnum):
    TIME = "time"
    MILESTONE = "milestone"
    RETAINER = "retainer"


class ItemStatus(StrEnum):
    GENERATED = "generated"
    INVOICED = "invoiced"
    REVERSED = "reversed"


@dataclass(frozen=True, slots=True)
class BillableItem:
    key: str  # natural key: "time:TE-1", "milestone:M-1", "retainer:C-1001:2026-03"
    contract_number: str
    source: ItemSource
    service_date: date
    description: str
    quantity: Decimal
    unit_price: Money
    amount: Money
    rate_scope: str = ""  # which rate card scope priced it (explanation)


def price(quantity: Decimal, unit_price: Money) -> Money:
    return (unit_price * quantity).rounded()


def time_item(
    time_entry_id: str, contract_number: str, work_date: date, hours: Decimal, role: str,
    unit_price: Money, rate_scope: str,
) -> BillableItem:
    return BillableItem(
        key=f"time:{time_entry_id}", contract_number=contract_number, source=ItemSource.TIME,
        service_date=work_date, description=f"{role} time {work_date.isoformat()}",
        quantity=hours, unit_price=unit_price, amount=price(hours, unit_price),
        rate_scope=rate_scope,
    )


def milestone_item(milestone_id: str, name: str, contract_number: str, completed_on: date,
                   amount: Money) -> BillableItem:
    return BillableItem(
        key=f"milestone:{milestone_id}", contract_number=contract_number,
        source=ItemSource.MILESTONE, service_date=completed_on, description=f"Milestone: {name}",
        quantity=Decimal(1), unit_price=amount, amount=amount.rounded(),
    )


def retainer_item(contract_number: str, month_start: date, fee: Money) -> BillableItem:
    return BillableItem(
        key=f"retainer:{contract_number}:{month_start:%Y-%m}", contract_number=contract_number,
        source=ItemSource.RETAINER, service_date=month_start,
        description=f"Retainer fee {month_start:%B %Y}", quantity=Decimal(1), unit_price=fee,
        amount=fee.rounded(),
    )

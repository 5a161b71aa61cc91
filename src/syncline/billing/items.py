"""Billable items: the immutable record of what may be invoiced, with its rate snapshot.

Lifecycle: generated → released → invoiced → credited; generated → reversed (time rejected
before invoicing); generated → written_off (the excess over a soft cap). A status change is a
new value (``transition``), never an edit. An item's amount is quantity × unit price rounded
half-up to the currency's minor unit, except the parts of a split item, whose amounts are the
exact split of the original (see ``split_item``).

Keys are natural and deterministic so that re-running a cycle finds the same items:
``time:TE-1``, ``expense:EX-1``, ``milestone:M-1``, ``retainer:C-1001:2026-03``; a split part
appends ``#cap`` / ``#over`` (or ``#covered`` / ``#overage`` for a drawdown); a corrected
replacement appends ``@r2``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from syncline.billing.fx import FxSnapshot
from syncline.ledger.money import Money

QUANTITY_QUANTUM = Decimal("0.0001")


class ItemSource(StrEnum):
    TIME = "time"
    MILESTONE = "milestone"
    RETAINER = "retainer"
    EXPENSE = "expense"
    ADJUSTMENT = "adjustment"


class ItemStatus(StrEnum):
    GENERATED = "generated"
    INVOICED = "invoiced"
    REVERSED = "reversed"
    RELEASED = "released"
    CREDITED = "credited"
    WRITTEN_OFF = "written_off"


_ALLOWED: dict[ItemStatus, frozenset[ItemStatus]] = {
    ItemStatus.GENERATED: frozenset({ItemStatus.RELEASED, ItemStatus.INVOICED,
                                     ItemStatus.REVERSED, ItemStatus.WRITTEN_OFF}),
    ItemStatus.RELEASED: frozenset({ItemStatus.INVOICED, ItemStatus.REVERSED}),
    ItemStatus.INVOICED: frozenset({ItemStatus.CREDITED}),
    ItemStatus.CREDITED: frozenset(),
    ItemStatus.REVERSED: frozenset(),
    ItemStatus.WRITTEN_OFF: frozenset({ItemStatus.REVERSED}),
}

OPEN_STATUSES = frozenset({ItemStatus.GENERATED, ItemStatus.RELEASED})


class IllegalTransition(ValueError):
    """A lifecycle step the item's status does not allow (a programming error)."""


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
    status: ItemStatus = ItemStatus.GENERATED
    origin: str = ""  # the source record it came from ("time:TE-1"); defaults to key
    split_of: str | None = None  # key of the item this part was split from
    line_id: str = ""  # contract line (for line caps)
    budget_id: str = ""  # budget / purchase order (for budget caps)
    role: str = ""
    fx: FxSnapshot | None = None  # expense currency → contract currency, when converted
    deferred: bool = False  # billed ahead of service (retainer in advance): deferred revenue
    adjusts: tuple[str, ...] = ()  # items a cap write-off or drawdown line adjusts
    invoice_number: str | None = None
    rate_card: str = ""  # "card_id v2" that priced it

    @property
    def source_key(self) -> str:
        return self.origin or self.key


def price(quantity: Decimal, unit_price: Money) -> Money:
    return (unit_price * quantity).rounded()


def transition(item: BillableItem, to: ItemStatus,
               invoice_number: str | None = None) -> BillableItem:
    """The item in status ``to``; refuses steps the lifecycle does not allow."""
    if to not in _ALLOWED[item.status]:
        raise IllegalTransition(f"{item.key}: {item.status} → {to} is not allowed")
    number = invoice_number if invoice_number is not None else item.invoice_number
    return replace(item, status=to, invoice_number=number)


def split_item(item: BillableItem, first: Money, *, labels: tuple[str, str] = ("cap", "over"),
               ) -> tuple[BillableItem, BillableItem]:
    """Split ``item`` into two parts whose amounts sum exactly to the original.

    The first part carries ``first`` (0 < first < amount); quantities are split in the same
    proportion at 4 decimals, the second part taking the remainder so quantities also sum.
    """
    if not (Money.zero(first.currency) < first < item.amount):
        raise ValueError(f"split of {item.key} at {first} is outside (0, {item.amount})")
    q1 = (item.quantity * first.amount / item.amount.amount).quantize(
        QUANTITY_QUANTUM, rounding=ROUND_HALF_UP)
    origin = item.source_key
    a = replace(item, key=f"{item.key}#{labels[0]}", quantity=q1, amount=first,
                split_of=item.key, origin=origin)
    b = replace(item, key=f"{item.key}#{labels[1]}", quantity=item.quantity - q1,
                amount=item.amount - first, split_of=item.key, origin=origin)
    return a, b


def time_item(
    time_entry_id: str, contract_number: str, work_date: date, hours: Decimal, role: str,
    unit_price: Money, rate_scope: str, *, line_id: str = "", budget_id: str = "",
    rate_card: str = "",
) -> BillableItem:
    return BillableItem(
        key=f"time:{time_entry_id}", contract_number=contract_number, source=ItemSource.TIME,
        service_date=work_date, description=f"{role} time {work_date.isoformat()}",
        quantity=hours, unit_price=unit_price, amount=price(hours, unit_price),
        rate_scope=rate_scope, line_id=line_id, budget_id=budget_id, role=role,
        rate_card=rate_card,
    )


def milestone_item(milestone_id: str, name: str, contract_number: str, completed_on: date,
                   amount: Money, *, line_id: str = "") -> BillableItem:
    return BillableItem(
        key=f"milestone:{milestone_id}", contract_number=contract_number,
        source=ItemSource.MILESTONE, service_date=completed_on, description=f"Milestone: {name}",
        quantity=Decimal(1), unit_price=amount, amount=amount.rounded(), line_id=line_id,
    )


def retainer_item(contract_number: str, month_start: date, fee: Money, *,
                  deferred: bool = False) -> BillableItem:
    return BillableItem(
        key=f"retainer:{contract_number}:{month_start:%Y-%m}", contract_number=contract_number,
        source=ItemSource.RETAINER, service_date=month_start,
        description=f"Retainer fee {month_start:%B %Y}", quantity=Decimal(1), unit_price=fee,
        amount=fee.rounded(), deferred=deferred,
    )


def adjustment_item(key: str, contract_number: str, on: date, description: str,
                    amount: Money, *, adjusts: tuple[str, ...] = (),
                    quantity: Decimal = Decimal(1), unit_price: Money | None = None,
                    ) -> BillableItem:
    """A manual or engine adjustment (positive or negative), shown as its own invoice line.

    ``amount`` is stated, not derived: a write-off of a split part keeps the part's exact
    amount even when quantity × unit price would round differently.
    """
    unit = unit_price if unit_price is not None else amount
    return BillableItem(
        key=f"adjustment:{key}", contract_number=contract_number, source=ItemSource.ADJUSTMENT,
        service_date=on, description=description, quantity=quantity, unit_price=unit,
        amount=amount.rounded(), adjusts=adjusts,
    )

"""Recurring retainers: monthly fees in advance or in arrears, proration, drawdown hours.

Cycles are calendar months and invoices are dated at the cycle's end. In a cycle:

- *arrears* bills every service month up to and including the cycle's month;
- *advance* bills every service month up to and including the month after the cycle's
  month; a month that starts after the invoice date is flagged ``deferred`` (released to
  deferred revenue, recognised as the month passes).

Months already billed (their keys ``retainer:<contract>:<YYYY-MM>`` in ``billed``) are
skipped, so a missed cycle catches up and a repeated cycle adds nothing.

Proration: a first or last month that is only partly inside [start, end] is billed
``fee × active days / days in the month``, rounded half-up to the minor unit.

Drawdown: a retainer may include hours. Time items of the month draw the included hours
down in service order (date, key); an entry that straddles the end of the included hours
is split by hours into ``#covered`` (priced at zero, shown on the invoice) and ``#overage``
(priced at the overage rate); later entries are overage.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from syncline.billing.items import BillableItem, price, retainer_item
from syncline.ledger.money import Money


class Timing(StrEnum):
    ADVANCE = "advance"
    ARREARS = "arrears"


@dataclass(frozen=True, slots=True)
class RetainerTerms:
    contract_number: str
    monthly_fee: Money
    start: date
    end: date | None = None  # last service day, inclusive
    timing: Timing = Timing.ADVANCE
    included_hours: Decimal | None = None  # drawdown retainers
    overage_rate: Money | None = None


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_month(day: date) -> date:
    return month_end(day) + timedelta(days=1)


def prorated_fee(terms: RetainerTerms, month: date) -> tuple[Money, int, int] | None:
    """(fee, active days, days in month) for the service month, or None outside the term."""
    first, last = month_start(month), month_end(month)
    lo = max(first, terms.start)
    hi = last if terms.end is None else min(last, terms.end)
    if lo > hi:
        return None
    active, days = (hi - lo).days + 1, (last - first).days + 1
    if active == days:
        return terms.monthly_fee.rounded(), active, days
    fee = Money(terms.monthly_fee.amount * active / days, terms.monthly_fee.currency)
    return fee.rounded(), active, days


def retainer_fees(terms: RetainerTerms, cycle_end: date, *,
                  billed: Collection[str] = ()) -> tuple[BillableItem, ...]:
    """The retainer fee items due in the cycle ending ``cycle_end`` (see module doc)."""
    through = next_month(cycle_end) if terms.timing is Timing.ADVANCE else month_start(cycle_end)
    out: list[BillableItem] = []
    month = month_start(terms.start)
    while month <= through and (terms.end is None or month <= terms.end):
        fee = prorated_fee(terms, month)
        if fee is not None:
            amount, active, days = fee
            item = retainer_item(terms.contract_number, month, amount,
                                 deferred=month > cycle_end)
            if item.key not in billed:
                if active != days:
                    item = replace(item, description=(
                        f"{item.description} (prorated {active}/{days} days)"))
                out.append(item)
        month = next_month(month)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class DrawdownResult:
    covered: tuple[BillableItem, ...]  # drawn against the included hours, priced at zero
    overage: tuple[BillableItem, ...]  # beyond the included hours, at the overage rate
    hours_used: Decimal  # of the included hours, including ``hours_used_before``
    hours_remaining: Decimal

    @property
    def items(self) -> tuple[BillableItem, ...]:
        return self.covered + self.overage


def _covered(item: BillableItem, key: str, q: Decimal) -> BillableItem:
    zero = Money.zero(item.unit_price.currency)
    return replace(item, key=key, quantity=q, unit_price=zero, amount=zero,
                   rate_scope="retainer drawdown", origin=item.source_key,
                   split_of=item.key if key != item.key else item.split_of,
                   description=f"Drawdown: {item.description}")


def _overage(item: BillableItem, key: str, q: Decimal, rate: Money) -> BillableItem:
    return replace(item, key=key, quantity=q, unit_price=rate, amount=price(q, rate),
                   rate_scope="retainer overage", origin=item.source_key,
                   split_of=item.key if key != item.key else item.split_of,
                   description=f"Overage: {item.description}")


def draw_down(terms: RetainerTerms, time_items: Iterable[BillableItem], *,
              hours_used_before: Decimal = Decimal(0)) -> DrawdownResult:
    """Draw a month's time against the retainer's included hours (see module doc)."""
    included = terms.included_hours or Decimal(0)
    rate = terms.overage_rate
    used = hours_used_before
    covered: list[BillableItem] = []
    overage: list[BillableItem] = []
    for item in sorted(time_items, key=lambda i: (i.service_date, i.key)):
        room = max(included - used, Decimal(0))
        over_rate = rate if rate is not None else item.unit_price
        if item.quantity <= room:
            covered.append(_covered(item, item.key, item.quantity))
            used += item.quantity
        elif room > 0:
            covered.append(_covered(item, f"{item.key}#covered", room))
            overage.append(_overage(item, f"{item.key}#overage", item.quantity - room,
                                    over_rate))
            used += room
        else:
            overage.append(_overage(item, item.key, item.quantity, over_rate))
    return DrawdownResult(tuple(covered), tuple(overage), used, max(included - used, Decimal(0)))

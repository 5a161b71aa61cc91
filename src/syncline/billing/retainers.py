"""Recurring retainers: monthly fees in advance or in arrears, proration, drawdown hours.

Cycles are calendar months. In a cycle:

- *arrears* bills every service month up to and including the cycle's month;
- *advance*, ``next_month`` convention (the default): the run at the end of month M bills
  every service month up to and including M+1; a month that starts after the invoice date
  is flagged ``deferred`` (released to deferred revenue, recognised as the month passes).
  The first month of a contract is billed by the first run from the month before it on: a
  contract known before its start month is billed its first month in advance by that run;
  one whose first run is its start month's gets two fees on it (the first month, late, and
  the next, in advance);
- *advance*, ``current_month`` convention (firms that bill on the 1st for the month): the
  run of month M bills every service month up to and including M, and the contract's
  invoice is dated the first of M (``invoice_date``): the first run bills exactly one month.

Months already billed (their keys ``retainer:<contract>:<YYYY-MM>`` in ``billed``) are
not billed again, so a missed cycle catches up and a repeated cycle adds nothing; when the
fee due for a billed month has changed since (``billed_amounts``: an amendment effective in
a month already billed), the difference is billed as ``retainer:<contract>:<YYYY-MM>@r<n>``.

Fee: the monthly fee may change from a date (``fee_changes``: an amendment's new, changed
or removed retainer line). A month's fee is ``Σ fee_i × days_i / days in the month`` over
the stretches of the month inside [start, end] with the same fee, rounded half-up once; a
whole month at one fee is that fee, a first or last month partly inside the term
``fee × active days / days in the month`` (proration).

Drawdown: a retainer may include hours. Time items of the month draw the included hours
down in service order (date, key); an entry that straddles the end of the included hours
is split by hours into ``#covered`` (priced at zero, shown on the invoice) and ``#overage``
(priced at the overage rate); later entries are overage.

Prepaid block (``RetainerKind.PREPAID_BLOCK``): hours bought up front, invoiced once
(``block_items``: the block on the start date, each top-up on its date, billed in advance,
``deferred``), drawn down across months rather than month by month (``draw_down_block``:
hours available on a day = the block plus the top-ups effective by then), overage at the
overage rate once the block is used up.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from syncline.billing.items import BillableItem, price, retainer_item
from syncline.ledger.money import Money


class Timing(StrEnum):
    ADVANCE = "advance"
    ARREARS = "arrears"


class AdvanceConvention(StrEnum):
    NEXT_MONTH = "next_month"  # the run at the end of M bills M+1 (the default)
    CURRENT_MONTH = "current_month"  # the run of M bills M, invoiced on the 1st of M


class RetainerKind(StrEnum):
    MONTHLY = "monthly"  # a monthly fee, included hours a monthly allowance
    PREPAID_BLOCK = "prepaid_block"  # hours bought once, drawn down across months


@dataclass(frozen=True, slots=True)
class FeeChange:
    """From ``effective`` on, the monthly fee is ``monthly_fee``."""

    effective: date
    monthly_fee: Money


@dataclass(frozen=True, slots=True)
class RetainerTerms:
    contract_number: str
    monthly_fee: Money  # in force from the start (before any ``fee_changes``)
    start: date
    end: date | None = None  # last service day, inclusive
    timing: Timing = Timing.ADVANCE
    included_hours: Decimal | None = None  # drawdown retainers
    overage_rate: Money | None = None
    fee_changes: tuple[FeeChange, ...] = ()  # the monthly fee from a date, in date order
    convention: AdvanceConvention = AdvanceConvention.NEXT_MONTH

    def fee_on(self, day: date) -> Money:
        fee = self.monthly_fee
        for change in self.fee_changes:
            if change.effective > day:
                break
            fee = change.monthly_fee
        return fee

    @property
    def bills_current_month(self) -> bool:
        """Billed in advance on the 1st of the month itself."""
        return (self.timing is Timing.ADVANCE
                and self.convention is AdvanceConvention.CURRENT_MONTH)


def invoice_date(terms: RetainerTerms, cycle_end: date) -> date:
    """The date of the cycle's invoice: the first of the month for ``current_month``
    advance billing, else the cycle's end."""
    return month_start(cycle_end) if terms.bills_current_month else cycle_end


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_month(day: date) -> date:
    return month_end(day) + timedelta(days=1)


def prorated_fee(terms: RetainerTerms, month: date) -> tuple[Money, int, int] | None:
    """(fee, active days, days in month) for the service month, or None outside the term
    (see the module doc: the month's stretches at each fee, rounded once)."""
    first, last = month_start(month), month_end(month)
    lo = max(first, terms.start)
    hi = last if terms.end is None else min(last, terms.end)
    if lo > hi:
        return None
    active, days = (hi - lo).days + 1, (last - first).days + 1
    cuts = sorted({c.effective for c in terms.fee_changes if lo < c.effective <= hi})
    if not cuts:
        fee = terms.fee_on(lo)
        if active == days:
            return fee.rounded(), active, days
        return Money(fee.amount * active / days, fee.currency).rounded(), active, days
    total = Decimal(0)
    for a, b in zip([lo, *cuts], [*(c - timedelta(days=1) for c in cuts), hi], strict=True):
        total += terms.fee_on(a).amount * ((b - a).days + 1)
    return Money(total / days, terms.monthly_fee.currency).rounded(), active, days


def retainer_fees(terms: RetainerTerms, cycle_end: date, *, billed: Collection[str] = (),
                  billed_amounts: Mapping[str, Money] | None = None,
                  ) -> tuple[BillableItem, ...]:
    """The retainer fee items due in the cycle ending ``cycle_end`` (see module doc).
    ``billed``: every retainer item key of the contract; ``billed_amounts``: per month key
    (``retainer:<contract>:<YYYY-MM>``) what was billed for it so far, differences included
    (None: a billed month is never billed again). A month billed that the term no longer
    covers (an earlier end) is due nothing: its difference takes the fee back."""
    ahead = terms.timing is Timing.ADVANCE and not terms.bills_current_month
    through = next_month(cycle_end) if ahead else month_start(cycle_end)
    months: list[date] = []
    month = month_start(terms.start)
    while month <= through and (terms.end is None or month <= terms.end):
        months.append(month)
        month = next_month(month)
    prefix = f"retainer:{terms.contract_number}:"
    for key in billed_amounts or {}:
        billed_month = key.removeprefix(prefix)
        if len(billed_month) == 7 and billed_month[4] == "-":
            months.append(date.fromisoformat(f"{billed_month}-01"))
    out: list[BillableItem] = []
    for month in sorted(set(months)):
        fee = prorated_fee(terms, month)
        amount, active, days = fee if fee is not None else (
            Money.zero(terms.monthly_fee.currency), 0, 0)
        item = retainer_item(terms.contract_number, month, amount,
                             deferred=month > cycle_end)
        changed = [c.effective for c in terms.fee_changes
                   if month < c.effective <= month_end(month)]
        if changed:
            item = replace(item, description=f"{item.description} (fee changed "
                           + ", ".join(f"{d.day} {d:%b}" for d in changed) + ")")
        if item.key not in billed:
            if active != days:
                item = replace(item, description=(
                    f"{item.description} (prorated {active}/{days} days)"))
            if not amount.is_zero:
                out.append(item)
        elif billed_amounts is not None:
            done = billed_amounts.get(item.key, Money.zero(amount.currency))
            if done != amount:
                n = 1 + sum(1 for k in billed if k.split("@")[0] == item.key)
                out.append(replace(
                    item, key=f"{item.key}@r{n}", unit_price=amount - done,
                    amount=amount - done, description=(
                        f"{item.description}: fee changed, {amount} due, {done} billed")))
    return tuple(out)


def block_items(contract_number: str, grants: Sequence[tuple[str, date, Decimal, Money]],
                cycle_end: date, *, billed: Collection[str] = ()) -> tuple[BillableItem, ...]:
    """A prepaid block's invoices: each grant (key suffix, date, hours, price) dated on or
    before ``cycle_end`` and not yet billed, as ``retainer:<contract>:block[:<suffix>]``,
    billed in advance (``deferred``) once."""
    out: list[BillableItem] = []
    for suffix, on, hours, cost in grants:
        key = f"retainer:{contract_number}:block" + (f":{suffix}" if suffix else "")
        if on > cycle_end or key in billed or cost.is_zero:
            continue
        label = (f"Prepaid block: {hours.normalize():f} hours" if not suffix
                 else f"Prepaid block top-up {suffix}: {hours.normalize():f} hours")
        out.append(replace(retainer_item(contract_number, on, cost, deferred=True), key=key,
                           description=label))
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
    return _draw(lambda _: included, terms.overage_rate, time_items, hours_used_before)


def draw_down_block(grants: Sequence[tuple[date, Decimal]], overage_rate: Money | None,
                    time_items: Iterable[BillableItem], *,
                    hours_used_before: Decimal = Decimal(0)) -> DrawdownResult:
    """Draw time against a prepaid block across months (see module doc): an item may use
    the hours of the block and of the top-ups effective on or before its service date,
    less what was drawn before it (``hours_used_before``: the block's invoiced drawdown)."""
    def available(day: date) -> Decimal:
        return sum((h for on, h in grants if on <= day), Decimal(0))

    return _draw(available, overage_rate, time_items, hours_used_before)


def _draw(available: Callable[[date], Decimal], rate: Money | None,
          time_items: Iterable[BillableItem], hours_used_before: Decimal) -> DrawdownResult:
    used = hours_used_before
    covered: list[BillableItem] = []
    overage: list[BillableItem] = []
    included = available(date.max)
    for item in sorted(time_items, key=lambda i: (i.service_date, i.key)):
        included = available(item.service_date)
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

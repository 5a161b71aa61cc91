"""Caps (not-to-exceed) per contract, budget or contract line, soft or hard, with tolerance.

A cap's *ceiling* is its limit plus a tolerance (a fraction of the limit, rounded half-up to
the minor unit): nothing beyond the ceiling is billed without a person's approval.

``apply_caps`` walks the items in service order (service date, then key) and keeps, per cap,
what has been billed against it (``billed_to_date`` from earlier invoices, plus this batch).
For each item the *binding* cap is the applicable cap with the least headroom (ties: hard
before soft, then cap id). Then:

- the item fits: it is billed and consumes every applicable cap;
- the item straddles the ceiling: it is split (``split_item``) into ``key#cap``, exactly the
  headroom, and ``key#over``, the rest; the two amounts sum exactly to the original;
- the excess (a split's over part, or a whole item when there is no headroom left):
  - soft cap: the excess is still shown on the invoice, followed by a visible negative
    *cap adjustment* item of the same amount (``adjustment:cap:<cap>:<key>``): the work is
    disclosed, the customer pays up to the ceiling, the rest is written off;
  - hard cap: the excess is *held* for approval and not invoiced. Once approved, the same
    held item comes back with its key in ``approved`` and is billed past the cap.

Only items of the cap's sources (default: time and expenses) in the cap's currency count;
milestone, retainer and adjustment items pass through untouched. Negative items reduce what
was consumed.

**Net billed.** What a cap has consumed before a batch is *derived* from the item ledger
(``billed_against``), never kept as a running counter: the invoiced amounts of the items it
covers, net of the cap write-offs on them (``adjustment:cap:…``). A credited item (and the
write-off credited with it) counts nothing, so a credit note gives its amount back to the
cap. A counter would have to be kept in step by every path that changes an item (credit
notes, corrections, reversals, approvals) and drifts silently when one is missed; a
derivation is idempotent, survives replay, and answers "what did this cap consume" from the
same records an auditor reads.

**Limits from a date.** A cap's limit (and tolerance) may change from a date
(``CapChange``, from a ``contract.amended`` ``change_cap``): an item is capped by the
ceiling in force on its service date, against everything the cap has consumed so far.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from syncline.billing.items import (
    BillableItem,
    ItemSource,
    ItemStatus,
    adjustment_item,
    split_item,
)
from syncline.ledger.money import Money

WRITE_OFF_PREFIX = "adjustment:cap:"


class CapScope(StrEnum):
    CONTRACT = "contract"
    BUDGET = "budget"
    LINE = "line"


class CapKind(StrEnum):
    SOFT = "soft"  # bill to the cap, write off the rest
    HARD = "hard"  # bill to the cap, hold the rest for approval


@dataclass(frozen=True, slots=True)
class CapChange:
    """From ``effective`` on, the cap's limit is ``limit`` (and its tolerance ``tolerance``,
    when given; else the one in force before)."""

    effective: date
    limit: Money
    tolerance: Decimal | None = None
    reference: str = ""  # e.g. the amendment id


@dataclass(frozen=True, slots=True)
class Cap:
    cap_id: str
    scope: CapScope
    scope_key: str  # contract number, budget / PO id, or contract line id
    limit: Money  # the limit agreed first (before any change)
    kind: CapKind = CapKind.HARD
    tolerance: Decimal = Decimal(0)  # e.g. Decimal("0.05"): 5 % over the limit is accepted
    sources: tuple[ItemSource, ...] = (ItemSource.TIME, ItemSource.EXPENSE)
    changes: tuple[CapChange, ...] = ()  # limit changes from a date, in effective order

    @property
    def ceiling(self) -> Money:
        return self.limit + (self.limit * self.tolerance).rounded()

    def terms_on(self, day: date) -> tuple[Money, Decimal]:
        """(limit, tolerance) in force on ``day``: the latest change effective on or before
        it (ties: the later in ``changes``), else the limit agreed first."""
        limit, tolerance = self.limit, self.tolerance
        for change in sorted(self.changes, key=lambda c: c.effective):
            if change.effective > day:
                break
            limit = change.limit
            tolerance = change.tolerance if change.tolerance is not None else tolerance
        return limit, tolerance

    def limit_on(self, day: date) -> Money:
        return self.terms_on(day)[0]

    def ceiling_on(self, day: date) -> Money:
        limit, tolerance = self.terms_on(day)
        return limit + (limit * tolerance).rounded()

    def covers(self, item: BillableItem) -> bool:
        if item.source not in self.sources or item.amount.currency != self.limit.currency:
            return False
        if self.scope is CapScope.CONTRACT:
            return item.contract_number == self.scope_key
        if self.scope is CapScope.BUDGET:
            return item.budget_id == self.scope_key
        return item.line_id == self.scope_key


@dataclass(frozen=True, slots=True)
class HeldItem:
    """An item (or the over part of one) held at a hard cap until a person approves it."""

    item: BillableItem
    cap_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class CapResult:
    billable: tuple[BillableItem, ...]  # to invoice: fitting items, split parts, write-offs
    adjustments: tuple[BillableItem, ...]  # the write-off items (also in ``billable``)
    held: tuple[HeldItem, ...]
    consumed: tuple[tuple[str, Money], ...]  # (cap id, billed against it after this batch)

    def consumed_by(self, cap_id: str) -> Money | None:
        return next((m for c, m in self.consumed if c == cap_id), None)


def billed_against(caps: Iterable[Cap], items: Iterable[BillableItem]) -> dict[str, Money]:
    """What each cap has consumed, derived from the item ledger (see module doc): the
    *invoiced* items it covers plus the invoiced cap write-offs on them. Credited, open,
    held or reversed items count nothing."""
    caps_t = tuple(caps)
    invoiced = [i for i in items if i.status is ItemStatus.INVOICED]
    by_key = {i.key: i for i in invoiced}
    out = {c.cap_id: Money.zero(c.limit.currency) for c in caps_t}
    for item in invoiced:
        targets = ([by_key[k] for k in item.adjusts if k in by_key]
                   if item.key.startswith(WRITE_OFF_PREFIX) else [item])
        for cap in caps_t:
            if item.amount.currency == cap.limit.currency and any(cap.covers(t)
                                                                  for t in targets):
                out[cap.cap_id] = out[cap.cap_id] + item.amount
    return out


def _write_off(part: BillableItem, cap: Cap) -> BillableItem:
    return adjustment_item(
        f"cap:{cap.cap_id}:{part.key}", part.contract_number, part.service_date,
        f"Not-to-exceed {cap.cap_id} ({cap.limit_on(part.service_date)}) adjustment",
        -part.amount,
        adjusts=(part.key,), quantity=-part.quantity, unit_price=part.unit_price,
    )


def apply_caps(
    items: Iterable[BillableItem], caps: Iterable[Cap], *,
    billed_to_date: Mapping[str, Money] | None = None, approved: Collection[str] = (),
) -> CapResult:
    caps_t = tuple(caps)
    before = billed_to_date or {}
    consumed = {c.cap_id: before.get(c.cap_id, Money.zero(c.limit.currency)) for c in caps_t}
    billable: list[BillableItem] = []
    adjustments: list[BillableItem] = []
    held: list[HeldItem] = []

    def consume(caps_on: Iterable[Cap], amount: Money) -> None:
        for c in caps_on:
            consumed[c.cap_id] = consumed[c.cap_id] + amount

    def excess(part: BillableItem, cap: Cap) -> None:
        if cap.kind is CapKind.SOFT:
            off = _write_off(part, cap)
            billable.extend((part, off))
            adjustments.append(off)
        else:
            held.append(HeldItem(part, cap.cap_id,
                                 f"{part.amount} over hard cap {cap.cap_id} "
                                 f"(ceiling {cap.ceiling_on(part.service_date)}): approve "
                                 "to bill"))

    for item in sorted(items, key=lambda i: (i.service_date, i.key)):
        on = [c for c in caps_t if c.covers(item)]
        if not on or item.amount.amount <= 0 or item.key in approved:
            billable.append(item)
            consume(on, item.amount)
            continue
        zero = Money.zero(item.amount.currency)
        room, _, _, cap = min(
            (max(c.ceiling_on(item.service_date) - consumed[c.cap_id], zero),
             c.kind is CapKind.SOFT, c.cap_id, c)
            for c in on
        )
        if item.amount <= room:
            billable.append(item)
            consume(on, item.amount)
        elif room > zero:
            within, over = split_item(item, room)
            billable.append(within)
            consume(on, within.amount)
            excess(over, cap)
        else:
            excess(item, cap)
    return CapResult(tuple(billable), tuple(adjustments), tuple(held),
                     tuple(sorted(consumed.items())))

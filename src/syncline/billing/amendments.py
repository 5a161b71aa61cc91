"""What a ``contract.amended`` changes in billing, from its effective date.

An amendment is a list of changes, each effective from the amendment's date (the first day
the new terms apply). Amendments apply in the order (effective date, amendment id), so the
same facts give the same terms whatever order they arrived in. Billing reads:

- **retainer fees** (``retainer_fees_in_force``): a retainer line bills its monthly fee from
  the contract's start, a line added by ``add_line`` from the amendment's date; a
  ``change_price`` sets the line's monthly fee from its date; a ``remove_line`` stops it from
  its date (the date is the first day not billed). The contract's monthly fee on a day is
  the sum of its retainer lines in force that day;
- **caps** (``cap_changes``): a ``change_cap`` sets a cap's limit (and tolerance, if given)
  from its date — items serviced from then on are capped by the new limit;
- **prepaid blocks** (``block_top_ups``): a ``top_up_block`` adds hours to the block from its
  date and bills its price once, on that date;
- **fixed-fee prices** (``fixed_fee_changes``, ``price_change_items``): a fixed-fee line is
  billed through the contract's milestones, so a ``change_price`` of it spreads the
  difference over the milestones still open on its date (not completed before it), in
  proportion to their amounts (largest remainder, ties to the earlier milestone), each share
  billed with its milestone (``milestone:<id>:<amendment>``); with none open, the difference
  is billed on the date (``adjustment:amendment:<amendment>:<line>``); a contract without
  milestones bills none of its fixed fee, nor its changes. A fixed-fee line added by an
  amendment is billed in full on its date (``adjustment:amendment:<amendment>:<line>``);
- **contract end** (``contract_end``): an amendment's ``end_date`` moves the last service
  day (the latest-effective amendment that states one wins).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from syncline.billing.caps import CapChange
from syncline.billing.items import BillableItem, ItemSource, adjustment_item
from syncline.billing.retainers import FeeChange
from syncline.ledger.money import Money

__all__ = ["AmendmentChange", "ContractLine", "FeeChange", "MilestoneState", "amendment_changes",
           "block_top_ups", "cap_changes", "contract_end", "fixed_fee_changes",
           "price_change_items", "retainer_fees_in_force"]

RETAINER, FIXED_FEE = "retainer", "fixed_fee"


@dataclass(frozen=True, slots=True)
class ContractLine:
    """A line as agreed on the deal (or added by an amendment, then ``added`` is set)."""

    line_id: str
    kind: str  # time_and_materials | fixed_fee | retainer
    amount: Decimal | None  # fixed fee total, or the retainer's monthly fee
    description: str = ""


@dataclass(frozen=True, slots=True)
class AmendmentChange:
    """One change of a ``contract.amended``, as billing reads it."""

    amendment_id: str
    effective: date
    action: str  # add_line | change_price | remove_line | change_cap | top_up_block
    line_id: str = ""
    kind: str = ""
    amount: Decimal | None = None
    description: str = ""
    cap_id: str = ""
    limit: Decimal | None = None
    tolerance: Decimal | None = None
    hours: Decimal | None = None

    @property
    def order(self) -> tuple[date, str]:
        return self.effective, self.amendment_id


def _dec(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


def amendment_changes(amendment_id: str, effective: date,
                      changes: Iterable[Mapping[str, Any]]) -> tuple[AmendmentChange, ...]:
    """The changes of one stored amendment (its schema-valid ``changes`` list)."""
    return tuple(AmendmentChange(
        amendment_id=amendment_id, effective=effective, action=str(c["action"]),
        line_id=str(c.get("line_id") or ""), kind=str(c.get("kind") or ""),
        amount=_dec(c.get("amount")), description=str(c.get("description") or ""),
        cap_id=str(c.get("cap_id") or ""), limit=_dec(c.get("limit")),
        tolerance=_dec(c.get("tolerance")), hours=_dec(c.get("hours"))) for c in changes)


def _ordered(changes: Iterable[AmendmentChange]) -> list[AmendmentChange]:
    return sorted(changes, key=lambda c: c.order)


def retainer_fees_in_force(lines: Sequence[ContractLine], changes: Iterable[AmendmentChange],
                           currency: str) -> tuple[FeeChange, ...]:
    """The contract's monthly retainer fee as a step function: ``FeeChange(date.min, fee at
    the start)`` then one change per date on which the sum of the retainer lines in force
    changes. ``lines`` are the baseline lines (those the deal agreed, not added later)."""
    fee: dict[str, Decimal] = {ln.line_id: ln.amount or Decimal(0) for ln in lines
                               if ln.kind == RETAINER}
    kind = {ln.line_id: ln.kind for ln in lines}

    def total() -> Money:
        return Money(sum(fee.values(), Decimal(0)), currency)

    out = [FeeChange(date.min, total())]
    for c in _ordered(changes):
        if c.action == "add_line":
            kind[c.line_id] = c.kind or FIXED_FEE
            if kind[c.line_id] == RETAINER:
                fee[c.line_id] = c.amount or Decimal(0)
        elif c.action == "change_price" and kind.get(c.line_id) == RETAINER:
            fee[c.line_id] = c.amount or Decimal(0)
        elif c.action == "remove_line" and c.line_id in fee:
            del fee[c.line_id]
        else:
            continue
        now = total()
        if out[-1].effective == c.effective:
            out[-1] = FeeChange(c.effective, now)
        elif now != out[-1].monthly_fee:
            out.append(FeeChange(c.effective, now))
    return tuple(out)


def cap_changes(changes: Iterable[AmendmentChange],
                currency: str) -> dict[str, tuple[CapChange, ...]]:
    """Per cap id, its limit changes in effective order."""
    out: dict[str, list[CapChange]] = {}
    for c in _ordered(changes):
        if c.action == "change_cap" and c.limit is not None:
            out.setdefault(c.cap_id, []).append(
                CapChange(c.effective, Money(c.limit, currency), c.tolerance, c.amendment_id))
    return {k: tuple(v) for k, v in out.items()}


def block_top_ups(changes: Iterable[AmendmentChange]) -> tuple[AmendmentChange, ...]:
    """The ``top_up_block`` changes, in effective order."""
    return tuple(c for c in _ordered(changes) if c.action == "top_up_block")


def fixed_fee_changes(lines: Sequence[ContractLine],
                      changes: Iterable[AmendmentChange]) -> tuple[tuple[AmendmentChange,
                                                                          Decimal], ...]:
    """(change, amount to bill differently) per fixed-fee change: a ``change_price`` of a
    fixed-fee line with its difference from the price in force before it, an added fixed-fee
    line with its whole amount. Changes of zero are left out."""
    price: dict[str, Decimal] = {ln.line_id: ln.amount or Decimal(0) for ln in lines
                                 if ln.kind == FIXED_FEE}
    out: list[tuple[AmendmentChange, Decimal]] = []
    for c in _ordered(changes):
        if c.action == "add_line" and (c.kind or FIXED_FEE) == FIXED_FEE:
            price[c.line_id] = c.amount or Decimal(0)
            delta = price[c.line_id]
        elif c.action == "change_price" and c.line_id in price:
            delta = (c.amount or Decimal(0)) - price[c.line_id]
            price[c.line_id] = c.amount or Decimal(0)
        else:
            continue
        if delta:
            out.append((c, delta))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class MilestoneState:
    milestone_id: str
    name: str
    amount: Money
    completed_on: date | None


def price_change_items(contract_number: str, currency: str,
                       changes: Sequence[tuple[AmendmentChange, Decimal]],
                       milestones: Sequence[MilestoneState], cycle_end: date, *,
                       billed: Collection[str] = ()) -> tuple[BillableItem, ...]:
    """The items the fixed-fee changes bill by ``cycle_end`` (see the module doc), those
    whose keys are not in ``billed``."""
    out: list[BillableItem] = []
    for change, delta in changes:
        open_ = [m for m in milestones
                 if m.completed_on is None or m.completed_on >= change.effective]
        if change.action == "change_price" and open_:
            shares = Money(delta, currency).split([m.amount.amount for m in open_])
            for m, share in zip(open_, shares, strict=True):
                if m.completed_on is None or m.completed_on > cycle_end or share.is_zero:
                    continue
                out.append(BillableItem(
                    key=f"milestone:{m.milestone_id}:{change.amendment_id}",
                    contract_number=contract_number, source=ItemSource.MILESTONE,
                    service_date=m.completed_on, description=(
                        f"Milestone: {m.name} — price change {change.amendment_id}"),
                    quantity=Decimal(1), unit_price=share, amount=share,
                    line_id=change.line_id))
            continue
        if change.action == "change_price" and not milestones:
            continue  # the line is not billed by milestones here: neither is its change
        if change.effective <= cycle_end:
            label = (f"{change.description or change.line_id} (amendment "
                     f"{change.amendment_id})" if change.action == "add_line" else
                     f"Price change of {change.line_id} (amendment {change.amendment_id})")
            out.append(adjustment_item(
                f"amendment:{change.amendment_id}:{change.line_id}", contract_number,
                change.effective, label, Money(delta, currency).rounded()))
    return tuple(i for i in out if i.key not in billed)


def contract_end(end: date, amendments: Iterable[tuple[date, str, date | None]]) -> date:
    """The contract's last service day: ``end``, or the ``end_date`` of the latest-effective
    amendment (effective date, amendment id, end date) that states one."""
    stated = sorted((eff, aid, new) for eff, aid, new in amendments if new is not None)
    return stated[-1][2] if stated and stated[-1][2] is not None else end

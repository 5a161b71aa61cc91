"""Fixed fees billed on a milestone schedule, by amounts or by percentages.

A schedule states either every milestone's amount (they must sum to the fee) or every
milestone's percentage (they must sum to 100). Percentages are turned into amounts with the
largest-remainder rule at the currency's minor unit (``Money.split``), so the amounts always
sum exactly to the fee: 30 % / 30 % / 40 % of 100.01 is 30.00 + 30.00 + 40.01.
A milestone is billable once completed (with its completion date) and only once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from syncline.billing.items import BillableItem, milestone_item
from syncline.domain.errors import BusinessDomain, Problem
from syncline.ledger.money import Money, total

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class ScheduledMilestone:
    milestone_id: str
    name: str
    amount: Money | None = None
    percent: Decimal | None = None  # Decimal("30") for 30 %


@dataclass(frozen=True, slots=True)
class FixedFeeSchedule:
    contract_number: str
    fee: Money
    milestones: tuple[ScheduledMilestone, ...]
    line_id: str = ""


@dataclass(frozen=True, slots=True)
class ScheduleInvalid:
    contract_number: str
    message: str

    def problem(self) -> Problem:
        return Problem(
            code="billing.milestone_schedule_invalid", domain=BusinessDomain.BILLING,
            message=f"contract {self.contract_number}: {self.message}",
            remediation=("Correct the milestone schedule in the CPQ so that amounts sum to the "
                         "fee (or percentages to 100), then replay the contract."),
            objects=(("contract", self.contract_number),),
        )


def schedule_amounts(
    schedule: FixedFeeSchedule,
) -> tuple[tuple[ScheduledMilestone, Money], ...] | ScheduleInvalid:
    ms = schedule.milestones
    fee = schedule.fee.rounded()
    bad = ScheduleInvalid
    if not ms:
        return bad(schedule.contract_number, "the schedule has no milestones")
    if all(m.percent is not None and m.amount is None for m in ms):
        pcts = [m.percent or Decimal(0) for m in ms]
        if any(p < 0 for p in pcts) or sum(pcts, Decimal(0)) != HUNDRED:
            return bad(schedule.contract_number,
                       f"milestone percentages sum to {sum(pcts, Decimal(0))}, not 100")
        return tuple(zip(ms, fee.split(pcts), strict=True))
    if all(m.amount is not None and m.percent is None for m in ms):
        amounts = [m.amount for m in ms if m.amount is not None]
        if any(a.currency != fee.currency for a in amounts):
            return bad(schedule.contract_number, f"milestone amounts not all in {fee.currency}")
        stated = total((a.rounded() for a in amounts), fee.currency)
        if stated != fee:
            return bad(schedule.contract_number,
                       f"milestone amounts sum to {stated}, the fee is {fee}")
        return tuple((m, a.rounded()) for m, a in zip(ms, amounts, strict=True))
    return bad(schedule.contract_number,
               "each milestone needs an amount or a percentage (not both, and not a mix)")


def milestone_items(
    schedule: FixedFeeSchedule, completed: Mapping[str, date], *, billed: Collection[str] = (),
) -> tuple[BillableItem, ...] | ScheduleInvalid:
    """Items for the completed milestones not yet billed, in schedule order."""
    amounts = schedule_amounts(schedule)
    if isinstance(amounts, ScheduleInvalid):
        return amounts
    out = []
    for m, amount in amounts:
        on = completed.get(m.milestone_id)
        if on is None:
            continue
        item = milestone_item(m.milestone_id, m.name, schedule.contract_number, on, amount,
                              line_id=schedule.line_id)
        if item.key not in billed:
            out.append(item)
    return tuple(out)

"""Fixed-fee invoices on a milestone schedule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from syncline.billing.milestones import (
    FixedFeeSchedule,
    ScheduledMilestone,
    ScheduleInvalid,
    milestone_items,
    schedule_amounts,
)

from .builders import usd


def _pct(*pcts: str) -> FixedFeeSchedule:
    return FixedFeeSchedule("C-2", usd("10000"), tuple(
        ScheduledMilestone(f"M-{n}", f"Phase {n}", percent=Decimal(p))
        for n, p in enumerate(pcts, 1)))


def test_percentages_split_by_largest_remainder_and_sum_to_the_fee() -> None:
    schedule = FixedFeeSchedule("C-2", usd("100.01"), tuple(
        ScheduledMilestone(f"M-{n}", f"Phase {n}", percent=Decimal(p))
        for n, p in enumerate(("30", "30", "40"), 1)))
    amounts = schedule_amounts(schedule)
    assert not isinstance(amounts, ScheduleInvalid)
    assert [a.canonical() for _, a in amounts] == ["30.00 USD", "30.00 USD", "40.01 USD"]


def test_only_completed_milestones_bill_and_only_once() -> None:
    schedule = _pct("30", "50", "20")
    done = {"M-1": date(2026, 2, 10), "M-2": date(2026, 3, 20)}
    items = milestone_items(schedule, done, billed={"milestone:M-1"})
    assert not isinstance(items, ScheduleInvalid)
    assert [(i.key, i.description, i.amount.canonical(), i.service_date) for i in items] == [
        ("milestone:M-2", "Milestone: Phase 2", "5000.00 USD", date(2026, 3, 20)),
    ]


def test_amount_schedules_must_sum_to_the_fee() -> None:
    ok = FixedFeeSchedule("C-2", usd("900"), (
        ScheduledMilestone("M-1", "Design", amount=usd("400")),
        ScheduledMilestone("M-2", "Build", amount=usd("500"))))
    assert [a.canonical() for _, a in schedule_amounts(ok)] == [  # type: ignore[union-attr]
        "400.00 USD", "500.00 USD"]
    short = FixedFeeSchedule("C-2", usd("1000"), ok.milestones)
    bad = schedule_amounts(short)
    assert isinstance(bad, ScheduleInvalid)
    assert bad.problem().code == "billing.milestone_schedule_invalid"
    assert isinstance(schedule_amounts(_pct("30", "60")), ScheduleInvalid)

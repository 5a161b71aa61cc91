"""Periods open, closed or locked; what posts where (DESIGN.md §7 Ledger)."""

from datetime import date

from syncline.ledger.journal import JournalEntry, Side, line
from syncline.ledger.money import Money
from syncline.ledger.periods import (
    ClosedPeriodPolicy,
    Period,
    PeriodStatus,
    PeriodTransitionRefused,
    PostingRefused,
    check_posting,
    close,
    lock,
    next_period,
    reopen,
)

OPEN, CLOSED, LOCKED = PeriodStatus.OPEN, PeriodStatus.CLOSED, PeriodStatus.LOCKED


def entry(day: date, entity: str = "US01") -> JournalEntry:
    amount = Money.of("10", "USD")
    return JournalEntry(entity, day, "Approved time tim_1",
                        (line("5000", Side.DEBIT, amount), line("2100", Side.CREDIT, amount)),
                        "time.approved", "tim_1")


PERIODS = (
    Period("US01", "2024-01", LOCKED),
    Period("US01", "2024-02", CLOSED),
    Period("US01", "2024-03", OPEN),
    Period("US01", "2024-04", OPEN),
    Period("UK01", "2024-02", OPEN),
)


def test_entry_in_an_open_period_posts_unchanged() -> None:
    e = entry(date(2024, 3, 31))
    assert check_posting(e, PERIODS) is e


def test_entry_in_a_closed_period_is_refused_as_a_finance_exception() -> None:
    refused = check_posting(entry(date(2024, 2, 29)), PERIODS)
    assert isinstance(refused, PostingRefused)
    assert (refused.reason, refused.period, refused.domain) == ("period_closed", "2024-02",
                                                                "finance")
    assert "reopen" in refused.remediation


def test_entry_in_a_locked_period_is_refused() -> None:
    refused = check_posting(entry(date(2024, 1, 2)), PERIODS)
    assert isinstance(refused, PostingRefused) and refused.reason == "period_locked"


def test_periods_are_per_entity() -> None:
    assert check_posting(entry(date(2024, 2, 10), "UK01"), PERIODS) == entry(date(2024, 2, 10),
                                                                             "UK01")
    refused = check_posting(entry(date(2024, 3, 10), "UK01"), PERIODS)
    assert isinstance(refused, PostingRefused) and refused.reason == "no_period"


def test_policy_moves_a_late_entry_to_the_next_open_period_with_a_reference() -> None:
    moved = check_posting(entry(date(2024, 2, 20)), PERIODS, ClosedPeriodPolicy.NEXT_OPEN)
    assert isinstance(moved, JournalEntry)
    assert moved.posting_date == date(2024, 3, 1)
    assert dict(moved.metadata) == {"moved_from_period": "2024-02",
                                    "original_posting_date": "2024-02-20"}
    assert "moved from closed period 2024-02" in moved.description
    also = check_posting(entry(date(2024, 1, 5)), PERIODS, ClosedPeriodPolicy.NEXT_OPEN)
    assert isinstance(also, JournalEntry) and also.posting_date == date(2024, 3, 1)


def test_policy_refuses_when_no_later_period_is_open() -> None:
    periods = (Period("US01", "2024-02", CLOSED), Period("US01", "2024-01", OPEN))
    refused = check_posting(entry(date(2024, 2, 20)), periods, ClosedPeriodPolicy.NEXT_OPEN)
    assert isinstance(refused, PostingRefused) and refused.reason == "no_open_period"


def test_transitions() -> None:
    p = Period("US01", "2024-03")
    closed = close(p)
    assert isinstance(closed, Period) and closed.status is CLOSED
    assert reopen(closed) == p
    locked = lock(closed)
    assert isinstance(locked, Period) and locked.status is LOCKED
    assert isinstance(reopen(locked), PeriodTransitionRefused)
    assert isinstance(lock(p), PeriodTransitionRefused)  # close first, then lock


def test_period_names() -> None:
    assert next_period("2024-12") == "2025-01"
    assert next_period("2024-03") == "2024-04"
    try:
        Period("US01", "2024-13")
    except ValueError:
        pass
    else:
        raise AssertionError("2024-13 is not a period")

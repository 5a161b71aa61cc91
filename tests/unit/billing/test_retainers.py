"""Retainer invoices: which months a cycle bills, prorated, and drawdown hours."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from syncline.billing.retainers import RetainerTerms, Timing, draw_down, retainer_fees

from .builders import hours, usd


def _terms(timing: Timing, start: str = "2026-01-01", end: str | None = None) -> RetainerTerms:
    return RetainerTerms("C-7", usd("3100"), date.fromisoformat(start),
                         date.fromisoformat(end) if end else None, timing)


@pytest.mark.parametrize(
    ("timing", "start", "end", "cycle_end", "expected"),
    [
        # in arrears, March's cycle bills March
        (Timing.ARREARS, "2026-01-01", None, "2026-03-31",
         [("retainer:C-7:2026-03", "3100.00 USD", False, "Retainer fee March 2026")]),
        # in advance, March's cycle bills April (deferred until April passes)
        (Timing.ADVANCE, "2026-01-01", None, "2026-03-31",
         [("retainer:C-7:2026-04", "3100.00 USD", True, "Retainer fee April 2026")]),
        # first month prorated: starts 17 March, 15 of 31 days
        (Timing.ARREARS, "2026-03-17", None, "2026-03-31",
         [("retainer:C-7:2026-03", "1500.00 USD", False,
           "Retainer fee March 2026 (prorated 15/31 days)")]),
        # last month prorated: ends 10 April, 10 of 30 days; nothing after the end
        (Timing.ADVANCE, "2026-01-01", "2026-04-10", "2026-03-31",
         [("retainer:C-7:2026-04", "1033.33 USD", True,
           "Retainer fee April 2026 (prorated 10/30 days)")]),
        (Timing.ADVANCE, "2026-01-01", "2026-03-31", "2026-03-31", []),
    ],
)
def test_which_month_a_cycle_bills(timing: Timing, start: str, end: str | None,
                                   cycle_end: str, expected: list[tuple[str, str, bool, str]],
                                   ) -> None:
    terms = _terms(timing, start, end)
    cycle = date.fromisoformat(cycle_end)
    earlier = {f"retainer:C-7:2026-{m:02d}" for m in range(1, cycle.month + 1)
               if timing is Timing.ADVANCE or m < cycle.month}
    got = retainer_fees(terms, cycle, billed=earlier)
    assert [(i.key, i.amount.canonical(), i.deferred, i.description) for i in got] == expected


def test_a_missed_cycle_catches_up_and_a_repeated_one_adds_nothing() -> None:
    terms = _terms(Timing.ARREARS)
    got = retainer_fees(terms, date(2026, 3, 31), billed={"retainer:C-7:2026-01"})
    assert [i.key for i in got] == ["retainer:C-7:2026-02", "retainer:C-7:2026-03"]
    again = retainer_fees(terms, date(2026, 3, 31), billed={"retainer:C-7:2026-01",
                                                            *(i.key for i in got)})
    assert again == ()


def test_drawdown_covers_included_hours_and_bills_overage_at_rate() -> None:
    terms = RetainerTerms("C-7", usd("5000"), date(2026, 1, 1), included_hours=Decimal(20),
                          overage_rate=usd("200"))
    month = [hours("TE-1", "2026-03-02", "8"), hours("TE-2", "2026-03-03", "10"),
             hours("TE-3", "2026-03-04", "6"), hours("TE-4", "2026-03-05", "1")]
    result = draw_down(terms, month)
    assert [(i.key, str(i.quantity), i.amount.canonical(), i.description) for i in result.items
            ] == [
        ("time:TE-1", "8", "0.00 USD", "Drawdown: consultant time 2026-03-02"),
        ("time:TE-2", "10", "0.00 USD", "Drawdown: consultant time 2026-03-03"),
        ("time:TE-3#covered", "2", "0.00 USD", "Drawdown: consultant time 2026-03-04"),
        ("time:TE-3#overage", "4", "800.00 USD", "Overage: consultant time 2026-03-04"),
        ("time:TE-4", "1", "200.00 USD", "Overage: consultant time 2026-03-05"),
    ]
    assert (result.hours_used, result.hours_remaining) == (Decimal(20), Decimal(0))

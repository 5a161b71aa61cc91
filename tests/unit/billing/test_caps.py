"""Caps read like invoices: timesheet rows in, billed / written-off / held rows out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from syncline.billing.caps import Cap, CapKind, CapScope, apply_caps
from syncline.billing.items import ItemSource
from syncline.ledger.money import total

from .builders import hours, usd

WEEK = [
    hours("TE-1", "2026-03-02", "8"),   # 1,200.00
    hours("TE-2", "2026-03-03", "8"),   # 1,200.00
    hours("TE-3", "2026-03-04", "4"),   #   600.00
]


def _rows(items):  # type: ignore[no-untyped-def]
    return [(i.key, str(i.quantity), i.amount.canonical()) for i in items]


def test_soft_cap_bills_to_the_cap_and_shows_the_write_off_as_a_line() -> None:
    cap = Cap("NTE-1", CapScope.CONTRACT, "C-1", usd("2000"), CapKind.SOFT)
    result = apply_caps(WEEK, [cap])
    assert _rows(result.billable) == [
        ("time:TE-1", "8", "1200.00 USD"),
        ("time:TE-2#cap", "5.3333", "800.00 USD"),
        ("time:TE-2#over", "2.6667", "400.00 USD"),
        ("adjustment:cap:NTE-1:time:TE-2#over", "-2.6667", "-400.00 USD"),
        ("time:TE-3", "4", "600.00 USD"),
        ("adjustment:cap:NTE-1:time:TE-3", "-4", "-600.00 USD"),
    ]
    assert total((i.amount for i in result.billable), "USD") == usd("2000")
    assert result.held == ()
    assert result.consumed_by("NTE-1") == usd("2000")
    assert result.adjustments[0].description == "Not-to-exceed NTE-1 (2,000.00 USD) adjustment"


def test_hard_cap_holds_the_excess_for_approval() -> None:
    cap = Cap("NTE-1", CapScope.CONTRACT, "C-1", usd("2000"), CapKind.HARD)
    result = apply_caps(WEEK, [cap])
    assert _rows(result.billable) == [
        ("time:TE-1", "8", "1200.00 USD"),
        ("time:TE-2#cap", "5.3333", "800.00 USD"),
    ]
    assert [(h.item.key, h.item.amount.canonical(), h.cap_id) for h in result.held] == [
        ("time:TE-2#over", "400.00 USD", "NTE-1"),
        ("time:TE-3", "600.00 USD", "NTE-1"),
    ]


def test_split_parts_sum_exactly_to_the_original() -> None:
    cap = Cap("NTE-1", CapScope.CONTRACT, "C-1", usd("1000.01"), CapKind.HARD)
    item = hours("TE-9", "2026-03-02", "7.33", "137.77")
    result = apply_caps([item], [cap])
    (within,), (held,) = result.billable, result.held
    assert within.amount + held.item.amount == item.amount
    assert within.quantity + held.item.quantity == item.quantity
    assert within.origin == held.item.origin == "time:TE-9"
    assert within.split_of == held.item.split_of == "time:TE-9"


@pytest.mark.parametrize(
    ("tolerance", "billed_before", "billed_now", "held_now"),
    [
        # limit 2,000 with 5 % tolerance: ceiling 2,100
        ("0.05", "0", "2100.00", "900.00"),
        ("0", "0", "2000.00", "1000.00"),
        ("0.05", "1500", "600.00", "2400.00"),
        ("0.05", "2100", "0.00", "3000.00"),
    ],
)
def test_tolerance_and_what_was_billed_before(
    tolerance: str, billed_before: str, billed_now: str, held_now: str,
) -> None:
    cap = Cap("NTE-1", CapScope.CONTRACT, "C-1", usd("2000"), CapKind.HARD, Decimal(tolerance))
    result = apply_caps(WEEK, [cap], billed_to_date={"NTE-1": usd(billed_before)})
    assert total((i.amount for i in result.billable), "USD") == usd(billed_now)
    assert total((h.item.amount for h in result.held), "USD") == usd(held_now)


def test_approved_overrun_is_billed_past_a_hard_cap() -> None:
    cap = Cap("NTE-1", CapScope.CONTRACT, "C-1", usd("1000"), CapKind.HARD)
    first = apply_caps(WEEK[:1], [cap])
    (held,) = first.held
    again = apply_caps([held.item], [cap], billed_to_date=dict(first.consumed),
                       approved={held.item.key})
    assert _rows(again.billable) == [("time:TE-1#over", "1.3333", "200.00 USD")]
    assert again.consumed_by("NTE-1") == usd("1200")


def test_the_tightest_cap_binds_line_inside_contract() -> None:
    line_cap = Cap("L-1", CapScope.LINE, "LINE-A", usd("500"), CapKind.SOFT)
    contract_cap = Cap("NTE-1", CapScope.CONTRACT, "C-1", usd("5000"), CapKind.HARD)
    items = [hours("TE-1", "2026-03-02", "8", line_id="LINE-A"),
             hours("TE-2", "2026-03-02", "8", line_id="LINE-B")]
    result = apply_caps(items, [line_cap, contract_cap])
    assert _rows(result.billable) == [
        ("time:TE-1#cap", "3.3333", "500.00 USD"),
        ("time:TE-1#over", "4.6667", "700.00 USD"),
        ("adjustment:cap:L-1:time:TE-1#over", "-4.6667", "-700.00 USD"),
        ("time:TE-2", "8", "1200.00 USD"),
    ]
    assert result.consumed_by("NTE-1") == usd("1700")


def test_budget_cap_and_uncapped_sources_pass_through() -> None:
    cap = Cap("PO-7", CapScope.BUDGET, "PO-7", usd("100"), CapKind.HARD)
    item = hours("TE-1", "2026-03-02", "8", budget_id="PO-8")
    assert apply_caps([item], [cap]).billable == (item,)
    capped = hours("TE-2", "2026-03-02", "1", budget_id="PO-7")
    assert _rows(apply_caps([capped], [cap]).billable) == [
        ("time:TE-2#cap", "0.6667", "100.00 USD"),
    ]
    assert ItemSource.MILESTONE not in cap.sources


@pytest.mark.parametrize("order", ["hard first", "soft first"])
def test_equal_headroom_hard_binds_before_soft(order: str) -> None:
    """A contract hard cap and a line soft cap, both with 1,000.00 of headroom; one 8 h item
    of 1,200.00 on the line. Ties on headroom go hard before soft (then cap id, which here
    would favour the soft "A-LINE"): 1,000.00 is billed and the 200.00 over is held for
    approval at the hard cap, nothing written off, whatever order the caps are given in."""
    hard = Cap("Z-NTE", CapScope.CONTRACT, "C-1", usd("1500"), CapKind.HARD)
    soft = Cap("A-LINE", CapScope.LINE, "LINE-A", usd("1000"), CapKind.SOFT)
    caps = [hard, soft] if order == "hard first" else [soft, hard]
    result = apply_caps([hours("TE-1", "2026-03-02", "8", line_id="LINE-A")], caps,
                        billed_to_date={"Z-NTE": usd("500")})  # 1,500 - 500 = 1,000 left
    assert _rows(result.billable) == [("time:TE-1#cap", "6.6667", "1000.00 USD")]
    assert result.adjustments == ()
    assert [(h.item.key, h.item.amount.canonical(), h.cap_id) for h in result.held] == [
        ("time:TE-1#over", "200.00 USD", "Z-NTE")]
    assert result.consumed_by("Z-NTE") == usd("1500")
    assert result.consumed_by("A-LINE") == usd("1000")


def test_equal_headroom_and_kind_falls_back_to_cap_id() -> None:
    """Two soft caps with 1,000.00 of headroom each: the one with the smaller id binds, so the
    write-off names it."""
    a = Cap("A-LINE", CapScope.LINE, "LINE-A", usd("1000"), CapKind.SOFT)
    b = Cap("B-NTE", CapScope.CONTRACT, "C-1", usd("1000"), CapKind.SOFT)
    result = apply_caps([hours("TE-1", "2026-03-02", "8", line_id="LINE-A")], [b, a])
    assert [i.key for i in result.adjustments] == ["adjustment:cap:A-LINE:time:TE-1#over"]
    assert result.held == ()

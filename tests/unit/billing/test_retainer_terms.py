"""Retainer terms from a date (pure): fee changes, the two advance conventions, prepaid
blocks; amendments read for billing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from syncline.billing.amendments import (
    ContractLine,
    amendment_changes,
    fixed_fee_changes,
    retainer_fees_in_force,
)
from syncline.billing.retainers import (
    AdvanceConvention,
    FeeChange,
    RetainerTerms,
    Timing,
    draw_down_block,
    invoice_date,
    prorated_fee,
    retainer_fees,
)

from .builders import hours, usd

D = Decimal


def test_a_month_with_a_fee_change_is_billed_by_its_stretches_rounded_once() -> None:
    """2,000.00 to 14 Feb, 2,600.00 from the 15th: (2,000 × 14 + 2,600 × 14) / 28 = 2,300.00;
    a change on 10 March in a month of 31 days: (2,600 × 9 + 3,100 × 22) / 31 = 2,954.84."""
    terms = RetainerTerms("C-1", usd("2000"), date(2026, 1, 1), None, Timing.ARREARS,
                          fee_changes=(FeeChange(date(2026, 2, 15), usd("2600")),
                                       FeeChange(date(2026, 3, 10), usd("3100"))))
    assert prorated_fee(terms, date(2026, 2, 1)) == (usd("2300.00"), 28, 28)
    assert prorated_fee(terms, date(2026, 3, 1)) == (usd("2954.84"), 31, 31)
    assert prorated_fee(terms, date(2026, 4, 1)) == (usd("3100.00"), 30, 30)


def test_a_billed_month_whose_fee_changed_is_billed_the_difference_once() -> None:
    terms = RetainerTerms("C-1", usd("3000"), date(2026, 1, 1), None, Timing.ADVANCE,
                          fee_changes=(FeeChange(date(2026, 2, 1), usd("3600")),))
    billed = {"retainer:C-1:2026-01", "retainer:C-1:2026-02"}
    amounts = {"retainer:C-1:2026-01": usd("3000"), "retainer:C-1:2026-02": usd("3000")}
    got = retainer_fees(terms, date(2026, 2, 28), billed=billed, billed_amounts=amounts)
    assert [(i.key, i.amount.canonical(), i.deferred) for i in got] == [
        ("retainer:C-1:2026-02@r2", "600.00 USD", False),
        ("retainer:C-1:2026-03", "3600.00 USD", True)]
    again = retainer_fees(terms, date(2026, 2, 28), billed=billed | {i.key for i in got},
                          billed_amounts=amounts | {"retainer:C-1:2026-02": usd("3600"),
                                                    "retainer:C-1:2026-03": usd("3600")})
    assert again == ()


def test_current_month_bills_the_month_itself_on_its_first() -> None:
    terms = RetainerTerms("C-1", usd("3000"), date(2026, 1, 1), None, Timing.ADVANCE,
                          convention=AdvanceConvention.CURRENT_MONTH)
    got = retainer_fees(terms, date(2026, 1, 31))
    assert [(i.key, i.deferred) for i in got] == [("retainer:C-1:2026-01", False)]
    assert invoice_date(terms, date(2026, 1, 31)) == date(2026, 1, 1)
    nxt = RetainerTerms("C-1", usd("3000"), date(2026, 1, 1), None, Timing.ADVANCE)
    assert [i.key for i in retainer_fees(nxt, date(2026, 1, 31))] == [
        "retainer:C-1:2026-01", "retainer:C-1:2026-02"]
    assert invoice_date(nxt, date(2026, 1, 31)) == date(2026, 1, 31)


def test_a_block_is_drawn_across_months_and_a_top_up_from_its_date() -> None:
    """Block 10 h; 8 h used before. T-1 (Mar 5, 4 h): 2 covered, 2 overage at 180; top-up
    5 h from Mar 10; T-2 (Mar 12, 4 h): 15 − 10 = 5 left → covered."""
    grants = [(date(2026, 1, 1), D(10)), (date(2026, 3, 10), D(5))]
    got = draw_down_block(grants, usd("180"), [hours("T-1", "2026-03-05", "4"),
                                               hours("T-2", "2026-03-12", "4")],
                          hours_used_before=D(8))
    assert [(i.key, str(i.quantity), i.amount.canonical()) for i in got.items] == [
        ("time:T-1#covered", "2", "0.00 USD"), ("time:T-2", "4", "0.00 USD"),
        ("time:T-1#overage", "2", "360.00 USD")]
    assert (got.hours_used, got.hours_remaining) == (D(14), D(1))


def test_amendments_read_for_billing_in_effective_order() -> None:
    lines = [ContractLine("L1", "retainer", D(2000)), ContractLine("F1", "fixed_fee", D(9000))]
    late = amendment_changes("A-2", date(2026, 2, 1), [
        {"action": "change_price", "line_id": "L1", "amount": "2500"},
        {"action": "change_price", "line_id": "F1", "amount": "9500"}])
    early = amendment_changes("A-1", date(2026, 1, 15), [
        {"action": "add_line", "line_id": "L2", "kind": "retainer", "amount": "300"},
        {"action": "change_cap", "cap_id": "NTE-1", "limit": "5000"}])
    fees = retainer_fees_in_force(lines, late + early, "USD")
    assert [(f.effective, f.monthly_fee) for f in fees] == [
        (date.min, usd("2000")), (date(2026, 1, 15), usd("2300")),
        (date(2026, 2, 1), usd("2800"))]
    assert [(c.amendment_id, d) for c, d in fixed_fee_changes(lines, late + early)] == [
        ("A-2", D(500))]

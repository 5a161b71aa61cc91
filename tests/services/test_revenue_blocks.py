"""Revenue of a prepaid block of hours (issue 9, finding 10; docs/revenue.md, "Prepaid blocks
of hours"): the block's price is recognised as its hours are drawn, a top-up adds hours and
price from its date, overage is the right to invoice, and the unused block is recognised at
the term's end (breakage at expiry). The arithmetic is in each docstring."""

from __future__ import annotations

from decimal import Decimal

from syncline.bootstrap import Syncline
from syncline.services.revenue.statement import contract_month
from syncline.services.revenue.sync import DEFAULT_POLICY
from tests.builders import worker
from tests.services.test_billing_retainers import amend, block, hours
from tests.services.test_billing_wiring import ingest, run

D = Decimal


def revenue(system: Syncline, *periods: str, bill: bool = True) -> list[Decimal]:
    out = []
    for p in periods:
        if bill:
            run(system, p)
        with system.engine.connect() as conn:
            month = contract_month(conn, "C-1", p, DEFAULT_POLICY)
        assert month is not None
        out.append(D(month["revenue"]))
    return out


def test_a_topped_up_block_is_recognised_as_its_hours_are_drawn(system: Syncline) -> None:
    """40 h for 6,000.00 (overage 180.00/h); A-1 adds 10 h for 1,500.00 from 2026-03-10.
    January T-1 15 h: 6,000 × 15/40 = 2,250.00. February T-2 20 h: 6,000 × 35/40 = 5,250.00
    cumulative → 3,000.00. March: T-0 (03-05, 6 h) draws the last 5 h of the block (6,000.00)
    and 1 h overage (180.00); from 03-10, 7,500 × 40/50 = 6,000.00 (same hourly price: no
    catch-up); T-3 (03-16, 10 h) → 7,500 × 50/50 = 7,500.00. March: 7,500 − 5,250 + 180 =
    2,430.00. Before: the retainer line read as a monthly fee of 6,000.00."""
    ingest(system, block(), worker(), hours("T-1", "2026-01-20", "15"),
           hours("T-2", "2026-02-17", "20"),
           amend("A-1", "2026-03-10", {"action": "top_up_block", "hours": "10",
                                       "amount": "1500"}),
           hours("T-0", "2026-03-05", "6"), hours("T-3", "2026-03-16", "10"))
    assert revenue(system, "2026-01", "2026-02", "2026-03", "2026-04") == [
        D("2250.00"), D("3000.00"), D("2430.00"), D("0.00")]


def test_time_no_run_has_drawn_yet_draws_the_block_the_same_way(system: Syncline) -> None:
    """Recognition without a billing run: the approved time draws the block in service order
    (15 h, then 20 h): 2,250.00 and 3,000.00, as with the run."""
    ingest(system, block(), worker(), hours("T-1", "2026-01-20", "15"),
           hours("T-2", "2026-02-17", "20"))
    assert revenue(system, "2026-01", "2026-02", bill=False) == [D("2250.00"), D("3000.00")]


def test_the_unused_block_is_recognised_at_expiry(system: Syncline) -> None:
    """The term ends 2026-03-31 with 15 of 40 h drawn: January 2,250.00, February 0, March
    the breakage 6,000 − 2,250 = 3,750.00 on the last day (policy ``at_expiry``)."""
    d = block()
    d["data"]["contract"]["end_date"] = "2026-03-31"
    ingest(system, d, worker(), hours("T-1", "2026-01-20", "15"))
    assert revenue(system, "2026-01", "2026-02", "2026-03") == [
        D("2250.00"), D("0.00"), D("3750.00")]


def test_an_amendment_that_changes_only_billing_is_no_revenue_modification(
        system: Syncline) -> None:
    """A retainer of 2,000.00 a month to 2026-06-10, recognised ratably (whole months evenly,
    June by time): 2,000.83 × 4, 2,000.82, 662.53 (sum 10,666.67, what the term bills) with no
    amendment. A-1 (2026-02-15) only changes the consultant's rate, a billing term: revenue is
    the same and no modification is decided. Before: A-1 was an empty modification,
    classified prospective (25-13(a)), which re-spread the rest from February 15 (2,000.83,
    2,000.82, 2,000.83 …). (A-2, a top-up on a contract without a block, is refused.)"""
    from datetime import date

    from syncline.revenue import compute_schedule
    from syncline.services.revenue.facts import build_contract
    from tests.services.test_billing_retainers import retainer

    d = retainer("2000")
    d["data"]["contract"]["end_date"] = "2026-06-10"
    ingest(system, d, amend("A-1", "2026-02-15", {"action": "change_rate",
                                                  "role": "consultant", "rate": "250"}),
           amend("A-2", "2026-03-01", {"action": "top_up_block", "hours": "1",
                                       "amount": "1"}))
    months = ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06")
    assert revenue(system, *months, bill=False) == [D("2000.83")] * 4 + [D("2000.82"),
                                                                       D("662.53")]
    with system.engine.connect() as conn:
        rc = build_contract(conn, "C-1")
    assert rc is not None
    assert compute_schedule(rc, DEFAULT_POLICY, date(2026, 6, 30)).decisions == ()

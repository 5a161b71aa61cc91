"""Retainers from their effective dates (issue 9, findings 4, 5 and 10b): fee changes of
``contract.amended`` bill from their date, both conventions of billing in advance, and a
prepaid block of hours drawn down across months with overage and top-ups. Each story on a
real SQLite file; the arithmetic in the docstrings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.tables import billable_items, invoices
from syncline.bootstrap import Syncline
from tests.builders import deal, event, time_entry, worker
from tests.services.test_billing_wiring import ingest, lines_of, run, with_terms

D = Decimal


def retainer(fee: str = "2000", **terms: Any) -> dict[str, Any]:
    return with_terms(deal(billing_type="retainer", amount=fee, rates=[]),
                      retainer={"timing": "arrears"} | terms)


def amend(amendment_id: str, effective: str, *changes: dict[str, Any],
          end_date: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"deal_id": "D-1", "amendment_id": amendment_id,
                            "effective_date": effective, "changes": list(changes)}
    if end_date:
        data["end_date"] = end_date
    return event("contract.amended", "deal/D-1", data, source="crm/salesforce", sequence=2)


def billed(system: Syncline, *periods: str) -> list[Decimal]:
    out = []
    for p in periods:
        r = run(system, p)
        out.append(sum((a for n in r.invoices for *_, a in lines_of(system, n)), D(0)))
    return out


def test_a_fee_change_bills_from_its_effective_date(system: Syncline) -> None:
    """Arrears 2,000.00 a month; L1 changed to 2,600.00 from 2026-02-15 (amendment known
    before any run). January 2,000.00; February 2,000 × 14/28 + 2,600 × 14/28 = 1,000.00 +
    1,300.00 = 2,300.00; March 2,600.00. Before: 2,000.00 every month (change ignored)."""
    ingest(system, retainer(), amend("A-1", "2026-02-15", {
        "action": "change_price", "line_id": "L1", "amount": "2600"}))
    assert billed(system, "2026-01", "2026-02", "2026-03") == [
        D("2000.00"), D("2300.00"), D("2600.00")]
    assert lines_of(system, "US01-2026-000002")[0][0] == \
        "Retainer fee February 2026 (fee changed 15 Feb)"


def test_an_added_retainer_line_bills_from_its_date_and_a_removed_one_stops(
        system: Syncline) -> None:
    """Arrears L1 2,000.00; A-1 adds L2 500.00 from 2026-02-01; A-2 removes L2 from
    2026-03-16 (the 16th is the first day not billed: 15/31 of 500 = 241.94). January
    2,000.00 (before: 2,500.00 — every retainer line summed for every month); February
    2,500.00; March 2,000 + 241.94 = 2,241.94; April 2,000.00."""
    ingest(system, retainer(), amend("A-1", "2026-02-01", {
        "action": "add_line", "line_id": "L2", "kind": "retainer", "amount": "500"}),
        amend("A-2", "2026-03-16", {"action": "remove_line", "line_id": "L2"}))
    assert billed(system, "2026-01", "2026-02", "2026-03", "2026-04") == [
        D("2000.00"), D("2500.00"), D("2241.94"), D("2000.00")]


def test_a_fee_change_for_a_month_billed_ahead_bills_the_difference(system: Syncline) -> None:
    """In advance (next month) 3,000.00: January's run bills January and February. Then A-1
    raises the fee to 3,600.00 from 2026-02-01. February's run bills February's difference
    (3,600 − 3,000 = 600.00, retainer:C-1:2026-02@r2) and March ahead at 3,600.00; again:
    nothing more."""
    ingest(system, retainer("3000", timing="advance"))
    assert billed(system, "2026-01") == [D("6000.00")]
    ingest(system, amend("A-1", "2026-02-01", {
        "action": "change_price", "line_id": "L1", "amount": "3600"}))
    (feb,) = run(system, "2026-02").invoices
    assert sorted(a for *_, a in lines_of(system, feb)) == [D("600.00"), D("3600.00")]
    assert run(system, "2026-02").retainer_items == 0
    with system.engine.connect() as conn:
        keys = sorted(conn.execute(select(billable_items.c.key)).scalars())
    assert keys == ["retainer:C-1:2026-01", "retainer:C-1:2026-02",
                    "retainer:C-1:2026-02@r2", "retainer:C-1:2026-03"]


def test_an_earlier_end_date_stops_the_fee(system: Syncline) -> None:
    """Arrears 2,000.00; A-1 ends the contract 2026-02-10: February 10/28 × 2,000 = 714.29,
    nothing in March."""
    ingest(system, retainer(), amend("A-1", "2026-02-01", {
        "action": "change_price", "line_id": "L1", "amount": "2000"}, end_date="2026-02-10"))
    assert billed(system, "2026-01", "2026-02", "2026-03") == [
        D("2000.00"), D("714.29"), D("0")]


def dates(system: Syncline) -> list[str]:
    with system.engine.connect() as conn:
        return list(conn.execute(select(invoices.c.invoice_date).order_by(
            invoices.c.number)).scalars())


def test_advance_current_month_bills_each_month_itself_on_its_first(system: Syncline) -> None:
    """In advance, current_month convention, 3,000.00: January's run bills January only, on
    an invoice dated 2026-01-01; February's run February on 2026-02-01. Before: January's run
    billed January and February (6,000.00)."""
    ingest(system, retainer("3000", timing="advance", convention="current_month"))
    assert billed(system, "2026-01", "2026-02") == [D("3000.00"), D("3000.00")]
    assert dates(system) == ["2026-01-01", "2026-02-01"]
    with system.engine.connect() as conn:
        deferred = list(conn.execute(select(billable_items.c.deferred)).scalars())
    assert deferred == [False, False]  # the month starts on the invoice date


def test_advance_next_month_first_run_bills_the_first_month_and_the_next(system: Syncline
                                                                         ) -> None:
    """In advance, next_month (the default), 3,000.00 from 2026-01-01. Known in December:
    December's run bills January ahead (3,000.00, deferred). Not known until January: its
    first run (January's) bills January (late) and February (ahead): 6,000.00."""
    ingest(system, retainer("3000", timing="advance"))
    assert billed(system, "2025-12", "2026-01") == [D("3000.00"), D("3000.00")]
    assert dates(system) == ["2025-12-31", "2026-01-31"]


def test_advance_next_month_first_run_in_the_start_month_bills_two_months(system: Syncline
                                                                          ) -> None:
    ingest(system, retainer("3000", timing="advance"))
    assert billed(system, "2026-01") == [D("6000.00")]


def block(**more: Any) -> dict[str, Any]:
    return with_terms(deal(billing_type="retainer", amount="6000", rates=[]), retainer={
        "kind": "prepaid_block", "timing": "advance", "block_hours": "40",
        "overage_rate": "180"} | more)


def hours(entry: str, day: str, h: str) -> dict[str, Any]:
    return time_entry(entry, day=day, hours=h)


def test_a_prepaid_block_bills_once_and_draws_down_across_months(system: Syncline) -> None:
    """40 hours for 6,000.00, overage 180.00 an hour. January: the block 6,000.00 (billed
    ahead) and T-1 15 h covered (0.00). February: T-2 20 h covered (35 of 40): 0.00. March:
    T-3 10 h: 5 h covered, 5 h overage × 180 = 900.00. Before: no prepaid block (the
    deal's included hours were a monthly allowance)."""
    ingest(system, block(), worker(), hours("T-1", "2026-01-20", "15"))
    assert billed(system, "2026-01") == [D("6000.00")]
    assert lines_of(system, "US01-2026-000001") == [
        ("Prepaid block: 40 hours", D("1"), D("6000.00")),
        ("Drawdown: Consultant time", D("15"), D("0.00"))]
    ingest(system, hours("T-2", "2026-02-17", "20"))
    assert billed(system, "2026-02") == [D("0.00")]
    ingest(system, hours("T-3", "2026-03-16", "10"))
    assert billed(system, "2026-03") == [D("900.00")]
    assert lines_of(system, "US01-2026-000003") == [
        ("Drawdown: Consultant time", D("5"), D("0.00")),
        ("Overage: Consultant time", D("5"), D("900.00"))]


def test_a_block_topped_up_by_amendment_covers_later_work(system: Syncline) -> None:
    """As above, and A-1 tops the block up by 10 hours for 1,500.00 from 2026-03-10: March
    bills the top-up 1,500.00 once, and T-3's 10 h (2026-03-16) are covered: 50 − 35 = 15 h
    left. T-0 (2026-03-05, 6 h, before the top-up) draws the 5 h left of the block and 1 h
    overage (180.00) — the top-up's hours start on its date."""
    ingest(system, block(), worker(), hours("T-1", "2026-01-20", "15"),
           hours("T-2", "2026-02-17", "20"),
           amend("A-1", "2026-03-10", {"action": "top_up_block", "hours": "10",
                                       "amount": "1500"}))
    assert billed(system, "2026-01", "2026-02") == [D("6000.00"), D("0.00")]
    ingest(system, hours("T-0", "2026-03-05", "6"), hours("T-3", "2026-03-16", "10"))
    assert billed(system, "2026-03") == [D("1680.00")]
    assert lines_of(system, "US01-2026-000003") == [
        ("Prepaid block top-up A-1: 10 hours", D("1"), D("1500.00")),
        ("Drawdown: Consultant time", D("15"), D("0.00")),
        ("Overage: Consultant time", D("1"), D("180.00"))]
    assert billed(system, "2026-04") == [D("0")]


def test_a_top_up_without_a_block_is_refused(system: Syncline) -> None:
    from syncline.services.messaging.exceptions import list_exceptions

    ingest(system, retainer(), amend("A-1", "2026-03-10", {
        "action": "top_up_block", "hours": "10", "amount": "1500"}))
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
    assert exc.code == "amendment.no_prepaid_block"


def fixed(**kw: Any) -> dict[str, Any]:
    return deal(billing_type="fixed_fee", amount="10000", milestones=[
        {"milestone_id": "M-1", "name": "Design", "amount": "4000"},
        {"milestone_id": "M-2", "name": "Build", "amount": "3000"},
        {"milestone_id": "M-3", "name": "Go-live", "amount": "3000"}], **kw)


def done(milestone: str, day: str) -> dict[str, Any]:
    return event("milestone.completed", f"milestone/{milestone}", {
        "milestone_id": milestone, "project_code": "P-1", "completed_on": day,
        "evidence": {"accepted_by": "customer"}}, source="psa/kantata")


def test_a_fixed_fee_price_change_is_billed_with_the_open_milestones(system: Syncline) -> None:
    """Fixed fee 10,000.00 on M-1 4,000 / M-2 3,000 / M-3 3,000. M-1 done 2026-01-20. A-1
    raises L1 to 11,000.00 from 2026-02-01: the 1,000.00 goes to M-2 and M-3, open then, by
    their amounts 3,000 : 3,000 → 500.00 each, billed as each completes (M-2 in February:
    3,500.00; M-3 in March: 3,500.00). A-2 adds a fixed-fee line L2 of 2,000.00 from
    2026-03-10: billed in full in March. Before: 3,000.00 and 3,000.00, L2 never billed."""
    ingest(system, fixed(), done("M-1", "2026-01-20"),
           amend("A-1", "2026-02-01", {"action": "change_price", "line_id": "L1",
                                       "amount": "11000"}),
           amend("A-2", "2026-03-10", {"action": "add_line", "line_id": "L2",
                                       "kind": "fixed_fee", "amount": "2000",
                                       "description": "Data migration"}))
    assert billed(system, "2026-01") == [D("4000.00")]
    ingest(system, done("M-2", "2026-02-18"))
    assert billed(system, "2026-02") == [D("3500.00")]
    ingest(system, done("M-3", "2026-03-20"))
    (mar,) = run(system, "2026-03").invoices
    assert sorted(lines_of(system, mar)) == [
        ("Data migration (amendment A-2)", D("1"), D("2000.00")),
        ("Milestone: Go-live", D("1"), D("3000.00")),
        ("Milestone: Go-live — price change A-1", D("1"), D("500.00"))]


def test_a_price_change_after_every_milestone_is_billed_on_its_date(system: Syncline) -> None:
    """All three milestones done in January (10,000.00); A-1 lowers L1 to 9,400.00 from
    2026-02-01: no milestone is open, so −600.00 is billed on the date (February)."""
    ingest(system, fixed(), done("M-1", "2026-01-10"), done("M-2", "2026-01-20"),
           done("M-3", "2026-01-30"), amend("A-1", "2026-02-01", {
               "action": "change_price", "line_id": "L1", "amount": "9400"}))
    assert billed(system, "2026-01", "2026-02") == [D("10000.00"), D("-600.00")]


def test_an_earlier_end_takes_back_a_month_billed_ahead(system: Syncline) -> None:
    """In advance 3,000.00: January's run bills January and February. A-1 ends the contract
    on 2026-02-14: February is due 14/28 × 3,000 = 1,500.00, so February's run bills
    −1,500.00 (retainer:C-1:2026-02@r2) and nothing for March."""
    ingest(system, retainer("3000", timing="advance"))
    assert billed(system, "2026-01") == [D("6000.00")]
    ingest(system, amend("A-1", "2026-02-01", {
        "action": "change_price", "line_id": "L1", "amount": "3000"}, end_date="2026-02-14"))
    assert billed(system, "2026-02", "2026-03") == [D("-1500.00"), D("0")]

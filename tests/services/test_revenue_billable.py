"""Revenue from the right to invoice is exactly what is billable, and the contract balance is
exactly revenue minus net billed (issue 9, findings 2 and 9; the rule is in docs/revenue.md
"Right to invoice and contract balances").

Every contract bills consultant time at 200.00 an hour (tests.builders), USD, tax exempt.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.tables import billable_items
from syncline.bootstrap import Syncline
from syncline.revenue import balance_at, compute_schedule
from syncline.services.billing.requests import release_held_item
from syncline.services.billing.run import run_billing
from syncline.services.revenue.facts import build_contract
from syncline.services.revenue.sync import DEFAULT_POLICY, billed_net, recognize
from tests.builders import deal, event, rejection, time_entry, worker
from tests.services.test_billing_wiring import expense, with_terms
from tests.services.test_deal_to_invoice import ingest

JAN, FEB = date(2026, 1, 31), date(2026, 2, 28)


def bill(system: Syncline, period: str) -> Any:
    return run_billing(system.engine, period, system.ref, system.charts, system.clock(),
                       revenue_recognition="engine")


def revenue_and_balance(system: Syncline, number: str, as_of: date
                        ) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(cumulative revenue, net billed, contract asset, contract liability) at ``as_of``."""
    with system.engine.connect() as conn:
        rc = build_contract(conn, number)
        billed = billed_net(conn, number, as_of)
    assert rc is not None
    r = compute_schedule(rc, DEFAULT_POLICY, as_of)
    b = balance_at(r, as_of)
    cents = Decimal("0.01")
    return (b.revenue * cents, billed, b.contract_asset * cents, b.contract_liability * cents)


def test_credited_time_is_not_revenue_and_credit_notes_reduce_billed(system: Syncline) -> None:
    """T-1 8 h and T-2 8 h in January: invoiced 3,200.00. T-2 is rejected after invoicing:
    February's run credits it (credit note -1,600.00).
    Revenue = billable = 1,600.00; net billed = 3,200.00 - 1,600.00 = 1,600.00; balance 0
    (before: revenue 3,200.00 from the credited item, billed 4,800.00 by a sign slip, and
    the engine saw no credit note: a contract asset of 1,600.00 at February's end)."""
    ingest(system, deal(), worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    bill(system, "2026-01")
    ingest(system, rejection("T-2"))
    bill(system, "2026-02")
    assert revenue_and_balance(system, "C-1", FEB) == (
        Decimal("1600.00"), Decimal("1600.00"), Decimal(0), Decimal(0))


def test_soft_cap_write_off_is_not_revenue(system: Syncline) -> None:
    """Soft cap 2,000.00: T-1 8 h = 1,600.00 fits, T-2 8 h = 1,600.00 is split into 400.00
    within and 1,200.00 over, the over part written off (-1,200.00) on the invoice.
    Billable = 1,600 + 400 + 1,200 - 1,200 = 2,000.00 = revenue = billed; balance 0
    (before: revenue 3,200.00, a contract asset of 1,200.00)."""
    ingest(system, with_terms(deal(), caps=[{"cap_id": "NTE-1", "limit": "2000",
                                             "kind": "soft"}]),
           worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    bill(system, "2026-01")
    assert revenue_and_balance(system, "C-1", JAN) == (
        Decimal("2000.00"), Decimal("2000.00"), Decimal(0), Decimal(0))


def test_time_held_at_a_hard_cap_is_revenue_only_once_approved(system: Syncline) -> None:
    """Hard cap 2,000.00: T-2's 1,200.00 over the cap is held. January: revenue 2,000.00 =
    billed (before: 3,200.00 and a contract asset of 1,200.00 for time nobody may invoice).
    The hold approved in February is billed by February's run: revenue 3,200.00 = billed."""
    ingest(system, with_terms(deal(), caps=[{"cap_id": "NTE-1", "limit": "2000",
                                             "kind": "hard"}]),
           worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    bill(system, "2026-01")
    assert revenue_and_balance(system, "C-1", JAN) == (
        Decimal("2000.00"), Decimal("2000.00"), Decimal(0), Decimal(0))
    with system.engine.begin() as conn:
        assert release_held_item(conn, "time:T-2#over", by="cfo", now=system.clock())
    bill(system, "2026-02")
    assert revenue_and_balance(system, "C-1", FEB) == (
        Decimal("3200.00"), Decimal("3200.00"), Decimal(0), Decimal(0))


def test_rebilled_expenses_are_revenue_when_incurred(system: Syncline) -> None:
    """T-1 8 h = 1,600.00 and a hotel of 300.00 rebilled at a 10 % markup = 330.00, both
    invoiced in January: revenue 1,930.00 (1,600.00 time + 330.00 on the ``expenses``
    obligation) = billed (before: 1,600.00 and a contract liability of 330.00)."""
    ingest(system, with_terms(deal(), expenses={"policy": "markup", "markup_percent": "10"}),
           worker(), time_entry("T-1"), expense("EX-1", "300.00"))
    bill(system, "2026-01")
    assert revenue_and_balance(system, "C-1", JAN) == (
        Decimal("1930.00"), Decimal("1930.00"), Decimal(0), Decimal(0))
    with system.engine.connect() as conn:
        rc = build_contract(conn, "C-1")
    assert rc is not None
    r = compute_schedule(rc, DEFAULT_POLICY, JAN)
    assert r.line("expenses").cumulative[r.as_of_index] == 33000


def test_the_ledger_true_up_ties_to_revenue_minus_net_billed(system: Syncline) -> None:
    """The recognition true-up uses the same B: after the credit in February, revenue
    1,600.00, billed 1,600.00, so no unbilled receivable and no contract liability remain."""
    from syncline.adapters.db.tables import journal_entries, journal_lines

    ingest(system, deal(), worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    bill(system, "2026-01")
    recognize(system.engine, "2026-01", system.charts, system.clock())
    ingest(system, rejection("T-2"))
    bill(system, "2026-02")
    recognize(system.engine, "2026-02", system.charts, system.clock())
    with system.engine.connect() as conn:
        net: dict[str, Decimal] = {}
        for r in conn.execute(select(journal_lines.c.account, journal_lines.c.side,
                                     journal_lines.c.amount).join(journal_entries)):
            net[r.account] = net.get(r.account, Decimal(0)) + (
                r.amount if r.side == "debit" else -r.amount)
        assert conn.execute(select(billable_items.c.status).where(
            billable_items.c.key == "time:T-2")).scalar() == "credited"
    assert net.get("1150", Decimal(0)) == 0  # unbilled receivable
    assert net.get("2300", Decimal(0)) == 0  # contract liability
    assert -net["4010"] == Decimal("1600.00")  # revenue


def test_added_hours_line_progresses(system: Syncline) -> None:
    """A T&M contract amended on 2026-02-01 with a fixed-fee line L2 of 10,000.00 measured
    by hours against 100 estimated hours. 20 hours approved in February: revenue on L2 is
    20 / 100 x 10,000.00 = 2,000.00 (before: 0, actuals were built for the original lines)."""
    ingest(system, deal(), worker(), event("contract.amended", "deal/D-1", {
        "deal_id": "D-1", "amendment_id": "A-1", "effective_date": "2026-02-01",
        "changes": [{"action": "add_line", "line_id": "L2", "kind": "fixed_fee",
                     "description": "Data migration", "amount": "10000",
                     "estimated_hours": "100"}]}, sequence=2),
           time_entry("T-9", hours="20", day="2026-02-10"))
    with system.engine.connect() as conn:
        rc = build_contract(conn, "C-1")
    assert rc is not None
    r = compute_schedule(rc, DEFAULT_POLICY, FEB)
    assert r.line("L2").cumulative[r.as_of_index] == 200000


def test_a_reported_month_stays_as_reported_and_the_late_credit_lands_in_the_next(
        system: Syncline) -> None:
    """January recognised: 3,200.00. T-2 credited in February: the stored schedule keeps
    January at 3,200.00 and February carries −1,600.00 — what February's true-up posts — so
    the close's "revenue schedules = GL revenue" agrees (before, January's row was rewritten to
    1,600.00 and February showed 0.00 against −1,600.00 in the GL)."""
    from syncline.adapters.db.revenue_tables import revenue_schedules
    from syncline.adapters.db.tables import journal_entries, journal_lines

    ingest(system, deal(), worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    bill(system, "2026-01")
    recognize(system.engine, "2026-01", system.charts, system.clock())
    ingest(system, rejection("T-2"))
    bill(system, "2026-02")
    recognize(system.engine, "2026-02", system.charts, system.clock())
    with system.engine.connect() as conn:
        rows = {r.period: (r.revenue, r.cumulative) for r in conn.execute(
            select(revenue_schedules).where(revenue_schedules.c.period <= "2026-03"))}
        feb_gl = sum((r.amount if r.side == "credit" else -r.amount) for r in conn.execute(
            select(journal_lines.c.amount, journal_lines.c.side).join(journal_entries)
            .where((journal_entries.c.source_id == "revenue:C-1:2026-02")
                   & (journal_lines.c.account == "4010"))))
    assert rows == {"2026-01": (Decimal("3200.00"), Decimal("3200.00")),
                    "2026-02": (Decimal("-1600.00"), Decimal("1600.00")),
                    "2026-03": (Decimal("0.00"), Decimal("1600.00"))}
    assert feb_gl == Decimal("-1600.00")

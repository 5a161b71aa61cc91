"""Caps on net billed amounts, read back and changed from a date (issue 9, findings 1 and 10a).

Each test is a contract story on a real SQLite file, with the arithmetic in its docstring:
consultant time at the deal's 200.00 an hour, 8 hours a day (1,600.00 an entry).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.tables import billable_items
from syncline.bootstrap import Syncline
from tests.builders import deal, event, rejection, time_entry, worker
from tests.services.test_billing_wiring import ingest, lines_of, run, with_terms

D = Decimal


def capped(kind: str = "soft", limit: str = "2000", **more: Any) -> dict[str, Any]:
    return with_terms(deal(), caps=[{"cap_id": "NTE-1", "limit": limit, "kind": kind, **more}])


def statuses(system: Syncline) -> dict[str, str]:
    with system.engine.connect() as conn:
        return dict(conn.execute(select(billable_items.c.key, billable_items.c.status)).all())


def test_a_credit_note_gives_its_amount_back_to_the_cap(system: Syncline) -> None:
    """Soft cap 2,000.00. January: T-1 (Jan 5) and T-2 (Jan 6), 3,200.00 of time: T-1
    1,600.00 billed, T-2 split into #cap 400.00 billed and #over 1,200.00 shown and written
    off; the cap has consumed 2,000.00. T-1 is rejected after invoicing: February's run
    credits 1,600.00 first, so the cap has consumed 2,000.00 − 1,600.00 = 400.00 net (T-2#cap;
    T-2#over 1,200.00 and its write-off −1,200.00 net to zero), headroom 1,600.00. T-3 (Feb 2,
    1,600.00) fits exactly: billed in full, nothing written off. Before the rule, the cap's
    counter stayed at 2,000.00 and T-3 was written off whole (invoice subtotal 0.00)."""
    ingest(system, capped(), worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    (jan,) = run(system, "2026-01").invoices
    assert [amount for *_, amount in lines_of(system, jan)] == [D("-1200.00"), D("3200.00")]
    ingest(system, rejection("T-1"), time_entry("T-3", day="2026-02-02"))
    feb = run(system, "2026-02")
    assert feb.credit_notes == ["US01-CN-2026-000001"]
    (number,) = feb.invoices
    assert lines_of(system, number) == [("Consultant time", D("8"), D("1600.00"))]
    assert statuses(system)["time:T-3"] == "invoiced"
    assert not any(k.startswith("adjustment:cap:NTE-1:time:T-3") for k in statuses(system))


def test_a_hard_cap_frees_held_work_once_a_credit_makes_room(system: Syncline) -> None:
    """Hard cap 1,600.00. January: T-1 1,600.00 billed (the cap is full); T-2 1,600.00 held.
    T-1 is rejected: February's credit note takes 1,600.00 back, net consumed 0.00, so the
    held T-2 (1,600.00) is billed in February without anyone approving it past the cap."""
    ingest(system, capped("hard", "1600"), worker(), time_entry("T-1"),
           time_entry("T-2", day="2026-01-06"))
    assert run(system, "2026-01").held == ["time:T-2"]
    ingest(system, rejection("T-1"))
    feb = run(system, "2026-02")
    assert feb.held == [] and len(feb.invoices) == 1
    assert lines_of(system, feb.invoices[0]) == [("Consultant time", D("8"), D("1600.00"))]


def amend_cap(amendment_id: str, effective: str, limit: str, **more: Any) -> dict[str, Any]:
    return event("contract.amended", "deal/D-1", {
        "deal_id": "D-1", "amendment_id": amendment_id, "effective_date": effective,
        "changes": [{"action": "change_cap", "cap_id": "NTE-1", "limit": limit} | more]},
        source="crm/salesforce", sequence=2, time=f"{effective}T09:00:00Z")


def test_held_work_billed_once_room_returns_leaves_the_holds_list(system: Syncline) -> None:
    """As above: the hold of T-2 is closed (billed) when T-2 is billed in February."""
    from syncline.services.billing.queries import list_holds

    ingest(system, capped("hard", "1600"), worker(), time_entry("T-1"),
           time_entry("T-2", day="2026-01-06"))
    run(system, "2026-01")
    ingest(system, rejection("T-1"))
    run(system, "2026-02")
    with system.engine.connect() as conn:
        assert list_holds(conn) == []
        assert [h["status"] for h in list_holds(conn, status=None)] == ["billed"]


def test_a_cap_raised_from_a_date_caps_later_work_by_the_new_limit(system: Syncline) -> None:
    """Soft cap 2,000.00, raised to 5,000.00 from February 1 (amendment A-1, sent up front).
    January: T-1 + T-2 = 3,200.00 → 2,000.00 billed, 1,200.00 written off (January's limit).
    February's run, in service order: T-5 (Jan 20, arrived late, 1,600.00) is January's work,
    capped by January's ceiling 2,000.00, already consumed → written off whole; T-3 (Feb 2,
    1,600.00) against the new ceiling 5,000.00 − 2,000.00 = 3,000.00 → billed; T-4 (Feb 3,
    1,600.00) against 1,400.00 left → 1,400.00 billed (7 h), 200.00 (1 h) written off.
    February's invoice: 1,600 + 1,600 + 1,600 − 1,600 − 200 = 3,000.00."""
    ingest(system, capped(), worker(), amend_cap("A-1", "2026-02-01", "5000"),
           time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    (jan,) = run(system, "2026-01").invoices
    assert sum(a for *_, a in lines_of(system, jan)) == D("2000.00")
    ingest(system, time_entry("T-5", day="2026-01-20"), time_entry("T-3", day="2026-02-02"),
           time_entry("T-4", day="2026-02-03"))
    (feb,) = run(system, "2026-02").invoices
    assert lines_of(system, feb) == [
        ("Not-to-exceed NTE-1 (2,000.00 USD) adjustment", D("-8"), D("-1600.00")),
        ("Not-to-exceed NTE-1 (5,000.00 USD) adjustment", D("-1"), D("-200.00")),
        ("Consultant time", D("24"), D("4800.00"))]
    assert sum(a for *_, a in lines_of(system, feb)) == D("3000.00")


def test_a_cap_change_for_an_unknown_cap_is_refused(system: Syncline) -> None:
    from syncline.services.messaging.exceptions import list_exceptions

    ingest(system, capped(), amend_cap("A-1", "2026-02-01", "5000", cap_id="NTE-9"))
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
    assert exc.code == "amendment.unknown_cap" and "NTE-9" in exc.message


def test_a_cap_change_leaves_revenue_recognition_working(system: Syncline) -> None:
    """A change_cap has no contract line: the revenue engine reads the amendment and skips
    it (it used to stop on the missing line id)."""
    from syncline.services.revenue.sync import recognize

    ingest(system, capped(), worker(), amend_cap("A-1", "2026-02-01", "5000"),
           time_entry("T-1"))
    run(system, "2026-01")
    done = recognize(system.engine, "2026-01", system.charts, system.clock())
    assert (done.contracts, done.refused) == (1, []) and done.revenue == {"USD": D("1600.00")}

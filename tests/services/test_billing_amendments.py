"""Rate changes of a ``contract.amended`` apply from their effective date (issue 9, finding 4:
fee, rate, cap and scope changes; fees, caps and scope are in test_billing_retainers.py and
test_billing_caps.py). Consultant time at the deal's 200.00 an hour, 8 hours an entry."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from syncline.adapters.db.tables import billable_items
from syncline.bootstrap import Syncline
from tests.builders import deal, time_entry, worker
from tests.services.test_billing_retainers import amend
from tests.services.test_billing_wiring import ingest, lines_of, run

D = Decimal


def prices(system: Syncline) -> dict[str, tuple[Decimal, Decimal, str]]:
    with system.engine.connect() as conn:
        return {r.key: (r.unit_price, r.amount, r.status) for r in conn.execute(
            select(billable_items.c.key, billable_items.c.unit_price, billable_items.c.amount,
                   billable_items.c.status))}


def test_a_rate_change_prices_time_from_its_date_whatever_arrived_first(
        system: Syncline) -> None:
    """A-1 sets the consultant's rate to 250.00 from 2026-01-15. T-1 (Jan 10) stays at
    200.00 = 1,600.00; T-2 (Jan 20), approved before the amendment arrived, is re-priced to
    250.00 = 2,000.00; T-3 (Jan 22), after it, is priced 250.00. January: 1,600 + 4,000 =
    5,600.00. A-2 (300.00 from 2026-01-25) arrives after the run: invoiced T-2 keeps its
    250.00; February's T-4 is priced 300.00. An amendment effective earlier than another
    does not override it from the later one's date (A-0, 320.00 from 2026-01-05, arriving
    last, prices nothing from January 15 on: T-5 on Feb 3 is 300.00). Before: every entry
    at 200.00."""
    ingest(system, deal(), worker(), time_entry("T-1", day="2026-01-10"),
           time_entry("T-2", day="2026-01-20"))
    ingest(system, amend("A-1", "2026-01-15", {"action": "change_rate",
                                               "role": "consultant", "rate": "250"}),
           time_entry("T-3", day="2026-01-22"))
    got = prices(system)
    assert [got[k][:2] for k in ("time:T-1", "time:T-2", "time:T-3")] == [
        (D("200.00"), D("1600.00")), (D("250"), D("2000.00")), (D("250"), D("2000.00"))]
    (jan,) = run(system, "2026-01").invoices
    assert sum(a for *_, a in lines_of(system, jan)) == D("5600.00")
    ingest(system, amend("A-2", "2026-01-25", {"action": "change_rate",
                                               "role": "consultant", "rate": "300"}),
           time_entry("T-4", day="2026-02-02"))
    ingest(system, amend("A-0", "2026-01-05", {"action": "change_rate",
                                               "role": "consultant", "rate": "320"}),
           time_entry("T-5", day="2026-02-03"))
    got = prices(system)
    assert got["time:T-2"] == (D("250"), D("2000.00"), "invoiced")
    assert got["time:T-4"][:2] == got["time:T-5"][:2] == (D("300"), D("2400.00"))


def test_a_rate_change_without_a_rate_is_refused(system: Syncline) -> None:
    from syncline.services.messaging.exceptions import list_exceptions

    ingest(system, deal(), amend("A-1", "2026-01-15", {"action": "change_rate",
                                                       "role": "consultant", "rate": "0"}))
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
    assert exc.code == "amendment.rate_invalid"

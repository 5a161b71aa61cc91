"""The payments stream: payments applied to Syncline's invoices → payment.received, read by
SuiteQL following NetSuite's next links, with the cursor stored only after a page is."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from syncline.adapters.db.tables import inbox
from syncline.bootstrap import Syncline
from syncline.connectors.netsuite.client import SUITEQL, NetSuiteClient
from syncline.connectors.netsuite.fake import FakeNetSuite
from syncline.connectors.netsuite.streams import payments_query
from syncline.connectors.runs import run_stream
from syncline.connectors.sdk.errors import VendorError
from syncline.schemas import validate_event
from syncline.services.connectors import cursors
from tests.conftest import fixed_clock
from tests.connectors.netsuite.support import CUSTOMER, connector, invoice, seeded


def ledger(payments: int = 5) -> FakeNetSuite:
    fake = seeded()
    target = connector(fake).target()
    target.deliver("erp.customer.upsert", CUSTOMER, "o-1")
    for n in range(1, 4):
        target.deliver("erp.invoice.post", invoice(number=f"INV-{n}"), f"o-{n + 1}")
    for n in range(payments):
        fake.books.pay(f"INV-{n % 3 + 1}", Decimal("100.00"), f"2026-07-0{n + 1}",
                       memo="wire" if n == 0 else "", modified=f"2026-07-0{n + 1} 10:00:00")
    fake.requests.clear()
    return fake


def stored(system: Syncline) -> list[dict[str, Any]]:
    with system.engine.connect() as conn:
        rows = conn.execute(select(inbox.c.raw, inbox.c.status, inbox.c.reason).where(
            inbox.c.source == "netsuite/erp").order_by(inbox.c.seq))
        return [dict(json.loads(r.raw), _status=r.status, _reason=r.reason) for r in rows]


def test_payments_become_payment_received_events_that_validate(system: Syncline) -> None:
    fake = ledger()
    result = run_stream(system.engine, "erp", connector(fake, page_size=2).payments,
                        clock=fixed_clock)
    assert result.ok and result.accepted == 5 and result.batches == 3
    events = stored(system)
    first = {k: v for k, v in events[0].items() if not k.startswith("_")}
    assert first == {
        "specversion": "1.0", "id": "customerPayment/104:101@2026-07-01 10:00:00",
        "source": "netsuite/erp", "type": "payment.received", "subject": "invoice/INV-1",
        "time": "2026-07-01T10:00:00Z", "sequence": 1782900000000,
        "datacontenttype": "application/json",
        "data": {"payment_id": "104:101", "invoice_number": "INV-1",
                 "amount": {"amount": "100.00", "currency": "USD"},
                 "received_on": "2026-07-01", "reference": "PYMT104 wire"}}
    assert all(validate_event({k: v for k, v in e.items() if not k.startswith("_")}) == []
               for e in events)
    with system.engine.connect() as conn:
        assert cursors.read(conn, "erp", "payments") == "2026-07-05 10:00:00"


def test_paging_follows_the_next_links_to_has_more_false(system: Syncline) -> None:
    fake = ledger()
    run_stream(system.engine, "erp", connector(fake, page_size=2).payments, clock=fixed_clock)
    urls = [str(r.url) for r in fake.requests]
    assert [u.split("?")[1] for u in urls] == ["limit=2&offset=0", "limit=2&offset=2",
                                              "limit=2&offset=4"]
    assert all(r.headers["Prefer"] == "transient" and r.url.path == SUITEQL
               for r in fake.requests)
    assert json.loads(fake.requests[0].content) == {"q": payments_query("1970-01-01 00:00:00")}


def test_a_client_that_builds_its_own_offsets_is_refused() -> None:
    client: NetSuiteClient = connector(ledger()).client
    with pytest.raises(VendorError, match="Follow the next link"):
        client.request("POST", SUITEQL, params={"limit": 2, "offset": 2},
                       content=json.dumps({"q": "SELECT id FROM subsidiary"}).encode(),
                       headers={"Prefer": "transient"})


def test_an_empty_read_stores_nothing_and_keeps_the_cursor(system: Syncline) -> None:
    fake = ledger(payments=0)
    result = run_stream(system.engine, "erp", connector(fake).payments, clock=fixed_clock,
                        since="2026-07-01")
    assert result.ok and result.accepted == 0 and result.batches == 1
    with system.engine.connect() as conn:
        assert cursors.read(conn, "erp", "payments") is None


def test_a_failure_on_page_two_keeps_page_one_and_its_cursor(system: Syncline) -> None:
    fake = ledger()
    fake.fail_suiteql_after(1, 400)
    made = connector(fake, page_size=2)
    result = run_stream(system.engine, "erp", made.payments, clock=fixed_clock)
    assert not result.ok and result.accepted == 2 and "INVALID_PARAMETER" in str(result.error)
    with system.engine.connect() as conn:
        assert cursors.read(conn, "erp", "payments") == "2026-07-02 10:00:00"
    fake._suiteql_after = None
    again = run_stream(system.engine, "erp", made.payments, clock=fixed_clock)
    assert again.ok and again.accepted == 3 and again.duplicates == 1  # >= re-reads 07-02
    q = json.loads(fake.requests[-1].content)["q"]
    assert "TO_TIMESTAMP('2026-07-02 10:00:00', 'YYYY-MM-DD HH24:MI:SS')" in q


def test_reading_again_is_a_duplicate(system: Syncline) -> None:
    fake = ledger()
    made = connector(fake)
    run_stream(system.engine, "erp", made.payments, clock=fixed_clock)
    again = run_stream(system.engine, "erp", made.payments, clock=fixed_clock,
                       since="2026-07-01")
    assert again.accepted == 0 and again.duplicates == 5


def test_a_payment_on_an_invoice_syncline_did_not_post_is_refused_naming_both(
        system: Syncline) -> None:
    fake = ledger(payments=1)
    fake.books.applications[0]["invoice_external_id"] = None
    result = run_stream(system.engine, "erp", connector(fake).payments, clock=fixed_clock)
    assert result.rejected == 1
    [row] = stored(system)
    assert "netsuite customerPayment 104" in row["_reason"]
    assert "invoice 101, which has no external id" in row["_reason"]
    assert "app.netsuite.com/app/accounting/transactions/custpymt.nl?id=104" in row["_reason"]


def test_the_fake_keeps_open_balances_per_customer() -> None:
    fake = ledger()
    assert fake.books.open_balance("CUS-1") == {"USD": Decimal("4000.00")}  # 3 x 1500 - 500

"""Payments back (``payment.received``), webhooks (``x-xero-signature``), ``validate()``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from syncline.adapters.db.tables import inbox
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.connectors.receive import receive
from syncline.connectors.runs import run_stream
from syncline.connectors.sdk.base import WebhookRequest
from syncline.connectors.sdk.errors import MappingError, VendorError
from syncline.connectors.xero.client import XeroApi
from syncline.connectors.xero.fake import FakeXero
from syncline.connectors.xero.mapping import payment_data
from syncline.schemas import validate_event
from tests.connectors.xero.conftest import GB, NOW, US, Connect, customer, fixture, invoice


def test_the_spec_example_payment_maps_to_payment_received() -> None:
    page = fixture("payments_get.json")
    first, credit_refund = page["Payments"]
    data = payment_data(first, lambda number: number == "INV-0002")
    assert data == {"payment_id": "99ea7f6b-c513-4066-bc27-b7c65dcd76c2",
                    "invoice_number": "INV-0002",
                    "amount": {"amount": "46.00", "currency": "NZD"},
                    "received_on": "2018-11-29"}
    assert payment_data(first, lambda number: False) is None  # not a Syncline invoice
    assert payment_data(credit_refund, lambda number: True) is None  # ARCREDITPAYMENT
    with pytest.raises(MappingError, match=r"99ea7f6b.*deleted in Xero"):
        payment_data(first | {"Status": "DELETED"}, lambda number: True)


class FailsOnCall(XeroApi):
    """A tenant's API whose ``n``-th read fails for good (a 400)."""

    def __init__(self, api: XeroApi, n: int) -> None:
        super().__init__(api.client, api.tenant_id, api.page_size)
        self.n, self.calls = n, 0

    def get(self, path: str, params: dict[str, Any] | None = None,
            since: str | None = None) -> dict[str, Any]:
        self.calls += 1
        if self.calls == self.n:
            raise VendorError("xero", "the fake was told to fail here", status=400)
        return super().get(path, params, since)


def paid_invoices(fake: FakeXero, connect: Connect, count: int) -> None:
    target = connect().target()
    target.deliver("erp.customer.upsert", customer(), "outbox-0")
    for n in range(1, count + 1):
        target.deliver("erp.invoice.post", invoice(number=f"US01-2026-{n:06d}"), f"ob-{n}")


def test_payments_stream_pages_stores_and_moves_its_cursor_only_after_commit(
        fake: FakeXero, connect: Connect, tmp_path: Path) -> None:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/t.db"),
                       clock=lambda: NOW, durable=False)
    paid_invoices(fake, connect, 5)
    books = fake.books[US]
    for n in range(1, 6):
        books.record_payment(f"US01-2026-{n:06d}", "100.00", "2026-02-10", f"wire {n}")
    stream = connect(page_size=2).payments
    api = stream.tenants[US][0]
    stream.tenants[US] = (FailsOnCall(api, 2), {"US01"})  # page 2 fails for good
    failed = run_stream(system.engine, "books", stream, clock=lambda: NOW)
    assert failed.accepted == 2 and failed.error  # page 1 stored, its cursor kept
    first_cursor = json.loads(failed.cursor_after)
    assert first_cursor == {US: first_cursor[US]}
    stream.tenants[US] = (api, {"US01"})
    fake.requests.clear()
    again = run_stream(system.engine, "books", stream, clock=lambda: NOW)
    assert (again.accepted, again.error) == (3, None)
    assert json.loads(again.cursor_after)[US] > first_cursor[US]
    # the next run asked from the stored cursor, page 1 of a keyset read
    gets = [r for r in fake.requests if r.url.path.endswith("/Payments")]
    assert gets[0].headers["If-Modified-Since"] == first_cursor[US]
    assert dict(gets[0].url.params) == {"order": "UpdatedDateUTC ASC", "page": "1",
                                        "pageSize": "2"}
    # a re-read is all duplicates; an empty page ends it
    third = run_stream(system.engine, "books", stream, clock=lambda: NOW)
    assert third.accepted == 0 and third.error is None
    with system.engine.connect() as conn:
        rows = conn.execute(select(inbox.c.type, inbox.c.raw)).all()
    events = [json.loads(r.raw) for r in rows if r.type == "payment.received"]
    assert len(events) == 5
    assert sorted(e["data"]["invoice_number"] for e in events) == [
        f"US01-2026-{n:06d}" for n in range(1, 6)]
    for e in events:
        assert validate_event(e) == []
        assert e["source"] == "xero/books" and e["subject"].startswith("invoice/US01-")
    assert books.open_balances() == {"cus_acme": Decimal("5500.00")}  # 6000 - 5 x 100
    system.engine.dispose()


def test_a_deleted_payment_is_refused_by_its_payment_id(fake: FakeXero,
                                                        connect: Connect) -> None:
    paid_invoices(fake, connect, 1)
    payment = fake.books[US].record_payment("US01-2026-000001", "10.00", "2026-02-11")
    fake.books[US].delete_payment(payment["PaymentID"])
    us, gb = list(connect().payments.read(None))  # one read per tenant; GB has none
    assert (us.events, gb.events, gb.refusals) == ([], [], [])
    (refused,) = us.refusals
    assert payment["PaymentID"] in refused.reason and "deleted in Xero" in refused.reason


def signed(key: str, raw: bytes) -> dict[str, str]:
    mac = hmac.new(key.encode(), raw, hashlib.sha256).digest()
    return {"x-xero-signature": base64.b64encode(mac).decode()}


def test_webhooks_intent_to_receive_and_wake(fake: FakeXero, connect: Connect,
                                             tmp_path: Path) -> None:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/w.db"),
                       clock=lambda: NOW, durable=False)
    c = connect()
    at = datetime(2026, 2, 15, tzinfo=UTC)
    probe = json.dumps({"events": [], "firstEventSequence": 0, "lastEventSequence": 0,
                        "entropy": "S0m3r4Nd0mt3xt"}).encode()
    ok = receive(system.engine, c, WebhookRequest("POST", "https://x/v1", signed("wh-key",
                                                                                 probe),
                                                  probe, at))
    assert (ok.reply.status, ok.reply.body) == (200, "")
    bad = receive(system.engine, c, WebhookRequest("POST", "https://x/v1",
                                                   signed("not-the-key", probe), probe, at))
    assert (bad.reply.status, bad.reply.body) == (401, "")
    # the spec's credit-note example, for one of our tenants: wakes payments, stores nothing
    note = fixture("webhook_creditnote.json")
    note["events"][0]["tenantId"] = US
    raw = json.dumps(note).encode()
    woke = receive(system.engine, c, WebhookRequest("POST", "https://x/v1",
                                                    signed("wh-key", raw), raw, at))
    assert (woke.reply.status, woke.reply.wake, woke.accepted) == (200, ["payments"], 0)
    other = fixture("webhook_creditnote.json")  # another organisation's tenant id
    raw2 = json.dumps(other).encode()
    assert c.webhook(WebhookRequest("POST", "u", signed("wh-key", raw2), raw2, at)).wake == []
    tampered = raw.replace(b"CREATE", b"UPDATE")
    assert receive(system.engine, c, WebhookRequest(
        "POST", "u", signed("wh-key", raw), tampered, at)).reply.status == 401
    system.engine.dispose()


def test_validate_names_every_unknown_or_inactive_code(fake: FakeXero,
                                                       connect: Connect) -> None:
    assert connect().validate() == []
    assert connect().check().ok
    fake.books[US].tax_rates[0]["Status"] = "ARCHIVED"
    problems = connect(accounts={"4000": "200", "2400": "820", "1100": "610",
                                 "5000": "999"}).validate()
    assert f"US01 (tenant {US}): account 999 (Syncline 5000) does not exist" in problems
    assert any("account 610 (Syncline 1100) is Xero's accounts receivable" in p
               for p in problems)
    assert f"US01 (tenant {US}): tax type NONE (Syncline US-EXEMPT) is ARCHIVED" in problems
    assert not connect(accounts={"4000": "999"}).check().ok


def test_tracking_options_are_validated_and_sent(fake: FakeXero, connect: Connect) -> None:
    for books in fake.books.values():
        books.add_tracking("Service line", "Advisory")
    c = connect(tracking={"service_line": "Service line"},
                dimensions={"service_line": {"advisory": "Advisory", "audit": "Audit"}})
    assert c.validate() == [f"{e} (tenant {t}): tracking option 'Audit' of 'Service line' "
                            "(service_line audit) is missing or not active"
                            for e, t in (("GB01", GB), ("US01", US))]
    c.target().deliver("erp.invoice.post", invoice(), "ob-1")
    put = [r for r in fake.requests if r.method == "PUT"][-1]
    line = json.loads(put.content)["Invoices"][0]["LineItems"][0]
    assert line["Tracking"] == [{"Name": "Service line", "Option": "Advisory"}]

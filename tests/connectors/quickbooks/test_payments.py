"""The payments stream: QBO Payments on Syncline invoices → payment.received, by CDC with a
30-day guard, stored with its cursor; and the webhook that wakes it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncline.bootstrap import Syncline
from syncline.connectors import receive
from syncline.connectors.quickbooks import QuickBooksConnector, webhooks
from syncline.connectors.quickbooks import client as qbo_client
from syncline.connectors.quickbooks.fake import FakeQuickBooks
from syncline.connectors.quickbooks.mapping import applications
from syncline.connectors.runs import run_stream
from syncline.connectors.sdk.base import WebhookRequest
from syncline.connectors.sdk.errors import MappingError, SignatureError
from syncline.connectors.sdk.events import rfc3339
from syncline.schemas import validate_event
from syncline.services.connectors import cursors
from tests.conftest import FIXED_NOW, fixed_clock
from tests.connectors.quickbooks.conftest import REALM, RECENT, connect, fixture, pick

Rows = list[tuple[str, str, dict[str, Any]]]


def books(qbo: QuickBooksConnector, fake: FakeQuickBooks, rows: Rows) -> dict[str, str]:
    """Syncline's customers and invoices delivered; a firm's own invoice besides."""
    ids = {}
    for key, kind, payload in rows:
        if kind in ("erp.customer.upsert", "erp.invoice.post"):
            ids[payload.get("number") or payload["customer_id"]] = qbo.target().deliver(
                kind, payload, key)
    _, usd = pick(rows, "erp.invoice.post", currency="USD")
    own = fake.company.add("Invoice", {"DocNumber": "1001", "CustomerRef": {
        "value": ids[usd["customer_id"]]}, "CurrencyRef": {"value": "USD"},
        "TotalAmt": Decimal(50), "Balance": Decimal(50), "Line": []})
    ids["1001"] = own["Id"]
    fake.requests.clear()
    return ids


def test_cdc_payments_become_payment_received_events(qbo: QuickBooksConnector,
                                                     fake: FakeQuickBooks,
                                                     outbox_rows: Rows) -> None:
    ids = books(qbo, fake, outbox_rows)
    _, eur_invoice = pick(outbox_rows, "erp.invoice.post", currency="EUR", document="invoice")
    usd, eur = ids["US01-2026-000001"], ids[eur_invoice["number"]]
    paid = fake.record_payment(usd, "1000.00", "2026-07-14", reference="CHK-1001")
    euro = fake.record_payment(eur, "800.00", "2026-07-14")
    fake.record_payment(ids["1001"], "50.00", "2026-07-14")  # not Syncline's: skipped
    batches = list(qbo.payments.read(RECENT))
    (cdc,) = [r for r in fake.requests if r.url.path.endswith("/cdc")]
    assert dict(cdc.url.params) == {"minorversion": "75", "entities": "Payment",
                                    "changedSince": "2026-07-13T12:00:00+00:00"}
    assert qbo.payments.last_path == "cdc"
    events = [e for b in batches for e in b.events]
    assert [e["data"] for e in events] == [
        {"payment_id": f"{paid['Id']}/{usd}", "invoice_number": "US01-2026-000001",
         "amount": {"amount": "1000.00", "currency": "USD"}, "received_on": "2026-07-14",
         "reference": "CHK-1001"},
        {"payment_id": f"{euro['Id']}/{eur}", "invoice_number": eur_invoice["number"],
         "amount": {"amount": "800.00", "currency": "EUR"}, "received_on": "2026-07-14",
         "reference": f"QBO Payment {euro['Id']}"}]
    assert events[0]["subject"] == "invoice/US01-2026-000001"
    assert events[0]["id"] == f"Payment/{paid['Id']}/{usd}@0"
    assert events[0]["source"] == "quickbooks/books"
    for event in events:
        assert validate_event(event) == []
    assert batches[-1].cursor == rfc3339(FIXED_NOW)  # the newest LastUpdatedTime seen


def test_a_quiet_cdc_moves_the_cursor_to_qbo_time_less_the_overlap(
        qbo: QuickBooksConnector) -> None:
    (batch,) = list(qbo.payments.read(RECENT))
    assert batch.events == [] and batch.cursor == rfc3339(FIXED_NOW - timedelta(seconds=300))


def test_a_cursor_older_than_cdc_reaches_falls_back_to_a_query(qbo: QuickBooksConnector,
                                                               fake: FakeQuickBooks,
                                                               outbox_rows: Rows) -> None:
    ids = books(qbo, fake, outbox_rows)
    fake.record_payment(ids["US01-2026-000001"], "1600.00", "2026-07-14")
    old = rfc3339(FIXED_NOW - timedelta(days=45))
    events = [e for b in qbo.payments.read(old) for e in b.events]
    assert qbo.payments.last_path == "query"
    assert not any(r.url.path.endswith("/cdc") for r in fake.requests)
    first = fake.requests[0].url.params["query"]
    assert first == ("select * from Payment where MetaData.LastUpdatedTime >= "
                     f"'{(FIXED_NOW - timedelta(days=45)).strftime('%Y-%m-%dT%H:%M:%S')}"
                     "+00:00' ORDERBY MetaData.LastUpdatedTime STARTPOSITION 1 "
                     "MAXRESULTS 1000")
    assert [e["data"]["amount"]["amount"] for e in events] == ["1600.00"]


def test_the_fake_refuses_cdc_past_30_days(qbo: QuickBooksConnector) -> None:
    old = (FIXED_NOW - timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    with pytest.raises(qbo_client.VendorError, match="30 days"):
        qbo.api.cdc("Payment", old)


def test_a_run_stores_events_once_and_the_cursor_after_them(
        system: Syncline, fake: FakeQuickBooks, tmp_path: Path, outbox_rows: Rows) -> None:
    qbo = connect(fake, tmp_path)
    ids = books(qbo, fake, outbox_rows)
    fake.record_payment(ids["US01-2026-000001"], "1600.00", "2026-07-14")
    first = run_stream(system.engine, "books", qbo.payments, clock=fixed_clock, since=RECENT)
    assert (first.accepted, first.rejected, first.error) == (1, 0, None)
    # the next run starts AT the newest stamp (>=): the same payment again is a no-op
    again = run_stream(system.engine, "books", qbo.payments, clock=fixed_clock)
    assert (again.accepted, again.duplicates) == (0, 1)
    with system.engine.connect() as conn:
        assert cursors.read(conn, "books", "payments") == rfc3339(FIXED_NOW)


def test_a_failure_on_page_two_keeps_page_one_and_its_cursor(
        system: Syncline, fake: FakeQuickBooks, tmp_path: Path, outbox_rows: Rows,
        monkeypatch: pytest.MonkeyPatch) -> None:
    qbo = connect(fake, tmp_path)
    ids = books(qbo, fake, outbox_rows)
    for minute, amount in enumerate(("100.00", "200.00", "300.00")):
        paid = fake.record_payment(ids["US01-2026-000001"], amount, "2026-07-14")
        paid["MetaData"]["LastUpdatedTime"] = f"2026-07-15T10:0{minute}:00+00:00"
    monkeypatch.setattr(qbo_client, "PAGE", 2)

    def flaky(request: httpx.Request) -> httpx.Response:
        if "STARTPOSITION 3" in request.url.params.get("query", ""):
            return httpx.Response(400, json=fixture("fault_validation.json"))
        return fake(request)
    broken = connect(fake, tmp_path)
    broken.api.http._http._transport = httpx.MockTransport(flaky)
    result = run_stream(system.engine, "books", broken.payments, clock=fixed_clock,
                        since=rfc3339(FIXED_NOW - timedelta(days=60)))
    assert result.accepted == 2 and "6240" in (result.error or "")
    with system.engine.connect() as conn:
        assert cursors.read(conn, "books", "payments") == "2026-07-15T10:01:00Z"  # page 1
    healed = run_stream(system.engine, "books", qbo.payments, clock=fixed_clock)
    assert (healed.accepted, healed.duplicates, healed.error) == (1, 1, None)


def test_a_payment_that_cannot_be_mapped_is_refused_by_its_id(
        qbo: QuickBooksConnector, fake: FakeQuickBooks, outbox_rows: Rows) -> None:
    ids = books(qbo, fake, outbox_rows)
    bad = fake.company.add("Payment", {"TxnDate": "2026-07-14", "TotalAmt": Decimal(0),
                                       "Line": [{"Amount": Decimal("-5"), "LinkedTxn": [{
                                           "TxnId": ids["US01-2026-000001"],
                                           "TxnType": "Invoice"}]}]})
    (batch,) = list(qbo.payments.read(RECENT))
    (refused,) = batch.refusals
    assert f"quickbooks Payment {bad['Id']}" in refused.reason
    assert "not positive" in refused.reason and f"txnId={bad['Id']}" in refused.reason
    assert batch.events == []


# -- webhooks ----------------------------------------------------------------------------------

def signed(body: bytes, token: str = "verify_me") -> dict[str, str]:
    mac = hmac.new(token.encode(), body, hashlib.sha256).digest()
    return {"intuit-signature": base64.b64encode(mac).decode()}


def request(body: bytes, headers: dict[str, str]) -> WebhookRequest:
    return WebhookRequest("POST", "https://syncline.example/v1/connectors/books/webhook",
                          headers, body, FIXED_NOW)


def test_the_published_signature_vector_verifies() -> None:
    vector = fixture("webhook_signature_vector.json")
    webhooks.verify(vector["verifier_token"], vector["body"].encode(),
                    {"intuit-signature": vector["intuit-signature"]})
    with pytest.raises(SignatureError):
        webhooks.verify(vector["verifier_token"], vector["body"].encode() + b" ",
                        {"intuit-signature": vector["intuit-signature"]})


def test_a_payment_notification_wakes_the_payments_stream(system: Syncline,
                                                          qbo: QuickBooksConnector) -> None:
    body = (Path(__file__).parents[2] / "fixtures" / "quickbooks" /
            "webhook_payment.json").read_bytes()
    got = receive.receive(system.engine, qbo, request(body, signed(body)))
    assert got.reply.status == 200 and got.reply.wake == ["payments"]
    assert (got.accepted, got.duplicates) == (0, 0)  # ids only: nothing stored
    again = receive.receive(system.engine, qbo, request(body, signed(body)))
    assert again.reply.wake == ["payments"] and again.accepted == 0


def test_a_bad_signature_is_refused_401(system: Syncline, qbo: QuickBooksConnector) -> None:
    body = json.dumps(fixture("webhook_payment.json")).encode()
    tampered = body.replace(b"145", b"146")
    got = receive.receive(system.engine, qbo, request(tampered, signed(body)))
    assert got.reply.status == 401
    assert receive.receive(system.engine, qbo, request(body, {})).reply.status == 401


@pytest.mark.parametrize(("doc", "wake"), [
    ({"eventNotifications": [{"realmId": REALM, "dataChangeEvent": {"entities": [
        {"name": "Invoice", "id": "130", "operation": "Update"}]}}]}, []),
    ({"eventNotifications": [{"realmId": "123", "dataChangeEvent": {"entities": [
        {"name": "Payment", "id": "1", "operation": "Create"}]}}]}, []),
    ([{"specversion": "1.0", "type": "qbo.payment.created.v1", "intuitaccountid": REALM,
       "intuitentityid": "145", "id": "e-1"}], ["payments"])])
def test_only_payments_of_this_realm_wake_the_stream(qbo: QuickBooksConnector, doc: Any,
                                                     wake: list[str]) -> None:
    body = json.dumps(doc).encode()
    assert qbo.webhook(request(body, signed(body))).wake == wake



def test_credit_applied_by_a_payment_is_not_cash() -> None:
    """QBO Payments that apply credit memos: 0.00 applying 400.00 of credit to an invoice
    gives nothing; 500.00 of cash with 100.00 of credit on one invoice (600.00 applied) is
    500.00 received; credit with cash over two invoices is refused (whose cash is it?)."""
    def pay(total: str, *lines: tuple[str, str, str]) -> dict[str, Any]:
        return {"Id": "77", "TxnDate": "2026-03-01", "TotalAmt": total, "Line": [
            {"Amount": a, "LinkedTxn": [{"TxnId": t, "TxnType": k}]} for a, t, k in lines]}

    numbers, args = {"1": "US01-2026-000001", "2": "US01-2026-000002"}, (("US01-",), "USD", "r")
    assert applications(pay("0", ("400.00", "1", "Invoice"), ("400.00", "9", "CreditMemo")),
                        numbers, *args) == []
    (one,) = applications(pay("500.00", ("600.00", "1", "Invoice"),
                              ("100.00", "9", "CreditMemo")), numbers, *args)
    assert one["amount"] == {"amount": "500.00", "currency": "USD"}
    with pytest.raises(MappingError, match="several invoices"):
        applications(pay("500.00", ("300.00", "1", "Invoice"), ("300.00", "2", "Invoice"),
                         ("100.00", "9", "CreditMemo")), numbers, *args)

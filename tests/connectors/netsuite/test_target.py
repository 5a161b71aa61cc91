"""The NetSuite target: exact upserts, the rate only on foreign documents, exactly one
document after a dropped connection, throttles, refusals with NetSuite's message."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from syncline.connectors.netsuite.fake import FakeNetSuite
from syncline.services.messaging.delivery import Refused, TransientFailure
from tests.connectors.netsuite.support import CUSTOMER, connector, invoice, seeded

BASE = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/record/v1"
EUR_FX = {"base": "EUR", "quote": "USD", "rate": "1.0850", "source": "ECB",
          "as_of": "2026-06-30"}


def body(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content, parse_float=Decimal)


def puts(fake: FakeNetSuite) -> list[httpx.Request]:
    return [r for r in fake.requests if r.method == "PUT"]


def with_customer(fake: FakeNetSuite | None = None, **settings: Any) -> Any:
    fake = fake or seeded()
    target = connector(fake, **settings).target()
    target.deliver("erp.customer.upsert", CUSTOMER, "outbox-1")
    return fake, target


def test_a_customer_is_upserted_by_its_syncline_id() -> None:
    fake, target = with_customer()
    [put] = puts(fake)
    assert str(put.url) == f"{BASE}/customer/eid:CUS-1"
    assert put.headers["Content-Type"] == "application/json"
    assert body(put) == {"externalId": "CUS-1", "companyName": "Acme Corp", "isPerson": False,
                         "subsidiary": {"id": "1"}, "currency": {"id": "1"}}
    assert target.customers == {"CUS-1": "100"}
    assert target.deliver("erp.customer.upsert", CUSTOMER | {"name": "Acme Inc"},
                          "outbox-1") == "100"  # the same record, updated
    assert len(fake.books.records["customer"]) == 1
    assert fake.books.records["customer"]["100"]["companyName"] == "Acme Inc"


def test_a_home_currency_invoice_carries_no_currency_and_no_rate() -> None:
    fake, target = with_customer()
    internal = target.deliver("erp.invoice.post", invoice(), "outbox-2")
    put = puts(fake)[-1]
    assert str(put.url) == f"{BASE}/invoice/eid:INV-2026-0001"
    sent = body(put)
    assert "currency" not in sent and "exchangeRate" not in sent
    assert sent == {
        "externalId": "INV-2026-0001", "entity": {"id": "100"}, "subsidiary": {"id": "1"},
        "tranDate": "2026-06-30", "dueDate": "2026-07-30", "account": {"id": "122"},
        "class": {"id": "7"},
        "memo": "Syncline invoice INV-2026-0001, contract C-1, period 2026-06",
        "item": {"items": [
            {"item": {"id": "210"}, "description": "Consulting June", "quantity": 10,
             "rate": Decimal("120.00"), "amount": Decimal("1200.00"), "taxCode": {"id": "-7"}},
            {"item": {"id": "211"}, "description": "Retainer July", "quantity": 1,
             "rate": Decimal("300.00"), "amount": Decimal("300.00"),
             "taxCode": {"id": "-7"}}]}}
    assert b'"amount": 1200.00' in put.content  # a JSON number written from the Decimal
    assert internal == "101"


def test_a_foreign_invoice_carries_its_currency_and_rate_and_an_inverse_is_inverted() -> None:
    fake, target = with_customer()
    target.deliver("erp.invoice.post", invoice(currency="EUR", fx=EUR_FX), "o-3")
    sent = body(puts(fake)[-1])
    assert sent["currency"] == {"id": "4"} and sent["exchangeRate"] == Decimal("1.0850")
    assert sent["account"] == {"id": "123"}  # the EUR receivables account
    inverse = EUR_FX | {"base": "USD", "quote": "EUR", "rate": "0.8"}
    target.deliver("erp.invoice.post", invoice(number="INV-2", currency="EUR", fx=inverse),
                   "o-4")
    assert body(puts(fake)[-1])["exchangeRate"] == Decimal("1.2500000000")


def test_a_foreign_document_without_a_rate_is_refused_before_sending() -> None:
    fake, target = with_customer()
    with pytest.raises(Refused, match="INV-2026-0001: a EUR document in a USD subsidiary"):
        target.deliver("erp.invoice.post", invoice(currency="EUR"), "o-5")
    assert len(puts(fake)) == 1  # only the customer


def _note() -> dict[str, Any]:
    return invoice(document="credit_note", number="CN-2026-0001", invoice="INV-2026-0001",
                   due=None, subtotal="-240.00", total="-240.00",
                   lines=[{"description": "Credit June", "quantity": "-2",
                           "unit_price": "120.00", "amount": "-240.00", "deferred": False}])


def patches(fake: FakeNetSuite) -> list[httpx.Request]:
    return [r for r in fake.requests if r.method == "PATCH"]


def test_a_credit_note_becomes_a_credit_memo_applied_to_its_invoice() -> None:
    """1,500.00 invoiced, 240.00 credited: the credit memo is upserted without an ``apply``
    sublist, then the invoice and the memo are read and one PATCH applies 240.00 (the
    smaller of 240.00 unapplied and 1,500.00 owed); the invoice then owes 1,260.00.
    Re-sending the memo, under its outbox id or another, reads 0.00 unapplied and sends no
    PATCH; the customer pays exactly 1,260.00 and a cent more is refused."""
    fake, target = with_customer()
    invoice_id = target.deliver("erp.invoice.post", invoice(), "o-5")
    memo_id = target.deliver("erp.invoice.post", _note(), "o-6")
    put = puts(fake)[-1]
    assert str(put.url) == f"{BASE}/creditMemo/eid:CN-2026-0001"
    sent = body(put)
    assert sent["item"]["items"][0] == {
        "item": {"id": "210"}, "description": "Credit June", "quantity": 2,
        "rate": Decimal("120.00"), "amount": Decimal("240.00"), "taxCode": {"id": "-7"}}
    assert "dueDate" not in sent and "credits INV-2026-0001" in sent["memo"]
    assert "apply" not in sent  # applied once the memo is at NetSuite
    reads = [str(r.url) for r in fake.requests if r.method == "GET"]
    assert reads == [f"{BASE}/creditMemo/{memo_id}?expandSubResources=true",
                     f"{BASE}/invoice/{invoice_id}"]
    [patch] = patches(fake)
    assert str(patch.url) == f"{BASE}/creditMemo/{memo_id}"
    # Source: the creditMemo ``apply`` sublist (items[]: doc, apply, amount), docs/connectors/
    # netsuite.md "Unconfirmed"; keyed by doc (help section_1545295601).
    assert body(patch) == {"apply": {"items": [{"doc": {"id": invoice_id}, "apply": True,
                                                "amount": Decimal("240.00")}]}}
    assert fake.books.amount_remaining(invoice_id) == Decimal("1260.00")
    target.deliver("erp.invoice.post", _note(), "o-6")
    target.deliver("erp.invoice.post", _note(), "o-6-replayed")
    assert len(patches(fake)) == 1
    assert fake.books.amount_remaining(invoice_id) == Decimal("1260.00")
    with pytest.raises(ValueError, match="more than the amount due"):
        fake.books.pay("INV-2026-0001", Decimal("1260.01"), "2026-07-10")
    fake.books.pay("INV-2026-0001", Decimal("1260.00"), "2026-07-10")
    assert fake.books.amount_remaining(invoice_id) == 0
    assert fake.books.open_balance("CUS-1") == {"USD": Decimal(0)}


def test_a_credit_on_a_partly_paid_invoice_applies_only_what_is_owed() -> None:
    """1,500.00 invoiced, 1,400.00 paid before the credit note: the invoice owes 100.00, so
    100.00 of the 240.00 is applied and 140.00 stays a credit on the customer (open balance
    1,500.00 − 1,400.00 − 240.00 = −140.00); a replay applies nothing more."""
    fake, target = with_customer()
    invoice_id = target.deliver("erp.invoice.post", invoice(), "o-5")
    fake.books.pay("INV-2026-0001", Decimal("1400.00"), "2026-07-05")
    memo_id = target.deliver("erp.invoice.post", _note(), "o-6")
    [patch] = patches(fake)
    assert body(patch)["apply"]["items"] == [{"doc": {"id": invoice_id}, "apply": True,
                                              "amount": Decimal("100.00")}]
    assert fake.books.amount_remaining(invoice_id) == 0
    assert fake.books.applied_line(memo_id, invoice_id) == Decimal("100.00")
    assert fake.books.open_balance("CUS-1") == {"USD": Decimal("-140.00")}
    target.deliver("erp.invoice.post", _note(), "o-6")
    assert len(patches(fake)) == 1
    assert fake.books.applied_line(memo_id, invoice_id) == Decimal("100.00")


def test_after_a_payment_is_reversed_the_next_send_applies_the_rest_of_the_credit() -> None:
    """100.00 of 240.00 applied on a partly paid invoice; finance then reverses the
    1,400.00 payment (the invoice owes 1,500.00 − 100.00 = 1,400.00 again). The next send
    reads 140.00 unapplied and sets the invoice's line to 100.00 + 140.00 = 240.00: the
    invoice owes 1,260.00 (not 1,360.00, which a line reset to 140.00 would leave)."""
    fake, target = with_customer()
    invoice_id = target.deliver("erp.invoice.post", invoice(), "o-5")
    fake.books.pay("INV-2026-0001", Decimal("1400.00"), "2026-07-05")
    memo_id = target.deliver("erp.invoice.post", _note(), "o-6")
    fake.books.applications.clear()  # the payment's application is undone in NetSuite
    assert fake.books.amount_remaining(invoice_id) == Decimal("1400.00")
    target.deliver("erp.invoice.post", _note(), "o-6")
    assert body(patches(fake)[-1])["apply"]["items"][0]["amount"] == Decimal("240.00")
    assert fake.books.applied_line(memo_id, invoice_id) == Decimal("240.00")
    assert fake.books.amount_remaining(invoice_id) == Decimal("1260.00")


def test_a_credit_on_a_paid_invoice_stays_open_without_an_exception() -> None:
    """The invoice was paid in full (1,500.00) before the credit note: nothing is applied,
    no PATCH is sent, nothing is refused, and the customer holds a 240.00 credit."""
    fake, target = with_customer()
    invoice_id = target.deliver("erp.invoice.post", invoice(), "o-5")
    fake.books.pay("INV-2026-0001", Decimal("1500.00"), "2026-07-05")
    memo_id = target.deliver("erp.invoice.post", _note(), "o-6")
    assert patches(fake) == []
    assert fake.books.applied_line(memo_id, invoice_id) == 0
    assert fake.books.open_balance("CUS-1") == {"USD": Decimal("-240.00")}


def test_a_memo_left_unapplied_by_a_crash_is_applied_once_on_the_next_send() -> None:
    """The memo reached NetSuite but the process stopped before applying it (``post``
    alone): the next send finds it, reads 240.00 unapplied and applies it, once."""
    fake, target = with_customer()
    invoice_id = target.deliver("erp.invoice.post", invoice(), "o-5")
    memo_id = target.post("erp.invoice.post", _note(), "o-6")
    assert fake.books.amount_remaining(invoice_id) == Decimal("1500.00")
    assert target.deliver("erp.invoice.post", _note(), "o-6") == memo_id
    assert target.deliver("erp.invoice.post", _note(), "o-6") == memo_id
    assert [body(p)["apply"]["items"][0]["amount"] for p in patches(fake)] \
        == [Decimal("240.00")]
    assert fake.books.amount_remaining(invoice_id) == Decimal("1260.00")


def test_a_memo_read_without_its_sublist_is_refused_not_guessed() -> None:
    """An ``apply`` sublist that comes back as links only (not expanded) is not read as
    "nothing applied": the row is refused naming the memo, nothing is patched."""
    fake, target = with_customer()
    target.deliver("erp.invoice.post", invoice(), "o-5")
    memo_id = target.post("erp.invoice.post", _note(), "o-6")
    fake.books.records["creditMemo"][memo_id]["apply"] = {"items": []}
    real = fake.books.read

    def unexpanded(rtype: str, internal: str, *, expand: bool, url: str) -> dict[str, Any]:
        return real(rtype, internal, expand=False, url=url)

    fake.books.read = unexpanded  # type: ignore[method-assign]
    with pytest.raises(Refused, match="CN-2026-0001: the credit memo was read without its "
                                      "apply sublist"):
        target.deliver("erp.invoice.post", _note(), "o-6")
    assert patches(fake) == []


def test_a_credit_memo_waits_for_its_invoice() -> None:
    fake, target = with_customer()
    with pytest.raises(TransientFailure, match="INV-2026-0001 is not at NetSuite yet"):
        target.deliver("erp.invoice.post", _note(), "o-8")
    assert "creditMemo" not in fake.books.records


JOURNAL = {"source": "revenue:REV-1", "entity": "US01", "date": "2026-06-30",
           "lines": [["2400", "debit", "300.00", "USD"], ["4000", "credit", "300.00", "USD"]]}


@pytest.mark.parametrize(("status", "approved"), [("posted", True), ("draft", False)])
def test_a_journal_posts_mapped_accounts_approved_as_configured(status: str,
                                                                approved: bool) -> None:
    fake = seeded()
    target = connector(fake, status=status).target()
    target.deliver("erp.journal.post", JOURNAL, "o-7")
    [put] = puts(fake)
    assert str(put.url) == f"{BASE}/journalEntry/eid:revenue%3AREV-1"
    assert body(put) == {
        "externalId": "revenue:REV-1", "subsidiary": {"id": "1"}, "approved": approved,
        "memo": "revenue:REV-1", "tranDate": "2026-06-30", "line": {"items": [
            {"account": {"id": "61"}, "debit": Decimal("300.00"), "memo": "revenue:REV-1"},
            {"account": {"id": "54"}, "credit": Decimal("300.00"), "memo": "revenue:REV-1"}]}}


def test_a_foreign_journal_carries_the_rate_and_one_without_it_is_refused() -> None:
    fake = seeded()
    target = connector(fake).target()
    eur = [["2400", "debit", "100.00", "EUR"], ["4000", "credit", "100.00", "EUR"]]
    target.deliver("erp.journal.post", JOURNAL | {"lines": eur, "fx": EUR_FX}, "o-8")
    sent = body(puts(fake)[-1])
    assert sent["currency"] == {"id": "4"} and sent["exchangeRate"] == Decimal("1.0850")
    with pytest.raises(Refused, match="needs its exchange rate"):
        target.deliver("erp.journal.post", JOURNAL | {"source": "revenue:REV-2",
                                                      "lines": eur}, "o-9")


def test_a_summary_journal_s_longer_lines_post() -> None:
    """services/ledger/erp_journals.py writes [account, side, amount, currency] and, on a
    foreign summary, the functional amount, then {dimensions} when the line has any."""
    fake = seeded()
    lines = [["2400", "debit", "100.00", "EUR", "108.50",
              {"dimensions": [["counterparty", "GB01"], ["project", "P-1"]]}],
             ["4000", "credit", "100.00", "EUR", "108.50"]]
    connector(fake).target().deliver("erp.journal.post", JOURNAL | {
        "source": "summary:US01:2026-06:1:EUR", "lines": lines, "fx": EUR_FX}, "o-10")
    sent = body(puts(fake)[-1])
    assert sent["exchangeRate"] == Decimal("1.0850")
    assert [(ln["account"], ln.get("debit"), ln.get("credit")) for ln in sent["line"]["items"]] \
        == [({"id": "61"}, Decimal("100.00"), None), ({"id": "54"}, None, Decimal("100.00"))]


def test_an_unmapped_account_is_refused_naming_it_and_nothing_is_sent() -> None:
    fake = seeded()
    lines = [["9999", "debit", "1.00", "USD"], ["4000", "credit", "1.00", "USD"]]
    with pytest.raises(Refused, match="not mapped for NetSuite: account 9999"):
        connector(fake).target().deliver("erp.journal.post", JOURNAL | {"lines": lines}, "o")
    assert fake.requests == []


def test_release_journals_travel_as_documents() -> None:
    fake = seeded()
    out = connector(fake).target().deliver("erp.journal.post",
                                           JOURNAL | {"source": "invoice:INV-1"}, "o")
    assert out.startswith("covered by the document") and fake.requests == []


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.RemoteProtocolError])
def test_accepted_then_dropped_leaves_exactly_one_document(error: type[Exception]) -> None:
    fake, target = with_customer(seeded())
    fake.drop_after_accept(5, error)  # every attempt the client makes is stored, then dropped
    slept: list[float] = []
    target.client.sleep = slept.append
    internal = target.deliver("erp.invoice.post", invoice(), "outbox-2")
    assert internal == "101" and len(slept) == 4  # 5 attempts, then the look-up found it
    [lookup] = [r for r in fake.requests if r.method == "POST"]  # the invoice by its eid
    assert json.loads(lookup.content)["q"].endswith("externalid = 'INV-2026-0001'")
    assert target.deliver("erp.invoice.post", invoice(), "outbox-2") == "101"  # delivered again
    assert list(fake.books.records["invoice"]) == ["101"]


def test_dropped_and_not_stored_is_transient_with_the_same_key() -> None:
    fake, target = with_customer()
    fake.fail(5, 503)
    target.client.sleep = [].append
    with pytest.raises(TransientFailure, match="INV-2026-0001 is not at erp"):
        target.deliver("erp.invoice.post", invoice(), "outbox-2")
    assert "invoice" not in fake.books.records


@pytest.mark.parametrize("status", [429, 400])
def test_the_concurrency_limit_is_waited_and_retried(status: int) -> None:
    fake = seeded(concurrency_status=status)
    slept: list[float] = []
    fake.throttle(2)
    target = connector(fake, slept).target()
    assert target.deliver("erp.customer.upsert", CUSTOMER, "o-1") == "100"
    assert slept == [10.0, 10.0] and len(fake.requests) == 3


def test_too_many_throttles_are_transient() -> None:
    fake = seeded()
    fake.throttle(9)
    with pytest.raises(TransientFailure, match="throttled 5 times"):
        connector(fake, []).target().deliver("erp.customer.upsert", CUSTOMER, "o-1")


def test_a_netsuite_refusal_is_refused_with_its_error_details() -> None:
    fake, target = with_customer()
    fake.books.tables["item"]["211"]["isinactive"] = "T"
    with pytest.raises(Refused) as refused:
        target.deliver("erp.invoice.post", invoice(), "o-2")
    assert "HTTP 400 INVALID_KEY_OR_REF" in str(refused.value)
    assert "Invalid item.items[1].item reference key 211" in str(refused.value)


def test_an_invoice_waits_for_its_customer() -> None:
    fake = seeded()
    with pytest.raises(TransientFailure, match="customer CUS-1 is not at NetSuite yet"):
        connector(fake).target().deliver("erp.invoice.post", invoice(), "o-2")


def test_without_a_location_header_the_id_is_looked_up_by_external_id() -> None:
    fake, target = with_customer(seeded(location=False))
    assert target.customers == {"CUS-1": "100"}
    assert target.deliver("erp.invoice.post", invoice(), "o-2") == "101"
    assert target.find("erp.invoice.post", invoice()) == "101"
    assert target.find("erp.invoice.post", invoice(number="INV-X")) is None
    q = json.loads(fake.requests[-1].content)["q"]
    assert q == "SELECT id FROM transaction WHERE type = 'CustInvc' AND externalid = 'INV-X'"


def test_compensation_deletes_the_customer_a_failed_provisioning_created() -> None:
    fake, target = with_customer()
    target.compensate("erp.customer.upsert", CUSTOMER, "outbox-1")
    assert fake.books.records["customer"] == {} and target.customers == {}
    target.compensate("erp.customer.upsert", CUSTOMER, "outbox-1")  # gone already: fine
    assert fake.requests[-1].method == "DELETE"


def test_an_intercompany_half_is_a_journal_in_its_own_subsidiary_with_eliminate() -> None:
    """US01's half of an intercompany charge (its month-end summary: the receivable from
    GB01 against revenue, 500.00 USD): one journalEntry in US01's subsidiary; the line on
    the counterparty carries ``eliminate`` (NetSuite's elimination), the other does not;
    no ``toSubsidiary`` (that is the intercompany journal's, which needs both halves)."""
    fake = seeded()
    target = connector(fake).target()
    lines = [["2400", "debit", "500.00", "USD", {"dimensions": [["counterparty", "GB01"]]}],
             ["4000", "credit", "500.00", "USD"]]
    target.deliver("erp.journal.post", JOURNAL | {"source": "summary:US01:2026-06:1",
                                                  "lines": lines}, "o-9")
    sent = body(puts(fake)[-1])
    assert sent["subsidiary"] == {"id": "1"} and "toSubsidiary" not in sent
    assert [(ln["account"]["id"], ln.get("eliminate")) for ln in sent["line"]["items"]] == [
        ("61", True), ("54", None)]

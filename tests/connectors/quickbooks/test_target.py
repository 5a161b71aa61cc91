"""The QBO target with real outbox payloads: exact documents, exactly once, validate()."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncline.connectors.erp.target import ErpTarget
from syncline.connectors.quickbooks import QuickBooksConnector
from syncline.connectors.quickbooks.documents import sales_document
from syncline.connectors.quickbooks.fake import FakeQuickBooks
from syncline.connectors.quickbooks.fake.store import Fault
from syncline.services.messaging.delivery import Refused, TransientFailure
from tests.connectors.quickbooks.conftest import connect, make_fake, pick

Rows = list[tuple[str, str, dict[str, Any]]]


def posts(fake: FakeQuickBooks, resource: str) -> list[httpx.Request]:
    return [r for r in fake.requests if r.method == "POST" and r.url.path.endswith(resource)]


def body(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content, parse_float=Decimal)


def customers_in(qbo: QuickBooksConnector, rows: Rows) -> None:
    for key, kind, payload in rows:
        if kind == "erp.customer.upsert":
            qbo.target().deliver(kind, payload, key)


def test_customers_are_keyed_by_the_syncline_id_in_their_display_name(
        qbo: QuickBooksConnector, fake: FakeQuickBooks, outbox_rows: Rows) -> None:
    customers_in(qbo, outbox_rows)
    usd_key, usd = pick(outbox_rows, "erp.customer.upsert", currency="USD")
    sent = posts(fake, "/customer")
    assert sent[0].url.params["requestid"] == usd_key
    assert body(sent[0]) == {"DisplayName": f"Acme Corp [{usd['customer_id']}]",
                             "CompanyName": "Acme Corp", "BillAddr": {"Country": "US"},
                             "Taxable": False}
    assert body(sent[1])["CurrencyRef"] == {"value": "EUR"}  # a foreign customer only
    # two Syncline customers named Acme Corp: two QBO customers, no Duplicate Name fault
    assert sorted(c["CurrencyRef"]["value"] for c in fake.documents("Customer")) == \
        ["EUR", "USD"]
    assert qbo.target().find("erp.customer.upsert", usd) == qbo.target().customers[
        usd["customer_id"]]


def test_an_upsert_again_updates_in_place_and_a_stale_synctoken_is_reread(
        qbo: QuickBooksConnector, fake: FakeQuickBooks, outbox_rows: Rows) -> None:
    key, payload = pick(outbox_rows, "erp.customer.upsert", currency="USD")
    first = qbo.target().deliver("erp.customer.upsert", payload, key)
    fake.edit_after_read("Customer", first)  # someone edits it in QBO meanwhile
    renamed = payload | {"name": "Acme Corporation"}
    assert qbo.target().deliver("erp.customer.upsert", renamed, "out_rename") == first
    (customer,) = fake.documents("Customer")
    assert customer["DisplayName"] == f"Acme Corporation [{payload['customer_id']}]"
    assert customer["SyncToken"] == "2"
    updates = [body(r) for r in posts(fake, "/customer") if "Id" in body(r)]
    assert [u["SyncToken"] for u in updates] == ["0", "1"]  # stale, then re-read
    assert all(u["sparse"] is True for u in updates)


def test_a_home_currency_invoice_carries_no_rate(qbo: QuickBooksConnector, fake: FakeQuickBooks,
                                                 outbox_rows: Rows) -> None:
    customers_in(qbo, outbox_rows)
    key, payload = pick(outbox_rows, "erp.invoice.post", currency="USD")
    invoice_id = qbo.target().deliver("erp.invoice.post", payload, key)
    (sent,) = posts(fake, "/invoice")
    assert sent.url.params["requestid"] == key and sent.url.params["minorversion"] == "75"
    assert body(sent) == {
        "DocNumber": "US01-2026-000001", "TxnDate": "2026-01-31", "DueDate": "2026-03-02",
        "CustomerRef": {"value": qbo.target().customers[payload["customer_id"]]},
        "PrivateNote": "Syncline invoice US01-2026-000001, contract C-1",
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": Decimal("1600.00"),
                  "Description": "Consultant time", "SalesItemLineDetail": {
                      "ItemRef": {"value": "21"}, "Qty": Decimal("8"),
                      "UnitPrice": Decimal("200.00"), "TaxCodeRef": {"value": "NON"},
                      "ClassRef": {"value": "5000000000000012"}}}]}
    assert b'"Amount": 1600.00' in sent.content  # a JSON number, from the Decimal
    assert fake.documents("Invoice")[0]["Id"] == invoice_id


def test_a_foreign_invoice_carries_its_currency_and_rate_and_the_credit_note_is_positive(
        qbo: QuickBooksConnector, fake: FakeQuickBooks, outbox_rows: Rows) -> None:
    customers_in(qbo, outbox_rows)
    key, payload = pick(outbox_rows, "erp.invoice.post", currency="EUR", document="invoice")
    qbo.target().deliver("erp.invoice.post", payload, key)
    sent = body(posts(fake, "/invoice")[0])
    assert sent["CurrencyRef"] == {"value": "EUR"}
    assert sent["ExchangeRate"] == Decimal("1.0850")
    note_key, note = pick(outbox_rows, "erp.invoice.post", document="credit_note")
    memo_id = qbo.target().deliver("erp.invoice.post", note, note_key)
    memo = body(posts(fake, "/creditmemo")[0])
    assert memo["DocNumber"] == "US01-CN-2026-000001" and "DueDate" not in memo
    assert memo["Line"][0]["Amount"] == Decimal("400.00")
    assert memo["Line"][0]["SalesItemLineDetail"]["Qty"] == Decimal("2")
    assert memo["ExchangeRate"] == Decimal("1.0850")
    assert fake.documents("CreditMemo")[0]["Id"] == memo_id
    customer = qbo.target().customers[payload["customer_id"]]
    assert fake.open_balance(customer) == Decimal("800.00")  # 1200 invoiced − 400 credited


def test_a_credit_memo_is_applied_to_its_invoice_by_a_zero_payment_once(
        qbo: QuickBooksConnector, fake: FakeQuickBooks, outbox_rows: Rows) -> None:
    """EUR invoice 1,200.00 at 1.0850, credit memo 400.00 on it: a Payment of 0.00 links
    400.00 to each, so the invoice's Balance is 800.00 and the memo's RemainingCredit 0;
    the customer then pays exactly 800.00 and owes nothing (more is refused by QBO)."""
    customers_in(qbo, outbox_rows)
    key, payload = pick(outbox_rows, "erp.invoice.post", currency="EUR", document="invoice")
    invoice_id = qbo.target().deliver("erp.invoice.post", payload, key)
    note_key, note = pick(outbox_rows, "erp.invoice.post", document="credit_note")
    assert note["invoice"] == payload["number"]
    memo_id = qbo.target().deliver("erp.invoice.post", note, note_key)
    (apply,) = posts(fake, "/payment")
    # Source: Intuit's Payment entity (Line[].LinkedTxn with TxnType Invoice and CreditMemo,
    # TotalAmt 0 to apply a credit memo; CurrencyRef, ExchangeRate). Our research notes
    # (shared/reference/connectors.md §6.3) show only the Invoice link: the CreditMemo link,
    # the zero TotalAmt and the Payment's CurrencyRef/ExchangeRate are not covered there.
    assert apply.url.params["requestid"] == f"{note_key}:apply"
    customer = qbo.target().customers[payload["customer_id"]]
    assert body(apply) == {
        "CustomerRef": {"value": customer}, "TotalAmt": Decimal("0.00"),
        "TxnDate": note["date"], "CurrencyRef": {"value": "EUR"},
        "ExchangeRate": Decimal("1.0850"), "Line": [
            {"Amount": Decimal("400.00"), "LinkedTxn": [{"TxnId": invoice_id,
                                                         "TxnType": "Invoice"}]},
            {"Amount": Decimal("400.00"), "LinkedTxn": [{"TxnId": memo_id,
                                                         "TxnType": "CreditMemo"}]}]}
    invoice, memo = fake.company.get("Invoice", invoice_id), fake.company.get("CreditMemo",
                                                                              memo_id)
    assert (invoice["Balance"], memo["RemainingCredit"]) == (Decimal("800.00"), Decimal(0))
    # a retry or a replay of the row (same key) applies nothing more
    assert qbo.target().deliver("erp.invoice.post", note, note_key) == memo_id
    assert len(fake.documents("Payment")) == 1 and invoice["Balance"] == Decimal("800.00")
    with pytest.raises(Fault) as refused:
        fake.record_payment(invoice_id, "800.01", "2026-03-01")
    assert "more than its open balance" in refused.value.detail
    fake.record_payment(invoice_id, "800.00", "2026-03-01")
    assert invoice["Balance"] == 0 and fake.open_balance(customer) == 0


def test_the_release_journals_of_documents_are_not_sent(qbo: QuickBooksConnector,
                                                        fake: FakeQuickBooks,
                                                        outbox_rows: Rows) -> None:
    for key, kind, payload in outbox_rows:
        if kind == "erp.journal.post":
            assert qbo.target().deliver(kind, payload, key).startswith("covered by")
    assert fake.requests == []


RECOGNITION = {"source": "recognition:C-9:2026-01", "entity": "US01", "lines": [
    ["2400", "debit", "500.00", "USD"], ["4010", "credit", "500.00", "USD"]]}


def test_a_journal_is_balanced_on_mapped_accounts_and_found_by_its_source(
        qbo: QuickBooksConnector, fake: FakeQuickBooks) -> None:
    made = qbo.target().deliver("erp.journal.post", RECOGNITION, "out_j1")
    sent = body(posts(fake, "/journalentry")[0])
    assert sent["PrivateNote"] == "recognition:C-9:2026-01"
    assert sent["DocNumber"].startswith("SL-") and len(sent["DocNumber"]) == 21
    assert [(ln["JournalEntryLineDetail"]["PostingType"],
             ln["JournalEntryLineDetail"]["AccountRef"]["value"], ln["Amount"])
            for ln in sent["Line"]] == [("Debit", "80", Decimal("500.00")),
                                        ("Credit", "79", Decimal("500.00"))]
    assert "CurrencyRef" not in sent and "ExchangeRate" not in sent
    # a second outbox row for the same journal finds it: still one JournalEntry
    assert qbo.target().deliver("erp.journal.post", RECOGNITION, "out_j2") == made
    assert len(fake.documents("JournalEntry")) == 1


@pytest.mark.parametrize(("lines", "reason"), [
    ([["1100", "debit", "5.00", "USD"], ["4010", "credit", "5.00", "USD"]],
     "receivable account 1100"),
    ([["2400", "debit", "5.00", "EUR"], ["4010", "credit", "5.00", "EUR"]],
     "needs its exchange rate"),
    ([["2400", "debit", "5.00", "USD"], ["4010", "credit", "4.00", "USD"]], "debits 5.00"),
    ([["2400", "debit", "5.00", "USD"], ["7777", "credit", "5.00", "USD"]],
     "account 7777 is not mapped")])
def test_journals_qbo_cannot_take_are_refused_before_sending(
        qbo: QuickBooksConnector, fake: FakeQuickBooks, lines: list[Any], reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        qbo.target().deliver("erp.journal.post", {**RECOGNITION, "lines": lines}, "out_x")
    assert posts(fake, "/journalentry") == []


def test_a_foreign_journal_with_its_rate_posts_currency_and_rate(
        qbo: QuickBooksConnector, fake: FakeQuickBooks) -> None:
    eur = {**RECOGNITION, "lines": [["2400", "debit", "5.00", "EUR"],
                                    ["4010", "credit", "5.00", "EUR"]],
           "fx": {"base": "USD", "quote": "EUR", "rate": "0.8000"}, "date": "2026-01-31"}
    qbo.target().deliver("erp.journal.post", eur, "out_fx")
    sent = body(posts(fake, "/journalentry")[0])
    assert sent["CurrencyRef"] == {"value": "EUR"}
    assert sent["ExchangeRate"] == Decimal("1.2500000000") and sent["TxnDate"] == "2026-01-31"


def test_a_summary_journal_s_longer_lines_post(qbo: QuickBooksConnector,
                                              fake: FakeQuickBooks) -> None:
    """services/ledger/erp_journals.py writes [account, side, amount, currency] and, on a
    foreign summary, the functional amount, then {dimensions} when the line has any."""
    eur = {**RECOGNITION, "source": "summary:US01:2026-01:1:EUR", "lines": [
        ["2400", "debit", "5.00", "EUR", "5.43", {"dimensions": [["project", "P-1"]]}],
        ["4010", "credit", "5.00", "EUR", "5.43"]],
        "fx": {"base": "EUR", "quote": "USD", "rate": "1.0850"}}
    qbo.target().deliver("erp.journal.post", eur, "out_sum")
    sent = body(posts(fake, "/journalentry")[0])
    assert [(ln["JournalEntryLineDetail"]["PostingType"],
             ln["JournalEntryLineDetail"]["AccountRef"]["value"], ln["Amount"])
            for ln in sent["Line"]] == [("Debit", "80", Decimal("5.00")),
                                        ("Credit", "79", Decimal("5.00"))]
    assert sent["ExchangeRate"] == Decimal("1.0850")


def test_a_dimension_the_mapping_does_not_configure_is_not_tracked(
        fake: FakeQuickBooks, tmp_path: Path, outbox_rows: Rows) -> None:
    """No ``dimensions.service_line`` at all: the invoice posts without a ClassRef (as
    ``validate`` reads it: class tracking is not in use); a configured dimension that lacks
    the document's value is still refused."""
    key, payload = pick(outbox_rows, "erp.invoice.post", currency="USD")
    untracked = connect(fake, tmp_path, dimensions={})
    customers_in(untracked, outbox_rows)
    untracked.target().deliver("erp.invoice.post", payload, key)
    (sent,) = posts(fake, "/invoice")
    assert "ClassRef" not in body(sent)["Line"][0]["SalesItemLineDetail"]
    other = connect(make_fake(), tmp_path / "other",
                    dimensions={"service_line": {"consulting": "5000000000000012"}})
    customers_in(other, outbox_rows)
    with pytest.raises(Refused, match="service_line implementation is not mapped"):
        other.target().deliver("erp.invoice.post", payload, key)


def test_the_same_requestid_twice_is_one_document(qbo: QuickBooksConnector,
                                                  fake: FakeQuickBooks) -> None:
    one = qbo.api.create("JournalEntry", {"Line": [
        {"Amount": Decimal(1), "JournalEntryLineDetail": {"PostingType": "Debit",
                                                          "AccountRef": {"value": "79"}}},
        {"Amount": Decimal(1), "JournalEntryLineDetail": {"PostingType": "Credit",
                                                          "AccountRef": {"value": "80"}}}]},
        "out_same")
    two = qbo.api.create("JournalEntry", {"Line": []}, "out_same")
    assert one["Id"] == two["Id"] and len(fake.documents("JournalEntry")) == 1


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.RemoteProtocolError])
@pytest.mark.parametrize("drops", [1, 5])
def test_accepted_then_dropped_is_exactly_one_invoice(
        fake: FakeQuickBooks, tmp_path: Path, outbox_rows: Rows,
        error: type[httpx.TransportError], drops: int) -> None:
    slept: list[float] = []
    qbo = connect(fake, tmp_path, slept)
    customers_in(qbo, outbox_rows)
    key, payload = pick(outbox_rows, "erp.invoice.post", currency="USD")
    fake.drop_after_accept(drops, error)
    first = qbo.target().deliver("erp.invoice.post", payload, key)
    # 1 drop: the client's retry reuses the requestid and QBO replays its answer;
    # 5 drops: the retries run out, deliver looks the invoice up by DocNumber and finds it
    again = qbo.target().deliver("erp.invoice.post", payload, key)  # the outbox again
    assert first == again
    assert len(fake.documents("Invoice")) == 1
    assert {r.url.params["requestid"] for r in posts(fake, "/invoice")} == {key}


def test_an_unknown_outcome_not_found_is_transient_and_the_retry_makes_one(
        fake: FakeQuickBooks, tmp_path: Path, outbox_rows: Rows) -> None:
    qbo = connect(fake, tmp_path)
    customers_in(qbo, outbox_rows)
    key, payload = pick(outbox_rows, "erp.invoice.post", currency="USD")
    fake.fail(5, 503)  # the write never reaches QBO
    with pytest.raises(TransientFailure, match="will be sent again with the same key"):
        qbo.target().deliver("erp.invoice.post", payload, key)
    assert fake.documents("Invoice") == []
    qbo.target().deliver("erp.invoice.post", payload, key)
    assert len(fake.documents("Invoice")) == 1


def test_an_invoice_before_its_customer_waits(qbo: QuickBooksConnector, fake: FakeQuickBooks,
                                              outbox_rows: Rows) -> None:
    key, payload = pick(outbox_rows, "erp.invoice.post", currency="USD")
    with pytest.raises(TransientFailure, match="not at QuickBooks yet"):
        qbo.target().deliver("erp.invoice.post", payload, key)
    assert posts(fake, "/invoice") == []


def test_a_permanent_fault_is_refused_with_qbo_message(qbo: QuickBooksConnector,
                                                       outbox_rows: Rows) -> None:
    key, customer = pick(outbox_rows, "erp.customer.upsert", currency="USD")
    qbo.target().deliver("erp.customer.upsert", customer, key)
    inv_key, invoice = pick(outbox_rows, "erp.invoice.post", currency="EUR", document="invoice")
    wrong = invoice | {"customer_id": customer["customer_id"]}  # a USD customer, EUR invoice
    with pytest.raises(Refused, match=r"6000.*customer's currency"):
        qbo.target().deliver("erp.invoice.post", wrong, inv_key)


def test_another_entity_is_refused(qbo: QuickBooksConnector) -> None:
    with pytest.raises(Refused, match="not GB01"):
        qbo.target().deliver("erp.journal.post", RECOGNITION | {"entity": "GB01"}, "out_gb")


def test_compensation_makes_the_customer_inactive(qbo: QuickBooksConnector,
                                                  fake: FakeQuickBooks,
                                                  outbox_rows: Rows) -> None:
    key, payload = pick(outbox_rows, "erp.customer.upsert", currency="USD")
    qbo.target().deliver("erp.customer.upsert", payload, key)
    qbo.target().compensate("erp.customer.upsert", payload, key)
    (customer,) = fake.documents("Customer")
    assert customer["Active"] is False
    # the deal comes back: the same customer is active again, not a duplicate name
    assert qbo.target().deliver("erp.customer.upsert", payload, "out_again") == customer["Id"]
    assert customer["Active"] is True and len(fake.documents("Customer")) == 1
    assert isinstance(qbo.target(), ErpTarget)


def test_validate_names_what_is_missing_or_wrong(tmp_path: Path) -> None:
    fake = make_fake(multicurrency=False)
    qbo = connect(fake, tmp_path, accounts={"1100": "84", "4010": "999", "2400": "80",
                                            "5000": "91"},
                  items={"4010": "21", "2400": "21"},
                  tax_codes={"US-EXEMPT": "NON", "GB-VAT-STD": "20.0% S"},
                  dimensions={"service_line": {"implementation": "123"}})
    problems = qbo.validate()
    assert problems == [
        "currencies EUR: multicurrency is off in the company (Account and Settings → "
        "Advanced → Currency)",
        "account 4010 → Account 999: no such Account in QuickBooks",
        "account 5000 → Account 91 (Old Income): inactive",
        "item for account 2400 → Item 21: books to income account 79, the mapping says 80",
        "item for account 4010 → Item 21: books to income account 79, the mapping says 999",
        "tax code GB-VAT-STD → 20.0% S: automated sales tax takes TAX or NON on a line",
        "service_line implementation → Class 123: no such Class in QuickBooks"]
    assert not qbo.check().ok


def test_tax_is_typed_per_line_and_the_total_sent_as_the_mapping_says(tmp_path: Path,
                                                                      outbox_rows: Rows) -> None:
    _, usd = pick(outbox_rows, "erp.invoice.post", currency="USD")
    taxed = usd | {"tax_code": "US-STD", "tax": "120.00", "total": "1720.00"}
    ast = connect(make_fake(), tmp_path, tax_codes={"US-STD": "TAX",
                                                                 "US-EXEMPT": "NON"}).settings
    _, body = sales_document(taxed, ast, "58")
    assert body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "TAX"}
    assert body["TxnTaxDetail"] == {"TotalTax": Decimal("120.00")}
    assert "GlobalTaxCalculation" not in body
    glob = connect(make_fake(), tmp_path, tax_model="global", tax_codes={"US-STD": "7"}).settings
    _, body = sales_document(taxed, glob, "58")
    assert body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "7"}
    assert body["TxnTaxDetail"] == {"TxnTaxCodeRef": {"value": "7"},
                                    "TotalTax": Decimal("120.00")}
    assert body["GlobalTaxCalculation"] == "TaxExcluded"
    _, exempt = sales_document(usd, ast, "58")
    assert "TxnTaxDetail" not in exempt  # no tax: nothing to override


def test_a_payment_keeps_its_own_rate_and_the_fake_realizes_fx_as_qbo_would(
        qbo: QuickBooksConnector, fake: FakeQuickBooks, outbox_rows: Rows) -> None:
    """EUR invoice 1,200.00 at ExchangeRate 1.0850. Half paid at 1.1000: 600.00 × 1.1000 =
    660.00 USD less 600.00 × 1.0850 = 651.00, QBO's exchange gain is 9.00 USD; the other
    half paid without a rate of its own (the invoice's) realizes nothing."""
    customers_in(qbo, outbox_rows)
    key, payload = pick(outbox_rows, "erp.invoice.post", currency="EUR", document="invoice")
    invoice_id = qbo.target().deliver("erp.invoice.post", payload, key)
    assert fake.company.get("Invoice", invoice_id)["TotalAmt"] == Decimal("1200.00")
    first = fake.record_payment(invoice_id, "600.00", "2026-03-01", rate="1.1000")
    second = fake.record_payment(invoice_id, "600.00", "2026-03-02")
    assert first["ExchangeRate"] == Decimal("1.1000")
    assert fake.realized_gain(first["Id"]) == Decimal("9.00")  # 660.00 − 651.00
    assert fake.realized_gain(second["Id"]) == 0


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.RemoteProtocolError])
def test_a_credit_application_accepted_then_dropped_is_one_payment(
        qbo: QuickBooksConnector, fake: FakeQuickBooks, outbox_rows: Rows,
        error: type[httpx.TransportError]) -> None:
    """Every POST drops after QBO accepted it: the memo's five sends (then it is found by
    DocNumber) and the zero payment's five (replays of its requestid). The delivery fails as
    transient; sent again, the memo has no credit left: one application of 400.00."""
    customers_in(qbo, outbox_rows)
    key, payload = pick(outbox_rows, "erp.invoice.post", currency="EUR", document="invoice")
    invoice_id = qbo.target().deliver("erp.invoice.post", payload, key)
    note_key, note = pick(outbox_rows, "erp.invoice.post", document="credit_note")
    fake.drop_after_accept(10, error)
    with pytest.raises(TransientFailure, match="settling it failed"):
        qbo.target().deliver("erp.invoice.post", note, note_key)
    memo_id = qbo.target().deliver("erp.invoice.post", note, note_key)
    assert len(fake.documents("CreditMemo")) == 1 and len(fake.documents("Payment")) == 1
    assert fake.company.get("Invoice", invoice_id)["Balance"] == Decimal("800.00")
    assert fake.company.get("CreditMemo", memo_id)["RemainingCredit"] == 0

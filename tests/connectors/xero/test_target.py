"""The Xero target: exact requests, documents as Xero keeps them, exactly once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from syncline.connectors.xero.fake import FakeXero
from syncline.services.messaging.delivery import Refused, TransientFailure
from tests.connectors.xero.conftest import GB, US, Connect, body, customer, invoice

D = Decimal


def test_a_customer_is_a_contact_keyed_by_the_syncline_id_with_exact_headers(
        fake: FakeXero, connect: Connect) -> None:
    target = connect().target()
    contact_id = target.deliver("erp.customer.upsert", customer(), "outbox-1")
    (token,) = fake.token_requests
    assert token == {"grant_type": "refresh_token", "refresh_token": "rt-0"}
    lookup, put = fake.requests[1], fake.requests[2]
    assert (lookup.method, lookup.url.path, dict(lookup.url.params)) == (
        "GET", "/api.xro/2.0/Contacts", {"where": 'ContactNumber=="cus_acme"'})
    assert put.method == "PUT" and put.url.path == "/api.xro/2.0/Contacts"
    for request in (lookup, put):
        assert request.headers["Authorization"] == "Bearer at-1"
        assert request.headers["xero-tenant-id"] == US
        assert request.headers["Accept"] == "application/json"
    assert put.headers["Idempotency-Key"] == "outbox-1"
    assert body(put) == {"Contacts": [{"Name": "Acme Corp", "ContactNumber": "cus_acme",
                                       "DefaultCurrency": "USD",
                                       "AccountsReceivableTaxType": "NONE"}]}
    assert target.find("erp.customer.upsert", customer()) == contact_id
    # an update goes to the same contact (POST /Contacts/{id}), never a second one
    again = target.deliver("erp.customer.upsert", customer(name="Acme Corporation"), "ob-9")
    assert again == contact_id
    assert [c["Name"] for c in fake.books[US].records["Contacts"].values()] == [
        "Acme Corporation"]
    assert fake.writes("POST")[-1].url.path == f"/api.xro/2.0/Contacts/{contact_id}"


def test_a_home_currency_invoice_carries_no_currency_and_books_to_mapped_codes(
        fake: FakeXero, connect: Connect) -> None:
    target = connect().target()
    invoice_id = target.deliver("erp.invoice.post", invoice(), "outbox-7")
    put = fake.writes("PUT")[-1]
    assert put.url.path == "/api.xro/2.0/Invoices" and put.url.params["unitdp"] == "4"
    assert put.headers["Idempotency-Key"] == "outbox-7"
    assert body(put) == {"Invoices": [{
        "Type": "ACCREC", "Contact": {"ContactID": next(iter(fake.books[US].records[
            "Contacts"]))},
        "InvoiceNumber": "US01-2026-000001", "Reference": "C-1", "Date": "2026-01-31",
        "DueDate": "2026-03-02", "LineAmountTypes": "Exclusive", "Status": "AUTHORISED",
        "LineItems": [{"Description": "Consultant time", "Quantity": 6,
                       "UnitAmount": "200.0000", "LineAmount": "1200.00",
                       "AccountCode": "200", "TaxType": "NONE", "TaxAmount": "0.00"}]}]}
    stored = fake.books[US].records["Invoices"][invoice_id]
    assert stored["Total"] == Decimal("1200.00") and stored["CurrencyCode"] == "USD"
    assert fake.books[US].open_balances() == {"cus_acme": Decimal("1200.00")}
    # the customer did not exist yet: created first, with its own key
    assert fake.writes("PUT")[0].headers["Idempotency-Key"] == "outbox-7:contact"


def test_the_target_is_named_after_its_connector(connect: Connect) -> None:
    """Deliveries keep the vendor's ids under ``erp:<connector name>`` (messaging/delivery
    ``send``), as for the other ERPs; the conftest's connector is named ``books``."""
    target = connect().target()
    assert target.name == "books" and target.xref_system(invoice()) == "erp:books"


def test_a_contact_billed_in_two_currencies_owes_per_currency(fake: FakeXero,
                                                               connect: Connect) -> None:
    """The fake's ``open_balance`` keeps currencies apart (``open_balances`` adds them up,
    meaningful for a one-currency contact only)."""
    target = connect().target()
    target.deliver("erp.invoice.post", invoice(), "ob-1")
    target.deliver("erp.invoice.post", invoice(
        "US01-2026-000002", currency="EUR", subtotal="500.00", total="500.00",
        fx={"base": "EUR", "quote": "USD", "rate": "1.08", "source": "ECB",
            "as_of": "2026-01-31"},
        lines=[{"description": "Consultant time", "quantity": "2.5", "unit_price": "200.00",
                "amount": "500.00", "deferred": False}]), "ob-2")
    fake.books[US].record_payment("US01-2026-000002", "100.00", "2026-02-10")
    assert fake.books[US].open_balance("cus_acme") == {"USD": Decimal("1200.00"),
                                                       "EUR": Decimal("400.00")}


def test_a_foreign_invoice_carries_its_rate_as_xero_writes_it(fake: FakeXero,
                                                              connect: Connect) -> None:
    target = connect().target()
    eur = invoice(currency="EUR", subtotal="3200.00", total="3200.00", fx={
        "base": "EUR", "quote": "USD", "rate": "1.08", "source": "ECB",
        "as_of": "2026-01-02"}, lines=[{"description": "Consultant time",
                                        "quantity": "16", "unit_price": "200.00",
                                        "amount": "3200.00", "deferred": True}])
    target.deliver("erp.invoice.post", eur, "outbox-8")
    sent = body(fake.writes("PUT")[-1])["Invoices"][0]
    # 1 EUR = 1.08 USD → Xero's rate is EUR per USD: 1 / 1.08, 6 places
    assert (sent["CurrencyCode"], sent["CurrencyRate"]) == ("EUR", "0.925926")
    assert sent["LineItems"][0]["AccountCode"] == "820"  # billed ahead: deferred
    with pytest.raises(Refused, match="carries no exchange rate"):
        target.deliver("erp.invoice.post", eur | {"number": "US01-2026-000002", "fx": None},
                       "outbox-9")


def test_vat_is_split_over_the_lines_so_xeros_total_is_syncline_s(
        fake: FakeXero, connect: Connect) -> None:
    target = connect().target()
    gb = invoice(number="GB01-2026-000001", entity="GB01", currency="GBP",
                 tax_code="GB-VAT-STD", tax_rate="0.20", subtotal="100.01", tax="20.00",
                 total="120.01", lines=[
                     {"description": d, "quantity": "1", "unit_price": a, "amount": a,
                      "deferred": False}
                     for d, a in (("a", "33.33"), ("b", "33.33"), ("c", "33.35"))])
    invoice_id = target.deliver("erp.invoice.post", gb, "outbox-10")
    put = fake.writes("PUT")[-1]
    assert put.headers["xero-tenant-id"] == GB
    lines = body(put)["Invoices"][0]["LineItems"]
    # 6.67 + 6.67 + 6.67 would be 20.01: the last taxed line takes the remainder
    assert [(ln["TaxType"], ln["TaxAmount"]) for ln in lines] == [
        ("OUTPUT2", "6.67"), ("OUTPUT2", "6.67"), ("OUTPUT2", "6.66")]
    assert fake.books[GB].records["Invoices"][invoice_id]["Total"] == Decimal("120.01")


def test_a_credit_note_is_accreccredit_with_positive_amounts(fake: FakeXero,
                                                             connect: Connect) -> None:
    target = connect(status="draft").target()
    note = invoice(document="credit_note", number="US01-CN-2026-000001",
                   invoice="US01-2026-000001", subtotal="-200.00", total="-200.00",
                   lines=[{"description": "Credit", "quantity": "1", "unit_price": "-200.00",
                           "amount": "-200.00", "deferred": False}])
    del note["due"]
    note_id = target.deliver("erp.invoice.post", note, "outbox-11")
    put = fake.writes("PUT")[-1]
    assert put.url.path == "/api.xro/2.0/CreditNotes"
    sent = body(put)["CreditNotes"][0]
    assert (sent["Type"], sent["CreditNoteNumber"], sent["Reference"], sent["Status"]) == (
        "ACCRECCREDIT", "US01-CN-2026-000001", "US01-2026-000001", "DRAFT")
    assert (sent["LineItems"][0]["UnitAmount"], sent["LineItems"][0]["LineAmount"]) == (
        "200.0000", "200.00")
    assert target.find("erp.invoice.post", note) == note_id
    assert fake.requests[-1].url.params["where"] == 'CreditNoteNumber=="US01-CN-2026-000001"'
    # a DRAFT credit note is not allocated (Xero allocates approved documents only)
    assert not [w for w in fake.writes("PUT") if w.url.path.endswith("/Allocations")]


def test_journals_balance_on_mapped_codes_and_foreign_ones_are_converted(
        fake: FakeXero, connect: Connect) -> None:
    target = connect().target()
    home = {"source": "revenue:rec-1", "entity": "US01", "date": "2026-01-31",
            "lines": [["2300", "debit", "3456.00", "USD"], ["4010", "credit", "3456.00", "USD"]]}
    journal_id = target.deliver("erp.journal.post", home, "outbox-12")
    sent = body(fake.writes("PUT")[-1])["ManualJournals"][0]
    assert sent == {"Narration": "Syncline revenue:rec-1", "Status": "POSTED",
                    "LineAmountTypes": "NoTax", "Date": "2026-01-31", "JournalLines": [
                        {"LineAmount": "3456.00", "AccountCode": "820",
                         "Description": "revenue:rec-1"},
                        {"LineAmount": "-3456.00", "AccountCode": "200",
                         "Description": "revenue:rec-1"}]}
    assert target.find("erp.journal.post", home) == journal_id
    eur = {"source": "revenue:rec-2", "entity": "US01", "fx": {"base": "EUR", "quote": "USD",
                                                               "rate": "1.08"},
           "lines": [["2300", "debit", "100.01", "EUR"], ["4010", "credit", "100.01", "EUR"]]}
    target.deliver("erp.journal.post", eur, "outbox-13")
    lines = body(fake.writes("PUT")[-1])["ManualJournals"][0]["JournalLines"]
    assert [ln["LineAmount"] for ln in lines] == ["108.01", "-108.01"]  # 100.01 x 1.08
    assert "100.01 EUR at 1.08 USD" in lines[0]["Description"]
    # release journals are posted by the invoice document itself
    assert target.deliver("erp.journal.post", {"source": "invoice:US01-2026-000001",
                                               "entity": "US01", "lines": []}, "ob-14") \
        .startswith("covered by the document")


def test_xero_validation_errors_are_refused_with_xeros_message(fake: FakeXero,
                                                               connect: Connect) -> None:
    fake.books[US].accounts = [a for a in fake.books[US].accounts if a["Code"] != "200"]
    with pytest.raises(Refused) as refused:
        connect().target().deliver("erp.invoice.post", invoice(), "outbox-15")
    assert "HTTP 400 ValidationException" in str(refused.value)
    assert "Account code '200' is not a valid code" in str(refused.value)
    with pytest.raises(Refused, match="legal entity DE01 has no Xero tenant"):
        connect().target().deliver("erp.invoice.post", invoice(entity="DE01"), "outbox-16")
    with pytest.raises(Refused, match="account 5999 is not mapped"):
        connect().target().deliver("erp.journal.post", {
            "source": "cost:1", "entity": "US01",
            "lines": [["5999", "debit", "1.00", "USD"], ["2100", "credit", "1.00", "USD"]]},
            "outbox-17")


def test_the_same_key_twice_is_one_document(fake: FakeXero, connect: Connect) -> None:
    target = connect().target()
    first = target.deliver("erp.invoice.post", invoice(), "outbox-20")
    second = target.deliver("erp.invoice.post", invoice(), "outbox-20")
    assert first == second and len(fake.books[US].records["Invoices"]) == 1
    assert [r.headers["Idempotency-Key"] for r in fake.writes("PUT")][-2:] == [
        "outbox-20", "outbox-20"]


@pytest.mark.parametrize("error", ["timeout", "protocol"])
def test_accepted_then_dropped_is_exactly_one_document(fake: FakeXero, connect: Connect,
                                                       slept: list[float], error: str) -> None:
    target = connect().target()
    target.deliver("erp.customer.upsert", customer(), "outbox-30")
    fake.drop_after_accept(1, error)  # stored, then the connection drops: the client resends
    first = target.deliver("erp.invoice.post", invoice(), "outbox-31")
    assert len(fake.books[US].records["Invoices"]) == 1 and slept  # backed off once
    fake.drop_after_accept(5, error)  # every attempt drops: deliver looks it up by number
    again = invoice(number="US01-2026-000002")
    found = target.deliver("erp.invoice.post", again, "outbox-32")
    numbers = sorted(i["InvoiceNumber"] for i in fake.books[US].records["Invoices"].values())
    assert numbers == ["US01-2026-000001", "US01-2026-000002"] and found != first
    assert fake.requests[-1].url.params["InvoiceNumbers"] == "US01-2026-000002"
    # the outbox delivers again later, with the same key: still one document each
    assert target.deliver("erp.invoice.post", again, "outbox-32") == found
    assert len(fake.books[US].records["Invoices"]) == 2


def test_unknown_outcome_and_nothing_at_xero_is_transient(fake: FakeXero,
                                                          connect: Connect) -> None:
    target = connect().target()
    target.deliver("erp.customer.upsert", customer(), "outbox-40")
    fake.fail(5, 503)
    with pytest.raises(TransientFailure, match="will be sent again with the same key"):
        target.deliver("erp.invoice.post", invoice(), "outbox-41")
    assert fake.books[US].records["Invoices"] == {}


def test_compensation_archives_the_contact(fake: FakeXero, connect: Connect) -> None:
    target = connect().target()
    contact_id = target.deliver("erp.customer.upsert", customer(), "outbox-50")
    target.compensate("erp.customer.upsert", customer(), "outbox-50")
    assert fake.books[US].records["Contacts"][contact_id]["ContactStatus"] == "ARCHIVED"


def _credit_note(**over: Any) -> dict[str, Any]:
    note = invoice(document="credit_note", number="US01-CN-2026-000001",
                   invoice="US01-2026-000001", date="2026-02-10", subtotal="-200.00",
                   total="-200.00", lines=[{"description": "Credit", "quantity": "1",
                                            "unit_price": "-200.00", "amount": "-200.00",
                                            "deferred": False}]) | over
    del note["due"]
    return note


def test_a_credit_note_is_allocated_to_its_invoice_once(fake: FakeXero,
                                                        connect: Connect) -> None:
    """1,200.00 invoiced, 200.00 credited: Xero allocates the credit note to the invoice
    (AmountDue 1,000.00, the note fully used: PAID); the customer then pays the 1,000.00
    rest and the invoice is PAID — nothing is left on either document."""
    target = connect().target()
    invoice_id = target.deliver("erp.invoice.post", invoice(), "outbox-50")
    note_id = target.deliver("erp.invoice.post", _credit_note(), "outbox-51")
    put = fake.writes("PUT")[-1]
    # Source: XeroAPI/Xero-OpenAPI xero_accounting.yaml, path /CreditNotes/{CreditNoteID}/
    # Allocations (PUT) and schema Allocation (Invoice.InvoiceID, Amount, Date). Our research
    # notes (shared/reference/connectors.md §7.2) confirm the path only, not these fields.
    assert put.url.path == f"/api.xro/2.0/CreditNotes/{note_id}/Allocations"
    assert put.headers["Idempotency-Key"] == "outbox-51:allocate"
    assert body(put) == {"Allocations": [{"Invoice": {"InvoiceID": invoice_id},
                                          "Amount": "200.00", "Date": "2026-02-10"}]}
    books = fake.books[US]
    stored, note = books.records["Invoices"][invoice_id], books.records["CreditNotes"][note_id]
    assert (stored["AmountDue"], stored["AmountCredited"]) == (D("1000.00"), D("200.00"))
    assert (note["RemainingCredit"], note["Status"]) == (D("0.00"), "PAID")
    # delivered again (a retry or a replay, the same key): nothing more is allocated
    assert target.deliver("erp.invoice.post", _credit_note(), "outbox-51") == note_id
    assert len(note["Allocations"]) == 1 and stored["AmountDue"] == D("1000.00")
    with pytest.raises(ValueError, match="exceeds the amount outstanding"):
        books.record_payment("US01-2026-000001", "1000.01", "2026-02-20")
    books.record_payment("US01-2026-000001", "1000.00", "2026-02-20")
    assert stored["Status"] == "PAID" and books.open_balance("cus_acme") == {"USD": D(0)}


def test_a_credit_note_before_its_invoice_is_allocated_when_sent_again(
        fake: FakeXero, connect: Connect) -> None:
    """The invoice is not in Xero yet: the credit note is created but cannot be allocated,
    a transient failure; sent again after the invoice, the same note is allocated."""
    target = connect().target()
    target.deliver("erp.customer.upsert", customer(), "outbox-60")
    with pytest.raises(TransientFailure, match="invoice US01-2026-000001 cannot be read"):
        target.deliver("erp.invoice.post", _credit_note(), "outbox-61")
    invoice_id = target.deliver("erp.invoice.post", invoice(), "outbox-62")
    note_id = target.deliver("erp.invoice.post", _credit_note(), "outbox-61")
    assert len(fake.books[US].records["CreditNotes"]) == 1
    assert fake.books[US].records["Invoices"][invoice_id]["AmountDue"] == D("1000.00")
    assert fake.books[US].records["CreditNotes"][note_id]["Status"] == "PAID"


def test_a_credit_note_on_a_paid_invoice_stays_a_credit_on_the_contact(
        fake: FakeXero, connect: Connect) -> None:
    target = connect().target()
    target.deliver("erp.invoice.post", invoice(), "outbox-70")
    fake.books[US].record_payment("US01-2026-000001", "1200.00", "2026-02-01")
    note_id = target.deliver("erp.invoice.post", _credit_note(), "outbox-71")
    assert not [w for w in fake.writes("PUT") if w.url.path.endswith("/Allocations")]
    assert fake.books[US].records["CreditNotes"][note_id]["RemainingCredit"] == D("200.00")
    assert fake.books[US].open_balance("cus_acme") == {"USD": D("-200.00")}


@pytest.mark.parametrize("error", ["timeout", "protocol"])
def test_an_allocation_accepted_then_dropped_is_made_once(fake: FakeXero, connect: Connect,
                                                          error: str) -> None:
    """Every send drops after Xero accepted it: the credit note's five sends (then it is
    found by its number), and the allocation's five (each a replay of the first under the
    same key). The delivery fails as transient; sent again, the note is the same and its
    credit is already used, so nothing more is allocated: one allocation of 200.00."""
    target = connect().target()
    invoice_id = target.deliver("erp.invoice.post", invoice(), "outbox-80")
    fake.drop_after_accept(10, error)
    with pytest.raises(TransientFailure, match="settling it failed"):
        target.deliver("erp.invoice.post", _credit_note(), "outbox-81")
    note_id = target.deliver("erp.invoice.post", _credit_note(), "outbox-81")
    books = fake.books[US]
    assert len(books.records["CreditNotes"]) == 1
    assert books.records["CreditNotes"][note_id]["Allocations"] == [
        {"Invoice": {"InvoiceID": invoice_id, "InvoiceNumber": "US01-2026-000001"},
         "Amount": D("200.00"), "Date": "/Date(1770681600000+0000)/"}]
    assert books.records["Invoices"][invoice_id]["AmountDue"] == D("1000.00")

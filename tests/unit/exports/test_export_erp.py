"""The ERP file exports' pure parts: NetSuite's CSV import columns (psa-erp-anchors.md §3.4,
Oracle help section_1534492479 (journal header fields), section_1534492737 (journal line
fields), section_N411794 (invoice import)), the request bodies of QBO (§3.5) and Xero (§3.6)
grouped per entity, and ``assemble``: every payload once, a refusal named."""

import csv
import io
import json
from decimal import Decimal
from typing import Any

from syncline.ledger.exports.documents import (
    ExportSources,
    Record,
    Unexportable,
    assemble,
    records_json,
)
from syncline.ledger.exports.netsuite import (
    DOCUMENT_COLUMNS,
    JOURNAL_COLUMNS,
    amount_fits,
    netsuite_files,
)

# REST record bodies as connectors/netsuite/records.py makes them
INVOICE = {"externalId": "US01-2026-000001", "entity": {"id": "cus_1"},
           "subsidiary": {"id": "1"}, "tranDate": "2026-03-31", "dueDate": "2026-04-30",
           "memo": "Syncline invoice US01-2026-000001", "account": {"id": "123"},
           "currency": {"id": "2"}, "exchangeRate": Decimal("1.0795638562"),
           "class": {"id": "7"},
           "item": {"items": [
               {"item": {"id": "40"}, "quantity": Decimal("10"), "rate": Decimal("100.00"),
                "amount": Decimal("1000.00"), "description": "Consultant time",
                "taxCode": {"id": "NON"}},
               {"item": {"id": "41"}, "quantity": Decimal("1"), "rate": Decimal("50.00"),
                "amount": Decimal("50.00"), "description": "Travel",
                "taxCode": {"id": "NON"}}]}}
JOURNAL = {"externalId": "summary:US01:2026-03:USD", "subsidiary": {"id": "1"},
           "approved": True, "memo": "summary:US01:2026-03:USD", "tranDate": "2026-03-31",
           "line": {"items": [
               {"account": {"id": "300"}, "debit": Decimal("600.00"), "memo": "m",
                "class": {"id": "7"}},
               {"account": {"id": "301"}, "credit": Decimal("600.00"), "memo": "m",
                "eliminate": True}]}}


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_netsuite_invoice_csv_has_the_documented_columns_one_row_per_item() -> None:
    files = netsuite_files([Record("US01", "invoice", "US01-2026-000001", INVOICE)])
    assert list(files) == ["invoices.csv"]
    reader = csv.DictReader(io.StringIO(files["invoices.csv"]))
    assert tuple(reader.fieldnames or ()) == DOCUMENT_COLUMNS
    rows = list(reader)
    assert len(rows) == 2 and {r["External ID"] for r in rows} == {"US01-2026-000001"}
    first = rows[0]
    assert (first["Customer"], first["Subsidiary"], first["Date"], first["Due Date"],
            first["Posting Period"], first["Currency"], first["Exchange Rate"],
            first["Account"], first["Class"]) == (
        "cus_1", "1", "03/31/2026", "04/30/2026", "Mar 2026", "2", "1.0795638562", "123", "7")
    assert [(r["Item"], r["Quantity"], r["Rate"], r["Amount"], r["Tax Code"]) for r in rows] == [
        ("40", "10", "100.00", "1000.00", "NON"), ("41", "1", "50.00", "50.00", "NON")]


def test_netsuite_journal_csv_balances_and_marks_intercompany_lines() -> None:
    files = netsuite_files([Record("US01", "journalEntry", "s", JOURNAL)])
    reader = csv.DictReader(io.StringIO(files["journal_entries.csv"]))
    assert tuple(reader.fieldnames or ()) == JOURNAL_COLUMNS
    rows = list(reader)
    assert {(r["Approved"], r["Exchange Rate"], r["Currency"]) for r in rows} == {("T", "", "")}
    assert sum(Decimal(r["Debit"] or 0) - Decimal(r["Credit"] or 0) for r in rows) == 0
    assert [(r["Account"], r["Eliminate"], r["Class"]) for r in rows] == [
        ("300", "", "7"), ("301", "T", "")]


def test_netsuite_amount_format_is_ten_digits_and_two_decimals() -> None:
    assert amount_fits(Decimal("1234567890.12"))
    assert not amount_fits(Decimal("12345678901"))
    assert not amount_fits(Decimal("1.234"))
    assert not amount_fits(Decimal("-1"))


def test_records_json_groups_per_entity_and_kind_and_wraps_for_xero() -> None:
    records = [Record("US01", "Contacts", "cus_1", {"Name": "A"}),
               Record("GB01", "Invoices", "GB01-1", {"InvoiceNumber": "GB01-1"}),
               Record("US01", "Invoices", "US01-1", {"Total": Decimal("1.10")})]
    plain = json.loads(records_json(records))
    assert plain == {"GB01": {"Invoices": [{"InvoiceNumber": "GB01-1"}]},
                     "US01": {"Contacts": [{"Name": "A"}], "Invoices": [{"Total": 1.10}]}}
    wrapped = json.loads(records_json(records, wrap=True))
    assert wrapped["US01"]["Contacts"] == {"Contacts": [{"Name": "A"}]}
    assert '"Total": 1.10' in records_json(records)  # exact decimals, never via float


class _Builders:
    def customer(self, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "customer", {"id": p["customer_id"]}

    def document(self, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if p["number"] == "bad":
            raise Unexportable("tax code X is not mapped")
        return "invoice", {"n": p["number"]}

    def journal(self, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "journalEntry", {"s": p["source"]}


def test_assemble_builds_each_payload_once_in_import_order_and_names_refusals() -> None:
    sources = ExportSources(
        customers=[{"customer_id": "cus_1", "legal_entity": "US01"}],
        documents=[{"number": "US01-1", "entity": "US01"}, {"number": "bad", "entity": "US01"}],
        journals=[{"source": "summary:US01:2026-03:USD", "entity": "US01"}])
    made = assemble(sources, _Builders())
    assert [(r.kind, r.key) for r in made.content] == [
        ("customer", "cus_1"), ("invoice", "US01-1"),
        ("journalEntry", "summary:US01:2026-03:USD")]
    (error,) = made.errors
    assert (error.entity_id, error.source_id, error.problem) == ("US01", "bad", "not_exportable")
    assert "tax code X" in error.message

"""Revenue by service line in the ERP mapping (issue 13): a document's lines book to its
service line's revenue (or deferred revenue) account where the mapping names one, else to
the single revenue account; checked when the mapping is read, sent as each vendor's own
account or item, and the file exports build with the same mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncline.connectors.erp.formats import formats
from syncline.connectors.erp.mapping import parse_mapping
from syncline.connectors.netsuite import records
from syncline.connectors.quickbooks import documents
from syncline.connectors.xero import mapping as xero
from syncline.ledger.exports.documents import ExportContext
from tests.connectors.netsuite.support import connector as netsuite_connector
from tests.connectors.netsuite.support import invoice, seeded
from tests.connectors.quickbooks.conftest import SETTINGS as QBO
from tests.connectors.quickbooks.conftest import connect, make_fake

SETTINGS: dict[str, Any] = {
    "entities": ["US01"], "revenue_account": "4000", "deferred_account": "2300",
    "accounts": {"4000": "54", "4010": "55", "4020": "56", "2300": "61", "2310": "62"},
    "revenue_accounts": {"advisory": "4010", "implementation": "4020"},
    "deferred_accounts": {"advisory": "2310"}, "tax_codes": {"US-EXEMPT": "-7"}}


def _doc(service_line: str | None) -> dict[str, Any]:
    return invoice(service_line=service_line)  # a 1,200.00 line and a deferred 300.00 line


def test_each_line_books_to_its_service_lines_account_else_the_single_one() -> None:
    mapping, problems = parse_mapping(SETTINGS, "settings")
    assert mapping is not None and problems == []
    assert [mapping.line_account(sl, d) for sl, d in (
        ("advisory", False), ("advisory", True), ("implementation", False),
        ("implementation", True), ("training", False), (None, True))] == [
        "4010", "2310", "4020", "2300", "4000", "2300"]
    assert mapping.invoice_accounts() == ["2300", "2310", "4000", "4010", "4020"]
    assert mapping.unmapped("erp.invoice.post", _doc("advisory")) == []
    unmapped, _ = parse_mapping(SETTINGS | {"accounts": {"4000": "54", "2300": "61",
                                                         "4010": "55"}}, "settings")
    assert unmapped is None


def test_a_service_line_account_missing_from_accounts_is_named_when_read() -> None:
    _, problems = parse_mapping(SETTINGS | {"revenue_accounts": {"training": "4030"}}, "s")
    assert problems == ["s.revenue_accounts.training: account 4030 is not in accounts (map "
                        "it to the vendor's account)"]
    _, problems = parse_mapping(SETTINGS | {"deferred_accounts": ["2310"]}, "s")
    assert problems == ["s.deferred_accounts: a mapping of service line → Syncline account "
                        "code"]


def test_xero_lines_carry_the_service_lines_account_code() -> None:
    mapping, _ = parse_mapping(SETTINGS, "s")
    assert mapping is not None
    posting = xero.Posting(mapping=mapping, base_currency="USD")
    body = xero.invoice_body(_doc("advisory") | {"tax_code": None}, posting, "contact-1")
    assert [ln["AccountCode"] for ln in body["LineItems"]] == ["55", "62"]
    body = xero.invoice_body(_doc("training") | {"tax_code": None}, posting, "contact-1")
    assert [ln["AccountCode"] for ln in body["LineItems"]] == ["54", "61"]


def test_netsuite_and_qbo_lines_go_through_the_service_lines_item(tmp_path: Path) -> None:
    """NetSuite and QBO post lines through items: each service line's account needs its
    item (``items``), checked when the settings are read."""
    items = {"4000": "210", "2300": "211", "4010": "220", "2310": "221", "4020": "230"}
    fake = seeded()
    for internal, account in (("220", "55"), ("221", "62"), ("230", "56")):
        fake.books.seed("item", internal, itemid=f"Item {internal}", incomeaccount=account)
    ns = netsuite_connector(fake, **SETTINGS, items=items)
    body = records.sales_document(ns.settings, _doc("advisory"), "100")
    assert [ln["item"]["id"] for ln in body["item"]["items"]] == ["220", "221"]
    with pytest.raises(Exception, match="no service item for account 4020"):
        netsuite_connector(fake, **SETTINGS, items={k: v for k, v in items.items()
                                                    if k != "4020"})
    qbo = connect(make_fake(), tmp_path, **(SETTINGS | {"items": items,
                                                        "tax_codes": QBO["tax_codes"]}))
    _, doc = documents.sales_document(_doc("implementation") | {"tax_code": None},
                                      qbo.settings, "58")
    assert [ln["SalesItemLineDetail"]["ItemRef"]["value"] for ln in doc["Line"]] == [
        "230", "211"]


def test_the_file_exports_build_with_the_same_mapping() -> None:
    context = ExportContext(entities={"US01": ("Northwind US", "USD")},
                            accounts=["2300", "2310", "4000", "4010", "4020"],
                            tax_codes=["US-EXEMPT"])
    settings = SETTINGS | {"tenants": {"US01": "t"}, "client_id": "c",
                           "tax_codes": {"US-EXEMPT": "NONE"}}
    assert "revenue_accounts" in settings  # the export reads the connector's own keys
    builders, _ = formats()["xero"].builders(settings, context)
    _, body = builders.document(_doc("advisory"))
    assert [ln["AccountCode"] for ln in body["LineItems"]] == ["55", "62"]

"""The ERP file exports of a small firm (issue 13: "the file exports (NetSuite CSV, QBO,
Xero, Beancount) keep working and agree with the same figures"; "the file exports share
the same mappings").

The firm: US01 (USD) sells C-USD in USD and C-EUR in EUR (EUR→USD 1.10 published for
January and February: no revaluation), GB01 (GBP) sells C-GB with 20 % VAT. January: time
on all three; February: the PSA rejects one of January's invoiced C-USD entries (a credit
note) and C-EUR bills again. Each month is closed.

For each vendor format, the export of the firm holds every invoice and credit note once,
the customers they name, and the period summaries of everything else; its documents add up
to the ledger's receivable per customer, its journals to the ledger's accounts; a foreign
document carries its rate and a home one none; with the firm's connectors config as the
mapping, the vendor's ids appear and Syncline's codes do not. Field names: NetSuite CSV
import (psa-erp-anchors.md §3.4), QBO Accounting API v3 (§3.5), Xero Accounting API
(§3.6; XeroAPI/Xero-OpenAPI xero_accounting.yaml).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from syncline.adapters.db.billing_tables import credit_notes
from syncline.adapters.db.tables import invoices
from syncline.cli.main import app as cli
from syncline.ledger.exports.summary import DOCUMENT_SOURCES
from syncline.services.ledger.queries import load_entries, with_document_dimensions
from syncline.services.ledger.reports import export_books
from tests.e2e.firms import KEY, Firm, deal, fx_rates, reject_time, time_, worker

runner = CliRunner()
D = Decimal


@pytest.fixture(scope="module")
def firm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Firm]:
    f = Firm(tmp_path_factory.mktemp("erp-exports"))
    try:
        f.post(deal("C-USD", rate="100.00"), deal("C-EUR", rate="100.00", currency="EUR"),
               deal("C-GB", rate="90.00", currency="GBP", tax="GB-VAT-STD", entity="GB01"),
               worker("W-1", cost="60.00"),
               worker("W-2", cost="50.00", entity="GB01", currency="GBP"),
               fx_rates("2026-01-31", "EUR", {"USD": "1.10"}),
               fx_rates("2026-02-28", "EUR", {"USD": "1.10"}),
               time_("T-U1", "C-USD", "2026-01-12", "8", worker_id="W-1"),
               time_("T-U2", "C-USD", "2026-01-13", "4", worker_id="W-1"),
               time_("T-E1", "C-EUR", "2026-01-14", "10", worker_id="W-1"),
               time_("T-G1", "C-GB", "2026-01-15", "6", worker_id="W-2"))
        f.close("2026-01")
        f.post(reject_time("T-U2", "2026-02-03"),
               time_("T-E2", "C-EUR", "2026-02-10", "5", worker_id="W-1"))
        f.close("2026-02")
        yield f
    finally:
        f.dispose()


def _export(firm: Firm, fmt: str, **kw: Any) -> Any:
    with firm.system.engine.connect() as conn:
        return export_books(conn, fmt, ref=firm.system.ref, chart=firm.system.charts,
                            vendors=firm.system.export_vendors, **kw)


def _documents(firm: Firm) -> dict[str, dict[str, Any]]:
    with firm.system.engine.connect() as conn:
        made = {r.number: {"kind": "invoice", "currency": r.currency, "total": D(r.total),
                           "subtotal": D(r.subtotal), "entity": r.entity_code}
                for r in conn.execute(select(invoices))}
        made |= {r.number: {"kind": "credit_note", "currency": r.currency,
                            "total": D(r.total), "subtotal": D(r.subtotal),
                            "entity": r.entity_code}
                 for r in conn.execute(select(credit_notes))}
    return made


def _ledger_ar(firm: Firm) -> dict[str, Decimal]:
    """Receivable per customer (transaction currency) in the GL: documents' entries."""
    with firm.system.engine.connect() as conn:
        entries = with_document_dimensions(conn, load_entries(conn))
    ar: dict[str, Decimal] = defaultdict(Decimal)
    for e in entries:
        for ln in e.lines:
            if ln.account == "1100":
                ar[dict(ln.dimensions)["customer"]] += ln.signed
    return dict(ar)


def _ledger_rest(firm: Firm) -> dict[tuple[str, str, str], Decimal]:
    """Signed totals per (entity, account, currency) of the entries no document carries."""
    with firm.system.engine.connect() as conn:
        entries = load_entries(conn)
    out: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for e in entries:
        if e.source_type not in DOCUMENT_SOURCES:
            for ln in e.lines:
                out[(e.entity_id, ln.account, ln.amount.currency)] += ln.signed
    return {k: v for k, v in out.items() if v}


def test_the_firm_has_what_the_exports_must_carry(firm: Firm) -> None:
    docs = _documents(firm)
    kinds = {(d["kind"], d["currency"], d["entity"]) for d in docs.values()}
    assert {("invoice", "USD", "US01"), ("invoice", "EUR", "US01"), ("invoice", "GBP", "GB01"),
            ("credit_note", "USD", "US01")} <= kinds
    assert _ledger_rest(firm)  # labor cost and the rest: summarized journals


# --- NetSuite CSV -------------------------------------------------------------------------

def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_netsuite_csv_carries_each_document_once_and_agrees_with_the_ledger(
        firm: Firm) -> None:
    made = _export(firm, "netsuite-csv")
    assert made.ok and made.notes  # no mapping: Syncline's codes, and it says so
    files = made.content
    assert sorted(files) == ["credit_memos.csv", "customers.csv", "invoices.csv",
                             "journal_entries.csv"]
    docs = _documents(firm)
    rows = {"invoice": _csv(files["invoices.csv"]),
            "credit_note": _csv(files["credit_memos.csv"])}
    net: dict[str, Decimal] = defaultdict(Decimal)
    for kind_rows in rows.values():
        for r in kind_rows:
            net[r["External ID"]] += D(r["Amount"])
            assert r["Tax Code"]  # every line typed
    assert set(net) == set(docs)  # every invoice and credit note, nothing else
    # amounts: the document's subtotal (credit memos positive, as NetSuite expects)
    assert {n: abs(docs[n]["subtotal"]) for n in docs} == dict(net)
    for kind_rows in rows.values():
        for r in kind_rows:
            foreign = docs[r["External ID"]]["currency"] != (
                "USD" if r["External ID"].startswith("US01") else "GBP")
            assert bool(r["Exchange Rate"]) == foreign and bool(r["Currency"]) == foreign
    customers = {r["External ID"] for r in _csv(files["customers.csv"])}
    assert {r["Customer"] for rs in rows.values() for r in rs} == customers
    journal = _csv(files["journal_entries.csv"])
    totals: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    entity = {e.name: e for e in firm.system.ref.entities}
    for r in journal:
        home = entity[r["Subsidiary"]].functional_currency
        currency = r["External ID"].rsplit(":", 1)[1]  # summary:<entity>:<period>:<currency>
        assert r["External ID"].startswith("summary:")
        assert bool(r["Exchange Rate"]) == (currency != home) == (r["Currency"] == currency)
        totals[(entity[r["Subsidiary"]].code, r["Account"], currency)] += D(
            r["Debit"] or 0) - D(r["Credit"] or 0)
    assert {k: v for k, v in totals.items() if v} == _ledger_rest(firm)


# --- QuickBooks Online --------------------------------------------------------------------

def _qbo_total(body: dict[str, Any]) -> Decimal:
    lines = sum((D(str(ln["Amount"])) for ln in body["Line"]), D(0))
    return lines + D(str(body.get("TxnTaxDetail", {}).get("TotalTax", 0)))


def test_qbo_export_documents_add_up_to_ar_per_customer(firm: Firm) -> None:
    made = _export(firm, "qbo")
    assert made.ok, made.errors
    companies = json.loads(made.content["qbo.json"])
    docs, seen = _documents(firm), []
    ar: dict[str, Decimal] = defaultdict(Decimal)
    for entity, bodies in companies.items():
        home = {"US01": "USD", "GB01": "GBP"}[entity]
        for kind, sign in (("Invoice", 1), ("CreditMemo", -1)):
            for body in bodies.get(kind, []):
                seen.append(body["DocNumber"])
                ar[body["CustomerRef"]["value"]] += sign * _qbo_total(body)
                foreign = docs[body["DocNumber"]]["currency"] != home
                assert ("ExchangeRate" in body) == foreign == ("CurrencyRef" in body)
        for je in bodies.get("JournalEntry", []):
            assert not any(ln["JournalEntryLineDetail"]["AccountRef"]["value"] == "1100"
                           for ln in je["Line"])  # receivables travel on documents
    assert sorted(seen) == sorted(docs)
    assert dict(ar) == _ledger_ar(firm)


# --- Xero ---------------------------------------------------------------------------------

def test_xero_export_documents_tax_typed_status_and_rates(firm: Firm) -> None:
    made = _export(firm, "xero")
    assert made.ok, made.errors
    orgs = json.loads(made.content["xero.json"])
    docs, seen = _documents(firm), []
    ar: dict[str, Decimal] = defaultdict(Decimal)
    contacts = {c["Name"]: c["ContactNumber"] for o in orgs.values()
                for c in o["Contacts"]["Contacts"]}
    for entity, org in orgs.items():
        home = {"US01": "USD", "GB01": "GBP"}[entity]
        for kind, number, sign in (("Invoices", "InvoiceNumber", 1),
                                   ("CreditNotes", "CreditNoteNumber", -1)):
            for body in org.get(kind, {}).get(kind, []):
                seen.append(body[number])
                assert body["Status"] == "AUTHORISED"
                total = sum((D(str(li["LineAmount"])) + D(str(li.get("TaxAmount", 0)))
                             for li in body["LineItems"]), D(0))
                assert total == abs(docs[body[number]]["total"])
                assert all(li["TaxType"] for li in body["LineItems"])
                ar[contacts[body["Contact"]["Name"]]] += sign * total
                foreign = docs[body[number]]["currency"] != home
                assert ("CurrencyRate" in body) == foreign
        for mj in org.get("ManualJournals", {}).get("ManualJournals", []):
            assert mj["Status"] == "POSTED"
            assert sum(D(str(ln["LineAmount"])) for ln in mj["JournalLines"]) == 0
    assert sorted(seen) == sorted(docs)
    assert dict(ar) == _ledger_ar(firm)


# --- the same mapping as the ERP targets --------------------------------------------------

def _mapping(firm: Firm, tmp: Path) -> Path:
    codes = [a.code for a in firm.system.charts.of("US01").accounts]
    shared = {"status": "draft", "revenue_account": "4000", "deferred_account": "2300",
              "tax_codes": {"US-EXEMPT": "TX-EXEMPT", "GB-VAT-STD": "TX-VAT20"}}
    config = {"connectors": [
        {"name": "ns", "kind": "netsuite", "settings": shared | {
            "account_id": "1234567", "consumer_key": "${env:NS_KEY}",
            "entities": ["US01", "GB01"],
            "subsidiaries": {"US01": {"id": "S1", "currency": "USD"},
                             "GB01": {"id": "S3", "currency": "GBP"}},
            "currencies": {"USD": "C1", "GBP": "C2", "EUR": "C4"},
            "accounts": {c: f"NS-{c}" for c in codes},
            "ar_accounts": {"USD": "NS-AR-USD", "EUR": "NS-AR-EUR", "GBP": "NS-AR-GBP"},
            "items": {"4000": "IT-40", "2300": "IT-23"},
            "dimensions": {"service_line": {"implementation": "CL-7"}}}},
        {"name": "books", "kind": "quickbooks", "settings": shared | {
            "status": "posted", "realm_id": "9341", "client_id": "app",
            "client_secret": "${env:QBO_SECRET}", "token_store": "t.json",
            "home_currency": "USD", "entities": ["US01"], "tax_model": "global",
            "accounts": {c: f"Q{c}" for c in codes}, "items": {"4000": "21", "2300": "22"},
            "dimensions": {"service_line": {"implementation": "CLS-1"}}}},
        {"name": "xero", "kind": "xero", "settings": shared | {
            "tenants": {"US01": "t-us", "GB01": "t-gb"}, "client_id": "app",
            "client_secret": "${env:XERO_SECRET}",
            "accounts": {c: f"X{c}" for c in codes},
            "tracking": {"service_line": "Service line"},
            "dimensions": {"service_line": {"implementation": "Implementation"}}}}]}
    path = tmp / "connectors.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_netsuite_export_with_the_connector_mapping_uses_netsuite_ids(
        firm: Firm, tmp_path: Path) -> None:
    made = _export(firm, "netsuite-csv", mapping_file=_mapping(firm, tmp_path))
    assert made.ok and not made.notes
    docs = _csv(made.content["invoices.csv"]) + _csv(made.content["credit_memos.csv"])
    assert {r["Item"] for r in docs} == {"IT-40"} and {r["Class"] for r in docs} == {"CL-7"}
    assert {r["Tax Code"] for r in docs} == {"TX-EXEMPT", "TX-VAT20"}
    assert {r["Subsidiary"] for r in docs} == {"S1", "S3"}
    eur = [r for r in docs if r["Currency"] == "C4"]  # A/R per currency
    assert eur and {r["Account"] for r in eur} == {"NS-AR-EUR"} and all(
        r["Exchange Rate"] for r in eur)
    journal = _csv(made.content["journal_entries.csv"])
    assert journal and all(r["Account"].startswith("NS-") for r in journal)
    assert {r["Approved"] for r in journal} == {"F"}  # status: draft


def test_qbo_export_with_the_mapping_refs_qbo_ids_and_names_unknown_customers(
        firm: Firm, tmp_path: Path) -> None:
    path = _mapping(firm, tmp_path)
    made = _export(firm, "qbo", entity="US01", mapping_file=path)
    # no customer has a QBO id yet: the documents wait, each named
    assert {e.problem for e in made.errors} == {"not_exportable"}
    assert all("has no QuickBooks id" in e.message for e in made.errors)
    config = yaml.safe_load(path.read_text())
    unmapped = json.loads(_export(firm, "qbo", entity="US01").content["qbo.json"])["US01"]
    ids = {b["CustomerRef"]["value"] for kind in ("Invoice", "CreditMemo")
           for b in unmapped[kind]}
    config["connectors"][1]["settings"]["customers"] = {c: f"QC-{i}" for i, c in
                                                        enumerate(sorted(ids))}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    made = _export(firm, "qbo", entity="US01", mapping_file=path)
    assert made.ok, made.errors
    text = made.content["qbo.json"]
    body = json.loads(text)["US01"]
    assert {b["CustomerRef"]["value"] for b in body["Invoice"]} <= {f"QC-{i}" for i in
                                                                   range(len(ids))}
    accounts = {ln["JournalEntryLineDetail"]["AccountRef"]["value"]
                for je in body["JournalEntry"] for ln in je["Line"]}
    assert accounts and all(a.startswith("Q") for a in accounts)
    assert "cus_" not in json.dumps(body["Invoice"])  # Syncline ids are not references


def test_xero_export_with_the_mapping_is_draft_and_uses_xero_codes(
        firm: Firm, tmp_path: Path) -> None:
    made = _export(firm, "xero", mapping_file=_mapping(firm, tmp_path))
    assert made.ok, made.errors
    orgs = json.loads(made.content["xero.json"])
    invoices_ = [b for o in orgs.values() for b in o["Invoices"]["Invoices"]]
    assert {b["Status"] for b in invoices_} == {"DRAFT"}
    lines = [li for b in invoices_ for li in b["LineItems"]]
    assert {li["AccountCode"] for li in lines} == {"X4000"}
    assert {li["TaxType"] for li in lines} == {"TX-EXEMPT", "TX-VAT20"}
    assert {li["Tracking"][0]["Option"] for li in lines} == {"Implementation"}
    journal_codes = {ln["AccountCode"] for o in orgs.values()
                     for mj in o["ManualJournals"]["ManualJournals"]
                     for ln in mj["JournalLines"]}
    assert journal_codes and all(c.startswith("X") for c in journal_codes)


def test_an_invalid_mapping_is_refused_naming_the_key(firm: Firm, tmp_path: Path) -> None:
    from syncline.services.ledger.reports import MappingInvalid

    bad = tmp_path / "bad.yaml"
    bad.write_text("settings: {entities: [US01], status: maybe}\n", encoding="utf-8")
    with pytest.raises(MappingInvalid) as refused:
        _export(firm, "xero", mapping_file=bad)
    assert any("status" in p for p in refused.value.problems)


# --- entry points -------------------------------------------------------------------------

def test_cli_writes_the_netsuite_imports_as_a_zip_and_api_says_unmapped(
        firm: Firm, tmp_path: Path) -> None:
    out = tmp_path / "ns.zip"
    r = runner.invoke(cli, ["export", "netsuite-csv", "--period", "2026-02", "--out", str(out),
                            "--database-url", firm.url])
    assert r.exit_code == 0, r.output
    assert "Note:" in r.output
    names = zipfile.ZipFile(out).namelist()
    assert "invoices.csv" in names and "journal_entries.csv" in names
    res = firm.http.get("/v1/exports/qbo?period=2026-02", headers=KEY)
    assert res.status_code == 200 and res.headers["X-Export-Errors"] == "0"
    assert "no QuickBooks mapping" in res.headers["X-Export-Notes"]
    assert "Invoice" in res.json()["US01"]
    res = firm.http.get("/v1/exports/netsuite-csv?period=2026-02", headers=KEY)
    assert res.headers["content-type"] == "application/zip"

"""The three ERP fakes of issue 13's end-to-end test, seeded from the firm's own chart.

One fake per legal entity, as a firm moving to three ERPs would configure them
(connectors/routing.py ``EntityRouter``): US01 (USD) → NetSuite, GB01 (GBP) → Xero,
DE01 (EUR) → QuickBooks Online. Each fake is seeded with an account for every account of
the entity's chart (``system.charts``), a receivable account per currency the entity bills
in, a tax code for every active tax profile of the firm (``ref.tax_profiles``) and,
where invoice lines post through items (NetSuite, QBO), a service item booking to the
account invoice lines book to: the contract liability (2300) in revenue-engine mode, where
invoices credit the contract liability and revenue true-ups move it to revenue. The mapping
in each connector's settings is built from the same lists, so ``validate()`` can prove it
complete. Receivables are never mapped as a journal account: the ERPs post them from the
documents (Xero's is a system account; QBO needs a customer on every A/R line).

Settings shapes follow each vendor's own tests (tests/connectors/<vendor>/) and docs
(docs/connectors/<vendor>.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from syncline.connectors.netsuite.fake import FakeNetSuite
from syncline.connectors.quickbooks.fake import FakeQuickBooks
from syncline.connectors.registry import Wiring, build
from syncline.connectors.sdk.config import ConnectorConfig
from syncline.connectors.xero.fake import FakeXero
from syncline.domain.reference import ReferenceData
from syncline.ledger.accounts import AccountType, ChartOfAccounts

CONTRACT_LIABILITY = "2300"  # where invoice lines book in revenue-engine mode
RECEIVABLE = "1100"
GB_TENANT = "7a1f3c52-0b1e-4c6e-9d51-2b7f0e6a9c01"
QBO_REALM = "9341453050071926"
ENV = {"NS_CK": "ck-fake", "NS_CS": "cs-fake", "NS_TK": "tk-fake", "NS_TS": "ts-fake",
       "XERO_SECRET": "xero-secret", "XERO_RT": "rt-0",
       "QBO_SECRET": "qbo-secret", "QBO_RT": "qbo-rt-0"}
XERO_TYPES = {AccountType.ASSET: "CURRENT", AccountType.LIABILITY: "CURRLIAB",
              AccountType.EQUITY: "EQUITY", AccountType.REVENUE: "REVENUE",
              AccountType.EXPENSE: "EXPENSE"}
QBO_TYPES = {AccountType.ASSET: "Other Current Asset",
             AccountType.LIABILITY: "Other Current Liability", AccountType.EQUITY: "Equity",
             AccountType.REVENUE: "Income", AccountType.EXPENSE: "Expense"}


@dataclass
class Erp:
    """One ERP: its fake, the connector over it, and the legal entity it books."""

    entity: str
    fake: Any
    connector: Any


def _journal_accounts(chart: ChartOfAccounts) -> list[Any]:
    return [a for a in chart.accounts if a.code != RECEIVABLE]


def _tax_profiles(ref: ReferenceData) -> list[Any]:
    return [t for t in ref.tax_profiles if t.active]


def netsuite(chart: ChartOfAccounts, ref: ReferenceData, currencies: list[str],
             wiring: Callable[[Any], Wiring]) -> Erp:
    """US01 in subsidiary 1 (USD); accounts numbered as in Syncline, internal ids from 300."""
    fake = FakeNetSuite()
    b = fake.books
    ids = {"USD": "1", "GBP": "2", "EUR": "4"}
    b.seed("subsidiary", "1", name="Syncline US", currency=ids["USD"])
    for iso, internal in ids.items():
        b.seed("currency", internal, symbol=iso)
    accounts = {}
    for n, account in enumerate(_journal_accounts(chart)):
        accounts[account.code] = str(300 + n)
        b.seed("account", accounts[account.code], acctnumber=account.code)
    ar = {}
    for n, currency in enumerate(currencies):
        ar[currency] = str(200 + n)
        b.seed("account", ar[currency], acctnumber=f"{RECEIVABLE}-{currency}")
    b.seed("item", "210", itemid="Professional services",
           incomeaccount=accounts[CONTRACT_LIABILITY])
    taxes = {}
    for n, profile in enumerate(_tax_profiles(ref)):
        taxes[profile.code] = str(-7 - n)
        b.seed("salestaxitem", taxes[profile.code], itemid=profile.label,
               rate=str(profile.rate * 100))
    settings = {
        "account_id": "1234567_SB1", "consumer_key": "${env:NS_CK}",
        "consumer_secret": "${env:NS_CS}", "token_id": "${env:NS_TK}",
        "token_secret": "${env:NS_TS}", "entities": ["US01"],
        "subsidiaries": {"US01": {"id": "1", "currency": "USD"}},
        "currencies": {c: ids[c] for c in currencies}, "accounts": accounts,
        "ar_accounts": ar, "tax_codes": taxes, "items": {CONTRACT_LIABILITY: "210"},
        "revenue_account": CONTRACT_LIABILITY, "deferred_account": CONTRACT_LIABILITY}
    made = build(ConnectorConfig("netsuite-us", "netsuite", settings), wiring(fake))
    return Erp("US01", fake, made)


def xero(chart: ChartOfAccounts, ref: ReferenceData, clock: Callable[[], datetime],
         wiring: Callable[[Any], Wiring]) -> Erp:
    """GB01 as one GBP organisation; Xero account codes are Syncline's codes."""
    fake = FakeXero(tenants={GB_TENANT: "GBP"}, clock=clock)
    books = fake.books[GB_TENANT]
    accounts = {}
    for account in _journal_accounts(chart):
        kind = "BANK" if account.role == "cash" else XERO_TYPES[account.type]
        books.add_account(account.code, account.name, kind)
        accounts[account.code] = account.code
    taxes = {}
    for profile in _tax_profiles(ref):
        taxes[profile.code] = f"OUTPUT-{profile.code}"
        books.add_tax_rate(taxes[profile.code], str(profile.rate * 100))
    settings = {
        "tenants": {"GB01": GB_TENANT}, "client_id": "xero-client",
        "client_secret": "${env:XERO_SECRET}", "refresh_token": "${env:XERO_RT}",
        "token_store": "xero-token.json", "accounts": accounts, "tax_codes": taxes,
        "revenue_account": CONTRACT_LIABILITY, "deferred_account": CONTRACT_LIABILITY}
    made = build(ConnectorConfig("xero-gb", "xero", settings), wiring(fake))
    return Erp("GB01", fake, made)


def quickbooks(chart: ChartOfAccounts, ref: ReferenceData, currencies: list[str],
               clock: Callable[[], datetime], wiring: Callable[[Any], Wiring]) -> Erp:
    """DE01 as a EUR company (global tax model), multicurrency on; ids from 400."""
    fake = FakeQuickBooks(realm_id=QBO_REALM, home_currency="EUR", now=clock)
    c = fake.company
    accounts = {}
    for n, account in enumerate(_journal_accounts(chart)):
        accounts[account.code] = str(400 + n)
        kind = "Bank" if account.role == "cash" else QBO_TYPES[account.type]
        c.add("Account", {"Id": accounts[account.code], "Name": account.name,
                          "AccountType": kind, "AcctNum": account.code})
    ar = {}
    for n, currency in enumerate(currencies):
        ar[currency] = str(380 + n)
        c.add("Account", {"Id": ar[currency], "Name": f"Accounts Receivable - {currency}",
                          "AccountType": "Accounts Receivable",
                          "CurrencyRef": {"value": currency}})
    c.add("Item", {"Id": "31", "Name": "Professional services", "Type": "Service",
                   "IncomeAccountRef": {"value": accounts[CONTRACT_LIABILITY]}})
    taxes = {}
    for n, profile in enumerate(_tax_profiles(ref)):
        taxes[profile.code] = str(11 + n)
        c.add("TaxCode", {"Id": taxes[profile.code], "Name": profile.label})
    for n, currency in enumerate(("USD", "GBP")):
        c.add("CompanyCurrency", {"Id": str(n + 1), "Code": currency, "Name": currency})
    settings = {
        "realm_id": QBO_REALM, "client_id": "ABqbo-client",
        "client_secret": "${env:QBO_SECRET}", "refresh_token": "${env:QBO_RT}",
        "token_store": "qbo-token.json", "home_currency": "EUR", "entities": ["DE01"],
        "tax_model": "global", "accounts": accounts, "ar_accounts": ar,
        "tax_codes": taxes, "items": {CONTRACT_LIABILITY: "31"},
        "revenue_account": CONTRACT_LIABILITY, "deferred_account": CONTRACT_LIABILITY}
    made = build(ConnectorConfig("qbo-de", "quickbooks", settings), wiring(fake))
    return Erp("DE01", fake, made)


def three_erps(charts: Any, ref: ReferenceData, billed: dict[str, list[str]],
               clock: Callable[[], datetime], base_dir: Path) -> dict[str, Erp]:
    """US01 → NetSuite, GB01 → Xero, DE01 → QuickBooks; ``billed``: entity → the currencies
    it invoices in (one receivable account each)."""
    def wiring(fake: Any) -> Wiring:
        return Wiring(transport=httpx.MockTransport(fake), sleep=lambda s: None,
                      clock=clock, env=ENV, base_dir=base_dir)

    return {"US01": netsuite(charts.of("US01"), ref, billed["US01"], wiring),
            "GB01": xero(charts.of("GB01"), ref, clock, wiring),
            "DE01": quickbooks(charts.of("DE01"), ref, billed["DE01"], clock, wiring)}


def held(erp: Erp) -> list[tuple[str, str, str]]:
    """Every customer, invoice, credit note and journal the fake ERP holds, as (kind,
    Syncline key, the vendor's id) — read from the fake's own records, one row per
    record, so a document held twice shows twice."""
    out: list[tuple[str, str, str]] = []
    if isinstance(erp.fake, FakeNetSuite):
        kinds = {"customer": "customer", "invoice": "invoice", "creditMemo": "credit_note",
                 "journalEntry": "journal"}
        for rtype, kind in kinds.items():
            for internal, body in erp.fake.books.records.get(rtype, {}).items():
                out.append((kind, str(body["externalId"]), internal))
    elif isinstance(erp.fake, FakeXero):
        records = erp.fake.books[GB_TENANT].records
        for c in records["Contacts"].values():
            out.append(("customer", str(c["ContactNumber"]), c["ContactID"]))
        for i in records["Invoices"].values():
            out.append(("invoice", str(i["InvoiceNumber"]), i["InvoiceID"]))
        for n in records["CreditNotes"].values():
            out.append(("credit_note", str(n["CreditNoteNumber"]), n["CreditNoteID"]))
        for j in records["ManualJournals"].values():
            out.append(("journal", str(j["Narration"]).removeprefix("Syncline "),
                        j["ManualJournalID"]))
    else:
        for c in erp.fake.documents("Customer"):
            tag = str(c["DisplayName"]).rsplit(" [", 1)[1].rstrip("]")
            out.append(("customer", tag, c["Id"]))
        for entity, kind in (("Invoice", "invoice"), ("CreditMemo", "credit_note")):
            out += [(kind, str(d["DocNumber"]), d["Id"]) for d in erp.fake.documents(entity)]
        out += [("journal", str(j["PrivateNote"]), j["Id"])
                for j in erp.fake.documents("JournalEntry")]
    return sorted(out)


def open_balance(erp: Erp, customer_id: str) -> dict[str, Decimal]:
    """What the fake ERP says the customer owes, per currency (non-zero only)."""
    if isinstance(erp.fake, FakeNetSuite):
        found = erp.fake.books.open_balance(customer_id)
    elif isinstance(erp.fake, FakeXero):
        found = erp.fake.books[GB_TENANT].open_balance(customer_id)
    else:
        target = erp.connector.target()
        qbo_id = target.customers.get(customer_id) or target.find(
            "erp.customer.upsert", {"customer_id": customer_id})
        customer = erp.fake.company.get("Customer", qbo_id)
        found = {customer["CurrencyRef"]["value"]: erp.fake.open_balance(qbo_id)}
    return {cur: amount for cur, amount in found.items() if amount}

"""NetSuite CSV, QuickBooks Online and Xero journal exports, shaped as documented in
/work/shared/reference/psa-erp-anchors.md §3.4 (NetSuite), §3.5 (QBO), §3.6 (Xero)."""

import csv
import io
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal

from syncline.ledger.accounts import DEFAULT_CHART, for_entity
from syncline.ledger.exports import dumps_json, split_entry
from syncline.ledger.exports.netsuite import COLUMNS, netsuite_rows, to_netsuite_csv
from syncline.ledger.exports.qbo import qbo_journal_entries
from syncline.ledger.exports.xero import xero_manual_journals, xero_request
from syncline.ledger.fx import FxRate
from syncline.ledger.journal import JournalEntry, Side, line, trial_balance_of
from syncline.ledger.money import Money
from syncline.ledger.posting import REFERENCE_RULES, post_event

US01 = for_entity(DEFAULT_CHART, "US01")
CHARTS = {"US01": US01}
EUR_USD = FxRate("EUR", "USD", Decimal("1.1"), "ECB", date(2024, 3, 28))
CUSTOMER = (("customer", "cus_1"), ("project", "prj_1"), ("service_line", "consulting"))


def invoice(currency: str = "EUR") -> JournalEntry:
    made = post_event(REFERENCE_RULES, "invoice.released",
                      {"total": Money.of("1210", currency), "unbilled": Money.of("1000", currency),
                       "deferred": Money.of("0", currency), "tax": Money.of("210", currency)},
                      chart=US01, entity_id="US01", posting_date=date(2024, 3, 31),
                      source_id="inv_01HZZZZZZZZZZZZZZZZZZZZZZZ", dimensions=CUSTOMER,
                      functional_currency="USD", rates={"EUR": EUR_USD})
    assert isinstance(made, JournalEntry)
    return made


def big_entry(n: int) -> JournalEntry:
    one = Money.of("1.01", "USD")
    lines = [line("1150", Side.DEBIT, one, f"time {i}") for i in range(n)]
    lines.append(line("4000", Side.CREDIT, one * n))
    return JournalEntry("US01", date(2024, 3, 31), "Month-end accrual", tuple(lines),
                        "accrual", "acc_1")


# --- NetSuite §3.4 ----------------------------------------------------------------------


def test_netsuite_columns_are_the_documented_field_names() -> None:
    # §3.4 header: External ID, Subsidiary, Currency, Exchange Rate, Date, Posting Period,
    # Memo, Approved; lines: Account, Debit, Credit, Memo (as "Line Memo"), Name,
    # Department, Class, Location.
    text = to_netsuite_csv([invoice()], CHARTS, subsidiaries={"US01": "Acme US"}).content
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    rows = list(reader)
    assert len(rows) == 3
    assert {r["External ID"] for r in rows} == {"SYN-US01-inv_01HZZZZZZZZZZZZZZZZZZZZZZZ"}
    first = rows[0]
    assert (first["Subsidiary"], first["Currency"], first["Exchange Rate"], first["Date"],
            first["Posting Period"]) == ("Acme US", "EUR", "1.1", "03/31/2024", "Mar 2024")
    assert (first["Account"], first["Debit"], first["Credit"], first["Name"]) == (
        "1100 Accounts receivable", "1210.00", "", "cus_1")


def test_netsuite_journal_balances_and_has_at_least_two_lines() -> None:
    rows = netsuite_rows([invoice()], CHARTS).content
    debit = sum(Decimal(r["Debit"]) for r in rows if r["Debit"])
    credit = sum(Decimal(r["Credit"]) for r in rows if r["Credit"])
    assert debit == credit == Decimal("1210.00") and len(rows) >= 2


def test_netsuite_splits_entries_over_10000_lines_into_balanced_journals() -> None:
    entry = big_entry(12_345)
    rows = netsuite_rows([entry], CHARTS).content
    journals: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        journals[r["External ID"]].append(r)
    assert sorted(journals) == ["SYN-US01-acc_1-1", "SYN-US01-acc_1-2"]
    for jrows in journals.values():
        assert 2 <= len(jrows) <= 10_000
        assert (sum(Decimal(r["Debit"]) for r in jrows if r["Debit"])
                == sum(Decimal(r["Credit"]) for r in jrows if r["Credit"]))
    # totals per account survive the split
    per_account: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        per_account[r["Account"].split()[0]] += Decimal(r["Debit"] or 0) - Decimal(r["Credit"]
                                                                                   or 0)
    assert per_account == {"1150": Decimal("12468.45"), "4000": Decimal("-12468.45")}


def test_split_rule_small_example() -> None:
    usd = lambda x: Money.of(x, "USD")  # noqa: E731
    lines = (line("A", Side.DEBIT, usd("30")), line("B", Side.DEBIT, usd("70")),
             line("C", Side.CREDIT, usd("50")), line("D", Side.CREDIT, usd("50")))
    parts = split_entry(lines, 3)
    # pairs in order: (A,C)30, (B,C)20, (B,D)50 -> [A,B,C] then [B,D]
    assert [[(ln.account, str(ln.amount.amount)) for ln in p] for p in parts] == [
        [("A", "30.00"), ("B", "20.00"), ("C", "50.00")],
        [("B", "50.00"), ("D", "50.00")],
    ]


def test_netsuite_refuses_amounts_that_do_not_fit() -> None:
    huge = Money.of("12345678901", "USD")
    entry = JournalEntry("US01", date(2024, 3, 1), "x", (line("1100", Side.DEBIT, huge),
                                                         line("4000", Side.CREDIT, huge)),
                         "manual", "m1")
    kwd = Money.of("1.234", "KWD")
    fils = JournalEntry("US01", date(2024, 3, 1), "x", (line("1100", Side.DEBIT, kwd),
                                                        line("4000", Side.CREDIT, kwd)),
                        "manual", "m2")
    made = netsuite_rows([entry, fils], CHARTS)
    assert made.content == ()
    assert [e.problem for e in made.errors] == ["amount_format", "amount_format"]


def test_netsuite_one_journal_per_currency() -> None:
    usd, eur = Money.of("10", "USD"), Money.of("20", "EUR")
    entry = JournalEntry("US01", date(2024, 3, 1), "two currencies", (
        line("1100", Side.DEBIT, usd), line("4000", Side.CREDIT, usd),
        line("1100", Side.DEBIT, eur), line("4000", Side.CREDIT, eur)), "manual", "m3")
    ids = {(r["External ID"], r["Currency"]) for r in netsuite_rows([entry], CHARTS).content}
    assert ids == {("SYN-US01-m3-USD", "USD"), ("SYN-US01-m3-EUR", "EUR")}


# --- QuickBooks Online §3.5 ---------------------------------------------------------------


def test_qbo_journal_entry_shape() -> None:
    made = qbo_journal_entries([invoice()], CHARTS, account_refs={("US01", "1100"): "84"})
    assert made.ok
    (payload,) = made.content
    body = payload.body
    assert set(body) <= {"TxnDate", "DocNumber", "PrivateNote", "CurrencyRef", "ExchangeRate",
                         "Adjustment", "Line"}
    assert body["TxnDate"] == "2024-03-31"
    assert isinstance(body["DocNumber"], str) and len(body["DocNumber"]) <= 21
    assert "inv_01HZZZZZZZZZZZZZZZZZZZZZZZ" in str(body["PrivateNote"])
    assert body["CurrencyRef"] == {"value": "EUR"} and body["ExchangeRate"] == Decimal("1.1")
    lines = body["Line"]
    assert isinstance(lines, list)
    for ln in lines:
        assert set(ln) == {"Amount", "Description", "DetailType", "JournalEntryLineDetail"}
        assert ln["DetailType"] == "JournalEntryLineDetail"
        assert ln["JournalEntryLineDetail"]["PostingType"] in {"Debit", "Credit"}
    ar = lines[0]["JournalEntryLineDetail"]
    assert ar["AccountRef"] == {"value": "84", "name": "Accounts receivable"}
    assert ar["Entity"] == {"Type": "Customer", "EntityRef": {"value": "cus_1"}}
    debits = sum(ln["Amount"] for ln in lines
                 if ln["JournalEntryLineDetail"]["PostingType"] == "Debit")
    credits = sum(ln["Amount"] for ln in lines
                  if ln["JournalEntryLineDetail"]["PostingType"] == "Credit")
    assert debits == credits == Decimal("1210.00")
    assert json.loads(dumps_json(body))["Line"][0]["Amount"] == 1210.0


def test_qbo_ar_line_without_customer_is_refused() -> None:
    amount = Money.of("5", "USD")
    entry = JournalEntry("US01", date(2024, 3, 1), "x", (line("1100", Side.DEBIT, amount),
                                                         line("4000", Side.CREDIT, amount)),
                         "manual", "m4")
    made = qbo_journal_entries([entry], CHARTS)
    assert made.content == () and made.errors[0].problem == "missing_entity"


# --- Xero §3.6 ------------------------------------------------------------------------------


def test_xero_manual_journal_shape_in_base_currency() -> None:
    made = xero_manual_journals([invoice()], CHARTS, {"US01": "USD"}, status="POSTED")
    assert made.ok
    (payload,) = made.content
    body = payload.body
    assert set(body) == {"Narration", "Date", "LineAmountTypes", "Status",
                         "ShowOnCashBasisReports", "JournalLines"}
    assert body["Status"] == "POSTED" and body["Date"] == "2024-03-31"
    lines = body["JournalLines"]
    assert isinstance(lines, list)
    for ln in lines:
        assert set(ln) <= {"LineAmount", "AccountCode", "Description", "TaxType", "Tracking"}
        assert len(ln.get("Tracking", [])) <= 2
    # positive = debit, negative = credit, in USD (1210 EUR x 1.1)
    assert [(ln["AccountCode"], ln["LineAmount"]) for ln in lines] == [
        ("1100", Decimal("1331.00")), ("1150", Decimal("-1100.00")), ("2200", Decimal("-231.00"))]
    assert sum(ln["LineAmount"] for ln in lines) == 0
    assert lines[0]["Tracking"] == [{"Name": "Project", "Option": "prj_1"},
                                    {"Name": "Service line", "Option": "consulting"}]
    assert list(xero_request(made.content)) == ["ManualJournals"]


def test_xero_refuses_lines_without_functional_amount() -> None:
    eur = Money.of("5", "EUR")
    entry = JournalEntry("US01", date(2024, 3, 1), "x", (line("1100", Side.DEBIT, eur),
                                                         line("4000", Side.CREDIT, eur)),
                         "manual", "m5")
    made = xero_manual_journals([entry], CHARTS, {"US01": "USD"})
    assert made.errors[0].problem == "missing_functional"


def test_exports_round_trip_trial_balance_totals() -> None:
    entries = [invoice("USD"), big_entry(50)]
    tb = {(r.account, r.currency): r.balance for r in trial_balance_of(entries).rows}
    ns: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in netsuite_rows(entries, CHARTS).content:
        ns[(r["Account"].split()[0], r["Currency"])] += (Decimal(r["Debit"] or 0)
                                                         - Decimal(r["Credit"] or 0))
    assert dict(ns) == tb
    qbo: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for p in qbo_journal_entries(entries, CHARTS).content:
        for ln in p.body["Line"]:  # type: ignore[attr-defined]
            d = ln["JournalEntryLineDetail"]
            sign = 1 if d["PostingType"] == "Debit" else -1
            qbo[(d["AccountRef"]["value"], p.body["CurrencyRef"]["value"])] += (  # type: ignore[index]
                sign * ln["Amount"])
    assert dict(qbo) == tb

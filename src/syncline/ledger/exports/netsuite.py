"""NetSuite CSV import files from the REST record bodies the NetSuite target posts
(psa-erp-anchors.md §3.4; the bodies come from ``connectors/netsuite/records.py``).

NetSuite imports one record type per CSV import, so the export is four files, each imported
with the CSV Import Assistant in this order:

- ``customers.csv`` (Relationships › Customers): External ID (Syncline's customer id),
  Company Name, Subsidiary, Currency;
- ``invoices.csv`` and ``credit_memos.csv`` (Transactions › Invoice / Credit Memo): header
  columns External ID, Customer, Subsidiary, Date, Due Date (invoices), Posting Period,
  Currency, Exchange Rate, Account (the A/R account), Memo, Department, Class, Location;
  item columns Item, Quantity, Rate, Amount, Description, Tax Code;
- ``journal_entries.csv`` (Transactions › Journal Entry): header columns External ID,
  Subsidiary, Currency, Exchange Rate, Date, Posting Period, Memo, Approved; line columns
  Account, Debit, Credit, Line Memo, Department, Class, Location, Eliminate.

One row per line; header columns repeat on every line of a transaction and NetSuite groups
the lines into one transaction by External ID. References: Customer by External ID (the
customers file sets it); Subsidiary, Currency, Account, Item, Tax Code and the segments by
the values the mapping gives (internal ids; without a mapping, Syncline's codes and the
entity's name). The line memo column is "Line Memo" (a CSV cannot hold two columns named
"Memo"; it is mapped to the line Memo field in the Import Assistant). Dates are written
MM/DD/YYYY (the Import Assistant's default; change ``date_format`` to the account's).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from syncline.ledger.exports.documents import Record

MAX_LINES = 10_000  # lines per journal entry in a CSV import (§3.4)
CUSTOMER_COLUMNS = ("External ID", "Company Name", "Subsidiary", "Currency")
DOCUMENT_COLUMNS = ("External ID", "Customer", "Subsidiary", "Date", "Due Date",
                    "Posting Period", "Currency", "Exchange Rate", "Account", "Memo",
                    "Department", "Class", "Location", "Item", "Quantity", "Rate", "Amount",
                    "Description", "Tax Code")
JOURNAL_COLUMNS = ("External ID", "Subsidiary", "Currency", "Exchange Rate", "Date",
                   "Posting Period", "Memo", "Approved", "Account", "Debit", "Credit",
                   "Line Memo", "Department", "Class", "Location", "Eliminate")
SEGMENTS = (("department", "Department"), ("class", "Class"), ("location", "Location"))
FILES = {"customer": ("customers.csv", CUSTOMER_COLUMNS),
         "invoice": ("invoices.csv", DOCUMENT_COLUMNS),
         "creditMemo": ("credit_memos.csv", DOCUMENT_COLUMNS),
         "journalEntry": ("journal_entries.csv", JOURNAL_COLUMNS)}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def amount_fits(value: Decimal) -> bool:
    """NetSuite's amount format: at most 10 digits before the point and 2 after, ≥ 0."""
    sign, digits, exponent = value.normalize().as_tuple()
    if not isinstance(exponent, int):
        return False
    return sign == 0 and max(0, -exponent) <= 2 and max(0, len(digits) + exponent) <= 10


def _ref(value: Any) -> str:
    return str(value.get("id", "")) if isinstance(value, dict) else ""


def _number(value: Any) -> str:
    return "" if value is None else f"{Decimal(str(value)):f}"


def _date(iso: str | None, date_format: str) -> str:
    return date.fromisoformat(iso).strftime(date_format) if iso else ""


def _period(iso: str | None) -> str:
    if not iso:
        return ""
    day = date.fromisoformat(iso)
    return f"{_MONTHS[day.month - 1]} {day.year}"


def _header(body: dict[str, Any], date_format: str) -> dict[str, str]:
    return {"External ID": str(body.get("externalId", "")),
            "Subsidiary": _ref(body.get("subsidiary")),
            "Currency": _ref(body.get("currency")),
            "Exchange Rate": _number(body.get("exchangeRate")),
            "Date": _date(body.get("tranDate"), date_format),
            "Posting Period": _period(body.get("tranDate")),
            "Memo": str(body.get("memo", ""))}


def _segments(source: dict[str, Any]) -> dict[str, str]:
    return {column: _ref(source.get(field)) for field, column in SEGMENTS}


def customer_rows(body: dict[str, Any]) -> list[dict[str, str]]:
    return [{"External ID": str(body["externalId"]), "Company Name": str(body["companyName"]),
             "Subsidiary": _ref(body.get("subsidiary")), "Currency": _ref(body.get("currency"))}]


def document_rows(body: dict[str, Any], date_format: str) -> list[dict[str, str]]:
    header = _header(body, date_format) | _segments(body) | {
        "Customer": _ref(body.get("entity")), "Due Date": _date(body.get("dueDate"),
                                                                  date_format),
        "Account": _ref(body.get("account"))}
    return [header | {"Item": _ref(item.get("item")), "Quantity": _number(item.get("quantity")),
                      "Rate": _number(item.get("rate")), "Amount": _number(item.get("amount")),
                      "Description": str(item.get("description", "")),
                      "Tax Code": _ref(item.get("taxCode"))}
            for item in body["item"]["items"]]


def journal_rows(body: dict[str, Any], date_format: str) -> list[dict[str, str]]:
    header = _header(body, date_format) | {"Approved": "T" if body.get("approved") else "F"}
    return [header | _segments(line) | {
        "Account": _ref(line.get("account")), "Debit": _number(line.get("debit")),
        "Credit": _number(line.get("credit")), "Line Memo": str(line.get("memo", "")),
        "Eliminate": "T" if line.get("eliminate") else ""}
        for line in body["line"]["items"]]


def netsuite_files(records: Iterable[Record], *, date_format: str = "%m/%d/%Y"
                   ) -> dict[str, str]:
    """The four CSV files (header row first; a file with no rows is left out)."""
    rows: dict[str, list[dict[str, str]]] = {}
    for r in records:
        name, _ = FILES[r.kind]
        if r.kind == "customer":
            made = customer_rows(r.body)
        elif r.kind == "journalEntry":
            made = journal_rows(r.body, date_format)
        else:
            made = document_rows(r.body, date_format)
        rows.setdefault(name, []).extend(made)
    return {name: _csv(columns, rows[name]) for name, columns in FILES.values() if name in rows}


def _csv(columns: Sequence[str], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\r\n",
                            restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()

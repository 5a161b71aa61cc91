"""NetSuite journal entry CSV import (psa-erp-anchors.md §3.4).

One CSV row per journal line; the header columns (External ID, Subsidiary, Currency,
Exchange Rate, Date, Posting Period, Memo, Approved) repeat on every line of a journal, and
NetSuite groups lines into one journal entry by External ID. Line columns: Account, Debit,
Credit, Line Memo, Name, Department, Class, Location. (The documented line field is "Memo";
a CSV cannot hold two columns of one name, so the line memo column is "Line Memo" and is
mapped to the line Memo field in the Import Assistant.)

Rules kept here:
- a NetSuite journal entry has one currency: a Syncline entry in two currencies becomes one
  journal per currency (each balances, because Syncline entries balance per currency);
- at most 10,000 lines per journal: a larger one is cut into several balanced journals by
  ``split_entry``'s stated rule (debits matched against credits in order; a line straddling
  a cut is split in two); External IDs get ``-1``, ``-2``… suffixes;
- zero-amount lines are left out;
- Debit/Credit: at most 10 digits before the point and 2 after — an amount that does not
  fit is an ``ExportError``, never silently rounded;
- Account is "number name" (Use Account Numbers on) or "number" or "name" by option.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal

from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.exports.common import (
    Exported,
    ExportError,
    by_currency,
    split_entry,
    uniform_rate,
)
from syncline.ledger.journal import JournalEntry, Side

MAX_LINES = 10_000
HEADER_COLUMNS: tuple[str, ...] = (
    "External ID", "Subsidiary", "Currency", "Exchange Rate", "Date", "Posting Period", "Memo",
    "Approved",
)
LINE_COLUMNS: tuple[str, ...] = (
    "Account", "Debit", "Credit", "Line Memo", "Name", "Department", "Class", "Location",
)
COLUMNS = HEADER_COLUMNS + LINE_COLUMNS
# Syncline line dimension -> NetSuite line column
DEFAULT_DIMENSION_COLUMNS: Mapping[str, str] = {
    "customer": "Name", "department": "Department", "class": "Class", "location": "Location",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

AccountFormat = Literal["number_name", "number", "name"]


def _amount_fits(value: Decimal) -> bool:
    sign, digits, exponent = value.normalize().as_tuple()
    if not isinstance(exponent, int):
        return False
    decimals = max(0, -exponent)
    whole = max(0, len(digits) + exponent)
    return sign == 0 and decimals <= 2 and whole <= 10


def netsuite_rows(
    entries: Iterable[JournalEntry],
    charts: Mapping[str, ChartOfAccounts],
    *,
    subsidiaries: Mapping[str, str] | None = None,
    account_format: AccountFormat = "number_name",
    date_format: str = "%m/%d/%Y",
    external_id_prefix: str = "SYN-",
    max_lines: int = MAX_LINES,
    approved: bool | None = None,
    dimension_columns: Mapping[str, str] = DEFAULT_DIMENSION_COLUMNS,
) -> Exported[tuple[dict[str, str], ...]]:
    """One dict per CSV row, keyed by ``COLUMNS``."""
    rows: list[dict[str, str]] = []
    errors: list[ExportError] = []
    for entry in entries:
        chart = charts.get(entry.entity_id)
        if chart is None:
            errors.append(ExportError(entry.entity_id, entry.source_id, "no_chart",
                                      f"no chart of accounts for entity {entry.entity_id!r}"))
            continue
        made, problem = _entry_rows(entry, chart, subsidiaries or {}, account_format,
                                    date_format, external_id_prefix, max_lines, approved,
                                    dimension_columns)
        if problem is not None:
            errors.append(problem)
        else:
            rows.extend(made)
    return Exported(tuple(rows), tuple(errors))


def _entry_rows(
    entry: JournalEntry,
    chart: ChartOfAccounts,
    subsidiaries: Mapping[str, str],
    account_format: AccountFormat,
    date_format: str,
    prefix: str,
    max_lines: int,
    approved: bool | None,
    dimension_columns: Mapping[str, str],
) -> tuple[list[dict[str, str]], ExportError | None]:
    def fail(problem: str, message: str) -> tuple[list[dict[str, str]], ExportError]:
        return [], ExportError(entry.entity_id, entry.source_id, problem, message)

    groups = by_currency(entry.lines)
    out: list[dict[str, str]] = []
    for currency, lines in groups.items():
        parts = split_entry(lines, max_lines)
        for n, part in enumerate(parts, 1):
            external_id = f"{prefix}{entry.entity_id}-{entry.source_id}"
            if len(groups) > 1:
                external_id += f"-{currency}"
            if len(parts) > 1:
                external_id += f"-{n}"
            rate = uniform_rate(part)
            header = {
                "External ID": external_id,
                "Subsidiary": subsidiaries.get(entry.entity_id, entry.entity_id),
                "Currency": currency,
                "Exchange Rate": f"{rate:f}" if rate is not None else "",
                "Date": entry.posting_date.strftime(date_format),
                "Posting Period": f"{_MONTHS[entry.posting_date.month - 1]} "
                                  f"{entry.posting_date.year}",
                "Memo": f"{entry.description} [{entry.source_type} {entry.source_id}]",
                "Approved": "" if approved is None else ("T" if approved else "F"),
            }
            for ln in part:
                account = chart.by_code(ln.account)
                if account is None:
                    return fail("unknown_account",
                                f"account code {ln.account} not in the chart of "
                                f"{entry.entity_id}")
                if not _amount_fits(ln.amount.amount):
                    return fail("amount_format",
                                f"{ln.amount.canonical()} on {ln.account} does not fit "
                                "NetSuite's 10 digits + 2 decimals")
                label = {"number_name": f"{account.code} {account.name}",
                         "number": account.code, "name": account.name}[account_format]
                amount = f"{ln.amount.amount:f}"
                row = dict(header)
                row.update({
                    "Account": label,
                    "Debit": amount if ln.side is Side.DEBIT else "",
                    "Credit": amount if ln.side is Side.CREDIT else "",
                    "Line Memo": ln.memo,
                    "Name": "", "Department": "", "Class": "", "Location": "",
                })
                for key, value in ln.dimensions:
                    column = dimension_columns.get(key)
                    if column:
                        row[column] = value
                out.append(row)
    return out, None


def to_netsuite_csv(
    entries: Iterable[JournalEntry],
    charts: Mapping[str, ChartOfAccounts],
    **options: Any,
) -> Exported[str]:
    """The CSV text (header row first) of ``netsuite_rows`` (same keyword options)."""
    made = netsuite_rows(entries, charts, **options)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(made.content)
    return Exported(buffer.getvalue(), made.errors)

"""Xero ManualJournal payloads (Accounting API 2.0; psa-erp-anchors.md §3.6).

Body: ``Narration`` (required), ``Date``, ``LineAmountTypes``, ``Status``,
``ShowOnCashBasisReports`` and ``JournalLines[]`` of ``{LineAmount (positive = debit,
negative = credit), AccountCode, Description, Tracking[]}``; the request wraps journals as
``{"ManualJournals": [...]}`` (``xero_request``).

Manual journals post in the organisation's base currency only, so lines are exported at
their functional-currency amount (the transaction amount when it is already functional). A
line with no functional amount, or an entry whose functional amounts do not net to zero, is
an ``ExportError``. Tracking takes at most two categories, from line dimensions named in
``tracking`` (dimension → Xero tracking category name).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Literal

from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.exports.common import Exported, ExportError, Payload
from syncline.ledger.fx import functional_amount
from syncline.ledger.journal import JournalEntry, Side

MAX_TRACKING = 2
DEFAULT_TRACKING: Mapping[str, str] = {"project": "Project", "service_line": "Service line"}
Status = Literal["DRAFT", "POSTED"]


def xero_manual_journals(
    entries: Iterable[JournalEntry],
    charts: Mapping[str, ChartOfAccounts],
    functional_currencies: Mapping[str, str],
    *,
    status: Status = "DRAFT",
    tracking: Mapping[str, str] = DEFAULT_TRACKING,
) -> Exported[tuple[Payload, ...]]:
    payloads: list[Payload] = []
    errors: list[ExportError] = []
    for entry in entries:

        def fail(problem: str, message: str, entry: JournalEntry = entry) -> None:
            errors.append(ExportError(entry.entity_id, entry.source_id, problem, message))

        chart = charts.get(entry.entity_id)
        base = functional_currencies.get(entry.entity_id)
        if chart is None or base is None:
            fail("no_chart", f"no chart or functional currency for entity {entry.entity_id!r}")
            continue
        lines: list[dict[str, object]] = []
        net = Decimal(0)
        ok = True
        for ln in entry.lines:
            if chart.by_code(ln.account) is None:
                fail("unknown_account",
                     f"account code {ln.account} not in the chart of {entry.entity_id}")
                ok = False
                break
            amount = functional_amount(ln, base)
            if amount is None:
                fail("missing_functional",
                     f"line on {ln.account} in {ln.amount.currency} has no {base} amount; "
                     "Xero manual journals post in base currency only")
                ok = False
                break
            if amount.is_zero:
                continue
            signed = amount.amount if ln.side is Side.DEBIT else -amount.amount
            net += signed
            body_line: dict[str, object] = {
                "LineAmount": signed,
                "AccountCode": ln.account,
                "Description": ln.memo or entry.description,
            }
            categories = [{"Name": tracking[k], "Option": v}
                          for k, v in ln.dimensions if k in tracking][:MAX_TRACKING]
            if categories:
                body_line["Tracking"] = categories
            lines.append(body_line)
        if not ok:
            continue
        if net != 0:
            fail("unbalanced_functional",
                 f"functional amounts of {entry.source_id} are off by {net} {base}")
            continue
        if not lines:
            continue
        narration = (f"{entry.description} [Syncline {entry.source_type} {entry.source_id}]"
                     if entry.description else f"Syncline {entry.source_type} {entry.source_id}")
        body: dict[str, object] = {
            "Narration": narration,
            "Date": entry.posting_date.isoformat(),
            "LineAmountTypes": "NoTax",
            "Status": status,
            "ShowOnCashBasisReports": False,
            "JournalLines": lines,
        }
        payloads.append(Payload(entry.entity_id, entry.source_id, body))
    return Exported(tuple(payloads), tuple(errors))


def xero_request(payloads: Iterable[Payload]) -> dict[str, object]:
    """The ``POST /ManualJournals`` body for one organisation's payloads."""
    return {"ManualJournals": [p.body for p in payloads]}

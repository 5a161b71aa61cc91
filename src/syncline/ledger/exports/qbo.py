"""QuickBooks Online JournalEntry payloads (Accounting API v3; psa-erp-anchors.md §3.5).

Body: ``TxnDate``, ``DocNumber`` (≤ 21 characters), ``PrivateNote``, ``CurrencyRef``,
``ExchangeRate``, ``Adjustment`` and ``Line[]`` of ``{Amount, Description, DetailType:
"JournalEntryLineDetail", JournalEntryLineDetail: {PostingType: "Debit"|"Credit", AccountRef,
Entity: {Type, EntityRef}, ClassRef, DepartmentRef}}``. Debits equal credits; an A/R line
needs an Entity — a receivable line without a ``customer`` dimension is an ``ExportError``.

One payload per entry and currency (a QBO journal has one currency). ``DocNumber`` is the
Syncline source id when it fits in 21 characters, else ``S`` + 20 hex digits of its SHA-256;
the full source id is always in ``PrivateNote``. ``AccountRef.value`` is the QBO account id
from ``account_refs`` (``(entity, code) -> id``), or the Syncline code when not mapped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.exports.common import Exported, ExportError, Payload, by_currency, uniform_rate
from syncline.ledger.journal import JournalEntry, Side

DOC_NUMBER_MAX = 21
PRIVATE_NOTE_MAX = 4000
RECEIVABLE_ROLES = ("accounts_receivable",)
DEFAULT_REF_DIMENSIONS: Mapping[str, str] = {"class": "ClassRef", "department": "DepartmentRef"}


def doc_number(key: str) -> str:
    if len(key) <= DOC_NUMBER_MAX:
        return key
    return "S" + hashlib.sha256(key.encode()).hexdigest()[: DOC_NUMBER_MAX - 1]


def qbo_journal_entries(
    entries: Iterable[JournalEntry],
    charts: Mapping[str, ChartOfAccounts],
    *,
    account_refs: Mapping[tuple[str, str], str] | None = None,
    customer_dimension: str = "customer",
    ref_dimensions: Mapping[str, str] = DEFAULT_REF_DIMENSIONS,
) -> Exported[tuple[Payload, ...]]:
    payloads: list[Payload] = []
    errors: list[ExportError] = []
    refs = account_refs or {}
    for entry in entries:
        chart = charts.get(entry.entity_id)
        if chart is None:
            errors.append(ExportError(entry.entity_id, entry.source_id, "no_chart",
                                      f"no chart of accounts for entity {entry.entity_id!r}"))
            continue
        receivable = {a.code for a in chart.accounts if a.role in RECEIVABLE_ROLES}
        groups = by_currency(entry.lines)
        made: list[Payload] = []
        problem: ExportError | None = None
        for currency, lines in groups.items():
            key = entry.source_id if len(groups) == 1 else f"{entry.source_id}-{currency}"
            body_lines: list[dict[str, object]] = []
            for ln in lines:
                if ln.amount.is_zero:
                    continue
                account = chart.by_code(ln.account)
                if account is None:
                    problem = ExportError(entry.entity_id, entry.source_id, "unknown_account",
                                          f"account code {ln.account} not in the chart of "
                                          f"{entry.entity_id}")
                    break
                dims = dict(ln.dimensions)
                detail: dict[str, object] = {
                    "PostingType": "Debit" if ln.side is Side.DEBIT else "Credit",
                    "AccountRef": {"value": refs.get((entry.entity_id, account.code),
                                                     account.code),
                                   "name": account.name},
                }
                if account.code in receivable:
                    customer = dims.get(customer_dimension)
                    if not customer:
                        problem = ExportError(
                            entry.entity_id, entry.source_id, "missing_entity",
                            f"A/R line on {account.code} needs a {customer_dimension!r} "
                            "dimension: QuickBooks requires an Entity on A/R lines")
                        break
                    detail["Entity"] = {"Type": "Customer", "EntityRef": {"value": customer}}
                for dim, field in ref_dimensions.items():
                    if dims.get(dim):
                        detail[field] = {"value": dims[dim]}
                body_lines.append({
                    "Amount": ln.amount.amount,
                    "Description": ln.memo,
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": detail,
                })
            if problem is not None:
                break
            if not body_lines:
                continue
            body: dict[str, object] = {
                "TxnDate": entry.posting_date.isoformat(),
                "DocNumber": doc_number(key),
                "PrivateNote": (f"Syncline {entry.source_type} {entry.source_id} "
                                f"({entry.entity_id}): {entry.description}")[:PRIVATE_NOTE_MAX],
                "CurrencyRef": {"value": currency},
                "Adjustment": False,
                "Line": body_lines,
            }
            rate = uniform_rate(lines)
            if rate is not None:
                body["ExchangeRate"] = rate
            made.append(Payload(entry.entity_id, entry.source_id, body))
        if problem is not None:
            errors.append(problem)
        else:
            payloads.extend(made)
    return Exported(tuple(payloads), tuple(errors))

"""Derived views of the whole state: the fingerprint, the trial balance, the run summary.

The fingerprint hashes the canonical business state by natural keys only (contract numbers,
project codes, item keys, invoice numbers, journal sources), never by generated ids or arrival
order, so the same facts always give the same hash.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from syncline.adapters.db.billing_tables import (
    billing_holds,
    credit_note_lines,
    credit_notes,
    expenses,
)
from syncline.adapters.db.revenue_tables import contract_amendments, revenue_schedules
from syncline.adapters.db.tables import (
    billable_items,
    contract_lines,
    contract_rates,
    contracts,
    customers,
    inbox,
    inbox_receipts,
    invoice_lines,
    invoices,
    journal_entries,
    journal_lines,
    milestones,
    outbox,
    parked,
    projects,
    wbs_tasks,
)
from syncline.ledger.accounts import DEFAULT_CHART, AccountType
from syncline.ledger.journal import JournalLine, Side, TrialBalance, trial_balance
from syncline.ledger.money import Money
from syncline.services.messaging.exceptions import counts_by_domain


def _rows(conn: Connection, query: Any) -> list[list[str]]:
    return sorted([[("" if v is None else str(v)) for v in r] for r in conn.execute(query)])


def canonical_state(conn: Connection) -> dict[str, list[list[str]]]:
    return {
        "contracts": _rows(conn, select(
            contracts.c.number, contracts.c.deal_id, customers.c.external_id,
            contracts.c.entity_code, contracts.c.tax_profile, contracts.c.currency,
            contracts.c.start_date, contracts.c.end_date, contracts.c.billing_type,
            contracts.c.version).join(customers, customers.c.id == contracts.c.customer_id)),
        "contract_lines": _rows(conn, select(
            contracts.c.number, contract_lines.c.line_id, contract_lines.c.kind,
            contract_lines.c.amount).join(contracts)),
        "contract_rates": _rows(conn, select(
            contracts.c.number, contract_rates.c.role, contract_rates.c.rate,
            contract_rates.c.currency).join(contracts)),
        "milestones": _rows(conn, select(
            milestones.c.milestone_id, contracts.c.number, milestones.c.amount,
            milestones.c.completed_on).join(contracts)),
        "projects": _rows(conn, select(
            projects.c.code, contracts.c.number, projects.c.template).join(contracts)),
        "wbs_tasks": _rows(conn, select(projects.c.code, wbs_tasks.c.code, wbs_tasks.c.billable)
                           .join(projects)),
        "billable_items": _rows(conn, select(
            billable_items.c.key, billable_items.c.contract_number, billable_items.c.source,
            billable_items.c.service_date, billable_items.c.quantity,
            billable_items.c.unit_price, billable_items.c.currency, billable_items.c.amount,
            billable_items.c.status, billable_items.c.invoice_number)),
        "invoices": _rows(conn, select(
            invoices.c.number, invoices.c.contract_number, invoices.c.invoice_date,
            invoices.c.currency, invoices.c.subtotal, invoices.c.tax, invoices.c.total)),
        "invoice_lines": _rows(conn, select(
            invoice_lines.c.invoice_number, invoice_lines.c.line_no,
            invoice_lines.c.description, invoice_lines.c.quantity, invoice_lines.c.amount,
            invoice_lines.c.item_keys)),
        "contract_amendments": _rows(conn, select(
            contract_amendments.c.amendment_id, contract_amendments.c.contract_number,
            contract_amendments.c.effective_date, contract_amendments.c.payload)),
        "revenue_schedules": _rows(conn, select(
            revenue_schedules.c.contract_number, revenue_schedules.c.obligation_id,
            revenue_schedules.c.period, revenue_schedules.c.revenue,
            revenue_schedules.c.cumulative, revenue_schedules.c.allocated,
            revenue_schedules.c.as_of)),
        "credit_notes": _rows(conn, select(
            credit_notes.c.number, credit_notes.c.invoice_number, credit_notes.c.contract_number,
            credit_notes.c.credit_date, credit_notes.c.currency, credit_notes.c.subtotal,
            credit_notes.c.tax, credit_notes.c.total)),
        "credit_note_lines": _rows(conn, select(
            credit_note_lines.c.credit_note_number, credit_note_lines.c.line_no,
            credit_note_lines.c.description, credit_note_lines.c.quantity,
            credit_note_lines.c.amount, credit_note_lines.c.item_keys)),
        "billing_holds": _rows(conn, select(
            billing_holds.c.item_key, billing_holds.c.cap_id, billing_holds.c.contract_number,
            billing_holds.c.amount, billing_holds.c.currency, billing_holds.c.status)),
        "expenses": _rows(conn, select(
            expenses.c.expense_id, expenses.c.contract_number, expenses.c.incurred_on,
            expenses.c.category, expenses.c.amount, expenses.c.currency, expenses.c.billable,
            expenses.c.status)),
        "journal_lines": _rows(conn, select(
            journal_entries.c.source_type, journal_entries.c.source_id,
            journal_entries.c.entity_code, journal_entries.c.posting_date,
            journal_lines.c.line_no, journal_lines.c.account, journal_lines.c.side,
            journal_lines.c.amount, journal_lines.c.currency).join(journal_entries)),
    }


def fingerprint(conn: Connection) -> str:
    blob = json.dumps(canonical_state(conn), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def ledger_trial_balance(conn: Connection) -> TrialBalance:
    pairs = (
        (r.entity_code, JournalLine(r.account, Side(r.side), Money(r.amount, r.currency)))
        for r in conn.execute(select(journal_entries.c.entity_code, journal_lines.c.account,
                                     journal_lines.c.side, journal_lines.c.amount,
                                     journal_lines.c.currency).join(journal_entries))
    )
    return trial_balance(pairs)


def _revenue(tb: TrialBalance) -> dict[str, str]:
    """Credit balance of the revenue accounts (4xxx in the default chart) per currency."""
    out: dict[str, Decimal] = {}
    for row in tb.rows:
        account = DEFAULT_CHART.by_code(row.account)
        if account is not None and account.type is AccountType.REVENUE:
            out[row.currency] = out.get(row.currency, Decimal(0)) - row.balance
    return {c: str(v) for c, v in sorted(out.items())}


def _count(conn: Connection, query: Any) -> int:
    return int(conn.execute(query).scalar() or 0)


def summary(conn: Connection) -> dict[str, Any]:
    statuses = dict(conn.execute(select(inbox.c.status, func.count()).group_by(inbox.c.status))
                    .all())
    tb = ledger_trial_balance(conn)
    return {
        "events_received": _count(conn, select(func.count()).select_from(inbox_receipts)),
        "events_applied": int(statuses.get("applied", 0)),
        "duplicates_ignored": _count(conn, select(func.count()).select_from(inbox_receipts)
                                     .where(inbox_receipts.c.duplicate.is_(True))),
        "parked": _count(conn, select(func.count(func.distinct(parked.c.inbox_id)))),
        "released": _count(conn, select(func.count()).select_from(parked)
                           .where(parked.c.released_at.is_not(None))),
        "still_parked": int(statuses.get("parked", 0)),
        "rejected": int(statuses.get("rejected", 0)),
        "failed": int(statuses.get("failed", 0)),
        "stale": int(statuses.get("stale", 0)),
        "exceptions_by_domain": counts_by_domain(conn),
        "customers": _count(conn, select(func.count()).select_from(customers)),
        "contracts": _count(conn, select(func.count()).select_from(contracts)),
        "projects": _count(conn, select(func.count()).select_from(projects)),
        "billable_items": _count(conn, select(func.count()).select_from(billable_items)),
        "invoices": _count(conn, select(func.count()).select_from(invoices)),
        "invoiced_by_currency": {
            c: str(sum((r.total for r in conn.execute(
                select(invoices.c.total).where(invoices.c.currency == c))), start=0))
            for c in sorted({r[0] for r in conn.execute(select(invoices.c.currency))})},
        "revenue_by_currency": _revenue(tb),
        "journal_entries": _count(conn, select(func.count()).select_from(journal_entries)),
        "outbox_delivered": _count(conn, select(func.count()).select_from(outbox)
                                   .where(outbox.c.status == "delivered")),
        "outbox_pending": _count(conn, select(func.count()).select_from(outbox)
                                 .where(outbox.c.status != "delivered")),
        "trial_balance_balanced": tb.balanced,
        "state_fingerprint": fingerprint(conn),
    }

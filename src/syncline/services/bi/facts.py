"""The exported tables: what each row is, its key and its typed columns.

Types: money and quantities are ``decimal128(20, 4)`` — exact for every currency's minor
unit (0, 2 or 3 places) and for hours in quarters; rates ``decimal128(28, 10)``. A value
with more places than its column's scale is refused (Arrow's safe cast), never rounded.
Dates are ``date32``; timestamps stay the ISO text Syncline stores them as (``posted_at``).
JSON lists (an invoice line's item keys) are Arrow lists of strings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import Select, select

from syncline.adapters.db.billing_tables import credit_note_lines, credit_notes, expenses
from syncline.adapters.db.ledger_tables import journal_line_details
from syncline.adapters.db.revenue_tables import revenue_schedules
from syncline.adapters.db.tables import (
    contract_lines,
    contracts,
    customers,
    invoice_lines,
    invoices,
    journal_entries,
    journal_lines,
    milestones,
    projects,
    time_entries,
)

MONEY = pa.decimal128(20, 4)
RATE = pa.decimal128(28, 10)
TEXT = pa.string()
DATE = pa.date32()
INT = pa.int64()
BOOL = pa.bool_()
KEYS = pa.list_(pa.string())


def _date(value: Any) -> date | None:
    return None if value in (None, "") else date.fromisoformat(str(value)[:10])


def _keys(value: Any) -> list[str]:
    return [str(k) for k in json.loads(value)] if value else []


CONVERT: dict[pa.DataType, Callable[[Any], Any]] = {DATE: _date, KEYS: _keys}


@dataclass(frozen=True)
class Fact:
    """One exported table."""

    name: str
    query: Select[Any]
    key: tuple[str, ...]
    columns: tuple[tuple[str, pa.DataType], ...]
    about: str

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(n, t) for n, t in self.columns])


ctr, cus, prj = contracts.c, customers.c, projects.c

FACTS: tuple[Fact, ...] = (
    Fact("customers", select(cus.id.label("customer_id"), cus.external_id, cus.name,
                             cus.country), ("customer_id",),
         (("customer_id", TEXT), ("external_id", TEXT), ("name", TEXT), ("country", TEXT)),
         "one row a customer (its CRM account id is external_id)"),
    Fact("contracts", select(ctr.number.label("contract_number"), ctr.deal_id,
                             cus.external_id.label("customer_external_id"), ctr.entity_code,
                             ctr.currency, ctr.start_date, ctr.end_date, ctr.billing_type,
                             ctr.payment_terms_days, ctr.service_line, ctr.version)
         .join_from(contracts, customers, ctr.customer_id == cus.id), ("contract_number",),
         (("contract_number", TEXT), ("deal_id", TEXT), ("customer_external_id", TEXT),
          ("entity_code", TEXT), ("currency", TEXT), ("start_date", DATE), ("end_date", DATE),
          ("billing_type", TEXT), ("payment_terms_days", INT), ("service_line", TEXT),
          ("version", INT)),
         "one row a contract, at its current version"),
    Fact("contract_lines", select(ctr.number.label("contract_number"),
                                  contract_lines.c.line_id, contract_lines.c.kind,
                                  contract_lines.c.description, contract_lines.c.amount,
                                  contract_lines.c.estimated_hours, ctr.currency)
         .join_from(contract_lines, contracts, contract_lines.c.contract_id == ctr.id),
         ("contract_number", "line_id"),
         (("contract_number", TEXT), ("line_id", TEXT), ("kind", TEXT), ("description", TEXT),
          ("amount", MONEY), ("estimated_hours", MONEY), ("currency", TEXT)),
         "the lines (performance obligations) of each contract"),
    Fact("projects", select(prj.code.label("project_code"), prj.name,
                            ctr.number.label("contract_number"), prj.template, prj.status,
                            prj.closed_on)
         .join_from(projects, contracts, prj.contract_id == ctr.id), ("project_code",),
         (("project_code", TEXT), ("name", TEXT), ("contract_number", TEXT),
          ("template", TEXT), ("status", TEXT), ("closed_on", DATE)),
         "one row a PSA project, with its contract"),
    Fact("milestones", select(milestones.c.milestone_id, ctr.number.label("contract_number"),
                              milestones.c.name, milestones.c.amount, ctr.currency,
                              milestones.c.due_date, milestones.c.completed_on)
         .join_from(milestones, contracts, milestones.c.contract_id == ctr.id),
         ("milestone_id",),
         (("milestone_id", TEXT), ("contract_number", TEXT), ("name", TEXT),
          ("amount", MONEY), ("currency", TEXT), ("due_date", DATE), ("completed_on", DATE)),
         "billing milestones; completed_on is empty until the PSA reports completion"),
    Fact("time_entries", select(time_entries.c.time_entry_id, time_entries.c.worker_id,
                                time_entries.c.project_code, time_entries.c.task_code,
                                time_entries.c.work_date, time_entries.c.hours,
                                time_entries.c.role, time_entries.c.billable,
                                time_entries.c.status), ("time_entry_id",),
         (("time_entry_id", TEXT), ("worker_id", TEXT), ("project_code", TEXT),
          ("task_code", TEXT), ("work_date", DATE), ("hours", MONEY), ("role", TEXT),
          ("billable", BOOL), ("status", TEXT)),
         "approved time; status becomes reversed when the PSA rejects it after approval"),
    Fact("expenses", select(expenses.c.expense_id, expenses.c.worker_id,
                            expenses.c.project_code, expenses.c.contract_number,
                            expenses.c.incurred_on, expenses.c.category,
                            expenses.c.description, expenses.c.amount, expenses.c.currency,
                            expenses.c.billable, expenses.c.status), ("expense_id",),
         (("expense_id", TEXT), ("worker_id", TEXT), ("project_code", TEXT),
          ("contract_number", TEXT), ("incurred_on", DATE), ("category", TEXT),
          ("description", TEXT), ("amount", MONEY), ("currency", TEXT), ("billable", BOOL),
          ("status", TEXT)),
         "expenses as approved (or rejected) in the PSA"),
    Fact("invoices", select(invoices.c.number.label("invoice_number"), invoices.c.entity_code,
                            invoices.c.contract_number, invoices.c.customer_name,
                            invoices.c.currency, invoices.c.invoice_date, invoices.c.period,
                            invoices.c.subtotal, invoices.c.tax_code, invoices.c.tax_rate,
                            invoices.c.tax, invoices.c.total, invoices.c.due_date,
                            invoices.c.service_line, invoices.c.status,
                            invoices.c.functional_currency, invoices.c.fx_rate),
         ("invoice_number",),
         (("invoice_number", TEXT), ("entity_code", TEXT), ("contract_number", TEXT),
          ("customer_name", TEXT), ("currency", TEXT), ("invoice_date", DATE),
          ("period", TEXT), ("subtotal", MONEY), ("tax_code", TEXT), ("tax_rate", RATE),
          ("tax", MONEY), ("total", MONEY), ("due_date", DATE), ("service_line", TEXT),
          ("status", TEXT), ("functional_currency", TEXT), ("fx_rate", RATE)),
         "one row an invoice; total = subtotal + tax, in the contract's currency"),
    Fact("invoice_lines", select(invoice_lines.c.invoice_number, invoice_lines.c.line_no,
                                 invoice_lines.c.description, invoice_lines.c.quantity,
                                 invoice_lines.c.unit_price, invoice_lines.c.amount,
                                 invoice_lines.c.deferred, invoice_lines.c.item_keys),
         ("invoice_number", "line_no"),
         (("invoice_number", TEXT), ("line_no", INT), ("description", TEXT),
          ("quantity", MONEY), ("unit_price", MONEY), ("amount", MONEY), ("deferred", BOOL),
          ("item_keys", KEYS)),
         "invoice lines; item_keys are the billable items each line invoices"),
    Fact("credit_notes", select(credit_notes.c.number.label("credit_note_number"),
                                credit_notes.c.entity_code, credit_notes.c.invoice_number,
                                credit_notes.c.contract_number, credit_notes.c.customer_name,
                                credit_notes.c.currency, credit_notes.c.credit_date,
                                credit_notes.c.reason, credit_notes.c.subtotal,
                                credit_notes.c.tax_rate, credit_notes.c.tax,
                                credit_notes.c.total, credit_notes.c.service_line),
         ("credit_note_number",),
         (("credit_note_number", TEXT), ("entity_code", TEXT), ("invoice_number", TEXT),
          ("contract_number", TEXT), ("customer_name", TEXT), ("currency", TEXT),
          ("credit_date", DATE), ("reason", TEXT), ("subtotal", MONEY), ("tax_rate", RATE),
          ("tax", MONEY), ("total", MONEY), ("service_line", TEXT)),
         "credit notes, each against one invoice; amounts negative (a credit)"),
    Fact("credit_note_lines", select(credit_note_lines.c.credit_note_number,
                                     credit_note_lines.c.line_no,
                                     credit_note_lines.c.description,
                                     credit_note_lines.c.quantity,
                                     credit_note_lines.c.unit_price,
                                     credit_note_lines.c.amount,
                                     credit_note_lines.c.deferred,
                                     credit_note_lines.c.item_keys),
         ("credit_note_number", "line_no"),
         (("credit_note_number", TEXT), ("line_no", INT), ("description", TEXT),
          ("quantity", MONEY), ("unit_price", MONEY), ("amount", MONEY), ("deferred", BOOL),
          ("item_keys", KEYS)),
         "credit note lines; item_keys are the exact billable items reversed"),
    Fact("journal_entries", select(journal_entries.c.id.label("entry_id"),
                                   journal_entries.c.entity_code,
                                   journal_entries.c.posting_date,
                                   journal_entries.c.description,
                                   journal_entries.c.source_type, journal_entries.c.source_id,
                                   journal_entries.c.reverses, journal_entries.c.posted_at),
         ("entry_id",),
         (("entry_id", TEXT), ("entity_code", TEXT), ("posting_date", DATE),
          ("description", TEXT), ("source_type", TEXT), ("source_id", TEXT),
          ("reverses", TEXT), ("posted_at", TEXT)),
         "journal entries (immutable: a correction is a reversing entry)"),
    Fact("journal_lines", select(journal_lines.c.entry_id, journal_lines.c.line_no,
                                 journal_entries.c.entity_code,
                                 journal_entries.c.posting_date, journal_lines.c.account,
                                 journal_lines.c.side, journal_lines.c.amount,
                                 journal_lines.c.currency,
                                 journal_line_details.c.functional_amount,
                                 journal_line_details.c.functional_currency,
                                 journal_line_details.c.fx_rate, journal_lines.c.memo)
         .join_from(journal_lines, journal_entries,
                    journal_lines.c.entry_id == journal_entries.c.id)
         .outerjoin(journal_line_details,
                    (journal_line_details.c.entry_id == journal_lines.c.entry_id)
                    & (journal_line_details.c.line_no == journal_lines.c.line_no)),
         ("entry_id", "line_no"),
         (("entry_id", TEXT), ("line_no", INT), ("entity_code", TEXT),
          ("posting_date", DATE), ("account", TEXT), ("side", TEXT), ("amount", MONEY),
          ("currency", TEXT), ("functional_amount", MONEY), ("functional_currency", TEXT),
          ("fx_rate", RATE), ("memo", TEXT)),
         "journal lines: side debit|credit, amount positive in the transaction currency"),
    Fact("revenue_schedule_lines", select(revenue_schedules.c.contract_number,
                                          revenue_schedules.c.obligation_id,
                                          revenue_schedules.c.period,
                                          revenue_schedules.c.currency,
                                          revenue_schedules.c.revenue,
                                          revenue_schedules.c.cumulative,
                                          revenue_schedules.c.allocated,
                                          revenue_schedules.c.method,
                                          revenue_schedules.c.as_of,
                                          revenue_schedules.c.version),
         ("contract_number", "obligation_id", "period"),
         (("contract_number", TEXT), ("obligation_id", TEXT), ("period", TEXT),
          ("currency", TEXT), ("revenue", MONEY), ("cumulative", MONEY),
          ("allocated", MONEY), ("method", TEXT), ("as_of", DATE), ("version", INT)),
         "revenue recognised per obligation and month (recomputed when a contract changes)"),
)

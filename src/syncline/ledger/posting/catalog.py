"""The rules of the system: the events Syncline posts (``SYSTEM_EVENTS``), their rules
(``SYSTEM_RULES`` = ``DEFAULT_RULES``), the never-posted ``REFERENCE_RULES``, and the
source type a rule's entries carry.
"""

from __future__ import annotations

from collections.abc import Mapping

from syncline.ledger.journal import Side
from syncline.ledger.posting.model import EventSpec, PostingRule, PostingRules, TemplateLine

D, C = Side.DEBIT, Side.CREDIT

INVOICE_RELEASED = "billing.invoice_released"
CREDIT_NOTE_ISSUED = "billing.credit_note_issued"
LABOR_COST = "billing.labor_cost"
EXPENSE_COST = "billing.expense_cost"
REVENUE_TRUE_UP = "revenue.true_up"
TIME_ACCRUED = "close.time_accrued"

SYSTEM_EVENTS: Mapping[str, EventSpec] = {s.event: s for s in (
    EventSpec(INVOICE_RELEASED, "invoice", ("total", "revenue", "deferred", "tax"),
              ("number", "contract", "customer", "service_line", "tax_code"),
              "billing run, invoice release (services/billing/run/, billing/journals.py)"),
    EventSpec(CREDIT_NOTE_ISSUED, "credit_note", ("total", "revenue", "deferred", "tax"),
              ("number", "invoice", "contract", "customer", "service_line", "tax_code"),
              "billing run, credit notes (services/billing/run/, billing/journals.py)"),
    EventSpec(LABOR_COST, "labor_cost", ("cost",), ("period", "currency"),
              "billing run, labor cost of approved time at HR cost (billing/costs.py)"),
    EventSpec(EXPENSE_COST, "expense_cost", ("cost",),
              ("expense", "contract", "category", "period", "currency"),
              "billing run, cost of approved expenses not rebilled, in the functional currency "
              "(services/billing/run/expense_cost.py, billing/expenses.py)", signed=True),
    EventSpec(REVENUE_TRUE_UP, "revenue", ("unbilled", "liability", "revenue"),
              ("contract", "service_line", "as_of", "period"),
              "revenue recognition (services/revenue/sync.py)", signed=True),
    EventSpec(TIME_ACCRUED, "accrual", ("amount",), ("period", "service_line", "currency"),
              "close, accrual of approved unbilled time (services/close/accrual.py)"),
)}
"""The events Syncline posts. Placeholders ``source_id`` and ``entity_id`` always exist."""

SYSTEM_RULES = PostingRules((
    PostingRule(INVOICE_RELEASED, (
        TemplateLine("accounts_receivable", D, "total", "invoice {number}", balancing=True),
        TemplateLine("revenue:{service_line}", C, "revenue", "invoice {number} {contract}"),
        TemplateLine("contract_liability", C, "deferred",
                     "invoice {number} {contract} billed in advance"),
        TemplateLine("tax_payable", C, "tax", "{tax_code} on {number}"),
    ), "Invoice {number} to {customer}", "invoice"),
    PostingRule(CREDIT_NOTE_ISSUED, (
        TemplateLine("accounts_receivable", C, "total", "credit note {number} on {invoice}",
                     balancing=True),
        TemplateLine("revenue:{service_line}", D, "revenue", "invoice {number} {contract}"),
        TemplateLine("contract_liability", D, "deferred",
                     "invoice {number} {contract} billed in advance"),
        TemplateLine("tax_payable", D, "tax", "{tax_code} on {number}"),
    ), "Credit note {number} on invoice {invoice}", "credit_note"),
    PostingRule(LABOR_COST, (
        TemplateLine("labor_cost", D, "cost", "approved time {period}"),
        TemplateLine("accrued_payroll", C, "cost", "approved time {period}"),
    ), "Labor cost of approved time {period}", "labor_cost"),
    PostingRule(EXPENSE_COST, (
        TemplateLine("project_expense", D, "cost", "expense {expense} ({category}) {contract}"),
        TemplateLine("accrued_payroll", C, "cost", "expense {expense} to reimburse"),
    ), "Cost of expense {expense}, not rebilled ({contract})", "expense_cost"),
    PostingRule(REVENUE_TRUE_UP, (
        TemplateLine("unbilled_receivable", D, "unbilled", "contract {contract} to {as_of}"),
        TemplateLine("contract_liability", D, "liability", "contract {contract} to {as_of}"),
        TemplateLine("revenue:{service_line}", C, "revenue", "contract {contract} to {as_of}"),
    ), "Revenue recognized, contract {contract}, to {as_of}", "revenue"),
    PostingRule(TIME_ACCRUED, (
        TemplateLine("unbilled_receivable", D, "amount", "approved, not yet invoiced"),
        TemplateLine("revenue:{service_line}", C, "amount", "approved, not yet invoiced"),
    ), "Accrual of approved unbilled time {period}", "accrual"),
))
"""The rules Syncline posts (see ``SYSTEM_EVENTS``); a firm replaces any of them from its
ledger configuration (``rules_from_config``)."""

REFERENCE_RULES = PostingRules((
    PostingRule("time.approved", (
        TemplateLine("labor_cost", D, "cost", "approved time at cost"),
        TemplateLine("accrued_payroll", C, "cost", "approved time at cost"),
        TemplateLine("unbilled_receivable", D, "revenue", "approved time, right to invoice"),
        TemplateLine("revenue:{service_line}", C, "revenue", "approved time, right to invoice"),
    ), "Approved time {source_id}"),
    PostingRule("invoice.released", (
        TemplateLine("accounts_receivable", D, "total", "invoice total"),
        TemplateLine("unbilled_receivable", C, "unbilled", "billed from contract asset"),
        TemplateLine("contract_liability", C, "deferred", "billed in advance"),
        TemplateLine("tax_payable", C, "tax", "tax on invoice"),
    ), "Invoice {source_id}"),
    PostingRule("payment.received", (
        TemplateLine("cash", D, "amount", "payment"),
        TemplateLine("accounts_receivable", C, "amount", "payment"),
    ), "Payment {source_id}"),
))
"""NOT POSTED by Syncline: an approval-time model (revenue at approval, invoice out of the
contract asset, payments) kept as a worked example for ``post_event`` and the export tests.
The configuration refuses rules for these events (they would change nothing)."""

DEFAULT_RULES = SYSTEM_RULES
"""The rules the system starts from: exactly what Syncline posts (``REFERENCE_RULES`` are
separate and never posted)."""


def source_type_of(rule: PostingRule) -> str:
    """The source type of the rule's entries: a system event's own (whatever the rule
    says), else the rule's, else the event kind."""
    spec = SYSTEM_EVENTS.get(rule.event)
    return spec.source_type if spec else (rule.source_type or rule.event)

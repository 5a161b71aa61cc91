"""What a billing run is given and what it returns: approved time, contract terms, credit
requests, the run's input (the item ledger so far, rates, caps, FX, tax codes, numbers) and
its result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from syncline.billing.caps import Cap, HeldItem
from syncline.billing.credits import CreditNote
from syncline.billing.expenses import ApprovedExpense, ExpenseTerms
from syncline.billing.fx import FxSnapshot
from syncline.billing.invoicing import Invoice
from syncline.billing.items import BillableItem
from syncline.billing.milestones import FixedFeeSchedule
from syncline.billing.rates import RateCard
from syncline.billing.retainers import RetainerTerms
from syncline.billing.tax import DEFAULT_TAX_CODES, TaxCode
from syncline.domain.errors import Problem
from syncline.domain.model import BillingType
from syncline.domain.reference import LegalEntity
from syncline.ledger.accounts import DEFAULT_CHART, ChartOfAccounts
from syncline.ledger.journal import JournalEntry
from syncline.ledger.money import Money
from syncline.ledger.posting import DEFAULT_RULES, PostingRules


@dataclass(frozen=True, slots=True)
class ApprovedTime:
    time_entry_id: str
    contract_number: str
    project_code: str
    worker_id: str
    role: str
    work_date: date
    hours: Decimal
    line_id: str = ""
    budget_id: str = ""


@dataclass(frozen=True, slots=True)
class ContractTerms:
    contract_number: str
    customer_key: str
    customer_name: str
    entity_code: str
    currency: str
    billing_type: BillingType
    tax_code: str
    payment_terms_days: int = 30
    service_line: str = "consulting"
    project_closed_on: date | None = None  # time worked after this day is refused
    retainer: RetainerTerms | None = None
    milestones: FixedFeeSchedule | None = None
    milestones_completed: tuple[tuple[str, date], ...] = ()
    expense_terms: ExpenseTerms = field(default_factory=ExpenseTerms)


@dataclass(frozen=True, slots=True)
class CreditRequest:
    """Credit ``keys`` (items or their origins, e.g. ``time:TE-2``) on ``invoice``."""

    invoice: Invoice
    keys: tuple[str, ...]
    reason: str
    corrected_hours: Decimal | None = None  # time corrected, not just rejected
    revision: int = 2


@dataclass(frozen=True, slots=True)
class RunInput:
    entity: LegalEntity
    period_start: date
    period_end: date  # also the invoice date
    contracts: tuple[ContractTerms, ...]
    items: tuple[BillableItem, ...] = ()  # the item ledger so far, any status
    time: tuple[ApprovedTime, ...] = ()
    expenses: tuple[ApprovedExpense, ...] = ()
    rate_cards: tuple[RateCard, ...] = ()
    caps: tuple[Cap, ...] = ()
    billed_to_date: tuple[tuple[str, Money], ...] = ()  # per cap id
    approved_overruns: tuple[str, ...] = ()  # held item keys a person approved
    fx_rates: tuple[FxSnapshot, ...] = ()
    tax_codes: tuple[TaxCode, ...] = DEFAULT_TAX_CODES
    last_number: str | None = None
    last_credit_number: str | None = None
    credit_requests: tuple[CreditRequest, ...] = ()
    prior_credit_notes: tuple[CreditNote, ...] = ()
    chart: ChartOfAccounts = DEFAULT_CHART
    rules: PostingRules = DEFAULT_RULES  # posting rules of the journals (ledger configuration)


@dataclass(frozen=True, slots=True)
class RunResult:
    run_key: str
    invoices: tuple[Invoice, ...]
    credit_notes: tuple[CreditNote, ...]
    journal_entries: tuple[JournalEntry, ...]
    items: tuple[BillableItem, ...]  # the item ledger after the run, sorted by key
    held: tuple[HeldItem, ...]
    problems: tuple[Problem, ...]
    last_number: str | None
    last_credit_number: str | None
    billed_to_date: tuple[tuple[str, Money], ...]

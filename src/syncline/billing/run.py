"""A pure invoice run for one legal entity and billing cycle.

``run_billing_cycle(RunInput) -> RunResult`` is a pipeline; each stage takes the item ledger
and returns it with problems, and the run only ever *adds* items or *moves* their status:

1. credits — credit requests on released invoices become credit notes that name their items
   (CN series numbers), their journals, credited items, and replacement items for corrected
   time;
2. generate — approved time (rate card + billing increment), expenses (at cost / markup,
   FX), completed milestones and due retainer fees become items, unless an item with the
   same natural key (or split from it) is already in the ledger;
3. select — open items of the entity's contracts with a service date in or before the
   cycle (deferred retainer months included); contracts with a blocking problem (tax code,
   FX rate) are left out whole; drawdown retainers draw their time down;
4. caps — not-to-exceed caps split, write off or hold (``apply_caps``);
5. invoice — one invoice per contract with billable items, gapless numbers in contract
   order, items moved generated → released → invoiced, one release journal each.

Idempotent by design: an item already invoiced is never selected again and keys are
natural, so feeding a result's ``items``, ``billed_to_date``, numbers and credit notes back
in yields no new invoice, credit note, journal or item. Bad data (no rate for a role and
date, no FX rate, time on a closed project, unknown tax code) is a ``Problem`` with
remediation; the rest of the run completes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from syncline.billing.caps import Cap, HeldItem, apply_caps
from syncline.billing.credits import (
    CreditNote,
    CreditRefused,
    credit_note,
    items_to_reverse,
    mark_credited,
    replacement_item,
)
from syncline.billing.expenses import ApprovedExpense, ExpenseTerms, NotBillable, expense_item
from syncline.billing.fx import FxRateMissing, FxSnapshot, lookup_rate
from syncline.billing.invoicing import Invoice, assemble_invoice
from syncline.billing.items import (
    OPEN_STATUSES,
    BillableItem,
    ItemSource,
    ItemStatus,
    time_item,
    transition,
)
from syncline.billing.journals import (
    credit_note_posting,
    posting_problem,
    posts_anything,
    release_posting,
)
from syncline.billing.milestones import FixedFeeSchedule, ScheduleInvalid, milestone_items
from syncline.billing.numbering import DraftRef, assign_numbers
from syncline.billing.rates import (
    RateCard,
    RateNotFound,
    rate_problem,
    resolve_card_rate,
    round_quantity,
)
from syncline.billing.retainers import RetainerTerms, draw_down, month_start, retainer_fees
from syncline.billing.tax import (
    DEFAULT_TAX_CODES,
    TaxCode,
    TaxCodeMissing,
    compute_tax,
    find_tax_code,
)
from syncline.domain.errors import BusinessDomain, Problem, Severity
from syncline.domain.model import BillingType
from syncline.domain.reference import LegalEntity
from syncline.ledger.accounts import DEFAULT_CHART, ChartOfAccounts
from syncline.ledger.journal import JournalEntry
from syncline.ledger.money import Money
from syncline.ledger.posting import DEFAULT_RULES, PostingError, PostingRules


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


def _problem(code: str, message: str, remediation: str, *objects: tuple[str, str],
             severity: Severity = Severity.HIGH) -> Problem:
    return Problem(code=code, domain=BusinessDomain.BILLING, message=message,
                   remediation=remediation, severity=severity, objects=objects)


class _Ledger:
    """The run's working copy of the item ledger (keys are unique)."""

    def __init__(self, items: Iterable[BillableItem]) -> None:
        self.by_key: dict[str, BillableItem] = {i.key: i for i in items}

    def known(self, key: str) -> bool:
        return key in self.by_key or any(
            i.split_of == key or i.origin == key for i in self.by_key.values())

    def put(self, *items: BillableItem) -> None:
        for i in items:
            self.by_key[i.key] = i

    def drop(self, key: str) -> None:
        self.by_key.pop(key, None)


# --- 1. credits ------------------------------------------------------------------------------

def _credits(inp: RunInput, ledger: _Ledger, problems: list[Problem],
             ) -> tuple[list[CreditNote], list[JournalEntry]]:
    drafts: list[tuple[CreditRequest, CreditNote]] = []
    before = list(inp.prior_credit_notes)
    for n, req in enumerate(inp.credit_requests):
        on_invoice = [i for i in ledger.by_key.values() if i.invoice_number == req.invoice.number]
        targets = items_to_reverse(on_invoice, req.keys)
        if targets and all(t.status is ItemStatus.CREDITED for t in targets):
            continue  # already credited by an earlier run
        note = credit_note(req.invoice, on_invoice, req.keys, number=f"draft-{n:06d}",
                           credit_date=inp.period_end, reason=req.reason,
                           credited_before=[c for c in before
                                            if c.invoice_number == req.invoice.number])
        if isinstance(note, CreditRefused):
            problems.append(note.problem())
            continue
        drafts.append((req, note))
        before.append(note)
    numbering = assign_numbers(
        [DraftRef(d.number, inp.entity.code, d.credit_date, d.number) for _, d in drafts],
        {inp.entity.code: inp.last_credit_number}, series="CN")
    notes: list[CreditNote] = []
    entries: list[JournalEntry] = []
    for req, draft in drafts:
        number = numbering.number_of(draft.number)
        assert number is not None
        note = replace(draft, number=number)
        notes.append(note)
        if posts_anything(note):
            made = credit_note_posting(note, inp.chart, fx=req.invoice.fx, rules=inp.rules)
            if isinstance(made, PostingError):
                problems.append(posting_problem(made, retry="re-run the billing cycle"))
            else:
                entries.append(made)
        ledger.put(*mark_credited([ledger.by_key[k] for k in note.item_keys], note))
        if req.corrected_hours is not None:
            originals = [ledger.by_key[k] for k in note.item_keys
                         if ledger.by_key[k].source is ItemSource.TIME
                         and ledger.by_key[k].split_of is None]
            for original in originals:
                fixed = replacement_item(original, quantity=req.corrected_hours,
                                         revision=req.revision)
                if not ledger.known(fixed.key):
                    ledger.put(fixed)
    return notes, entries


# --- 2. generate -----------------------------------------------------------------------------

def _generate(inp: RunInput, terms: Mapping[str, ContractTerms], ledger: _Ledger,
              problems: list[Problem]) -> None:
    for t in sorted(inp.time, key=lambda t: t.time_entry_id):
        c = terms.get(t.contract_number)
        if c is None or ledger.known(f"time:{t.time_entry_id}"):
            continue
        objects = (("time_entry", t.time_entry_id), ("contract", c.contract_number))
        if c.project_closed_on is not None and t.work_date > c.project_closed_on:
            problems.append(_problem(
                "billing.time_on_closed_project",
                f"time entry {t.time_entry_id} on {t.work_date} is after project "
                f"{t.project_code} closed on {c.project_closed_on}",
                "Reopen the project in the PSA if the work is billable, or reject the time "
                "entry; then re-run the cycle.", *objects))
            continue
        drawdown = c.retainer is not None and c.retainer.included_hours is not None
        if c.billing_type is BillingType.FIXED_FEE or (c.retainer is not None and not drawdown):
            continue  # fixed fees and plain retainers: the time is cost only
        if drawdown and c.retainer is not None and c.retainer.overage_rate is not None:
            hours = t.hours  # drawn down by the hour, overage at the retainer's rate
            ledger.put(time_item(t.time_entry_id, c.contract_number, t.work_date, hours, t.role,
                                 c.retainer.overage_rate, "retainer", line_id=t.line_id,
                                 budget_id=t.budget_id))
            continue
        rate = resolve_card_rate(inp.rate_cards, role=t.role, on=t.work_date,
                                 currency=c.currency, contract_key=c.contract_number,
                                 customer_key=c.customer_key)
        if isinstance(rate, RateNotFound):
            problems.append(rate_problem(rate, *objects))
            continue
        hours = round_quantity(t.hours, rate.card.increment)
        ledger.put(time_item(t.time_entry_id, c.contract_number, t.work_date, hours, t.role,
                             rate.rate, rate.entry.scope.name.lower(), line_id=t.line_id,
                             budget_id=t.budget_id, rate_card=rate.card.label))
    for e in sorted(inp.expenses, key=lambda e: e.expense_id):
        c = terms.get(e.contract_number)
        if c is None or ledger.known(f"expense:{e.expense_id}"):
            continue
        made = expense_item(e, c.expense_terms, contract_currency=c.currency,
                            rates=inp.fx_rates)
        if isinstance(made, FxRateMissing):
            problems.append(made.problem(("expense", e.expense_id),
                                         ("contract", c.contract_number)))
        elif not isinstance(made, NotBillable):
            ledger.put(made)
    for c in terms.values():
        if c.milestones is not None:
            ms = milestone_items(c.milestones, dict(c.milestones_completed),
                                 billed=set(ledger.by_key))
            if isinstance(ms, ScheduleInvalid):
                problems.append(ms.problem())
            else:
                ledger.put(*(m for m in ms if not ledger.known(m.key)))
        if c.retainer is not None and c.retainer.monthly_fee.amount:
            ledger.put(*(r for r in retainer_fees(c.retainer, inp.period_end,
                                                  billed=set(ledger.by_key))))


# --- 3. select -------------------------------------------------------------------------------

def _blocked(inp: RunInput, c: ContractTerms) -> Problem | TaxCode | None:
    tax = find_tax_code(inp.tax_codes, c.tax_code, contract_number=c.contract_number)
    if isinstance(tax, TaxCodeMissing):
        return tax.problem()
    fx = lookup_rate(inp.fx_rates, base=c.currency, quote=inp.entity.functional_currency,
                     on=inp.period_end)
    if isinstance(fx, FxRateMissing):
        return fx.problem(("contract", c.contract_number))
    return None


def _drawn(c: ContractTerms, items: list[BillableItem], ledger: _Ledger) -> list[BillableItem]:
    if c.retainer is None or c.retainer.included_hours is None:
        return items
    time = [i for i in items if i.source is ItemSource.TIME and not i.rate_scope.startswith(
        "retainer ")]
    rest = [i for i in items if i not in time]
    by_month: dict[date, list[BillableItem]] = defaultdict(list)
    for i in time:
        by_month[month_start(i.service_date)].append(i)
    for month, month_items in sorted(by_month.items()):
        used = sum((i.quantity for i in ledger.by_key.values()
                    if i.contract_number == c.contract_number
                    and i.rate_scope == "retainer drawdown"
                    and i.status not in OPEN_STATUSES
                    and month_start(i.service_date) == month), Decimal(0))
        drawn = draw_down(c.retainer, month_items, hours_used_before=used)
        for i in month_items:
            ledger.drop(i.key)
        ledger.put(*drawn.items)
        rest.extend(drawn.items)
    return rest


# --- the run ---------------------------------------------------------------------------------

def run_billing_cycle(inp: RunInput) -> RunResult:
    terms = {c.contract_number: c for c in inp.contracts if c.entity_code == inp.entity.code}
    ledger = _Ledger(inp.items)
    problems: list[Problem] = []
    notes, entries = _credits(inp, ledger, problems)
    _generate(inp, terms, ledger, problems)

    selected: dict[str, list[BillableItem]] = defaultdict(list)
    for item in sorted(ledger.by_key.values(), key=lambda i: i.key):
        c = terms.get(item.contract_number)
        if (c is not None and item.status in OPEN_STATUSES
                and (item.service_date <= inp.period_end or item.deferred)):
            if item.amount.currency != c.currency:
                problems.append(_problem(
                    "billing.item_currency", f"item {item.key} is in {item.amount.currency}, "
                    f"contract {c.contract_number} bills in {c.currency}",
                    "Correct the item's source record (rate card or expense), then re-run.",
                    ("item", item.key)))
                continue
            selected[c.contract_number].append(item)
    tax_of: dict[str, TaxCode] = {}
    for number in sorted(selected):
        blocked = _blocked(inp, terms[number])
        if isinstance(blocked, Problem):
            problems.append(blocked)
            del selected[number]
        else:
            found = find_tax_code(inp.tax_codes, terms[number].tax_code)
            assert isinstance(found, TaxCode)
            tax_of[number] = found
    candidates = [i for n in sorted(selected) for i in _drawn(terms[n], selected[n], ledger)]

    capped = apply_caps(candidates, inp.caps, billed_to_date=dict(inp.billed_to_date),
                        approved=set(inp.approved_overruns))
    for item in candidates:
        ledger.drop(item.key)
    ledger.put(*capped.billable, *(h.item for h in capped.held))
    billable: dict[str, list[BillableItem]] = defaultdict(list)
    for item in capped.billable:
        billable[item.contract_number].append(item)
    numbering = assign_numbers(
        [DraftRef(n, inp.entity.code, inp.period_end, n) for n in sorted(billable)],
        {inp.entity.code: inp.last_number})
    invoices: list[Invoice] = []
    for number in sorted(billable):
        c, tax, invoice_number = terms[number], tax_of[number], numbering.number_of(number)
        assert invoice_number is not None
        fx = lookup_rate(inp.fx_rates, base=c.currency, quote=inp.entity.functional_currency,
                         on=inp.period_end)
        assert isinstance(fx, FxSnapshot)
        held_notes = tuple(f"Held for approval: {h.item.description} — {h.reason}"
                           for h in capped.held if h.item.contract_number == number)
        subtotal = sum((i.amount.amount for i in billable[number]), Decimal(0))
        tax_note = compute_tax(Money(subtotal, c.currency), tax).note
        invoice = assemble_invoice(
            number=invoice_number, entity_code=inp.entity.code, contract_number=number,
            customer_name=c.customer_name, currency=c.currency, invoice_date=inp.period_end,
            period=f"{inp.period_end:%Y-%m}", items=billable[number], tax_code=tax.code,
            tax_rate=compute_tax(Money(subtotal, c.currency), tax).rate,
            payment_terms_days=c.payment_terms_days, service_line=c.service_line,
            fx=None if fx.base == fx.quote else fx,
            notes=((tax_note,) if tax_note else ()) + held_notes)
        invoices.append(invoice)
        if posts_anything(invoice):
            made = release_posting(invoice, inp.chart, rules=inp.rules)
            if isinstance(made, PostingError):
                problems.append(posting_problem(made, retry="re-run the billing cycle"))
            else:
                entries.append(made)
        for item in billable[number]:
            released = item if item.status is ItemStatus.RELEASED else transition(
                item, ItemStatus.RELEASED)
            ledger.put(transition(released, ItemStatus.INVOICED, invoice_number))
    return RunResult(
        run_key=f"{inp.entity.code}:{inp.period_start.isoformat()}:{inp.period_end.isoformat()}",
        invoices=tuple(invoices), credit_notes=tuple(notes), journal_entries=tuple(entries),
        items=tuple(sorted(ledger.by_key.values(), key=lambda i: i.key)), held=capped.held,
        problems=tuple(problems),
        last_number=dict(numbering.last).get(inp.entity.code, inp.last_number),
        last_credit_number=_last_credit(notes, inp.last_credit_number),
        billed_to_date=capped.consumed,
    )


def _last_credit(notes: list[CreditNote], before: str | None) -> str | None:
    return notes[-1].number if notes else before

"""The run itself, ``run_billing_cycle``: credits → generate → select → caps → invoice (one
invoice per contract, gapless numbers in contract order, items moved generated → released →
invoiced, one release journal each)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from syncline.billing.caps import apply_caps
from syncline.billing.credits import CreditNote
from syncline.billing.fx import FxSnapshot, lookup_rate
from syncline.billing.invoicing import Invoice, assemble_invoice
from syncline.billing.items import OPEN_STATUSES, BillableItem, ItemStatus, transition
from syncline.billing.journals import posting_problem, posts_anything, release_posting
from syncline.billing.numbering import DraftRef, assign_numbers
from syncline.billing.run.credits import issue_credits
from syncline.billing.run.generate import generate_items
from syncline.billing.run.inputs import RunInput, RunResult
from syncline.billing.run.item_ledger import ItemLedger, billing_problem
from syncline.billing.run.selection import blocking_problem, draw_down_time
from syncline.billing.tax import TaxCode, compute_tax, find_tax_code
from syncline.domain.errors import Problem
from syncline.ledger.money import Money
from syncline.ledger.posting import PostingError


def run_billing_cycle(inp: RunInput) -> RunResult:
    terms = {c.contract_number: c for c in inp.contracts if c.entity_code == inp.entity.code}
    ledger = ItemLedger(inp.items)
    problems: list[Problem] = []
    notes, entries = issue_credits(inp, ledger, problems)
    generate_items(inp, terms, ledger, problems)

    selected: dict[str, list[BillableItem]] = defaultdict(list)
    for item in sorted(ledger.by_key.values(), key=lambda i: i.key):
        c = terms.get(item.contract_number)
        if (c is not None and item.status in OPEN_STATUSES
                and (item.service_date <= inp.period_end or item.deferred)):
            if item.amount.currency != c.currency:
                problems.append(billing_problem(
                    "billing.item_currency", f"item {item.key} is in {item.amount.currency}, "
                    f"contract {c.contract_number} bills in {c.currency}",
                    "Correct the item's source record (rate card or expense), then re-run.",
                    ("item", item.key)))
                continue
            selected[c.contract_number].append(item)
    tax_of: dict[str, TaxCode] = {}
    for number in sorted(selected):
        blocked = blocking_problem(inp, terms[number])
        if isinstance(blocked, Problem):
            problems.append(blocked)
            del selected[number]
        else:
            found = find_tax_code(inp.tax_codes, terms[number].tax_code)
            assert isinstance(found, TaxCode)
            tax_of[number] = found
    candidates = [i for n in sorted(selected)
                  for i in draw_down_time(terms[n], selected[n], ledger)]

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

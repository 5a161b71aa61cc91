"""Journal entries for invoice release and credit notes, with functional-currency amounts.

Release of an invoice: Dr accounts receivable (gross) / Cr revenue by service line (items
for services rendered) / Cr deferred revenue — the contract liability — (items billed ahead
of service, e.g. a retainer in advance) / Cr tax payable. A credit note posts the same lines
on the opposite sides, for its own (negative) amounts, so it exactly reverses its share.

When the invoice currency differs from the entity's functional currency every line carries
the functional amount, the rate and its source. Each credit-side line is converted on its
own (round half-up); the receivable's functional amount is their sum, so the entry balances
in both currencies by construction (the receivable may differ by a minor unit from
``round(total × rate)``; that is the stated rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from syncline.billing.credits import CreditNote
from syncline.billing.fx import FxSnapshot, convert
from syncline.billing.invoicing import Invoice
from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.journal import JournalEntry, JournalLine, Side, line
from syncline.ledger.money import Money, total


def _with_fx(lines: Sequence[JournalLine], fx: FxSnapshot | None,
             receivable: int) -> tuple[JournalLine, ...]:
    if fx is None or fx.base == fx.quote:
        return tuple(lines)
    out = [replace(ln, functional=convert(ln.amount, fx), fx_rate=fx.rate,
                   fx_source=f"{fx.source} {fx.as_of.isoformat()}") for ln in lines]
    others = [ln.functional for i, ln in enumerate(out) if i != receivable]
    out[receivable] = replace(out[receivable], functional=total(
        (m for m in others if m is not None), fx.quote))
    return tuple(out)


def _post(account: str, side: Side, amount: Money, memo: str) -> JournalLine:
    """A line for a signed amount: a negative amount posts positive on the other side."""
    if amount < Money.zero(amount.currency):
        side, amount = (Side.CREDIT if side is Side.DEBIT else Side.DEBIT), -amount
    return line(account, side, amount, memo)


def _lines(chart: ChartOfAccounts, *, number: str, contract: str, service_line: str,
           recognised: Money, deferred: Money, tax: Money, tax_code: str,
           invoice_side: Side) -> list[JournalLine]:
    other = Side.CREDIT if invoice_side is Side.DEBIT else Side.DEBIT
    gross = recognised + deferred + tax
    out = [_post(chart.code("accounts_receivable"), invoice_side, gross, f"invoice {number}")]
    if not recognised.is_zero:
        out.append(_post(chart.code(f"revenue:{service_line}"), other, recognised,
                         f"invoice {number} {contract}"))
    if not deferred.is_zero:
        out.append(_post(chart.code("contract_liability"), other, deferred,
                         f"invoice {number} {contract} billed in advance"))
    if not tax.is_zero:
        out.append(_post(chart.code("tax_payable"), other, tax, f"{tax_code} on {number}"))
    return out


def _split(amounts: Sequence[tuple[Money, bool]], currency: str) -> tuple[Money, Money]:
    recognised = total((a for a, d in amounts if not d), currency)
    deferred = total((a for a, d in amounts if d), currency)
    return recognised, deferred


def posts_anything(doc: Invoice | CreditNote) -> bool:
    """False for a document whose revenue, deferred and tax totals are all zero (e.g. work
    fully written off at a soft cap): it is issued, but has nothing to journal."""
    recognised, deferred = _split([(ln.amount, ln.deferred) for ln in doc.lines], doc.currency)
    return not (recognised.is_zero and deferred.is_zero and doc.tax.is_zero)


def release_entry(invoice: Invoice, chart: ChartOfAccounts, *,
                  fx: FxSnapshot | None = None, all_deferred: bool = False) -> JournalEntry:
    """Release of ``invoice`` (see module doc); ``fx`` defaults to the invoice's own.

    ``all_deferred``: the revenue engine recognises revenue, so the whole net amount goes to
    the contract liability (Dr AR gross / Cr contract liability net / Cr tax payable).
    """
    recognised, deferred = _split([(ln.amount, ln.deferred or all_deferred)
                                   for ln in invoice.lines], invoice.currency)
    lines = _lines(chart, number=invoice.number, contract=invoice.contract_number,
                   service_line=invoice.service_line, recognised=recognised,
                   deferred=deferred, tax=invoice.tax, tax_code=invoice.tax_code,
                   invoice_side=Side.DEBIT)
    return JournalEntry(
        entity_id=invoice.entity_code, posting_date=invoice.invoice_date,
        description=f"Invoice {invoice.number} to {invoice.customer_name}",
        lines=_with_fx(lines, fx if fx is not None else invoice.fx, 0),
        source_type="invoice", source_id=invoice.number,
    )


def credit_note_entry(note: CreditNote, chart: ChartOfAccounts, *,
                      fx: FxSnapshot | None = None, posting_date: date | None = None,
                      all_deferred: bool = False) -> JournalEntry:
    """Dr revenue / deferred / tax, Cr receivable: the reversal of the note's items.

    Pass the *invoice's* ``fx`` to reverse at the original rate (the default policy: any
    difference against today's rate is the revaluation's business, not the credit's).
    ``all_deferred`` mirrors the release in revenue-engine mode (contract liability).
    """
    recognised, deferred = _split([(-ln.amount, ln.deferred or all_deferred)
                                   for ln in note.lines], note.currency)
    lines = _lines(chart, number=note.number, contract=note.contract_number,
                   service_line=note.service_line, recognised=recognised, deferred=deferred,
                   tax=-note.tax, tax_code=note.tax_code, invoice_side=Side.CREDIT)
    lines[0] = replace(lines[0], memo=f"credit note {note.number} on {note.invoice_number}")
    return JournalEntry(
        entity_id=note.entity_code, posting_date=posting_date or note.credit_date,
        description=f"Credit note {note.number} on invoice {note.invoice_number}",
        lines=_with_fx(lines, fx, 0), source_type="credit_note", source_id=note.number,
        reverses=note.invoice_number,
    )

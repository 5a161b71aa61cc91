"""Credit notes that name the exact billable items they reverse.

A credit note belongs to one invoice and lists, line by line, the item keys it reverses
(never just a quantity: see anchors §0.6). Asking to reverse ``time:TE-1`` reverses every
invoiced part of that time entry (``time:TE-1``, ``time:TE-1#cap``, ``time:TE-1#over``) and
any cap write-off that adjusted one of them, so the customer is credited what was charged.

Amounts on a credit note are negative. Its subtotal is exactly minus the sum of the reversed
items. Tax is minus ``round(credited subtotal × invoice tax rate)``, except for the note that
credits the invoice's last remaining items, which takes exactly the tax still uncredited, so
that an invoice fully credited nets to zero to the cent.

Time corrected after invoicing = a credit note for the original item + ``replacement_item``,
a new generated item (key ``<origin>@r<n>``) for the corrected work, billed in the next run.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from syncline.billing.invoicing import Invoice, group_lines
from syncline.billing.items import BillableItem, ItemStatus, price, transition
from syncline.domain.errors import BusinessDomain, Problem
from syncline.ledger.money import Money, total


@dataclass(frozen=True, slots=True)
class CreditLine:
    description: str
    quantity: Decimal  # negative
    unit_price: Money
    amount: Money  # negative
    item_keys: tuple[str, ...]
    deferred: bool = False


@dataclass(frozen=True, slots=True)
class CreditNote:
    number: str
    entity_code: str
    invoice_number: str
    contract_number: str
    customer_name: str
    currency: str
    credit_date: date
    reason: str
    lines: tuple[CreditLine, ...]
    subtotal: Money  # negative: minus the reversed items
    tax_code: str
    tax_rate: Decimal
    tax: Money  # negative
    total: Money  # negative
    service_line: str

    @property
    def item_keys(self) -> tuple[str, ...]:
        return tuple(k for ln in self.lines for k in ln.item_keys)


@dataclass(frozen=True, slots=True)
class CreditRefused:
    """A credit that cannot be issued as asked (nothing on the invoice, already credited)."""

    invoice_number: str
    keys: tuple[str, ...]
    reason: str

    def problem(self) -> Problem:
        return Problem(
            code="billing.credit_refused", domain=BusinessDomain.BILLING,
            message=f"credit on {self.invoice_number} for {', '.join(self.keys)}: {self.reason}",
            remediation=("Check which billable items the invoice holds (and which were already "
                         "credited), then request the credit for those items."),
            objects=(("invoice", self.invoice_number), *(("item", k) for k in self.keys)),
        )


def items_to_reverse(invoice_items: Sequence[BillableItem],
                     keys: Collection[str]) -> tuple[BillableItem, ...]:
    """Items on the invoice matching ``keys`` (by key or origin), plus their write-offs."""
    chosen = [i for i in invoice_items if i.key in keys or i.source_key in keys]
    chosen_keys = {i.key for i in chosen}
    chosen += [i for i in invoice_items
               if i.key not in chosen_keys and any(a in chosen_keys for a in i.adjusts)]
    return tuple(sorted(chosen, key=lambda i: i.key))


def credit_note(
    invoice: Invoice, invoice_items: Sequence[BillableItem], keys: Collection[str], *,
    number: str, credit_date: date, reason: str, credited_before: Sequence[CreditNote] = (),
) -> CreditNote | CreditRefused:
    """A credit note on ``invoice`` reversing the items named by ``keys`` (see module doc)."""
    on_invoice = {k for ln in invoice.lines for k in ln.item_keys}
    mine = [i for i in invoice_items if i.key in on_invoice]
    targets = items_to_reverse(mine, keys)
    asked = tuple(sorted(keys))
    if not targets:
        return CreditRefused(invoice.number, asked, "no such item on the invoice")
    already = {k for note in credited_before for k in note.item_keys}
    again = sorted(i.key for i in targets if i.key in already or i.status is ItemStatus.CREDITED)
    if again:
        return CreditRefused(invoice.number, tuple(again), "already credited")
    lines = tuple(
        CreditLine(ln.description, -ln.quantity, ln.unit_price, -ln.amount, ln.item_keys,
                   ln.deferred)
        for ln in group_lines(targets)
    )
    subtotal = total((ln.amount for ln in lines), invoice.currency)
    credited = already | {i.key for i in targets}
    if credited >= on_invoice:
        tax = -(invoice.tax + total((n.tax for n in credited_before), invoice.currency))
    else:
        tax = (subtotal * invoice.tax_rate).rounded()
    return CreditNote(
        number=number, entity_code=invoice.entity_code, invoice_number=invoice.number,
        contract_number=invoice.contract_number, customer_name=invoice.customer_name,
        currency=invoice.currency, credit_date=credit_date, reason=reason, lines=lines,
        subtotal=subtotal, tax_code=invoice.tax_code, tax_rate=invoice.tax_rate, tax=tax,
        total=subtotal + tax, service_line=invoice.service_line,
    )


def mark_credited(items: Sequence[BillableItem], note: CreditNote) -> tuple[BillableItem, ...]:
    """The items with those on ``note`` moved to CREDITED; the others unchanged."""
    keys = set(note.item_keys)
    return tuple(transition(i, ItemStatus.CREDITED) if i.key in keys else i for i in items)


def replacement_item(original: BillableItem, *, quantity: Decimal, revision: int,
                     service_date: date | None = None) -> BillableItem:
    """The corrected work as a new generated item, priced at the original's rate snapshot."""
    on = service_date or original.service_date
    key = f"{original.source_key.split('@')[0]}@r{revision}"
    description = original.description
    if original.service_date != on:
        description = description.replace(original.service_date.isoformat(), on.isoformat())
    return replace(
        original, key=key, origin=key, split_of=None, quantity=quantity,
        amount=price(quantity, original.unit_price), status=ItemStatus.GENERATED,
        invoice_number=None, service_date=on, description=description, adjusts=(),
    )

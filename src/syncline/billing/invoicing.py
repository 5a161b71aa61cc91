"""Invoice assembly: billable items → invoice lines → totals, tax and the journal entry.

Lines group items by (source, unit price, description group, deferred) so that an invoice
reads like one; each line's amount is the exact sum of its items, so lines always sum to the
items. Tax is computed once on the subtotal, rounded half-up. Release journals with
functional-currency amounts and deferred revenue are in ``billing.journals``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from syncline.billing.fx import FxSnapshot
from syncline.billing.items import BillableItem, ItemSource
from syncline.ledger.money import Money, total


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    description: str
    quantity: Decimal
    unit_price: Money
    amount: Money
    item_keys: tuple[str, ...]
    deferred: bool = False  # billed ahead of service: released to deferred revenue


@dataclass(frozen=True, slots=True)
class Invoice:
    number: str
    entity_code: str
    contract_number: str
    customer_name: str
    currency: str
    invoice_date: date
    period: str  # YYYY-MM
    lines: tuple[InvoiceLine, ...]
    subtotal: Money
    tax_code: str
    tax_rate: Decimal
    tax: Money
    total: Money
    due_date: date
    service_line: str
    fx: FxSnapshot | None = None  # contract currency → entity functional currency
    notes: tuple[str, ...] = ()  # printed under the lines: held excess, reverse charge, …


def group_lines(items: Sequence[BillableItem]) -> tuple[InvoiceLine, ...]:
    groups: dict[tuple[str, str, Money, bool], list[BillableItem]] = defaultdict(list)
    for it in items:
        label = line_label(it.source.value, it.description)
        groups[(it.source.value, label, it.unit_price, it.deferred)].append(it)
    out = []
    for (_, label, unit_price, deferred), members in sorted(
            groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][3], kv[0][2].amount)):
        members.sort(key=lambda i: i.key)
        out.append(InvoiceLine(
            description=label,
            quantity=sum((m.quantity for m in members), Decimal(0)),
            unit_price=unit_price,
            amount=total((m.amount for m in members), unit_price.currency),
            item_keys=tuple(m.key for m in members),
            deferred=deferred,
        ))
    return tuple(out)


def assemble_invoice(
    *, number: str, entity_code: str, contract_number: str, customer_name: str, currency: str,
    invoice_date: date, period: str, items: Sequence[BillableItem], tax_code: str,
    tax_rate: Decimal, payment_terms_days: int, service_line: str,
    fx: FxSnapshot | None = None, notes: tuple[str, ...] = (),
) -> Invoice:
    lines = group_lines(items)
    subtotal = total((ln.amount for ln in lines), currency)
    tax = (subtotal * tax_rate).rounded()
    return Invoice(
        number=number, entity_code=entity_code, contract_number=contract_number,
        customer_name=customer_name, currency=currency, invoice_date=invoice_date,
        period=period, lines=lines, subtotal=subtotal, tax_code=tax_code, tax_rate=tax_rate,
        tax=tax, total=subtotal + tax,
        due_date=date.fromordinal(invoice_date.toordinal() + payment_terms_days),
        service_line=service_line, fx=fx, notes=notes,
    )


def invoice_from_lines(
    *, number: str, entity_code: str, contract_number: str, customer_name: str, currency: str,
    invoice_date: date, period: str, lines: Sequence[InvoiceLine], tax_code: str,
    tax_rate: Decimal, payment_terms_days: int, service_line: str,
    fx: FxSnapshot | None = None, notes: tuple[str, ...] = (),
) -> Invoice:
    """An invoice from lines already grouped and ordered (e.g. aggregated set-based by the
    service layer with ``group_lines``'s rule); totals and tax as ``assemble_invoice``."""
    ordered = tuple(lines)
    subtotal = total((ln.amount for ln in ordered), currency)
    tax = (subtotal * tax_rate).rounded()
    return Invoice(
        number=number, entity_code=entity_code, contract_number=contract_number,
        customer_name=customer_name, currency=currency, invoice_date=invoice_date,
        period=period, lines=ordered, subtotal=subtotal, tax_code=tax_code, tax_rate=tax_rate,
        tax=tax, total=subtotal + tax,
        due_date=date.fromordinal(invoice_date.toordinal() + payment_terms_days),
        service_line=service_line, fx=fx, notes=notes,
    )


def line_label(source: str, description: str) -> str:
    """The invoice line a billable item is grouped under (``group_lines``'s rule)."""
    if source == ItemSource.TIME.value:
        return description.split(" time ")[0].replace("_", " ").title() + " time"
    return description

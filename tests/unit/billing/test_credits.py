"""Credit notes read like the invoice they correct, and name the items they reverse."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from syncline.billing.caps import Cap, CapKind, CapScope, apply_caps
from syncline.billing.credits import CreditNote, CreditRefused, credit_note, replacement_item
from syncline.billing.invoicing import Invoice, assemble_invoice
from syncline.billing.items import BillableItem, ItemStatus, transition
from syncline.billing.journals import credit_note_entry, release_entry
from syncline.ledger.accounts import DEFAULT_CHART
from syncline.ledger.journal import Side

from .builders import hours, usd

MARCH = [
    hours("TE-1", "2026-03-02", "8"),          # 1,200.00
    hours("TE-2", "2026-03-03", "6"),          #   900.00
    hours("TE-3", "2026-03-04", "2", "250", role="manager"),  # 500.00
]


def _invoice(items: list[BillableItem], tax_rate: str = "0.20") -> Invoice:
    return assemble_invoice(
        number="GB01-2026-000007", entity_code="GB01", contract_number="C-1",
        customer_name="Acme Ltd", currency="USD", invoice_date=date(2026, 3, 31),
        period="2026-03", items=items, tax_code="GB-VAT-STD", tax_rate=Decimal(tax_rate),
        payment_terms_days=30, service_line="consulting")


def _credit(inv: Invoice, items: list[BillableItem], *keys: str,
            before: tuple[CreditNote, ...] = ()) -> CreditNote:
    note = credit_note(inv, items, set(keys), number="GB01-CN-2026-000001",
                       credit_date=date(2026, 4, 10), reason="time rejected",
                       credited_before=before)
    assert isinstance(note, CreditNote), note
    return note


def test_credit_for_one_rejected_entry_lists_that_item() -> None:
    inv = _invoice(MARCH)
    note = _credit(inv, MARCH, "time:TE-2")
    assert [(ln.description, str(ln.quantity), ln.amount.canonical(), ln.item_keys)
            for ln in note.lines] == [("Consultant time", "-6", "-900.00 USD", ("time:TE-2",))]
    assert (note.subtotal, note.tax, note.total) == (usd("-900"), usd("-180"), usd("-1080"))
    assert note.invoice_number == "GB01-2026-000007"


def test_credit_journal_reverses_exactly_the_share_of_the_release() -> None:
    inv = _invoice(MARCH)
    note = _credit(inv, MARCH, "time:TE-2")
    entry = credit_note_entry(note, DEFAULT_CHART)
    assert [(ln.account, ln.side, ln.amount.canonical()) for ln in entry.lines] == [
        ("1100", Side.CREDIT, "1080.00 USD"),
        ("4000", Side.DEBIT, "900.00 USD"),
        ("2200", Side.DEBIT, "180.00 USD"),
    ]
    assert entry.reverses == inv.number
    release = release_entry(inv, DEFAULT_CHART)
    assert [ln.amount.canonical() for ln in release.lines] == [
        "3120.00 USD", "2600.00 USD", "520.00 USD"]


def test_the_last_credit_takes_exactly_the_remaining_tax() -> None:
    items = [hours("TE-1", "2026-03-02", "1", "0.05"), hours("TE-2", "2026-03-02", "1", "0.05")]
    inv = _invoice(items)  # subtotal 0.10, tax 0.02
    first = _credit(inv, items, "time:TE-1")  # tax -round(0.01) = -0.01
    last = _credit(inv, items, "time:TE-2", before=(first,))
    assert first.tax + last.tax == -inv.tax
    assert first.total + last.total == -inv.total


def test_an_item_is_never_credited_twice() -> None:
    inv = _invoice(MARCH)
    first = _credit(inv, MARCH, "time:TE-1")
    again = credit_note(inv, MARCH, {"time:TE-1"}, number="X", credit_date=date(2026, 4, 11),
                        reason="dup", credited_before=(first,))
    assert isinstance(again, CreditRefused)
    assert again.keys == ("time:TE-1",)
    unknown = credit_note(inv, MARCH, {"time:TE-99"}, number="X", credit_date=date(2026, 4, 11),
                          reason="typo")
    assert isinstance(unknown, CreditRefused)
    assert unknown.problem().code == "billing.credit_refused"


def test_crediting_a_capped_entry_reverses_its_parts_and_its_write_off() -> None:
    cap = Cap("NTE-1", CapScope.CONTRACT, "C-1", usd("2000"), CapKind.SOFT)
    billed = list(apply_caps(MARCH, [cap]).billable)
    inv = _invoice(billed, tax_rate="0")
    note = _credit(inv, billed, "time:TE-2")
    assert sorted(note.item_keys) == [
        "adjustment:cap:NTE-1:time:TE-2#over", "time:TE-2#cap", "time:TE-2#over"]
    assert note.subtotal == usd("-800")  # what the customer paid for TE-2


def test_corrected_time_is_a_credit_plus_a_new_item() -> None:
    invoiced = [transition(i, ItemStatus.INVOICED, "GB01-2026-000007") for i in MARCH]
    inv = _invoice(invoiced)
    note = _credit(inv, invoiced, "time:TE-2")
    fixed = replacement_item(invoiced[1], quantity=Decimal("4"), revision=2)
    assert (fixed.key, fixed.quantity, fixed.amount, fixed.status) == (
        "time:TE-2@r2", Decimal("4"), usd("600"), ItemStatus.GENERATED)
    assert note.item_keys == ("time:TE-2",)
    assert fixed.invoice_number is None

"""Tax per jurisdiction and gapless numbering per legal entity."""

from __future__ import annotations

from datetime import date

import pytest

from syncline.billing.numbering import DraftRef, assign_numbers, parse_number
from syncline.billing.tax import (
    DEFAULT_TAX_CODES,
    REVERSE_CHARGE_NOTE,
    TaxCode,
    TaxCodeMissing,
    compute_tax,
    find_tax_code,
)
from syncline.ledger.money import Money


@pytest.mark.parametrize(
    ("code", "subtotal", "tax", "note"),
    [
        ("GB-VAT-STD", "1000.00 GBP", "200.00 GBP", ""),
        ("US-NY-SVC", "1234.56 USD", "109.57 USD", ""),
        ("US-EXEMPT", "1000.00 USD", "0.00 USD", "Tax exempt: Services not taxable."),
        ("EU-REVERSE", "1000.00 EUR", "0.00 EUR", REVERSE_CHARGE_NOTE),
    ],
)
def test_tax_by_code(code: str, subtotal: str, tax: str, note: str) -> None:
    found = find_tax_code(DEFAULT_TAX_CODES, code)
    assert isinstance(found, TaxCode)
    amount, cur = subtotal.split()
    result = compute_tax(Money.of(amount, cur), found)
    assert (result.amount.canonical(), result.note) == (tax, note)


def test_unknown_tax_code() -> None:
    missing = find_tax_code(DEFAULT_TAX_CODES, "FR-VAT", contract_number="C-1")
    assert isinstance(missing, TaxCodeMissing)
    assert missing.problem().objects == (("contract", "C-1"),)


def test_numbers_are_gapless_per_entity_and_deterministic() -> None:
    drafts = [
        DraftRef("d3", "US01", date(2026, 3, 31), "C-3"),
        DraftRef("d1", "US01", date(2026, 3, 31), "C-1"),
        DraftRef("d2", "GB01", date(2026, 3, 31), "C-2"),
    ]
    got = assign_numbers(drafts, {"US01": "US01-2026-000041", "GB01": None})
    assert got.assigned == (
        ("d2", "GB01-2026-000001"),
        ("d1", "US01-2026-000042"),
        ("d3", "US01-2026-000043"),
    )
    assert got.last == (("GB01", "GB01-2026-000001"), ("US01", "US01-2026-000043"))
    assert assign_numbers(reversed(drafts), {"US01": "US01-2026-000041"}).assigned == got.assigned


def test_a_new_year_restarts_and_a_back_dated_draft_is_refused() -> None:
    got = assign_numbers([DraftRef("a", "US01", date(2027, 1, 31)),
                          DraftRef("b", "US01", date(2025, 12, 31))],
                         {"US01": "US01-2026-000099"})
    assert got.assigned == (("a", "US01-2027-000001"),)
    assert [d for d, _ in got.refused] == ["b"]


def test_credit_note_series() -> None:
    got = assign_numbers([DraftRef("cn", "US01", date(2026, 4, 2))], {}, series="CN")
    assert got.assigned == (("cn", "US01-CN-2026-000001"),)
    assert parse_number("US01-CN-2026-000001") == ("US01", "CN", 2026, 1)

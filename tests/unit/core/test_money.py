from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncline.ledger.money import (
    MINOR_UNITS,
    CurrencyMismatch,
    Money,
    UnknownCurrency,
    largest_remainder,
)


def test_hc01_bundle_allocation_whole_units_is_largest_remainder() -> None:
    """HC-01 (KPMG IFRS 15 handbook 4.2 Example 5, tier A): 80 over SSP 20/30/40 → 18/27/35."""
    assert Money.of("80", "JPY").split([20, 30, 40]) == (
        Money.of("18", "JPY"), Money.of("27", "JPY"), Money.of("35", "JPY"))


def test_hc01_bundle_allocation_in_cents() -> None:
    """HC-01 derived: 17.78 / 26.67 / 35.55, total 80.00 (half-up each would give 80.01)."""
    parts = Money.of("80", "USD").split([20, 30, 40])
    assert [p.amount for p in parts] == [Decimal("17.78"), Decimal("26.67"), Decimal("35.55")]


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        Money.of(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money.of("1", "USD") * 1.5  # type: ignore[operator]


def test_unknown_currency_and_mismatch() -> None:
    with pytest.raises(UnknownCurrency):
        Money.of("1", "ZZZ")
    with pytest.raises(CurrencyMismatch):
        Money.of("1", "USD") + Money.of("1", "EUR")


@pytest.mark.parametrize(("currency", "text"), [("JPY", "1235"), ("USD", "1234.57"),
                                                ("KWD", "1234.568")])
def test_rounding_to_minor_unit_half_up(currency: str, text: str) -> None:
    assert Money.of("1234.5675", currency).rounded().amount == Decimal(text)


@pytest.mark.parametrize(("amount", "currency", "text"), [
    # exact ties whose half-up and half-even roundings differ (half-even in the comment)
    ("0.125", "USD", "0.13"),  # 0.12
    ("2.345", "USD", "2.35"),  # 2.34
    ("1234.565", "USD", "1234.57"),  # 1234.56
    ("-0.125", "USD", "-0.13"),  # -0.12: half-up rounds ties away from zero
    ("2.5", "JPY", "3"),  # 2
    ("-2.5", "JPY", "-3"),  # -2
    ("0.0005", "KWD", "0.001"),  # 0.000
    ("10.0105", "BHD", "10.011"),  # 10.010
])
def test_default_rounding_is_half_up_on_ties_that_half_even_rounds_down(
        amount: str, currency: str, text: str) -> None:
    money = Money.of(amount, currency)
    assert money.rounded().amount == Decimal(text)
    assert money.canonical() == f"{text} {currency}"


def test_minor_units_round_ties_half_up() -> None:
    assert Money.of("0.125", "USD").minor_units() == 13
    assert Money.of("2.5", "JPY").minor_units() == 3
    assert Money.of("0.125", "USD").split_even(1) == (Money.of("0.13", "USD"),)


def test_negative_split_mirrors_positive() -> None:
    assert largest_remainder(-10, [1, 1, 1]) == (-4, -3, -3)


@given(
    total=st.integers(min_value=-10**12, max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12)
    .filter(lambda w: sum(w) > 0),
)
def test_largest_remainder_parts_sum_to_total_and_stay_close(total: int, weights: list[int]
                                                            ) -> None:
    parts = largest_remainder(total, weights)
    assert sum(parts) == total
    wsum = sum(weights)
    for part, w in zip(parts, weights, strict=True):
        assert abs(Decimal(part) - Decimal(total) * w / wsum) < 1


@given(
    amount=st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False, places=4),
    currency=st.sampled_from(sorted(MINOR_UNITS)),
    parts=st.integers(min_value=1, max_value=40),
)
def test_split_even_sums_to_rounded_whole(amount: Decimal, currency: str, parts: int) -> None:
    money = Money.of(amount, currency)
    pieces = money.split_even(parts)
    assert sum((p.amount for p in pieces), Decimal(0)) == money.rounded().amount
    assert max(p.amount for p in pieces) - min(p.amount for p in pieces) <= \
        Money.of(1, currency).amount.scaleb(-MINOR_UNITS[currency])


def test_exact_ties_go_to_the_earlier_part_whatever_the_decimal_precision() -> None:
    """2 over 1:3:10 has shares 1/7, 3/7, 10/7: remainders 3/7 and 3/7 tie → the earlier."""
    import decimal

    assert largest_remainder(2, [1, 3, 10]) == (0, 1, 1)
    with decimal.localcontext(decimal.Context(prec=6)):
        assert largest_remainder(2, [1, 3, 10]) == (0, 1, 1)
        assert largest_remainder(100, [Decimal("0.1")] * 3) == (34, 33, 33)

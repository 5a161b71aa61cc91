"""Money: a Decimal amount with an ISO 4217 currency, made one way and split one way.

Rules (DESIGN.md §7):
- amounts are ``Decimal``; a float is refused at construction;
- ``Money.of`` is the one constructor from outside values (str, int, Decimal);
- arithmetic keeps full precision; ``rounded()`` rounds to the currency's minor unit,
  ``ROUND_HALF_UP`` by default;
- ``split`` divides an amount by weights with the *largest remainder* rule: every part is
  rounded down to the minor unit, then the leftover minor units go one each to the parts
  with the largest fractional remainders (ties: the earlier part first). The parts always
  sum to the (rounded) whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

# Minor units per ISO 4217 for the currencies a firm is likely to meet. Unknown codes are
# refused: a currency we cannot round is a data error, not a guess.
MINOR_UNITS: dict[str, int] = {
    "AED": 2, "ARS": 2, "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0,
    "CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2, "HKD": 2,
    "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0,
    "KWD": 3, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PHP": 2, "PLN": 2,
    "QAR": 2, "RON": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2,
    "TWD": 2, "UAH": 2, "USD": 2, "VND": 0, "ZAR": 2,
}


class UnknownCurrency(ValueError):
    """A currency code that is not in the ISO 4217 table Syncline knows."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unknown currency code {code!r} (expected an ISO 4217 code such as USD)")
        self.code = code


class CurrencyMismatch(ValueError):
    """Arithmetic across two currencies: convert first, with a recorded rate."""


def is_known_currency(code: str) -> bool:
    return code in MINOR_UNITS


def minor_unit(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise UnknownCurrency(currency) from None


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency``: 0.01 for USD, 1 for JPY, 0.001 for KWD."""
    return Decimal(1).scaleb(-minor_unit(currency))


def to_decimal(value: str | int | Decimal) -> Decimal:
    if isinstance(value, (bool, float)):
        raise TypeError("money amounts are never floats: pass a str, int or Decimal")
    try:
        result = Decimal(value)
    except (InvalidOperation, ValueError):
        raise ValueError(f"not a decimal amount: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return result


@dataclass(frozen=True, slots=True, order=False)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money.amount must be a Decimal; use Money.of(...)")
        minor_unit(self.currency)

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        return cls(to_decimal(amount), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    # arithmetic -------------------------------------------------------------------------
    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float):
            raise TypeError("multiply money by a Decimal, never a float")
        return Money(self.amount * Decimal(factor), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    # rounding and splitting ---------------------------------------------------------------
    def rounded(self, rounding: str = ROUND_HALF_UP) -> Money:
        return Money(self.amount.quantize(quantum(self.currency), rounding=rounding), self.currency)

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    def minor_units(self) -> int:
        """The rounded amount as an integer count of minor units (cents, yen, fils)."""
        return int(self.rounded().amount.scaleb(minor_unit(self.currency)))

    def split(self, weights: Sequence[Decimal | int]) -> tuple[Money, ...]:
        """Split by weights with the largest-remainder rule (see module doc)."""
        units = largest_remainder(self.minor_units(), weights)
        exp = -minor_unit(self.currency)
        return tuple(Money(Decimal(u).scaleb(exp), self.currency) for u in units)

    def split_even(self, parts: int) -> tuple[Money, ...]:
        if parts <= 0:
            raise ValueError("parts must be positive")
        return self.split([1] * parts)

    def __str__(self) -> str:
        return f"{self.rounded().amount:,} {self.currency}"

    def canonical(self) -> str:
        """Stable text form for hashing and storage: ``'1234.50 USD'``."""
        return f"{self.rounded().amount} {self.currency}"


def largest_remainder(total: int, weights: Sequence[Decimal | int]) -> tuple[int, ...]:
    """Divide the integer ``total`` in proportion to ``weights``; parts sum to ``total``.

    Each part gets the floor (towards zero) of its exact share; the leftover units go one at
    a time to the largest fractional remainders, ties to the earlier weight. Negative totals
    are split as the negation of the positive split, so signs never flip a rounding.
    """
    ws = [Fraction(Decimal(w)) for w in weights]  # exact: Decimal division would round
    if not ws:
        raise ValueError("at least one weight is needed")
    if any(w < 0 for w in ws):
        raise ValueError("weights must not be negative")
    wsum = sum(ws, Fraction(0))
    if wsum == 0:
        raise ValueError("weights must not all be zero")
    if total < 0:
        return tuple(-p for p in largest_remainder(-total, weights))
    exact = [total * w / wsum for w in ws]
    floors = [e.numerator // e.denominator for e in exact]
    leftover = total - sum(floors)
    order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:leftover]:
        floors[i] += 1
    return tuple(floors)


def total(amounts: Iterable[Money], currency: str) -> Money:
    result = Money.zero(currency)
    for m in amounts:
        result = result + m
    return result

"""Integer minor units and integer rounding: the hot path never touches Decimal arithmetic."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from syncline.ledger.money import Money, minor_unit
from syncline.revenue.model import RevenueError


def to_units(amount: Decimal, currency: str, location: str) -> int:
    """An amount in minor units; refused if it has more precision than the currency."""
    scaled = amount.scaleb(minor_unit(currency))
    if scaled != scaled.to_integral_value():
        raise RevenueError(location, f"amount {amount} has more decimals than {currency} allows")
    return int(scaled)


def round_units(amount: Decimal, currency: str, rounding: str = ROUND_HALF_UP) -> int:
    """An exact amount rounded to minor units with the policy's rounding."""
    return int(amount.scaleb(minor_unit(currency)).to_integral_value(rounding=rounding))


def money(units: int, currency: str) -> Money:
    return Money(Decimal(units).scaleb(-minor_unit(currency)), currency)


def amount(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-minor_unit(currency))


def rdiv(n: int, d: int, mode: str = ROUND_HALF_UP) -> int:
    """``n / d`` rounded to an integer by ``mode`` (a ``decimal`` rounding name), ``d > 0``."""
    if n < 0:
        return -rdiv(-n, d, _mirror(mode))
    q, r = divmod(n, d)
    if r == 0:
        return q
    if mode == "ROUND_HALF_UP":
        return q + 1 if 2 * r >= d else q
    if mode == "ROUND_HALF_DOWN":
        return q + 1 if 2 * r > d else q
    if mode == "ROUND_HALF_EVEN":
        if 2 * r == d:
            return q + (q & 1)
        return q + 1 if 2 * r > d else q
    if mode == "ROUND_DOWN":
        return q
    if mode == "ROUND_UP":
        return q + 1
    raise ValueError(f"unsupported rounding {mode}")


def _mirror(mode: str) -> str:
    return mode  # every supported mode is symmetric about zero

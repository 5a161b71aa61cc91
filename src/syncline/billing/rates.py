"""Bill-rate resolution with explicit precedence.

Precedence (DESIGN.md §7): contract + role > customer + role > role default. Within a scope
the entry effective on the work date wins; among several, the latest ``effective_from`` (then
the highest version). A rate exists only in one currency: the contract's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from enum import IntEnum, StrEnum

from syncline.domain.errors import BusinessDomain, Problem
from syncline.ledger.money import Money


class Scope(IntEnum):
    """Lower value = higher precedence."""

    CONTRACT = 1
    CUSTOMER = 2
    DEFAULT = 3


@dataclass(frozen=True, slots=True)
class RateEntry:
    role: str
    rate: Money
    scope: Scope
    scope_key: str | None = None  # contract or customer id, None for the default card
    effective_from: date = date.min
    effective_to: date | None = None  # inclusive
    version: int = 1

    def applies(self, role: str, on: date, currency: str) -> bool:
        return (
            self.role == role
            and self.rate.currency == currency
            and self.effective_from <= on
            and (self.effective_to is None or on <= self.effective_to)
        )


@dataclass(frozen=True, slots=True)
class RateNotFound:
    """No rate for this role, date and currency in any scope: an error value, not a guess."""

    role: str
    on: date
    currency: str
    contract_key: str | None

    @property
    def message(self) -> str:
        return (f"no bill rate for role {self.role!r} in {self.currency} on {self.on} "
                f"(contract {self.contract_key or '-'}, customer, or default card)")


def resolve_rate(
    entries: Iterable[RateEntry], *, role: str, on: date, currency: str,
    contract_key: str | None = None, customer_key: str | None = None,
) -> RateEntry | RateNotFound:
    best: RateEntry | None = None
    for entry in entries:
        if not entry.applies(role, on, currency):
            continue
        if entry.scope is Scope.CONTRACT and entry.scope_key != contract_key:
            continue
        if entry.scope is Scope.CUSTOMER and entry.scope_key != customer_key:
            continue
        if best is None or (entry.scope, -entry.effective_from.toordinal(), -entry.version) < (
            best.scope, -best.effective_from.toordinal(), -best.version
        ):
            best = entry
    return best if best is not None else RateNotFound(role, on, currency, contract_key)


# --- rate cards, versions and billing increments --------------------------------------------


class QuantityRounding(StrEnum):
    UP = "up"  # any started increment is billed (0.30 h → 0.50 h at 0.25)
    NEAREST = "nearest"  # half-up to the nearest increment
    DOWN = "down"  # only completed increments
    NONE = "none"  # bill hours as recorded


@dataclass(frozen=True, slots=True)
class BillingIncrement:
    step: Decimal = Decimal("0.25")
    mode: QuantityRounding = QuantityRounding.UP


EXACT = BillingIncrement(Decimal("0.01"), QuantityRounding.NONE)

_MODES = {QuantityRounding.UP: ROUND_UP, QuantityRounding.NEAREST: ROUND_HALF_UP,
          QuantityRounding.DOWN: ROUND_DOWN}


def round_quantity(quantity: Decimal, increment: BillingIncrement) -> Decimal:
    """``quantity`` rounded to a whole number of ``increment.step`` (away from/toward zero)."""
    if increment.mode is QuantityRounding.NONE or increment.step <= 0:
        return quantity
    units = (quantity / increment.step).to_integral_value(rounding=_MODES[increment.mode])
    return units * increment.step


@dataclass(frozen=True, slots=True)
class RateCard:
    """One version of a rate card: its scope, currency, dates, role rates and increment.

    A new version of a card (same ``card_id``) supersedes the older one from its own
    ``effective_from``; precedence among entries is ``resolve_rate``'s (scope, then latest
    ``effective_from``, then highest version).
    """

    card_id: str
    version: int
    scope: Scope
    scope_key: str | None
    currency: str
    effective_from: date
    rates: tuple[tuple[str, Money], ...]  # (role, hourly rate)
    effective_to: date | None = None
    increment: BillingIncrement = EXACT

    def __post_init__(self) -> None:
        wrong = [role for role, rate in self.rates if rate.currency != self.currency]
        if wrong:
            raise ValueError(f"rate card {self.card_id} v{self.version}: rates for {wrong} "
                             f"are not in {self.currency}")

    @property
    def label(self) -> str:
        return f"{self.card_id} v{self.version}"

    def entries(self) -> tuple[RateEntry, ...]:
        return tuple(
            RateEntry(role, rate, self.scope, self.scope_key, self.effective_from,
                      self.effective_to, self.version)
            for role, rate in self.rates
        )


@dataclass(frozen=True, slots=True)
class ResolvedRate:
    entry: RateEntry
    card: RateCard

    @property
    def rate(self) -> Money:
        return self.entry.rate


def resolve_card_rate(
    cards: Iterable[RateCard], *, role: str, on: date, currency: str,
    contract_key: str | None = None, customer_key: str | None = None,
) -> ResolvedRate | RateNotFound:
    """The rate for ``role`` on ``on`` across rate cards, with the card that priced it."""
    by_entry: dict[RateEntry, RateCard] = {}
    for card in cards:
        for entry in card.entries():
            by_entry.setdefault(entry, card)
    found = resolve_rate(by_entry, role=role, on=on, currency=currency,
                         contract_key=contract_key, customer_key=customer_key)
    if isinstance(found, RateNotFound):
        return found
    return ResolvedRate(found, by_entry[found])


def rate_problem(missing: RateNotFound, *objects: tuple[str, str]) -> Problem:
    return Problem(
        code="billing.rate_missing", domain=BusinessDomain.BILLING, message=missing.message,
        remediation=(f"Add a {missing.role} rate in {missing.currency} effective "
                     f"{missing.on} to the contract's rate card (or the customer or default "
                     "card), then re-run the billing cycle."),
        field="role", objects=objects,
    )

"""Bill-rate resolution with explicit precedence.

Precedence (DESIGN.md §7): contract + role > customer + role > role default. Within a scope
the entry effective on the work date wins; among several, the latest ``effective_from`` (then
the highest version). A rate exists only in one currency: the contract's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import IntEnum

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

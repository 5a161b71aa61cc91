"""Bill-rate resolution with explicit precedence.

Precedence (DESIGN.md §7): contract + role > customer + role > role default. Within a scope
the entry effective on the work date wins; among several, the latest ``effective_from`` (then
the highest version). A rate exists only in one currency: the contract's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from enum import IntEnum, StrEnum
from typing import Any

from syncline.domain.errors import BusinessDomain, Problem
from syncline.ledger.money import Money, is_known_currency


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


def in_force(cards: Iterable[RateCard], on: date) -> tuple[RateCard, ...]:
    """Per card id, the version that governs ``on``, in card-id order.

    A new version supersedes every earlier version of its card from its own
    ``effective_from``: the governing version is the highest one that has started by ``on``
    (whatever order the versions were published in); if it has ended (``effective_to`` before
    ``on``) the card has no rate that day and a lower-precedence card answers.
    """
    best: dict[str, RateCard] = {}
    for card in cards:
        if card.effective_from > on:
            continue
        current = best.get(card.card_id)
        if current is None or card.version > current.version:
            best[card.card_id] = card
    return tuple(card for _, card in sorted(best.items())
                 if card.effective_to is None or on <= card.effective_to)


def resolve_card_rate(
    cards: Iterable[RateCard], *, role: str, on: date, currency: str,
    contract_key: str | None = None, customer_key: str | None = None,
) -> ResolvedRate | RateNotFound:
    """The rate for ``role`` on ``on`` across rate cards, with the card that priced it.

    Only the version of each card in force on ``on`` counts (``in_force``); among those,
    contract > customer > default, then the latest ``effective_from``, then the card id.
    """
    by_entry: dict[RateEntry, RateCard] = {}
    for card in in_force(cards, on):
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


def billed_quantity(hours: Decimal, resolved: ResolvedRate) -> Decimal:
    """The hours billed for ``hours`` worked: the pricing card's increment applied."""
    return round_quantity(hours, resolved.card.increment)


class RateBook:
    """What prices one contract's time: the rate cards that can apply to it and a fallback.

    ``cards`` are the contract's own rates and cards, its customer's cards and the default
    cards (any versions: ``in_force`` picks per date). ``fallback`` (the reference role
    defaults) answers only when no card does. Answers are memoized per (role, date), so a
    batch of a thousand entries costs a dictionary look-up each.
    """

    def __init__(self, cards: Iterable[RateCard], *, currency: str, contract_key: str,
                 customer_key: str | None, fallback: Iterable[RateCard] = ()) -> None:
        self.cards = tuple(c for c in cards if c.currency == currency)
        self.fallback = tuple(c for c in fallback if c.currency == currency)
        self.currency = currency
        self.contract_key = contract_key
        self.customer_key = customer_key
        self._memo: dict[tuple[str, date], ResolvedRate | RateNotFound] = {}

    def price(self, role: str, on: date) -> ResolvedRate | RateNotFound:
        key = (role, on)
        found = self._memo.get(key)
        if found is None:
            found = self._resolve(self.cards, role, on)
            if isinstance(found, RateNotFound) and self.fallback:
                fallback = self._resolve(self.fallback, role, on)
                if isinstance(fallback, ResolvedRate):
                    found = fallback
            self._memo[key] = found
        return found

    def _resolve(self, cards: tuple[RateCard, ...], role: str,
                 on: date) -> ResolvedRate | RateNotFound:
        return resolve_card_rate(cards, role=role, on=on, currency=self.currency,
                                 contract_key=self.contract_key, customer_key=self.customer_key)


ROUNDING_MODES: dict[str, QuantityRounding] = {
    "up": QuantityRounding.UP, "half_up": QuantityRounding.NEAREST,
    "down": QuantityRounding.DOWN, "none": QuantityRounding.NONE,
}


def reference_cards(rates: Iterable[tuple[str, Money]]) -> tuple[RateCard, ...]:
    """The reference role defaults as one default card per currency (``reference:USD v1``),
    effective forever, no billing increment: the fallback when no published card answers."""
    by_currency: dict[str, list[tuple[str, Money]]] = {}
    for role, rate in rates:
        by_currency.setdefault(rate.currency, []).append((role, rate))
    return tuple(RateCard(f"reference:{cur}", 1, Scope.DEFAULT, None, cur, date.min,
                          tuple(entries)) for cur, entries in sorted(by_currency.items()))


def contract_card(contract_key: str, currency: str,
                  rates: Iterable[tuple[str, Money]]) -> RateCard:
    """A contract's own rates (agreed on the deal) as a contract-scoped card, effective from
    the start; a contract-scoped rate card in force on the date wins over them."""
    return RateCard(f"contract:{contract_key}", 1, Scope.CONTRACT, contract_key, currency,
                    date.min, tuple(rates))


def parse_rate_card(data: Mapping[str, Any]) -> RateCard | list[Problem]:
    """A ``rate_card.published`` v1 payload (schema-valid) as a card version, or problems."""
    card_id, version = str(data["card_id"]), int(data["version"])
    objects = (("rate_card", f"{card_id} v{version}"),)

    def bad(message: str, remediation: str, fld: str) -> list[Problem]:
        return [Problem("rate_card.invalid", BusinessDomain.BILLING,
                        f"rate card {card_id} v{version}: {message}", remediation,
                        f"data.{fld}", objects=objects)]

    fix = "Correct the card in the pricing system and publish it again as a new version."
    currency = str(data["currency"])
    if not is_known_currency(currency):
        return bad(f"currency {currency!r} is not an ISO 4217 code", fix, "currency")
    scope = {"contract": Scope.CONTRACT, "customer": Scope.CUSTOMER,
             "default": Scope.DEFAULT}[str(data["scope"])]
    scope_key = data.get("scope_key")
    if scope is not Scope.DEFAULT and not scope_key:
        return bad(f"a {scope.name.lower()} card needs the {scope.name.lower()} it is for "
                   "(scope_key)", fix, "scope_key")
    if scope is Scope.DEFAULT and scope_key:
        return bad("a default card has no scope_key", fix, "scope_key")
    effective_from = date.fromisoformat(str(data["effective_from"]))
    effective_to = date.fromisoformat(str(data["effective_to"])) \
        if data.get("effective_to") else None
    if effective_to is not None and effective_to < effective_from:
        return bad(f"effective_to {effective_to} is before effective_from {effective_from}",
                   fix, "effective_to")
    step = Decimal(str(data.get("billing_increment_hours", "0.01")))
    mode = ROUNDING_MODES[str(data.get("rounding", "up" if "billing_increment_hours" in data
                                        else "none"))]
    if step <= 0 or step > 24:
        return bad(f"billing increment {step} h is not between 0 and 24 hours", fix,
                   "billing_increment_hours")
    roles = [str(e["role"]) for e in data["entries"]]
    twice = sorted({r for r in roles if roles.count(r) > 1})
    if twice:
        return bad(f"roles {twice} are priced more than once", fix, "entries")
    rates = []
    for e in data["entries"]:
        rate = Decimal(str(e["rate"]))
        if rate <= 0:
            return bad(f"rate {rate} for {e['role']} is not positive", fix, "entries")
        rates.append((str(e["role"]), Money(rate, currency)))
    return RateCard(card_id, version, scope, str(scope_key) if scope_key else None, currency,
                    effective_from, tuple(sorted(rates, key=lambda r: r[0])),
                    effective_to, BillingIncrement(step, mode))

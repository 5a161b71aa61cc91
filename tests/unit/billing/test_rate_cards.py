"""Rate cards as the time handler sees them: the version in force, precedence across scopes,
the reference fallback and the billing increment on the billed quantity (``RateBook``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from syncline.billing.rates import (
    BillingIncrement,
    QuantityRounding,
    RateBook,
    RateCard,
    RateNotFound,
    ResolvedRate,
    Scope,
    billed_quantity,
    contract_card,
    in_force,
    parse_rate_card,
    reference_cards,
)
from syncline.domain.reference import ROLE_RATES

from .builders import usd

D = date.fromisoformat
QUARTER_UP = BillingIncrement(Decimal("0.25"), QuantityRounding.UP)


def card(card_id: str, version: int, start: str, rates: dict[str, str], *,
         scope: Scope = Scope.DEFAULT, key: str | None = None, end: str | None = None,
         increment: BillingIncrement = QUARTER_UP) -> RateCard:
    return RateCard(card_id, version, scope, key, "USD", D(start),
                    tuple((r, usd(v)) for r, v in rates.items()),
                    D(end) if end else None, increment)


V1 = card("STD", 1, "2026-01-01", {"analyst": "120", "manager": "250"})
V2 = card("STD", 2, "2026-04-01", {"analyst": "125"})
V3 = card("STD", 3, "2026-03-01", {"analyst": "123", "manager": "255"})  # a correction


def book(*cards: RateCard, contract: str = "C-1", customer: str | None = "ACC-1") -> RateBook:
    return RateBook([contract_card(contract, "USD", [("consultant", usd("200"))]), *cards],
                    currency="USD", contract_key=contract, customer_key=customer,
                    fallback=reference_cards((r.role, r.rate) for r in ROLE_RATES))


def priced(b: RateBook, role: str, on: str) -> tuple[Decimal, str, str]:
    got = b.price(role, D(on))
    assert isinstance(got, ResolvedRate), got
    return got.rate.amount, got.entry.scope.name.lower(), got.card.label


@pytest.mark.parametrize(("on", "labels"), [
    ("2025-12-31", []),
    ("2026-01-01", ["STD v1"]),
    ("2026-02-28", ["STD v1"]),
    ("2026-03-01", ["STD v3"]),  # the correction supersedes v1 from its own date…
    ("2026-04-01", ["STD v3"]),  # …and v2 entirely: a higher version wins once started
])
def test_the_version_in_force_is_the_highest_started_one(on: str, labels: list[str]) -> None:
    for versions in ((V1, V2, V3), (V3, V2, V1), (V2, V1, V3, V1)):  # any order, duplicates
        assert [c.label for c in in_force(versions, D(on))] == labels


def test_an_ended_version_leaves_no_rate_and_does_not_revive_the_older_one() -> None:
    short = card("STD", 2, "2026-02-01", {"analyst": "130"}, end="2026-02-28")
    assert [c.label for c in in_force((V1, short), D("2026-02-15"))] == ["STD v2"]
    assert in_force((V1, short), D("2026-03-02")) == ()
    assert priced(book(V1, short), "analyst", "2026-03-02") == (
        Decimal("110"), "default", "reference:USD v1")


def test_precedence_contract_customer_default_reference() -> None:
    customer = card("ACME", 1, "2026-01-01", {"manager": "240", "consultant": "180"},
                    scope=Scope.CUSTOMER, key="ACC-1")
    contract = card("C-1-2026", 1, "2026-02-01", {"consultant": "210"},
                    scope=Scope.CONTRACT, key="C-1")
    b = book(V1, customer, contract)
    assert priced(b, "consultant", "2026-01-15") == (Decimal("200"), "contract",
                                                     "contract:C-1 v1")
    assert priced(b, "consultant", "2026-02-02") == (Decimal("210"), "contract", "C-1-2026 v1")
    assert priced(b, "manager", "2026-02-02") == (Decimal("240"), "customer", "ACME v1")
    assert priced(b, "analyst", "2026-02-02") == (Decimal("120"), "default", "STD v1")
    assert priced(b, "partner", "2026-02-02") == (Decimal("350"), "default", "reference:USD v1")
    other = book(V1, customer, contract, contract="C-2", customer="ACC-2")
    assert priced(other, "manager", "2026-02-02") == (Decimal("250"), "default", "STD v1")


def test_a_role_no_card_knows_is_an_error_value() -> None:
    got = book(V1).price("architect", D("2026-02-02"))
    assert isinstance(got, RateNotFound) and got.role == "architect"


def test_answers_are_memoized_per_role_and_day() -> None:
    b = book(V1)
    first = b.price("analyst", D("2026-02-02"))
    assert b.price("analyst", D("2026-02-02")) is first


@pytest.mark.parametrize(("hours", "increment", "billed"), [
    ("7.1", QUARTER_UP, "7.25"),
    ("7.25", QUARTER_UP, "7.25"),
    ("7.1", BillingIncrement(Decimal("0.5"), QuantityRounding.DOWN), "7.0"),
    ("7.3", BillingIncrement(Decimal("0.5"), QuantityRounding.NEAREST), "7.5"),
    ("7.13", BillingIncrement(Decimal("0.01"), QuantityRounding.NONE), "7.13"),
])
def test_the_pricing_cards_increment_gives_the_billed_quantity(
        hours: str, increment: BillingIncrement, billed: str) -> None:
    got = book(card("STD", 1, "2026-01-01", {"analyst": "100"}, increment=increment)).price(
        "analyst", D("2026-02-02"))
    assert isinstance(got, ResolvedRate)
    assert billed_quantity(Decimal(hours), got) == Decimal(billed)


def _data(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "card_id": "ACME", "version": 2, "scope": "customer", "scope_key": "ACC-1",
        "currency": "USD", "effective_from": "2026-03-01", "billing_increment_hours": "0.25",
        "rounding": "half_up", "entries": [{"role": "manager", "rate": "240"},
                                           {"role": "analyst", "rate": "115.50"}]}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def test_a_published_card_parses_to_a_version() -> None:
    got = parse_rate_card(_data())
    assert got == RateCard("ACME", 2, Scope.CUSTOMER, "ACC-1", "USD", D("2026-03-01"),
                           (("analyst", usd("115.50")), ("manager", usd("240"))), None,
                           BillingIncrement(Decimal("0.25"), QuantityRounding.NEAREST))
    exact = parse_rate_card(_data(billing_increment_hours=None, rounding=None))
    assert isinstance(exact, RateCard) and exact.increment.mode is QuantityRounding.NONE


@pytest.mark.parametrize(("over", "field"), [
    ({"currency": "ZZZ"}, "data.currency"),
    ({"scope_key": None}, "data.scope_key"),
    ({"scope": "default"}, "data.scope_key"),
    ({"effective_to": "2026-02-01"}, "data.effective_to"),
    ({"billing_increment_hours": "0"}, "data.billing_increment_hours"),
    ({"entries": [{"role": "analyst", "rate": "0"}]}, "data.entries"),
    ({"entries": [{"role": "analyst", "rate": "1"}, {"role": "analyst", "rate": "2"}]},
     "data.entries"),
])
def test_a_bad_card_is_a_billing_problem_naming_the_field(over: dict[str, Any],
                                                         field: str) -> None:
    got = parse_rate_card(_data(**over))
    assert isinstance(got, list)
    (problem,) = got
    assert (problem.code, problem.domain.value, problem.field) == ("rate_card.invalid",
                                                                   "billing", field)
    assert problem.remediation

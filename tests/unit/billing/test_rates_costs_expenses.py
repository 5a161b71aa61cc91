"""Rate cards, increments, cost rates and expense rebill, as tables."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from syncline.billing.costs import CostRateMissing, CostRateVersion, resolve_cost_rate
from syncline.billing.expenses import (
    ApprovedExpense,
    ExpensePolicy,
    ExpenseTerms,
    NotBillable,
    expense_item,
)
from syncline.billing.fx import FxRateMissing, FxSnapshot
from syncline.billing.items import BillableItem
from syncline.billing.rates import (
    BillingIncrement,
    QuantityRounding,
    RateCard,
    RateNotFound,
    ResolvedRate,
    Scope,
    rate_problem,
    resolve_card_rate,
    round_quantity,
)
from syncline.ledger.money import Money

from .builders import usd

D = date.fromisoformat

CARDS = (
    RateCard("DEFAULT", 1, Scope.DEFAULT, None, "USD", D("2025-01-01"),
             (("consultant", usd("150")), ("manager", usd("250")))),
    RateCard("DEFAULT", 2, Scope.DEFAULT, None, "USD", D("2026-01-01"),
             (("consultant", usd("160")), ("manager", usd("260")))),
    RateCard("ACME", 1, Scope.CUSTOMER, "CUS-ACME", "USD", D("2025-06-01"),
             (("consultant", usd("140")),)),
    RateCard("C-1", 1, Scope.CONTRACT, "C-1", "USD", D("2026-03-01"),
             (("consultant", usd("130")),), effective_to=D("2026-12-31")),
)


@pytest.mark.parametrize(
    ("role", "on", "contract", "customer", "rate", "card"),
    [
        ("consultant", "2026-03-02", "C-1", "CUS-ACME", "130", "C-1 v1"),     # contract wins
        ("consultant", "2026-02-27", "C-1", "CUS-ACME", "140", "ACME v1"),    # before contract card
        ("consultant", "2026-02-27", "C-9", "CUS-OTHER", "160", "DEFAULT v2"),
        ("consultant", "2025-12-31", "C-9", "CUS-OTHER", "150", "DEFAULT v1"),
        ("manager", "2026-03-02", "C-1", "CUS-ACME", "260", "DEFAULT v2"),    # role fallback
        ("consultant", "2027-01-04", "C-1", "CUS-ACME", "140", "ACME v1"),    # contract card ended
    ],
)
def test_rate_precedence_contract_customer_default(
    role: str, on: str, contract: str, customer: str, rate: str, card: str,
) -> None:
    got = resolve_card_rate(CARDS, role=role, on=D(on), currency="USD", contract_key=contract,
                            customer_key=customer)
    assert isinstance(got, ResolvedRate)
    assert (got.rate, got.card.label) == (usd(rate), card)


def test_missing_rate_is_an_error_value_with_remediation() -> None:
    got = resolve_card_rate(CARDS, role="partner", on=D("2026-03-02"), currency="USD")
    assert isinstance(got, RateNotFound)
    problem = rate_problem(got, ("time_entry", "TE-1"))
    assert problem.code == "billing.rate_missing"
    assert "partner" in problem.remediation
    assert isinstance(resolve_card_rate(CARDS, role="consultant", on=D("2026-03-02"),
                                        currency="EUR"), RateNotFound)


def test_a_card_refuses_rates_in_another_currency() -> None:
    with pytest.raises(ValueError, match="not in USD"):
        RateCard("X", 1, Scope.DEFAULT, None, "USD", D("2026-01-01"),
                 (("analyst", Money.of("100", "EUR")),))


@pytest.mark.parametrize(
    ("hours", "step", "mode", "billed"),
    [
        ("0.30", "0.25", QuantityRounding.UP, "0.50"),
        ("0.30", "0.25", QuantityRounding.NEAREST, "0.25"),
        ("0.375", "0.25", QuantityRounding.NEAREST, "0.50"),
        ("0.30", "0.25", QuantityRounding.DOWN, "0.25"),
        ("7.33", "0.1", QuantityRounding.UP, "7.4"),
        ("0.30", "0.25", QuantityRounding.NONE, "0.30"),
    ],
)
def test_billing_increments(hours: str, step: str, mode: QuantityRounding, billed: str) -> None:
    assert round_quantity(Decimal(hours), BillingIncrement(Decimal(step), mode)) == Decimal(billed)


def test_cost_rates_are_effective_dated_and_a_gap_is_an_error() -> None:
    versions = [
        CostRateVersion("W-1", usd("80"), D("2025-01-01"), D("2025-12-31")),
        CostRateVersion("W-1", usd("85"), D("2026-01-01")),
        CostRateVersion("W-1", usd("86"), D("2026-01-01"), version=2),  # HR correction
    ]
    assert resolve_cost_rate(versions, D("2025-07-01")) == usd("80")
    assert resolve_cost_rate(versions, D("2026-07-01")) == usd("86")
    missing = resolve_cost_rate(versions, D("2024-12-31"), worker_id="W-1")
    assert isinstance(missing, CostRateMissing)
    assert missing.problem().code == "billing.cost_rate_missing"


EXPENSE = ApprovedExpense("EX-1", "C-1", D("2026-03-04"), "travel", "Train NYC-BOS",
                          usd("200"))
EUR_HOTEL = ApprovedExpense("EX-2", "C-1", D("2026-03-05"), "lodging", "Hotel Berlin",
                            Money.of("150", "EUR"))
RATES = (FxSnapshot("EUR", "USD", Decimal("1.0850"), "ECB", D("2026-03-04")),)


@pytest.mark.parametrize(
    ("expense", "terms", "billed", "description"),
    [
        (EXPENSE, ExpenseTerms(), "200.00 USD", "Expense 2026-03-04 travel: Train NYC-BOS"),
        (EXPENSE, ExpenseTerms(ExpensePolicy.MARKUP, Decimal("12.5")), "225.00 USD",
         "Expense 2026-03-04 travel: Train NYC-BOS (cost 200.00 USD + 12.5 %)"),
        (EUR_HOTEL, ExpenseTerms(), "162.75 USD",
         "Expense 2026-03-05 lodging: Hotel Berlin [150.00 EUR at 1.0850]"),
    ],
)
def test_expense_rebill(expense: ApprovedExpense, terms: ExpenseTerms, billed: str,
                        description: str) -> None:
    item = expense_item(expense, terms, contract_currency="USD", rates=RATES)
    assert isinstance(item, BillableItem)
    assert (item.amount.canonical(), item.description) == (billed, description)


def test_expenses_not_billable_or_without_fx() -> None:
    none = expense_item(EXPENSE, ExpenseTerms(ExpensePolicy.NOT_BILLABLE),
                        contract_currency="USD")
    assert isinstance(none, NotBillable)
    missing = expense_item(EUR_HOTEL, ExpenseTerms(), contract_currency="USD")
    assert isinstance(missing, FxRateMissing)
    assert missing.problem().code == "billing.fx_rate_missing"

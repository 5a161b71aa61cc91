"""Foreign-currency revenue true-ups balance in the functional currency whatever the amounts,
the closing rate and the carrying balances (the revenue line balances the entry)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from syncline.billing.fx import FxSnapshot
from syncline.ledger.accounts import DEFAULT_CHART, for_entity
from syncline.ledger.fx import functional_imbalance
from syncline.ledger.journal import JournalEntry
from syncline.ledger.money import Money
from syncline.ledger.posting import DEFAULT_RULES, REVENUE_TRUE_UP, post
from syncline.services.revenue.sync import with_functional_amounts

US01 = for_entity(DEFAULT_CHART, "US01")
cents = st.integers(-5_000_000, 5_000_000).map(lambda c: Decimal(c) / 100)
rates = st.integers(5_000, 20_000).map(lambda r: Decimal(r) / 10_000)


@given(unbilled=cents, liability=cents, closing=rates,
       carried=st.tuples(cents, rates, cents, rates))
def test_a_foreign_true_up_balances_in_the_functional_currency(
        unbilled: Decimal, liability: Decimal, closing: Decimal,
        carried: tuple[Decimal, Decimal, Decimal, Decimal]) -> None:
    revenue = unbilled + liability  # the true-up: Dr unbilled, Dr liability / Cr revenue
    made = post(DEFAULT_RULES.rule(REVENUE_TRUE_UP, "US01"),
                {"unbilled": Money(unbilled, "EUR"), "liability": Money(liability, "EUR"),
                 "revenue": Money(revenue, "EUR")},
                chart=US01, entity_id="US01", posting_date=date(2026, 1, 31),
                source_id="revenue:C-1:2026-01",
                params={"contract": "C-1", "service_line": "consulting",
                        "as_of": "2026-01-31", "period": "2026-01"})
    if unbilled == 0 and liability == 0:
        return  # nothing to post
    assert isinstance(made, JournalEntry), made
    liability_tx, liability_rate, unbilled_tx, unbilled_rate = carried
    carrying = {US01.code("contract_liability"): (liability_tx, liability_tx * liability_rate),
                US01.code("unbilled_receivable"): (unbilled_tx, unbilled_tx * unbilled_rate)}
    balances = {US01.code("contract_liability"): "contract liability",
                US01.code("unbilled_receivable"): "unbilled receivable"}
    done = with_functional_amounts(
        made, functional="USD", closing=FxSnapshot("EUR", "USD", closing, "test", date(2026, 1,
                                                                                    31)),
        carrying=carrying, balance_accounts=balances, number="C-1")
    assert functional_imbalance(done, "USD") == 0
    assert all(ln.functional is not None and ln.functional.currency == "USD"
               for ln in done.lines)

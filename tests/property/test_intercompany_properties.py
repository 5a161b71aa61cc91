"""Property: for any set of cross-entity charges, every entity's entries balance (in the
transaction and the functional currency) and intercompany receivable = payable per pair."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from syncline.ledger.accounts import DEFAULT_CHART, for_entity
from syncline.ledger.fx import FxRate, functional_imbalance
from syncline.ledger.intercompany import (
    IntercompanyCharge,
    TransferPricing,
    combined_entries,
    intercompany_mismatches,
)
from syncline.ledger.journal import JournalEntry, trial_balance_of
from syncline.ledger.money import Money

FUNCTIONAL = {"US01": "USD", "GB01": "GBP", "DE01": "EUR"}
CHARTS = {e: for_entity(DEFAULT_CHART, e) for e in FUNCTIONAL}
END = date(2026, 1, 31)


@st.composite
def rates(draw: st.DrawFn) -> dict[str, dict[str, FxRate]]:
    """entity -> transaction currency -> rate into the entity's functional currency."""
    out: dict[str, dict[str, FxRate]] = defaultdict(dict)
    for entity, functional in FUNCTIONAL.items():
        for currency in FUNCTIONAL.values():
            if currency != functional:
                value = draw(st.decimals(Decimal("0.5"), Decimal("2"), places=4))
                out[entity][currency] = FxRate(currency, functional, value, "test", END)
    return out


@st.composite
def charges(draw: st.DrawFn) -> list[IntercompanyCharge]:
    made = []
    pricing = TransferPricing(markup=draw(st.decimals(Decimal(0), Decimal("0.5"), places=2)))
    for i in range(draw(st.integers(1, 12))):
        provider, recipient = draw(st.permutations(sorted(FUNCTIONAL)))[:2]
        cost = Money(draw(st.decimals(Decimal(20), Decimal(250), places=2)),
                     FUNCTIONAL[provider])
        rate = pricing.rate_for(provider=provider, recipient=recipient, role="consultant",
                                cost_rate=cost)
        assert isinstance(rate, Money)
        hours = draw(st.decimals(Decimal("0.25"), Decimal(200), places=2))
        made.append(IntercompanyCharge(f"c{i}", provider, recipient,
                                       f"P-{draw(st.integers(1, 3))}", f"W-{i}", hours, rate,
                                       END))
    return made


@settings(max_examples=60, deadline=None)
@given(found=charges(), fx=rates())
def test_every_entity_balances_and_receivable_equals_payable(
        found: list[IntercompanyCharge], fx: dict[str, dict[str, FxRate]]) -> None:
    groups: dict[tuple[str, str, str], list[IntercompanyCharge]] = defaultdict(list)
    for c in found:
        groups[(c.provider_entity, c.recipient_entity, c.project_id)].append(c)
    books: list[JournalEntry] = []
    for (provider, recipient, project), group in groups.items():
        made = combined_entries(group, CHARTS, source_id=f"ic:{provider}:{recipient}:{project}",
                                functional_currencies=FUNCTIONAL, rates=fx)
        assert isinstance(made, tuple), made
        books.extend(made)
    for entity, functional in FUNCTIONAL.items():
        own = [e for e in books if e.entity_id == entity]
        assert trial_balance_of(own).balanced
        for e in own:
            assert functional_imbalance(e, functional) == 0
    assert intercompany_mismatches(books, CHARTS) == ()
    assert len({e.source_id for e in books}) == len(books)  # unique journal sources

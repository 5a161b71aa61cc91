from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncline.ledger.journal import (
    JournalEntry,
    Side,
    UnbalancedEntry,
    line,
    reverse,
    trial_balance,
)
from syncline.ledger.money import Money


def _entry(amount: str = "100.00") -> JournalEntry:
    return JournalEntry("US01", date(2026, 1, 31), "Invoice 1", (
        line("1100", Side.DEBIT, Money.of(amount, "USD")),
        line("4000", Side.CREDIT, Money.of(amount, "USD")),
    ), "invoice", "INV-1")


def test_unbalanced_entry_is_refused() -> None:
    with pytest.raises(UnbalancedEntry, match="differ"):
        JournalEntry("US01", date(2026, 1, 31), "bad", (
            line("1100", Side.DEBIT, Money.of("100", "USD")),
            line("4000", Side.CREDIT, Money.of("99.99", "USD")),
        ), "invoice", "X")


def test_single_line_and_unrounded_lines_are_refused() -> None:
    with pytest.raises(UnbalancedEntry):
        JournalEntry("US01", date(2026, 1, 31), "one", (
            line("1100", Side.DEBIT, Money.of("0", "USD")),), "x", "y")


def test_reversal_nets_to_zero() -> None:
    entry = _entry()
    tb = trial_balance((e.entity_id, ln) for e in (entry, reverse(entry, "REV-1",
                                                                    date(2026, 2, 1)))
                       for ln in e.lines)
    assert tb.balanced
    assert all(r.balance == 0 for r in tb.rows)


@given(st.lists(st.decimals(min_value="0.01", max_value="1000000", places=2), min_size=1,
                max_size=30))
def test_trial_balance_of_balanced_entries_nets_to_zero(amounts: list) -> None:
    entries = [_entry(str(a)) for a in amounts]
    tb = trial_balance((e.entity_id, ln) for e in entries for ln in e.lines)
    assert tb.balanced
    assert sum(r.balance for r in tb.rows) == 0


def test_period_bounds_cover_leap_february_and_december() -> None:
    from syncline.ledger.periods import next_period, period_end, period_start

    assert (period_start("2028-02"), period_end("2028-02")) == (date(2028, 2, 1),
                                                                date(2028, 2, 29))
    assert period_end("2026-12") == date(2026, 12, 31) and next_period("2026-12") == "2027-01"

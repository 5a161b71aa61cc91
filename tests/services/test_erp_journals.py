"""Summarized journals for the ERP (issue 13): everything no document carries, by account,
currency and dimension, once per entry; invoices, credit notes and payments never summarized;
each summary balanced; a later run carries only what was posted since."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.tables import journal_entries, outbox
from syncline.bootstrap import Syncline
from syncline.services.billing.run import run_billing
from syncline.services.close import steps as close
from syncline.services.ledger.erp_journals import DOCUMENT_SOURCES
from syncline.services.messaging.inbox import receive_many
from syncline.services.revenue.sync import recognize
from tests.builders import deal, time_entry, worker


def firm(system: Syncline) -> None:
    with system.engine.begin() as conn:
        receive_many(conn, [deal(), worker(), time_entry("T-1", hours="7.5"),
                            time_entry("T-2", hours="8", day="2026-01-06")],
                     now=system.clock())
    system.process()
    run_billing(system.engine, "2026-01", system.ref, system.charts, system.clock())
    recognize(system.engine, "2026-01", system.charts, system.clock(), post_journals=True)


def journals(system: Syncline) -> list[dict[str, Any]]:
    with system.engine.connect() as conn:
        return [json.loads(p) for p in conn.execute(select(outbox.c.payload).where(
            outbox.c.kind == "erp.journal.post").order_by(outbox.c.seq)).scalars()]


def balanced(payload: dict[str, Any]) -> bool:
    debit = sum(Decimal(ln[2]) for ln in payload["lines"] if ln[1] == "debit")
    credit = sum(Decimal(ln[2]) for ln in payload["lines"] if ln[1] == "credit")
    return debit == credit and debit > 0


def test_the_close_step_sends_one_balanced_summary_of_what_no_document_carries(
        system: Syncline) -> None:
    firm(system)
    with system.engine.connect() as conn:
        kinds = set(conn.execute(select(journal_entries.c.source_type)).scalars())
        carried = {k for k in kinds if k not in DOCUMENT_SOURCES}
    assert "invoice" in kinds and carried, kinds  # both kinds exist in this firm
    assert journals(system) == []  # the billing run sends documents, not journals
    result = close.erp_journals(system, "2026-01", None)
    [payload] = journals(system)
    assert result["journals"] == 1 and payload["source"] == "summary:US01:2026-01:1:USD"
    assert payload["date"] == "2026-01-31" and payload["fx"] is None and balanced(payload)
    with system.engine.connect() as conn:
        expected = conn.execute(select(journal_entries.c.id).where(
            journal_entries.c.source_type.not_in(sorted(DOCUMENT_SOURCES)))).scalars().all()
    assert result["entries"] == len(expected)
    assert len({ln[0] for ln in payload["lines"]}) == len(payload["lines"])  # one per account
    again = close.erp_journals(system, "2026-01", None)
    assert again["journals"] == 0 and len(journals(system)) == 1  # each entry once


def entry(source_id: str, account_dr: str, account_cr: str, amount: str,
          currency: str = "USD", day: str = "2026-01-25", entity: str = "US01") -> Any:
    from datetime import date

    from syncline.ledger.journal import JournalEntry, JournalLine, Side
    from syncline.ledger.money import Money

    value = Money(Decimal(amount), currency)
    return JournalEntry(entity, date.fromisoformat(day), "test accrual", (
        JournalLine(account_dr, Side.DEBIT, value), JournalLine(account_cr, Side.CREDIT, value)),
        "accrual", source_id)


def test_a_later_entry_goes_in_its_own_numbered_summary_netted_by_account(
        system: Syncline) -> None:
    from syncline.services.ledger.posting import post_entries

    firm(system)
    close.erp_journals(system, "2026-01", None)
    with system.engine.begin() as conn:  # two late entries on the same accounts: netted
        post_entries(conn, [entry("late-1", "1300", "4100", "100.00"),
                            entry("late-2", "4100", "1300", "30.00"),
                            entry("other-month", "1300", "4100", "5.00", day="2026-02-02")],
                     system.clock())
    result = close.erp_journals(system, "2026-01", None)
    assert result == {"summaries": ["summary:US01:2026-01:2"], "journals": 1, "entries": 2}
    second = journals(system)[-1]
    assert second["source"] == "summary:US01:2026-01:2:USD" and balanced(second)
    assert sorted(second["lines"]) == [["1300", "debit", "70.00", "USD"],
                                       ["4100", "credit", "70.00", "USD"]]


def test_a_month_summary_takes_its_first_and_last_day_and_neither_neighbour(
        system: Syncline) -> None:
    """The pending entries are read by the (entity, posting date) index (migration 0028):
    the month's range must still be exactly its days, and only the entity's."""
    from syncline.services.ledger.posting import post_entries

    firm(system)
    close.erp_journals(system, "2026-01", None)
    with system.engine.begin() as conn:
        post_entries(conn, [entry("first-day", "1300", "4100", "1.00", day="2026-01-01"),
                            entry("last-day", "1300", "4100", "2.00", day="2026-01-31"),
                            entry("day-before", "1300", "4100", "4.00", day="2025-12-31"),
                            entry("day-after", "1300", "4100", "8.00", day="2026-02-01"),
                            entry("other-entity", "1300", "4100", "16.00", entity="DE01",
                                  currency="EUR")],
                     system.clock())
    result = close.erp_journals(system, "2026-01", "US01")
    assert result == {"summaries": ["summary:US01:2026-01:2"], "journals": 1, "entries": 2}
    assert sorted(journals(system)[-1]["lines"]) == [["1300", "debit", "3.00", "USD"],
                                                     ["4100", "credit", "3.00", "USD"]]


def test_a_foreign_currency_summary_carries_functional_amounts_and_their_rate(
        system: Syncline) -> None:
    from datetime import date

    from syncline.ledger.journal import JournalEntry, JournalLine, Side
    from syncline.ledger.money import Money
    from syncline.services.ledger.posting import post_entries

    def eur(source: str, amount: str, usd: str, rate: str) -> JournalEntry:
        value, functional = Money(Decimal(amount), "EUR"), Money(Decimal(usd), "USD")
        fx = {"functional": functional, "fx_rate": Decimal(rate), "fx_source": "ECB",
              "fx_date": date(2026, 1, 25)}
        return JournalEntry("US01", date(2026, 1, 25), "EUR accrual", (
            JournalLine("1300", Side.DEBIT, value, **fx),
            JournalLine("4100", Side.CREDIT, value, **fx)), "accrual", source)

    with system.engine.begin() as conn:
        post_entries(conn, [eur("e-1", "100.00", "108.00", "1.08"),
                            eur("e-2", "50.00", "55.00", "1.10")], system.clock())
    close.erp_journals(system, "2026-01", None)
    [payload] = journals(system)
    assert payload["fx"]["base"] == "EUR" and payload["fx"]["quote"] == "USD"
    assert payload["fx"]["rate"] == "1.0866666667"  # 163.00 / 150.00 to 10 places
    assert sorted(payload["lines"]) == [["1300", "debit", "150.00", "EUR", "163.00"],
                                        ["4100", "credit", "150.00", "EUR", "163.00"]]
    assert balanced(payload)


def test_the_revaluation_of_receivables_is_left_to_the_erp(system: Syncline) -> None:
    """The ERP holds the foreign invoices and revalues its own receivables: an fx_revaluation
    entry's lines on A/R (1100) and their gain/loss counterparts are not summarized (Xero and
    QuickBooks refuse a journal line on A/R); a revaluation of another account (cash 1000)
    still is. Both entries are marked summarized: a second run sends nothing."""
    from datetime import date

    from syncline.ledger.fx import REVALUES
    from syncline.ledger.journal import JournalEntry, JournalLine, Side
    from syncline.ledger.money import Money
    from syncline.services.ledger.posting import post_entries

    def usd(amount: str) -> Money:
        return Money(Decimal(amount), "USD")

    def pair(account: str, up: bool, amount: str, currency: str) -> tuple[JournalLine, ...]:
        dims = ((REVALUES, currency),)
        return (JournalLine(account, Side.DEBIT if up else Side.CREDIT, usd(amount),
                            dimensions=dims),
                JournalLine("7900", Side.CREDIT if up else Side.DEBIT, usd(amount),
                            dimensions=dims))

    day = date(2026, 1, 31)
    with system.engine.begin() as conn:
        post_entries(conn, [
            JournalEntry("US01", day, "FX revaluation", pair("1100", False, "8.70", "EUR"),
                         "fx_revaluation", "US01:2026-01"),
            JournalEntry("US01", day, "FX revaluation", pair("1100", True, "2.50", "GBP")
                         + pair("1000", True, "3.00", "GBP"), "fx_revaluation", "US01:x"),
            entry("acc-1", "1300", "4100", "40.00")], system.clock())
    result = close.erp_journals(system, "2026-01", None)
    [payload] = journals(system)
    assert result["entries"] == 3 and balanced(payload)
    assert sorted(ln[:4] for ln in payload["lines"]) == [
        ["1000", "debit", "3.00", "USD"], ["1300", "debit", "40.00", "USD"],
        ["4100", "credit", "40.00", "USD"], ["7900", "credit", "3.00", "USD"]]
    assert close.erp_journals(system, "2026-01", None)["journals"] == 0

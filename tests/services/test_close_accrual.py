"""The close's accrual of approved, billable, not yet invoiced time (on_invoice mode), on a
real SQLite file: the amounts, the window (the last day of the month is in it, the next day is
not) and the dates (accrued at the period end, reversed on the first day of the next period).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from syncline.adapters.db.tables import billable_items, journal_entries, journal_lines
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.services.close.accrual import accrue_unbilled_time
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal, time_entry, worker
from tests.conftest import fixed_clock

UNBILLED = "1150"  # unbilled receivable, default chart
REVENUE = "4010"  # implementation revenue (the deal's project template), default chart


@pytest.fixture
def on_invoice(tmp_path: Path) -> Iterator[Syncline]:
    """A system that credits revenue at invoice, so the close accrues unbilled time."""
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'accrual.db'}",
                                revenue_recognition="on_invoice"),
                       clock=fixed_clock, durable=False)
    yield system
    system.engine.dispose()


def ingest(system: Syncline, *events: dict[str, Any]) -> None:
    with system.engine.begin() as conn:
        receive_many(conn, list(events), now=system.clock())
    system.process()


def accrue(system: Syncline, period: str) -> dict[str, Any]:
    return accrue_unbilled_time(system.engine, period, None, charts=system.charts,
                                now=system.clock(), revenue_recognition="on_invoice",
                                rules=system.ledger.rules,
                                closed_period_policy=system.ledger.closed_period_policy)


def entries(system: Syncline) -> list[tuple[str, str, str | None, list[tuple[str, str, str]]]]:
    """(posting date, source id, reverses, [(account, side, amount)]) of every accrual entry."""
    out = []
    with system.engine.connect() as conn:
        heads = conn.execute(select(journal_entries).where(
            journal_entries.c.source_type == "accrual").order_by(journal_entries.c.posting_date,
                                                                journal_entries.c.source_id))
        for h in heads.all():
            lines = conn.execute(select(journal_lines).where(journal_lines.c.entry_id == h.id)
                                 .order_by(journal_lines.c.line_no)).all()
            out.append((h.posting_date, h.source_id, h.reverses,
                        [(ln.account, ln.side, f"{ln.amount:.2f}") for ln in lines]))
    return out


def balance(system: Syncline, account: str, on_or_before: str) -> Decimal:
    """Debit-positive balance of ``account`` from every entry dated on or before a day."""
    total = Decimal(0)
    with system.engine.connect() as conn:
        for r in conn.execute(select(journal_lines.c.side, journal_lines.c.amount)
                              .join(journal_entries)
                              .where((journal_lines.c.account == account)
                                     & (journal_entries.c.posting_date <= on_or_before))):
            total += r.amount if r.side == "debit" else -r.amount
    return total


def test_accrual_amounts_window_and_reversal_date(on_invoice: Syncline) -> None:
    """Unbilled time at 2026-01-31, worked out by hand (contract rate 200.00 for consultants,
    the reference default 110 for analysts):

    - T-1  6 h consultant on 2026-01-30                 6 x 200.00 = 1,200.00
    - T-2  1.5 h consultant on 2026-01-31 (last day)  1.5 x 200.00 =   300.00
    - T-3  2 h analyst on 2026-01-31 (last day)          2 x 110.00 =   220.00
    - T-4  4 h consultant on 2026-02-01 (next period)  not accrued  (  800.00)

    Accrued: 1,200.00 + 300.00 + 220.00 = 1,720.00, one entry for US01 / USD /
    implementation: Dr 1150 unbilled receivable / Cr 4010 implementation revenue, dated
    2026-01-31; its reversal (Dr 4010 / Cr 1150, same amount) is dated 2026-02-01, the first
    day of the next period, so the January books carry 1,720.00 of unbilled receivable and
    the February books net it back to zero.
    """
    ingest(on_invoice, deal(), worker(),
           time_entry("T-1", hours="6", day="2026-01-30"),
           time_entry("T-2", hours="1.5", day="2026-01-31"),
           time_entry("T-3", hours="2", role="analyst", day="2026-01-31"),
           time_entry("T-4", hours="4", day="2026-02-01"))
    with on_invoice.engine.connect() as conn:  # the inputs are what the docstring says
        items = {r.key: (r.service_date, r.amount, r.status) for r in conn.execute(
            select(billable_items.c.key, billable_items.c.service_date, billable_items.c.amount,
                   billable_items.c.status))}
    assert items == {
        "time:T-1": ("2026-01-30", Decimal("1200.00"), "generated"),
        "time:T-2": ("2026-01-31", Decimal("300.00"), "generated"),
        "time:T-3": ("2026-01-31", Decimal("220.00"), "generated"),
        "time:T-4": ("2026-02-01", Decimal("800.00"), "generated"),
    }

    out = accrue(on_invoice, "2026-01")

    assert out == {"journal_entries": 2, "accrued": {"US01/USD/implementation": "1720.00"}}
    source = "accrual:US01:USD:implementation:2026-01"
    assert entries(on_invoice) == [
        ("2026-01-31", source, None,
         [(UNBILLED, "debit", "1720.00"), (REVENUE, "credit", "1720.00")]),
        ("2026-02-01", f"{source}:reversal", source,
         [(UNBILLED, "credit", "1720.00"), (REVENUE, "debit", "1720.00")]),
    ]
    # the period-end books carry the accrual; the next period's first day reverses it
    assert balance(on_invoice, UNBILLED, "2026-01-31") == Decimal("1720.00")
    assert balance(on_invoice, REVENUE, "2026-01-31") == Decimal("-1720.00")
    assert balance(on_invoice, UNBILLED, "2026-02-01") == Decimal("0.00")
    # closing the period again posts nothing new
    assert accrue(on_invoice, "2026-01")["journal_entries"] == 0
    assert len(entries(on_invoice)) == 2


@pytest.mark.parametrize(("period", "last_day", "reversal_day"), [
    ("2026-02", "2026-02-28", "2026-03-01"),  # a 28-day month
    ("2026-12", "2026-12-31", "2027-01-01"),  # the reversal falls in the next year
])
def test_last_day_time_is_accrued_and_reversed_the_next_day(
        on_invoice: Syncline, period: str, last_day: str, reversal_day: str) -> None:
    """Only time on the last day of the month: 2.5 h x 200.00 = 500.00 accrued at the period
    end and reversed on the first day of the next period."""
    ingest(on_invoice, deal(), worker(), time_entry("T-1", hours="2.5", day=last_day))

    out = accrue(on_invoice, period)

    assert out["accrued"] == {"US01/USD/implementation": "500.00"}
    source = f"accrual:US01:USD:implementation:{period}"
    assert entries(on_invoice) == [
        (last_day, source, None, [(UNBILLED, "debit", "500.00"), (REVENUE, "credit", "500.00")]),
        (reversal_day, f"{source}:reversal", source,
         [(UNBILLED, "credit", "500.00"), (REVENUE, "debit", "500.00")]),
    ]


def test_time_held_at_a_hard_cap_is_not_accrued(on_invoice: Syncline) -> None:
    """Hard cap 1,600.00; T-1 and T-2 (2026-01-05 and 06, 8 h × 200.00 = 1,600.00 each). The
    January run bills T-1 and holds T-2 (its item stays ``generated``). The accrual accrues
    nothing and the unbilled subledger lists nothing: held time is not billable until
    approved. Before: T-2's 1,600.00 was accrued (the accrual filtered on status only)."""
    from syncline.services.ledger.reports.aging import unbilled_items
    from tests.services.test_billing_caps import capped
    from tests.services.test_billing_wiring import run

    ingest(on_invoice, capped("hard", "1600"), worker(), time_entry("T-1"),
           time_entry("T-2", day="2026-01-06"))
    assert run(on_invoice, "2026-01").held
    result = accrue(on_invoice, "2026-01")
    assert result["journal_entries"] == 0 and entries(on_invoice) == []
    with on_invoice.engine.connect() as conn:
        assert unbilled_items(conn, date(2026, 1, 31)) == []

"""Accrual of approved, billable, not yet invoiced time at a period end (a close step).

Posted at the period end and reversed the next day, in each entity's own chart; keyed per
entity, currency, service line and period, so a repeated close posts nothing new.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from syncline.adapters.db.tables import billable_items, contracts
from syncline.ledger.accounts import Charts
from syncline.ledger.journal import JournalEntry, Side, line, reverse
from syncline.ledger.money import Money
from syncline.ledger.periods import period_end
from syncline.services.ledger_posting import post_entry


def accrue_unbilled_time(engine: Engine, period: str, entity: str | None, *, charts: Charts,
                         now: datetime, revenue_recognition: str) -> dict[str, Any]:
    """Approved, billable, not yet invoiced time: accrued at period end, reversed next day.

    In `engine` mode the revenue engine already recognizes it (right to invoice → unbilled
    receivable), so nothing is accrued twice.
    """
    if revenue_recognition == "engine":
        return {"journal_entries": 0, "note": "recognized by the revenue engine (right to "
                "invoice → unbilled receivable); no separate accrual"}
    end = period_end(period)
    posted = 0
    totals: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    with engine.begin() as conn:
        q = (select(contracts.c.entity_code, contracts.c.service_line, billable_items.c.currency,
                    billable_items.c.amount)
             .join(contracts, contracts.c.number == billable_items.c.contract_number)
             .where((billable_items.c.status == "generated")
                    & (billable_items.c.source == "time")
                    & (billable_items.c.service_date <= end.isoformat())))
        for r in conn.execute(q):
            if entity and r.entity_code != entity:
                continue
            totals[(r.entity_code, r.currency, r.service_line)] += r.amount
        for (ent, cur, service_line), value in sorted(totals.items()):
            chart = charts.of(ent)
            amount = Money(value, cur).rounded()
            entry = JournalEntry(ent, end, f"Accrual of approved unbilled time {period}", (
                line(chart.code("unbilled_receivable"), Side.DEBIT, amount,
                     "approved, not yet invoiced"),
                line(chart.code(f"revenue:{service_line}"), Side.CREDIT, amount,
                     "approved, not yet invoiced")),
                "accrual", f"accrual:{ent}:{cur}:{service_line}:{period}")
            posted += post_entry(conn, entry, now)
            posted += post_entry(conn, reverse(entry, f"{entry.source_id}:reversal",
                                               end + timedelta(days=1)), now)
    return {"journal_entries": posted,
            "accrued": {f"{e}/{c}/{s}": str(v) for (e, c, s), v in sorted(totals.items())}}

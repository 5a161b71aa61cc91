"""Accrual of approved, billable, not yet invoiced time at a period end (a close step).

Time *held* at a hard cap (``billing_holds`` status ``held``) is not accrued: it is not
billable until a person approves it (its item stays ``generated`` while held), so it is no
unbilled receivable — the same rule as revenue's right to invoice and the unbilled subledger.

Posted at the period end and reversed the next day, in each entity's own chart, by the
posting rule ``close.time_accrued`` (amount key ``amount``; Dr unbilled receivable / Cr revenue
by service line by default); keyed per entity, currency, service line and period, so a
repeated close posts nothing new. A rule that cannot post opens one finance exception and the
other accruals still post.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from syncline.adapters.db.billing_tables import billing_holds
from syncline.adapters.db.tables import billable_items, contracts
from syncline.ledger.accounts import Charts
from syncline.ledger.journal import reverse
from syncline.ledger.money import Money
from syncline.ledger.periods import ClosedPeriodPolicy, period_end
from syncline.ledger.posting import DEFAULT_RULES, TIME_ACCRUED, PostingError, PostingRules, post
from syncline.services.ledger.posting import post_entry, posting_failed


def accrue_unbilled_time(engine: Engine, period: str, entity: str | None, *, charts: Charts,
                         now: datetime, revenue_recognition: str,
                         rules: PostingRules = DEFAULT_RULES,
                         closed_period_policy: ClosedPeriodPolicy = ClosedPeriodPolicy.REFUSE,
                         ) -> dict[str, Any]:
    """Approved, billable, not yet invoiced time: accrued at period end, reversed next day.

    In `engine` mode the revenue engine already recognizes it (right to invoice → unbilled
    receivable), so nothing is accrued twice.
    """
    if revenue_recognition == "engine":
        return {"journal_entries": 0, "note": "recognized by the revenue engine (right to "
                "invoice → unbilled receivable); no separate accrual"}
    end = period_end(period)
    posted = 0
    failed: list[str] = []
    totals: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    with engine.begin() as conn:
        q = (select(contracts.c.entity_code, contracts.c.service_line, billable_items.c.currency,
                    billable_items.c.amount)
             .join(contracts, contracts.c.number == billable_items.c.contract_number)
             .where((billable_items.c.status == "generated")
                    & (billable_items.c.source == "time")
                    & (billable_items.c.service_date <= end.isoformat())
                    & billable_items.c.key.not_in(select(billing_holds.c.item_key).where(
                        billing_holds.c.status == "held"))))
        for r in conn.execute(q):
            if entity and r.entity_code != entity:
                continue
            totals[(r.entity_code, r.currency, r.service_line)] += r.amount
        for (ent, cur, service_line), value in sorted(totals.items()):
            if Money(value, cur).rounded().is_zero:
                continue  # nothing to accrue (e.g. time at a zero rate): no empty entry
            entry = post(rules.rule(TIME_ACCRUED, ent), {"amount": Money(value, cur).rounded()},
                         chart=charts.of(ent),
                         entity_id=ent, posting_date=end,
                         source_id=f"accrual:{ent}:{cur}:{service_line}:{period}",
                         params={"period": period, "service_line": service_line,
                                 "currency": cur})
            if isinstance(entry, PostingError):
                failed.append(entry.source_id)
                posting_failed(conn, entry, now, retry="run the close of the period again")
                continue
            posted += post_entry(conn, entry, now, closed_period_policy)
            posted += post_entry(conn, reverse(entry, f"{entry.source_id}:reversal",
                                               end + timedelta(days=1)), now,
                                closed_period_policy)
    return {"journal_entries": posted, **({"posting_failed": failed} if failed else {}),
            "accrued": {f"{e}/{c}/{s}": str(v) for (e, c, s), v in sorted(totals.items())}}

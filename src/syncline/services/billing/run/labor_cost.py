"""Labor cost of the run: approved time costed at the HR cost rate effective on each work
date, per entity and cost currency (rule ``billing.labor_cost``), posted in one batch, keyed
so a re-run posts nothing new."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.tables import time_entries, worker_versions
from syncline.billing.costs import labor_cost_posting
from syncline.ledger.journal import JournalEntry
from syncline.ledger.money import Money
from syncline.ledger.posting import PostingError
from syncline.services.billing.run.cycle import Run
from syncline.services.ledger.posting import post_entries

__all__ = ["post_labor_cost"]


def post_labor_cost(run: Run, entity: str | None) -> int:
    """Cost approved time at the HR cost rate effective on each work date, per entity and
    cost currency, by rule ``billing.labor_cost``; posted in one batch."""
    conn, start, end = run.conn, run.start, run.end
    versions: dict[str, list[Any]] = defaultdict(list)
    for v in conn.execute(select(worker_versions).order_by(worker_versions.c.effective_date,
                                                           worker_versions.c.sequence)):
        versions[v.worker_id].append(v)
    cost: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for t in conn.execute(select(time_entries.c.worker_id, time_entries.c.work_date,
                                 time_entries.c.hours).where(
            (time_entries.c.status == "approved")
            & (time_entries.c.work_date >= start.isoformat())
            & (time_entries.c.work_date <= end.isoformat()))):
        effective = [v for v in versions[t.worker_id] if v.effective_date <= t.work_date]
        if not effective:
            continue
        v = effective[-1]
        if entity and v.entity_code != entity:
            continue
        cost[(v.entity_code, v.cost_currency)] += t.hours * v.cost_rate
    entries: list[JournalEntry] = []
    for (ent, cur), amount in sorted(cost.items()):
        money = Money(amount, cur).rounded()
        if money.is_zero:
            continue
        # one entry per entity and currency, keyed so a re-run posts nothing new
        made = labor_cost_posting(ent, end, f"{start:%Y-%m}", money, run.charts.of(ent),
                                  rules=run.rules)
        if isinstance(made, PostingError):
            run.unpostable(made)
            continue
        entries.append(made)
    return sum(out.stored for out in post_entries(conn, entries, run.now, run.policy))

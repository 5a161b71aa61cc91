"""The ``rpo`` report: remaining performance obligations from the stored revenue schedules
(periods after the report period), in timing buckets; empty with a note when no schedule is
stored."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Connection

from syncline.ledger.periods import period_start
from syncline.ledger.reports import Cell, Table
from syncline.services.ledger.queries import period_end
from syncline.services.ledger.reports.common import ZERO, revenue_schedules


def rpo_table(conn: Connection, period: str, *, entity: str | None = None
              ) -> tuple[Table, list[str]]:
    """Remaining performance obligations at the end of ``period``: scheduled revenue of later
    periods per contract, in buckets of up to 12 months, 13–24 months, and beyond."""
    columns = ("entity", "contract", "currency", "within_12_months", "13_to_24_months",
               "beyond_24_months", "total")
    rows_in = revenue_schedules(conn)
    if not rows_in:
        return Table(f"RPO at {period_end(period).isoformat()}", columns, ()), [
            "No revenue schedules are stored yet: RPO comes from the revenue engine's "
            "schedules (`syncline revenue …`)."]
    base = period_start(period)
    cells: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for s in rows_in:
        if s.period <= period or (entity and s.entity_code != entity):
            continue
        later = period_start(s.period)
        months = (later.year - base.year) * 12 + later.month - base.month
        bucket = 0 if months <= 12 else 1 if months <= 24 else 2
        cells[(s.entity_code, s.contract_number, s.currency)][bucket] += s.revenue
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (*k, *v, sum(v, ZERO)) for k, v in sorted(cells.items()))
    return Table(f"RPO at {period_end(period).isoformat()}", columns, rows), [
        "From the stored revenue schedules: revenue scheduled in periods after the report "
        "period."]

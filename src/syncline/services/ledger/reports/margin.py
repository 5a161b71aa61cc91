"""The ``margin`` report: by project and by service line for the period — revenue from invoices
plus the credit notes (negative), or from revenue schedules in revenue-engine mode; labor
cost from approved time at the HR cost rate effective on each work date (``time_entries`` ×
``worker_versions``)."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import contracts, invoices
from syncline.ledger.periods import period_start
from syncline.ledger.reports import Cell, Table
from syncline.services.ledger.queries import period_end
from syncline.services.ledger.reports.common import (
    ZERO,
    costed_time,
    credit_notes,
    project_info,
    projects_by_contract,
    revenue_schedules,
)


def _pct(m: Decimal, r: Decimal) -> Cell:
    return (m * 100 / r).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if r else ""


def margin_tables(conn: Connection, period: str, *, entity: str | None = None,
                  revenue_mode: str = "on_invoice") -> tuple[tuple[Table, Table], list[str]]:
    """Margin by project and by service line for ``period`` (see the module docstring)."""
    start, end = period_start(period), period_end(period)
    info = project_info(conn)
    by_contract = projects_by_contract(info)
    line_of: dict[str, str] = {code: p.service_line for code, p in info.items()}
    for k in conn.execute(select(contracts.c.number, contracts.c.service_line)):
        line_of.setdefault(by_contract.get(k.number, f"(contract {k.number})"), k.service_line)
    revenue: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    cost: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    hours: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    notes: list[str] = []

    def project_of(contract: str) -> str:
        return by_contract.get(contract, f"(contract {contract})")

    schedules = [s for s in revenue_schedules(conn) if s.period == period]
    if revenue_mode == "engine" and schedules:
        notes.append("Revenue: recognized by the revenue engine's schedules for the period.")
        for s in schedules:
            revenue[(s.entity_code, project_of(s.contract_number), s.currency)] += s.revenue
    else:
        notes.append("Revenue: invoices of the period (net of tax) plus the credit notes "
                     "dated in it (negative amounts).")
        for inv in conn.execute(select(invoices).where(invoices.c.period == period)):
            revenue[(inv.entity_code, project_of(inv.contract_number), inv.currency)] += \
                inv.subtotal
        for note in credit_notes(conn):  # stored negative: added, never subtracted
            if start.isoformat() <= note.credit_date <= end.isoformat():
                revenue[(note.entity_code, project_of(note.contract_number), note.currency)] += \
                    note.subtotal
    missing_rate = 0
    for t in costed_time(conn, start, end):
        p = info.get(t.project_code)
        ent = p.entity if p else (t.cost_entity or "")
        if t.cost is None or t.cost_currency is None:
            missing_rate += 1
            continue
        key = (ent, t.project_code, t.cost_currency)
        cost[key] += t.cost
        hours[key] += t.hours
    notes.append("Cost: approved time of the period at the HR cost rate effective on each work "
                 "date; a project billed in one currency and costed in another shows one row "
                 "per currency.")
    if missing_rate:
        notes.append(f"{missing_rate} approved time entr(y/ies) had no cost rate effective on "
                     "the work date and are not costed (see close-reconciliation).")
    keys = sorted(k for k in set(revenue) | set(cost) if not entity or k[0] == entity)
    rows: list[tuple[Cell, ...]] = []
    by_line: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for key in keys:
        ent, project, currency = key
        r, c = revenue.get(key, ZERO), cost.get(key, ZERO).quantize(Decimal("0.01"))
        line = line_of.get(project, "")
        rows.append((ent, project, line, currency, hours.get(key, ZERO), r, c, r - c,
                     _pct(r - c, r)))
        by_line[(ent, line, currency)][0] += r
        by_line[(ent, line, currency)][1] += c
    project_table = Table(f"Margin by project {period}",
                          ("entity", "project", "service_line", "currency", "hours", "revenue",
                           "cost", "margin", "margin_pct"), tuple(rows))
    line_rows = tuple((k[0], k[1], k[2], v[0], v[1], v[0] - v[1], _pct(v[0] - v[1], v[0]))
                      for k, v in sorted(by_line.items()))
    line_table = Table(f"Margin by service line {period}",
                       ("entity", "service_line", "currency", "revenue", "cost", "margin",
                        "margin_pct"), line_rows)
    return (project_table, line_table), notes

"""The ``forecast`` workforce report, and realization (also in ``utilization``).

- **Forecast** per project, month and currency from the report month for ``months`` months:
  planned hours of confirmed assignments (hours per week ÷ 5 on each weekday) × the request's
  bill rate (0 when not billable) → revenue, × the worker's cost rate in force on each day →
  cost; margin and margin %; amounts to the cent (half up) per project and month. Joined with
  the backlog: ``rpo_scheduled`` is the revenue the contract's stored revenue schedules put in
  that month (the month's share of the remaining performance obligations, as the ``rpo``
  ledger report reads them), and ``gap`` = rpo_scheduled − planned revenue (positive:
  contracted revenue no assignment covers yet; negative: staffing planned beyond the
  schedule). A second table sums the window per project: RPO at the start of the window (every
  later scheduled month), the part of it in the window, planned revenue, and the gap.
- **Realization** per project and month: approved billable hours, their standard value (hours
  × the role's standard rate: the master data's default rate for the role in the contract's
  currency), what was billed for them (time items invoiced, by work date: caps, write-offs and
  credits lower it; contract rates below standard too), and billed ÷ standard value.

The cost rate applies in its own currency, unconverted; a request without a bill rate counts
its hours at no revenue in the cost rate's currency.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import (
    billable_items,
    contracts,
    projects,
    time_entries,
    worker_versions,
)
from syncline.adapters.db.workforce_tables import assignments, resource_requests
from syncline.domain.reference import DEFAULT_REFERENCE, ReferenceData
from syncline.ledger.periods import period_end, period_start
from syncline.ledger.reports import Cell, Table
from syncline.services.ledger.reports.common import Report, revenue_schedules
from syncline.services.workforce.facts import span

ZERO, CENT, POINT = Decimal(0), Decimal("0.01"), Decimal("0.1")


def money(x: Decimal) -> Decimal:
    return x.quantize(CENT, ROUND_HALF_UP)


def pct(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole * 100).quantize(POINT, ROUND_HALF_UP) if whole else ZERO


def months_from(period: str, count: int) -> list[str]:
    start = period_start(period)
    index = start.year * 12 + start.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index, index + count)]


def weekdays(first: date, last: date) -> int:
    """Weekdays from ``first`` to ``last``, both included (0 when last < first)."""
    if last < first:
        return 0
    days = (last - first).days + 1
    whole, rest = divmod(days, 7)
    start = first.weekday()
    return whole * 5 + sum(1 for k in range(rest) if (start + k) % 7 < 5)


def _segments(versions: list[Any], first: date, last: date) -> list[tuple[Any, int]]:
    """(version in force, weekdays) over first..last: the latest version effective on or
    before each day (then the highest sequence), the earliest before any is effective
    (``facts.as_of``, one segment per change instead of one look-up per day)."""
    if not versions:
        return [(None, weekdays(first, last))]
    ordered = sorted(versions, key=lambda v: (v.effective_date, v.sequence))
    starts = [date.fromisoformat(v.effective_date) for v in ordered]
    out, day = [], first
    while day <= last:
        i = bisect_right(starts, day) - 1  # past every version effective by ``day``
        following = starts[i + 1] if i + 1 < len(starts) else None
        end = min(last, following - timedelta(days=1)) if following else last
        out.append((ordered[max(i, 0)], weekdays(day, end)))
        day = end + timedelta(days=1)
    return out


def _planned(conn: Connection, window: list[str]
             ) -> dict[tuple[str, str, str], list[Decimal]]:
    """(project, month, currency) → [hours, revenue, cost] of confirmed assignments."""
    requests = {r.request_id: r for r in conn.execute(select(resource_requests))}
    versions: dict[str, list[Any]] = defaultdict(list)
    for v in conn.execute(select(worker_versions)):
        versions[v.worker_id].append(v)
    cells: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for a in conn.execute(select(assignments).where(assignments.c.status == "confirmed")):
        req = requests[a.request_id]
        rate = req.bill_rate if req.billable and req.bill_rate is not None else ZERO
        booked = span(a.start_date, a.end_date)
        daily = a.hours_per_week / 5
        for month in window:
            first = max(booked.start, period_start(month))
            last = min(booked.end, period_end(month))
            for version, days in _segments(versions[a.worker_id], first, last) \
                    if first <= last else ():
                if not days:
                    continue
                currency = req.currency or (version.cost_currency if version else "")
                cell = cells[(a.project_code, month, currency)]
                hours = daily * days
                cell[0] += hours
                cell[1] += hours * rate
                cell[2] += hours * (version.cost_rate if version else ZERO)
    return cells


def _scheduled(conn: Connection, first_month: str
               ) -> tuple[dict[tuple[str, str, str], Decimal], dict[str, str]]:
    """(project, month, currency) → revenue scheduled from ``first_month`` on, and each
    project's contract number."""
    contract_of = {r.number: r.code for r in conn.execute(
        select(contracts.c.number, projects.c.code).join(
            projects, projects.c.contract_id == contracts.c.id))}
    out: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
    for s in revenue_schedules(conn):
        code = contract_of.get(s.contract_number)
        if code is not None and s.period >= first_month:
            out[(code, s.period, s.currency)] += s.revenue
    return out, {code: number for number, code in contract_of.items()}


def forecast(conn: Connection, period: str, months: int = 12,
             ref: ReferenceData = DEFAULT_REFERENCE) -> Report:
    window = months_from(period, months)
    planned = _planned(conn, window)
    scheduled, contract_of = _scheduled(conn, period)
    keys = set(planned) | {k for k in scheduled if k[1] in window}
    rows, backlog = [], defaultdict(lambda: [ZERO, ZERO, ZERO])
    for key in sorted(keys):
        project, month, currency = key
        hours, revenue, cost = planned.get(key, [ZERO, ZERO, ZERO])
        revenue, cost = money(revenue), money(cost)
        due = money(scheduled.get(key, ZERO))
        rows.append((project, month, currency, money(hours), revenue, cost, revenue - cost,
                     pct(revenue - cost, revenue), due, due - revenue))
        cell = backlog[(project, currency)]
        cell[1], cell[2] = cell[1] + due, cell[2] + revenue
    for (project, _month, currency), amount in scheduled.items():
        backlog[(project, currency)][0] += amount
    backlog_rows: list[tuple[Cell, ...]] = [
        (project, contract_of.get(project, ""), currency, money(rpo), within, planned_rev,
         within - planned_rev)
        for (project, currency), (rpo, within, planned_rev) in sorted(backlog.items())]
    return Report("forecast", period, None, (
        Table(f"Forecast {period} + {months - 1} months",
              ("project", "month", "currency", "planned_hours", "revenue", "cost", "margin",
               "margin_pct", "rpo_scheduled", "gap"), tuple(rows)),
        Table(f"Backlog from {period}: RPO against planned revenue",
              ("project", "contract", "currency", "rpo", "rpo_in_window",
               "planned_revenue", "gap"), tuple(backlog_rows)),
        realization_table(conn, window, ref)), (
        "Planned hours of confirmed assignments (hours per week ÷ 5 per weekday) × the "
        "request's bill rate (0 when not billable) and × the worker's cost rate in force on "
        "each day. Cost rates are taken in their own currency, unconverted.",
        "rpo_scheduled: revenue the stored revenue schedules put in the month (the ledger's "
        "rpo report); gap = rpo_scheduled − planned revenue. Contracts recognised as billed "
        "(time and materials) have no schedule ahead: their RPO is 0.",
        REALIZATION_NOTE))


REALIZATION_NOTE = ("Realization: billed (time items invoiced, by work date) ÷ standard value "
                    "(approved billable hours × the role's standard rate in the master data, "
                    "in the contract's currency).")


def realization_table(conn: Connection, months: list[str], ref: ReferenceData) -> Table:
    """Per project and month of ``months``: billable hours, standard value, billed,
    realization %."""
    first, last = period_start(months[0]).isoformat(), period_end(months[-1]).isoformat()
    info = {r.code: r for r in conn.execute(select(
        projects.c.code, contracts.c.number, contracts.c.currency).join(
        contracts, contracts.c.id == projects.c.contract_id))}
    standard = {(r.role, r.rate.currency): r.rate.amount for r in ref.role_rates}
    cells: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    unpriced: set[tuple[str, str]] = set()
    for t in conn.execute(select(time_entries.c.project_code, time_entries.c.work_date,
                                 time_entries.c.hours, time_entries.c.role).where(
            (time_entries.c.status == "approved") & time_entries.c.billable
            & (time_entries.c.work_date >= first) & (time_entries.c.work_date <= last))):
        project = info.get(t.project_code)
        if project is None:
            continue
        cell = cells[(t.project_code, t.work_date[:7])]
        cell[0] += t.hours
        rate = standard.get((t.role, project.currency))
        if rate is None:
            unpriced.add((t.project_code, t.work_date[:7]))
        else:
            cell[1] += t.hours * rate
    code_of = {p.number: code for code, p in info.items()}
    for b in conn.execute(select(billable_items.c.contract_number, billable_items.c.service_date,
                                 billable_items.c.amount).where(
            (billable_items.c.source == "time") & (billable_items.c.status == "invoiced")
            & (billable_items.c.service_date >= first)
            & (billable_items.c.service_date <= last))):
        code = code_of.get(b.contract_number)
        if code is not None:
            cells[(code, b.service_date[:7])][2] += b.amount
    rows = []
    for (code, month), (hours, value, billed) in sorted(cells.items()):
        known = (code, month) not in unpriced
        rows.append((code, month, info[code].currency, money(hours),
                     money(value) if known else "", money(billed),
                     pct(billed, value) if known and value else ""))
    return Table(f"Realization {months[0]}" + (f" to {months[-1]}" if len(months) > 1 else ""),
                 ("project", "month", "currency", "billable_hours", "standard_value", "billed",
                  "realization_pct"), tuple(rows))

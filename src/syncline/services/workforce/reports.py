"""Workforce reports for a month, as ``Report`` values (rendered like the ledger reports:
table, JSON, CSV, xlsx):

- ``utilization``: per worker, capacity hours in the month (weekdays × capacity ÷ 5, less
  leave and days after a last day), actual billable hours (approved billable time), planned
  billable hours (confirmed assignments on billable requests), both as a share of capacity,
  and their variance (actual − planned) in hours and points; a firm total row.
- ``forecast``: per project and month from the report month on, planned hours of confirmed
  assignments × the request's bill rate → revenue, × the worker's cost rate effective on each
  day → cost, and margin; amounts to the cent (half up) per project and month.
- ``bench``: free hours in the month (capacity − every confirmed assignment), by worker, by
  role and by skill (a worker counts under each skill they hold).

HR facts (capacity, skills, leave) are those in force on the first day of the month.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import time_entries
from syncline.adapters.db.workforce_tables import assignments, resource_requests
from syncline.domain.reference import DEFAULT_REFERENCE, ReferenceData
from syncline.domain.staffing import Booking, Span, Worker, capacity_on, load_on
from syncline.ledger.periods import period_end, period_start
from syncline.ledger.reports import Cell, Table
from syncline.services.ledger.reports.common import Report
from syncline.services.workforce.facts import span, workers_as_of
from syncline.services.workforce.forecast import REALIZATION_NOTE, forecast, realization_table

WORKFORCE_REPORTS = ("utilization", "forecast", "bench")
ZERO, CENT, POINT = Decimal(0), Decimal("0.01"), Decimal("0.1")


def _month(period: str) -> Span:
    return Span(period_start(period), period_end(period))


def _pct(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole * 100).quantize(POINT, ROUND_HALF_UP) if whole else ZERO


def _hours(x: Decimal) -> Decimal:
    return x.quantize(CENT, ROUND_HALF_UP)


def _capacity(w: Worker, days: list[date]) -> Decimal:
    return sum((capacity_on(w, d) for d in days), ZERO)


def _billable_bookings(conn: Connection) -> dict[str, list[Any]]:
    billable = {r.request_id: r.billable for r in conn.execute(
        select(resource_requests.c.request_id, resource_requests.c.billable))}
    out: dict[str, list[Any]] = defaultdict(list)
    for a in conn.execute(select(assignments).where(assignments.c.status == "confirmed")):
        if billable.get(a.request_id):
            out[a.worker_id].append(a)
    return out


def utilization(conn: Connection, period: str, ref: ReferenceData = DEFAULT_REFERENCE
                ) -> Report:
    month = _month(period)
    days = month.weekdays()
    actual: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for t in conn.execute(select(time_entries.c.worker_id, time_entries.c.hours).where(
            (time_entries.c.status == "approved") & time_entries.c.billable
            & (time_entries.c.work_date >= month.start.isoformat())
            & (time_entries.c.work_date <= month.end.isoformat()))):
        actual[t.worker_id] += t.hours
    billable = _billable_bookings(conn)
    rows: list[tuple[Cell, ...]] = []
    totals = [ZERO, ZERO, ZERO]
    for w in workers_as_of(conn, month.start):
        capacity = _capacity(w, days)
        if not capacity and not actual[w.worker_id]:
            continue  # not working this month
        mine = [_booking(a) for a in billable.get(w.worker_id, [])]
        planned = sum((load_on(mine, d) for d in days), ZERO)
        done = actual[w.worker_id]
        totals = [totals[0] + capacity, totals[1] + done, totals[2] + planned]
        rows.append(_util_row(w.worker_id, w.name, w.role, capacity, done, planned,
                              _pct(w.target, Decimal(1))))
    rows.append(_util_row("*", "firm", "", totals[0], totals[1], totals[2], None))
    columns = ("worker", "name", "role", "capacity_hours", "actual_hours", "actual_pct",
               "planned_hours", "forecast_pct", "variance_hours", "variance_points",
               "target_pct")
    return Report("utilization", period, None, (
        Table(f"Utilization {period}", columns, tuple(rows)),
        realization_table(conn, [period], ref)), (
        "Actual: approved billable time; planned: confirmed assignments on billable requests; "
        "capacity: weekdays × capacity ÷ 5, less leave. Percentages of capacity.",
        REALIZATION_NOTE))


def _util_row(worker: str, name: str, role: str, capacity: Decimal, done: Decimal,
              planned: Decimal, target: Decimal | None) -> tuple[Cell, ...]:
    return (worker, name, role, _hours(capacity), _hours(done), _pct(done, capacity),
            _hours(planned), _pct(planned, capacity), _hours(done - planned),
            _pct(done, capacity) - _pct(planned, capacity),
            target if target is not None else "")


def _booking(a: Any) -> Booking:
    return Booking(a.hours_per_week, span(a.start_date, a.end_date))


def bench(conn: Connection, period: str) -> Report:
    month = _month(period)
    days = month.weekdays()
    by_worker: list[tuple[Cell, ...]] = []
    by_role: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    by_skill: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for w in workers_as_of(conn, month.start):
        capacity = _capacity(w, days)
        if not capacity:
            continue
        planned = sum((load_on(w.bookings, d) for d in days), ZERO)
        free = max(capacity - planned, ZERO)
        skills = ", ".join(f"{k} {v}" for k, v in sorted(w.skills.items()))
        by_worker.append((w.worker_id, w.name, w.role, skills, _hours(capacity),
                          _hours(planned), _hours(free), _pct(free, capacity)))
        for key, group in [(w.role, by_role), *((s, by_skill) for s in w.skills)]:
            group[key][0] += Decimal(1) if free else ZERO
            group[key][1] += free
    grouped = [Table(f"Bench {period} by {label}", (label, "people_with_free_hours",
                                                   "free_hours"),
                     tuple((k, v[0], _hours(v[1])) for k, v in sorted(group.items())))
               for label, group in (("role", by_role), ("skill", by_skill))]
    return Report("bench", period, None, (Table(
        f"Bench {period} by worker", ("worker", "name", "role", "skills", "capacity_hours",
                                      "planned_hours", "free_hours", "free_pct"),
        tuple(sorted(by_worker, key=lambda r: (-Decimal(str(r[6])), str(r[0]))))),
        *grouped), ("Free hours: capacity less every confirmed assignment in the month.",))


def workforce_report(conn: Connection, name: str, period: str, months: int = 12,
                     ref: ReferenceData = DEFAULT_REFERENCE) -> Report:
    if name == "utilization":
        return utilization(conn, period, ref)
    if name == "forecast":
        return forecast(conn, period, months, ref)
    if name == "bench":
        return bench(conn, period)
    raise ValueError(f"unknown report {name!r}: expected one of {', '.join(WORKFORCE_REPORTS)}")


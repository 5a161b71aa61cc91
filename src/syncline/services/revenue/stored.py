"""The stored schedule (``revenue_schedules``): written by each recognition, read by the
close's checks and the reports.

**A period already reported stays as reported.** Recognising period P stores the schedule as
known now, except that the rows of the periods before P that an earlier run stored are kept
as they were; P's row takes the difference — its revenue is the cumulative now less the
cumulative reported at the end of P − 1 — exactly what P's true-up journal posts. So a late
fact about an earlier month (time credited after its invoice, a hold released, a revised
estimate) lands in the period where it is recognised, in the schedule as in the ledger, and
a closed month's schedule never changes. Periods after P are the forecast as known now. An
obligation with no stored rows (new since the last run) counts from zero. An earlier period
recognised again after a later one keeps the later stored schedule whole (its true-up is
against its own period's entries).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, delete, select

from syncline.adapters.db.revenue_tables import revenue_schedules
from syncline.adapters.db.tables import contracts
from syncline.revenue import ScheduleResult
from syncline.revenue.units import amount
from syncline.services.billing.run import month_bounds
from syncline.services.revenue.billable import billed_through, numbers_in


def store_schedule(conn: Connection, number: str, schedule: ScheduleResult, period: str,
                   version: int) -> None:
    rows = schedule_rows(number, schedule, period, version,
                         stored_rows(conn, [number]).get(number, ()))
    if rows is not None:
        replace_schedules(conn, {number: rows})


def stored_rows(conn: Connection, numbers: Sequence[str]) -> dict[str, list[Any]]:
    """The stored schedule rows of many contracts, by contract."""
    out: dict[str, list[Any]] = defaultdict(list)
    for r in conn.execute(_STORED, {"numbers": list(numbers)}):
        out[r.contract_number].append(r)
    return out


_STORED = select(revenue_schedules).where(numbers_in(revenue_schedules.c.contract_number))
_DELETE = delete(revenue_schedules).where(numbers_in(revenue_schedules.c.contract_number))


def schedule_rows(number: str, schedule: ScheduleResult, period: str, version: int,
                  stored: Sequence[Any]) -> list[dict[str, Any]] | None:
    """The rows that replace the contract's ``stored`` rows (see the module doc); None when
    a later period's recognition stored them (they stay whole)."""
    _, end = month_bounds(period)
    stored_as_of = max((r.as_of for r in stored), default=None)
    if stored_as_of is not None and stored_as_of > end.isoformat():
        return None
    reported = {(r.obligation_id, r.period): r for r in stored if r.period < period}
    cur = schedule.currency
    rows: list[dict[str, Any]] = []
    for ob in schedule.obligations:
        before = Decimal(0)  # cumulative reported at the end of the previous period
        for p, rev, cum, alloc in zip(schedule.periods, ob.revenue, ob.cumulative,
                                      ob.allocated, strict=True):
            row: dict[str, Any] = {
                "contract_number": number, "obligation_id": ob.obligation_id, "period": p.key,
                "currency": cur, "revenue": amount(rev, cur), "cumulative": amount(cum, cur),
                "allocated": amount(alloc, cur), "method": ob.method.value,
                "as_of": end.isoformat(), "version": version}
            if reported and p.key < period:
                old = reported.get((ob.obligation_id, p.key))
                row.update(revenue=old.revenue if old else Decimal(0),
                           cumulative=old.cumulative if old else before,
                           allocated=old.allocated if old else row["allocated"])
            elif reported and p.key == period:
                row["revenue"] = row["cumulative"] - before
            before = row["cumulative"]
            rows.append(row)
    return rows


def replace_schedules(conn: Connection, rows: Mapping[str, list[dict[str, Any]]]) -> None:
    """Replace the stored schedules of the contracts of ``rows`` (by contract) with them."""
    numbers = sorted(rows)
    for start in range(0, len(numbers), 500):
        conn.execute(_DELETE, {"numbers": numbers[start:start + 500]})
    every = [r for n in numbers for r in rows[n]]
    if every:
        conn.execute(revenue_schedules.insert(), every)


def contract_positions(conn: Connection, period: str) -> list[tuple[str, str, str, Decimal,
                                                                    Decimal]]:
    """(contract, entity, currency, R, B) at the end of `period`, from stored schedules."""
    _, end = month_bounds(period)
    cumulative: dict[str, Decimal] = defaultdict(Decimal)
    for r in conn.execute(select(revenue_schedules.c.contract_number,
                                 revenue_schedules.c.cumulative)
                          .where(revenue_schedules.c.period == period)):
        cumulative[r.contract_number] += r.cumulative
    billed_by = billed_through(conn, end)
    out = []
    for c in conn.execute(select(contracts.c.number, contracts.c.entity_code,
                                 contracts.c.currency).order_by(contracts.c.number)):
        billed = billed_by.get(c.number, Decimal(0))  # billed before it starts: all deferred
        if c.number in cumulative or billed:
            out.append((c.number, c.entity_code, c.currency,
                        cumulative.get(c.number, Decimal(0)), billed))
    return out


def stored_schedule(engine: Engine, number: str) -> list[dict[str, str]]:
    with engine.connect() as conn:
        return [{k: str(v) for k, v in r._mapping.items()} for r in conn.execute(
            select(revenue_schedules).where(revenue_schedules.c.contract_number == number)
            .order_by(revenue_schedules.c.obligation_id, revenue_schedules.c.period))]

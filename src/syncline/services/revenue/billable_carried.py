"""Billable to date, carried (docs/adr/0016): recognition reads a contract's counted items only
after the months it has carried, and carries the locked months it read.

- ``revenue_billable_carries`` / ``revenue_billable_sums`` (migration 0024): the months of a
  contract whose counted (`billable.COUNTED`), unheld ``time`` and ``expense`` items are
  summed per month, source, line and currency — a run without a gap from the contract's
  first counted item on. Adjustments are not summed: they are read whole every run (few), with
  the source and line of the items they name looked up whatever their month.
- **Final while they exist.** Triggers delete a contract's carried months from the service
  month of any billable item written, changed or deleted on or before them, and all of them
  on any change to its billing holds, in the writer's transaction; so a late status change
  of an old item (a reversal, a credit) is read from the items again by the next run and
  lands in the open period as before.
- **Read only where the engine cannot tell.** The carried months come to the engine as one
  amount per obligation and month, on its last day (`billable.billable_by_day`). A right to
  invoice is measured at cut-offs: the month ends, the as-of date (after the carried months),
  and the day before a modification or a revised estimate takes effect. So a contract reads
  its carry only through the month before the first such date that is not a month's first
  day; and the engine truncates each day's amount to the currency's minor unit, so a month is
  carried only when every amount in it is whole in it, and a contract whose adjustments in
  the carried months are not is read whole.
- ``keep_carries`` (the recognition run, in its transaction): each contract's months after
  its carry through the period recognised — the months before it locked for the contract's
  entity — from the rows the run read anyway. The period itself is carried while it is being
  closed (the billing run has billed it), so the next month's run reads only its own month;
  a late change to it drops it like any other.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select

from syncline.adapters.db.ledger_tables import ledger_periods
from syncline.adapters.db.revenue_tables import revenue_billable_carries, revenue_billable_sums
from syncline.adapters.db.tables import billable_items
from syncline.ledger.money import UnknownCurrency, minor_unit
from syncline.ledger.periods import next_period
from syncline.services.revenue.billable import (
    COUNTED,
    CarriedBillable,
    counted_items,
    month_end,
    numbers_in,
)


@dataclass(frozen=True, slots=True)
class Read:
    """What a chunk's read found: the rows per contract (`counted_items`' shape), the carry
    each contract reads, and each contract's carried months (all of them, read or not)."""

    items: Mapping[str, list[Any]]
    carried: Mapping[str, CarriedBillable]
    months: Mapping[str, Sequence[str]]


_bi, _cc, _cs = billable_items.c, revenue_billable_carries.c, revenue_billable_sums.c
_COLUMNS = (_bi.contract_number, _bi.key, _bi.source, _bi.service_date, _bi.amount, _bi.line_id,
            _bi.adjusts, _bi.currency)
_MONTHS = (select(_cc.contract_number, _cc.period).where(numbers_in(_cc.contract_number))
           .order_by(_cc.contract_number, _cc.period))
_AFTER = (select(*_COLUMNS).where(numbers_in(_bi.contract_number)
                                  & _bi.source.in_(("time", "expense", "adjustment"))
                                  & _bi.status.in_(COUNTED)
                                  & (_bi.service_date > bindparam("through"))))
_ADJUSTMENTS = (select(*_COLUMNS).where(numbers_in(_bi.contract_number)
                                        & (_bi.source == "adjustment")
                                        & _bi.status.in_(COUNTED)
                                        & (_bi.service_date <= bindparam("through"))))
_ORIGINS = (select(_bi.contract_number, _bi.key, _bi.source, _bi.line_id)
            .where(numbers_in(_bi.contract_number)
                   & _bi.key.in_(bindparam("keys", expanding=True))
                   & _bi.source.in_(("time", "expense", "adjustment"))
                   & _bi.status.in_(COUNTED)))
_SUMS = (select(revenue_billable_sums).where(numbers_in(_cs.contract_number)
                                             & (_cs.period <= bindparam("month")))
         .order_by(_cs.contract_number, _cs.period, _cs.source, _cs.line_id, _cs.currency))


def _run(months: Sequence[str]) -> list[str]:
    """The months from the first without a gap."""
    out: list[str] = []
    for m in months:
        if out and m != next_period(out[-1]):
            break
        out.append(m)
    return out


def _whole(amount: Decimal, currency: str) -> bool:
    try:
        scaled: Decimal = amount * Decimal(10) ** minor_unit(currency)
    except UnknownCurrency:
        return False
    return bool(scaled == scaled.to_integral_value())


def first_cut(amendments: Iterable[Any], revisions: Iterable[Any]) -> str | None:
    """The month of the first effective date of a contract's modifications and revised
    estimates that is not a month's first day (the engine measures the day before it)."""
    days = [str(r.effective_date) for r in (*amendments, *revisions)]
    return min((d[:7] for d in days if not d.endswith("-01")), default=None)


def read_items(conn: Connection, numbers: Sequence[str], before: str,
               currency: Mapping[str, str], cut: Mapping[str, str | None]) -> Read:
    """The counted items of the contracts ``numbers`` as recognition of period ``before``
    reads them (module doc): for a contract whose carry it reads, the items after its last
    month read and the adjustments up to it, else all of them."""
    months: dict[str, list[str]] = defaultdict(list)
    for mark in conn.execute(_MONTHS, {"numbers": list(numbers)}):
        months[mark.contract_number].append(mark.period)
    through: dict[str, str] = {}
    for n, found in months.items():
        limit = min(before, cut.get(n) or before)
        run = [m for m in _run(found) if m < limit]
        if run:
            through[n] = run[-1]
    items: dict[str, list[Any]] = defaultdict(list)
    groups: dict[str, list[str]] = defaultdict(list)
    for n, m in through.items():
        groups[m].append(n)
    sums: dict[str, list[Any]] = defaultdict(list)
    for month, group in sorted(groups.items()):
        params = {"numbers": group, "through": month_end(date.fromisoformat(f"{month}-01"))
                  .isoformat(), "month": month}
        for query in (_AFTER, _ADJUSTMENTS):
            for r in conn.execute(query, params):
                items[r.contract_number].append(r)
        for row in conn.execute(_SUMS, params):
            sums[row.contract_number].append(row)
    whole = [n for n in numbers if n not in through or any(
        r.source == "adjustment" and r.service_date <= f"{through[n]}-31"
        and r.currency == currency.get(n) and not _whole(r.amount, r.currency)
        for r in items.get(n, ()))]
    for n in whole:
        through.pop(n, None)
        items.pop(n, None)
    if whole:
        items.update(counted_items(conn, whole))
    origins = _origins(conn, {n: items.get(n, ()) for n in through})
    carried = {n: CarriedBillable(month_end(date.fromisoformat(f"{m}-01")),
                                  tuple(sums.get(n, ())), origins.get(n, {}))
               for n, m in through.items()}
    for rows in items.values():
        rows.sort(key=lambda r: r.key)
    return Read(items, carried, months)


def _origins(conn: Connection, rows: Mapping[str, Iterable[Any]],
             ) -> dict[str, dict[str, tuple[str, str | None]]]:
    """Source and line of the counted items the adjustments of ``rows`` name, by contract."""
    keys = {k for group in rows.values() for r in group if r.source == "adjustment"
            for k in json.loads(r.adjusts or "[]")}
    out: dict[str, dict[str, tuple[str, str | None]]] = defaultdict(dict)
    if keys:
        for r in conn.execute(_ORIGINS, {"numbers": sorted(rows), "keys": sorted(keys)}):
            out[r.contract_number][r.key] = (r.source, r.line_id)
    return out


def locked_months(conn: Connection) -> dict[str, set[str]]:
    """The locked months of each entity."""
    out: dict[str, set[str]] = defaultdict(set)
    for r in conn.execute(select(ledger_periods.c.entity_code, ledger_periods.c.period)
                          .where(ledger_periods.c.status == "locked")):
        out[r.entity_code].add(r.period)
    return out


def keep_carries(conn: Connection, read: Read, held: Mapping[str, Iterable[str]],
                 entity: Mapping[str, str], locked: Mapping[str, set[str]], period: str,
                 ) -> int:
    """Carry each contract's months after its carried run, from the rows ``read`` (module
    doc); the number of months carried."""
    carries: list[dict[str, str]] = []
    sums: list[dict[str, Any]] = []
    stale: list[tuple[str, str]] = []
    for n, rows in sorted(read.items.items()):
        run = _run(read.months.get(n, ()))
        items = [r for r in rows if r.source in ("time", "expense")]
        if run:
            first = next_period(run[-1])
        elif items:
            first = min(r.service_date for r in items)[:7]
        else:
            continue
        new = _months(items, set(held.get(n, ())), first, period,
                      locked.get(entity.get(n, ""), set()))
        if not new:
            continue
        if any(m >= first for m in read.months.get(n, ())):
            stale.append((n, first))
        for month, groups in new:
            carries.append({"contract_number": n, "period": month})
            sums += [{"contract_number": n, "period": month, "source": s, "line_id": ln,
                      "currency": c, "amount": a} for (s, ln, c), a in sorted(groups.items())]
    for n, first in stale:
        for table in (revenue_billable_sums, revenue_billable_carries):
            conn.execute(delete(table).where((table.c.contract_number == n)
                                             & (table.c.period >= first)))
    if carries:
        conn.execute(revenue_billable_carries.insert(), carries)
    if sums:
        conn.execute(revenue_billable_sums.insert(), sums)
    return len(carries)


def _months(items: Sequence[Any], held: set[str], first: str, period: str, locked: set[str],
            ) -> list[tuple[str, dict[tuple[str, str, str], Decimal]]]:
    """The months from ``first`` to carry — through ``period``, locked before it, every
    amount whole — with their sums."""
    by_month: dict[str, dict[tuple[str, str, str], Decimal]] = defaultdict(
        lambda: defaultdict(Decimal))
    whole: dict[str, bool] = defaultdict(lambda: True)
    for r in items:
        month = r.service_date[:7]
        if month < first or month > period or r.key in held:
            continue
        by_month[month][(r.source, r.line_id or "", r.currency)] += r.amount
        whole[month] = whole[month] and _whole(r.amount, r.currency)
    out = []
    month = first
    while month <= period and (month in locked or month == period) and whole[month]:
        out.append((month, dict(by_month.get(month, {}))))
        month = next_period(month)
    return out

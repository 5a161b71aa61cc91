"""Each month's approved time costed at the HR rate, read from a derived cache that is recomputed
only for the months that changed since it was computed (docs/adr/0010).

The close needs the labor cost *known now* of every month up to the period (the late changes
of closed months, ``labor_cost``; the margin report's late cost). Costing every approved time
entry of the history at every close made it grow with the months behind it. Here a month is
costed once into ``labor_cost_cells`` (per project, cost entity and currency; exact sums) with
the month's version: its count of time entries plus counters that database triggers raise in
the transaction of any update or delete that can change its cost (migrations 0021, 0023), so
cells whose version is the month's current one are exactly what costing the month again would
give, and the others are costed again from ``time_entries``.

Order matters for concurrent writers: the versions are read *before* the time entries, so a
change committed in between leaves the cells at an older version (recomputed next time), never
fresh-looking cells that miss it. Reading never writes; ``keep_month_costs`` (called in the
close's own transactions) stores what was recomputed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, delete, func, select

from syncline.adapters.db.close_tables import (
    labor_cost_cached,
    labor_cost_cells,
    labor_cost_marks,
    labor_cost_rate_marks,
)
from syncline.adapters.db.tables import time_entries
from syncline.ledger.periods import period_end, period_start
from syncline.services.ledger import kept
from syncline.services.ledger.held import held, holding
from syncline.services.ledger.reports.common import ZERO, costed_time


@dataclass(frozen=True, slots=True)
class CostCell:
    """A month's approved time on one project costed by one (entity, currency) of the HR
    rates (``rated`` false: no rate effective on the work date; entity and currency empty)."""

    month: str
    project_code: str
    rated: bool
    cost_entity: str
    cost_currency: str
    cost: Decimal
    hours: Decimal
    entries: int


def _time_counts(conn: Connection, first: str | None, last: str) -> dict[str, int]:
    """How many time entries each month from ``first`` to ``last`` has: one range read of the
    work-date index per month between the first and last work dates (migration 0023), all in
    one statement (a statement a month cost more than the counting). The first and last work
    dates are two statements: each alone is one step of the index, both in one are a scan of
    every entry."""
    t = time_entries.c
    lo = conn.execute(select(func.min(t.work_date))).scalar()
    hi = conn.execute(select(func.max(t.work_date))).scalar()
    if lo is None:
        return {}
    month, end = max(lo[:7], first or ""), min(hi[:7], last)
    months: list[str] = []
    while month <= end:
        months.append(month)
        month = _next(month)
    if not months:
        return {}
    counts = conn.execute(select(*(
        select(func.count()).select_from(time_entries).where(
            t.work_date >= f"{m}-01", t.work_date < f"{_next(m)}-01").scalar_subquery()
        for m in months))).one()
    return {m: int(n) for m, n in zip(months, counts, strict=True) if n}


def _versions(conn: Connection, first: str | None, last: str) -> dict[str, int]:
    """Each month with time: its count of time entries plus its counters (which updates and
    deletes raise), plus every rate counter of a month up to it (a worker version changes the
    cost from its effective date on). Every change raises the versions of the months it
    touches (migration 0023 gives the arithmetic), so a version never repeats."""
    m = labor_cost_marks.c
    q = select(m.month, func.sum(m.version)).where(m.month <= last).group_by(m.month)
    if first is not None:
        q = q.where(m.month >= first)
    time_marks = _time_counts(conn, first, last)
    for month, marks in conn.execute(q):
        time_marks[month] = time_marks.get(month, 0) + int(marks)
    r = labor_cost_rate_marks.c
    rates = sorted((row[0], int(row[1])) for row in conn.execute(
        select(r.month, func.sum(r.version)).where(r.month <= last).group_by(r.month)))
    out, upto, i = {}, 0, 0
    for month in sorted(time_marks):
        while i < len(rates) and rates[i][0] <= month:
            upto += rates[i][1]
            i += 1
        out[month] = time_marks[month] + upto
    return out


def _cost(conn: Connection, months: list[str]) -> dict[str, list[CostCell]]:
    """Cost ``months`` from the time entries, each contiguous run of months in one read."""
    out: dict[str, list[CostCell]] = {m: [] for m in months}
    runs: list[list[str]] = []
    for month in sorted(months):
        if runs and _next(runs[-1][-1]) == month:
            runs[-1].append(month)
        else:
            runs.append([month])
    for run in runs:
        sums: dict[tuple[str, str, bool, str, str], list[Decimal]] = defaultdict(
            lambda: [ZERO, ZERO, ZERO])
        for t in costed_time(conn, period_start(run[0]), period_end(run[-1])):
            rated = t.cost is not None
            key = (t.work_date[:7], t.project_code, rated, t.cost_entity or "" if rated else "",
                   t.cost_currency or "" if rated else "")
            cell = sums[key]
            cell[0] += t.cost if t.cost is not None else ZERO
            cell[1] += t.hours
            cell[2] += 1
        for (month, project, rated, ent, cur), (cost, hours, n) in sorted(sums.items()):
            out[month].append(CostCell(month, project, rated, ent, cur, cost, hours, int(n)))
    return out


def _next(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def _month_costs(conn: Connection, first: str | None, last: str
                 ) -> tuple[dict[str, list[CostCell]], dict[str, list[CostCell]], dict[str, int]]:
    """(cells read from the cache, cells costed again, the versions read first)."""
    versions = _versions(conn, first, last)  # first: see the module docstring
    c = labor_cost_cached.c
    q = select(c.month, c.version, c.token).where(c.month <= last)
    if first is not None:
        q = q.where(c.month >= first)
    current = {r.month: r.token for r in conn.execute(q) if versions.get(r.month) == r.version}
    cached: dict[str, list[CostCell]] = {}
    for month, token in current.items():  # kept by this process under the month's token
        got: list[CostCell] | None = kept.kept(conn, "labor_cells", month, token)
        if got is not None:
            cached[month] = got
    unread = sorted(set(current) - set(cached))
    if unread:
        for month in unread:
            cached[month] = []
        k = labor_cost_cells.c
        q = select(labor_cost_cells).where((k.month >= unread[0]) & (k.month <= unread[-1]))
        for r in conn.execute(q.order_by(k.month, k.project_code, k.rated, k.cost_entity,
                                         k.cost_currency)):
            if r.month in unread:
                cached[r.month].append(CostCell(r.month, r.project_code, bool(r.rated),
                                                r.cost_entity, r.cost_currency, r.cost,
                                                r.hours, r.entries))
        for month in unread:
            kept.keep(conn, "labor_cells", month, current[month], cached[month])
    costed = _cost(conn, sorted(set(versions) - set(current)))
    return {m: cached[m] for m in sorted(cached)}, costed, versions


def month_costs(conn: Connection, first: str | None, last: str) -> dict[str, list[CostCell]]:
    """The cost cells of every month with time from ``first`` (None: the beginning) through
    ``last``, as costing the time entries now gives them (read once for every scope of a
    close step: ``held``)."""
    def read() -> dict[str, list[CostCell]]:
        cached, costed, _ = _month_costs(conn, first, last)
        return {**cached, **costed}

    return held(conn, ("month_costs", first, last), read)


def keep_month_costs(conn: Connection, through: str) -> int:
    """Cost again and store the months up to ``through`` whose cells are not current (in the
    caller's transaction); how many months were stored. Inside ``facts_held`` the cells of
    every month through ``through`` are then held as ``month_costs`` gives them."""
    cached, costed, versions = _month_costs(conn, None, through)
    for month, cells in sorted(costed.items()):
        conn.execute(delete(labor_cost_cells).where(labor_cost_cells.c.month == month))
        conn.execute(delete(labor_cost_cached).where(labor_cost_cached.c.month == month))
        if cells:
            conn.execute(labor_cost_cells.insert(), [
                {"month": x.month, "project_code": x.project_code, "rated": x.rated,
                 "cost_entity": x.cost_entity, "cost_currency": x.cost_currency,
                 "cost": x.cost, "hours": x.hours, "entries": x.entries} for x in cells])
        token = kept.new_token()
        conn.execute(labor_cost_cached.insert().values(month=month, version=versions[month],
                                                       token=token))
        kept.keep(conn, "labor_cells", month, token, cells)
    if holding(conn):  # every month now current: what month_costs would read next
        held(conn, ("month_costs", None, through),
             lambda: dict(sorted({**cached, **costed}.items())))
    return len(costed)


def cells_of(found: dict[str, list[CostCell]], months: Iterable[str]) -> list[CostCell]:
    return [c for m in sorted(months) for c in found.get(m, ())]


__all__ = ["CostCell", "cells_of", "keep_month_costs", "month_costs"]

"""The KPIs month by month, for charts: ``kpi_trends(conn, first, last, entity=…)``.

Each month of the range is computed by ``compute_kpis`` (the same figures as ``syncline kpi``
and ``GET /v1/kpis`` for that month), and one figure of each KPI is followed over the months
by series (an entity, or an entity and currency — money of different currencies is never
added): the median of a duration, the amount or count of a total, a rate as a percentage.
The revenue waterfall and the deferred revenue roll-forward are the ledger's reports for the
last month over the range's months; RPO is the ledger's ``rpo`` report at each month's end.
Figures stay Decimal here; a chart library draws them as numbers, the tables show them exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import Connection, func, select

from syncline.adapters.db.tables import invoices
from syncline.ledger.periods import is_period_name, next_period, period_of
from syncline.services.kpis import DEFINITIONS, compute_kpis, over
from syncline.services.kpis import formulas as f
from syncline.services.kpis.cache import NOTHING_KEPT, View
from syncline.services.ledger.reports.registry import ReportOptions

MAX_MONTHS = 24
Cell = tuple[str, str, Decimal | None]


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: tuple[Decimal | None, ...]
    stack: str = ""  # bars of one stack pile up (one currency, or the age buckets)


@dataclass(frozen=True, slots=True)
class Trend:
    kpi: str
    title: str
    unit: str
    kind: str  # line | bar | stacked
    months: tuple[str, ...]
    series: tuple[Series, ...]
    definition: str
    tables: tuple[dict[str, Any], ...] = field(default=())  # the ledger report's, as JSON

    def as_dict(self) -> dict[str, Any]:
        return {"kpi": self.kpi, "title": self.title, "unit": self.unit, "kind": self.kind,
                "months": list(self.months), "definition": self.definition,
                "series": [{"label": s.label, "stack": s.stack,
                            "values": [None if v is None else str(v) for v in s.values]}
                           for s in self.series],
                "tables": list(self.tables)}


# (kpi, title, unit, kind), in the order the dashboard shows them
CHARTS: tuple[tuple[str, str, str, str], ...] = (
    ("project_setup_cycle_time", "Project setup cycle time", "median days", "line"),
    ("time_to_invoice_latency", "Approved time-to-invoice latency", "median days", "line"),
    ("unbilled_approved_time", "Unbilled approved time", "amount at month end", "bar"),
    ("billing_exception_rate", "Billing exception rate", "% of invoices", "line"),
    ("unrecognized_fulfilled_milestones", "Unrecognized fulfilled milestones",
     "amount at month end", "bar"),
    ("amendments_awaiting_propagation", "Amendments awaiting propagation",
     "count at month end", "bar"),
    ("exception_aging", "Exception aging", "open at month end, by age (days)", "stacked"),
    ("straight_through_share", "Events processed without manual intervention",
     "% of messages", "line"),
    ("dso", "Days sales outstanding", "days", "line"),
    ("revenue_waterfall", "Revenue waterfall", "revenue posted in the month", "stacked"),
    ("deferred_revenue", "Deferred revenue", "closing balance", "line"),
    ("rpo", "Remaining performance obligations", "at month end", "line"),
)


def months_between(first: str, last: str) -> list[str]:
    """The months from ``first`` to ``last`` inclusive; ValueError for a bad or reversed
    range or one longer than ``MAX_MONTHS``."""
    for name in (first, last):
        if not is_period_name(name):
            raise ValueError(f"a month is YYYY-MM, got {name!r}")
    if first > last:
        raise ValueError(f"the range runs backwards: {first} is after {last}")
    months = [first]
    while months[-1] < last:
        months.append(next_period(months[-1]))
        if len(months) > MAX_MONTHS:
            raise ValueError(f"at most {MAX_MONTHS} months at a time")
    return months


def _back(month: str, count: int) -> str:
    """The month ``count`` months before ``month``."""
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 - count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def default_range(conn: Connection, now: datetime, most: int = 12) -> tuple[str, str]:
    """Up to this month, from the month of the first invoice — at most ``most`` months, and
    the last six when nothing is invoiced yet. (Up to this month: what Syncline stamps itself
    — a message received, a project activated — is dated when it was processed.)"""
    last = period_of(now.date())
    earliest = conn.execute(select(func.min(invoices.c.invoice_date))).scalar()
    first = str(earliest)[:7] if earliest else _back(last, 5)
    return max(min(first, last), _back(last, most - 1)), last


def _money(e: str, c: str) -> str:
    return f"{e} {c}"


def _cells(month: str, name: str, rows: Any) -> Iterable[Cell]:
    """The charted figure of KPI ``name`` in one month's ``compute_kpis`` rows."""
    if name in ("project_setup_cycle_time", "time_to_invoice_latency"):
        return ((month, r["entity"], r["median_days"]) for r in rows)
    if name in ("unbilled_approved_time", "unrecognized_fulfilled_milestones"):
        return ((month, _money(r["entity"], r["currency"]), r["amount"]) for r in rows)
    if name == "billing_exception_rate":
        return ((month, r["entity"], f.percent(r["rate"])) for r in rows)
    if name == "amendments_awaiting_propagation":
        return ((month, r["entity"], Decimal(r["total"])) for r in rows)
    if name == "exception_aging":
        return ((month, b, Decimal(r[b])) for r in rows for b in f.AGE_BUCKETS)
    if name == "straight_through_share":
        return ((month, "firm-wide", f.percent(r["share"])) for r in rows)
    if name == "dso":
        return ((month, _money(r["entity"], r["currency"]), r["dso"]) for r in rows)
    raise KeyError(name)


ZERO_WHEN_NONE = frozenset({"unbilled_approved_time", "unrecognized_fulfilled_milestones",
                            "amendments_awaiting_propagation", "exception_aging"})


def _table(report: Any) -> dict[str, Any]:
    t = report.tables[0]
    return {"title": t.title, "columns": list(t.columns),
            "rows": [["" if c is None else str(c) for c in row] for row in t.rows]}


def _ledger_cells(conn: Connection, months: list[str], entity: str | None,
                  options: ReportOptions) -> dict[str, tuple[list[Cell], list[str],
                                                              tuple[dict[str, Any], ...]]]:
    """(cells, stacks by label, report tables) of the three ledger reports."""
    last = months[-1]
    waterfall = options.build(conn, "revenue-waterfall", last, entity=entity,
                              months=len(months), as_of="now")
    w = waterfall.tables[0]
    month_cols = [(k, c) for k, c in enumerate(w.columns) if is_period_name(str(c))]
    w_cells: list[Cell] = []
    stacks: list[str] = []
    for row in w.rows:
        label = f"{row[0]} {row[1] or 'no service line'} {row[2]}"
        stacks.append(f"{label}|{row[2]}")
        w_cells += [(str(c), label, Decimal(str(row[k]))) for k, c in month_cols]
    deferred = options.build(conn, "deferred-revenue", last, entity=entity,
                             months=len(months), as_of="now")
    d_cells: list[Cell] = [(str(r[2]), _money(str(r[0]), str(r[1])), Decimal(str(r[6])))
                           for r in deferred.tables[0].rows]
    r_cells: list[Cell] = []
    rpo_last = None
    for month in months:
        rpo = options.build(conn, "rpo", month, entity=entity, as_of="now")
        r_cells += [(month, _money(str(r[0]), str(r[2])), Decimal(str(r[6])))
                    for r in rpo.tables[0].rows]
        rpo_last = rpo
    return {"revenue_waterfall": (w_cells, stacks, (_table(waterfall),)),
            "deferred_revenue": (d_cells, [], (_table(deferred),)),
            "rpo": (r_cells, [], (_table(rpo_last),) if rpo_last is not None else ())}


def kpi_trends(conn: Connection, first: str, last: str, *, entity: str | None = None,
               options: ReportOptions | None = None, now: datetime,
               kept: View = NOTHING_KEPT) -> list[Trend]:
    """Every KPI of ``CHARTS`` over the months ``first``..``last`` (see the module doc), for
    one legal entity or all (the straight-through share is firm-wide: messages have none).
    ``kept``: a view of the dashboard's cache (services/kpis/cache.py), which gives the
    figures of a month over, and the ledger reports' cells, as computed at the same state of
    the database."""
    options = options or ReportOptions()
    months = months_between(first, last)
    cells: dict[str, list[Cell]] = {name: [] for name, *_ in CHARTS}
    for month in months:
        figures = kept.get(("month", month, entity), partial(
            compute_kpis, conn, month, entity=entity, options=options, now=now,
            ledger_reports=False), keep=over(month, now))
        for name, rows in figures.items():
            if name in cells:
                cells[name].extend(_cells(month, name, rows))
    ledger = kept.get(("ledger", first, last, entity),
                      lambda: _ledger_cells(conn, months, entity, options))
    trends = []
    for name, title, unit, kind in CHARTS:
        stacks: dict[str, str] = {}
        tables: tuple[dict[str, Any], ...] = ()
        if name in ledger:
            found, stacked, tables = ledger[name]
            cells[name] = list(found)
            stacks = dict(s.split("|", 1) for s in stacked)
        pivoted = f.pivot(months, cells[name], zero=name in ZERO_WHEN_NONE or name in ledger)
        if name == "exception_aging":
            pivoted.sort(key=lambda r: f.AGE_BUCKETS.index(r[0]))
            stacks = dict.fromkeys(f.AGE_BUCKETS, "age")
        trends.append(Trend(name, title, unit, kind, tuple(months), tuple(
            Series(label, tuple(values), stacks.get(label, "")) for label, values in pivoted),
            DEFINITIONS[name], tables))
    return trends

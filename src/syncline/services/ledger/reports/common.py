"""What the reports share: the ``Report`` value, and the operational facts that the reports and
the close reconciliation read (projects with their contracts, approved time costed at the HR
cost rate, credit notes, revenue schedules)."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, inspect, select
from sqlalchemy import Table as SqlTable

from syncline.adapters.db.tables import (
    contracts,
    invoices,
    metadata,
    projects,
    time_entries,
    worker_versions,
)
from syncline.ledger.accounts import AccountType, ChartOfAccounts
from syncline.ledger.carried import Books, entry_contract
from syncline.ledger.journal import JournalEntry
from syncline.ledger.periods import period_of, period_start
from syncline.ledger.reports import Cell, Table
from syncline.services.ledger.held import held

ZERO = Decimal(0)
NOT_BILLABLE_ITEM_STATUSES = ("reversed", "credited")  # an item that no longer bills


@dataclass(frozen=True, slots=True)
class Report:
    """A report: its tables and notes. A zero amount is stored without sign (``-0.00`` is
    shown as ``0.00`` in every format: ``unsigned_zero``)."""

    name: str
    period: str
    entity: str | None
    tables: tuple[Table, ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", tuple(
            Table(t.title, t.columns, tuple(tuple(unsigned_zero(c) for c in row)
                                            for row in t.rows))
            for t in self.tables))

    def as_dict(self) -> dict[str, Any]:
        return {"report": self.name, "period": self.period, "entity": self.entity,
                "notes": list(self.notes),
                "tables": [{"title": t.title, "columns": list(t.columns),
                            "rows": [[plain(c) for c in row] for row in t.rows]}
                           for t in self.tables]}


def unsigned_zero(cell: Cell) -> Cell:
    """A zero amount without its sign: ``Decimal("-0.00")`` (a negated or credit-side zero)
    is ``Decimal("0.00")``; every other cell is unchanged."""
    if isinstance(cell, Decimal) and cell.is_zero() and cell.is_signed():
        return cell.copy_abs()
    return cell


def plain(cell: Cell) -> str:
    return format(unsigned_zero(cell), "f") if isinstance(cell, Decimal) else cell


def months_up_to(period: str, count: int) -> list[str]:
    start = period_start(period)
    index = start.year * 12 + start.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


# --- operational facts --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    code: str
    contract: str
    entity: str
    currency: str
    service_line: str
    billing_type: str


def project_info(conn: Connection) -> dict[str, ProjectInfo]:
    return held(conn, "project_info", lambda: _project_info(conn))


def _project_info(conn: Connection) -> dict[str, ProjectInfo]:
    q = (select(projects.c.code, contracts.c.number, contracts.c.entity_code,
                contracts.c.currency, contracts.c.service_line, contracts.c.billing_type)
         .join(contracts, contracts.c.id == projects.c.contract_id))
    return {r.code: ProjectInfo(r.code, r.number, r.entity_code, r.currency, r.service_line,
                                r.billing_type) for r in conn.execute(q)}


def projects_by_contract(info: Mapping[str, ProjectInfo]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in sorted(info.values(), key=lambda p: p.code):
        out.setdefault(p.contract, p.code)
    return out


@dataclass(frozen=True, slots=True)
class CostedTime:
    """One approved time entry, costed at the HR cost rate effective on its work date."""

    time_entry_id: str
    worker_id: str
    project_code: str
    work_date: str
    hours: Decimal
    billable: bool
    cost_entity: str | None  # the worker's entity at the work date (None: no cost rate)
    cost: Decimal | None
    cost_currency: str | None


def costed_time(conn: Connection, start: date, end: date) -> list[CostedTime]:
    """Approved time worked in [start, end], costed as the billing run's labor cost is: at the
    worker's last version (by effective date, then sequence) effective on the work date."""
    return held(conn, ("costed_time", start, end), lambda: _costed_time(conn, start, end))


def _costed_time(conn: Connection, start: date, end: date) -> list[CostedTime]:
    versions: dict[str, list[Any]] = defaultdict(list)
    for v in conn.execute(select(worker_versions).order_by(worker_versions.c.effective_date,
                                                           worker_versions.c.sequence)):
        versions[v.worker_id].append(v)
    t = time_entries.c
    return cost_rows(conn.execute(select(
        t.time_entry_id, t.worker_id, t.project_code, t.work_date, t.hours, t.billable).where(
            (t.status == "approved") & (t.work_date >= start.isoformat())
            & (t.work_date <= end.isoformat())).order_by(t.time_entry_id)), versions)


def cost_rows(rows: Iterable[Any], versions: Mapping[str, list[Any]]) -> list[CostedTime]:
    """Time rows (entry, worker, project, work date, hours, billable) costed at the worker's
    last version effective on the work date; ``versions``: each worker's, ordered by
    effective date, then sequence. The one costing rule of `costed_time` and of one
    contract's reads (`contract_reads.project_costed_time`)."""
    since = {w: [v.effective_date for v in vs] for w, vs in versions.items()}
    out = []
    for r in rows:
        effective = bisect_right(since.get(r.worker_id, ()), r.work_date)
        rate = versions[r.worker_id][effective - 1] if effective else None
        out.append(CostedTime(
            r.time_entry_id, r.worker_id, r.project_code, r.work_date, r.hours, bool(r.billable),
            rate.entity_code if rate else None, r.hours * rate.cost_rate if rate else None,
            rate.cost_currency if rate else None))
    return out


def _optional_table(name: str) -> SqlTable | None:
    return metadata.tables.get(name)


def _has_table(conn: Connection, table: SqlTable | None) -> bool:
    return table is not None and inspect(conn).has_table(table.name)


def credit_notes(conn: Connection) -> list[Any]:
    """Credit notes (billing engine), or none when that table does not exist yet.

    Sign convention (docs/ledger.md, "Credit notes are negative documents"): a credit note's
    ``subtotal``, ``tax`` and ``total`` are stored negative, as the document prints them, so a
    net amount is always the invoices' amounts *plus* the credit notes' — never minus."""
    table = _optional_table("credit_notes")
    if table is None or not _has_table(conn, table):
        return []
    return list(conn.execute(select(table)))


def revenue_schedules(conn: Connection) -> list[Any]:
    """Every stored schedule row with its contract's entity (held for a close step: read
    once for every report and scope, services/ledger/held.py)."""
    return held(conn, "revenue_schedules", lambda: _revenue_schedules(conn))


def _revenue_schedules(conn: Connection) -> list[Any]:
    table = _optional_table("revenue_schedules")
    if table is None or not _has_table(conn, table):
        return []
    q = (select(table, contracts.c.entity_code)
         .join(contracts, contracts.c.number == table.c.contract_number))
    return list(conn.execute(q))


def scheduled_cumulative(conn: Connection, period: str) -> dict[str, tuple[str, str, Decimal]]:
    """Per contract with a stored schedule: (entity, currency, cumulative revenue at the end of
    ``period``) — each obligation's cumulative of its last scheduled month up to the period
    (a schedule that ended earlier keeps its final cumulative)."""
    return held(conn, ("scheduled_cumulative", period),
                lambda: _scheduled_cumulative(conn, period))


def _scheduled_cumulative(conn: Connection, period: str
                          ) -> dict[str, tuple[str, str, Decimal]]:
    last: dict[tuple[str, str], Any] = {}
    for s in revenue_schedules(conn):
        if s.period <= period:
            key = (s.contract_number, s.obligation_id)
            if key not in last or s.period > last[key].period:
                last[key] = s
    out: dict[str, tuple[str, str, Decimal]] = {}
    for (contract, _), s in sorted(last.items()):
        ent, cur, cum = out.get(contract, (s.entity_code, s.currency, ZERO))
        out[contract] = (ent, cur, cum + s.cumulative)
    return out


def contract_of_entries(conn: Connection) -> Callable[[JournalEntry], str | None]:
    """The contract a journal entry belongs to: an invoice's or a credit note's contract, or
    the contract of a revenue true-up (``revenue:<contract>:<period>[:rN]``); None for the
    others (accruals, labor cost, intercompany …)."""
    of_doc = held(conn, "contract_of_documents", lambda: _contract_of_documents(conn))

    def contract_of(e: JournalEntry) -> str | None:
        return entry_contract(e, of_doc)

    return contract_of


def _contract_of_documents(conn: Connection) -> dict[str, str]:
    of_doc = {r.number: r.contract_number for r in conn.execute(
        select(invoices.c.number, invoices.c.contract_number))}
    of_doc.update((n.number, n.contract_number) for n in credit_notes(conn))
    return of_doc


def _revenue_codes(chart: ChartOfAccounts | None) -> set[str]:
    """The codes whose account (the chart's first of that code, as ``by_code`` finds it) is a
    revenue account of a ``revenue:*`` role."""
    if chart is None:
        return set()
    first: dict[str, Any] = {}
    for a in chart.accounts:
        first.setdefault(a.code, a)
    return {code for code, a in first.items()
            if a.type is AccountType.REVENUE and a.role.startswith("revenue:")}


@dataclass
class PostedRevenue:
    """Revenue posted (credit-positive, revenue accounts ``revenue:*``): per contract before
    the period and in it, and in the period on no contract, per (entity, currency)."""

    before: dict[str, Decimal]
    during: dict[str, Decimal]
    unattributed: dict[tuple[str, str], Decimal]
    total: dict[tuple[str, str], Decimal]  # in the period, per (entity, currency)


def posted_revenue(books: Books, charts: Mapping[str, ChartOfAccounts],
                   contract_of: Callable[[JournalEntry], str | None],
                   period: str) -> PostedRevenue:
    """Revenue posted, from the carried balances (all before ``period``: ADR 0014) and the
    entries after them."""
    out = PostedRevenue(defaultdict(Decimal), defaultdict(Decimal), defaultdict(Decimal),
                        defaultdict(Decimal))
    revenue_codes: dict[str, set[str]] = {}  # per entity, worked out once (not per row)
    for c in books.carried:
        codes = revenue_codes.get(c.key.entity)
        if codes is None:
            codes = revenue_codes[c.key.entity] = _revenue_codes(charts.get(c.key.entity))
        if c.key.account not in codes:
            continue
        assert books.through[c.key.entity] < period, "a carry through the period itself"
        if c.key.contract:
            out.before[c.key.contract] -= c.amount
    for e in books.entries:
        month = period_of(e.posting_date)
        if month > period:
            continue
        chart = charts.get(e.entity_id)
        number = contract_of(e)
        for ln in e.lines:
            account = chart.by_code(ln.account) if chart else None
            if account is None or account.type is not AccountType.REVENUE \
                    or not account.role.startswith("revenue:"):
                continue
            amount = -ln.signed
            if month < period:
                if number is not None:
                    out.before[number] += amount
                continue
            out.total[(e.entity_id, ln.amount.currency)] += amount
            if number is not None:
                out.during[number] += amount
            else:
                out.unattributed[(e.entity_id, ln.amount.currency)] += amount
    return out

"""What the reports share: the ``Report`` value, and the operational facts that the reports and
the close reconciliation read (projects with their contracts, approved time costed at the HR
cost rate, credit notes, revenue schedules)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, inspect, select
from sqlalchemy import Table as SqlTable

from syncline.adapters.db.tables import (
    contracts,
    metadata,
    projects,
    time_entries,
    worker_versions,
)
from syncline.ledger.periods import period_start
from syncline.ledger.reports import Cell, Table

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
    """Approved time worked in [start, end], costed as the billing run's labor cost is."""
    versions: dict[str, list[Any]] = defaultdict(list)
    for v in conn.execute(select(worker_versions).order_by(worker_versions.c.effective_date,
                                                           worker_versions.c.sequence)):
        versions[v.worker_id].append(v)
    out = []
    for t in conn.execute(select(time_entries).where(
            (time_entries.c.status == "approved")
            & (time_entries.c.work_date >= start.isoformat())
            & (time_entries.c.work_date <= end.isoformat()))
            .order_by(time_entries.c.time_entry_id)):
        effective = [w for w in versions[t.worker_id] if w.effective_date <= t.work_date]
        rate = effective[-1] if effective else None
        out.append(CostedTime(
            t.time_entry_id, t.worker_id, t.project_code, t.work_date, t.hours, bool(t.billable),
            rate.entity_code if rate else None, t.hours * rate.cost_rate if rate else None,
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
    table = _optional_table("revenue_schedules")
    if table is None or not _has_table(conn, table):
        return []
    q = (select(table, contracts.c.entity_code)
         .join(contracts, contracts.c.number == table.c.contract_number))
    return list(conn.execute(q))

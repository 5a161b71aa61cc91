"""Ledger reports on the stored books, and the close reconciliation.

``build_report(conn, name, period, entity=…)`` returns a ``Report``: one or more
``syncline.ledger.reports.Table`` values plus notes, which the CLI prints as a table, JSON,
CSV or XLSX and the API returns as JSON. Reports (``REPORTS``):

- ``trial-balance``: balances as at the end of the period (every entry dated on or before it);
- ``revenue-waterfall``: revenue per month for the months up to the period, by service line;
- ``deferred-revenue``: the contract liability roll-forward over the same months;
- ``rpo``: remaining performance obligations from the stored revenue schedules (periods after
  the report period), in timing buckets; empty with a note when no schedule is stored;
- ``unbilled-aging``: what was approved/generated but not invoiced at the period end (billable
  items by service date, FIFO per project), and GL unbilled/WIP balances aged FIFO;
- ``margin``: by project and by service line for the period — revenue from invoices (minus
  credit notes), or from revenue schedules in revenue-engine mode; labor cost from approved
  time at the HR cost rate effective on each work date (``time_entries`` × ``worker_versions``);
- ``close-reconciliation``: the checks of DESIGN.md §8 that the stored data supports, each
  with totals and every difference by cause and object (see ``close_reconciliation``).

Everything is derived on demand from the stored facts; nothing here is written.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, inspect, select
from sqlalchemy import Table as SqlTable

from syncline.adapters.db.billing_tables import rate_cards
from syncline.adapters.db.tables import (
    billable_items,
    contracts,
    exceptions,
    invoice_lines,
    invoices,
    metadata,
    projects,
    time_entries,
    worker_versions,
)
from syncline.billing.rates import BillingIncrement, QuantityRounding, round_quantity
from syncline.domain.reference import DEFAULT_REFERENCE, ReferenceData
from syncline.ledger.accounts import DEFAULT_CHART, AccountType, ChartOfAccounts, Charts
from syncline.ledger.exports.common import Exported, Payload, dumps_json
from syncline.ledger.journal import JournalEntry
from syncline.ledger.periods import is_period_name, period_of, period_start
from syncline.ledger.reports import (
    Cell,
    Table,
    deferred_revenue_rollforward,
    revenue_waterfall,
    trial_balance_table,
    unbilled_aging,
)
from syncline.services.ledger.queries import (
    charts_for,
    functional_currencies,
    load_entries,
    period_end,
    with_document_dimensions,
)

REPORTS: tuple[str, ...] = (
    "trial-balance", "revenue-waterfall", "deferred-revenue", "rpo", "unbilled-aging",
    "margin", "close-reconciliation",
)
ZERO = Decimal(0)
NOT_BILLABLE_ITEM_STATUSES = ("reversed", "credited")  # an item that no longer bills


class UnknownReport(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    period: str
    entity: str | None
    tables: tuple[Table, ...]
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"report": self.name, "period": self.period, "entity": self.entity,
                "notes": list(self.notes),
                "tables": [{"title": t.title, "columns": list(t.columns),
                            "rows": [[_plain(c) for c in row] for row in t.rows]}
                           for t in self.tables]}


def _plain(cell: Cell) -> str:
    return format(cell, "f") if isinstance(cell, Decimal) else cell


def months_up_to(period: str, count: int) -> list[str]:
    start = period_start(period)
    index = start.year * 12 + start.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


def _trim(months: list[str], entries: Sequence[JournalEntry]) -> list[str]:
    """Drop leading months before the first entry (keeps at least the last month)."""
    if not entries:
        return months[-1:]
    first = min(period_of(e.posting_date) for e in entries)
    kept = [m for m in months if m >= first]
    return kept or months[-1:]


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


def _projects_by_contract(info: Mapping[str, ProjectInfo]) -> dict[str, str]:
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


def _credit_notes(conn: Connection) -> list[Any]:
    """Credit notes (billing engine), or none when that table does not exist yet."""
    table = _optional_table("credit_notes")
    if table is None or not _has_table(conn, table):
        return []
    return list(conn.execute(select(table)))


def _schedules(conn: Connection) -> list[Any]:
    table = _optional_table("revenue_schedules")
    if table is None or not _has_table(conn, table):
        return []
    q = (select(table, contracts.c.entity_code)
         .join(contracts, contracts.c.number == table.c.contract_number))
    return list(conn.execute(q))


def _item_time_id(key: str, origin: str | None) -> str | None:
    """The time entry an item bills: ``time:TE-1`` (or a split part with that origin)."""
    source = origin or key
    if not source.startswith("time:"):
        return None
    return source.split(":", 2)[1]


def _pct(m: Decimal, r: Decimal) -> Cell:
    return (m * 100 / r).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if r else ""


# --- margin ---------------------------------------------------------------------------------


def margin_tables(conn: Connection, period: str, *, entity: str | None = None,
                  revenue_mode: str = "on_invoice") -> tuple[tuple[Table, Table], list[str]]:
    """Margin by project and by service line for ``period`` (see the module docstring)."""
    start, end = period_start(period), period_end(period)
    info = project_info(conn)
    by_contract = _projects_by_contract(info)
    line_of: dict[str, str] = {code: p.service_line for code, p in info.items()}
    for k in conn.execute(select(contracts.c.number, contracts.c.service_line)):
        line_of.setdefault(by_contract.get(k.number, f"(contract {k.number})"), k.service_line)
    revenue: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    cost: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    hours: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    notes: list[str] = []

    def project_of(contract: str) -> str:
        return by_contract.get(contract, f"(contract {contract})")

    schedules = [s for s in _schedules(conn) if s.period == period]
    if revenue_mode == "engine" and schedules:
        notes.append("Revenue: recognized by the revenue engine's schedules for the period.")
        for s in schedules:
            revenue[(s.entity_code, project_of(s.contract_number), s.currency)] += s.revenue
    else:
        notes.append("Revenue: invoices of the period (net of tax) minus credit notes dated "
                     "in it.")
        for inv in conn.execute(select(invoices).where(invoices.c.period == period)):
            revenue[(inv.entity_code, project_of(inv.contract_number), inv.currency)] += \
                inv.subtotal
        for note in _credit_notes(conn):
            if start.isoformat() <= note.credit_date <= end.isoformat():
                revenue[(note.entity_code, project_of(note.contract_number), note.currency)] -= \
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


# --- RPO ------------------------------------------------------------------------------------


def rpo_table(conn: Connection, period: str, *, entity: str | None = None
              ) -> tuple[Table, list[str]]:
    """Remaining performance obligations at the end of ``period``: scheduled revenue of later
    periods per contract, in buckets of up to 12 months, 13–24 months, and beyond."""
    columns = ("entity", "contract", "currency", "within_12_months", "13_to_24_months",
               "beyond_24_months", "total")
    rows_in = _schedules(conn)
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


# --- unbilled aging -------------------------------------------------------------------------


def unbilled_items(conn: Connection, as_of: date, *, entity: str | None = None
                   ) -> list[tuple[Any, str, str]]:
    """Billable items unbilled at ``as_of``: (item row, entity, project), service date on or
    before it, not reversed/credited, and not invoiced on an invoice dated on or before it."""
    invoice_dates = {r.number: r.invoice_date
                     for r in conn.execute(select(invoices.c.number, invoices.c.invoice_date))}
    info = project_info(conn)
    by_contract = _projects_by_contract(info)
    entity_of = {r.number: r.entity_code
                 for r in conn.execute(select(contracts.c.number, contracts.c.entity_code))}
    out = []
    for item in conn.execute(select(billable_items).where(
            billable_items.c.service_date <= as_of.isoformat())
            .order_by(billable_items.c.service_date, billable_items.c.key)):
        if item.status in NOT_BILLABLE_ITEM_STATUSES:
            continue
        billed_on = invoice_dates.get(item.invoice_number or "")
        if billed_on is not None and billed_on <= as_of.isoformat():
            continue
        ent = entity_of.get(item.contract_number, "")
        if entity and ent != entity:
            continue
        out.append((item, ent, by_contract.get(item.contract_number, item.contract_number)))
    return out


def unbilled_aging_table(conn: Connection, period: str, entries: Sequence[JournalEntry],
                         charts: Mapping[str, ChartOfAccounts], *, entity: str | None = None
                         ) -> Table:
    as_of = period_end(period)
    buckets = (30, 60, 90)
    labels = ("0-30", "31-60", "61-90", "90+")
    cells: dict[tuple[str, str, str, str], list[Decimal]] = defaultdict(
        lambda: [ZERO] * len(labels))
    for item, ent, project in unbilled_items(conn, as_of, entity=entity):
        age = (as_of - date.fromisoformat(item.service_date)).days
        index = next((i for i, limit in enumerate(buckets) if age <= limit), len(buckets))
        cells[(ent, "billable_items", project, item.currency)][index] += item.amount
    rows: list[tuple[Cell, ...]] = [(*k, *v, sum(v, ZERO)) for k, v in sorted(cells.items())]
    gl = unbilled_aging(entries, charts, as_of)
    for g in gl.rows:
        rows.append((g[0], f"gl:{g[1]}", *g[2:]))
    return Table(f"WIP / unbilled aging at {as_of.isoformat()}",
                 ("entity", "source", "project", "currency", *labels, "total"), tuple(rows))


# --- close reconciliation -------------------------------------------------------------------

CHECK_COLUMNS = ("check", "entity", "unit", "expected", "actual", "difference", "differences",
                 "status", "note")
DIFF_COLUMNS = ("check", "cause", "object", "id", "entity", "unit", "expected", "actual",
                "difference", "detail")


@dataclass
class _Recon:
    checks: list[tuple[Cell, ...]] = field(default_factory=list)
    diffs: list[tuple[Cell, ...]] = field(default_factory=list)

    def diff(self, check: str, cause: str, obj: str, obj_id: str, entity: str, unit: str,
             expected: Decimal, actual: Decimal, detail: str = "") -> None:
        self.diffs.append((check, cause, obj, obj_id, entity, unit, expected, actual,
                           actual - expected, detail))

    def check(self, check: str, totals: Mapping[tuple[str, str], tuple[Decimal, Decimal]],
              note: str = "", *, entity: str | None = None) -> None:
        """One summary row per (entity, unit): expected vs actual and the differences found."""
        keys = sorted(k for k in totals if not entity or k[0] == entity)
        if not keys:
            self.checks.append((check, entity or "", "", ZERO, ZERO, ZERO, "0", "ok",
                                note or "nothing to reconcile"))
        for ent, unit in keys:
            expected, actual = totals[(ent, unit)]
            count = sum(1 for d in self.diffs if d[0] == check and d[4] == ent and d[5] == unit)
            status = "ok" if expected == actual and count == 0 else "differences"
            self.checks.append((check, ent, unit, expected, actual, actual - expected,
                                str(count), status, note))

    def skipped(self, check: str, note: str) -> None:
        self.checks.append((check, "", "", ZERO, ZERO, ZERO, "0", "skipped", note))


def _gl_balance(entries: Iterable[JournalEntry], charts: Mapping[str, ChartOfAccounts],
                role: str) -> dict[tuple[str, str], Decimal]:
    """Debit-positive balance per (entity, currency) of the account playing ``role``."""
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for e in entries:
        chart = charts.get(e.entity_id)
        if chart is None or not any(a.role == role for a in chart.accounts):
            continue
        code = chart.code(role)
        for ln in e.lines:
            if ln.account == code:
                out[(e.entity_id, ln.amount.currency)] += ln.signed
    return out


def _psa_hours_vs_recorded(conn: Connection, rec: _Recon, period: str,
                          entity: str | None) -> None:
    """What the PSA approved (every `time.approved` message received for the period, also
    those refused or parked) against the time Syncline recorded; each entry not recorded is
    listed with its cause: the exception's code, or the reason it is parked."""
    import json as _json

    from syncline.adapters.db.tables import inbox, parked, time_entries

    check = "PSA approved = recorded hours"
    start, end = period_start(period).isoformat(), period_end(period).isoformat()
    info = project_info(conn)
    rejected_by_psa = set()
    for r in conn.execute(select(inbox.c.raw).where((inbox.c.type == "time.rejected")
                                                    & (inbox.c.status == "applied"))):
        rejected_by_psa.add(_json.loads(r.raw)["data"]["time_entry_id"])
    recorded = {r.time_entry_id: r.hours for r in conn.execute(
        select(time_entries.c.time_entry_id, time_entries.c.hours).where(
            (time_entries.c.work_date >= start) & (time_entries.c.work_date <= end)))}
    open_exc = {r.inbox_id: r for r in conn.execute(
        select(exceptions.c.inbox_id, exceptions.c.id, exceptions.c.code).where(
            exceptions.c.status == "open"))}
    waiting = {r.inbox_id: r.reason for r in conn.execute(
        select(parked.c.inbox_id, parked.c.reason).where(parked.c.released_at.is_(None)))}
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    seen: set[str] = set()
    for r in conn.execute(select(inbox.c.id, inbox.c.raw, inbox.c.status).where(
            inbox.c.type == "time.approved").order_by(inbox.c.seq)):
        try:
            data = _json.loads(r.raw)["data"]
            entry_id, day = str(data["time_entry_id"]), str(data["work_date"])
        except (ValueError, KeyError, TypeError):
            continue
        if not (start <= day <= end) or entry_id in seen or entry_id in rejected_by_psa:
            continue
        seen.add(entry_id)
        project = info.get(str(data.get("project_code")))
        ent = project.entity if project else ""
        if entity and ent != entity:
            continue
        try:
            hours = Decimal(str(data.get("hours")))
        except ArithmeticError:
            hours = ZERO
        got = recorded.get(entry_id, ZERO)
        totals[(ent, "hours")][0] += hours
        totals[(ent, "hours")][1] += got
        if got == hours:
            continue
        exc = open_exc.get(r.id)
        if exc is not None:
            cause, detail = exc.code, f"exception {exc.id}"
        elif r.id in waiting:
            cause, detail = "parked", waiting[r.id]
        else:
            cause, detail = f"message_{r.status}", f"inbox {r.id}"
        rec.diff(check, cause, "time_entry", entry_id, ent, "hours", hours, got, detail)
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
              "every time.approved the PSA sent for the period vs time recorded; entity '' = "
              "project unknown", entity=entity)


def _card_increments(conn: Connection) -> dict[str, BillingIncrement]:
    """Billing increment of every rate card version, by its label ("STD-USD v2")."""
    return {f"{r.card_id} v{r.version}": BillingIncrement(r.increment_hours,
                                                          QuantityRounding(r.rounding))
            for r in conn.execute(select(rate_cards.c.card_id, rate_cards.c.version,
                                         rate_cards.c.increment_hours, rate_cards.c.rounding))}


def _hours_checks(conn: Connection, rec: _Recon, period: str, entity: str | None) -> None:
    start, end = period_start(period), period_end(period)
    info = project_info(conn)
    tm = {code for code, p in info.items() if p.billing_type == "time_and_materials"}
    approved = [t for t in costed_time(conn, start, end) if t.project_code in tm]
    # (entity, "hours") -> [approved, costed] / [approved billable, billed]
    hours: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    billable: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    origin_col = billable_items.c.get("origin")
    cols = [billable_items.c.key, billable_items.c.contract_number, billable_items.c.quantity,
            billable_items.c.status, billable_items.c.service_date, billable_items.c.rate_card]
    increments = _card_increments(conn)
    if origin_col is not None:
        cols.append(origin_col)
    tm_contracts = {info[c].contract for c in tm}
    items_by_time: dict[str, list[Any]] = defaultdict(list)
    for it in conn.execute(select(*cols).where(
            (billable_items.c.source == "time")
            & billable_items.c.contract_number.in_(sorted(tm_contracts)))):
        if it.status in NOT_BILLABLE_ITEM_STATUSES:
            continue
        time_id = _item_time_id(it.key, getattr(it, "origin", None))
        if time_id:
            items_by_time[time_id].append(it)
    seen: set[str] = set()
    for t in approved:
        ent = info[t.project_code].entity
        if entity and ent != entity:
            continue
        seen.add(t.time_entry_id)
        hours[(ent, "hours")][0] += t.hours
        if t.cost is not None:
            hours[(ent, "hours")][1] += t.hours
        else:
            rec.diff("approved = costed hours", "no_cost_rate", "time_entry", t.time_entry_id,
                     ent, "hours", t.hours, ZERO,
                     f"worker {t.worker_id} has no HR cost rate effective on {t.work_date}")
        items = items_by_time.get(t.time_entry_id, [])
        billed = sum((i.quantity for i in items), ZERO)
        # the hours to bill: worked hours after the pricing card's billing increment
        card = next((i.rate_card for i in items if i.rate_card), None)
        to_bill = round_quantity(t.hours, increments[card]) if card in increments else t.hours
        if not t.billable:
            if billed:
                rec.diff("approved billable = billable hours", "billed_non_billable_task",
                         "time_entry", t.time_entry_id, ent, "hours", ZERO, billed,
                         f"project {t.project_code}: the task is not billable")
            continue
        billable[(ent, "hours")][0] += to_bill
        billable[(ent, "hours")][1] += billed
        if billed != to_bill:
            cause = "not_billed" if not billed else "hours_differ"
            rec.diff("approved billable = billable hours", cause, "time_entry", t.time_entry_id,
                     ent, "hours", to_bill, billed,
                     f"project {t.project_code}, worked {t.work_date}: {t.hours} h"
                     + (f", billed by {card}" if card else ""))
    # items for time that is not approved (rejected after billing, or never arrived)
    for time_id, items in sorted(items_by_time.items()):
        if time_id in seen:
            continue
        in_period = [i for i in items if start.isoformat() <= i.service_date <= end.isoformat()]
        if not in_period:
            continue
        contract = in_period[0].contract_number
        ent = next((p.entity for p in info.values() if p.contract == contract), "")
        if entity and ent != entity:
            continue
        qty = sum((i.quantity for i in in_period), ZERO)
        billable[(ent, "hours")][1] += qty
        rec.diff("approved billable = billable hours", "billed_without_approved_time",
                 "time_entry", time_id, ent, "hours", ZERO, qty,
                 f"contract {contract}: item(s) {', '.join(i.key for i in in_period)}")
    rec.check("approved = costed hours", {k: (v[0], v[1]) for k, v in hours.items()},
              "T&M projects, approved time worked in the period", entity=entity)
    rec.check("approved billable = billable hours",
              {k: (v[0], v[1]) for k, v in billable.items()},
              "T&M projects: hours on billable tasks (after the pricing card's billing "
              "increment) vs hours on time billable items",
              entity=entity)


def _labor_cost_vs_gl(conn: Connection, rec: _Recon, period: str,
                      entries: Sequence[JournalEntry], charts: Mapping[str, ChartOfAccounts],
                      entity: str | None) -> None:
    """Approved time of the period costed at HR rates vs labor cost posted in the period."""
    check = "costed time = GL labor cost"
    start, end = period_start(period), period_end(period)
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for t in costed_time(conn, start, end):
        if t.cost is not None and t.cost_entity and t.cost_currency:
            totals[(t.cost_entity, t.cost_currency)][0] += t.cost
    for key in totals:
        totals[key][0] = totals[key][0].quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    in_period = [e for e in entries if period_of(e.posting_date) == period]
    for key, amount in _gl_balance(in_period, charts, "labor_cost").items():
        totals[key][1] = amount
    for (ent, cur), (costed, posted) in sorted(totals.items()):
        if costed != posted and (not entity or ent == entity):
            rec.diff(check, "cost_not_posted" if costed > posted else "posted_over_cost",
                     "entity", ent, ent, cur, costed, posted,
                     "approved time costed now vs labor cost journals of the period (time "
                     "approved after the cost was posted is not trued up yet)")
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
              "by the worker's entity and cost currency", entity=entity)


def _items_vs_lines(conn: Connection, rec: _Recon, period: str, entity: str | None) -> None:
    check = "invoiced items = invoice lines"
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    q = select(invoices).where(invoices.c.period == period)
    if entity:
        q = q.where(invoices.c.entity_code == entity)
    heads = {r.number: r for r in conn.execute(q)}
    if not heads:
        rec.check(check, {}, "no invoice in the period", entity=entity)
        return
    numbers = sorted(heads)
    lines: dict[str, list[Any]] = defaultdict(list)
    items: dict[str, list[Any]] = defaultdict(list)
    for chunk in range(0, len(numbers), 500):
        part = numbers[chunk:chunk + 500]
        for ln in conn.execute(select(invoice_lines).where(
                invoice_lines.c.invoice_number.in_(part))):
            lines[ln.invoice_number].append(ln)
        for it in conn.execute(select(billable_items.c.key, billable_items.c.amount,
                                      billable_items.c.invoice_number).where(
                billable_items.c.invoice_number.in_(part))):
            items[it.invoice_number].append(it)
    for number in numbers:
        inv = heads[number]
        key = (inv.entity_code, inv.currency)
        line_total = sum((ln.amount for ln in lines[number]), ZERO)
        item_total = sum((it.amount for it in items[number]), ZERO)
        totals[key][0] += line_total
        totals[key][1] += item_total
        on_lines = {k for ln in lines[number] for k in json.loads(ln.item_keys)}
        linked = {it.key for it in items[number]}
        for k in sorted(on_lines - linked):
            rec.diff(check, "line_item_not_linked", "billable_item", k, inv.entity_code,
                     inv.currency, ZERO, ZERO,
                     f"invoice {number} lists the item but the item is not marked invoiced on it")
        for k in sorted(linked - on_lines):
            amount = next(it.amount for it in items[number] if it.key == k)
            rec.diff(check, "item_not_on_invoice_lines", "billable_item", k, inv.entity_code,
                     inv.currency, ZERO, amount, f"marked invoiced on {number}")
        if line_total != item_total:
            rec.diff(check, "amount_differs", "invoice", number, inv.entity_code, inv.currency,
                     line_total, item_total, "sum of invoice lines vs sum of its items")
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
              "invoices of the period: invoice lines (expected) vs billable items invoiced "
              "on them (actual)", entity=entity)


def _ar_vs_gl(conn: Connection, rec: _Recon, period: str, entries: Sequence[JournalEntry],
              charts: Mapping[str, ChartOfAccounts], entity: str | None) -> None:
    check = "AR subledger = GL"
    end = period_end(period).isoformat()
    open_docs: dict[str, Decimal] = {}
    doc_key: dict[str, tuple[str, str]] = {}
    for inv in conn.execute(select(invoices).where(invoices.c.invoice_date <= end)):
        open_docs[inv.number] = inv.total
        doc_key[inv.number] = (inv.entity_code, inv.currency)
    note_of: dict[str, str] = {}
    for note in _credit_notes(conn):
        note_of[note.number] = note.invoice_number
        if note.credit_date <= end and note.invoice_number in open_docs:
            open_docs[note.invoice_number] -= note.total
    gl_by_doc: dict[str, Decimal] = defaultdict(Decimal)
    other: list[tuple[JournalEntry, Decimal, str]] = []
    # revaluation lines restate foreign AR in the functional currency: they have their own
    # check ("foreign balances revalued at closing rate"), not a document behind them
    entries = [e for e in entries if e.source_type != "fx_revaluation"]
    gl = _gl_balance(entries, charts, "accounts_receivable")
    for e in entries:
        chart = charts.get(e.entity_id)
        if chart is None:
            continue
        code = chart.code("accounts_receivable")
        amount = sum((ln.signed for ln in e.lines if ln.account == code), ZERO)
        if not amount:
            continue
        if e.source_type == "invoice":
            gl_by_doc[e.source_id] += amount
        elif e.source_type == "credit_note" and e.source_id in note_of:
            gl_by_doc[note_of[e.source_id]] += amount
        else:
            other.append((e, amount, e.lines[0].amount.currency))
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for number, amount in open_docs.items():
        ent, cur = doc_key[number]
        totals[(ent, cur)][0] += amount
        posted = gl_by_doc.get(number, ZERO)
        if posted != amount:
            cause = "invoice_not_posted" if not posted else "amount_differs"
            rec.diff(check, cause, "invoice", number, ent, cur, amount, posted,
                     "open amount (total less credit notes) vs its AR postings")
    for number, posted in gl_by_doc.items():
        if number not in open_docs:
            ent = next((e.entity_id for e in entries if e.source_id == number), "")
            cur = next((e.lines[0].amount.currency for e in entries if e.source_id == number),
                       "")
            rec.diff(check, "posting_without_invoice", "journal", f"invoice:{number}", ent, cur,
                     ZERO, posted, "AR posted for an invoice the subledger does not hold")
    for e, amount, cur in other:
        rec.diff(check, "other_ar_posting", "journal", f"{e.source_type}:{e.source_id}",
                 e.entity_id, cur, ZERO, amount, e.description)
    for key, amount in gl.items():
        totals[key][1] = amount
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
              "invoices to the period end less credit notes (no payments are recorded yet) vs "
              "the AR account balance", entity=entity)


def _unbilled_vs_gl(conn: Connection, rec: _Recon, period: str,
                    entries: Sequence[JournalEntry], charts: Mapping[str, ChartOfAccounts],
                    entity: str | None) -> None:
    check = "unbilled subledger = GL"
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    by_contract: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for item, ent, _ in unbilled_items(conn, period_end(period), entity=entity):
        totals[(ent, item.currency)][0] += item.amount
        by_contract[(ent, item.contract_number, item.currency)] += item.amount
    for key, amount in _gl_balance(entries, charts, "unbilled_receivable").items():
        totals[key][1] = amount
    for key, (sub, gl) in totals.items():
        if sub != gl:
            for (ent, contract, cur), amount in sorted(by_contract.items()):
                if (ent, cur) == key:
                    rec.diff(check, "unbilled_not_accrued" if not gl else "amount_differs",
                             "contract", contract, ent, cur, amount, ZERO,
                             "billable items not invoiced at the period end")
            if gl and not sub:
                rec.diff(check, "gl_without_unbilled_items", "account", "unbilled_receivable",
                         key[0], key[1], ZERO, gl, "")
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
              "billable items not invoiced at the period end vs the unbilled receivable "
              "balance (the close workflow's accrual posts it)", entity=entity)


def _contract_positions_vs_gl(conn: Connection, rec: _Recon, period: str,
                              entries: Sequence[JournalEntry],
                              charts: Mapping[str, ChartOfAccounts],
                              entity: str | None) -> None:
    """Revenue-engine mode: per contract, revenue R against billings B (net of credits)
    gives one net position (ASC 606-10-45-1): unbilled receivable max(0, R − B) or deferred
    revenue max(0, B − R). The subledgers are their sums; the GL must hold the same."""
    from syncline.services.revenue.sync import contract_positions

    positions = [p for p in contract_positions(conn, period) if not entity or p[1] == entity]
    for check, role, sign, cause in (
            ("unbilled subledger = GL", "unbilled_receivable", 1, "contract_asset"),
            ("deferred subledger = GL", "contract_liability", -1, "contract_liability")):
        totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        per_contract = []
        for number, ent, cur, revenue, billed in positions:
            value = max(ZERO, (revenue - billed) * sign)
            totals[(ent, cur)][0] += value
            per_contract.append((number, ent, cur, value))
        for key, amount in _gl_balance(entries, charts, role).items():
            totals[key][1] = amount * sign
        for key, (sub, gl) in totals.items():
            if sub != gl:
                for number, ent, cur, value in per_contract:
                    if (ent, cur) == key and value:
                        rec.diff(check, cause, "contract", number, ent, cur, value, ZERO,
                                 "the contract's position in the subledger")
                rec.diff(check, "gl_differs", "account", role, key[0], key[1], sub, gl, "")
        rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
                  "per contract: revenue recognized vs billed net of credit notes",
                  entity=entity)


def _revenue_vs_gl(conn: Connection, rec: _Recon, period: str,
                   entries: Sequence[JournalEntry], charts: Mapping[str, ChartOfAccounts],
                   entity: str | None, revenue_mode: str) -> None:
    check = "revenue schedules = GL revenue"
    schedules = [s for s in _schedules(conn) if s.period == period]
    if not schedules:
        rec.skipped(check, "no revenue schedules stored for the period")
        return
    if revenue_mode != "engine":
        rec.skipped(check, "revenue is recognized on invoice (SYNCLINE_REVENUE_RECOGNITION="
                           "on_invoice): schedules do not drive the GL")
        return
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for s in schedules:
        totals[(s.entity_code, s.currency)][0] += s.revenue
    for e in entries:
        if period_of(e.posting_date) != period:
            continue
        chart = charts.get(e.entity_id)
        for ln in e.lines:
            account = chart.by_code(ln.account) if chart else None
            if account is not None and account.type is AccountType.REVENUE \
                    and account.role.startswith("revenue:"):
                totals[(e.entity_id, ln.amount.currency)][1] -= ln.signed
    for (ent, cur), (sched, gl) in totals.items():
        if sched != gl:
            rec.diff(check, "amount_differs", "entity", ent, ent, cur, sched, gl,
                     "scheduled revenue of the period vs revenue posted in it")
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()}, entity=entity)


def _open_exceptions(conn: Connection) -> Table:
    rows = tuple(
        (r.id, r.domain, r.severity, r.code, r.created_at, r.message)
        for r in conn.execute(select(exceptions).where(
            (exceptions.c.status == "open")
            & ((exceptions.c.severity == "critical") | exceptions.c.code.like("ledger.%")))
            .order_by(exceptions.c.created_at, exceptions.c.id)))
    return Table("Open critical exceptions (and unposted journals)",
                 ("id", "domain", "severity", "code", "created_at", "message"), rows)


def _intercompany_checks(conn: Connection, rec: _Recon, period: str,
                         entries: Sequence[JournalEntry], charts: Mapping[str, ChartOfAccounts],
                         entity: str | None) -> None:
    """Receivable held by the provider = payable held by the recipient, per entity pair and
    currency (every entity's books, whichever entity is closed); and the period's
    cross-entity time = the hours charged for it."""
    from syncline.ledger.intercompany import CHARGE, COUNTERPARTY, intercompany_mismatches
    from syncline.services.close.intercompany import SOURCE_TYPE, cross_entity_time, source_id

    check = "intercompany receivable = payable"
    books = entries if entity is None else load_entries(conn, through=period)
    charged = [e for e in books if e.source_type == SOURCE_TYPE]
    mismatched = {(m.creditor, m.debtor, m.currency) for m in
                  intercompany_mismatches(books, charts)}
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    by_source: dict[tuple[str, str, str], dict[str, list[Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: [ZERO, ZERO]))
    for e in books:
        chart = charts.get(e.entity_id)
        if chart is None:
            continue
        roles = {a.code: a.role for a in chart.accounts
                 if a.role in ("intercompany_receivable", "intercompany_payable")}
        for ln in e.lines:
            other = dict(ln.dimensions).get(COUNTERPARTY)
            role = roles.get(ln.account)
            if other is None or role is None:
                continue
            receivable = role == "intercompany_receivable"
            pair = (e.entity_id, other) if receivable else (other, e.entity_id)
            if entity and entity not in pair:
                continue
            key = (pair[0], pair[1], ln.amount.currency)
            side = 0 if receivable else 1
            amount = ln.signed if receivable else -ln.signed
            row = (entity or pair[0], f"{ln.amount.currency} {pair[0]}->{pair[1]}")
            totals[row][side] += amount
            charge = dict(e.metadata).get(CHARGE, f"{e.source_type}:{e.source_id}")
            by_source[key][charge][side] += amount
    for (creditor, debtor, cur), sources in sorted(by_source.items()):
        if (creditor, debtor, cur) not in mismatched:
            continue
        for obj, (rec_amt, pay_amt) in sorted(sources.items()):
            if rec_amt == pay_amt:
                continue
            cause = ("payable_not_posted" if not pay_amt else
                     "receivable_not_posted" if not rec_amt else "amount_differs")
            rec.diff(check, cause, "intercompany_charge", obj, entity or creditor,
                     f"{cur} {creditor}->{debtor}", rec_amt, pay_amt,
                     f"{creditor}'s receivable from {debtor} vs {debtor}'s payable to "
                     f"{creditor}")
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
              "balances to the period end: provider's receivable (expected) vs recipient's "
              "payable (actual)", entity=entity)

    check = "cross-entity time = intercompany charges"
    hours: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    expected: dict[str, tuple[str, str, Decimal]] = {}
    for t in cross_entity_time(conn, period_start(period), period_end(period)):
        if entity and entity not in (t.provider, t.recipient):
            continue
        sid = source_id(t.provider, t.recipient, t.project, period)
        _, _, h = expected.get(sid, (t.provider, t.recipient, ZERO))
        expected[sid] = (t.provider, t.recipient, h + t.hours)
    posted: dict[str, Decimal] = {}
    for e in charged:
        meta = dict(e.metadata)
        charge = meta.get(CHARGE, "")
        if meta.get("period") == period and charge.split(":")[1:2] == [e.entity_id]:
            posted[charge] = Decimal(meta.get("hours", "0"))  # the provider's entry
    open_excs = _ledger_exceptions(conn)
    for sid in sorted(set(expected) | set(posted)):
        provider, recipient = sid.split(":")[1:3]
        if entity and entity not in (provider, recipient):
            continue
        want = expected.get(sid, (provider, recipient, ZERO))[2]
        got = posted.get(sid, ZERO)
        row = (entity or provider, f"hours {provider}->{recipient}")
        hours[row][0] += want
        hours[row][1] += got
        if want != got:
            cause = ("charge_not_posted" if not got else "charged_without_time" if not want
                     else "time_after_charge")
            why = _blocking(open_excs, (("journal", f"{SOURCE_TYPE}:{sid}"),
                                        ("journal", f"{SOURCE_TYPE}:{sid}:{provider}"),
                                        ("journal", f"{SOURCE_TYPE}:{sid}:{recipient}"),
                                        ("period", f"{provider}:{period}"),
                                        ("period", f"{recipient}:{period}")))
            rec.diff(check, cause, "intercompany_charge", sid, row[0], row[1],
                     want, got, f"exception {why}" if why else
                     "approved cross-entity hours of the period vs hours charged")
    rec.check(check, {k: (v[0], v[1]) for k, v in hours.items()},
              "approved hours of workers on other entities' projects vs hours charged",
              entity=entity)


def _ledger_exceptions(conn: Connection) -> list[tuple[str, list[tuple[str, str]]]]:
    """Open ``ledger.*`` exceptions (id, objects), oldest first."""
    return [(str(r.id), [(o[0], o[1]) for o in json.loads(r.objects)])
            for r in conn.execute(select(exceptions.c.id, exceptions.c.objects).where(
                exceptions.c.code.like("ledger.%") & (exceptions.c.status == "open"))
                .order_by(exceptions.c.created_at, exceptions.c.id))]


def _blocking(excs: Sequence[tuple[str, list[tuple[str, str]]]],
              wanted: Iterable[tuple[str, str]]) -> str | None:
    """The first open exception naming any of ``wanted`` (kind, id)."""
    keys = set(wanted)
    return next((exc_id for exc_id, objects in excs if keys & set(objects)), None)


def _revaluation_check(conn: Connection, rec: _Recon, period: str,
                       entries: Sequence[JournalEntry], charts: Mapping[str, ChartOfAccounts],
                       entity: str | None, policy: Any, functional: Mapping[str, str]) -> None:
    """Each open foreign-currency balance of the revalued roles is carried at its closing
    rate: round(balance × closing rate) (expected) vs the carrying amount (actual)."""
    from syncline.billing.fx import FxRateMissing
    from syncline.ledger.fx import FxError, convert
    from syncline.services.close.fx_revaluation import closing_rates, positions

    check = "foreign balances revalued at closing rate"
    if policy is None:
        rec.skipped(check, "no revaluation policy given (the close passes the ledger "
                           "configuration's)")
        return
    if not policy.enabled:
        rec.skipped(check, "fx_revaluation.enabled is false in the ledger configuration")
        return
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    as_charts_ = Charts(charts)
    for ent in sorted({e.entity_id for e in entries}):
        if (entity and ent != entity) or ent not in functional:
            continue
        cur_f = functional[ent]
        found = positions(entries, ent, as_charts_, cur_f, period, policy)
        if isinstance(found, FxError):
            rec.diff(check, found.problem, "entity", ent, ent, cur_f, ZERO, ZERO, found.message)
            totals[(ent, cur_f)] = [ZERO, ZERO]
            continue
        rates = closing_rates(conn, sorted({p.balance.currency for p in found}), cur_f, period)
        for p in found:
            cur = p.balance.currency
            rate = rates[cur]
            unit = f"{cur_f} ({cur} {p.account})"
            actual = p.carrying.amount
            if p.balance.is_zero:
                want = ZERO
            elif isinstance(rate, FxRateMissing):
                totals[(ent, unit)][1] += actual
                rec.diff(check, "closing_rate_missing", "fx_rate", f"{cur}/{cur_f}", ent, unit,
                         ZERO, actual, rate.message)
                continue
            else:
                want = convert(p.balance, rate).amount
            totals[(ent, unit)][0] += want
            totals[(ent, unit)][1] += actual
            if want != actual:
                rec.diff(check, "not_revalued", "account", p.account, ent, unit, want, actual,
                         f"{p.balance.canonical()} carried at {p.carrying.canonical()}")
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
              f"roles {', '.join(policy.roles)}: balance at the closing rate (expected) vs "
              "carrying amount (actual)", entity=entity)


def close_reconciliation(conn: Connection, period: str, *, entity: str | None = None,
                         ref: ReferenceData = DEFAULT_REFERENCE,
                         chart: Charts | ChartOfAccounts = DEFAULT_CHART,
                         revenue_mode: str = "on_invoice", revaluation: Any = None,
                         functional: Mapping[str, str] | None = None) -> Report:
    """The close checks for ``period``: a summary row per check, entity and unit; every
    difference by cause and object; the open critical exceptions. ``revaluation``: the
    ledger configuration's ``RevaluationPolicy`` (the revaluation check is skipped without
    it); ``functional``: functional currency per entity (the reference data's by default)."""
    charts = charts_for(conn, ref, chart)
    entries = load_entries(conn, through=period, entity=entity)
    rec = _Recon()
    _psa_hours_vs_recorded(conn, rec, period, entity)
    _hours_checks(conn, rec, period, entity)
    _labor_cost_vs_gl(conn, rec, period, entries, charts, entity)
    _items_vs_lines(conn, rec, period, entity)
    _ar_vs_gl(conn, rec, period, entries, charts, entity)
    if revenue_mode == "engine":
        _contract_positions_vs_gl(conn, rec, period, entries, charts, entity)
    else:
        _unbilled_vs_gl(conn, rec, period, entries, charts, entity)
        rec.skipped("deferred subledger = GL",
                    "revenue is recognized on invoice (on_invoice mode): no deferred revenue")
    _revenue_vs_gl(conn, rec, period, entries, charts, entity, revenue_mode)
    _intercompany_checks(conn, rec, period, entries, charts, entity)
    _revaluation_check(conn, rec, period, entries, charts, entity, revaluation,
                       functional or functional_currencies(ref))
    excs = _open_exceptions(conn)
    rec.checks.append(("open critical exceptions", entity or "", "count", ZERO,
                       Decimal(len(excs.rows)), Decimal(len(excs.rows)), str(len(excs.rows)),
                       "ok" if not excs.rows else "differences", "listed below"))
    if entity:
        rec.diffs = [d for d in rec.diffs if d[4] == entity]
    ok = all(c[7] in ("ok", "skipped") for c in rec.checks)
    return Report("close-reconciliation", period, entity, (
        Table(f"Close reconciliation {period}", CHECK_COLUMNS, tuple(rec.checks)),
        Table("Differences by cause and object", DIFF_COLUMNS, tuple(rec.diffs)),
        excs,
    ), ("All checks agree." if ok else "Some checks show differences: see the differences "
        "table (cause and object).",))


# --- the report registry ------------------------------------------------------------------


def build_report(
    conn: Connection,
    name: str,
    period: str,
    *,
    entity: str | None = None,
    ref: ReferenceData = DEFAULT_REFERENCE,
    chart: Charts | ChartOfAccounts = DEFAULT_CHART,
    months: int = 12,
    revenue_mode: str = "on_invoice",
) -> Report:
    if name not in REPORTS:
        raise UnknownReport(f"unknown report {name!r}: expected one of {', '.join(REPORTS)}")
    if not is_period_name(period):
        raise ValueError(f"not a period {period!r}: expected YYYY-MM")
    if name == "close-reconciliation":
        return close_reconciliation(conn, period, entity=entity, ref=ref, chart=chart,
                                    revenue_mode=revenue_mode)
    if name == "rpo":
        table, notes = rpo_table(conn, period, entity=entity)
        return Report(name, period, entity, (table,), tuple(notes))
    if name == "margin":
        tables, notes = margin_tables(conn, period, entity=entity, revenue_mode=revenue_mode)
        return Report(name, period, entity, tables, tuple(notes))
    charts = charts_for(conn, ref, chart)
    entries = load_entries(conn, through=period, entity=entity)
    if name == "trial-balance":
        return Report(name, period, entity, (trial_balance_table(entries, charts),), (
            f"Balances as at {period_end(period).isoformat()}: every entry dated on or before "
            "it, in the transaction currency.",))
    if name == "unbilled-aging":
        return Report(name, period, entity,
                      (unbilled_aging_table(conn, period, entries, charts, entity=entity),), (
                          "billable_items: approved work not invoiced at the period end, aged "
                          "by service date; gl:<role>: GL balances aged first in, first out.",))
    window = _trim(months_up_to(period, months), entries)
    if name == "revenue-waterfall":
        return Report(name, period, entity, (revenue_waterfall(entries, charts, window),), (
            "Revenue posted per month (credits less debits on revenue accounts).",))
    return Report(name, period, entity,
                  (deferred_revenue_rollforward(entries, charts, window),),
                  ("Contract liability (deferred revenue), credit-positive.",))


# --- rendering ------------------------------------------------------------------------------


def report_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2)


def report_csv(report: Report) -> str:
    """One table: plain CSV. Several: each after a row holding its title, a blank row
    between them."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    many = len(report.tables) > 1
    for i, table in enumerate(report.tables):
        if many:
            if i:
                writer.writerow([])
            writer.writerow([table.title])
        writer.writerow(table.columns)
        writer.writerows([_plain(c) for c in row] for row in table.rows)
    return buf.getvalue()


def report_xlsx(report: Report, path: str | Path) -> None:
    """One worksheet per table; amounts as numbers, a notes sheet when there are notes."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook()
    first = True
    for i, table in enumerate(report.tables):
        sheet = book.active if first else book.create_sheet()
        first = False
        assert sheet is not None
        sheet.title = _sheet_name(table.title, i)
        sheet.append(list(table.columns))
        for row in table.rows:
            sheet.append(list(row))
    if report.notes:
        notes = book.create_sheet("Notes")
        for note in report.notes:
            notes.append([note])
    book.save(str(path))


def _sheet_name(title: str, index: int) -> str:
    cleaned = "".join(ch for ch in title if ch not in "[]:*?/\\")
    return (cleaned[:28] or "Sheet") + (f" {index + 1}" if index else "")


# --- exports of the stored books ----------------------------------------------------------

EXPORTS: tuple[str, ...] = ("beancount", "netsuite-csv", "qbo", "xero")
EXPORT_MEDIA = {"beancount": "text/plain", "netsuite-csv": "text/csv",
                "qbo": "application/json", "xero": "application/json"}


class UnknownExport(ValueError):
    pass


def export_books(
    conn: Connection,
    fmt: str,
    *,
    period: str | None = None,
    entity: str | None = None,
    ref: ReferenceData = DEFAULT_REFERENCE,
    chart: Charts | ChartOfAccounts = DEFAULT_CHART,
) -> Exported[str]:
    """The stored books (entries of ``period`` if given, else all) as a file's text.

    - ``beancount``: a file ``bean-check`` accepts (every chart account opened);
    - ``netsuite-csv``: the journal entry CSV import (Subsidiary = the entity's name);
    - ``qbo``: ``{entity: [JournalEntry body, …]}`` — one body per entry and currency,
      to POST to that entity's company (A/R lines carry the Syncline customer id as Entity);
    - ``xero``: ``{entity: {"ManualJournals": […]}}`` in each entity's base currency.

    Invoice and credit note entries get their document's dimensions (customer, contract,
    project, service line) where their lines lack them. Entries that cannot be exported are
    left out and returned as errors next to the content.
    """
    from syncline.ledger.exports.beancount import to_beancount
    from syncline.ledger.exports.netsuite import to_netsuite_csv
    from syncline.ledger.exports.qbo import qbo_journal_entries
    from syncline.ledger.exports.xero import xero_manual_journals, xero_request

    if fmt not in EXPORTS:
        raise UnknownExport(f"unknown export {fmt!r}: expected one of {', '.join(EXPORTS)}")
    entries = with_document_dimensions(conn, load_entries(conn, period=period, entity=entity))
    charts = charts_for(conn, ref, chart)
    if entity:
        charts = {k: v for k, v in charts.items() if k == entity}
    functional = functional_currencies(ref)
    if fmt == "beancount":
        title = "Syncline books" + (f" {period}" if period else "") + (
            f" {entity}" if entity else "")
        currencies = sorted({functional[e] for e in charts if e in functional})
        return to_beancount(entries, charts, title=title,
                            open_date=period_start(period) if period else None,
                            operating_currencies=currencies)
    if fmt == "netsuite-csv":
        names = {e.code: e.name for e in ref.entities}
        return to_netsuite_csv(entries, charts, subsidiaries=names)
    if fmt == "qbo":
        made = qbo_journal_entries(entries, charts)
        grouped: dict[str, list[object]] = defaultdict(list)
        for p in made.content:
            grouped[p.entity_id].append(p.body)
        return Exported(dumps_json(dict(sorted(grouped.items()))), made.errors)
    xero = xero_manual_journals(entries, charts, functional)
    per_entity: dict[str, list[Payload]] = defaultdict(list)
    for p in xero.content:
        per_entity[p.entity_id].append(p)
    return Exported(dumps_json({k: xero_request(v) for k, v in sorted(per_entity.items())}),
                    xero.errors)

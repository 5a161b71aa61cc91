"""The ``margin`` report: by project and by service line for the period — revenue from invoices
plus the credit notes (negative), or from revenue schedules in revenue-engine mode; labor
cost from approved time at the HR cost rate effective on each work date (``time_entries`` ×
``worker_versions``), plus the cost of expenses not rebilled as the ledger posted it in the
period (``expense_cost`` entries, in the entity's functional currency)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Connection, select

from syncline.adapters.db.billing_tables import expenses
from syncline.adapters.db.tables import contracts, invoices
from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.carried import Books
from syncline.ledger.journal import JournalEntry
from syncline.ledger.periods import period_start
from syncline.ledger.reports import Cell, Table
from syncline.services.ledger.held import held, holding
from syncline.services.ledger.queries import period_end
from syncline.services.ledger.reports.common import (
    ZERO,
    ProjectInfo,
    contract_of_entries,
    costed_time,
    credit_notes,
    posted_revenue,
    project_info,
    projects_by_contract,
    revenue_schedules,
    scheduled_cumulative,
)
from syncline.services.ledger.reports.snapshots import reported_before

CENT = Decimal("0.01")


def _pct(m: Decimal, r: Decimal) -> Cell:
    return (m * 100 / r).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if r else ""


def margin_tables(conn: Connection, period: str, *, entity: str | None = None,
                  revenue_mode: str = "on_invoice", books: Books = Books(),
                  charts: Mapping[str, ChartOfAccounts] | None = None,
                  ) -> tuple[tuple[Table, Table], list[str]]:
    """Margin by project and by service line for ``period`` (see the module docstring).
    ``books`` (through the period end, ``services.ledger.carried``) and ``charts``: the
    revenue posted before the period, in revenue-engine mode, and the period's expenses."""
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

    if revenue_mode == "engine" and any(s.period == period for s in revenue_schedules(conn)):
        notes.append("Revenue: per contract, its schedule's cumulative revenue at the period "
                     "end less the revenue posted for it before the period (a late change "
                     "is revenue of the open period).")
        posted = posted_revenue(books, charts or {}, contract_of_entries(conn), period)
        for number, (ent, cur, cum) in scheduled_cumulative(conn, period).items():
            due = cum - posted.before.get(number, ZERO)
            if due:
                revenue[(ent, project_of(number), cur)] += due
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
    missing_rate = _cost(conn, info, start, end, cost, hours)
    if _expense_cost(conn, books.entries, charts or {}, period, project_of, cost):
        notes.append("Cost includes expenses not rebilled, as journaled in the period "
                     "(expense_cost; a rejection after posting takes it back).")
    late = _late_cost(conn, info, period, cost, hours)
    notes.append("Cost: approved time of the period at the HR cost rate effective on each work "
                 "date; a project billed in one currency and costed in another shows one row "
                 "per currency.")
    if late:
        notes.append("Cost includes late changes to closed months (time approved or rejected "
                     "after their close, not reported by any close yet): a closed month's "
                     "cost never changes, the change is cost of this period.")
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


def _expense_cost(conn: Connection, entries: Sequence[JournalEntry],
                  charts: Mapping[str, ChartOfAccounts], period: str,
                  project_of: Callable[[str], str],
                  cost: dict[tuple[str, str, str], Decimal]) -> bool:
    """Add the expense cost journaled in ``period`` per (entity, project, currency): the
    entries' debit-positive amount on the ``project_expense`` account; whether there was any."""
    contract_of = {r.expense_id: r.contract_number for r in conn.execute(
        select(expenses.c.expense_id, expenses.c.contract_number))}
    found = False
    for e in entries:
        chart = charts.get(e.entity_id)
        if e.source_type != "expense_cost" or chart is None or \
                f"{e.posting_date:%Y-%m}" != period:
            continue
        contract = contract_of.get(e.source_id.removesuffix(":reversal"))
        code = chart.code("project_expense")
        for ln in e.lines:
            if ln.account == code and contract is not None:
                cost[(e.entity_id, project_of(contract), ln.amount.currency)] += ln.signed
                found = True
    return found


def _cost(conn: Connection, info: Mapping[str, ProjectInfo], start: date, end: date,
          cost: dict[tuple[str, str, str], Decimal],
          hours: dict[tuple[str, str, str], Decimal]) -> int:
    """Add approved time worked in [start, end] at HR cost rates, per (entity, project, cost
    currency); the number of entries without a cost rate."""
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
    return missing_rate


def _late_cost(conn: Connection, info: Mapping[str, ProjectInfo], period: str,
               cost: dict[tuple[str, str, str], Decimal],
               hours: dict[tuple[str, str, str], Decimal]) -> bool:
    """Add the late changes to closed months before ``period`` not reported yet: for each
    (entity, project, currency), the cost and hours of those months as known now less what
    their closes reported (each close reported its own month and the late changes before
    it, so the difference is what no close has reported). Whether there were any. The same
    for every scope: worked out once per close step (``held``), each scope's rows are its
    entity's keys."""
    late = held(conn, ("margin_late_cost", period), lambda: _late_known(conn, info, period))
    if late is None:
        return False
    known_cost, known_hours = late
    changed = False
    for key in set(known_cost) | set(known_hours):
        late_cost, late_hours = known_cost.get(key, ZERO), known_hours.get(key, ZERO)
        if late_cost or late_hours:
            cost[key] += late_cost
            hours[key] += late_hours
            changed = True
    return changed


def _late_known(conn: Connection, info: Mapping[str, ProjectInfo], period: str
                ) -> tuple[dict[tuple[str, str, str], Decimal],
                           dict[tuple[str, str, str], Decimal]] | None:
    """Per (entity, project, currency): the cost and hours of the closed months reported before
    ``period`` as known now less what their closes reported; None when nothing was reported."""
    recorded = reported_before(conn, "margin", period)
    if not recorded:
        return None
    known_cost: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    known_hours: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    by_month: dict[str, set[str]] = defaultdict(set)
    for month, ent in recorded:
        by_month[month].add(ent)
    # imported here: labor_cost_months imports this package's ``common`` (see registry.py)
    from syncline.services.ledger.labor_cost_months import month_costs

    # current cells, not re-costed; in a close step, every month's through the period, held
    months = (month_costs(conn, None, period) if holding(conn)
              else month_costs(conn, min(by_month), max(by_month)))
    for month, ents in sorted(by_month.items()):
        got_cost: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        got_hours: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        for c in months.get(month, ()):
            if not c.rated:
                continue
            p = info.get(c.project_code)
            key = (p.entity if p else c.cost_entity, c.project_code, c.cost_currency)
            got_cost[key] += c.cost
            got_hours[key] += c.hours
        for key, amount in got_cost.items():
            if key[0] in ents:
                known_cost[key] += amount.quantize(CENT, rounding=ROUND_HALF_UP)
                known_hours[key] += got_hours[key]
    for rows in recorded.values():
        for row in rows:
            key = (str(row["entity"]), str(row["project"]), str(row["currency"]))
            known_cost[key] -= Decimal(row["cost"])
            known_hours[key] -= Decimal(row["hours"])
    return known_cost, known_hours

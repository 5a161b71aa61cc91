"""One contract's share of the books and of the margin report, read for that contract only (the
contract statement, ``statements.py``; ADR 0023). Each read answers what the firm-wide read it
replaces answers for the contract — the property ``tests/property/test_contract_reads.py``
holds them equal — without reading the entity's whole books, the month's whole time or the
whole margin report:

- ``contract_entries``: the contract's journal entries (its invoices', its credit notes', its
  revenue true-ups ``revenue:<contract>:…``) of its entity through a month, found by the
  unique (source type, source id) index — what ``load_entries(through=, entity=)`` filtered
  by ``contract_of_entries`` gives;
- ``project_costed_time``: the approved time of some projects in a date range, costed at the
  HR rate as ``costed_time`` costs the firm's (the projects' time by its index, the versions
  of just their workers);
- ``project_labor``: per cost currency, the cost and hours of the margin report's rows of
  some projects of one contract (``options.build(conn, "margin", …, entity=)``): a closed
  month as its close recorded it (``as_of="close"``), else the month's time, the contract's
  expenses not rebilled journaled in the month, and the late changes to the entity's closed
  months not reported yet, each key rounded as the report rounds it.

The close keeps its own firm-wide reads (held once for every scope of a close step); these
are for a page that shows one contract.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.billing_tables import credit_notes, expenses
from syncline.adapters.db.ledger_tables import report_snapshots
from syncline.adapters.db.tables import invoices, journal_entries, time_entries, worker_versions
from syncline.ledger.carried import entry_contract
from syncline.ledger.journal import JournalEntry
from syncline.ledger.periods import period_end, period_start
from syncline.services.ledger.periods import statuses
from syncline.services.ledger.queries import charts_for, entries_of
from syncline.services.ledger.reports.common import ZERO, CostedTime, cost_rows
from syncline.services.ledger.reports.registry import ReportOptions
from syncline.services.ledger.reports.snapshots import CLOSED, first_rows, reported, scope_of

CHUNK = 500  # keys in one IN (…) look-up
CENT = Decimal("0.01")
Key = tuple[str, str, str]  # (entity, project, currency), as the margin report keys its rows


def _chunks(items: Sequence[str]) -> list[list[str]]:
    return [list(items[i:i + CHUNK]) for i in range(0, len(items), CHUNK)]


def contract_entries(conn: Connection, number: str, entity: str, through: str
                     ) -> list[JournalEntry]:
    """The journal entries of contract ``number`` in ``entity``'s books dated up to the end of
    ``through``, in posting order (date, posted at, id)."""
    docs = sorted(set(conn.execute(select(invoices.c.number).where(
        invoices.c.contract_number == number)).scalars()) | set(conn.execute(
            select(credit_notes.c.number).where(
                credit_notes.c.contract_number == number)).scalars()))
    j = journal_entries.c
    mine = (j.source_type == "revenue") & j.source_id.startswith(f"revenue:{number}:",
                                                                 autoescape=True)
    for part in _chunks(docs):
        mine |= j.source_type.in_(("invoice", "credit_note")) & j.source_id.in_(part)
    heads = conn.execute(select(journal_entries).where(
        mine & (j.entity_code == entity)
        & (j.posting_date <= period_end(through).isoformat()))
        .order_by(j.posting_date, j.posted_at, j.id)).all()
    # the document → contract map the firm-wide read uses (a credit note's number over an
    # invoice's), for just these entries' documents
    sources = sorted({h.source_id for h in heads if h.source_type != "revenue"})
    of_doc: dict[str, str] = {}
    for table in (invoices, credit_notes):
        for part in _chunks(sources):
            of_doc.update((r.number, r.contract_number) for r in conn.execute(
                select(table.c.number, table.c.contract_number).where(
                    table.c.number.in_(part))))
    return [e for e in entries_of(conn, heads) if entry_contract(e, of_doc) == number]


def project_costed_time(conn: Connection, codes: Sequence[str], start: Any, end: Any
                        ) -> list[CostedTime]:
    """``[t for t in costed_time(conn, start, end) if t.project_code in codes]``, from the
    projects' own time and their workers' versions."""
    t = time_entries.c
    rows = [r for part in _chunks(sorted(set(codes))) for r in conn.execute(
        select(t.time_entry_id, t.worker_id, t.project_code, t.work_date, t.hours, t.billable)
        .where((t.status == "approved") & (t.work_date >= start.isoformat())
               & (t.work_date <= end.isoformat()) & t.project_code.in_(part)))]
    rows.sort(key=lambda r: r.time_entry_id)  # costed_time's order (one read per chunk)
    versions: dict[str, list[Any]] = defaultdict(list)
    for part in _chunks(sorted({r.worker_id for r in rows})):
        for v in conn.execute(select(worker_versions).where(
                worker_versions.c.worker_id.in_(part)).order_by(
                    worker_versions.c.effective_date, worker_versions.c.sequence)):
            versions[v.worker_id].append(v)
    return cost_rows(rows, versions)


def project_labor(conn: Connection, number: str, codes: Sequence[str], entity: str,
                  period: str, options: ReportOptions, *, as_of: str = "close"
                  ) -> dict[str, tuple[Decimal, Decimal]]:
    """Cost currency → (cost, hours) summed over the rows of projects ``codes`` (contract
    ``number``'s, in ``entity``) of the margin report of ``entity`` for ``period``."""
    wanted = set(codes)
    if not wanted:
        return {}
    if as_of == "close":
        recorded = reported(conn, "margin", period, entity, [e.code for e in options.ref.entities])
        if recorded is not None:
            return _by_currency((str(r["currency"]), Decimal(r["cost"]), Decimal(r["hours"]))
                                for r in recorded.tables[0].as_dicts() if r["project"] in wanted)
    cost: dict[Key, Decimal] = defaultdict(Decimal)
    hours: dict[Key, Decimal] = defaultdict(Decimal)
    for t in project_costed_time(conn, codes, period_start(period), period_end(period)):
        if t.cost is None or t.cost_currency is None:
            continue
        cost[(entity, t.project_code, t.cost_currency)] += t.cost
        hours[(entity, t.project_code, t.cost_currency)] += t.hours
    _expense_cost(conn, number, min(wanted), entity, period, options, cost)
    _late_cost(conn, wanted, entity, period, cost, hours)
    return _by_currency((key[2], amount.quantize(Decimal("0.01")), hours.get(key, ZERO))
                        for key, amount in cost.items())


def _by_currency(rows: Any) -> dict[str, tuple[Decimal, Decimal]]:
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for currency, cost, hours in rows:
        was = out.get(currency, (ZERO, ZERO))
        out[currency] = (was[0] + cost, was[1] + hours)
    return out


def _expense_cost(conn: Connection, number: str, project: str, entity: str, period: str,
                  options: ReportOptions, cost: dict[Key, Decimal]) -> None:
    """The margin's expense cost of the contract: its expenses' ``expense_cost`` entries
    (and their reversals) in ``entity``'s month, on the ``project_expense`` account, under
    the contract's first project (the margin's ``project_of``). The month's entries are one
    range of the (entity, date) index."""
    chart = charts_for(conn, options.ref, options.chart).get(entity)
    if chart is None:
        return
    j = journal_entries.c
    heads = conn.execute(select(journal_entries).where(
        (j.entity_code == entity) & (j.posting_date >= period_start(period).isoformat())
        & (j.posting_date <= period_end(period).isoformat())
        & (j.source_type == "expense_cost"))
        .order_by(j.posting_date, j.posted_at, j.id)).all()
    ids = sorted({h.source_id.removesuffix(":reversal") for h in heads})
    contract_of: dict[str, str] = {}
    for part in _chunks(ids):
        contract_of.update((r.expense_id, r.contract_number) for r in conn.execute(
            select(expenses.c.expense_id, expenses.c.contract_number).where(
                expenses.c.expense_id.in_(part))))
    code = chart.code("project_expense")
    for e in entries_of(conn, [h for h in heads if contract_of.get(
            h.source_id.removesuffix(":reversal")) == number]):
        for ln in e.lines:
            if ln.account == code:
                cost[(e.entity_id, project, ln.amount.currency)] += ln.signed


def _late_cost(conn: Connection, codes: set[str], entity: str, period: str,
               cost: dict[Key, Decimal], hours: dict[Key, Decimal]) -> None:
    """The margin's late cost of ``codes`` (``margin._late_known`` for one entity's keys):
    per key, the cost and hours of the entity's closed months before ``period`` as known now
    (each month rounded to the cent) less what their closes reported."""
    recorded = _reported_before(conn, entity, period)
    if not recorded:
        return
    from syncline.services.ledger.labor_cost_months import month_costs  # see margin.py

    months = month_costs(conn, min(recorded), max(recorded))
    for month in sorted(recorded):
        got_cost: dict[Key, Decimal] = defaultdict(Decimal)
        got_hours: dict[Key, Decimal] = defaultdict(Decimal)
        for c in months.get(month, ()):
            if c.rated and c.project_code in codes:
                key = (entity, c.project_code, c.cost_currency)
                got_cost[key] += c.cost
                got_hours[key] += c.hours
        for key, amount in got_cost.items():
            cost[key] += amount.quantize(CENT, rounding=ROUND_HALF_UP)
            hours[key] += got_hours[key]
    for rows in recorded.values():
        for row in rows:
            key = (str(row["entity"]), str(row["project"]), str(row["currency"]))
            if key[0] == entity and key[1] in codes:
                cost[key] -= Decimal(row["cost"])
                hours[key] -= Decimal(row["hours"])


def _reported_before(conn: Connection, entity: str, period: str
                     ) -> dict[str, tuple[dict[str, Any], ...]]:
    """``snapshots.reported_before(conn, "margin", period)`` of ``entity`` alone, by month."""
    known = statuses(conn)
    s = report_snapshots.c
    latest_of = {r.period: r.content for r in conn.execute(
        select(s.period, s.version, s.content).where(
            (s.report == "margin") & (s.period < period) & (s.scope == scope_of(entity)))
        .order_by(s.period, s.version))}
    return {month: first_rows(text) for month, text in latest_of.items()
            if known.get((scope_of(entity), month)) in CLOSED}

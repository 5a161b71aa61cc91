"""One contract's reads (services/ledger/contract_reads, ADR 0023) answer what the firm-wide
reads they replace in the contract statement answered for it.

On the closed firm (three months closed, locked and carried; engine mode, three entities),
after random late writes straight in SQL — time entries added to closed and open months,
reversed, their hours changed; backdated worker versions (a new cost rate); an expense's cost
entry journaled in the open month (or its reversal) — for any contract, month (closed, open,
after the last) and ``as_of`` (close, now):

- ``contract_entries`` are the entity's books through the month filtered by
  ``contract_of_entries``, in their order;
- ``project_costed_time`` is the month's ``costed_time`` of the contract's projects;
- ``project_labor`` is, per cost currency, the cost and hours summed over the contract's
  projects' rows of the margin report the statement read (``options.build(…, "margin",
  entity=)``), and the whole statement is the same with either read.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, select, update

from syncline.adapters.db.billing_tables import expenses
from syncline.adapters.db.tables import (
    contracts,
    journal_entries,
    journal_lines,
    projects,
    time_entries,
    worker_versions,
)
from syncline.ledger.periods import period_end, period_start
from syncline.services.ledger.contract_reads import (
    contract_entries,
    project_costed_time,
    project_labor,
)
from syncline.services.ledger.queries import charts_for, load_entries
from syncline.services.ledger.reports import report_options
from syncline.services.ledger.reports.common import contract_of_entries, costed_time
from tests.conftest import examples
from tests.property.closed_firm import copy_of

PERIODS = ("2026-01", "2026-03", "2026-04", "2026-05")
day = st.builds(lambda m, d: f"{m}-{d:02d}", st.sampled_from(("2026-01", "2026-02", "2026-03",
                                                               "2026-04")), st.integers(1, 28))
late = st.one_of(
    st.tuples(st.just("time"), st.integers(0, 50), day, st.sampled_from(("1.25", "7.5"))),
    st.tuples(st.just("reverse"), st.integers(0, 500)),
    st.tuples(st.just("hours"), st.integers(0, 500), st.sampled_from(("0.5", "3", "9.75"))),
    st.tuples(st.just("version"), st.integers(0, 50), day, st.sampled_from(("80.00", "95.125"))),
    st.tuples(st.just("expense"), st.integers(0, 50), st.booleans(),
              st.sampled_from(("12.34", "250.00"))),
)


def _apply(conn: Connection, op: tuple[Any, ...], n: int) -> None:
    t = time_entries.c
    kind = op[0]
    if kind in ("time", "reverse", "hours"):
        rows = conn.execute(select(time_entries).order_by(t.time_entry_id)).all()
        row = rows[op[1] % len(rows)]
        if kind == "time":
            conn.execute(time_entries.insert().values(
                id=f"late-{n}", time_entry_id=f"LATE-{n}", worker_id=row.worker_id,
                project_code=row.project_code, task_code=row.task_code, work_date=op[2],
                hours=Decimal(op[3]), role=row.role, billable=row.billable,
                status="approved", inbox_id=f"late-{n}"))
        else:
            conn.execute(update(time_entries).where(t.time_entry_id == row.time_entry_id)
                         .values(**({"status": "reversed"} if kind == "reverse"
                                    else {"hours": Decimal(op[2])})))
    elif kind == "version":
        v = worker_versions.c
        rows = conn.execute(select(worker_versions).order_by(v.worker_id, v.sequence)).all()
        row = rows[op[1] % len(rows)]
        conn.execute(worker_versions.insert().values(
            worker_id=row.worker_id, sequence=10_000 + n, effective_date=op[2], role=row.role,
            entity_code=row.entity_code, cost_rate=Decimal(op[3]),
            cost_currency=row.cost_currency))
    else:  # an expense's cost journaled in the open month, as the ledger posts it
        rows = conn.execute(select(expenses).order_by(expenses.c.expense_id)).all()
        if not rows:
            return
        row = rows[op[1] % len(rows)]
        entity = conn.execute(select(contracts.c.entity_code).where(
            contracts.c.number == row.contract_number)).scalar_one()
        source = row.expense_id + (":reversal" if op[2] else "")
        if conn.execute(select(journal_entries.c.id).where(
                (journal_entries.c.source_type == "expense_cost")
                & (journal_entries.c.source_id == source))).first():
            return
        chart = charts_for(conn, _options.ref, _options.chart)[entity]
        amount = Decimal(op[3])
        conn.execute(journal_entries.insert().values(
            id=f"je-late-{n}", entity_code=entity, posting_date="2026-04-10",
            description="expense cost", source_type="expense_cost", source_id=source,
            posted_at=f"2026-04-10T00:00:{n % 60:02d}Z"))
        debit, credit = (("credit", "debit") if op[2] else ("debit", "credit"))
        conn.execute(journal_lines.insert(), [
            {"entry_id": f"je-late-{n}", "line_no": 1, "account": chart.code("project_expense"),
             "side": debit, "amount": amount, "currency": row.currency, "memo": ""},
            {"entry_id": f"je-late-{n}", "line_no": 2, "account": chart.code("accrued_payroll"),
             "side": credit, "amount": amount, "currency": row.currency, "memo": ""}])


_options: Any = None


def _whole_labor(conn: Connection, codes: list[str], entity: str, period: str,
                 as_of: str) -> dict[str, tuple[Decimal, Decimal]]:
    """The statement's labor as it was read: the entity's whole margin report, filtered."""
    margin = _options.build(conn, "margin", period, entity=entity, as_of=as_of)
    out: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for r in margin.tables[0].as_dicts():
        if r["project"] in codes:
            out[str(r["currency"])][0] += Decimal(r["cost"])
            out[str(r["currency"])][1] += Decimal(r["hours"])
    return {c: (v[0], v[1]) for c, v in out.items()}


def _nonzero(found: dict[str, tuple[Decimal, Decimal]]) -> dict[str, tuple[str, str]]:
    """What the statement shows of them: the currencies with a cost or hours, as text (the
    digits a sum keeps show: 12.50 is not 12.5)."""
    return {c: (str(v[0]), str(v[1])) for c, v in found.items() if v[0] or v[1]}


@settings(max_examples=examples(25), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=st.lists(late, max_size=8), pick=st.integers(0, 100),
       period=st.sampled_from(PERIODS), as_of=st.sampled_from(("close", "now")))
def test_a_contracts_reads_are_the_firm_wide_reads_filtered(
        firm_db: Path, writes: list[tuple[Any, ...]], pick: int, period: str,
        as_of: str) -> None:
    global _options
    with copy_of(firm_db) as system:
        _options = report_options(system)
        with system.engine.begin() as conn:
            for n, op in enumerate(writes):
                _apply(conn, op, n)
            heads = conn.execute(select(contracts).order_by(contracts.c.number)).all()
            head = heads[pick % len(heads)]
            number, entity = head.number, head.entity_code
            codes = sorted(conn.execute(select(projects.c.code).where(
                projects.c.contract_id == head.id)).scalars())
            contract_of = contract_of_entries(conn)
            assert contract_entries(conn, number, entity, period) == [
                e for e in load_entries(conn, through=period, entity=entity)
                if contract_of(e) == number]
            start, end = period_start(period), period_end(period)
            assert project_costed_time(conn, codes, start, end) == [
                t for t in costed_time(conn, start, end) if t.project_code in codes]
            assert _nonzero(project_labor(conn, number, codes, entity, period, _options,
                                          as_of=as_of)) == \
                _nonzero(_whole_labor(conn, codes, entity, period, as_of))


def _same_for_every_contract(conn: Connection) -> int:
    """Every contract, month and ``as_of``: the contract's reads equal the firm-wide ones;
    how many contracts had labor (the comparison is not of empty answers only)."""
    with_labor = set()
    contract_of = contract_of_entries(conn)
    for head in conn.execute(select(contracts).order_by(contracts.c.number)).all():
        codes = sorted(conn.execute(select(projects.c.code).where(
            projects.c.contract_id == head.id)).scalars())
        for period in PERIODS:
            assert contract_entries(conn, head.number, head.entity_code, period) == [
                e for e in load_entries(conn, through=period, entity=head.entity_code)
                if contract_of(e) == head.number]
            start, end = period_start(period), period_end(period)
            assert project_costed_time(conn, codes, start, end) == [
                t for t in costed_time(conn, start, end) if t.project_code in codes]
            for as_of in ("close", "now"):
                got = _nonzero(project_labor(conn, head.number, codes, head.entity_code,
                                             period, _options, as_of=as_of))
                assert got == _nonzero(_whole_labor(conn, codes, head.entity_code, period,
                                                    as_of)), (head.number, period, as_of)
                if got:
                    with_labor.add(head.number)
    return len(with_labor)


@pytest.mark.postgres
def test_a_contracts_reads_on_postgresql_too() -> None:
    """The same reads (a LIKE on the true-ups' ids, IN lists) on the local PostgreSQL, with a
    few late writes."""
    from syncline.adapters.db.scratch import throwaway_database
    from tests.conftest import pg_admin
    from tests.property.closed_firm import closed_firm

    global _options
    admin = pg_admin()
    try:
        with throwaway_database(admin, "syncline_contract_reads") as url:
            system = closed_firm(url)
            _options = report_options(system)
            try:
                with system.engine.connect() as conn:
                    conn.begin()
                    for n, op in enumerate((("time", 3, "2026-02-03", "7.5"), ("reverse", 9),
                                            ("hours", 20, "3"),
                                            ("version", 2, "2026-01-15", "95.125"),
                                            ("expense", 1, False, "12.34"))):
                        _apply(conn, op, n)
                    assert _same_for_every_contract(conn) > 0
                    conn.rollback()
            finally:
                system.engine.dispose()
    finally:
        admin.dispose()

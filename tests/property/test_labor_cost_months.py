"""The labor cost by month read from its cache (services/ledger/labor_cost_months, ADR 0010)
equals costing every approved time entry of the history again, whatever changed in between.

Random sequences of writes — time entries inserted, reversed, moved to another month, deleted;
worker versions inserted (backdated or not), moved and deleted — are made straight in SQL, as
any writer could, with the cache kept between them by the close's ``keep_month_costs``. After
each write: the cells read (cached or costed again) equal a full re-costing from
``costed_time``; ``known_cost`` equals the history-wide sum it was before the cache; and the
months costed again are only the months the write could change.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, update

from syncline.adapters.db.tables import time_entries, worker_versions
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.services.ledger.labor_cost import known_cost
from syncline.services.ledger.labor_cost_months import keep_month_costs, month_costs
from syncline.services.ledger.reports.common import costed_time
from tests.conftest import examples

MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04")
WORKERS = ("W-1", "W-2")
LAST = MONTHS[-1]


@pytest.fixture(scope="module")
def system() -> Iterator[Syncline]:
    with tempfile.TemporaryDirectory() as tmp:
        made = bootstrap(Settings(database_url=f"sqlite:///{Path(tmp) / 'lc.db'}"),
                         durable=False)
        yield made
        made.engine.dispose()


def full_recost(conn: Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every month's cells by costing every approved time entry again (no cache)."""
    sums: dict[tuple[str, str, bool, str, str], list[Decimal]] = defaultdict(
        lambda: [Decimal(0), Decimal(0), Decimal(0)])
    for t in costed_time(conn, date(1, 1, 1), date(9999, 12, 31)):
        rated = t.cost is not None
        cell = sums[(t.work_date[:7], t.project_code, rated,
                     (t.cost_entity or "") if rated else "",
                     (t.cost_currency or "") if rated else "")]
        cell[0] += t.cost or 0
        cell[1] += t.hours
        cell[2] += 1
    out: dict[str, list[tuple[object, ...]]] = defaultdict(list)
    for (month, project, rated, ent, cur), (cost, hours, n) in sorted(sums.items()):
        out[month].append((project, rated, ent, cur, cost, hours, int(n)))
    return out


def old_known_cost(conn: Connection) -> dict[tuple[str, str, str], Decimal]:
    """``known_cost`` as it was before the cache: every approved entry of the history."""
    out: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for t in costed_time(conn, date(1, 1, 1), date(2026, 4, 30)):
        if t.cost is not None and t.cost_entity and t.cost_currency:
            out[(t.cost_entity, t.cost_currency, t.work_date[:7])] += t.cost
    return {k: v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) for k, v in out.items()}


def read(conn: Connection) -> dict[str, list[tuple[object, ...]]]:
    return {m: [(c.project_code, c.rated, c.cost_entity, c.cost_currency, c.cost, c.hours,
                 c.entries) for c in cells]
            for m, cells in month_costs(conn, None, LAST).items() if cells}


day = st.builds(lambda m, d: f"{m}-{d:02d}", st.sampled_from(MONTHS), st.integers(1, 28))
write = st.one_of(
    st.tuples(st.just("time"), st.sampled_from(WORKERS), day,
              st.sampled_from(("P-1", "P-2")), st.sampled_from(("1.25", "7.5", "8"))),
    st.tuples(st.just("reverse"), st.integers(0, 30)),
    st.tuples(st.just("move"), st.integers(0, 30), day),
    st.tuples(st.just("delete"), st.integers(0, 30)),
    st.tuples(st.just("version"), st.sampled_from(WORKERS), day,
              st.sampled_from(("US01", "GB01")), st.sampled_from(("80.00", "95.125"))),
    st.tuples(st.just("unversion"), st.integers(0, 10)),
)


def apply(conn: Connection, op: tuple[object, ...], n: int) -> set[str]:
    """Make one write; the months it may change (None: every month from a date on)."""
    t, v = time_entries.c, worker_versions.c
    kind = op[0]
    if kind == "time":
        _, worker, work_date, project, hours = op
        conn.execute(time_entries.insert().values(
            id=f"id-{n}", time_entry_id=f"T-{n}", worker_id=worker, project_code=project,
            task_code="DEV", work_date=work_date, hours=Decimal(str(hours)), role="consultant",
            billable=True, status="approved", inbox_id=f"in-{n}"))
        return {str(work_date)[:7]}
    if kind == "version":
        _, worker, since, entity, rate = op
        conn.execute(worker_versions.insert().values(
            worker_id=worker, sequence=n, effective_date=since, role="consultant",
            entity_code=entity, cost_rate=Decimal(str(rate)),
            cost_currency="USD" if entity == "US01" else "GBP"))
        return {m for m in MONTHS if m >= str(since)[:7]}
    if kind == "unversion":
        rows = conn.execute(worker_versions.select().order_by(v.worker_id, v.sequence)).all()
        if not rows:
            return set()
        row = rows[int(str(op[1])) % len(rows)]
        conn.execute(delete(worker_versions).where(
            (v.worker_id == row.worker_id) & (v.sequence == row.sequence)))
        return {m for m in MONTHS if m >= row.effective_date[:7]}
    rows = conn.execute(time_entries.select().order_by(t.time_entry_id)).all()
    if not rows:
        return set()
    row = rows[int(str(op[1])) % len(rows)]
    where = t.time_entry_id == row.time_entry_id
    if kind == "reverse":
        conn.execute(update(time_entries).where(where).values(status="reversed"))
        return {row.work_date[:7]}
    if kind == "move":
        conn.execute(update(time_entries).where(where).values(work_date=op[2]))
        return {row.work_date[:7], str(op[2])[:7]}
    conn.execute(delete(time_entries).where(where))
    return {row.work_date[:7]}


@settings(max_examples=examples(25), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(write, st.none() | write), min_size=1, max_size=25))
def test_cached_month_costs_equal_costing_the_whole_history_again(
        system: Syncline, writes: list[tuple[tuple[object, ...], tuple[object, ...] | None]]
) -> None:
    """Also: the cells this process keeps under a month's token (ADR 0018) — before a write,
    another may be made and costed in a transaction rolled back, which leaves kept cells
    under tokens the database never holds."""
    with system.engine.begin() as conn:
        conn.execute(delete(time_entries))
        conn.execute(delete(worker_versions))
        conn.execute(worker_versions.insert().values(
            worker_id="W-1", sequence=0, effective_date="2025-01-01", role="consultant",
            entity_code="US01", cost_rate=Decimal("80.00"), cost_currency="USD"))
        keep_month_costs(conn, LAST)
    for n, (op, rolled_back) in enumerate(writes, start=1):
        if rolled_back is not None:
            with system.engine.connect() as conn:
                conn.begin()
                apply(conn, rolled_back, 1000 + n)
                keep_month_costs(conn, LAST)
                assert read(conn) == {m: c for m, c in full_recost(conn).items() if c}
                conn.rollback()
        with system.engine.begin() as conn:
            may_change = apply(conn, op, n)
        with system.engine.begin() as conn:
            assert read(conn) == {m: c for m, c in full_recost(conn).items() if c}
            assert known_cost(conn, LAST) == old_known_cost(conn)
            marked = {m for m, cells in month_costs(conn, None, LAST).items()}
            recosted = keep_month_costs(conn, LAST)
            # only months the write could change are costed again (a month never costed
            # before, e.g. a worker's first time in it, is among them)
            assert recosted <= len(may_change & marked)
            assert keep_month_costs(conn, LAST) == 0  # now all current: nothing costed again


def test_a_rejected_entry_in_a_cached_month_is_costed_again(system: Syncline) -> None:
    """Hand-computed: January 8 h + 8 h at 80.00 = 1,280.00, cached at its close; the
    reversal of one entry (any writer: here plain SQL) makes January 640.00."""
    with system.engine.begin() as conn:
        conn.execute(delete(time_entries))
        conn.execute(delete(worker_versions))
        conn.execute(worker_versions.insert().values(
            worker_id="W-1", sequence=0, effective_date="2025-01-01", role="consultant",
            entity_code="US01", cost_rate=Decimal("80.00"), cost_currency="USD"))
        for n, work_date in enumerate(("2026-01-05", "2026-01-06", "2026-02-02"), start=1):
            apply(conn, ("time", "W-1", work_date, "P-1", "8"), n)
        assert keep_month_costs(conn, "2026-02") == 2
        assert known_cost(conn, "2026-02") == {("US01", "USD", "2026-01"): Decimal("1280.00"),
                                               ("US01", "USD", "2026-02"): Decimal("640.00")}
    with system.engine.begin() as conn:
        conn.execute(update(time_entries).where(time_entries.c.time_entry_id == "T-2")
                     .values(status="reversed"))
    with system.engine.begin() as conn:
        assert known_cost(conn, "2026-02") == {("US01", "USD", "2026-01"): Decimal("640.00"),
                                               ("US01", "USD", "2026-02"): Decimal("640.00")}
        assert keep_month_costs(conn, "2026-02") == 1  # January only


@pytest.mark.postgres
def test_the_triggers_mark_changes_on_postgresql_too() -> None:
    """The same hand-computed case on the local PostgreSQL (its triggers are PL/pgSQL)."""
    from syncline.adapters.db.scratch import throwaway_database
    from tests.conftest import pg_admin

    admin = pg_admin()
    try:
        with throwaway_database(admin, "syncline_lc") as url:
            pg = bootstrap(Settings(database_url=url), durable=False)
            try:
                test_a_rejected_entry_in_a_cached_month_is_costed_again(pg)
                with pg.engine.begin() as conn:  # a backdated version: both months again
                    apply(conn, ("version", "W-1", "2026-01-20", "GB01", "95.125"), 99)
                with pg.engine.begin() as conn:
                    assert read(conn) == {m: c for m, c in full_recost(conn).items() if c}
                    assert keep_month_costs(conn, "2026-02") == 2
            finally:
                pg.engine.dispose()
    finally:
        admin.dispose()

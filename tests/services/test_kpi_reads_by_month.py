"""The KPI reads bounded by the month (services/kpis/queries.py) give what the reads over the
whole history gave: the month's invoiced time items and just their entries' approvals; the
month's messages (by arrival, migration 0027) and whether each applied one was touched. The
references below are those reads as they were before (whole tables), on a simulated firm
with delivery and data faults, every month, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import Connection, select

from syncline.adapters.db.scratch import throwaway_database
from syncline.adapters.db.tables import (
    billable_items,
    exceptions,
    inbox,
    inbox_revisions,
    invoices,
    parked,
    time_entries,
)
from syncline.bootstrap import Syncline, bootstrap
from syncline.cli.ingest import ingest_lines
from syncline.config import Settings
from syncline.domain.errors import BusinessDomain, Problem
from syncline.ledger.periods import next_period, period_of
from syncline.services.billing.run import run_billing
from syncline.services.kpis import formulas as f
from syncline.services.kpis import queries as q
from syncline.services.ledger.queries import period_end
from syncline.services.messaging.exceptions import raise_exception
from syncline.simulator import SimulationConfig, end_of_stream, simulate
from tests.conftest import pg_admin


def _firm(url: str) -> Any:
    """A simulated firm with delivery and data faults, received, applied and billed (the
    demo's path without its durable delivery), but the second month billed only with the
    third and the last not at all."""
    system = bootstrap(Settings(database_url=url), durable=False)
    cfg = SimulationConfig(seed=7, customers=6, workers=16, months=4, delivery_faults=True,
                           data_faults=True)
    sim = simulate(cfg, system.ref)
    ingest_lines(system, sim.to_jsonl().splitlines(), Console(quiet=True), True)
    system.sweep(as_of=end_of_stream(sim) + timedelta(hours=system.settings.park_max_age_hours))
    period = period_of(cfg.start)
    for month in range(cfg.months):
        if month in (1, cfg.months - 1):  # the second month billed with the third: items
            period = next_period(period)  # on a later invoice; the last left unbilled
            continue
        run_billing(system.engine, period, system.ref, system.charts, system.clock(),
                    rules=system.ledger.rules,
                    closed_period_policy=system.ledger.closed_period_policy)
        period = next_period(period)
    engine = system.engine
    with engine.begin() as conn:  # some applied messages that needed a person (a failed
        # message replayed after its fix leaves its exception so): none of the demo's did
        for (inbox_id,) in conn.execute(select(inbox.c.id).where(
                inbox.c.status == "applied").order_by(inbox.c.seq).limit(40)).all()[::4]:
            raise_exception(conn, Problem("test.touched", BusinessDomain.IT, "replayed", "-"),
                            now=datetime(2026, 6, 1, tzinfo=UTC), inbox_id=inbox_id)
        # credited items (a credit note's; none of the simulation's): one on no invoice,
        # left out; one on an invoice dated after its month, unbilled at that month's end
        item = conn.execute(select(billable_items).where(
            billable_items.c.source == "time").limit(1)).one()._asdict()
        later = conn.execute(select(invoices.c.number).where(invoices.c.invoice_date > (
            period_end(item["service_date"][:7]).isoformat()))).scalars().first()
        assert later is not None
        for key, number in (("time:credited-1#0", None), ("time:credited-2#0", later)):
            conn.execute(billable_items.insert().values(
                {**item, "key": key, "origin": None, "status": "credited",
                 "invoice_number": number}))
    return engine


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql",
                                                                marks=pytest.mark.postgres)])
def firm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    if request.param == "sqlite":
        engine = _firm(f"sqlite:///{tmp_path_factory.mktemp('kpi') / 'firm.db'}")
        yield engine
        engine.dispose()
        return
    admin = pg_admin()
    try:
        with throwaway_database(admin, "syncline_kpi") as url:
            engine = _firm(url)
            yield engine
            engine.dispose()
    finally:
        admin.dispose()


def _whole_time_to_invoice(conn: Connection, period: str) -> dict[str, list[Decimal]]:
    start, stop = q.month_range(period)
    approved = {r.time_entry_id: q.stamp(r.event_time) for r in conn.execute(
        select(time_entries.c.time_entry_id, inbox.c.event_time).join(
            inbox, inbox.c.id == time_entries.c.inbox_id)) if r.event_time}
    out: dict[str, list[Decimal]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for r in conn.execute(select(billable_items.c.key, billable_items.c.origin,
                                 invoices.c.number, invoices.c.invoice_date,
                                 invoices.c.entity_code)
                          .join(invoices, invoices.c.number == billable_items.c.invoice_number)
                          .where((billable_items.c.source == "time")
                                 & (invoices.c.invoice_date >= start)
                                 & (invoices.c.invoice_date < stop))):
        entry = q._time_entry_of(r)
        if entry is None or entry not in approved or (entry, r.number) in seen:
            continue
        seen.add((entry, r.number))
        out[r.entity_code].append(Decimal(f.calendar_days(
            approved[entry].date(), date.fromisoformat(r.invoice_date))))
    return out


def _whole_straight_through(conn: Connection, period: str) -> tuple[int, int]:
    start, stop = q.month_range(period)
    touched = {r[0] for r in conn.execute(select(inbox_revisions.c.inbox_id))}
    touched |= {r[0] for r in conn.execute(select(exceptions.c.inbox_id).where(
        exceptions.c.inbox_id.is_not(None)))}
    touched |= {r[0] for r in conn.execute(select(parked.c.inbox_id).where(
        parked.c.exception_id.is_not(None)))}
    settled = untouched = 0
    for r in conn.execute(select(inbox.c.id, inbox.c.status).where(
            (inbox.c.received_at >= start) & (inbox.c.received_at < stop)
            & (inbox.c.status != "received"))):
        settled += 1
        if r.status == "applied" and r.id not in touched:
            untouched += 1
    return settled, untouched


def _whole_unbilled_time(conn: Connection, period: str) -> list[tuple[str, str, Decimal]]:
    end = period_end(period).isoformat()
    dated = {r.number: r.invoice_date for r in conn.execute(
        select(invoices.c.number, invoices.c.invoice_date))}
    entity = q.Entities(conn).contract
    out = []
    for r in conn.execute(select(billable_items).where(
            (billable_items.c.source == "time") & (billable_items.c.service_date <= end)
            & billable_items.c.status.notin_(("reversed", "written_off")))):
        on = dated.get(r.invoice_number) if r.invoice_number else None
        if on is not None and on <= end:
            continue
        if r.status == "credited" and on is None:
            continue
        out.append((str(entity.get(r.contract_number, q.ANY)), r.currency, Decimal(r.amount)))
    return out


def test_the_month_s_reads_equal_the_whole_history_s(
        firm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(q, "CHUNK", 7)  # many look-ups a month, and their boundaries
    samples = settled = touched = open_items = 0
    with firm.connect() as conn:  # every month something arrived, was served or invoiced
        months = {str(m)[:7] for (m,) in conn.execute(select(inbox.c.received_at))} | {
            str(m)[:7] for (m,) in conn.execute(select(invoices.c.invoice_date))} | {
            str(m)[:7] for (m,) in conn.execute(select(billable_items.c.service_date))}
        for period in sorted(months):
            latency = q.time_to_invoice_samples(conn, period)
            assert latency == _whole_time_to_invoice(conn, period), period
            unbilled = q.unbilled_time(conn, period)
            assert sorted(unbilled) == sorted(_whole_unbilled_time(conn, period)), period
            open_items += len(unbilled)
            counts = q.straight_through_counts(conn, period)
            assert counts == _whole_straight_through(conn, period), period
            samples += sum(map(len, latency.values()))
            settled, touched = settled + counts[0], touched + counts[0] - counts[1]
    assert samples > 100 and settled > 1000 and touched > 10 and open_items > 100  # not vacuous


def test_the_month_s_messages_are_an_index_range(system: Syncline) -> None:
    with system.engine.connect() as conn:
        sql = str(select(inbox.c.id).where(inbox.c.received_at >= "2026-01-01").compile(conn))
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + sql, ("2026-01-01",)))
    assert "USING INDEX ix_inbox_received_at" in plan, plan


"""The KPI reads bounded by the month (services/kpis/queries.py) give what the reads over the
whole history gave: the month's invoiced time items and just their entries' approvals; the
month's messages (by arrival, migration 0027) and whether each applied one was touched. The
references below are those reads as they were before (whole tables), on a simulated firm
with delivery and data faults, every month, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import Connection, func, select, update

from syncline.adapters.db.masterdata_tables import project_profiles
from syncline.adapters.db.scratch import throwaway_database
from syncline.adapters.db.tables import (
    billable_items,
    contracts,
    exceptions,
    inbox,
    inbox_revisions,
    invoices,
    outbox,
    parked,
    projects,
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
        _deals_and_amendments(conn)
    return engine


def _deals_and_amendments(conn: Connection) -> None:
    """What the simulation sends none of: projects activated (``project.activated``) over the
    months, and their provisioning delivered; of their deals, one closed again later with
    another date (the first applied counts), one whose only message names the bare id as
    subject, one whose first message failed (the later applied one counts), and a deal no
    contract has; amendments of every status, received and applied around the months'
    ends."""
    conn.execute(update(outbox).where(outbox.c.kind == "psa.budget.update").values(
        status="delivered", delivered_at=outbox.c.created_at))
    rows = conn.execute(select(projects.c.id, contracts.c.deal_id).join(
        contracts, contracts.c.id == projects.c.contract_id).order_by(projects.c.code)).all()
    conn.execute(project_profiles.insert(), [
        {"project_id": r.id, "start_date": "2026-01-01", "entity_code": "US01",
         "activated_at": f"2026-{1 + n % 5:02d}-{1 + n % 27:02d}T08:00:00Z"}
        for n, r in enumerate(rows) if n % 2 == 0])
    deal = [r.deal_id for n, r in enumerate(rows) if n % 2 == 0][:3]
    conn.execute(update(inbox).where((inbox.c.type == "deal.closed_won")
                                     & (inbox.c.subject == f"deal/{deal[1]}"))
                 .values(subject=deal[1]))
    conn.execute(update(inbox).where((inbox.c.type == "deal.closed_won")
                                     & (inbox.c.subject == f"deal/{deal[2]}"))
                 .values(status="failed"))
    seq = int(conn.execute(select(func.max(inbox.c.seq))).scalar_one())
    found = []
    for subject, status, closed in (
            (f"deal/{deal[0]}", "applied", "2025-11-02T10:00:00Z"),
            (f"deal/{deal[2]}", "applied", "2025-09-02T10:00:00Z"),
            ("deal/NO-SUCH", "applied", "2025-09-02T10:00:00Z")):
        found.append({"type": "deal.closed_won", "subject": subject, "status": status,
                      "raw": json.dumps({"data": {"closed_at": closed}}),
                      "received_at": "2026-03-01T00:00:00Z", "applied_at": None})
    for n, (status, received, applied) in enumerate((
            ("parked", "2026-01-20T00:00:00Z", None), ("failed", "2026-02-27T00:00:00Z", None),
            ("applied", "2026-01-30T00:00:00Z", "2026-02-03T00:00:00Z"),
            ("applied", "2026-02-10T00:00:00Z", "2026-02-10T00:01:00Z"),
            ("applied", "2026-03-31T23:59:59Z", None), ("rejected", "2026-01-05T00:00:00Z", None),
            ("received", "2026-02-05T00:00:00Z", None))):
        found.append({"type": "contract.amended", "subject": f"contract/{n}",
                      "status": status, "raw": json.dumps({"data": {"deal_id": deal[n % 3]}}),
                      "received_at": received, "applied_at": applied})
    conn.execute(inbox.insert(), [{**r, "id": f"kpi-{n}", "seq": seq + 1 + n, "source": "crm",
                                   "event_id": f"kpi-{n}"} for n, r in enumerate(found)])


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


def _whole_deal_closed(conn: Connection) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    for r in conn.execute(select(inbox.c.subject, inbox.c.raw, inbox.c.event_time).where(
            (inbox.c.type == "deal.closed_won") & (inbox.c.status == "applied"))
            .order_by(inbox.c.seq)):
        deal_id = (r.subject or "").removeprefix("deal/")
        if deal_id in out:
            continue
        closed = json.loads(r.raw).get("data", {}).get("closed_at") or r.event_time
        if closed:
            out[deal_id] = q.stamp(closed)
    return out


def _whole_setup_cycle(conn: Connection, period: str) -> dict[str, list[Decimal]]:
    start, stop = q.month_range(period)
    closed, active = _whole_deal_closed(conn), q._project_active(conn)
    out: dict[str, list[Decimal]] = defaultdict(list)
    for r in conn.execute(select(projects.c.code, contracts.c.deal_id, contracts.c.entity_code)
                          .join(contracts, contracts.c.id == projects.c.contract_id)):
        went = active.get(r.code)
        began = closed.get(r.deal_id)
        if went is None or began is None or not start <= went.date().isoformat() < stop:
            continue
        out[r.entity_code].append(f.days_between(began, went))
    return out


def _whole_amendments_not_applied(conn: Connection, entities: q.Entities, as_of: datetime
                                  ) -> list[tuple[str, str]]:
    at = as_of.isoformat().replace("+00:00", "Z")
    out = []
    for r in conn.execute(select(inbox.c.raw, inbox.c.status, inbox.c.applied_at).where(
            (inbox.c.type == "contract.amended") & (inbox.c.received_at <= at)
            & inbox.c.status.in_(("parked", "failed", "applied")))):
        if r.status == "applied" and (r.applied_at is None or r.applied_at <= at):
            continue
        deal_id = json.loads(r.raw).get("data", {}).get("deal_id")
        out.append((str(entities.deal.get(deal_id, q.ANY)), "not_applied"))
    return out


def test_deal_closes_and_amendments_equal_the_whole_history_s(
        firm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The setup cycle (the deals of the month's active projects looked up by subject) and
    the amendments not applied at a moment (by the amendments' own index, migration 0030)."""
    monkeypatch.setattr(q, "CHUNK", 7)
    cycles = waiting = 0
    with firm.connect() as conn:
        entities = q.Entities(conn)
        for period in ("2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05"):
            found = q.setup_cycle_samples(conn, period)
            assert found == _whole_setup_cycle(conn, period), period
            cycles += sum(map(len, found.values()))
            for at in (datetime.combine(period_end(period), datetime.min.time(), tzinfo=UTC)
                       + timedelta(hours=23, minutes=59, seconds=59),
                       datetime.fromisoformat(f"{period}-10T00:00:30+00:00")):
                got = [w for w in q.amendments_waiting(conn, entities, at)
                       if w[1] == "not_applied"]
                assert sorted(got) == sorted(_whole_amendments_not_applied(
                    conn, entities, at)), at
                waiting += len(got)
    assert cycles >= 5 and waiting >= 5, (cycles, waiting)  # not vacuous


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


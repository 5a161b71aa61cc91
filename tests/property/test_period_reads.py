"""The close's period-scoped reads equal the history-wide reads they replaced (ADR 0010), on
random simulated firms part-billed month by month: every as-of date from before the first
item to after the last invoice, and items pointing at an invoice dated after the as-of date
or at no invoice at all."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, select, update

from syncline.adapters.db.billing_tables import billing_holds
from syncline.adapters.db.tables import billable_items, contracts, invoices
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.close import steps as close
from syncline.services.ledger.reports.aging import unbilled_items
from syncline.services.ledger.reports.common import (
    NOT_BILLABLE_ITEM_STATUSES,
    project_info,
    projects_by_contract,
)
from syncline.services.messaging.inbox import receive_many
from syncline.simulator import SimulationConfig, end_of_stream, simulate
from tests.conftest import examples, fixed_clock


def history_wide_unbilled(conn: Connection, as_of: date) -> list[tuple[Any, str, str]]:
    """``unbilled_items`` as it was: every item served by ``as_of`` read and filtered here."""
    invoice_dates = {r.number: r.invoice_date
                     for r in conn.execute(select(invoices.c.number, invoices.c.invoice_date))}
    by_contract = projects_by_contract(project_info(conn))
    entity_of = {r.number: r.entity_code
                 for r in conn.execute(select(contracts.c.number, contracts.c.entity_code))}
    held = set(conn.execute(select(billing_holds.c.item_key).where(
        billing_holds.c.status == "held")).scalars())
    out = []
    for item in conn.execute(select(billable_items).where(
            billable_items.c.service_date <= as_of.isoformat())
            .order_by(billable_items.c.service_date, billable_items.c.key)):
        if item.status in NOT_BILLABLE_ITEM_STATUSES or item.key in held:
            continue
        billed_on = invoice_dates.get(item.invoice_number or "")
        if billed_on is not None and billed_on <= as_of.isoformat():
            continue
        out.append((item, entity_of.get(item.contract_number, ""),
                    by_contract.get(item.contract_number, item.contract_number)))
    return out


@settings(max_examples=examples(5), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=10_000), billed=st.integers(1, 3),
       orphan=st.booleans())
def test_unbilled_items_read_in_the_database_equal_the_history_wide_filter(
        seed: int, billed: int, orphan: bool) -> None:
    sim = simulate(SimulationConfig(seed=seed, customers=3, workers=5, months=4))
    with tempfile.TemporaryDirectory() as tmp:
        system = bootstrap(Settings(database_url=f"sqlite:///{Path(tmp) / 'u.db'}"),
                           clock=fixed_clock, durable=False)
        with system.engine.begin() as conn:
            receive_many(conn, sim.to_jsonl().splitlines(), now=fixed_clock())
        system.process()
        system.sweep(as_of=end_of_stream(sim) + timedelta(days=30))
        for month in range(1, billed + 1):
            close.billing(system, f"2026-{month:02d}", None)
        with system.engine.begin() as conn:
            if orphan:  # an item naming an invoice that is not there
                key = conn.execute(select(billable_items.c.key).order_by(
                    billable_items.c.key).limit(1)).scalar()
                conn.execute(update(billable_items).where(billable_items.c.key == key)
                             .values(invoice_number="INV-NOWHERE"))
            dates = sorted({r.invoice_date for r in conn.execute(select(invoices))})
            days = {date(2025, 12, 31), date(2026, 6, 30)}
            for d in dates:
                day = date.fromisoformat(d)
                days |= {day - timedelta(days=1), day, day + timedelta(days=1)}
            for month in range(1, 5):
                days.add(date(2026, month, 28))
            for day in sorted(days):
                new = [(r.key, e, p) for r, e, p in unbilled_items(conn, day)]
                old = [(r.key, e, p) for r, e, p in history_wide_unbilled(conn, day)]
                assert new == old, day
                assert [r for r, *_ in unbilled_items(conn, day, entity="US01")] == [
                    r for r, e, _ in history_wide_unbilled(conn, day) if e == "US01"]
        system.engine.dispose()


def _simulated_firm(db: Path, *, customers: int, workers: int) -> Any:
    """A simulated firm's three months received and applied into ``db``."""
    sim = simulate(SimulationConfig(seed=7, customers=customers, workers=workers, months=3))
    system = bootstrap(Settings(database_url=f"sqlite:///{db}"), clock=fixed_clock,
                       durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, sim.to_jsonl().splitlines(), now=fixed_clock())
    system.process()
    return system


def test_reports_built_with_the_books_held_equal_those_built_alone(tmp_path: Path) -> None:
    """``entries_held`` (the close's one read of the books for every scope and report) gives
    every report of every scope exactly as built on its own, after two closed months."""
    from syncline.services.ledger.queries import entries_held
    from syncline.services.ledger.reports import REPORTS, report_json, report_options

    system = _simulated_firm(tmp_path / 'h.db', customers=3, workers=5)
    for period in ("2026-01", "2026-02"):
        for _name, step in close.LEDGER_STEPS:
            step(system, period, None)
        close.close_and_lock(system, period, None, actor="test", lock=False)
    options = report_options(system)
    scopes = [None, *(e.code for e in system.ref.entities)]
    periods = ("2026-01", "2026-02", "2026-03")  # several periods inside one hold: the
    with system.engine.connect() as conn:  # facts held per period (services/ledger/held.py)
        alone = {(n, s, p): report_json(options.build(conn, n, p, entity=s, as_of="now"))
                 for p in periods for n in REPORTS for s in scopes}
        with entries_held(conn):
            held = {(n, s, p): report_json(options.build(conn, n, p, entity=s, as_of="now"))
                    for p in periods for n in REPORTS for s in scopes}
    assert held == alone
    assert sum('"2026-03"' in text and "USD" in text for text in alone.values()) > 5
    system.engine.dispose()


def test_fx_revaluation_reads_only_entries_on_revalued_accounts(tmp_path: Path) -> None:
    """The FX revaluation loads only the entries with a line on a revalued account
    (``load_entries(touching=…)``): every entity's foreign positions (all the revaluation
    reads of the books: ``ledger.fx.revalue``) are those of the whole books, at every month
    end of a firm with foreign-currency balances — and the filtered books are smaller."""
    from syncline.ledger.fx import RevaluationPolicy
    from syncline.services.close.fx_revaluation import _revalued_accounts, positions
    from syncline.services.ledger.queries import load_entries

    system = _simulated_firm(tmp_path / 'fx.db', customers=6, workers=8)
    policy, charts = RevaluationPolicy(), system.charts
    foreign = 0
    for period in ("2026-01", "2026-02", "2026-03"):
        for _name, step in close.LEDGER_STEPS:
            step(system, period, None)
        with system.engine.connect() as conn:
            for ent in system.ref.entities:
                functional = ent.functional_currency
                whole = load_entries(conn, through=period, entity=ent.code)
                some = load_entries(conn, through=period, entity=ent.code,
                                    touching=_revalued_accounts(charts, ent.code, policy))
                assert len(some) < len(whole)
                want = positions(whole, ent.code, charts, functional, period, policy)
                assert positions(some, ent.code, charts, functional, period, policy) == want
                foreign += sum(1 for p in want if not p.balance.is_zero)  # type: ignore[union-attr]
    assert foreign > 0, "no foreign-currency balance: the test would prove nothing"
    system.engine.dispose()

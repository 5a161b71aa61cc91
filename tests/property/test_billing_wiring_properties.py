"""Properties of the wired run: the set-based lines are exactly ``group_lines`` of the items
they invoice, lines sum to the invoiced items, a second run changes nothing, the ledger
balances, and a credit note reverses exactly the items it names."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from syncline.adapters.db.tables import billable_items
from syncline.billing.invoicing import group_lines
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.billing.reversal import request_credit
from syncline.services.billing.run import run_billing
from syncline.services.billing.run.credits import load_credit_note
from syncline.services.billing.run.invoices import load_invoice
from syncline.services.billing.run.items import item_from_row
from syncline.services.messaging.inbox import receive_many
from syncline.services.state import fingerprint, ledger_trial_balance
from tests.builders import deal, time_entry, worker
from tests.conftest import fixed_clock

ENTRY = st.tuples(st.integers(1, 96), st.sampled_from(["consultant", "analyst", "manager"]),
                  st.integers(5, 28))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(ENTRY, min_size=1, max_size=25), tax=st.sampled_from(
    ["US-EXEMPT", "US-NY-SVC"]), credit=st.integers(0, 24))
def test_wired_run_lines_items_idempotence_balance_and_credit(
        entries: list[tuple[int, str, int]], tax: str, credit: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        system = bootstrap(Settings(database_url=f"sqlite:///{Path(tmp) / 'p.db'}"),
                           clock=fixed_clock, durable=False)
        events = [deal(tax=tax), worker()] + [
            time_entry(f"T-{i}", hours=str(Decimal(q) / 4), role=role,
                       day=f"2026-01-{day:02d}") for i, (q, role, day) in enumerate(entries)]
        with system.engine.begin() as conn:
            receive_many(conn, events, now=fixed_clock())
        system.process()
        (number,) = run_billing(system.engine, "2026-01", system.ref, system.charts,
                                fixed_clock()).invoices
        with system.engine.connect() as conn:
            inv = load_invoice(conn, number)
            items = [item_from_row(r) for r in conn.execute(select(billable_items).where(
                billable_items.c.invoice_number == number))]
            before = fingerprint(conn)
        assert inv is not None
        assert inv.lines == group_lines(items)  # set-based = item by item
        assert inv.subtotal.amount == sum((i.amount.amount for i in items), Decimal(0))
        again = run_billing(system.engine, "2026-01", system.ref, system.charts, fixed_clock())
        assert again.invoices == [] and again.credit_notes == []
        with system.engine.connect() as conn:
            assert fingerprint(conn) == before and ledger_trial_balance(conn).balanced
        key = f"time:T-{credit % len(entries)}"
        with system.engine.begin() as conn:
            request_credit(conn, invoice_number=number, keys=[key], reason="disputed",
                           now=fixed_clock())
        (cn,) = run_billing(system.engine, "2026-02", system.ref, system.charts,
                            fixed_clock()).credit_notes
        with system.engine.connect() as conn:
            note = load_credit_note(conn, cn)
            credited = conn.execute(select(billable_items.c.amount).where(
                billable_items.c.key == key)).scalar()
            assert ledger_trial_balance(conn).balanced
        assert note is not None and note.item_keys == (key,)
        assert note.subtotal.amount == -credited
        system.engine.dispose()

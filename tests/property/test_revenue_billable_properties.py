"""Property (issue 9, findings 2 and 9): for a generated time-and-materials contract — time
over two months, a soft or hard cap or none, rejections after invoicing, rebilled expenses,
an approved hold — with billing and recognition month by month:

- revenue from the right to invoice equals what is billable (the rule of
  services/revenue/billable.py recomputed here from the items, independently);
- cumulative revenue − cumulative net billed = the engine's contract balance = the GL's
  unbilled receivable − contract liability of the contract.
"""

from __future__ import annotations

import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from syncline.adapters.db.billing_tables import billing_holds
from syncline.adapters.db.tables import billable_items, journal_entries, journal_lines
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.revenue import balance_at, compute_schedule
from syncline.services.billing.requests import release_held_item
from syncline.services.billing.run import run_billing
from syncline.services.messaging.inbox import receive_many
from syncline.services.revenue.facts import build_contract
from syncline.services.revenue.sync import DEFAULT_POLICY, billed_net, recognize
from tests.builders import deal, rejection, time_entry, worker
from tests.conftest import examples, fixed_clock
from tests.services.test_billing_wiring import expense, with_terms

ENDS = {"2026-01": date(2026, 1, 31), "2026-02": date(2026, 2, 28)}

firms = st.fixed_dictionaries({
    "hours": st.lists(st.integers(1, 10), min_size=1, max_size=8),
    "cap": st.sampled_from([None, "soft", "hard"]),
    "limit": st.integers(5, 60).map(lambda h: str(h * 100)),
    "rejected": st.sets(st.integers(0, 7), max_size=3),
    "expenses": st.lists(st.integers(1, 500), max_size=3),
    "approve_holds": st.booleans(),
})


def _ingest(system: Any, *events: Any) -> None:
    with system.engine.begin() as conn:
        receive_many(conn, list(events), now=system.clock())
    system.process()


def _billable(conn: Any) -> Decimal:
    """The rule, recomputed: counted statuses, not held, time/expense/their adjustments."""
    held = set(conn.execute(select(billing_holds.c.item_key).where(
        billing_holds.c.status == "held")).scalars())
    return sum((r.amount for r in conn.execute(select(billable_items).where(
        billable_items.c.status.in_(("generated", "released", "invoiced"))
        & billable_items.c.source.in_(("time", "expense", "adjustment"))
        & (billable_items.c.service_date <= "2026-02-28")))
        if r.key not in held), Decimal(0))


@settings(max_examples=examples(8), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(firms)
def test_right_to_invoice_revenue_is_billable_and_balances_tie(firm: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        system = bootstrap(Settings(database_url=f"sqlite:///{Path(tmp) / 'p.db'}"),
                           clock=fixed_clock, durable=False)
        try:
            terms: dict[str, Any] = {"expenses": {"policy": "markup", "markup_percent": "10"}}
            if firm["cap"]:
                terms["caps"] = [{"cap_id": "NTE-1", "limit": firm["limit"],
                                  "kind": firm["cap"]}]
            entries = [time_entry(f"T-{i}", hours=str(h), day=f"2026-01-{i + 5:02d}")
                       for i, h in enumerate(firm["hours"])]
            _ingest(system, with_terms(deal(), **terms), worker(), *entries,
                    *(expense(f"EX-{i}", f"{a}.00", day=f"2026-01-{i + 10:02d}")
                      for i, a in enumerate(firm["expenses"])))
            for period in ENDS:
                if period == "2026-02":
                    _ingest(system, *(rejection(f"T-{i}") for i in firm["rejected"]
                                      if i < len(firm["hours"])))
                    if firm["approve_holds"]:
                        with system.engine.begin() as conn:
                            for key in conn.execute(select(billing_holds.c.item_key)).scalars():
                                release_held_item(conn, key, by="cfo", now=system.clock())
                run_billing(system.engine, period, system.ref, system.charts, system.clock(),
                            revenue_recognition="engine")
                recognize(system.engine, period, system.charts, system.clock())
            end = ENDS["2026-02"]
            with system.engine.connect() as conn:
                rc = build_contract(conn, "C-1")
                assert rc is not None
                r = compute_schedule(rc, DEFAULT_POLICY, end)
                revenue = Decimal(r.cumulative_at(r.as_of_index)) / 100
                assert revenue == _billable(conn)
                billed = billed_net(conn, "C-1", end)
                b = balance_at(r, end)
                assert Decimal(b.contract_asset - b.contract_liability) / 100 == revenue - billed
                gl: dict[str, Decimal] = {}
                for row in conn.execute(select(journal_lines.c.account, journal_lines.c.side,
                                               journal_lines.c.amount).join(journal_entries)):
                    gl[row.account] = gl.get(row.account, Decimal(0)) + (
                        row.amount if row.side == "debit" else -row.amount)
            assert gl.get("1150", Decimal(0)) + gl.get("2300", Decimal(0)) == revenue - billed
        finally:
            system.engine.dispose()

"""A set of approved expenses reads its contracts' expense terms in one statement and the FX
rates once a batch, and decides what one message at a time decides: each contract's own
policy (at cost, or its markup), and rates published inside the batch price the expenses
that come after them (those before wait for them and are released)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from syncline.adapters.db.tables import billable_items, inbox
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.messaging import processor
from syncline.services.messaging.inbox import receive_many
from syncline.services.state import fingerprint
from tests.builders import deal, worker
from tests.conftest import fixed_clock
from tests.services.test_billing_wiring import expense
from tests.services.test_rate_cards_close_fx import fx_published


def _marked_up(deal_id: str, number: str, project: str) -> dict[str, Any]:
    d = deal(deal_id, number=number, project=project)
    d["data"]["billing_terms"] = {"expenses": {"policy": "markup", "markup_percent": "10"}}
    return d


STREAM = [
    deal("D-1", number="C-1", project="P-1"), _marked_up("D-2", "C-2", "P-2"), worker(),
    expense("E-1", "100.00", "EUR"), expense("E-2", "50.00", project="P-2"),
    expense("E-3", "200.00", "EUR", project="P-2"),
    fx_published("EUR", {"USD": "1.10"}),
    expense("E-4", "100.00", "EUR"), expense("E-5", "100.00", "EUR", project="P-2"),
    expense("E-6", "80.00"),
]


def _run(tmp: Path, sets: bool) -> tuple[Any, ...]:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp / 'e.db'}"), clock=fixed_clock,
                       durable=False)
    statements: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        if not sets:
            patch.setattr(processor.table, "SET_HANDLERS", {
                k: v for k, v in processor.table.SET_HANDLERS.items() if k != "expense.approved"})
        with system.engine.begin() as conn:
            receive_many(conn, STREAM, now=fixed_clock())
        event.listen(system.engine, "before_cursor_execute",
                     lambda *args: statements.append(args[2]))
        system.process()  # one batch
    with system.engine.connect() as conn:
        state = (fingerprint(conn),
                 conn.execute(select(inbox.c.event_id, inbox.c.status, inbox.c.reason)
                              .order_by(inbox.c.seq)).all(),
                 dict(conn.execute(select(billable_items.c.key, billable_items.c.amount)
                                   .where(billable_items.c.source == "expense")).all()))
    system.engine.dispose()
    return state, [s for s in statements if "fx_rates" in s and s.startswith("SELECT")], [
        s for s in statements if "FROM contract_billing_terms" in s]


def test_a_set_reads_terms_once_and_rates_once_a_batch_and_decides_as_one_at_a_time(
        tmp_path: Path) -> None:
    (state, fx_reads, term_reads) = _run(tmp_path / "sets", sets=True)
    one_by_one, per_message, _ = _run(tmp_path / "single", sets=False)
    assert state == one_by_one
    _, statuses, amounts = state
    assert {status for _, status, _ in statuses} == {"applied"}  # E-1 and E-3 released
    assert amounts == {"expense:E-1": 110, "expense:E-2": 55, "expense:E-3": 242,
                       "expense:E-4": 110, "expense:E-5": 121, "expense:E-6": 80}
    # The rates: in the batch once before the publication and once after it (without
    # `forget_fx_rates` the expenses after it would wait for rates that are stored), then
    # once in the batch of the released expenses (the publication's own look-up of what is
    # stored aside); one message at a time reads them for each priced expense.
    assert len([s for s in fx_reads if "fx_rates.base = " not in s]) == 3
    assert len([s for s in per_message if "fx_rates.base = " not in s]) > 3
    assert len(term_reads) == 3  # one a set


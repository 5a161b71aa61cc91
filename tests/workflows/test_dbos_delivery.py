"""Outbox delivery through real DBOS workflows on an SQLite system database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from syncline.adapters.db.connector_tables import sandbox_received
from syncline.adapters.db.tables import outbox
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.connectors.sandbox import sandbox_targets
from syncline.services.messaging.inbox import receive_many
from syncline.workflows import delivery as wf
from tests.builders import deal
from tests.conftest import fixed_clock


def test_saga_delivers_once_and_compensates_a_refusal(tmp_path: Path) -> None:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}"),
                       clock=fixed_clock, durable=True)
    try:
        with system.engine.begin() as conn:
            receive_many(conn, [deal()], now=fixed_clock())
        system.process()
        # the provisioning saga (3) and the CRM's status of the deal (1)
        assert system.deliver() == {"delivered": 4, "failed": 0}
        with system.engine.connect() as conn:  # each kept by its delivered mark
            assert all(r.reference for r in conn.execute(select(outbox.c.reference)))
        # the same workflow ids again (as after a crash before the outbox mark): the recorded
        # result is returned and nothing is sent twice
        with system.engine.begin() as conn:
            conn.execute(outbox.update().values(status="pending"))
        system.deliver()
        with system.engine.begin() as conn:
            assert [r.deliveries for r in conn.execute(select(sandbox_received))] == [1] * 4
            conn.execute(outbox.update().values(status="delivered"))

        system.targets = sandbox_targets(system.engine, refuse=frozenset({"psa.budget.update"}))
        with system.engine.begin() as conn:
            receive_many(conn, [deal("D-2", number="C-2", project="P-2")], now=fixed_clock())
        system.process()
        assert system.deliver() == {"delivered": 1, "failed": 3}
        with system.engine.connect() as conn:
            statuses = [r.status for r in conn.execute(
                select(outbox.c.status).order_by(outbox.c.seq))][4:]
        assert statuses == ["compensated", "compensated", "failed", "delivered"]
    finally:
        wf.shutdown()

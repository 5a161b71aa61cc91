"""Connector polls as durable workflows (issue 12): one poll per connector and time slot —
starting it again in the same slot joins it, a new slot polls again from the cursor — and
the due rule."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from syncline.adapters.db.tables import inbox
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.connectors.sdk.auth import bearer
from syncline.connectors.sdk.config import ConnectorConfig
from syncline.connectors.sdk.http import VendorClient
from syncline.connectors.sdk.secrets import Secret
from syncline.services.connectors.cursors import listing
from syncline.workflows import connectors as polls
from syncline.workflows import delivery
from tests.conftest import fixed_clock
from tests.connectors.test_worked_example import ENTRIES, FakeTickr, Tickr


def test_due_is_once_per_slot_and_only_for_scheduled_connectors() -> None:
    every15 = ConnectorConfig("crm", "salesforce", {}, 15)
    manual = ConnectorConfig("files", "files", {}, 0)
    at = datetime(2026, 7, 15, 12, 7, tzinfo=UTC)
    slot = str(int(datetime(2026, 7, 15, 12, 0, tzinfo=UTC).timestamp()))
    assert polls.due([every15, manual], at, {}) == [("crm", slot)]
    assert polls.due([every15], at, {"crm": slot}) == []
    later = datetime(2026, 7, 15, 12, 15, tzinfo=UTC)
    assert polls.due([every15], later, {"crm": slot}) == [("crm", str(int(later.timestamp())))]


def test_a_poll_is_a_workflow_once_per_slot(tmp_path: Path) -> None:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}"),
                       clock=fixed_clock)
    fake = FakeTickr([dict(e) for e in ENTRIES])
    client = VendorClient("tickr", "https://api.tickr.test", auth=bearer(Secret("tk-secret")),
                          transport=httpx.MockTransport(fake), sleep=lambda s: None)
    connector = Tickr("timesheets", client, roles={"W-1": "consultant", "W-9": "analyst"})
    config = ConnectorConfig("timesheets", "tickr", {}, 15)
    try:
        polls.wire(system.engine, lambda name: connector if name == "timesheets" else None,
                   system.clock)
        delivery.launch(system.engine, system.targets, system.settings.workflow_db_url(),
                        system.clock)
        [first] = polls.poll_due([config], fixed_clock())
        [result] = polls.result(first)
        assert result["accepted"] == 3 and result["error"] is None
        requests = len(fake.requests)
        polls._wiring.started.clear()  # another worker, same slot: joins the same workflow
        assert polls.poll_due([config], fixed_clock()) == [first]
        assert polls.result(first) == [result] and len(fake.requests) == requests
        with system.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(inbox)).scalar() == 3
        [row] = listing(system.engine, "timesheets")
        assert row.last_status == "ok" and row.value == "2026-07-03T10:00:00Z"
    finally:
        delivery.shutdown()

"""A message's deliveries, as its status and outcome count them (services/messaging/status.py):
every receipt of that message — the first and each re-send — found by an index search, not by
reading every receipt of the history (migration 0027: ~200 ms a message at two million)."""

from __future__ import annotations

import json

from syncline.bootstrap import Syncline
from syncline.services.messaging.inbox import receive_many
from syncline.services.messaging.status import DELIVERIES, event_outcome, outcomes_of
from tests.builders import deal
from tests.conftest import fixed_clock


def test_each_message_counts_its_own_deliveries(system: Syncline) -> None:
    one, other = deal(), deal()
    with system.engine.begin() as conn:
        first = receive_many(conn, [json.dumps(one), json.dumps(other)], now=fixed_clock())
        receive_many(conn, [json.dumps(one)] * 2, now=fixed_clock())  # sent twice more
    with system.engine.connect() as conn:
        found = event_outcome(conn, one["source"], one["id"])
        assert found is not None and found["deliveries"] == 3
        outcomes = outcomes_of(conn, [r.inbox_id for r in first])
    assert [outcomes[r.inbox_id]["deliveries"] for r in first] == [3, 1]


def test_a_message_s_deliveries_are_an_index_search(system: Syncline) -> None:
    with system.engine.connect() as conn:
        sql = str(DELIVERIES.compile(conn))  # SQLite's: one "?"
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + sql, ("msg_x",)))
    assert "SEARCH inbox_receipts USING" in plan and "SCAN" not in plan, plan

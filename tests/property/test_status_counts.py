"""The queue depths counted by status range (``queues.by_status_counts``, ADR 0023) are the
``GROUP BY status`` they replace: for random rows of the inbox and the outbox — any mix of
statuses, unknown ones included, none in the bulk status, all in it, an empty table — the
same statuses in the same order (the database's) with the same counts, on SQLite and on
PostgreSQL; and ``queue_depths`` answers as the grouping did.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, delete, func, select

from syncline.adapters.db.tables import inbox, outbox
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.messaging.queues import INBOX_STATUSES, by_status_counts, queue_depths
from tests.conftest import examples, fixed_clock, pg_engine_of

statuses = st.sampled_from((*INBOX_STATUSES, "delivered", "pending", "compensated", "skipped",
                            "Applied", "zz", "a"))
# mostly the bulk status, as a real history is
tables = st.tuples(st.lists(st.one_of(st.just("applied"), statuses), max_size=40),
                   st.lists(st.one_of(st.just("delivered"), statuses), max_size=40))


def _grouped(conn: Connection, table: Any) -> dict[str, int]:
    return {s: int(n) for s, n in conn.execute(
        select(table.c.status, func.count()).group_by(table.c.status)
        .order_by(table.c.status))}


def _same(engine: Engine, found: tuple[list[str], list[str]]) -> None:
    inbox_rows, outbox_rows = found
    with engine.begin() as conn:
        conn.execute(delete(inbox))
        conn.execute(delete(outbox))
        if inbox_rows:
            conn.execute(inbox.insert(), [
                {"id": f"in-{i}", "seq": i, "source": "s", "event_id": f"e-{i}", "raw": "{}",
                 "status": s, "received_at": "2026-01-01T00:00:00Z"}
                for i, s in enumerate(inbox_rows)])
        if outbox_rows:
            conn.execute(outbox.insert(), [
                {"id": f"out-{i}", "seq": i, "kind": "k", "target": "erp", "payload": "{}",
                 "status": s, "attempts": 0, "created_at": "2026-01-01T00:00:00Z"}
                for i, s in enumerate(outbox_rows)])
        for table, bulk in ((inbox, "applied"), (outbox, "delivered")):
            got = by_status_counts(conn, table, bulk=bulk)
            assert list(got.items()) == list(_grouped(conn, table).items())
        depths = queue_depths(conn)
        assert depths["inbox"] == {**dict.fromkeys(INBOX_STATUSES, 0), **_grouped(conn, inbox)}
        assert list(depths["outbox"].items()) == list(_grouped(conn, outbox).items())


@settings(max_examples=examples(100), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(found=tables)
def test_status_counts_are_the_grouping(tmp_path: Path,
                                        found: tuple[list[str], list[str]]) -> None:
    engine = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'counts.db'}"),
                       clock=fixed_clock, durable=False).engine
    try:
        _same(engine, found)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def pg_engine() -> Iterator[Engine]:
    yield from pg_engine_of("syncline_status_counts")


@pytest.mark.postgres
@settings(max_examples=examples(40), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(found=tables)
def test_status_counts_are_the_grouping_on_postgresql(
        pg_engine: Engine, found: tuple[list[str], list[str]]) -> None:
    _same(pg_engine, found)

"""Issue 11 on PostgreSQL: the fuzzer's findings (NUL in a string, a lone surrogate, 10^30,
deep nesting, a 5,000-digit number, a 201-character id …) are kept rejected with a reason by
receiving on PostgreSQL too (a NUL reached a text column and failed the insert there), in one
batch with a good message that is applied; and the corrected re-send of a rejected message."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from syncline.adapters.db.tables import inbox, inbox_revisions
from syncline.bootstrap import Syncline
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal
from tests.conftest import fixed_clock
from tests.e2e.test_hardening import FUZZ_FOUND
from tests.integration.test_postgres import pg_system  # noqa: F401  (the fixture)

pytestmark = pytest.mark.postgres


def test_bad_messages_are_kept_rejected_on_postgres(pg_system: Syncline) -> None:  # noqa: F811
    good = json.dumps(deal())
    lines = [body.decode() for body in FUZZ_FOUND.values()] + [good]
    with pg_system.engine.begin() as conn:
        receipts = receive_many(conn, lines, now=fixed_clock())
    assert [r.status for r in receipts] == ["rejected"] * len(FUZZ_FOUND) + ["accepted"]
    pg_system.process()
    with pg_system.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(inbox))}
    assert len(rows) == len(lines)
    assert rows[receipts[-1].inbox_id].status == "applied"
    assert all(rows[r.inbox_id].reason for r in receipts[:-1])


def test_a_corrected_resend_is_applied_on_postgres(pg_system: Syncline) -> None:  # noqa: F811
    wrong = {**deal(), "time": "yesterday"}
    with pg_system.engine.begin() as conn:
        (first,) = receive_many(conn, [wrong], now=fixed_clock())
    assert first.status == "rejected"
    with pg_system.engine.begin() as conn:
        (again,) = receive_many(conn, [{**wrong, "time": "2026-01-02T09:00:00Z"}],
                                now=fixed_clock())
    assert again.status == "accepted" and again.inbox_id == first.inbox_id
    pg_system.process()
    with pg_system.engine.connect() as conn:
        assert conn.execute(select(inbox.c.status)).scalar() == "applied"
        assert len(conn.execute(select(inbox_revisions)).all()) == 1


def test_concurrent_audit_appends_wait_and_chain_on_postgres(
        pg_system: Syncline) -> None:  # noqa: F811
    """Eight threads append at once: each waits for the one before, none fails, and the chain
    verifies with eight rows (without the advisory lock two take the same seq)."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from syncline.services.governance import audit

    start = Barrier(8)

    def one(i: int) -> int:
        with pg_system.engine.begin() as conn:
            start.wait()
            return audit.append(conn, actor=f"u{i}", action="config.change",
                                subject=f"t/{i}", now=fixed_clock())

    with ThreadPoolExecutor(8) as pool:
        seqs = sorted(pool.map(one, range(8)))
    assert seqs == list(range(1, 9))
    with pg_system.engine.connect() as conn:
        verdict = audit.verify(conn)
    assert verdict.ok and verdict.rows == 8

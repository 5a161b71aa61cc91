"""`processor.apply_batch` applies a batch first with no savepoint per set or message; when a
handler raises, that try leaves no trace — not in the database, not in the statistics, not
in the telemetry — and the batch is applied carefully (a savepoint per set and message), so
the message that raises fails on its own with an exception for a person, as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from syncline.adapters.db.tables import exceptions, inbox
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.messaging import processor
from syncline.services.messaging.inbox import receive_many
from syncline.services.messaging.outcomes import Stats
from syncline.services.telemetry import metrics
from tests.conftest import fixed_clock
from tests.services.test_set_apply import STREAM


def _system(db: Path) -> Any:
    return bootstrap(Settings(database_url=f"sqlite:///{db}"), clock=fixed_clock,
                     durable=False)


def _counted() -> dict[tuple[str, str], float]:
    return {(s.labels["type"], s.labels["outcome"]): s.value
            for m in metrics.messages_processed.collect() for s in m.samples
            if s.name.endswith("_total")}


def _run(db: Path, monkeypatch: pytest.MonkeyPatch, *, raises: int | None,
         first_try: bool, whole: bool = True) -> tuple[Any, ...]:
    """Receive the stream and drain it (``whole``: `drain.process_pending`, each batch in a
    transaction of its own, retried carefully in a new one) or apply it in one batch inside a
    transaction that holds more (the try then under a savepoint, as PostgreSQL's leased
    workers and the replays apply); the `raises`-th deal message's handler raises after
    writing (a defect)."""
    system = _system(db)
    with system.engine.begin() as conn:
        receive_many(conn, STREAM, now=fixed_clock())
        deals = conn.execute(select(inbox.c.id).where(inbox.c.type == "deal.closed_won")
                             .where(inbox.c.status == "received")
                             .order_by(inbox.c.seq)).scalars().all()
    real = processor.HANDLERS["deal.closed_won"]

    def flaky(batch: Any, data: Any) -> Any:
        outcome = real(batch, data)
        if raises is not None and batch.inbox_id == deals[raises]:
            raise RuntimeError("a defect after writing")
        return outcome

    before = _counted()
    with monkeypatch.context() as m:
        m.setitem(processor.HANDLERS, "deal.closed_won", flaky)
        if not first_try:
            m.setattr(processor, "_first_try", lambda *a: None)
        if whole:
            stats = system.process()
        else:
            stats = Stats()
            with system.engine.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE more (x)")  # (the transaction holds more)
                rows = conn.execute(select(inbox).where(inbox.c.status == "received")
                                    .order_by(inbox.c.seq)).all()
                processor.apply_batch(conn, rows, system.ref, fixed_clock(), stats)
    after = _counted()
    with system.engine.connect() as conn:
        state = sorted(conn.execute(select(inbox.c.event_id, inbox.c.status, inbox.c.reason,
                                           inbox.c.applied_at)).all())
        problems = sorted(conn.execute(select(exceptions.c.code, exceptions.c.message)).all())
    counted = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    return state, problems, stats, counted


def test_a_defect_in_the_first_try_leaves_no_trace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tried = _run(tmp_path / "a.db", monkeypatch, raises=2, first_try=True)
    careful = _run(tmp_path / "b.db", monkeypatch, raises=2, first_try=False)
    assert tried == careful
    _, problems, stats, counted = tried
    assert ("internal.error", "applying deal.closed_won failed: RuntimeError: a defect after "
            "writing") in problems
    assert stats.failed >= 1 and stats.applied > len(STREAM) // 2
    assert counted[("deal.closed_won", "failed")] >= 1
    assert sum(counted.values()) == stats.applied + stats.failed + stats.parked + stats.stale


def test_a_defect_in_a_try_under_a_savepoint_leaves_no_trace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tried = _run(tmp_path / "a.db", monkeypatch, raises=2, first_try=True, whole=False)
    assert tried == _run(tmp_path / "b.db", monkeypatch, raises=2, first_try=False,
                         whole=False)
    assert ("internal.error", "applying deal.closed_won failed: RuntimeError: a defect after "
            "writing") in tried[1]


def test_without_a_defect_the_first_try_is_the_careful_result(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run(tmp_path / "a.db", monkeypatch, raises=None, first_try=True) == \
        _run(tmp_path / "b.db", monkeypatch, raises=None, first_try=False)


def test_a_drained_batch_takes_no_savepoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = _system(tmp_path / "s.db")
    batches: list[int] = []
    real = processor._first_try
    monkeypatch.setattr(processor, "_first_try",
                        lambda *a: batches.append(len(a[1])) or real(*a))
    with system.engine.begin() as conn:
        receive_many(conn, STREAM, now=fixed_clock())
    opened: list[str] = []

    def seen(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.startswith("SAVEPOINT"):
            opened.append(statement)

    event.listen(system.engine, "before_cursor_execute", seen)
    stats = system.process()
    assert stats.applied > 100 and sum(batches) > len(STREAM) // 2
    assert opened == []  # (its transaction holds only the batch: `drain.process_pending`)

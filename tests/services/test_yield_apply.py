"""An applying worker beside the API yields SQLite's write lock when a request waits
(`processor.apply_batch(yield_when=…)`): the batch commits early and the rest is applied in
the next. The state must be what one uninterrupted pass gives, however often it yields."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.tables import inbox, parked
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.messaging import processor
from syncline.services.messaging.drain import process_pending
from syncline.services.messaging.inbox import receive_many
from syncline.services.messaging.outcomes import Stats
from syncline.services.state import fingerprint
from tests.conftest import fixed_clock
from tests.services.test_set_apply import STREAM


def _system(tmp: Path) -> Any:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp / 'y.db'}"), clock=fixed_clock,
                       durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, STREAM, now=fixed_clock())
    return system


def _state(system: Any) -> tuple[str, list[Any]]:
    with system.engine.connect() as conn:
        return fingerprint(conn), sorted(conn.execute(
            select(inbox.c.event_id, inbox.c.status, inbox.c.reason)).all())


def test_a_batch_that_yields_leaves_the_rest_received(tmp_path: Path) -> None:
    """Whether it yields after a single message or after a set, every row before the point
    it returns is settled and every row after is left received."""
    import shutil

    base = _system(tmp_path)
    base.engine.dispose()
    ends: set[str] = set()
    for after in range(0, 200, 3):  # the yield comes at the (after + 1)-th question
        db = tmp_path / f"y{after}.db"
        shutil.copy(tmp_path / "y.db", db)
        system = bootstrap(Settings(database_url=f"sqlite:///{db}"), clock=fixed_clock,
                           durable=False)
        with system.engine.begin() as conn:
            rows = conn.execute(select(inbox).where(inbox.c.status == "received")
                                .order_by(inbox.c.seq).limit(600)).all()
            asked = itertools.count()
            settled = processor.apply_batch(conn, rows, system.ref, fixed_clock(), Stats(),
                                            yield_when=lambda a=asked, n=after: next(a) >= n)
        assert 0 < settled <= len(rows)
        if settled == len(rows):  # asked fewer times than that: no later yield either
            break
        ends.add("set" if rows[settled - 1].type in processor.table.SET_HANDLERS else "single")
        with system.engine.connect() as conn:
            statuses = dict(conn.execute(select(inbox.c.id, inbox.c.status)
                                         .where(inbox.c.id.in_([r.id for r in rows]))).all())
            released = set(conn.execute(select(parked.c.inbox_id).where(
                parked.c.released_at.is_not(None))).scalars())
        system.engine.dispose()
        # settled: applied, parked, failed … — or parked and released again in the batch
        assert all(statuses[r.id] != "received" or r.id in released
                   for r in rows[:settled]), after
        assert all(statuses[r.id] == "received" for r in rows[settled:]), after
    assert ends == {"set", "single"}  # both ways of ending were tried


def test_yielding_often_gives_the_state_of_one_pass(tmp_path: Path) -> None:
    (tmp_path / "whole").mkdir()
    (tmp_path / "yielding").mkdir()
    whole = _system(tmp_path / "whole")
    process_pending(whole.engine, whole.ref, whole.clock)
    want = _state(whole)
    assert {s for _, s, _ in want[1]} >= {"applied", "parked", "failed"}

    yielding = _system(tmp_path / "yielding")
    asked, ends = itertools.count(), []
    settled: list[int] = []
    process_pending(yielding.engine, yielding.ref, yielding.clock,
                    progress=settled.append, yield_after=0,
                    yield_when=lambda: next(asked) % 5 == 4 and not ends.append(1))
    assert len(ends) >= 5 and len(settled) > len(ends)  # it yielded, and batches went on
    assert _state(yielding) == want


def test_a_batch_yields_only_once_it_has_run_its_minimum(monkeypatch: Any) -> None:
    """`drain._after`: a request waiting is not asked about before the batch has run
    ``yield_after`` seconds (each batch's fixed cost is then shared by a few milliseconds of
    messages), and is asked after."""
    from syncline.services.messaging import drain

    now = [100.0]
    monkeypatch.setattr(drain.time, "monotonic", lambda: now[0])
    asked: list[int] = []
    gate = drain._after(lambda: not asked.append(1), 0.005)
    assert gate is not None
    now[0] += 0.004
    assert not gate() and not asked  # too soon: the waiting request is not even asked
    now[0] += 0.001
    assert gate() and asked == [1]
    assert drain._after(None, 0.005) is None
    always = drain._after(lambda: True, 0)
    assert always is not None and always()


def test_serve_on_sqlite_lets_waiting_requests_end_a_batch(tmp_path: Path) -> None:
    from syncline.api.app import create_app
    from syncline.runner import BackgroundWorker

    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}"),
                       clock=fixed_clock, durable=False)
    runner = BackgroundWorker(system)
    create_app(system, worker=runner)
    assert runner.yield_when is not None and runner.yield_when() is False


def test_after_a_yield_batches_read_fewer_rows_then_grow_back(tmp_path: Path,
                                                              monkeypatch: Any) -> None:
    """A batch reads (and parses) all its rows before applying the first: after one that
    yielded, the next reads at most `CONTENDED_BATCH`; each that runs to its end doubles it,
    up to the batch size. The result stays one pass's."""
    from syncline.services.messaging import drain

    (tmp_path / "whole").mkdir()
    (tmp_path / "yielding").mkdir()
    whole = _system(tmp_path / "whole")
    process_pending(whole.engine, whole.ref, whole.clock)

    system = _system(tmp_path / "yielding")
    read: list[int] = []

    def apply_batch(conn: Any, rows: list[Any], *args: Any, **kwargs: Any) -> int:
        read.append(len(rows))
        return processor.apply_batch(conn, rows, *args, **kwargs)

    monkeypatch.setattr(drain, "apply_batch", apply_batch)
    asked = itertools.count()
    process_pending(system.engine, system.ref, system.clock, batch_size=200, yield_after=0,
                    yield_when=lambda: next(asked) == 0)  # a writer waits once, at first
    assert drain.CONTENDED_BATCH == 64
    assert read[:3] == [200, 64, 128] and read[3] > 128  # (the fourth: what was left)
    assert _state(system) == _state(whole)

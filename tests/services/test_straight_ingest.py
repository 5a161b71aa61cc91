"""A stream's chunk applied in the transaction that received it (`messaging/straight.py`)
gives the state that receiving everything and then draining gives: the same fingerprint and
the same status and reason for every message, whatever the chunk size, with delivery and data
faults in the stream. A chunk is applied straight only when it is all that waits; a defect in
applying it leaves it received (its raw text kept) for the drain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from sqlalchemy import event, select

from syncline.adapters.db.tables import inbox
from syncline.bootstrap import bootstrap
from syncline.cli import ingest as cli_ingest
from syncline.config import Settings
from syncline.services.messaging import processor, straight, unit
from syncline.services.messaging.inbox import prepare, receive_many, receive_prepared
from syncline.services.messaging.outcomes import Stats
from syncline.services.state import fingerprint
from tests.conftest import fixed_clock
from tests.services.test_set_apply import STREAM


def _system(db: Path) -> Any:
    return bootstrap(Settings(database_url=f"sqlite:///{db}"), clock=fixed_clock,
                     durable=False)


def _state(system: Any) -> tuple[str, list[Any]]:
    with system.engine.connect() as conn:
        return fingerprint(conn), sorted(conn.execute(
            select(inbox.c.event_id, inbox.c.status, inbox.c.reason, inbox.c.applied_at)
        ).all())


def _received_then_drained(db: Path) -> tuple[str, list[Any]]:
    system = _system(db)
    with system.engine.begin() as conn:
        receive_many(conn, STREAM, now=fixed_clock())
    system.process()
    return _state(system)


def _ingested(db: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
              ) -> tuple[tuple[str, list[Any]], list[int]]:
    system = _system(db)
    applied: list[int] = []
    original = straight.apply_received

    def counting(*args: Any, **kw: Any) -> int:
        applied.append(original(*args, **kw))
        return applied[-1]

    with monkeypatch.context() as m:
        m.setattr(cli_ingest, "CHUNK", chunk)
        m.setattr(straight, "apply_received", counting)
        cli_ingest.ingest_lines(system, list(STREAM), Console(quiet=True), True)
    return _state(system), applied


@pytest.fixture(scope="module")
def drained(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Any]]:
    return _received_then_drained(tmp_path_factory.mktemp("drained") / "d.db")


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunk=st.integers(min_value=1, max_value=len(STREAM) + 10))
def test_straight_through_gives_the_drained_state(
        chunk: int, drained: tuple[str, list[Any]], tmp_path_factory: pytest.TempPathFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    state, applied = _ingested(tmp_path_factory.mktemp("s") / "s.db", chunk, monkeypatch)
    assert state == drained
    assert sum(applied) > 0  # the straight path was taken (not only the drain)


def test_the_stream_parks_and_releases(drained: tuple[str, list[Any]]) -> None:
    """The comparison means something: the stream has parked, failed and rejected messages
    (so a chunk applied before an earlier one waits would show)."""
    statuses = {status for _, status, _, _ in drained[1]}
    assert {"applied", "parked", "failed", "rejected"} <= statuses


def test_a_chunk_is_not_applied_straight_while_an_earlier_message_waits(
        tmp_path: Path) -> None:
    system = _system(tmp_path / "w.db")
    with system.engine.begin() as conn:
        receive_many(conn, STREAM[:5], now=fixed_clock())  # received, not applied
    to_apply: straight.Stored = []
    with system.engine.begin() as conn:
        assert not straight.ready(conn)
        receive_prepared(conn, prepare(STREAM[5:50]), now=fixed_clock(), to_apply=to_apply)
        assert to_apply
        assert straight.apply_received(conn, to_apply, system.ref, fixed_clock(),
                                       Stats()) == 0
    with system.engine.connect() as conn:
        assert conn.execute(select(inbox.c.id).where(inbox.c.status != "received")
                            .where(inbox.c.status != "rejected")).first() is None


def test_a_defect_leaves_the_chunk_received_for_the_drain(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        drained: tuple[str, list[Any]]) -> None:
    """The apply takes no savepoint: a defect rolls the chunk's transaction back, and the
    chunk is received again on its own (none of what the apply wrote is kept)."""
    real = processor.HANDLERS["deal.closed_won"]
    deals = [0]

    def broken(batch: Any, data: Any) -> Any:
        outcome = real(batch, data)  # written, then a defect (after others were applied)
        deals[0] += 1
        if deals[0] == 3:
            raise RuntimeError("a defect")
        return outcome

    system = _system(tmp_path / "d.db")
    errors: list[Exception] = []
    stats = Stats()
    with monkeypatch.context() as m:
        m.setitem(processor.HANDLERS, "deal.closed_won", broken)
        assert straight.ingest_chunk(system.engine, prepare(STREAM), system.ref, fixed_clock,
                                     stats, log=errors.append) == 0
    assert [str(e) for e in errors] == ["a defect"]
    assert stats.applied == 0
    with system.engine.connect() as conn:  # every message kept, none applied
        assert conn.execute(select(inbox.c.id)).all().__len__() == len(
            {(r[0], r[1]) for r in drained[1]})
        assert {tuple(r) for r in conn.execute(select(inbox.c.status, inbox.c.applied_at))} \
            <= {("received", None), ("rejected", None)}
        assert fingerprint(conn) != drained[0]  # (nothing of the half applied is left)
    system.process()
    assert _state(system) == drained


def test_messages_are_not_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What receiving parsed is what applying reads (`unit._data` is not called for a
    plain text); a text orjson would not read as json does (a 19-digit number) is read
    again from the stored text."""
    read_again: list[str] = []
    original = unit._data
    monkeypatch.setattr(unit, "_data", lambda raw: read_again.append(raw) or original(raw))
    system = _system(tmp_path / "p.db")
    lines = [line for line in STREAM[:200]]
    to_apply: straight.Stored = []
    with system.engine.begin() as conn:
        receive_prepared(conn, prepare(lines), now=fixed_clock(), to_apply=to_apply)
        assert all(message is not None for _, message in to_apply)
        assert straight.apply_received(conn, to_apply, system.ref, fixed_clock(),
                                       Stats()) == len(to_apply)
    assert read_again == []
    long = STREAM[300].replace('"data":', '"x":1234567890123456789,"data":', 1)
    assert long != STREAM[300]
    to_apply = []
    with system.engine.begin() as conn:
        receive_prepared(conn, prepare([long]), now=fixed_clock(), to_apply=to_apply)
    assert [message for _, message in to_apply] == [None]


def test_a_chunk_stored_as_applied_is_written_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stored as applied when nothing waits: no mark is written after the insert for a
    message that ends applied with no note; the others (parked, failed, applied with a note,
    released) get theirs."""
    system = _system(tmp_path / "m.db")
    updated: set[str] = set()

    def seen(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, many: bool) -> None:
        if statement.startswith("UPDATE inbox"):  # ``… WHERE id = ?``: the id comes last
            updated.update(p[-1] for p in (params if many else [params]))

    to_apply: straight.Stored = []
    with system.engine.begin() as conn:
        assert straight.ready(conn)
        receive_prepared(conn, prepare(STREAM), now=fixed_clock(), to_apply=to_apply,
                         mark_applied=True)
        event.listen(conn, "before_cursor_execute", seen)
        assert straight.apply_received(conn, to_apply, system.ref, fixed_clock(),
                                       Stats()) == len(to_apply)
    with system.engine.connect() as conn:
        rows = conn.execute(select(inbox.c.id, inbox.c.status, inbox.c.reason)).all()
    plain = {i for i, status, reason in rows if status == "applied" and not reason}
    assert len(plain) > len(rows) // 2
    assert updated and updated.isdisjoint(plain)
    assert updated == {i for i, status, _ in rows if i not in plain and status != "rejected"}


def test_a_chunk_revising_a_rejected_message_is_left_to_the_drain(
        tmp_path: Path, drained: tuple[str, list[Any]]) -> None:
    """The corrected re-send waits (as received) under its first arrival's id, before the
    chunk: the chunk, stored as applied, is set back to received and the drain applies it
    in arrival order."""
    system = _system(tmp_path / "r.db")
    first = orjson.loads(STREAM[0])
    with system.engine.begin() as conn:
        receipts = receive_many(conn, [orjson.dumps({**first, "data": {}}).decode()],
                                now=fixed_clock())
    assert [r.status for r in receipts] == ["rejected"]
    to_apply: straight.Stored = []
    with system.engine.begin() as conn:
        assert straight.ready(conn)  # a rejected message does not wait
        receive_prepared(conn, prepare(STREAM), now=fixed_clock(), to_apply=to_apply,
                         mark_applied=True)
        assert straight.apply_received(conn, to_apply, system.ref, fixed_clock(),
                                       Stats()) == 0
    with system.engine.connect() as conn:
        assert {tuple(r) for r in conn.execute(select(inbox.c.status, inbox.c.applied_at))} \
            <= {("received", None), ("rejected", None)}
    system.process()
    assert _state(system)[0] == drained[0]


def test_a_chunk_received_and_applied_straight_takes_no_savepoint(tmp_path: Path) -> None:
    """A savepoint that outgrows 64 KiB spills SQLite's statement journal to a file for the
    rest of the transaction (module doc): the chunk's transaction takes none, also when it
    holds keys stored before (the receive's optimistic insert is then undone by a delete)."""
    system = _system(tmp_path / "n.db")
    opened: list[str] = []

    def seen(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.startswith("SAVEPOINT"):
            opened.append(statement)

    event.listen(system.engine, "before_cursor_execute", seen)
    stats = Stats()
    assert straight.ingest_chunk(system.engine, prepare(STREAM[:300]), system.ref,
                                 fixed_clock, stats) > 0
    system.process()  # (what the first chunk released)
    opened.clear()
    assert straight.ingest_chunk(system.engine, prepare(STREAM[250:600]), system.ref,
                                 fixed_clock, stats) > 0  # 50 stored before: duplicates
    assert opened == []
    reference = _system(tmp_path / "r.db")
    with reference.engine.begin() as conn:
        receive_many(conn, STREAM[:300], now=fixed_clock())
        receive_many(conn, STREAM[250:600], now=fixed_clock())
    with system.engine.connect() as conn, reference.engine.connect() as ref:
        def stored(c: Any) -> list[Any]:
            return sorted(c.execute(select(inbox.c.source, inbox.c.event_id, inbox.c.raw)))
        assert stored(conn) == stored(ref)

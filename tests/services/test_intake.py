"""Group commit of `POST /v1/events` (api/intake.py): requests waiting at once share one
transaction, each is answered only after that transaction commits, a failed group costs no
request but the failing one, and a caller's W3C `traceparent` is continued by the receive
span."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.context import Context
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from syncline.adapters.db.engine import BUSY_TIMEOUT_MS
from syncline.adapters.db.tables import inbox
from syncline.api.app import create_app
from syncline.api.intake import Intake
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.services.messaging.inbox import Receipt, receive_many
from syncline.services.messaging.write_lock import promptly
from syncline.services.telemetry import traces
from tests.builders import deal, time_entry
from tests.conftest import fixed_clock

KEY = {"X-API-Key": "test-key"}


@pytest.fixture
def system(tmp_path: Any) -> Iterator[Syncline]:
    found = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}",
                               api_keys="test-key"), clock=fixed_clock, durable=False)
    yield found
    found.engine.dispose()


class FakeStore:
    """Stores in memory; blocks its first call until released, so requests pile up behind it
    as they would behind a slow commit. Refuses any item named in ``poison``."""

    def __init__(self, poison: set[str] | None = None) -> None:
        self.calls: list[list[str]] = []
        self.parents: list[list[Any]] = []  # the span parent of each item, call by call
        self.committed: set[str] = set()
        self.release = threading.Event()
        self.entered = threading.Event()
        self.poison = poison or set()

    def __call__(self, items: Sequence[Any], parents: Sequence[Any]) -> list[Receipt]:
        self.entered.set()
        self.release.wait(5)
        batch = [str(i) for i in items]
        assert len(parents) == len(batch)
        self.calls.append(batch)
        self.parents.append(list(parents))
        if self.poison & set(batch):
            raise RuntimeError("this request's transaction failed")  # rolled back
        self.committed.update(batch)
        return [Receipt("accepted", f"inb-{i}", "test", i) for i in batch]


def test_requests_waiting_at_once_share_one_commit_and_are_answered_after_it() -> None:
    """The third of the waiting requests continues a caller's trace: it shares the group
    too, its two messages with its caller's span context, the others with none."""
    store = FakeStore()
    intake = Intake(store)
    caller = Context({"a caller's span": 1})

    async def scenario() -> list[list[Receipt]]:
        first = asyncio.create_task(intake.receive(["a"]))
        await asyncio.to_thread(store.entered.wait, 5)  # the writer is inside a commit
        rest = [asyncio.create_task(intake.receive([f"b{i}", f"c{i}"],
                                                   caller if i == 2 else None))
                for i in range(5)]
        await asyncio.sleep(0.05)
        assert not any(t.done() for t in rest)  # nobody is answered before its commit
        store.release.set()
        return await asyncio.gather(first, *rest)

    answers = asyncio.run(scenario())
    intake.close()
    assert store.calls == [["a"], [x for i in range(5) for x in (f"b{i}", f"c{i}")]]
    assert intake.groups == 2  # 6 requests, 2 transactions
    assert store.parents[1] == [None] * 4 + [caller] * 2 + [None] * 4
    assert [[r.event_id for r in a] for a in answers] == [["a"]] + [
        [f"b{i}", f"c{i}"] for i in range(5)]  # each request its own receipts, in order


def test_a_failed_group_is_retried_request_by_request() -> None:
    store = FakeStore(poison={"bad"})
    intake = Intake(store)

    async def scenario() -> list[Any]:
        first = asyncio.create_task(intake.receive(["a"]))
        await asyncio.to_thread(store.entered.wait, 5)
        rest = [asyncio.create_task(intake.receive([x])) for x in ("b", "bad", "c")]
        await asyncio.sleep(0.05)
        store.release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    a, b, bad, c = asyncio.run(scenario())
    intake.close()
    assert [r.event_id for r in a] == ["a"] and [r.event_id for r in c] == ["c"]
    assert [r.event_id for r in b] == ["b"]
    assert isinstance(bad, RuntimeError)  # only the failing request fails
    assert store.committed == {"a", "b", "c"}
    assert store.calls[1] == ["b", "bad", "c"]  # the group, rolled back, then one by one


def test_the_writer_ends_when_idle_and_starts_again() -> None:
    store = FakeStore()
    store.release.set()
    intake = Intake(store, idle_seconds=0.01)
    assert [r.event_id for r in asyncio.run(intake.receive(["a"]))] == ["a"]
    for _ in range(200):
        if intake._thread is None:
            break
        threading.Event().wait(0.01)
    assert intake._thread is None
    assert [r.event_id for r in asyncio.run(intake.receive(["b"]))] == ["b"]
    intake.close()


def test_concurrent_posts_store_every_message_once_over_http(system: Syncline) -> None:
    """Through the app: 20 threads post at once (some the same event): every message is
    stored once, in a gapless arrival order, and the answers say which were duplicates."""
    events = [time_entry(f"T-{i}") for i in range(15)]
    answers: list[int] = []
    with TestClient(create_app(system, background=False)) as http:
        def post(i: int) -> None:
            answers.append(http.post("/v1/events", json=events[i % 15], headers=KEY
                                     ).status_code)

        threads = [threading.Thread(target=post, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(answers) == [200] * 5 + [202] * 15  # 5 re-sends: duplicates
    with system.engine.connect() as conn:
        count, low, high = conn.execute(select(func.count(), func.min(inbox.c.seq),
                                               func.max(inbox.c.seq))).one()
    assert (count, high - low + 1) == (15, 15)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    traces.configure(exporter, batch=False)
    yield exporter
    traces.reset()


CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


def test_a_callers_traceparent_is_the_parent_of_the_receive_span(
        system: Syncline, spans: InMemorySpanExporter) -> None:
    won, t1, t2 = deal(), time_entry("T-1"), time_entry("T-2")
    with TestClient(create_app(system, background=False)) as http:
        r = http.post("/v1/events", json=won, headers={
            **KEY, "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"})
        assert r.status_code == 202, r.text
        plain = http.post("/v1/events", json=t1, headers=KEY)
        assert plain.status_code == 202
        bad = http.post("/v1/events", json=t2, headers={
            **KEY, "traceparent": "00-not-a-trace-01"})  # ignored, as the spec says
        assert bad.status_code == 202
    received = {s.attributes["syncline.event_id"]: s for s in spans.get_finished_spans()
                if s.name == "syncline.receive"}
    continued = received[won["id"]]
    assert continued.context is not None and continued.parent is not None
    assert continued.context.trace_id == int(CALLER_TRACE, 16)  # the caller's trace
    assert continued.parent.span_id == int(CALLER_SPAN, 16)  # under the caller's span
    root_trace, root_span = traces.trace_ids("deal/D-1")  # linked to the message's flow
    assert [(ln.context.trace_id, ln.context.span_id) for ln in continued.links] == [
        (root_trace, root_span)]
    for event in (t1, t2):  # without a (valid) traceparent: the correlation's trace
        span = received[event["id"]]
        assert span.context is not None
        assert span.context.trace_id == traces.trace_ids(event["correlationid"])[0]
        assert not span.links


def test_an_applying_worker_lets_the_waiting_requests_through_between_batches() -> None:
    """``let_through`` (called by serve's worker after each batch) returns once the requests
    handed in before it are committed — not before, and not waiting for later ones."""
    store = FakeStore()
    intake = Intake(store)
    returned = threading.Event()

    async def scenario() -> None:
        first = asyncio.create_task(intake.receive(["a"]))
        await asyncio.to_thread(store.entered.wait, 5)
        waiter = threading.Thread(target=lambda: (intake.let_through(5), returned.set()))
        waiter.start()
        await asyncio.sleep(0.05)
        assert not returned.is_set()  # "a" is not committed yet
        store.release.set()
        await first
        await asyncio.to_thread(returned.wait, 5)
        assert "a" in store.committed

    asyncio.run(scenario())
    assert returned.is_set()
    started = time.monotonic()
    intake.let_through(5)  # nothing pending: at once
    assert time.monotonic() - started < 1
    intake.close()


def _hold_write_lock(path: str, seconds: float, held: threading.Event) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer (an applying worker, say)
    held.set()
    time.sleep(seconds)
    other.execute("COMMIT")
    other.close()


def _busy_timeout(system: Syncline) -> int:
    with system.engine.connect() as conn:
        return int(conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            "PRAGMA busy_timeout").fetchone()[0])


def test_the_writer_takes_the_lock_once_another_writer_lets_go(system: Syncline) -> None:
    """`promptly` asks again and again while the lock is held (each try fails at once), then
    stores; the pooled connection waits as usual afterwards."""
    path = str(system.engine.url.database)
    held = threading.Event()
    other = threading.Thread(target=_hold_write_lock, args=(path, 0.3, held))
    other.start()
    held.wait(5)
    with promptly(system.engine, timeout=10) as conn:
        receive_many(conn, [json.dumps(deal())], now=fixed_clock())
    other.join()
    with system.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(inbox)).scalar() == 1
    assert _busy_timeout(system) == BUSY_TIMEOUT_MS


def test_the_writer_gives_up_after_its_timeout_and_stores_nothing(system: Syncline) -> None:
    path = str(system.engine.url.database)
    held = threading.Event()
    other = threading.Thread(target=_hold_write_lock, args=(path, 1.0, held))
    other.start()
    held.wait(5)
    with pytest.raises(OperationalError), promptly(system.engine, timeout=0.1) as conn:
        receive_many(conn, [json.dumps(deal())], now=fixed_clock())
    other.join()
    with system.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(inbox)).scalar() == 0
    assert _busy_timeout(system) == BUSY_TIMEOUT_MS


def test_a_failure_while_storing_rolls_the_group_back(system: Syncline) -> None:
    with pytest.raises(RuntimeError), promptly(system.engine) as conn:
        receive_many(conn, [json.dumps(deal())], now=fixed_clock())
        raise RuntimeError("the group failed")
    with system.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(inbox)).scalar() == 0

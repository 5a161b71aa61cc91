"""What the broker ingress tests share (NATS, RabbitMQ, Kafka): a system on SQLite, the
state a file ingest of the same lines gives, an ingress run until a condition holds,
reachability that skips off CI and fails under CI=true, and messages carrying a sender's
W3C trace context with the receive spans they must give."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.services.messaging.inbox import receive_many
from syncline.services.messaging.queues import queue_depths
from syncline.services.state import fingerprint
from syncline.services.telemetry import traces
from tests.builders import deal, time_entry
from tests.conftest import fixed_clock, in_ci


def require_server(url: str, what: str, default_port: int) -> str:
    where = urlparse(url)
    try:
        socket.create_connection((where.hostname or "127.0.0.1", where.port or default_port),
                                 timeout=2).close()
    except OSError as err:
        if in_ci():
            pytest.fail(f"{what} is required under CI=true but not reachable at "
                        f"{where.hostname}:{where.port or default_port}: {err}")
        pytest.skip(f"{what} not reachable at {where.hostname}:{where.port or default_port}: "
                    f"{type(err).__name__}")
    return url


def system_at(path: Path) -> Syncline:
    return bootstrap(Settings(database_url=f"sqlite:///{path}"), clock=fixed_clock,
                     durable=False)


def reference_state(lines: list[str], path: Path) -> str:
    """The state a file ingest of the same lines gives (one process, SQLite)."""
    system = system_at(path)
    with system.engine.begin() as conn:
        receive_many(conn, lines, now=fixed_clock())
    system.process()
    with system.engine.connect() as conn:
        state = fingerprint(conn)
    system.engine.dispose()
    return state


def applied_state(system: Syncline) -> str:
    system.process()
    with system.engine.connect() as conn:
        assert queue_depths(conn)["inbox"]["received"] == 0
        return fingerprint(conn)


def depths(system: Syncline) -> dict[str, Any]:
    with system.engine.connect() as conn:
        return queue_depths(conn)


def stored(system: Syncline) -> int:
    return int(sum(depths(system)["inbox"].values()))


def first_receipts(system: Syncline) -> int:
    """Deliveries that were not duplicates: one a message however often it came."""
    from sqlalchemy import func, select

    from syncline.adapters.db.tables import inbox_receipts
    with system.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inbox_receipts).where(
            inbox_receipts.c.duplicate.is_(False))).scalar_one())


def run_until(ingress: Any, until: Callable[[Any], bool], *, timeout: float = 60,
              meanwhile: Callable[[], Awaitable[None]] | None = None) -> Any:
    """Run ``ingress`` in this process until ``until(stats)`` holds, then stop it; its
    stats. ``meanwhile`` runs once after the start (a publisher, say)."""

    async def main() -> None:
        await ingress.start()
        try:
            if meanwhile is not None:
                await meanwhile()
            deadline = time.monotonic() + timeout
            while not until(ingress.stats):
                assert time.monotonic() < deadline, f"timed out: {ingress.stats}"
                await asyncio.sleep(0.05)
        finally:
            await ingress.stop()

    asyncio.run(main())
    return ingress.stats


def crash_once() -> Callable[[list[Any]], Awaitable[None]]:
    """An ``after_store`` that fails the first batch between its commit and its ack."""
    crashed: list[int] = []

    async def after_store(receipts: list[Any]) -> None:
        if not crashed:
            crashed.append(len(receipts))
            raise RuntimeError("killed between the inbox commit and the acknowledgement")

    return after_store


def failing_store_once(real: Callable[..., Any]) -> tuple[Callable[..., Any], list[int]]:
    """A ``store`` whose first call stores and then fails before the commit (rolled back)."""
    failed: list[int] = []

    def store(system: Syncline, items: list[Any], parents: list[Any]) -> list[Any]:
        if not failed:
            failed.append(len(items))
            with system.engine.begin() as conn:  # what it stored is rolled back
                receive_many(conn, items, now=fixed_clock(), parents=parents)
                raise ConnectionError("the database went away before the commit")
        return real(system, items, parents)

    return store, failed


def kill_and_restart(command: list[str], env: dict[str, str], folder: Path,
                     started: Callable[[], bool], done: Callable[[], bool],
                     killed: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """Run the broker ingress command until ``started()`` holds, SIGKILL it (then call
    ``killed()``), run it again until ``done()`` holds, stop it with SIGTERM: the second
    run's last line of output (its summary). Output goes to files (a pipe nobody drains
    would block a busy process); a run that dies or overruns is killed and its error shown."""
    def start(n: int) -> tuple[subprocess.Popen[str], Path, Path]:
        out, err = folder / f"ingress-{n}.out", folder / f"ingress-{n}.err"
        with out.open("w") as stdout, err.open("w") as stderr:
            proc = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True, env=env)
        return proc, out, err

    def wait_for(proc: subprocess.Popen[str], err: Path, until: Callable[[], bool],
                 timeout: float, pause: float) -> None:
        deadline = time.monotonic() + timeout
        while not until():
            if proc.poll() is not None or time.monotonic() > deadline:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(timeout=30)
                pytest.fail(f"ingress exit {proc.returncode}: {err.read_text()[-2000:]}")
            time.sleep(pause)

    first, _, first_err = start(0)
    wait_for(first, first_err, started, 120, 0.02)  # it is storing: kill it part-way
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    killed()
    second, second_out, second_err = start(1)
    try:
        wait_for(second, second_err, done, 240, 0.1)
    finally:
        if second.poll() is None:
            second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert second.returncode == 0, second_err.read_text()[-2000:]
    return dict(json.loads(second_out.read_text().strip().splitlines()[-1]))


CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
Traced = list[tuple[dict[str, Any], dict[str, str]]]  # event, headers


def traced_events() -> Traced:
    """A deal whose message carries a sender's valid ``traceparent`` (and ``tracestate``),
    T-1 with no trace context, T-2 with an invalid ``traceparent``."""
    return [(deal(), {"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01",
                      "tracestate": "vendor=1"}),
            (time_entry("T-1"), {}),
            (time_entry("T-2"), {"traceparent": "00-not-a-trace-01"})]


@contextmanager
def recorded_spans() -> Iterator[Any]:
    """Tracing on, every span kept in memory (an ``InMemorySpanExporter``) while the block
    runs."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    traces.configure(exporter, batch=False)
    try:
        yield exporter
    finally:
        traces.reset()


def check_receive_spans(exporter: Any, sent: Traced) -> None:
    """The deal's receive span is the sender's span's child, in the sender's trace (its
    ``tracestate`` kept), linked to the correlation's root, where its apply and delivery
    spans go; T-1's and T-2's (the invalid header ignored) are their correlation root's
    children, unlinked, as ever (docs/operations.md, "Traces")."""
    (won, _), (t1, _), (t2, _) = sent
    received = {s.attributes["syncline.event_id"]: s for s in exporter.get_finished_spans()
                if s.name == "syncline.receive"}
    continued = received[won["id"]]
    assert continued.context is not None and continued.parent is not None
    assert continued.context.trace_id == int(CALLER_TRACE, 16)  # the sender's trace
    assert continued.parent.span_id == int(CALLER_SPAN, 16)  # under the sender's span
    assert continued.context.trace_state.to_header() == "vendor=1"
    assert [(ln.context.trace_id, ln.context.span_id) for ln in continued.links] == [
        traces.trace_ids(won["correlationid"])]
    for event in (t1, t2):
        span = received[event["id"]]
        assert span.context is not None and span.parent is not None
        assert (span.context.trace_id, span.parent.span_id) == traces.trace_ids(
            event["correlationid"])
        assert not span.links

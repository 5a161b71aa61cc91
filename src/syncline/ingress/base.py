"""The one acknowledge-after-commit handler every broker shares.

A broker hands over a batch (NATS JetStream and Kafka: up to ``batch_size`` messages;
RabbitMQ: one message, see `rabbit`). `BrokerIngress._accept` maps each message to a
CloudEvent with the broker's CloudEvents binding (`Binding`), stores the batch with
`receive_many` in one transaction in a worker thread (never on the event loop) and
acknowledges the broker's message only once that transaction has committed. If storing fails
(the database is down) the batch is negatively acknowledged after ``retry_seconds`` and comes
back; if the process dies after the commit and before the acknowledgement, the broker
delivers again and every message is a duplicate, acknowledged without effect (unique on
source and id). A bad message is stored rejected, with its reason, and acknowledged.

A subclass says only what differs between brokers: how it builds its FastStream broker and
subscriber (`_make_broker`), which raw messages a FastStream message carries with their body,
headers and whether the broker delivered them before (`_deliveries`), and how to hand a
batch back (`_retry`). Acknowledging is FastStream's ``message.ack()`` for all of them.

A broker that hands messages over one at a time, each in a task of its own (RabbitMQ), sets
``coalesce``: the handlers' messages then join one queue in the order they were delivered
and a single task stores what has gathered in one transaction at a time (`Coalescer`), so
the inbox keeps the queue's order, SQLite sees one writer, and a burst is stored in batches;
each handler still acknowledges its own message after the commit that stored it.

A message whose headers carry a valid W3C ``traceparent`` (when tracing is on) has its
``syncline.receive`` span made a child of the sender's span, linked to its correlation's
root, as ``POST /v1/events`` does (docs/operations.md, "Traces"): the sender's span context
goes with each message to ``receive_many`` (``parents``), so the batch is still stored in one
transaction whatever its messages' senders.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import anyio
from faststream import Context
from opentelemetry.context import Context as SpanParent

from syncline.bootstrap import Syncline
from syncline.ingress.cloudevents import Binding, event_from
from syncline.services.messaging.inbox import Receipt, receive_many
from syncline.services.telemetry import traces

log = logging.getLogger("syncline.ingress")

AfterStore = Callable[[list[Receipt]], Awaitable[None]]


@dataclass
class IngressStats:
    batches: int = 0
    failures: int = 0  # batches not stored (negatively acknowledged, redelivered)
    redelivered: int = 0  # messages the broker says it had delivered before
    acked: int = 0  # messages acknowledged (each after its batch committed)
    receipts: dict[str, int] = field(default_factory=dict)  # accepted, duplicate, rejected …

    def as_dict(self) -> dict[str, Any]:
        return {"batches": self.batches, "failures": self.failures,
                "redelivered": self.redelivered, "acked": self.acked, **self.receipts}


@dataclass(frozen=True)
class Delivery:
    """One broker message as the handler sees it."""

    body: bytes
    headers: Mapping[str, str]
    redelivered: bool = False


Parents = list[SpanParent | None]  # each message's sender's span context (traces.from_headers)


def store(system: Syncline, items: list[str | dict[str, Any]], parents: Parents
          ) -> list[Receipt]:
    """One broker batch into the inbox, in one transaction (committed when this returns)."""
    with system.engine.begin() as conn:
        return receive_many(conn, items, now=system.clock(), parents=parents)


def text_headers(headers: Mapping[str, Any] | Sequence[tuple[str, Any]] | None
                 ) -> dict[str, str]:
    """Header values as text: brokers give bytes (Kafka), str, or other AMQP types."""
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
    found: dict[str, str] = {}
    for key, value in pairs:
        if value is None:
            continue
        if isinstance(value, bytes | bytearray):
            found[str(key)] = bytes(value).decode("utf-8", errors="backslashreplace")
        else:
            found[str(key)] = str(value)
    return found


class Coalescer:
    """Items submitted by concurrent handlers, stored by one task, whatever has gathered (at
    most ``limit`` handlers' items) in one transaction at a time.

    Handlers reach it in roughly, not exactly, the order the broker delivered their messages
    (each runs in a task of its own), so each submits its delivery's position (RabbitMQ's
    delivery tag: 1, 2, 3 … on a channel): what has gathered is stored in that order, and
    when the next position has not arrived yet the store waits for it up to ``gap_wait``
    seconds (a message that never reaches the handler does not hold the others for longer).
    A position lower than the next expected (a new channel after a reconnect) starts again."""

    def __init__(self, system: Syncline, limit: int, gap_wait: float = 0.05) -> None:
        self.system = system
        self.limit = max(1, limit)
        self.gap_wait = gap_wait
        self.pending: list[tuple[int, list[str | dict[str, Any]], Parents,
                                 asyncio.Future[list[Receipt]]]] = []
        self.next_position: int | None = None
        self.task: asyncio.Task[None] | None = None

    async def store(self, position: int, items: list[str | dict[str, Any]], parents: Parents
                    ) -> list[Receipt]:
        done: asyncio.Future[list[Receipt]] = asyncio.get_running_loop().create_future()
        self.pending.append((position, items, parents, done))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain())
        return await done

    async def _take(self) -> list[tuple[int, list[str | dict[str, Any]], Parents,
                                        asyncio.Future[list[Receipt]]]]:
        """The run of positions that follows the last one stored, waiting up to
        ``gap_wait`` for a missing one; after that, whatever has gathered, in order."""
        waited = 0.0
        while True:
            self.pending.sort(key=lambda p: p[0])
            expected = self.pending[0][0] if self.next_position is None else self.next_position
            if self.pending[0][0] < expected:  # a new channel: positions start again
                expected = self.pending[0][0]
            run = 0
            while (run < len(self.pending) and run < self.limit
                   and self.pending[run][0] == expected + run):
                run += 1
            if run == 0 and waited < self.gap_wait:
                await asyncio.sleep(0.002)
                waited += 0.002
                continue
            run = run or min(len(self.pending), self.limit)
            taken, self.pending = self.pending[:run], self.pending[run:]
            self.next_position = taken[-1][0] + 1
            return taken

    async def _drain(self) -> None:
        while self.pending:
            await asyncio.sleep(0)  # let the handlers already delivered join this batch
            taken = await self._take()
            flat = [item for _, items, _, _ in taken for item in items]
            parents = [parent for _, _, each, _ in taken for parent in each]
            try:
                receipts = await anyio.to_thread.run_sync(_store, self.system, flat, parents)
            except Exception as failed:
                for _, _, _, done in taken:
                    if not done.done():
                        done.set_exception(failed)
                continue
            start = 0
            for _, items, _, done in taken:
                if not done.done():
                    done.set_result(receipts[start:start + len(items)])
                start += len(items)


@dataclass
class BrokerIngress:
    """A FastStream broker with one subscriber feeding the inbox (see the subclasses)."""

    system: Syncline
    url: str
    topic: str = "syncline.events"  # NATS subject, RabbitMQ queue, Kafka topic
    group: str = "syncline-ingress"  # NATS durable, Kafka consumer group (shared = split)
    batch_size: int = 500
    retry_seconds: float = 2.0
    after_store: AfterStore | None = None  # tests: a crash between commit and ack
    stats: IngressStats = field(default_factory=IngressStats)
    broker: Any = field(init=False, repr=False)
    _coalescer: Coalescer | None = field(init=False, repr=False, default=None)

    binding: ClassVar[Binding]
    scheme: ClassVar[str]
    coalesce: ClassVar[bool] = False  # messages come one a task: store them together

    def __post_init__(self) -> None:
        self._coalescer = Coalescer(self.system, self.batch_size) if self.coalesce else None
        self.broker = self._make_broker()

    # -- what differs between brokers ------------------------------------------------
    def _make_broker(self) -> Any:
        """The FastStream broker, its subscriber calling `_accept` with ack MANUAL."""
        raise NotImplementedError

    def _deliveries(self, message: Any) -> list[Delivery]:
        raise NotImplementedError

    def _position(self, message: Any) -> int:
        """Where the broker delivered this message (``coalesce`` brokers)."""
        raise NotImplementedError

    async def _retry(self, message: Any) -> None:
        """Hand the batch back to the broker to be delivered again (not stored)."""
        await asyncio.sleep(self.retry_seconds)
        await message.nack()

    # -- the one handler ---------------------------------------------------------------
    async def _accept(self, message: Any = Context("message")) -> None:
        deliveries = self._deliveries(message)
        items = [event_from(d.body, d.headers, self.binding) for d in deliveries]
        parents = [traces.from_headers(d.headers) for d in deliveries]
        self.stats.redelivered += sum(1 for d in deliveries if d.redelivered)
        try:
            if self._coalescer is not None:
                receipts = await self._coalescer.store(self._position(message), items,
                                                       parents)
            else:
                receipts = await anyio.to_thread.run_sync(_store, self.system, items, parents)
        except Exception:
            self.stats.failures += 1
            log.exception("storing %d broker message(s) failed; redelivered in %.0f s",
                          len(items), self.retry_seconds)
            await self._retry(message)
            return
        self.stats.batches += 1
        for r in receipts:
            self.stats.receipts[r.status] = self.stats.receipts.get(r.status, 0) + 1
        if self.after_store is not None:
            await self.after_store(receipts)
        await message.ack()
        self.stats.acked += len(deliveries)

    async def start(self) -> None:
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()

    async def run(self, stopped: asyncio.Event) -> IngressStats:
        """Consume until ``stopped`` is set, then close the connection (what was fetched and
        not acknowledged is delivered again to whoever consumes next)."""
        await self.start()
        try:
            await stopped.wait()
        finally:
            await self.stop()
        return self.stats


def _store(system: Syncline, items: list[str | dict[str, Any]], parents: Parents
           ) -> list[Receipt]:
    return store(system, items, parents)  # looked up at call time: tests replace `store`

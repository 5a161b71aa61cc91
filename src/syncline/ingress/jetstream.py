"""NATS JetStream ingress with FastStream: a durable pull consumer, batches stored, then acked.

The consumer pulls up to ``batch_size`` messages at a time (waiting at most ``fetch_timeout``
seconds for a batch to fill), stores them with `receive_many` in one transaction in a worker
thread (never on the event loop) and acknowledges them only once that transaction has
committed (FastStream's ``AckPolicy.MANUAL``: nothing is acked on its own). If storing fails
(the database is down) the batch is negatively acknowledged and redelivered after
``retry_seconds``; if the process dies after the commit and before the acknowledgement, the
broker redelivers after ``ack_wait`` seconds and every message is a duplicate, acknowledged
without effect. The stream is declared if missing (``JStream``: the subject, file storage).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from faststream import Context
from faststream.middlewares import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, PullSub

from syncline.bootstrap import Syncline
from syncline.ingress.cloudevents import event_from
from syncline.services.messaging.inbox import Receipt, receive_many

log = logging.getLogger("syncline.ingress")

AfterStore = Callable[[list[Receipt]], Awaitable[None]]


@dataclass
class IngressStats:
    batches: int = 0
    failures: int = 0  # batches not stored (negatively acknowledged, redelivered)
    redelivered: int = 0  # messages the broker had delivered before
    acked: int = 0  # messages acknowledged (each after its batch committed)
    receipts: dict[str, int] = field(default_factory=dict)  # accepted, duplicate, rejected …

    def as_dict(self) -> dict[str, Any]:
        return {"batches": self.batches, "failures": self.failures,
                "redelivered": self.redelivered, "acked": self.acked, **self.receipts}


def store(system: Syncline, items: list[str | dict[str, Any]]) -> list[Receipt]:
    """One broker batch into the inbox, in one transaction (committed when this returns)."""
    with system.engine.begin() as conn:
        return receive_many(conn, items, now=system.clock())


@dataclass
class NatsIngress:
    """A FastStream NATS broker with one JetStream subscriber feeding the inbox."""

    system: Syncline
    url: str = "nats://127.0.0.1:4222"
    subject: str = "syncline.events"
    stream: str = "SYNCLINE"
    durable: str = "syncline-ingress"
    batch_size: int = 500
    fetch_timeout: float = 0.2
    ack_wait: float = 30.0
    retry_seconds: float = 2.0
    after_store: AfterStore | None = None  # tests: a crash between commit and ack
    stats: IngressStats = field(default_factory=IngressStats)
    broker: NatsBroker = field(init=False)

    def __post_init__(self) -> None:
        self.broker = NatsBroker(self.url, log_level=logging.WARNING)
        subscriber = self.broker.subscriber(
            self.subject, stream=JStream(self.stream, subjects=[self.subject]),
            durable=self.durable, config=ConsumerConfig(ack_wait=self.ack_wait),
            pull_sub=PullSub(batch_size=self.batch_size, timeout=self.fetch_timeout,
                             batch=True),
            ack_policy=AckPolicy.MANUAL)
        subscriber(self._consume)

    async def _consume(self, message: Any = Context("message")) -> None:
        raw = list(message.raw_message)
        items = [event_from(m.data, m.headers) for m in raw]
        self.stats.redelivered += sum(1 for m in raw if _delivered(m) > 1)
        try:
            receipts = await anyio.to_thread.run_sync(store, self.system, items)
        except Exception:
            self.stats.failures += 1
            log.exception("storing %d broker message(s) failed; redelivered in %.0f s",
                          len(items), self.retry_seconds)
            await message.nack(delay=self.retry_seconds)
            return
        self.stats.batches += 1
        for r in receipts:
            self.stats.receipts[r.status] = self.stats.receipts.get(r.status, 0) + 1
        if self.after_store is not None:
            await self.after_store(receipts)
        await message.ack()
        self.stats.acked += len(raw)

    async def start(self) -> None:
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()

    async def run(self, stopped: asyncio.Event) -> IngressStats:
        """Consume until ``stopped`` is set, then close the connection (what was fetched and
        not acknowledged is redelivered to whoever consumes next)."""
        await self.start()
        try:
            await stopped.wait()
        finally:
            await self.stop()
        return self.stats


def _delivered(msg: Any) -> int:
    try:
        return int(msg.metadata.num_delivered)
    except Exception:  # not a JetStream message
        return 1

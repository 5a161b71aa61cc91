"""NATS JetStream ingress with FastStream: a durable pull consumer, batches stored, then acked.

The consumer pulls up to ``batch_size`` messages at a time (waiting at most ``fetch_timeout``
seconds for a batch to fill) and hands them to the shared handler (`base.BrokerIngress`):
stored in one transaction, acknowledged after the commit. A batch that could not be stored is
negatively acknowledged with a delay of ``retry_seconds`` (JetStream redelivers it then); one
not acknowledged at all (the process died) comes back after ``ack_wait`` seconds. The stream
is declared if missing (``JStream``: the subject, file storage).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from faststream.middlewares import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, PullSub

from syncline.ingress.base import BrokerIngress, Delivery, IngressStats, store
from syncline.ingress.cloudevents import NATS, Binding

__all__ = ["IngressStats", "NatsIngress", "store"]


@dataclass
class NatsIngress(BrokerIngress):
    """A FastStream NATS broker with one JetStream pull subscriber feeding the inbox."""

    url: str = "nats://127.0.0.1:4222"
    stream: str = "SYNCLINE"
    fetch_timeout: float = 0.2
    ack_wait: float = 30.0

    binding: ClassVar[Binding] = NATS
    scheme: ClassVar[str] = "nats"

    def _make_broker(self) -> NatsBroker:
        broker = NatsBroker(self.url, log_level=logging.DEBUG)  # its per-message lines
        subscriber = broker.subscriber(
            self.topic, stream=JStream(self.stream, subjects=[self.topic]),
            durable=self.group, config=ConsumerConfig(ack_wait=self.ack_wait),
            pull_sub=PullSub(batch_size=self.batch_size, timeout=self.fetch_timeout,
                             batch=True),
            ack_policy=AckPolicy.MANUAL)
        subscriber(self._accept)
        return broker

    def _deliveries(self, message: Any) -> list[Delivery]:
        return [Delivery(m.data, m.headers or {}, _delivered(m) > 1)
                for m in message.raw_message]

    async def _retry(self, message: Any) -> None:
        await message.nack(delay=self.retry_seconds)  # JetStream waits, not this process


def _delivered(msg: Any) -> int:
    try:
        return int(msg.metadata.num_delivered)
    except Exception:  # not a JetStream message
        return 1

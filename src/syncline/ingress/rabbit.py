"""RabbitMQ ingress with FastStream: a durable queue, messages stored, then acked.

FastStream's RabbitMQ subscriber hands over one message at a time, each in a task of its own
(aio-pika), up to the channel's prefetch (``batch_size``) unacknowledged. The shared handler
(`base.BrokerIngress`) puts them in one queue, sorted by delivery tag, and stores whatever
has gathered in one transaction at a time (``coalesce``: the queue's order kept, bursts
stored in batches); each message is acknowledged after the commit that stored it. A message
that could not be stored is negatively acknowledged with requeue after ``retry_seconds``
(RabbitMQ has no delayed nack: the wait is here, so a database outage is not a hot loop);
one never acknowledged (the process died, its connection closed) is requeued by RabbitMQ at
once, marked redelivered. The queue is declared durable if missing, on the default exchange
(publish with the queue's name as routing key).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from faststream.middlewares import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitQueue

from syncline.ingress.base import BrokerIngress, Delivery, text_headers
from syncline.ingress.cloudevents import AMQP, Binding


@dataclass
class RabbitIngress(BrokerIngress):
    """A FastStream RabbitMQ broker with one durable-queue subscriber feeding the inbox."""

    url: str = "amqp://guest:guest@127.0.0.1:5672/"

    binding: ClassVar[Binding] = AMQP
    scheme: ClassVar[str] = "amqp"
    coalesce: ClassVar[bool] = True

    def _make_broker(self) -> RabbitBroker:
        broker = RabbitBroker(self.url, log_level=logging.DEBUG)  # its per-message lines
        subscriber = broker.subscriber(
            RabbitQueue(self.topic, durable=True),
            channel=Channel(prefetch_count=self.batch_size),
            ack_policy=AckPolicy.MANUAL)
        subscriber(self._accept)
        return broker

    def _position(self, message: Any) -> int:
        return int(message.raw_message.delivery_tag or 0)

    def _deliveries(self, message: Any) -> list[Delivery]:
        raw = message.raw_message  # aio_pika.IncomingMessage
        headers = text_headers({k: _amqp_value(k, v) for k, v in (raw.headers or {}).items()})
        if raw.content_type:  # the AMQP binding's datacontenttype is this property
            headers["content-type"] = raw.content_type
        return [Delivery(raw.body, headers, bool(raw.redelivered))]


def _amqp_value(name: str, value: Any) -> Any:
    """The AMQP binding's ``time`` may be an AMQP timestamp (an integer of milliseconds
    since the epoch, as the CloudEvents SDK sends it, or a timestamp field that aio-pika
    reads as a datetime); the envelope's is RFC 3339 text."""
    if name.lower() in ("cloudevents_time", "cloudevents:time"):
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            value = datetime.fromtimestamp(value / 1000, UTC)
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value

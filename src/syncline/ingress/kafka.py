"""Kafka ingress with FastStream (aiokafka): a consumer group, batches stored, then committed.

The subscriber polls up to ``batch_size`` records at a time with auto-commit off
(FastStream's ``AckPolicy.MANUAL``) and hands them to the shared handler
(`base.BrokerIngress`): stored in one transaction, then the group's offsets committed — the
acknowledgement. A batch that could not be stored is negatively acknowledged after
``retry_seconds``: FastStream seeks each partition back to the batch's earliest record, so it
is polled again. A process that dies before the commit leaves the offsets where they were:
the group's next member reads the batch again, and every record is a duplicate. A new group
starts from the earliest record. Kafka keeps no delivery count, so ``redelivered`` stays 0.

Tested with FastStream's in-memory ``TestKafkaBroker`` only: no Kafka server runs where this
was built (docs/scale-out.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from faststream.kafka import KafkaBroker
from faststream.middlewares import AckPolicy

from syncline.ingress.base import BrokerIngress, Delivery, text_headers
from syncline.ingress.cloudevents import KAFKA, Binding


@dataclass
class KafkaIngress(BrokerIngress):
    """A FastStream Kafka broker with one batch subscriber in a consumer group."""

    url: str = "kafka://127.0.0.1:9092"
    batch_timeout_ms: int = 200

    binding: ClassVar[Binding] = KAFKA
    scheme: ClassVar[str] = "kafka"

    def _make_broker(self) -> KafkaBroker:
        # FastStream logs each message at log_level: DEBUG keeps them out of the logs
        broker = KafkaBroker(bootstrap_servers(self.url), log_level=logging.DEBUG)
        subscriber = broker.subscriber(
            self.topic, group_id=self.group, batch=True, max_records=self.batch_size,
            batch_timeout_ms=self.batch_timeout_ms, auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL)
        subscriber(self._accept)
        return broker

    def _deliveries(self, message: Any) -> list[Delivery]:
        records = message.raw_message
        if not isinstance(records, tuple | list):
            records = (records,)
        return [Delivery(r.value or b"", text_headers(r.headers)) for r in records]


def bootstrap_servers(url: str) -> list[str]:
    """``kafka://host1:9092,host2:9092`` → the bootstrap servers."""
    rest = url.split("://", 1)[1] if "://" in url else url
    return [h for h in rest.strip("/").split(",") if h]

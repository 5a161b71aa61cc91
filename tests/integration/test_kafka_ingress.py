"""Kafka ingress (syncline.ingress.kafka) on FastStream's in-memory ``TestKafkaBroker``.

No Kafka server runs where this is built or in CI: these tests drive the real subscriber (a
batch consumer in a group, auto-commit off, ``AckPolicy.MANUAL``) and the shared handler
through FastStream's test broker, which hands published records to the handler in process.
What they show is our side of the contract: every record of a batch is in the inbox before
the offsets are committed (the acknowledgement), a batch that failed between commit and
acknowledgement is not committed and, read again (what the group's next member does from the
uncommitted offset), is stored as duplicates; a failed commit rewinds (``seek``) each partition
to the batch's earliest record. A real broker's group coordination and rebalancing are not
tested here (docs/scale-out.md).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker
from faststream.kafka.message import KafkaAckableMessage

from syncline.bootstrap import Syncline
from syncline.ingress.kafka import KafkaIngress, bootstrap_servers
from syncline.ingress.select import UnknownBroker, ingress_for
from syncline.simulator import SimulationConfig, simulate
from tests.integration.ingress_support import (
    applied_state,
    check_receive_spans,
    crash_once,
    depths,
    failing_store_once,
    first_receipts,
    recorded_spans,
    reference_state,
    stored,
    system_at,
    traced_events,
)

CONFIG = SimulationConfig(seed=9, customers=3, workers=8, months=2)
TOPIC = "syncline.events"


def binary(line: str) -> tuple[bytes, dict[str, str]]:
    """The event in the Kafka binding's binary mode (``ce_*`` headers), as the CloudEvents
    SDK encodes it."""
    from cloudevents.core.bindings import kafka
    from cloudevents.core.formats.json import JSONFormat
    from cloudevents.core.v1.event import CloudEvent

    event = json.loads(line)
    attributes = {k: v for k, v in event.items() if k != "data"}
    attributes["time"] = datetime.fromisoformat(attributes["time"].replace("Z", "+00:00"))
    message = kafka.to_binary(CloudEvent(attributes=attributes, data=event["data"]),
                              JSONFormat())
    assert "ce_specversion" in message.headers
    return message.value, {k: v.decode() for k, v in message.headers.items()}


class Commits:
    """Spies on the acknowledgement (the offset commit): at each one, how many messages
    the inbox held — read on a connection of its own, so only committed rows count."""

    def __init__(self, system: Syncline, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[tuple[int, int]] = []  # (records in the batch, inbox rows then)
        self.nacks: list[list[int]] = []  # the offsets of each negatively acked batch
        real_ack, real_nack = KafkaAckableMessage.ack, KafkaAckableMessage.nack
        spy = self

        async def ack(message: KafkaAckableMessage) -> None:
            spy.seen.append((len(_records(message)), stored(system)))
            await real_ack(message)

        async def nack(message: KafkaAckableMessage) -> None:
            spy.nacks.append([r.offset for r in _records(message)])
            # aiokafka hands a batch over as a tuple (what FastStream's nack expects); the
            # test broker as a list
            message.raw_message = _records(message)
            await real_nack(message)

        monkeypatch.setattr(KafkaAckableMessage, "ack", ack)
        monkeypatch.setattr(KafkaAckableMessage, "nack", nack)


def _records(message: Any) -> tuple[Any, ...]:
    raw = message.raw_message
    return tuple(raw) if isinstance(raw, tuple | list) else (raw,)


def run(ingress: KafkaIngress,
        publishing: Callable[[Any], Awaitable[None]]) -> None:
    async def main() -> None:
        async with TestKafkaBroker(ingress.broker) as broker:
            await publishing(broker)

    asyncio.run(main())


async def redelivered(broker: Any, bodies: list[bytes]) -> None:
    """The records again: what a group member reads from an uncommitted offset."""
    await broker.publish_batch(*bodies, topic=TOPIC)


def test_batches_are_stored_once_then_committed_and_bad_ones_kept_rejected(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = simulate(CONFIG).to_jsonl().splitlines()
    system = system_at(tmp_path / "ingress.db")
    commits = Commits(system, monkeypatch)
    ingress = KafkaIngress(system, url="kafka://127.0.0.1:9092", topic=TOPIC)
    structured = [line.encode() for i, line in enumerate(lines) if i % 5]
    binaries = [binary(line) for i, line in enumerate(lines) if i % 5 == 0]
    bad = [b"{not json", json.dumps({"specversion": "1.0", "id": "bad-1",
                                     "source": "psa/test", "type": "time.approved",
                                     "data": {}}).encode()]

    async def publishing(broker: Any) -> None:
        for start in range(0, len(structured), 100):  # batches of up to 100 records
            await broker.publish_batch(*structured[start:start + 100], topic=TOPIC)
        for body, headers in binaries:
            await broker.publish(body, topic=TOPIC, headers=headers)
        await broker.publish_batch(*structured[::4], *bad, topic=TOPIC)  # again, and bad

    run(ingress, publishing)
    published = len(structured) + len(binaries) + len(structured[::4]) + len(bad)
    counts = depths(system)
    assert sum(counts["inbox"].values()) == len(lines) + len(bad)
    assert counts["inbox"]["rejected"] == 2 and counts["deliveries"] == published
    assert ingress.stats.receipts["duplicate"] == len(structured[::4])
    assert ingress.stats.acked == published and ingress.stats.failures == 0
    # one commit per batch, each after every record before it was in the inbox
    assert len(commits.seen) == ingress.stats.batches
    total = 0
    for size, inbox_then in commits.seen:
        total += size
        assert inbox_then >= min(total, len(lines)), (size, inbox_then, total)
    assert applied_state(system) == reference_state(lines, tmp_path / "file.db")
    system.engine.dispose()


def test_a_crash_between_commit_and_ack_is_not_committed_and_reread_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = simulate(CONFIG).to_jsonl().splitlines()
    bodies = [line.encode() for line in lines]
    system = system_at(tmp_path / "ingress.db")
    commits = Commits(system, monkeypatch)
    ingress = KafkaIngress(system, url="kafka://127.0.0.1:9092", topic=TOPIC,
                           after_store=crash_once())

    async def publishing(broker: Any) -> None:
        with pytest.raises(RuntimeError, match="between the inbox commit"):
            await broker.publish_batch(*bodies[:100], topic=TOPIC)
        assert commits.seen == []  # stored, and the offsets not committed
        assert stored(system) == 100
        await redelivered(broker, bodies[:100])
        await broker.publish_batch(*bodies[100:], topic=TOPIC)

    run(ingress, publishing)
    assert ingress.stats.receipts["duplicate"] == 100 and ingress.stats.acked == len(lines)
    assert stored(system) == len(lines) and first_receipts(system) == len(lines)
    assert applied_state(system) == reference_state(lines, tmp_path / "file.db")
    system.engine.dispose()


def test_a_failed_commit_rewinds_the_batch_and_stores_it_once_when_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from syncline.ingress import base

    lines = simulate(CONFIG).to_jsonl().splitlines()[:50]
    bodies = [line.encode() for line in lines]
    system = system_at(tmp_path / "ingress.db")
    commits = Commits(system, monkeypatch)
    store, failed = failing_store_once(base.store)
    monkeypatch.setattr(base, "store", store)
    ingress = KafkaIngress(system, url="kafka://127.0.0.1:9092", topic=TOPIC,
                           retry_seconds=0.0)

    async def publishing(broker: Any) -> None:
        await broker.publish_batch(*bodies, topic=TOPIC)
        assert stored(system) == 0 and commits.seen == []
        await redelivered(broker, bodies)

    run(ingress, publishing)
    assert failed == [50] and ingress.stats.failures == 1
    assert len(commits.nacks) == 1 and len(commits.nacks[0]) == 50  # rewound, all of it
    assert stored(system) == 50 and first_receipts(system) == 50
    assert depths(system)["deliveries"] == 50  # the failed try left no trace
    system.engine.dispose()


def test_the_broker_is_chosen_by_the_urls_scheme(tmp_path: Path) -> None:
    from syncline.ingress.jetstream import NatsIngress
    from syncline.ingress.rabbit import RabbitIngress

    system = system_at(tmp_path / "ingress.db")
    options = {"topic": "t", "group": "g", "stream": "S", "batch_size": 10, "ack_wait": 5.0}
    assert isinstance(ingress_for(system, "nats://h:4222", **options), NatsIngress)
    assert isinstance(ingress_for(system, "amqp://u:p@h:5672/", **options), RabbitIngress)
    kafka = ingress_for(system, "kafka://a:9092,b:9092", **options)
    assert isinstance(kafka, KafkaIngress) and kafka.group == "g"
    assert bootstrap_servers(kafka.url) == ["a:9092", "b:9092"]
    with pytest.raises(UnknownBroker, match="scheme"):
        ingress_for(system, "redis://h:6379", **options)
    system.engine.dispose()


def test_a_record_s_traceparent_is_the_parent_of_its_receive_span(tmp_path: Path) -> None:
    """As on NATS (``check_receive_spans``): the header is a Kafka record header (bytes)."""
    sent = traced_events()
    system = system_at(tmp_path / "ingress.db")
    ingress = KafkaIngress(system, url="kafka://127.0.0.1:9092", topic=TOPIC)

    async def publishing(broker: Any) -> None:
        for event, headers in sent:
            await broker.publish(json.dumps(event).encode(), topic=TOPIC, headers=headers)

    with recorded_spans() as exporter:
        run(ingress, publishing)
    assert ingress.stats.receipts == {"accepted": 3}
    check_receive_spans(exporter, sent)
    system.engine.dispose()

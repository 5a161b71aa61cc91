"""Broker ingress against the local RabbitMQ server (syncline.ingress.rabbit, FastStream).

The same guarantees as the NATS ingress (test_nats_ingress.py), on a durable queue:
CloudEvents published structured and in the AMQP binding's binary mode (built with the
CloudEvents SDK's AMQP binding: ``cloudEvents_*`` headers, ``time`` as an AMQP timestamp in
milliseconds), a quarter twice, two bad ones, are stored once each, the bad ones rejected and
acknowledged, and applying them gives the state a file ingest gives. A crash between the
commit and the acknowledgement leaves the message unacknowledged: RabbitMQ requeues it when
the connection closes, marked redelivered, and it is stored as a duplicate; a failed commit is
negatively acknowledged and comes back; `syncline ingest-broker` with SYNCLINE_BROKER_URL
amqp://… killed with SIGKILL and started again loses no message.

Each test uses its own queue (deleted afterwards) and an embedded SQLite database. Skipped
with a reason when no RabbitMQ answers off CI; under CI=true that fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from syncline.bootstrap import Syncline
from syncline.simulator import SimulationConfig, simulate
from tests.integration.ingress_support import (
    applied_state,
    check_receive_spans,
    crash_once,
    depths,
    failing_store_once,
    first_receipts,
    kill_and_restart,
    recorded_spans,
    reference_state,
    require_server,
    run_until,
    stored,
    system_at,
    traced_events,
)

RABBIT_URL = os.environ.get("SYNCLINE_TEST_RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672/")
CONFIG = SimulationConfig(seed=9, customers=3, workers=8, months=2)

Message = tuple[bytes, dict[str, Any], str | None]  # body, headers, content type


@pytest.fixture
def rabbit_url() -> str:
    return require_server(RABBIT_URL, "RabbitMQ", 5672)


@pytest.fixture
def queue(rabbit_url: str) -> Iterator[str]:
    """A durable queue of this test's own, deleted afterwards."""
    name = f"syncline.test.{uuid.uuid4().hex[:10]}"
    yield name

    async def delete() -> None:
        import aio_pika

        connection = await aio_pika.connect(rabbit_url)
        async with connection:
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)

    asyncio.run(delete())


async def publish(url: str, queue: str, messages: list[Message]) -> None:
    """Publish on the default exchange with the queue's name as routing key (persistent)."""
    import aio_pika

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue, durable=True)
        for body, headers, content_type in messages:
            await channel.default_exchange.publish(
                aio_pika.Message(body, headers=headers or None, content_type=content_type,
                                 delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=queue)


def structured(line: str) -> Message:
    return line.encode(), {}, "application/cloudevents+json"


def binary(line: str) -> Message:
    """The event in the AMQP binding's binary mode, as the CloudEvents SDK encodes it."""
    from cloudevents.core.bindings import amqp
    from cloudevents.core.formats.json import JSONFormat
    from cloudevents.core.v1.event import CloudEvent

    event = json.loads(line)
    attributes = {k: v for k, v in event.items() if k != "data"}
    attributes["time"] = datetime.fromisoformat(attributes["time"].replace("Z", "+00:00"))
    message = amqp.to_binary(CloudEvent(attributes=attributes, data=event["data"]),
                             JSONFormat())
    assert isinstance(message.application_properties["cloudEvents_time"], int)  # ms
    return (message.application_data, message.application_properties,
            message.properties.get("content-type"))


def inbox_ids(system: Syncline) -> list[str]:
    from sqlalchemy import select

    from syncline.adapters.db.tables import inbox
    with system.engine.connect() as conn:
        return list(conn.execute(select(inbox.c.event_id).order_by(inbox.c.seq)).scalars())


def ingress(system: Syncline, url: str, queue: str, **options: Any) -> Any:
    from syncline.ingress.rabbit import RabbitIngress

    return RabbitIngress(system, url=url, topic=queue, **options)


def test_published_events_are_stored_once_applied_and_bad_ones_kept_rejected(
        rabbit_url: str, queue: str, tmp_path: Path) -> None:
    lines = simulate(CONFIG).to_jsonl().splitlines()
    messages = [binary(line) if i % 5 == 0 else structured(line)
                for i, line in enumerate(lines)]
    again = messages[::4]  # a quarter published twice
    bad: list[Message] = [
        (b"{not json", {}, None),
        (json.dumps({"specversion": "1.0", "id": "bad-1", "source": "psa/test",
                     "type": "time.approved", "data": {}}).encode(), {}, None)]
    published = messages + again + bad
    asyncio.run(publish(rabbit_url, queue, published))
    system = system_at(tmp_path / "ingress.db")

    stats = run_until(ingress(system, rabbit_url, queue),
                      lambda s: s.acked >= len(published))
    counts = depths(system)
    assert sum(counts["inbox"].values()) == len(lines) + len(bad)
    assert counts["inbox"]["rejected"] == 2 and counts["deliveries"] == len(published)
    assert stats.receipts["duplicate"] == len(again) and stats.failures == 0
    assert stats.redelivered == 0
    # the queue's order is the inbox's: stored by one task in delivery order
    assert inbox_ids(system)[:len(lines)] == [json.loads(line)["id"] for line in lines]

    # everything was acknowledged, bad ones included: a new consumer gets nothing
    until = time.monotonic() + 1.5
    later = run_until(ingress(system, rabbit_url, queue), lambda s: time.monotonic() > until)
    assert later.batches == 0 and depths(system)["deliveries"] == len(published)

    assert applied_state(system) == reference_state(lines, tmp_path / "file.db")
    system.engine.dispose()


def test_a_crash_between_commit_and_ack_is_redelivered_and_changes_nothing(
        rabbit_url: str, queue: str, tmp_path: Path) -> None:
    lines = simulate(CONFIG).to_jsonl().splitlines()
    asyncio.run(publish(rabbit_url, queue, [structured(line) for line in lines]))
    system = system_at(tmp_path / "ingress.db")

    # the first message is stored and never acknowledged; the rest are
    first = run_until(ingress(system, rabbit_url, queue, after_store=crash_once()),
                      lambda s: s.acked >= len(lines) - 1)
    assert stored(system) == len(lines) and first.acked == len(lines) - 1
    # the connection closed: RabbitMQ requeued it, the next consumer stores a duplicate
    second = run_until(ingress(system, rabbit_url, queue), lambda s: s.acked >= 1)
    assert second.redelivered == 1 and second.receipts == {"duplicate": 1}
    assert stored(system) == len(lines) and first_receipts(system) == len(lines)
    assert applied_state(system) == reference_state(lines, tmp_path / "file.db")
    system.engine.dispose()


def test_a_failed_commit_is_not_acknowledged_and_comes_back(
        rabbit_url: str, queue: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from syncline.ingress import base

    lines = simulate(CONFIG).to_jsonl().splitlines()[:50]
    asyncio.run(publish(rabbit_url, queue, [structured(line) for line in lines]))
    system = system_at(tmp_path / "ingress.db")
    store, failed = failing_store_once(base.store)
    monkeypatch.setattr(base, "store", store)

    stats = run_until(ingress(system, rabbit_url, queue, retry_seconds=0.2),
                      lambda s: s.acked >= len(lines))
    # every message of the failed transaction was negatively acknowledged and requeued
    assert failed and stats.failures == failed[0] and stats.redelivered == failed[0]
    assert stored(system) == len(lines) and first_receipts(system) == len(lines)
    assert depths(system)["deliveries"] == len(lines)  # the failed try left no trace
    system.engine.dispose()


def test_the_ingest_broker_command_killed_and_restarted_loses_nothing(
        rabbit_url: str, queue: str, tmp_path: Path) -> None:
    lines = simulate(CONFIG).to_jsonl().splitlines()
    db = tmp_path / "ingress.db"
    system = system_at(db)
    # RabbitMQ chosen by the setting's amqp:// scheme
    env = {**os.environ, "SYNCLINE_DATABASE_URL": f"sqlite:///{db}",
           "SYNCLINE_BROKER_URL": rabbit_url, "SYNCLINE_BROKER_TOPIC": queue}
    command = [sys.executable, "-m", "syncline", "ingest-broker", "--batch", "40"]

    asyncio.run(publish(rabbit_url, queue, [structured(line) for line in lines]))

    def killed() -> None:
        assert stored(system) < len(lines), "killed too late to show anything"

    summary = kill_and_restart(
        command, env, tmp_path, started=lambda: depths(system)["deliveries"] > 0,
        done=lambda: stored(system) >= len(lines), killed=killed)
    assert summary["failures"] == 0 and summary["broker"] == "amqp"
    assert stored(system) == len(lines) and first_receipts(system) == len(lines)
    assert applied_state(system) == reference_state(lines, tmp_path / "file.db")
    system.engine.dispose()


def test_a_message_s_traceparent_is_the_parent_of_its_receive_span(
        rabbit_url: str, queue: str, tmp_path: Path) -> None:
    """As on NATS (``check_receive_spans``): the header rides as an AMQP application
    property; messages gathered together are still stored in one transaction."""
    sent = traced_events()
    asyncio.run(publish(rabbit_url, queue, [
        (json.dumps(event).encode(), headers, "application/cloudevents+json")
        for event, headers in sent]))
    system = system_at(tmp_path / "ingress.db")
    with recorded_spans() as exporter:
        stats = run_until(ingress(system, rabbit_url, queue), lambda s: s.acked >= 3)
    assert stats.receipts == {"accepted": 3}
    check_receive_spans(exporter, sent)
    system.engine.dispose()

"""Broker ingress against the local NATS JetStream server (syncline.ingress, FastStream).

Published CloudEvents (structured and binary mode, some published twice, some bad) are
stored once each, bad ones rejected and acknowledged, and applying them gives the state a
file ingest of the same stream gives. Acknowledgement comes only after the inbox commit: a
crash between the commit and the acknowledgement, or a failed commit, makes NATS deliver
again, and the redelivery changes nothing; the `ingest-broker` command killed with SIGKILL
and started again loses no message.

Each test uses its own stream, subject and consumer (deleted afterwards) and an embedded
SQLite database. Skipped with a reason when no NATS answers off CI; under CI=true that
fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
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
    system_at,
    traced_events,
)

NATS_URL = os.environ.get("SYNCLINE_TEST_NATS_URL", "nats://127.0.0.1:4222")
CONFIG = SimulationConfig(seed=9, customers=3, workers=8, months=2)


@pytest.fixture
def nats_url() -> str:
    return require_server(NATS_URL, "NATS", 4222)


@pytest.fixture
def names(nats_url: str) -> Iterator[dict[str, str]]:
    """A stream, subject and durable consumer of this test's own (the stream is deleted
    afterwards, with its consumers)."""
    tag = uuid.uuid4().hex[:10]
    made = {"stream": f"SYNCLINE_TEST_{tag}", "subject": f"syncline.test.{tag}",
            "durable": f"syncline-test-{tag}"}
    yield made

    async def delete() -> None:
        import nats

        nc = await nats.connect(nats_url)
        with contextlib.suppress(Exception):  # never made, or already gone
            await nc.jetstream().delete_stream(made["stream"])
        await nc.close()

    asyncio.run(delete())


async def publish(url: str, names: dict[str, str],
                  messages: list[tuple[bytes, dict[str, str] | None]]) -> None:
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    try:
        await js.add_stream(name=names["stream"], subjects=[names["subject"]])
        for body, headers in messages:
            await js.publish(names["subject"], body, headers=headers)
    finally:
        await nc.close()


def structured(lines: list[str]) -> list[tuple[bytes, dict[str, str] | None]]:
    return [(line.encode(), None) for line in lines]


def binary(line: str) -> tuple[bytes, dict[str, str] | None]:
    """A structured event as binary mode: ce-* headers, the data as the body."""
    event = json.loads(line)
    headers = {f"ce-{k}": str(v) for k, v in event.items()
               if k not in ("data", "datacontenttype")}
    headers["content-type"] = event.get("datacontenttype", "application/json")
    return json.dumps(event["data"]).encode(), headers


def run_ingress(system: Syncline, url: str, names: dict[str, str],
                until: Callable[[Any], bool], *, timeout: float = 60, **options: Any) -> Any:
    """Run the NATS ingress in this process until ``until(stats)`` holds; its stats."""
    from syncline.ingress.jetstream import NatsIngress

    ingress = NatsIngress(system, url=url, topic=names["subject"], stream=names["stream"],
                          group=names["durable"], fetch_timeout=0.1, **options)
    return run_until(ingress, until, timeout=timeout)


def test_published_events_are_stored_once_applied_and_bad_ones_kept_rejected(
        nats_url: str, names: dict[str, str], tmp_path: Path) -> None:
    lines = simulate(CONFIG).to_jsonl().splitlines()
    messages = [binary(line) if i % 5 == 0 else (line.encode(), None)
                for i, line in enumerate(lines)]
    again = messages[::4]  # a quarter published twice
    bad: list[tuple[bytes, dict[str, str] | None]] = [
        (b"{not json", None),
        (json.dumps({"specversion": "1.0", "id": "bad-1", "source": "psa/test",
                     "type": "time.approved", "data": {}}).encode(), None)]
    published = messages + again + bad
    asyncio.run(publish(nats_url, names, published))
    system = system_at(tmp_path / "ingress.db")

    stats = run_ingress(system, nats_url, names, lambda s: s.acked >= len(published),
                        ack_wait=1.0)
    counts = depths(system)
    assert sum(counts["inbox"].values()) == len(lines) + len(bad)
    assert counts["inbox"]["rejected"] == 2 and counts["deliveries"] == len(published)
    assert stats.receipts["duplicate"] == len(again) and stats.failures == 0

    # everything was acknowledged, bad ones included: nothing comes back after the ack wait
    until = time.monotonic() + 2.5
    later = run_ingress(system, nats_url, names, lambda s: time.monotonic() > until,
                        ack_wait=1.0)
    assert later.batches == 0 and depths(system)["deliveries"] == len(published)

    assert applied_state(system) == reference_state(lines, tmp_path / "file.db")
    system.engine.dispose()


def test_a_crash_between_commit_and_ack_is_redelivered_and_changes_nothing(
        nats_url: str, names: dict[str, str], tmp_path: Path) -> None:
    lines = simulate(CONFIG).to_jsonl().splitlines()
    asyncio.run(publish(nats_url, names, structured(lines)))
    system = system_at(tmp_path / "ingress.db")

    stats = run_ingress(system, nats_url, names, lambda s: s.acked >= len(lines),
                        ack_wait=1.0, batch_size=100, after_store=crash_once())
    assert sum(depths(system)["inbox"].values()) == len(lines)  # every message stored once
    assert stats.redelivered > 0 and stats.receipts["duplicate"] == stats.redelivered
    assert applied_state(system) == reference_state(lines, tmp_path / "file.db")
    system.engine.dispose()


def test_a_failed_commit_is_not_acknowledged_and_comes_back(
        nats_url: str, names: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from syncline.ingress import base

    lines = simulate(CONFIG).to_jsonl().splitlines()[:50]
    asyncio.run(publish(nats_url, names, structured(lines)))
    system = system_at(tmp_path / "ingress.db")
    store, failed = failing_store_once(base.store)
    monkeypatch.setattr(base, "store", store)
    # stop on what is stored, not on acks: on a loaded machine JetStream may redeliver a
    # message whose ack was slow, and its duplicate's ack would count twice
    stats = run_ingress(system, nats_url, names,
                        lambda s: sum(depths(system)["inbox"].values()) >= len(lines),
                        retry_seconds=0.2)
    assert stats.failures == 1 and failed
    assert sum(depths(system)["inbox"].values()) == len(lines)
    # the failed try left no trace: one first receipt a message (a slow ack may have been
    # redelivered by JetStream: that shows as a duplicate receipt, never a second message)
    firsts = first_receipts(system)
    assert firsts == len(lines)
    system.engine.dispose()


def test_the_ingest_broker_command_killed_and_restarted_loses_nothing(
        nats_url: str, names: dict[str, str], tmp_path: Path) -> None:
    lines = simulate(CONFIG).to_jsonl().splitlines()
    db = tmp_path / "ingress.db"
    system = system_at(db)
    # the broker chosen by the setting (its nats:// scheme), the names by the settings too
    env = {**os.environ, "SYNCLINE_DATABASE_URL": f"sqlite:///{db}",
           "SYNCLINE_BROKER_URL": nats_url, "SYNCLINE_BROKER_TOPIC": names["subject"],
           "SYNCLINE_BROKER_GROUP": names["durable"]}
    command = [sys.executable, "-m", "syncline", "ingest-broker", "--stream",
               names["stream"], "--batch", "40", "--ack-wait", "1"]

    asyncio.run(publish(nats_url, names, structured(lines)))
    summary = kill_and_restart(
        command, env, tmp_path, started=lambda: depths(system)["deliveries"] > 0,
        done=lambda: sum(depths(system)["inbox"].values()) >= len(lines))
    assert summary["failures"] == 0 and summary["broker"] == "nats"
    assert summary["acked"] > 0  # the first was killed before it acknowledged everything
    assert sum(depths(system)["inbox"].values()) == len(lines)
    assert applied_state(system) == reference_state(lines, tmp_path / "file.db")
    system.engine.dispose()


def test_a_message_s_traceparent_is_the_parent_of_its_receive_span(
        nats_url: str, names: dict[str, str], tmp_path: Path) -> None:
    """Three messages stored in one batch, one transaction: the deal's header carries a
    valid ``traceparent``, T-1's none, T-2's an invalid one (``check_receive_spans``)."""
    sent = traced_events()
    asyncio.run(publish(nats_url, names, [(json.dumps(event).encode(), headers or None)
                                          for event, headers in sent]))
    system = system_at(tmp_path / "ingress.db")
    with recorded_spans() as exporter:
        stats = run_ingress(system, nats_url, names, lambda s: s.acked >= 3)
    assert stats.batches == 1 and stats.receipts == {"accepted": 3}  # one transaction
    check_receive_spans(exporter, sent)
    system.engine.dispose()

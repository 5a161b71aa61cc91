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
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.services.messaging.inbox import receive_many
from syncline.services.messaging.queues import queue_depths
from syncline.services.state import fingerprint
from syncline.simulator import SimulationConfig, simulate
from tests.conftest import fixed_clock, in_ci

NATS_URL = os.environ.get("SYNCLINE_TEST_NATS_URL", "nats://127.0.0.1:4222")
CONFIG = SimulationConfig(seed=9, customers=3, workers=8, months=2)


@pytest.fixture
def nats_url() -> str:
    where = urlparse(NATS_URL)
    try:
        socket.create_connection((where.hostname or "127.0.0.1", where.port or 4222),
                                 timeout=2).close()
    except OSError as err:
        if in_ci():
            pytest.fail(f"NATS is required under CI=true but not reachable at {NATS_URL}: "
                        f"{err}")
        pytest.skip(f"NATS not reachable at {NATS_URL}: {type(err).__name__}")
    return NATS_URL


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
    """Run the NATS ingress in this process until ``until(stats)`` holds, then stop it;
    its stats."""
    from syncline.ingress.jetstream import NatsIngress

    ingress = NatsIngress(system, url=url, subject=names["subject"], stream=names["stream"],
                          durable=names["durable"], fetch_timeout=0.1, **options)

    async def main() -> None:
        await ingress.start()
        try:
            deadline = time.monotonic() + timeout
            while not until(ingress.stats):
                assert time.monotonic() < deadline, f"timed out: {ingress.stats}"
                await asyncio.sleep(0.05)
        finally:
            await ingress.stop()

    asyncio.run(main())
    return ingress.stats


def depths(system: Syncline) -> dict[str, Any]:
    with system.engine.connect() as conn:
        return queue_depths(conn)


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


def _crash_once() -> Callable[[list[Any]], Awaitable[None]]:
    crashed: list[int] = []

    async def after_store(receipts: list[Any]) -> None:
        if not crashed:
            crashed.append(len(receipts))
            raise RuntimeError("killed between the inbox commit and the acknowledgement")

    return after_store


def test_a_crash_between_commit_and_ack_is_redelivered_and_changes_nothing(
        nats_url: str, names: dict[str, str], tmp_path: Path) -> None:
    lines = simulate(CONFIG).to_jsonl().splitlines()
    asyncio.run(publish(nats_url, names, structured(lines)))
    system = system_at(tmp_path / "ingress.db")

    stats = run_ingress(system, nats_url, names, lambda s: s.acked >= len(lines),
                        ack_wait=1.0, batch_size=100, after_store=_crash_once())
    assert sum(depths(system)["inbox"].values()) == len(lines)  # every message stored once
    assert stats.redelivered > 0 and stats.receipts["duplicate"] == stats.redelivered
    assert applied_state(system) == reference_state(lines, tmp_path / "file.db")
    system.engine.dispose()


def test_a_failed_commit_is_not_acknowledged_and_comes_back(
        nats_url: str, names: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from syncline.ingress import jetstream

    lines = simulate(CONFIG).to_jsonl().splitlines()[:50]
    asyncio.run(publish(nats_url, names, structured(lines)))
    system = system_at(tmp_path / "ingress.db")
    real = jetstream.store
    failed: list[int] = []

    def store(system_: Syncline, items: list[Any]) -> list[Any]:
        if not failed:
            failed.append(len(items))
            with system_.engine.begin() as conn:  # what it stored is rolled back
                receive_many(conn, items, now=fixed_clock())
                raise ConnectionError("the database went away before the commit")
        return real(system_, items)

    monkeypatch.setattr(jetstream, "store", store)
    # stop on what is stored, not on acks: on a loaded machine JetStream may redeliver a
    # message whose ack was slow, and its duplicate's ack would count twice
    stats = run_ingress(system, nats_url, names,
                        lambda s: sum(depths(system)["inbox"].values()) >= len(lines),
                        retry_seconds=0.2)
    assert stats.failures == 1 and failed
    assert sum(depths(system)["inbox"].values()) == len(lines)
    # the failed try left no trace: one first receipt a message (a slow ack may have been
    # redelivered by JetStream: that shows as a duplicate receipt, never a second message)
    from sqlalchemy import func, select

    from syncline.adapters.db.tables import inbox_receipts
    with system.engine.connect() as conn:
        firsts = conn.execute(select(func.count()).select_from(inbox_receipts).where(
            inbox_receipts.c.duplicate.is_(False))).scalar()
    assert firsts == len(lines)
    system.engine.dispose()


def test_the_ingest_broker_command_killed_and_restarted_loses_nothing(
        nats_url: str, names: dict[str, str], tmp_path: Path) -> None:
    lines = simulate(CONFIG).to_jsonl().splitlines()
    db = tmp_path / "ingress.db"
    system = system_at(db)
    env = {**os.environ, "SYNCLINE_DATABASE_URL": f"sqlite:///{db}"}
    command = [sys.executable, "-m", "syncline", "ingest-broker", "--nats", nats_url,
               "--subject", names["subject"], "--stream", names["stream"], "--durable",
               names["durable"], "--batch", "40", "--ack-wait", "1"]

    runs = iter(range(2))

    def start() -> tuple[subprocess.Popen[str], Path, Path]:
        # standard streams to files: a pipe nobody drains would block a busy process
        n = next(runs)
        out, err = tmp_path / f"ingress-{n}.out", tmp_path / f"ingress-{n}.err"
        with out.open("w") as stdout, err.open("w") as stderr:
            proc = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True, env=env)
        return proc, out, err

    def why(proc: subprocess.Popen[str], err: Path) -> str:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        return f"exit {proc.returncode}: {err.read_text()[-2000:]}"

    asyncio.run(publish(nats_url, names, structured(lines)))
    first, _, first_err = start()
    deadline = time.monotonic() + 120
    while depths(system)["deliveries"] == 0:  # it is storing: kill it part-way
        assert first.poll() is None and time.monotonic() < deadline, why(first, first_err)
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    second, second_out, second_err = start()
    deadline = time.monotonic() + 240
    try:
        while sum(depths(system)["inbox"].values()) < len(lines):
            assert second.poll() is None and time.monotonic() < deadline, \
                why(second, second_err)
            time.sleep(0.1)
    finally:
        if second.poll() is None:
            second.send_signal(signal.SIGTERM)
    second.wait(timeout=30)
    out, err = second_out.read_text(), second_err.read_text()
    assert second.returncode == 0, err[-2000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["failures"] == 0
    assert summary["acked"] > 0  # the first was killed before it acknowledged everything
    assert sum(depths(system)["inbox"].values()) == len(lines)
    assert applied_state(system) == reference_state(lines, tmp_path / "file.db")
    system.engine.dispose()

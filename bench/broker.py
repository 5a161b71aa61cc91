"""Broker ingress benchmark: the same stream stored from NATS JetStream and from RabbitMQ
through `syncline.ingress` (store, then acknowledge), against a bare baseline, in one run.

Set-up (not timed): a simulated firm's CloudEvents published on a fresh NATS stream and a
fresh RabbitMQ queue (each deleted afterwards), a fresh migrated SQLite database for each
measurement.

Timed:
- bare: `receive_many` of every line in chunks of 500 straight into the inbox — storing the
  stream with no broker at all;
- NATS: the JetStream ingress (pull batches of 500) until every message is stored and
  acknowledged;
- RabbitMQ: the RabbitMQ ingress (prefetch 500, coalesced in delivery-tag order) likewise.
Kafka is not measured: no Kafka server runs here.

Wall seconds and this process's CPU seconds (`time.process_time`); on a loaded machine
compare the CPU figures. A broker that does not answer is skipped with its reason.
`SYNCLINE_BENCH_BROKER_SIZE=customers,workers,months` changes the stream (default 10,40,3).
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.services.messaging.inbox import receive_many
from syncline.simulator import SimulationConfig, simulate

NATS = os.environ.get("SYNCLINE_TEST_NATS_URL", "nats://127.0.0.1:4222")
RABBIT = os.environ.get("SYNCLINE_TEST_RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def _system(folder: Path, name: str) -> Syncline:
    return bootstrap(Settings(database_url=f"sqlite:///{folder / name}"), durable=False)


def _stored(system: Syncline) -> int:
    from sqlalchemy import func, select

    from syncline.adapters.db.tables import inbox
    with system.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inbox)).scalar_one())


def _timed(run: Callable[[], None]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def _ingress_run(ingress: Any, total: int) -> None:
    async def main() -> None:
        await ingress.start()
        try:
            while ingress.stats.acked < total:
                await asyncio.sleep(0.01)
        finally:
            await ingress.stop()

    asyncio.run(main())


async def _publish_nats(lines: list[str], subject: str, stream: str) -> None:
    import nats

    nc = await nats.connect(NATS)
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[subject])
    for line in lines:
        await js.publish(subject, line.encode())
    await nc.close()


async def _delete_nats(stream: str) -> None:
    import nats

    nc = await nats.connect(NATS)
    await nc.jetstream().delete_stream(stream)
    await nc.close()


async def _publish_rabbit(lines: list[str], queue: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(RABBIT)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue, durable=True)
        for line in lines:
            await channel.default_exchange.publish(
                aio_pika.Message(line.encode(), content_type="application/cloudevents+json"),
                routing_key=queue)


async def _delete_rabbit(queue: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(RABBIT)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)


def main() -> None:
    size = os.environ.get("SYNCLINE_BENCH_BROKER_SIZE", "10,40,3").split(",")
    config = SimulationConfig(seed=21, customers=int(size[0]), workers=int(size[1]),
                              months=int(size[2]))
    lines = simulate(config).to_jsonl().splitlines()
    results: list[tuple[str, float, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        bare = _system(folder, "bare.db")

        def store_bare() -> None:
            for start in range(0, len(lines), 500):
                with bare.engine.begin() as conn:
                    receive_many(conn, lines[start:start + 500], now=bare.clock())

        wall, cpu = _timed(store_bare)
        assert _stored(bare) == len(lines)
        results.append(("bare receive_many, chunks of 500", wall, cpu, ""))

        tag = uuid.uuid4().hex[:8]
        if _reachable("127.0.0.1", 4222):
            from syncline.ingress.jetstream import NatsIngress

            stream, subject = f"BENCH_{tag}", f"syncline.bench.{tag}"
            asyncio.run(_publish_nats(lines, subject, stream))
            try:
                system = _system(folder, "nats.db")
                ingress = NatsIngress(system, url=NATS, topic=subject, stream=stream,
                                      group=f"bench-{tag}", fetch_timeout=0.05)
                wall, cpu = _timed(lambda: _ingress_run(ingress, len(lines)))
                assert _stored(system) == len(lines)
                results.append(("NATS JetStream ingress, batches of 500", wall, cpu, ""))
            finally:
                asyncio.run(_delete_nats(stream))
        else:
            results.append(("NATS JetStream ingress", 0, 0, "skipped: unreachable"))

        if _reachable("127.0.0.1", 5672):
            from syncline.ingress.rabbit import RabbitIngress

            queue = f"syncline.bench.{tag}"
            asyncio.run(_publish_rabbit(lines, queue))
            try:
                system = _system(folder, "rabbit.db")
                ingress = RabbitIngress(system, url=RABBIT, topic=queue)
                wall, cpu = _timed(lambda: _ingress_run(ingress, len(lines)))
                assert _stored(system) == len(lines)
                results.append(("RabbitMQ ingress, prefetch 500, coalesced", wall, cpu, ""))
            finally:
                asyncio.run(_delete_rabbit(queue))
        else:
            results.append(("RabbitMQ ingress", 0, 0, "skipped: unreachable"))

    base_wall = results[0][1] or 1.0
    print(f"{len(lines):,} events stored (receive only; applying is bench.ingest's)")
    print(f"{'':44} {'events/s':>9} {'vs bare':>8} {'wall s':>7} {'CPU s':>6}")
    for name, wall, cpu, note in results:
        if note:
            print(f"{name:44} {note}")
            continue
        print(f"{name:44} {len(lines) / wall:9,.0f} {base_wall / wall:7.2f}x {wall:7.2f} "
              f"{cpu:6.2f}")





if __name__ == "__main__":
    main()

"""Long-running processes beside `serve`: `syncline worker` (apply, deliver, sweep) and
`syncline ingest-broker` (a broker — NATS JetStream, RabbitMQ, Kafka — into the inbox)."""

from __future__ import annotations

import json
import logging
import os
import signal
from typing import Annotated, Any

import typer

from syncline.cli.common import _system, err


def _logging(database_url: str | None = None) -> None:
    """Syncline's own messages from SYNCLINE_LOG_LEVEL (default INFO) up on standard error;
    libraries' only from WARNING; the JSON event lines (structlog) on standard error too,
    from the same level; traces (console, or OTLP by setting)."""
    from syncline.cli.common import _settings
    from syncline.services.telemetry import logs, traces

    level = _settings(database_url).log_level
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("syncline").setLevel(level)
    logs.configure(level=level)
    traces.configure()


def worker(
    database_url: Annotated[str | None, typer.Option(
        help="Database (default: SYNCLINE_DATABASE_URL or ./var/syncline.db)")] = None,
    deliver: Annotated[bool, typer.Option(
        help="Also deliver the outbox (DBOS workflows); --no-deliver leaves it to others")
    ] = True,
    once: Annotated[bool, typer.Option(
        "--once", help="Apply until nothing is left (waiting for other workers' batches), "
        "deliver and sweep once, print what was done as JSON, exit")] = False,
    idle: Annotated[float, typer.Option(
        help="Seconds to sleep when there is nothing to do")] = 0.5,
    lease_seconds: Annotated[int, typer.Option(
        help="PostgreSQL: a batch whose worker says nothing this long is rolled back and "
        "its messages go to another worker")] = 60,
) -> None:
    """Apply received messages in the background, beside `syncline serve --no-worker`.

    On PostgreSQL run as many as you like: each batch leases its partitions (messages of one
    subject go in arrival order, never two at once) and reference data (deals, workers, rate
    cards, FX, amendments, closes) is applied alone, in arrival order, so the state is the one
    a single process gives (docs/scale-out.md). On SQLite one process applies at a time: a
    second worker only waits for the write lock. SIGTERM or Ctrl-C stops after the batch
    under way; a worker killed mid-batch loses nothing (its batch is rolled back and taken by
    another)."""
    from syncline.runner import BackgroundWorker
    from syncline.services.messaging.lock_signal import signal_for

    _logging(database_url)
    system = _system(database_url)
    runner = BackgroundWorker(system, deliver=deliver, idle_seconds=idle,
                              lease_seconds=lease_seconds)
    waiting = signal_for(system.engine)
    if waiting is not None:  # SQLite: the API's writer, in its process, says when it waits
        runner.yield_when = waiting.waiting  # a batch ends early (lock_signal.py)
        runner.between_batches = waiting.let_through  # and the writer goes first

    def stop(signum: int, _frame: Any) -> None:
        err.print(f"worker {os.getpid()}: {signal.Signals(signum).name}, stopping after the "
                  "batch under way")
        runner.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    engine = system.engine.dialect.name
    if once:
        runner.drain()
    else:
        err.print(f"worker {os.getpid()} applying on {engine}"
                  + (", delivering the outbox" if deliver else "") + " (SIGTERM to stop)")
        runner.run()
    t = runner.totals
    print(json.dumps({"pid": os.getpid(), "applied": t.applied, "parked": t.parked,
                      "released": t.released, "failed": t.failed, "stale": t.stale,
                      "errors": runner.errors, "stopped": runner.stopping}, sort_keys=True),
          flush=True)
    system.engine.dispose()


def ingest_broker(
    url: Annotated[str | None, typer.Option(
        "--url", "--nats", help="Broker URL; its scheme chooses the broker: nats:// "
        "(JetStream), amqp:// (RabbitMQ), kafka://host:9092 (default: SYNCLINE_BROKER_URL "
        "or nats://127.0.0.1:4222)")] = None,
    topic: Annotated[str | None, typer.Option(
        "--topic", "--subject", help="NATS subject, RabbitMQ queue or Kafka topic the "
        "CloudEvents arrive on (default: SYNCLINE_BROKER_TOPIC or syncline.events)")] = None,
    stream: Annotated[str, typer.Option(help="NATS: JetStream stream (declared if missing)")
    ] = "SYNCLINE",
    group: Annotated[str | None, typer.Option(
        "--group", "--durable", help="NATS durable consumer or Kafka consumer group, shared "
        "by every ingress process: each message goes to one (default: SYNCLINE_BROKER_GROUP "
        "or syncline-ingress)")] = None,
    batch: Annotated[int, typer.Option(
        help="Messages stored per transaction, at most (RabbitMQ: the prefetch)")] = 500,
    ack_wait: Annotated[float, typer.Option(
        help="NATS: seconds before the broker redelivers a message not acknowledged")] = 30.0,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Receive CloudEvents from a broker into the inbox (FastStream): NATS JetStream,
    RabbitMQ or Kafka, chosen by the URL's scheme.

    Structured JSON bodies, or binary mode (the binding's ce-/ce_/cloudEvents_ headers, the
    body as data). Each batch is stored in one transaction and acknowledged only after it
    commits: a crash before the acknowledgement makes the broker deliver again, and a
    redelivered message is a duplicate that changes nothing. A bad message is stored rejected
    and acknowledged. Workers apply what is stored (`syncline worker`, or `syncline serve`'s
    own). SIGTERM or Ctrl-C stops."""
    import asyncio

    from syncline.config import Settings
    from syncline.ingress.select import UnknownBroker, ingress_for

    _logging(database_url)
    settings = Settings()
    url = url or settings.broker_url
    topic = topic or settings.broker_topic
    group = group or settings.broker_group
    system = _system(database_url)
    try:
        ingress = ingress_for(system, url, topic=topic, group=group, stream=stream,
                              batch_size=batch, ack_wait=ack_wait)
    except UnknownBroker as bad:
        err.print(f"[red]{bad}[/]")
        raise typer.Exit(2) from None

    async def main() -> None:
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopped.set)
        err.print(f"ingress {os.getpid()}: {ingress.scheme} {topic} (group {group}) into "
                  f"{system.engine.dialect.name} (SIGTERM to stop)")
        await ingress.run(stopped)

    try:
        asyncio.run(main())
    except OSError as unreachable:
        err.print(f"[red]Cannot reach the broker ({ingress.scheme}):[/] {unreachable}")
        raise typer.Exit(1) from None
    print(json.dumps({"pid": os.getpid(), "broker": ingress.scheme,
                      **ingress.stats.as_dict()}, sort_keys=True), flush=True)
    system.engine.dispose()


def register(app: typer.Typer) -> None:
    app.command()(worker)
    app.command("ingest-broker")(ingest_broker)

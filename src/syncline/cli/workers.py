"""Long-running processes beside `serve`: `syncline worker` (apply, deliver, sweep) and
`syncline ingest-broker` (NATS JetStream into the inbox)."""

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

    _logging(database_url)
    system = _system(database_url)
    runner = BackgroundWorker(system, deliver=deliver, idle_seconds=idle,
                              lease_seconds=lease_seconds)

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
    nats: Annotated[str, typer.Option("--nats", help="NATS server URL")] =
    "nats://127.0.0.1:4222",
    subject: Annotated[str, typer.Option(help="Subject the CloudEvents are published on")] =
    "syncline.events",
    stream: Annotated[str, typer.Option(help="JetStream stream (declared if missing)")] =
    "SYNCLINE",
    durable: Annotated[str, typer.Option(help="Durable consumer name (shared by every "
                                         "ingress process: each message goes to one)")] =
    "syncline-ingress",
    batch: Annotated[int, typer.Option(help="Messages stored per transaction, at most")] = 500,
    ack_wait: Annotated[float, typer.Option(
        help="Seconds before the broker redelivers a message not acknowledged")] = 30.0,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Receive CloudEvents from NATS JetStream into the inbox (FastStream).

    Structured JSON bodies, or binary mode (ce-* headers, the body as data). Each batch is
    stored in one transaction and acknowledged only after it commits: a crash before the
    acknowledgement makes the broker redeliver, and a redelivered message is a duplicate
    that changes nothing. A bad message is stored rejected and acknowledged. Workers apply
    what is stored (`syncline worker`, or `syncline serve`'s own). SIGTERM or Ctrl-C stops."""
    import asyncio

    from syncline.ingress.jetstream import NatsIngress

    _logging(database_url)
    system = _system(database_url)
    ingress = NatsIngress(system, url=nats, subject=subject, stream=stream, durable=durable,
                          batch_size=batch, ack_wait=ack_wait)

    async def main() -> None:
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopped.set)
        err.print(f"ingress {os.getpid()}: {nats} subject {subject} (stream {stream}, "
                  f"consumer {durable}) into {system.engine.dialect.name} (SIGTERM to stop)")
        await ingress.run(stopped)

    try:
        asyncio.run(main())
    except OSError as unreachable:
        err.print(f"[red]Cannot reach NATS at {nats}:[/] {unreachable}")
        raise typer.Exit(1) from None
    print(json.dumps({"pid": os.getpid(), **ingress.stats.as_dict()}, sort_keys=True),
          flush=True)
    system.engine.dispose()


def register(app: typer.Typer) -> None:
    app.command()(worker)
    app.command("ingest-broker")(ingest_broker)

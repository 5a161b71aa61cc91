"""`syncline` — the command line: `serve` here, every other command from its own module."""

from __future__ import annotations

from typing import Annotated

import typer

from syncline.cli import (
    bi,
    billing,
    close,
    connectors,
    contract,
    deliveries,
    demo,
    exceptions,
    governance,
    ingest,
    kpi,
    ledger,
    masterdata,
    operations,
    revenue,
    staffing,
    workers,
    workflows,
    xref,
)
from syncline.cli.common import _settings, _system, err

app = typer.Typer(help="Syncline keeps a services firm's CRM, HR, PSA, billing, revenue and ERP "
                  "in step.", no_args_is_help=True, pretty_exceptions_enable=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    database_url: Annotated[str | None, typer.Option()] = None,
    worker: Annotated[bool, typer.Option(
        help="Apply and deliver in this process (default); --no-worker when separate "
        "`syncline worker` processes do it")] = True,
) -> None:
    """Start the HTTP API (FastAPI, /v1). Needs an API key: SYNCLINE_API_KEYS."""
    import secrets

    import uvicorn

    from syncline.api.app import create_app
    from syncline.services.telemetry import logs, traces

    settings = _settings(database_url)
    # JSON lines on standard error from SYNCLINE_LOG_LEVEL up (docs/operations.md, "Logs")
    logs.configure(level=settings.log_level)
    traces.configure()  # console exporter, or OTLP by setting ("Traces")
    if not settings.keys():
        key = secrets.token_urlsafe(24)
        settings = settings.model_copy(update={"api_keys": key})
        # standard error only, never standard output (which may be collected as logs)
        err.print(f"[yellow]Warning:[/] no SYNCLINE_API_KEYS set, so this run made a key of "
                  f"its own, valid until it stops: [bold]{key}[/] (send it as the X-API-Key "
                  "header). Set SYNCLINE_API_KEYS for anything but a trial.", highlight=False)
    if not worker:
        err.print("No worker in this process (--no-worker): `syncline worker` processes "
                  "apply what the API receives.")
    # uvicorn's own access log is off: the API logs each request as a JSON line (with the
    # principal and correlation id) at INFO, and its errors through logging at WARNING up
    uvicorn.run(create_app(_system(settings), background=worker), host=host, port=port,
                access_log=False, log_level=settings.log_level.lower())


# Each capability's commands live in their own module; they are registered here, in the order
# `syncline --help` lists them.
for _commands in (demo, ingest, operations, exceptions, workers):
    _commands.register(app)
app.add_typer(revenue.app, name="revenue")
for _commands in (billing, ledger, close, contract, governance, connectors, deliveries,
                  workflows, masterdata, xref, staffing, kpi, bi):
    _commands.register(app)

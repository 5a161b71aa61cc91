"""`syncline` — the command line: `serve` here, every other command from its own module."""

from __future__ import annotations

from typing import Annotated

import typer

from syncline.cli import (
    billing,
    close,
    contract,
    demo,
    exceptions,
    governance,
    ingest,
    ledger,
    operations,
    revenue,
)
from syncline.cli.common import _settings, _system, err

app = typer.Typer(help="Syncline keeps a services firm's CRM, HR, PSA, billing, revenue and ERP "
                  "in step.", no_args_is_help=True, pretty_exceptions_enable=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Start the HTTP API (FastAPI, /v1). Needs an API key: SYNCLINE_API_KEYS."""
    import secrets

    import uvicorn

    from syncline.api.app import create_app

    settings = _settings(database_url)
    if not settings.keys():
        key = secrets.token_urlsafe(24)
        settings = settings.model_copy(update={"api_keys": key})
        err.print(f"No SYNCLINE_API_KEYS set: this run's API key is [bold]{key}[/] "
                  "(send it as the X-API-Key header).")
    uvicorn.run(create_app(_system(settings)), host=host, port=port)


# Each capability's commands live in their own module; they are registered here, in the order
# `syncline --help` lists them.
for _commands in (demo, ingest, operations, exceptions):
    _commands.register(app)
app.add_typer(revenue.app, name="revenue")
for _commands in (billing, ledger, close, contract, governance):
    _commands.register(app)

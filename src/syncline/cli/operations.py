"""Operating a database: `syncline status` (fingerprint, queue depths) and `syncline rebuild`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.table import Table

from syncline.bootstrap import Syncline
from syncline.cli.common import _settings, _system, err, out
from syncline.cli.demo import sqlite_path
from syncline.cli.ingest import ingest_lines


def _existing_system(database_url: str | None) -> Syncline:
    """The wired system of a database that must already exist (no SQLite file is made)."""
    settings = _settings(database_url)
    path = sqlite_path(settings.database_url)
    if path is not None and not path.is_file():
        err.print(f"[red]No database at {path}[/] (set SYNCLINE_DATABASE_URL or "
                  "--database-url)")
        raise typer.Exit(1)
    return _system(settings)


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """The state fingerprint and what is waiting: inbox by status, parked, outbox, exceptions."""
    from syncline.services.messaging.queues import queue_depths
    from syncline.services.state import fingerprint

    sys_ = _existing_system(database_url)
    with sys_.engine.connect() as conn:  # one read snapshot: waits for no writer
        result = {"database_url": _shown(sys_.settings.database_url),
                  "state_fingerprint": fingerprint(conn), **queue_depths(conn)}
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True))
        return
    table = Table(title="Syncline status", show_header=False, title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("database", result["database_url"])
    table.add_row("state fingerprint", result["state_fingerprint"])
    table.add_row("inbox", ", ".join(f"{k}: {v:,}" for k, v in result["inbox"].items()))
    table.add_row("deliveries received", f"{result['deliveries']:,}")
    table.add_row("parked (waiting)", f"{result['parked_waiting']:,}")
    table.add_row("outbox", ", ".join(f"{k}: {v:,}" for k, v in result["outbox"].items())
                  or "empty")
    table.add_row("outbox not delivered", f"{result['outbox_pending']:,}")
    table.add_row("open exceptions", ", ".join(
        f"{d}: {n:,}" for d, n in result["exceptions_open"].items()) or "none")
    out.print(table)


def rebuild(
    to: Annotated[str, typer.Option("--to", help="A fresh database to rebuild into "
                                    "(an SQLite file that does not exist yet, or an empty "
                                    "PostgreSQL database)")],
    database_url: Annotated[str | None, typer.Option(help="The live database")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Replay the inbox log (every stored message, in arrival order) into a fresh database and
    compare its state fingerprint with the live one: exit 0 when equal, 1 when not.

    Only messages make state here: what operator commands made in the live database (billing
    runs, revenue recognition, closes) is not in the log, so after those the fingerprints
    differ and the parts that differ are named."""
    from syncline.services.messaging.queues import messages_in_order, pending_count
    from syncline.services.state import canonical_state, fingerprint

    live = _existing_system(database_url)
    target = _settings(to)
    if _shown(target.database_url) == _shown(live.settings.database_url):
        err.print("[red]--to names the live database;[/] give a fresh one.")
        raise typer.Exit(2)
    path = sqlite_path(target.database_url)
    if path is not None and path.exists():
        err.print(f"[red]{path} already exists;[/] rebuild only writes into a fresh database.")
        raise typer.Exit(2)
    fresh = _system(live.settings.model_copy(update={"database_url": target.database_url}))
    with fresh.engine.connect() as conn:
        if pending_count(conn) or messages_in_order(conn, limit=1):
            err.print(f"[red]{_shown(target.database_url)} is not empty;[/] rebuild only "
                      "writes into a fresh database.")
            raise typer.Exit(2)

    def log() -> Iterator[str]:
        after = 0
        while True:
            with live.engine.connect() as conn:
                page = messages_in_order(conn, after=after)
            if not page:
                return
            after = page[-1][0]
            yield from (raw for _, raw in page)

    ingest_lines(fresh, log(), err, quiet)
    with live.engine.connect() as conn:
        live_fp, live_state = fingerprint(conn), canonical_state(conn)
    with fresh.engine.connect() as conn:
        fresh_fp, fresh_state = fingerprint(conn), canonical_state(conn)
    differs = {part: {"live": len(rows), "rebuilt": len(fresh_state.get(part, []))}
               for part, rows in live_state.items() if rows != fresh_state.get(part)}
    result = {"live": live_fp, "rebuilt": fresh_fp, "same": live_fp == fresh_fp,
              "rebuilt_database_url": _shown(target.database_url)}
    if differs:
        result["differs"] = differs
    out.print_json(data=result)
    if live_fp != fresh_fp:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(status)
    app.command()(rebuild)

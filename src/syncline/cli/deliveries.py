"""`syncline deliveries list|show|retry|skip`: what each target received, and dead letters."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from syncline.cli.common import _principal, _system, err, out

DbOpt = Annotated[str | None, typer.Option(help="database URL (default SYNCLINE_DATABASE_URL)")]
app = typer.Typer(help="Deliveries to the ERP, PSA and CRM: status per document; retry or "
                  "skip a dead letter (audited).", no_args_is_help=True)


@app.command("list")
def deliveries_list(
    status: Annotated[str | None, typer.Option(
        help="pending | delivered | failed (dead letters) | compensated | skipped")] = None,
    kind: Annotated[str | None, typer.Option(help="e.g. erp.invoice.post")] = None,
    document: Annotated[str | None, typer.Option(
        help="a document's key: an invoice number, a customer id, a journal source")] = None,
    limit: Annotated[int, typer.Option()] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: DbOpt = None,
) -> None:
    """Deliveries, newest first, with the target's reference for each document."""
    from syncline.services.messaging.deliveries import deliveries

    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        rows = deliveries(conn, status=status, kind=kind, document=document, limit=limit)
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    table = Table(title=f"Deliveries ({len(rows)})", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for col in ("id", "kind", "document", "entity", "status", "attempts", "reference"):
        table.add_column(col, overflow="fold")
    for r in rows:
        colour = {"failed": "red", "pending": "yellow", "delivered": "green"}.get(r.status, "")
        table.add_row(r.id, r.kind, r.document or "", r.entity or "",
                      f"[{colour}]{r.status}[/]" if colour else r.status, str(r.attempts),
                      r.reference or (r.last_error or "")[:60])
    out.print(table)


@app.command("show")
def deliveries_show(outbox_id: Annotated[str, typer.Argument()],
                    database_url: DbOpt = None) -> None:
    """One delivery: its payload's document, status, reference and last error."""
    from syncline.services.messaging.deliveries import delivery

    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        found = delivery(conn, outbox_id)
    if found is None:
        err.print(f"[red]No delivery {outbox_id}[/]")
        raise typer.Exit(2)
    print(json.dumps(found.as_dict(), indent=2))


def _act(action: str, outbox_id: str, reason: str, database_url: str | None) -> None:
    from syncline.services.messaging import deliveries as d

    sys_ = _system(database_url)
    actor = _principal(sys_, "finance", "admin", action=f"{action} of a delivery")
    try:
        with sys_.engine.begin() as conn:
            done = (d.retry if action == "retry" else d.skip)(
                conn, outbox_id, actor=actor.name, reason=reason, now=sys_.clock())
    except d.DeliveryRefused as refused:
        err.print(f"[red]Refused:[/] {refused}")
        raise typer.Exit(2) from None
    out.print(f"{outbox_id} ({done.kind} {done.document or ''}) is now {done.status}"
              + (": the worker (or `syncline process`/`serve`) sends it again with the same "
                 "idempotency key." if action == "retry" else "."), highlight=False)


@app.command("retry")
def deliveries_retry(outbox_id: Annotated[str, typer.Argument()],
                     reason: Annotated[str, typer.Option(help="why (audited)")] = "retry",
                     database_url: DbOpt = None) -> None:
    """Send a dead letter again (finance or admin; audited; its exception closes)."""
    _act("retry", outbox_id, reason, database_url)


@app.command("skip")
def deliveries_skip(outbox_id: Annotated[str, typer.Argument()],
                    reason: Annotated[str, typer.Option(help="why (required; audited)")],
                    database_url: DbOpt = None) -> None:
    """Mark a dead letter as not to be sent (finance or admin; audited)."""
    _act("skip", outbox_id, reason, database_url)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="deliveries")

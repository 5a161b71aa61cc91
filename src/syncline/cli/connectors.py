"""`syncline connectors list|check|sync|cursor|webhooks`: the firm's configured connectors."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from syncline.cli.common import _principal, _system, err, out

DbOpt = Annotated[str | None, typer.Option(help="database URL (default SYNCLINE_DATABASE_URL)")]
ConfigOpt = Annotated[str | None, typer.Option(
    "--config", help="connectors YAML (default SYNCLINE_CONNECTORS_CONFIG)")]


def _configs(sys_: Any, config: str | None) -> list[Any]:
    from syncline.connectors.registry import configured
    from syncline.connectors.sdk.config import ConnectorConfigInvalid

    path = config or sys_.settings.connectors_config
    if not path:
        err.print("[red]No connectors configured:[/] set SYNCLINE_CONNECTORS_CONFIG to a YAML "
                  "file (docs/connectors.md; config/connectors.example.yaml) or pass --config.")
        raise typer.Exit(2)
    try:
        return configured(path)
    except ConnectorConfigInvalid as bad:
        err.print(f"[red]{path} is invalid:[/]")
        for problem in bad.problems:
            err.print(f"  {problem}", highlight=False)
        raise typer.Exit(2) from None


def _one(sys_: Any, config: str | None, name: str) -> Any:
    from syncline.connectors.registry import Wiring, build
    from syncline.connectors.sdk.secrets import MissingSecret

    found = [c for c in _configs(sys_, config) if c.name == name]
    if not found:
        err.print(f"[red]No connector named {name!r}[/] (`syncline connectors list`).")
        raise typer.Exit(2)
    try:
        return build(found[0], Wiring(engine=sys_.engine))
    except MissingSecret as missing:
        err.print(f"[red]Connector {name} cannot start:[/] {missing}")
        raise typer.Exit(2) from None


def connectors_list(config: ConfigOpt = None, database_url: DbOpt = None,
                    as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The configured connectors, their streams' cursors and last runs (no secrets shown)."""
    from syncline.services.connectors.cursors import listing

    sys_ = _system(database_url)
    configs = _configs(sys_, config)
    rows = listing(sys_.engine)
    if as_json:
        print(json.dumps([{"name": c.name, "kind": c.kind, "poll_minutes": c.poll_minutes,
                           "cursors": [r.__dict__ for r in rows if r.connector == c.name]}
                          for c in configs], indent=2))
        return
    for c in configs:
        poll = f"every {c.poll_minutes} min" if c.poll_minutes else "manual/webhook"
        out.print(f"[bold]{c.name}[/]  {c.kind}  ({poll})", highlight=False)
        mine = [r for r in rows if r.connector == c.name]
        for r in mine:
            state = r.last_status or "never run"
            out.print(f"    {r.stream:<20} cursor {r.value or '—'}  {state}  "
                      f"{r.records_total} record(s)  last run {r.last_run_at or '—'}",
                      highlight=False)
            if r.last_error:
                out.print(f"      [red]{r.last_error}[/]", highlight=False)
        if not mine:
            out.print("    no sync yet", highlight=False)
    out.print(f"{len(configs)} connector(s).")


def connectors_check(name: Annotated[str, typer.Argument()], config: ConfigOpt = None,
                     database_url: DbOpt = None) -> None:
    """Prove the credentials and the vendor answer (one cheap authenticated call)."""
    from syncline.connectors.sdk.errors import VendorError

    sys_ = _system(database_url)
    connector = _one(sys_, config, name)
    try:
        result = connector.check()
    except VendorError as bad:
        err.print(f"[red]{name}: failed[/] {bad}", highlight=False)
        raise typer.Exit(1) from None
    colour = "green" if result.ok else "red"
    out.print(f"[{colour}]{name}: {'ok' if result.ok else 'failed'}[/] {result.detail}",
              highlight=False)
    if not result.ok:
        raise typer.Exit(1)


def connectors_sync(
    name: Annotated[str, typer.Argument()],
    stream: Annotated[str | None, typer.Option(help="one stream (default all)")] = None,
    since: Annotated[str | None, typer.Option(
        help="read from this cursor value instead of the stored one (the stored cursor still "
        "advances as batches are stored)")] = None,
    config: ConfigOpt = None, database_url: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="read and show the events and "
                                          "refusals (first few, with counts); store nothing, "
                                          "move no cursor")] = False,
) -> None:
    """Read the connector's streams from their cursors into the inbox (applied by the worker)."""
    from syncline.connectors.runs import run_stream

    sys_ = _system(database_url)
    _principal(sys_, "integration", "admin", action="syncing a connector")
    connector = _one(sys_, config, name)
    streams = [s for s in connector.streams() if stream in (None, s.name)]
    if not streams:
        err.print(f"[red]{name} has no stream {stream!r}[/]; streams: "
                  + ", ".join(s.name for s in connector.streams()))
        raise typer.Exit(2)
    if dry_run:
        _dry_run(sys_, name, streams, since, as_json)
        return
    results = []
    for s in streams:
        def show(r: Any) -> None:
            if not as_json:
                err.print(f"  {r.stream}: batch {r.batches}, {r.accepted} accepted, "
                          f"{r.duplicates} duplicate, {r.rejected} rejected", highlight=False)
        results.append(run_stream(sys_.engine, name, s, clock=sys_.clock, since=since,
                                  on_batch=show))
    if as_json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        for r in results:
            colour = "green" if r.ok else "red"
            out.print(f"[{colour}]{r.stream}[/]: {r.accepted} accepted, {r.duplicates} "
                      f"duplicate, {r.rejected} rejected in {r.batches} batch(es); cursor "
                      f"{r.cursor_before or '—'} → {r.cursor_after or '—'}", highlight=False)
            for reason in r.rejected_reasons[:10]:
                out.print(f"    rejected: {reason}", highlight=False)
            if r.error:
                out.print(f"    [red]stopped:[/] {r.error}", highlight=False)
        out.print("Run `syncline process` (or the worker) to apply what was received.")
    if any(not r.ok for r in results):
        raise typer.Exit(1)


def _dry_run(sys_: Any, name: str, streams: list[Any], since: str | None,
             as_json: bool) -> None:
    from syncline.connectors.preview import preview

    shown = [preview(sys_.engine, name, s, since=since) for s in streams]
    if as_json:
        print(json.dumps([p.as_dict() for p in shown], indent=2))
    for p in [] if as_json else shown:
        out.print(f"[bold]{p.stream}[/] (dry run): {p.events} event(s), {p.refusals} "
                  f"refused in {p.batches} batch(es); nothing stored", highlight=False)
        for event in p.first_events:
            print(json.dumps(event))
        for reason in p.first_refusals:
            out.print(f"    refused: {reason}", highlight=False)
        if p.error:
            out.print(f"    [red]stopped:[/] {p.error}", highlight=False)
    if any(p.error for p in shown):
        raise typer.Exit(1)


def connectors_cursor(
    name: Annotated[str, typer.Argument()],
    reset: Annotated[bool, typer.Option("--reset", help="forget the position: the next sync "
                                        "reads from the start (duplicates are ignored)")] = False,
    stream: Annotated[str | None, typer.Option(help="one stream (default all)")] = None,
    reason: Annotated[str | None, typer.Option(help="why (recorded in the audit log)")] = None,
    config: ConfigOpt = None, database_url: DbOpt = None,
) -> None:
    """Show a connector's cursors, or reset them (audited)."""
    from syncline.services.connectors.cursors import listing
    from syncline.services.connectors.cursors import reset as reset_cursors
    from syncline.services.governance.audit import record

    sys_ = _system(database_url)
    if not any(c.name == name for c in _configs(sys_, config)):
        err.print(f"[red]No connector named {name!r}[/] (`syncline connectors list`).")
        raise typer.Exit(2)
    rows = [r for r in listing(sys_.engine, name) if stream in (None, r.stream)]
    if reset:
        actor = _principal(sys_, "admin", "integration", action="resetting a cursor")
        count = reset_cursors(sys_.engine, name, stream, sys_.clock())
        record(sys_.engine, actor=actor.name, action="connector.cursor.reset",
               subject=f"connector/{name}" + (f"/{stream}" if stream else ""),
               now=sys_.clock(), before={r.stream: r.value for r in rows}, after=None,
               reason=reason)
        out.print(f"Reset {count} cursor(s) of {name}; the next sync reads from the start.")
        return
    for r in rows:
        out.print(f"{r.stream:<20} {r.value or '—'}  (updated {r.updated_at})", highlight=False)
    if not rows:
        out.print(f"{name} has no cursor yet (it has not synced).")


def connectors_webhooks(name: Annotated[str, typer.Argument()], database_url: DbOpt = None,
                        limit: Annotated[int, typer.Option()] = 20) -> None:
    """The latest webhook deliveries of a connector: accepted or refused, and why."""
    from syncline.services.connectors.webhooks import recent

    sys_ = _system(database_url)
    for w in recent(sys_.engine, name, limit):
        colour = "green" if w.status == "accepted" else "red"
        out.print(f"{w.received_at} [{colour}]{w.status}[/] {w.events} event(s) {w.id} "
                  f"{w.reason or ''}", highlight=False)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Connectors to the firm's CRM, HR, time tracking and files.",
                        no_args_is_help=True)
    app.add_typer(group, name="connectors")
    group.command("list")(connectors_list)
    group.command("check")(connectors_check)
    group.command("sync")(connectors_sync)
    group.command("cursor")(connectors_cursor)
    group.command("webhooks")(connectors_webhooks)

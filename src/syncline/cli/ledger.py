"""`syncline period …`, `syncline report …`, `syncline export …`: the embedded ledger."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table as RichTable

from syncline.bootstrap import bootstrap
from syncline.cli.main import _settings, err, out

period_app = typer.Typer(help="Accounting periods: open, close, lock, reopen (audited).",
                         no_args_is_help=True)


def _entities(entity: str | None, conn: object) -> list[str]:
    from sqlalchemy import Connection

    from syncline.services.ledger_queries import entity_codes

    assert isinstance(conn, Connection)
    return [entity] if entity else entity_codes(conn)


def _change(action: str, period: str, entity: str | None, reason: str | None, role: str | None,
            actor: str, database_url: str | None) -> None:
    from syncline.services.periods import PeriodChangeRefused, change_periods

    if role is None:
        if action == "reopen":
            err.print("[red]reopen needs --role (a finance role: finance, controller, admin) "
                      "and --reason[/]")
            raise typer.Exit(2)
        role = "finance"
    sys_ = bootstrap(_settings(database_url))
    try:
        with sys_.engine.begin() as conn:
            views = change_periods(conn, _entities(entity, conn), period, action, actor=actor,
                                   role=role, reason=reason, now=sys_.clock())
    except PeriodChangeRefused as refused:
        err.print(f"[red]Refused:[/] {refused}")
        raise typer.Exit(2) from None
    for v in views:
        out.print(f"{v.entity} {v.period}: [bold]{v.status}[/]", highlight=False)


EntityOpt = Annotated[str | None, typer.Option(help="Legal entity code (default: every entity)")]
ReasonOpt = Annotated[str | None, typer.Option(help="Why (audited; required to reopen)")]
RoleOpt = Annotated[str | None, typer.Option(
    help="Your role: finance | controller | admin (default finance; required to reopen)")]
ActorOpt = Annotated[str, typer.Option(help="Who (audited)")]
PeriodOpt = Annotated[str, typer.Option(help="YYYY-MM")]
DbOpt = Annotated[str | None, typer.Option()]


@period_app.command("open")
def period_open(period: PeriodOpt, entity: EntityOpt = None, reason: ReasonOpt = None,
                role: RoleOpt = None, actor: ActorOpt = "operator",
                database_url: DbOpt = None) -> None:
    """Record a month as open (a month never closed is open already)."""
    _change("open", period, entity, reason, role, actor, database_url)


@period_app.command("close")
def period_close(period: PeriodOpt, entity: EntityOpt = None, reason: ReasonOpt = None,
                 role: RoleOpt = None, actor: ActorOpt = "operator",
                 database_url: DbOpt = None) -> None:
    """Close a month: nothing posts into it any more (finance exceptions instead)."""
    _change("close", period, entity, reason, role, actor, database_url)


@period_app.command("lock")
def period_lock(period: PeriodOpt, entity: EntityOpt = None, reason: ReasonOpt = None,
                role: RoleOpt = None, actor: ActorOpt = "operator",
                database_url: DbOpt = None) -> None:
    """Lock a closed month for good: it never reopens."""
    _change("lock", period, entity, reason, role, actor, database_url)


@period_app.command("reopen")
def period_reopen(period: PeriodOpt, entity: EntityOpt = None, reason: ReasonOpt = None,
                  role: RoleOpt = None, actor: ActorOpt = "operator",
                  database_url: DbOpt = None) -> None:
    """Reopen a closed month (a finance role and a reason; audited)."""
    _change("reopen", period, entity, reason, role, actor, database_url)


@period_app.command("list")
def period_list(
    entity: EntityOpt = None,
    history: Annotated[bool, typer.Option(help="Show every audited change")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: DbOpt = None,
) -> None:
    """Months whose status was set (any other month is open), or their audited changes."""
    from syncline.services.periods import list_periods, period_history

    sys_ = bootstrap(_settings(database_url))
    with sys_.engine.connect() as conn:
        rows = (period_history(conn, entity) if history
                else [v.as_dict() for v in list_periods(conn, entity)])
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        out.print("No period has been closed or set: every month is open.")
        return
    table = RichTable(title="Period changes" if history else "Periods", title_justify="left")
    columns = list(rows[0])
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*("" if r[c] is None else str(r[c]) for c in columns))
    out.print(table)
    if not history:
        out.print("Months not listed are open.")


def register(app: typer.Typer) -> None:
    app.add_typer(period_app, name="period")

"""`syncline xref list|show|link`: browse and repair the cross-reference table."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from syncline.cli.common import _principal, _system, err, out

DbOpt = Annotated[str | None, typer.Option(help="database URL (default SYNCLINE_DATABASE_URL)")]


def _table(rows: list[dict[str, object]]) -> Table:
    table = Table("system", "type", "external id", "syncline id", "label")
    for r in rows:
        table.add_row(*(str(r[k] or "") for k in ("system", "object_type", "external_id",
                                                  "syncline_id", "label")))
    return table


def xref_list(system: Annotated[str | None, typer.Option(help="crm, psa, hris, …")] = None,
              type_: Annotated[str | None, typer.Option("--type", help="account, deal, "
                                                        "project, worker, …")] = None,
              limit: int = 1000, database_url: DbOpt = None,
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Links of outside ids to Syncline objects."""
    from syncline.services import xref

    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        rows = [k.as_dict() for k in xref.links(conn, system=system, object_type=type_,
                                               limit=limit)]
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        out.print(_table(rows))


def xref_show(key: Annotated[str, typer.Argument(help="a Syncline id or an external id")],
              database_url: DbOpt = None,
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The links of a Syncline id or of an external id."""
    from syncline.services import xref

    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        rows = [k.as_dict() for k in xref.show(conn, key)]
    if not rows:
        err.print(f"[red]No cross-reference of {key}.[/]")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        out.print(_table(rows))


def xref_link(
    system: Annotated[str, typer.Option(help="crm, psa, hris, …")],
    type_: Annotated[str, typer.Option("--type", help="account, deal, project, worker, …")],
    external_id: Annotated[str, typer.Option(help="the id in the outside system")],
    to: Annotated[str, typer.Option(help="the Syncline id to link to")],
    reason: Annotated[str, typer.Option(help="why (kept in the audit log)")],
    database_url: DbOpt = None,
) -> None:
    """Link an external id to an existing Syncline object of its type, or move its link
    (admin; audited with the link before and after)."""
    from syncline.services import xref

    sys_ = _system(database_url)
    principal = _principal(sys_, "admin", action="repairing a cross-reference")
    try:
        with sys_.engine.begin() as conn:
            made = xref.link(conn, system=system, object_type=type_, external_id=external_id,
                             to=to, reason=reason, actor=principal.name, now=sys_.clock())
    except xref.LinkRefused as refused:
        err.print(f"[red]Refused:[/] {refused}", highlight=False)
        raise typer.Exit(2) from None
    if not made["changed"]:
        out.print(f"{system}/{type_}/{external_id} is linked to {to} already.", highlight=False)
    elif made["before"]:
        out.print(f"{system}/{type_}/{external_id} moved from {made['before']} to {to} "
                  f"({made['label']}); audited.", highlight=False)
    else:
        out.print(f"{system}/{type_}/{external_id} linked to {to} ({made['label']}); audited.",
                  highlight=False)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The cross-reference of outside ids to Syncline objects: "
                        "browse and repair.", no_args_is_help=True)
    app.add_typer(group, name="xref")
    group.command("list")(xref_list)
    group.command("show")(xref_show)
    group.command("link")(xref_link)

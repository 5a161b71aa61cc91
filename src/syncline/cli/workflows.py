"""`syncline workflows list|resume`: durable workflows across deploys (docs/operations.md)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from syncline.bootstrap import Syncline
from syncline.cli.common import _principal, _system, err, out

DbOpt = Annotated[str | None, typer.Option(help="database URL (default SYNCLINE_DATABASE_URL)")]
app = typer.Typer(help="Durable workflows (deliveries, closes, polls): what is in flight and "
                  "under which application version; resume one a deploy left behind.",
                  no_args_is_help=True)


def _launched(sys_: Syncline) -> str:
    """DBOS launched on this deployment's system database and version (which also recovers
    this version's own interrupted workflows, as any Syncline process does)."""
    from syncline.workflows import delivery

    version = sys_.settings.workflow_version()
    delivery.launch(sys_.engine, sys_.targets, sys_.settings.workflow_db_url(), sys_.clock,
                    app_version=version)
    return version


@app.command("list")
def workflows_list(
    every: Annotated[bool, typer.Option(
        "--all", help="Every workflow, finished ones too (default: only those in flight)")
    ] = False,
    limit: Annotated[int, typer.Option()] = 200,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: DbOpt = None,
) -> None:
    """Workflows in flight (PENDING, ENQUEUED), newest first, with the application version
    that started each: one of another version is not recovered by this one (see `resume`)."""
    from syncline.workflows import versions

    settings = _system(database_url).settings
    version = settings.workflow_version()
    rows = versions.in_flight(settings.workflow_db_url(), version, every=every, limit=limit)
    if as_json:
        print(json.dumps({"version": version, "workflows": [r.as_dict() for r in rows]},
                         indent=2))
        return
    table = Table(title=f"Workflows ({len(rows)}) — this deployment is {version}",
                  title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("workflow", overflow="fold")
    for col in ("status", "version", "executor", "steps", "created"):
        table.add_column(col)
    for r in rows:
        mark = "" if r.this_version else " [yellow](other)[/]"
        table.add_row(r.workflow_id, r.status, f"{r.app_version}{mark}", r.executor_id or "",
                      str(r.steps), r.created_at)
    out.print(table)
    if any(not r.this_version and r.status != "CANCELLED" for r in rows):
        err.print("Workflows of another version wait for a process of that version, or for "
                  "`syncline workflows resume ID` once no such process runs.")


@app.command("resume")
def workflows_resume(
    workflow_id: Annotated[str, typer.Argument(help="e.g. deliver:provision:D-1")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: DbOpt = None,
) -> None:
    """Finish an interrupted workflow under this deployment's version (admin). One of another
    version is cancelled, so its old version never recovers it too, and forked under this
    version from the step after its last recorded one: recorded steps are not run again.
    Only for work whose version no process runs any more."""
    from syncline.workflows import close, delivery, versions

    sys_ = _system(database_url)
    _principal(sys_, "admin", action="resuming a workflow")
    close.wire(sys_)  # a close's steps act on this system
    try:
        _launched(sys_)
        result = versions.resume(workflow_id)  # run here, waited for
    except versions.NotResumable as why:
        err.print(f"[red]Not resumed:[/] {why}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        delivery.shutdown()
    if as_json:
        print(json.dumps(result, indent=2, default=str))
        return
    out.print(f"{workflow_id} ({result['from_version']}) resumed as {result['resumed_as']} "
              f"under {result['version']}: {result.get('status', 'started')}",
              highlight=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="workflows")

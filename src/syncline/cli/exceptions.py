"""The exception queue and replay: `syncline exceptions list|show`, `syncline replay`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from syncline.cli.common import _principal, _system, err, out

# who may take or give exceptions: those who act on them (as the console's ACTORS)
ASSIGNERS = ("integration", "billing", "pmo", "finance", "controller")


def exceptions_list(
    status: Annotated[str, typer.Option(help="open | resolved | skipped | all")] = "open",
    domain: Annotated[str | None, typer.Option(help="finance | pmo | hr | it | billing")] = None,
    assigned_to: Annotated[str | None, typer.Option(
        help="only those assigned to this principal")] = None,
    unassigned: Annotated[bool, typer.Option("--unassigned",
                                             help="only those assigned to nobody")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """List exceptions (open ones by default), with their business context."""
    from syncline.services.messaging.exception_context import business_context
    from syncline.services.messaging.exceptions import UNASSIGNED, list_exceptions

    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        rows = list_exceptions(conn, status=None if status == "all" else status, domain=domain,
                               assignee=UNASSIGNED if unassigned else assigned_to)
        context = business_context(conn, rows)
    if as_json:
        print(json.dumps([{**r.as_dict(), "context": context[r.id].as_dict()} for r in rows],
                         indent=2))
        return
    out.print(f"[bold]Exceptions ({status})[/]")
    for r in rows:  # two lines each: readable at any terminal width
        out.print(f"[bold]{r.id}[/]  [cyan]{r.domain:<8}[/] {r.severity:<8} {r.code}",
                  highlight=False)
        out.print(f"    {r.message}", highlight=False, overflow="fold")
        c = context[r.id]
        said = "  ".join(f"{k} {v}" for k, v in (
            ("customer", c.customer), ("contract", c.contract), ("project", c.project),
            ("amount", c.amount), ("source", " ".join(x for x in (c.vendor, c.record) if x)),
            ("assigned to", r.assigned_to)) if v)
        if said:
            out.print(f"    [dim]{said}[/]", highlight=False, overflow="fold")
    out.print(f"{len(rows)} exception(s). `syncline exceptions show ID` for remediation and "
              "lineage.")


def exceptions_show(
    exception_id: Annotated[str, typer.Argument()],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """One exception: what is wrong, what to do, and where it came from."""
    from syncline.services.messaging.exceptions import get_exception

    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        found = get_exception(conn, exception_id)
    if found is None:
        err.print(f"[red]No exception {exception_id}[/]")
        raise typer.Exit(1)
    view, lineage = found
    if as_json:
        print(json.dumps({"exception": view.as_dict(), "lineage": lineage}, indent=2,
                         default=str))
        return
    out.print(f"[bold]{view.id}[/]  {view.domain} / {view.severity} / {view.status}")
    out.print(f"[bold]What:[/] {view.message}")
    out.print(f"[bold]Field:[/] {view.field or '-'}")
    out.print(f"[bold]Do:[/] {view.remediation}")
    out.print(f"[bold]Objects:[/] {', '.join(f'{k} {v}' for k, v in view.objects) or '-'}")
    if "inbox" in lineage:
        msg = lineage["inbox"]
        out.print(f"[bold]Message:[/] {msg['id']} {msg['type']} from {msg['source']} "
                  f"(status {msg['status']}); replay with `syncline replay {msg['id']}`")
        try:
            out.print_json(lineage["raw"])
        except json.JSONDecodeError:
            out.print(lineage["raw"][:2000], markup=False, highlight=False)


def exceptions_assign(
    exception_id: Annotated[str, typer.Argument()],
    to: Annotated[str | None, typer.Option("--to", help="the principal's name")] = None,
    unassign: Annotated[bool, typer.Option("--unassign", help="assign to nobody")] = False,
    reason: Annotated[str, typer.Option(help="Why (audited)")] = "",
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Give an exception to a person (a principal's name), or take it back (audited)."""
    from syncline.services.messaging.exceptions import AssignRefused, assign

    if unassign == bool(to and to.strip()):
        err.print("[red]Give either --to NAME or --unassign[/]")
        raise typer.Exit(2)
    sys_ = _system(database_url)
    actor = _principal(sys_, *ASSIGNERS, action="assigning an exception").name
    try:
        with sys_.engine.begin() as conn:
            view = assign(conn, exception_id, None if unassign else to, actor=actor,
                          now=sys_.clock(), reason=reason)
    except AssignRefused as refused:
        err.print(f"[red]{refused}[/]")
        raise typer.Exit(1) from None
    out.print(f"{view.id}: assigned to {view.assigned_to}" if view.assigned_to
              else f"{view.id}: unassigned", highlight=False)


def replay(
    inbox_id: Annotated[str, typer.Argument(help="The inbox id (inb_…) of the message")],
    data_file: Annotated[Path | None, typer.Option(
        help="Edit first: a JSON file with the corrected `data` (the original is kept)")] = None,
    reason: Annotated[str, typer.Option(help="Why (audited)")] = "replayed by operator",
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Re-apply one stored message, idempotently (optionally after editing its data)."""
    from syncline.services.messaging.replay import EditRefused, edit_message
    from syncline.services.messaging.replay import replay as do_replay

    sys_ = _system(database_url)
    actor = _principal(sys_, "integration", "billing", "pmo", "finance", "controller",
                       action="replaying a message").name
    try:
        if data_file is not None:
            try:
                data = json.loads(data_file.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as problem:
                err.print(f"[red]Cannot read {data_file}:[/] {problem}")
                raise typer.Exit(2) from None
            if not isinstance(data, dict):
                err.print("[red]--data-file must hold a JSON object (the event's data)[/]")
                raise typer.Exit(2)
            edit_message(sys_.engine, inbox_id, data, actor=actor, reason=reason,
                         clock=sys_.clock)
        status, _ = do_replay(sys_.engine, inbox_id, sys_.ref, sys_.clock, actor=actor)
    except KeyError:
        err.print(f"[red]No inbox message {inbox_id}[/]")
        raise typer.Exit(1) from None
    except EditRefused as refused:
        err.print(f"[red]Edit refused:[/] {refused}")
        raise typer.Exit(2) from None
    from syncline.services.governance.audit import record as record_action

    record_action(sys_.engine, actor=actor, action="message.replay", subject=f"inbox/{inbox_id}",
                  now=sys_.clock(), after={"status": status, "edited": data_file is not None},
                  reason=reason)
    sys_.deliver()
    out.print(f"{inbox_id}: {status}")


# Each engine's commands live in their own module; they are registered here, explicitly.


def register(app: typer.Typer) -> None:
    queue = typer.Typer(help="The exception queue: what needs a person.")
    app.add_typer(queue, name="exceptions")
    queue.command("list")(exceptions_list)
    queue.command("show")(exceptions_show)
    queue.command("assign")(exceptions_assign)
    app.command()(replay)

"""`syncline close --period YYYY-MM`: the period close as a durable workflow."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from syncline.cli.common import _principal, _system, err, out
from syncline.ledger.periods import is_period_name
from syncline.services.ledger.period_checks import close_problem, entity_problem


def close(
    period: Annotated[str, typer.Option(help="YYYY-MM")],
    entity: Annotated[str | None, typer.Option(help="Legal entity code (default: all)")] = None,
    force: Annotated[bool, typer.Option(help="Lock even when reconciliation differs")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Close a month: cut-off, billing, recognition, accruals, intercompany charges, FX
    revaluation, the ERP's summarized journals, reconciliation, then lock. Acts as the
    CLI's principal: closing needs finance, the lock controller (without it the months stay
    closed)."""
    from syncline.services.governance.audit import record as record_action
    from syncline.workflows.close import CloseInFlight, run_close

    if not is_period_name(period):
        err.print(f"[red]--period must be YYYY-MM, got {period!r}[/]")
        raise typer.Exit(2)
    sys_ = _system(database_url)
    problem = close_problem(period, sys_.clock().date())
    if problem is None:
        with sys_.engine.connect() as conn:
            problem = entity_problem(conn, sys_.ref, entity)
    if problem:
        err.print(f"[red]{problem}[/]", highlight=False)
        raise typer.Exit(2)
    principal = _principal(sys_, "finance", action="closing a period")
    console = err if as_json else out

    def progress(step: str, summary: dict[str, Any]) -> None:
        brief = {k: v for k, v in summary.items() if k != "report"}
        console.print(f"[green]✓[/] [bold]{step}[/] {json.dumps(brief, default=str)[:150]}",
                      highlight=False)

    try:
        result = run_close(sys_, period, entity, actor=principal.name, force=force,
                           progress=progress, roles=sorted(principal.roles))
    except CloseInFlight as held:
        err.print(f"[red]Not closed:[/] {held}", highlight=False)
        raise typer.Exit(2) from None
    record_action(sys_.engine, actor=principal.name, action="close.run",
                  subject=f"close/{entity or '*'}/{period}", now=sys_.clock(),
                  after={"lock": result.get("lock"), "locked": result.get("locked"),
                         "workflow_id": result.get("workflow_id")},
                  reason="forced" if force else None)
    sys_.deliver()
    if as_json:
        print(json.dumps(result, indent=2, default=str))
        return
    checks = result["reconciliation"]["report"]["tables"][0]
    console.print(f"\n[bold]Reconciliation {period}[/]")
    status_col = checks["columns"].index("status")
    for row in checks["rows"]:
        mark = "[green]ok[/]" if row[status_col] in ("ok", "skipped") else "[red]differs[/]"
        console.print(f"  {mark}  {' | '.join(str(c) for c in row[:status_col])}",
                      highlight=False)
    state = ", ".join(f"{e}: {s}" for e, s in result["lock"].items())
    console.print(f"\nPeriods: {state}" + ("" if result["locked"] else
                  "  (not locked: differences above; fix them, or --force)"))
    console.print(f"Workflow {result['workflow_id']} (re-running it changes nothing).")


def register(app: typer.Typer) -> None:
    app.command("close")(close)

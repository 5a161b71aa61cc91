"""`syncline staffing match|over-allocate|decide`: ranked candidates of a resource request,
and over-allocation approvals (maker-checker; approving replays the refused assignment);
`syncline workforce report utilization|forecast|bench` (also `syncline report NAME`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from syncline.cli.common import _principal, _system, err, out

DbOpt = Annotated[str | None, typer.Option(help="database URL (default SYNCLINE_DATABASE_URL)")]


def staffing_match(
    request_id: Annotated[str, typer.Argument(help="the PSA resource request id")],
    top: Annotated[int, typer.Option(help="how many candidates")] = 10,
    database_url: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Candidates for a resource request, best first, with the reasons of each rank (skill
    fit, availability over the window, cost against the rate, location, utilization)."""
    from syncline.services.workforce.matching import matches

    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        found = matches(conn, request_id, top)
    if found is None:
        err.print(f"[red]No resource request {request_id}.[/]")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return
    r = found["request"]
    out.print(f"{r['request_id']} ({r['project_code']}): {r['role']}, {r['hours_per_week']} "
              f"h/wk, {r['start_date']} to {r['end_date']}", highlight=False)
    table = Table("#", "worker", "score", "reasons")
    for c in found["candidates"]:
        table.add_row(str(c["rank"]), f"{c['name']} ({c['worker_id']})", c["score"],
                      ", ".join(c["reasons"]))
    out.print(table)


def staffing_over_allocate(
    assignment_id: Annotated[str, typer.Argument(help="the refused assignment")],
    reason: Annotated[str, typer.Option(help="why (kept in the audit log)")],
    database_url: DbOpt = None,
) -> None:
    """Request approval to book a refused assignment beyond the worker's capacity."""
    from syncline.services.governance.approvals import ApprovalRefused
    from syncline.services.workforce import overallocation

    sys_ = _system(database_url)
    principal = _principal(sys_, "pmo", "admin", action="requesting an over-allocation")
    try:
        made = overallocation.ask(sys_, assignment_id, by=principal, reason=reason)
    except ApprovalRefused as refused:
        err.print(f"[red]{refused}[/]")
        raise typer.Exit(1) from None
    out.print(f"{made.id} pending: another principal (finance or controller) decides it with "
              f"`syncline staffing decide {made.id}`.", highlight=False)


def staffing_decide(
    approval_id: Annotated[str, typer.Argument(help="the over-allocation approval (apr_…)")],
    reject: Annotated[bool, typer.Option("--reject")] = False,
    reason: Annotated[str | None, typer.Option(help="why")] = None,
    database_url: DbOpt = None,
) -> None:
    """Approve (the refused assignment is replayed) or reject an over-allocation."""
    from syncline.services.governance.approvals import ApprovalRefused
    from syncline.services.governance.roles import Forbidden
    from syncline.services.workforce import overallocation

    sys_ = _system(database_url)
    principal = _principal(sys_, "finance", "controller", action="approving")
    try:
        done = overallocation.decide(sys_, approval_id, by=principal, approve=not reject,
                                     reason=reason)
    except (ApprovalRefused, Forbidden) as refused:
        err.print(f"[red]{refused}[/]")
        raise typer.Exit(1) from None
    out.print(json.dumps(done), highlight=False)


def workforce_report(
    name: Annotated[str, typer.Argument(help="utilization | forecast | bench")],
    period: Annotated[str, typer.Option(help="YYYY-MM: the month (forecast: the first)")],
    months: Annotated[int, typer.Option(help="forecast: how many months")] = 12,
    fmt: Annotated[str, typer.Option("--format", help="table | json | csv | xlsx")] = "table",
    out_path: Annotated[str | None, typer.Option("--out", help="write to this file")] = None,
    database_url: DbOpt = None,
) -> None:
    """A workforce report for a month: utilization (actual and planned against capacity),
    forecast (planned revenue, cost and margin by project and month) or bench (free hours)."""
    from syncline.cli.ledger import emit_report
    from syncline.ledger.periods import is_period_name
    from syncline.services.workforce.reports import WORKFORCE_REPORTS
    from syncline.services.workforce.reports import workforce_report as build

    if name not in WORKFORCE_REPORTS:
        err.print(f"[red]Unknown report {name!r}.[/] Reports: {', '.join(WORKFORCE_REPORTS)}")
        raise typer.Exit(2)
    if not is_period_name(period) or fmt not in ("table", "json", "csv", "xlsx") or (
            fmt == "xlsx" and not out_path):
        err.print("[red]--period is YYYY-MM; --format table, json, csv or xlsx (xlsx needs "
                  "--out)[/]")
        raise typer.Exit(2)
    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        made = build(conn, name, period, months, sys_.ref)
    emit_report(made, fmt, out_path)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Staffing: ranked candidates of resource requests and "
                        "over-allocation approvals.", no_args_is_help=True)
    app.add_typer(group, name="staffing")
    group.command("match")(staffing_match)
    group.command("over-allocate")(staffing_over_allocate)
    group.command("decide")(staffing_decide)
    reports = typer.Typer(help="Workforce reports: utilization, forecast, bench.",
                          no_args_is_help=True)
    app.add_typer(reports, name="workforce")
    reports.command("report")(workforce_report)

"""`syncline period …`, `syncline report …`, `syncline export …`: the embedded ledger."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table as RichTable

from syncline.cli.common import _principal, _system, err, out

period_app = typer.Typer(help="Accounting periods: open, close, lock, reopen (audited).",
                         no_args_is_help=True)


def _entities(entity: str | None, conn: object) -> list[str]:
    from sqlalchemy import Connection

    from syncline.services.ledger.periods import PeriodChangeRefused
    from syncline.services.ledger.queries import entity_codes

    assert isinstance(conn, Connection)
    known = entity_codes(conn)
    if entity and entity not in known:
        raise PeriodChangeRefused(f"unknown entity {entity!r}; entities: {', '.join(known)}",
                                  problem="bad_entity")
    return [entity] if entity else known


def _change(action: str, period: str, entity: str | None, reason: str | None,
            database_url: str | None) -> None:
    """As the CLI's principal (SYNCLINE_CLI_PRINCIPAL, SYNCLINE_CLI_ROLES): open and close
    need finance, lock and reopen controller and a reason."""
    from syncline.services.ledger.periods import PeriodChangeRefused, change_periods
    from syncline.services.ledger.reports import record_close, report_options

    sys_ = _system(database_url)
    principal = _principal(sys_)
    try:
        with sys_.engine.begin() as conn:
            views = change_periods(conn, _entities(entity, conn), period, action,
                                   actor=principal.name, role=principal.roles, reason=reason,
                                   now=sys_.clock())
            if action == "close":  # what the month reports at its close is recorded with it
                record_close(conn, period, report_options(sys_),
                             entities=[v.entity for v in views], whole_firm=entity is None,
                             now=sys_.clock())
    except PeriodChangeRefused as refused:
        err.print(f"[red]Refused:[/] {refused}")
        raise typer.Exit(2) from None
    for v in views:
        out.print(f"{v.entity} {v.period}: [bold]{v.status}[/]", highlight=False)


def _check_entity(sys_: Any, entity: str | None) -> None:
    """Exit 2 for an entity that is neither in the reference data nor in the books."""
    from syncline.services.ledger.period_checks import entity_problem

    with sys_.engine.connect() as conn:
        problem = entity_problem(conn, sys_.ref, entity)
    if problem:
        err.print(f"[red]{problem}[/]", highlight=False)
        raise typer.Exit(2)


EntityOpt = Annotated[str | None, typer.Option(help="Legal entity code (default: every entity)")]
ReasonOpt = Annotated[str | None, typer.Option(
    help="Why (audited; required to lock and reopen)")]
PeriodOpt = Annotated[str, typer.Option(help="YYYY-MM")]
DbOpt = Annotated[str | None, typer.Option()]


@period_app.command("open")
def period_open(period: PeriodOpt, entity: EntityOpt = None, reason: ReasonOpt = None,
                database_url: DbOpt = None) -> None:
    """Record a month as open (a month never closed is open already). Needs finance."""
    _change("open", period, entity, reason, database_url)


@period_app.command("close")
def period_close(period: PeriodOpt, entity: EntityOpt = None, reason: ReasonOpt = None,
                 database_url: DbOpt = None) -> None:
    """Close a month: nothing posts into it any more (finance exceptions instead). Needs
    finance."""
    _change("close", period, entity, reason, database_url)


@period_app.command("lock")
def period_lock(period: PeriodOpt, entity: EntityOpt = None, reason: ReasonOpt = None,
                database_url: DbOpt = None) -> None:
    """Lock a closed month for good: it never reopens. Needs controller and --reason."""
    _change("lock", period, entity, reason, database_url)


@period_app.command("reopen")
def period_reopen(period: PeriodOpt, entity: EntityOpt = None, reason: ReasonOpt = None,
                  database_url: DbOpt = None) -> None:
    """Reopen a closed month. Needs controller and --reason (audited)."""
    _change("reopen", period, entity, reason, database_url)


@period_app.command("list")
def period_list(
    entity: EntityOpt = None,
    history: Annotated[bool, typer.Option(help="Show every audited change")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: DbOpt = None,
) -> None:
    """Months whose status was set (any other month is open), or their audited changes."""
    from syncline.services.ledger.periods import list_periods, period_history

    sys_ = _system(database_url)
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


_FREE_TEXT = frozenset({"note", "detail", "message", "name", "description"})


def _print_report(report: object) -> None:
    from syncline.services.ledger.reports import Report

    assert isinstance(report, Report)
    console = out if out.is_terminal else Console(width=200)
    console.print(f"[bold]{report.name}[/] {report.period}"
              + (f" {report.entity}" if report.entity else ""), highlight=False)
    for table in report.tables:
        rich = RichTable(title=table.title, title_justify="left")
        cells = [[c if isinstance(c, str) else f"{c:,f}" for c in row] for row in table.rows]
        for i, c in enumerate(table.columns):
            numeric = any(not isinstance(row[i], str) for row in table.rows)
            widest = max((len(r[i]) for r in cells), default=0)
            if numeric:
                rich.add_column(c, justify="right", no_wrap=True, min_width=max(widest, 4))
            elif c in _FREE_TEXT:
                rich.add_column(c, overflow="fold", ratio=1, min_width=12)
            else:
                rich.add_column(c, overflow="fold", min_width=min(widest, 14))
        for row_cells in cells:
            rich.add_row(*row_cells)
        if not table.rows:
            rich.caption = "(no rows)"
        console.print(rich)
    for note in report.notes:
        console.print(f"[dim]{note}[/]", highlight=False)


def _write(text: str, path: str | None) -> None:
    if path is None:
        sys.stdout.write(text)
        return
    Path(path).write_text(text, encoding="utf-8")
    err.print(f"Wrote {path}")


def emit_report(report: Any, fmt: str, out_path: str | None) -> None:
    """A built report as a table on the terminal, or JSON, CSV or XLSX (to ``out_path``, or
    standard output for JSON and CSV); ``fmt`` is already checked."""
    from syncline.services.ledger.reports import report_csv, report_json, report_xlsx

    if fmt == "table":
        _print_report(report)
    elif fmt == "json":
        _write(report_json(report) + "\n", out_path)
    elif fmt == "csv":
        _write(report_csv(report), out_path)
    else:
        assert out_path is not None
        report_xlsx(report, out_path)
        err.print(f"Wrote {out_path}")


def report(
    name: Annotated[str, typer.Argument(help="trial-balance | revenue-waterfall | "
                                        "deferred-revenue | rpo | unbilled-aging | margin | "
                                        "close-reconciliation; workforce: utilization | "
                                        "forecast | bench")],
    period: PeriodOpt,
    entity: Annotated[str | None, typer.Option(help="Legal entity code")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table | json | csv | xlsx")] = "table",
    out_path: Annotated[str | None, typer.Option("--out", help="Write to this file "
                                                 "(required for xlsx)")] = None,
    months: Annotated[int, typer.Option(help="Months shown by the waterfall and "
                                        "roll-forward")] = 12,
    as_of: Annotated[str, typer.Option(
        "--as-of", help="close: a closed month as its close reported it (default); now: as "
        "known now")] = "close",
    database_url: DbOpt = None,
) -> None:
    """A ledger report for a month, from the stored books; or a workforce report
    (utilization, forecast, bench: firm-wide, never frozen by a close; docs/workforce.md)."""
    from syncline.ledger.periods import is_period_name
    from syncline.services.ledger.reports import (
        AS_OF,
        REPORTS,
        report_options,
    )
    from syncline.services.workforce.reports import WORKFORCE_REPORTS, workforce_report

    if name not in REPORTS and name not in WORKFORCE_REPORTS:
        err.print(f"[red]Unknown report {name!r}.[/] Reports: "
                  f"{', '.join((*REPORTS, *WORKFORCE_REPORTS))}")
        raise typer.Exit(2)
    if name in WORKFORCE_REPORTS and entity:
        err.print(f"[red]{name} is firm-wide: it takes no --entity[/]")
        raise typer.Exit(2)
    if not is_period_name(period):
        err.print(f"[red]--period must be YYYY-MM, got {period!r}[/]")
        raise typer.Exit(2)
    if fmt not in ("table", "json", "csv", "xlsx"):
        err.print(f"[red]--format must be table, json, csv or xlsx, got {fmt!r}[/]")
        raise typer.Exit(2)
    if fmt == "xlsx" and not out_path:
        err.print("[red]--format xlsx needs --out PATH[/]")
        raise typer.Exit(2)
    if as_of not in AS_OF:
        err.print(f"[red]--as-of must be {' or '.join(AS_OF)}, got {as_of!r}[/]")
        raise typer.Exit(2)
    sys_ = _system(database_url)
    _check_entity(sys_, entity)
    with sys_.engine.connect() as conn:
        result = workforce_report(conn, name, period, months, sys_.ref) \
            if name in WORKFORCE_REPORTS else report_options(sys_).build(
                conn, name, period, entity=entity, months=months, as_of=as_of)
    emit_report(result, fmt, out_path)


def export(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT",
                                       help="beancount | netsuite-csv | qbo | xero")],
    out_path: Annotated[str, typer.Option("--out", help="The file to write (a .zip for "
                                          "netsuite-csv: one CSV import per record type)")],
    period: Annotated[str | None, typer.Option(help="YYYY-MM (default: every entry)")] = None,
    entity: Annotated[str | None, typer.Option(help="Legal entity code")] = None,
    mapping: Annotated[str | None, typer.Option(
        help="The vendor's mapping: a connectors config or a connector's settings "
             "(default: the firm's SYNCLINE_CONNECTORS_CONFIG, else Syncline's codes)")] = None,
    database_url: DbOpt = None,
) -> None:
    """Export the stored books to a real ledger's format: Beancount (every entry), or for an
    ERP its customers, invoices and credit notes as documents and the period summary of the
    rest. Records that cannot be exported are listed (and the exit code is 1); the others
    are written."""
    from syncline.ledger.periods import is_period_name
    from syncline.services.ledger.reports import (
        EXPORTS,
        MappingInvalid,
        archive,
        export_books,
    )

    if fmt not in EXPORTS:
        err.print(f"[red]Unknown export format {fmt!r}.[/] Formats: {', '.join(EXPORTS)}")
        raise typer.Exit(2)
    if period is not None and not is_period_name(period):
        err.print(f"[red]--period must be YYYY-MM, got {period!r}[/]")
        raise typer.Exit(2)
    sys_ = _system(database_url)
    _check_entity(sys_, entity)
    try:
        with sys_.engine.connect() as conn:
            made = export_books(conn, fmt, period=period, entity=entity, ref=sys_.ref,
                                chart=sys_.charts, vendors=sys_.export_vendors,
                                mapping_file=mapping,
                                connectors_config=sys_.settings.connectors_config)
    except MappingInvalid as bad:
        err.print("[red]The mapping is not valid:[/] " + "; ".join(bad.problems),
                  highlight=False)
        raise typer.Exit(2) from None
    if len(made.content) == 1:
        Path(out_path).write_text(next(iter(made.content.values())), encoding="utf-8")
    else:
        Path(out_path).write_bytes(archive(made.content))
    err.print(f"Wrote {out_path} ({fmt}: {', '.join(made.content)})")
    for note in made.notes:
        err.print(f"[yellow]Note:[/] {note}", highlight=False)
    for e in made.errors:
        err.print(f"[red]Not exported:[/] {e.entity_id} {e.source_id}: {e.problem} — "
                  f"{e.message}", highlight=False)
    if made.errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(period_app, name="period")
    app.command("report")(report)
    app.command("export")(export)

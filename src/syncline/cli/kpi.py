"""`syncline kpi [--period P] [--entity E] [--json]`: the finance and PMO KPIs of a month, each
with its definition (services/kpis)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from syncline.cli.common import _system, err, out
from syncline.ledger.periods import is_period_name

DbOpt = Annotated[str | None, typer.Option(help="database URL (default SYNCLINE_DATABASE_URL)")]


def _cell(value: Any) -> str:
    return "n/a" if value is None else str(value)


def _tables(name: str, definition: str, value: Any) -> list[Table]:
    """A KPI's rows as one table; a ledger report's tables as they are."""
    if isinstance(value, dict):  # a ledger report: its own tables
        out_tables = []
        for t in value["tables"]:
            table = Table(*t["columns"], title=f"{name}: {t['title']}", caption=definition,
                          title_justify="left", caption_justify="left")
            for row in t["rows"]:
                table.add_row(*(_cell(c) for c in row))
            out_tables.append(table)
        return out_tables
    columns = list(value[0]) if value else ["entity"]
    table = Table(*columns, title=name, caption=definition, title_justify="left",
                  caption_justify="left")
    for row in value:
        table.add_row(*(_cell(row[c]) for c in columns))
    return [table]


def kpi(period: Annotated[str | None, typer.Option(help="YYYY-MM (default: this month)")]
        = None,
        entity: Annotated[str | None, typer.Option(help="one legal entity (default: all)")]
        = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
        database_url: DbOpt = None) -> None:
    """The KPIs of a month by legal entity, each with its definition."""
    from syncline.services.kpis import DEFINITIONS, compute_kpis, jsonable
    from syncline.services.ledger.reports.registry import report_options

    sys_ = _system(database_url)
    now = sys_.clock()
    month = period or now.strftime("%Y-%m")
    if not is_period_name(month):
        err.print(f"[red]not a period {month!r}[/]: expected YYYY-MM")
        raise typer.Exit(2)
    with sys_.engine.connect() as conn:
        figures = compute_kpis(conn, month, entity=entity, options=report_options(sys_),
                               now=now)
    if as_json:
        print(json.dumps({"period": month, "entity": entity, "definitions": DEFINITIONS,
                          "kpis": jsonable(figures)}, indent=2))
        return
    for name, value in figures.items():
        for table in _tables(name, DEFINITIONS[name], jsonable(value)):
            out.print(table)


def register(app: typer.Typer) -> None:
    app.command("kpi")(kpi)

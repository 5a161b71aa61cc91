"""`syncline contract statement NUMBER --period YYYY-MM`: one contract's month from the books."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table as RichTable

from syncline.cli.common import _system, err, out
from syncline.services.ledger.statements import FIGURES

app = typer.Typer(help="Contracts read back from the books.", no_args_is_help=True)



@app.command("statement")
def statement(
    number: Annotated[str, typer.Argument(help="Contract number")],
    period: Annotated[str, typer.Option(help="YYYY-MM")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    as_of: Annotated[str, typer.Option(
        "--as-of", help="close: a closed month's labor cost as its close reported it "
        "(default); now: as known now")] = "close",
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Billed, credits, revenue in the month and to date, contract asset and liability,
    cap write-offs and labor cost of a contract for a month, each with its source items."""
    from syncline.ledger.periods import is_period_name
    from syncline.services.ledger.reports import AS_OF, report_options
    from syncline.services.ledger.statements import UnknownContract, contract_statement

    if not is_period_name(period):
        err.print(f"[red]--period must be YYYY-MM, got {period!r}[/]")
        raise typer.Exit(2)
    if as_of not in AS_OF:
        err.print(f"[red]--as-of must be {' or '.join(AS_OF)}, got {as_of!r}[/]")
        raise typer.Exit(2)
    sys_ = _system(database_url)
    try:
        with sys_.engine.connect() as conn:
            made = contract_statement(conn, number, period, report_options(sys_), as_of=as_of)
    except UnknownContract:
        err.print(f"[red]No contract {number}[/]")
        raise typer.Exit(1) from None
    body = made.as_dict()
    if as_json:
        print(json.dumps(body, indent=2))
        return
    _print(body)


def _print(body: dict[str, Any]) -> None:
    console = out if out.is_terminal else Console(width=200)
    console.print(f"[bold]Contract {body['contract']}[/] {body['period']} — {body['customer']}, "
              f"{body['entity']}, {body['currency']}, {body['billing_type']}", highlight=False)
    figures = RichTable(title="Statement", title_justify="left")
    figures.add_column("figure")
    figures.add_column("amount", justify="right")
    for key, label in FIGURES:
        unit = body["labor_cost_currency"] or "" if key == "labor_cost" else ""
        figures.add_row(label, f"{body[key]} {unit}".strip())
    console.print(figures)
    for name, items in body["sources"].items():
        if not items:
            continue
        table = RichTable(title=f"Sources: {name}", title_justify="left")
        columns = list(dict.fromkeys(k for item in items for k in item))
        for c in columns:
            table.add_column(c, overflow="fold")
        for item in items:
            table.add_row(*(_cell(item.get(c)) for c in columns))
        console.print(table)
    for note in body["notes"]:
        console.print(f"[dim]{note}[/]", highlight=False)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_cell(v) if not isinstance(v, dict) else
                         f"{v.get('description', '')} {v.get('amount', '')}".strip()
                         for v in value)
    return str(value)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="contract")

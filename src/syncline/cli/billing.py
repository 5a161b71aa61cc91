"""`syncline billing …`: billing runs (and, with the billing engine, invoices)."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from syncline.bootstrap import bootstrap
from syncline.cli.main import _settings, err, out

billing_app = typer.Typer(help="Billing runs.")


@billing_app.command("run")
def billing_run(
    period: Annotated[str, typer.Option(help="YYYY-MM")],
    entity: Annotated[str | None, typer.Option(help="Legal entity code")] = None,
    dry_run: Annotated[bool, typer.Option()] = False,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Run the billing cycle for a month (idempotent)."""
    from syncline.services.billing_run import run_billing

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        err.print(f"[red]--period must be YYYY-MM, got {period!r}[/]")
        raise typer.Exit(2)
    sys_ = bootstrap(_settings(database_url))
    result = run_billing(sys_.engine, period, sys_.ref, sys_.chart, sys_.clock(), entity=entity,
                         dry_run=dry_run)
    if not dry_run:
        sys_.deliver()
    out.print_json(data={"period": period, "dry_run": dry_run, "invoices": result.invoices,
                         "journal_entries": result.journal_entries,
                         "retainer_items": result.retainer_items,
                         "totals": {k: str(v) for k, v in result.totals.items()}})



def register(app: typer.Typer) -> None:
    app.add_typer(billing_app, name="billing")

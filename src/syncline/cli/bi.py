"""`syncline bi export DIR`: the canonical facts as an incremental Parquet feed
(docs/bi-feed.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from syncline.cli.common import _system, out

app = typer.Typer(help="The BI feed: canonical facts as Parquet, for DuckDB or any data "
                  "warehouse.", no_args_is_help=True)


@app.command("export")
def bi_export(
    folder: Annotated[Path, typer.Argument(help="The feed folder (made if missing)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: Annotated[str | None, typer.Option(
        help="database URL (default SYNCLINE_DATABASE_URL)")] = None,
) -> None:
    """Write the rows new or changed since the last export into FOLDER, one Parquet part
    file per table that changed (the first run writes every table), with `views.sql`
    giving DuckDB the current rows. Run it as often as you like: a run with nothing new
    writes no part file."""
    from syncline.services.bi.export import export

    sys_ = _system(database_url)
    summary = export(sys_.engine, folder, now=sys_.clock())
    sys_.engine.dispose()
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    table = Table(title=f"BI feed run {summary['run']} → {folder}", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for col in ("table", "written", "deleted", "rows now", "file"):
        table.add_column(col)
    for t in summary["tables"]:
        table.add_row(t["table"], str(t["rows"]), str(t["deleted"]), str(t["total"]),
                      t["file"] or "—")
    out.print(table)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="bi")

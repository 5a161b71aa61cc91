"""`syncline master-data show|load FILE`: the firm's master data (docs/master-data.md)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from syncline.cli.common import _principal, _system, err, out

DbOpt = Annotated[str | None, typer.Option(help="database URL (default SYNCLINE_DATABASE_URL)")]


def _problems(invalid: object) -> None:
    for problem in getattr(invalid, "problems", ()):
        err.print(f"  {problem.where}: {problem.message}", highlight=False)


def master_data_show(database_url: DbOpt = None,
                     as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The current master data and where it comes from (a stored version, or the seed:
    SYNCLINE_MASTER_DATA or the built-in firm)."""
    import yaml

    from syncline.services.masterdata import current_document

    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        current = current_document(conn, sys_.master.seed)
    if as_json:
        print(json.dumps(current, indent=2))
        return
    origin = (f"version {current['version']}, set by {current['set_by']} at "
              f"{current['set_at']} ({current['source']})" if current["version"]
              else "the seed (SYNCLINE_MASTER_DATA or the built-in firm); no version stored")
    out.print(f"[bold]Master data[/]: {origin}", highlight=False)
    print(yaml.safe_dump(current["master_data"], sort_keys=False, allow_unicode=True), end="")


def master_data_load(
    file: Annotated[str, typer.Argument(help="master-data YAML (or JSON) file")],
    reason: Annotated[str | None, typer.Option(help="why (kept in the audit log)")] = None,
    database_url: DbOpt = None,
) -> None:
    """Validate FILE and store it as the current master data (admin; audited with the
    document before and after). Every problem is named with its place; nothing is stored
    then."""
    from syncline.services.masterdata import MasterDataInvalid, set_master_data
    from syncline.services.masterdata.files import read_document

    sys_ = _system(database_url)
    principal = _principal(sys_, "admin", action="loading master data")
    try:
        document = read_document(file)
        with sys_.engine.begin() as conn:
            made = set_master_data(conn, document, actor=principal.name, source=f"file:{file}",
                                   now=sys_.clock(), seed=sys_.master.seed, reason=reason)
    except MasterDataInvalid as invalid:
        err.print(f"[red]{file} is invalid:[/]")
        _problems(invalid)
        raise typer.Exit(2) from None
    if made["changed"]:
        out.print(f"Master data version {made['version']} stored from {file} "
                  f"(by {principal.name}; audited).", highlight=False)
    else:
        out.print(f"{file} is the current master data already; nothing stored.",
                  highlight=False)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The firm's master data: legal entities, tax profiles, roles, "
                        "dimensions, WBS templates.", no_args_is_help=True)
    app.add_typer(group, name="master-data")
    group.command("show")(master_data_show)
    group.command("load")(master_data_load)
